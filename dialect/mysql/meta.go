package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
)

// MySQL/MariaDB introspection reads information_schema with the schema and
// table names bound. Each query names one schema and table as constants,
// which lets the server open only that table's definition instead of
// every table it has.

// mysqlNoLimit ends every catalog query: a Session sets sql_select_limit
// to the caller's row cap, and only an explicit LIMIT overrides it, so
// without this a session's ListTables would stop at MaxRows tables.
const mysqlNoLimit = "\nLIMIT 18446744073709551615"

// mysqlSystemSchemas are left out of ListTables unless asked for by name.
const mysqlSystemSchemas = `('mysql', 'sys', 'performance_schema', 'information_schema')`

const mysqlListTablesFrom = `
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_ROWS, DATA_LENGTH, TABLE_COMMENT
FROM information_schema.TABLES
WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'TEMPORARY', 'VIEW', 'SYSTEM VIEW')`

// mysqlRemoteEngines store rows on another server: never counted.
var mysqlRemoteEngines = map[string]bool{"FEDERATED": true, "CONNECT": true, "SPIDER": true}

// ListTables lists the tables and views of schema. With no schema it lists
// the connection's current database (DATABASE()) when one is selected, as
// an unqualified name would reach, and every non-system database
// otherwise. Sequences (MariaDB) are not listed. Row counts follow the
// policy in infoschema.go; the estimate is TABLE_ROWS, which for InnoDB
// is a sample and can be far off.
func (d *mysql) ListTables(ctx context.Context, q dialect.Queryer, schema string) ([]dialect.Table, error) {
	return d.ListTablesPage(ctx, q, dialect.TableFilter{Schema: schema})
}

// ListTablesPage is ListTables for the tables f selects (catalog.go).
func (d *mysql) ListTablesPage(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) ([]dialect.Table, error) {
	where, args, err := mysqlTableWhere(ctx, q, f)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	list, err := sqlkit.Collect(ctx, q, func(rows *sql.Rows) (sqlkit.ListedTable, error) {
		var t sqlkit.ListedTable
		var typ string
		var engine, comment sql.NullString
		var estimate, bytes sql.NullInt64
		if err := rows.Scan(&t.Schema, &t.Name, &typ, &engine, &estimate, &bytes, &comment); err != nil {
			return t, err
		}
		t.Kind = mysqlKind(typ)
		t.Comment = mysqlComment(t.Kind, comment.String)
		if t.Kind == "table" {
			t.Estimate = sqlkit.Int64Ptr(estimate)
			// A table the server cannot open has no engine (its comment
			// holds the error): counting it would fail the whole call.
			t.Countable = engine.Valid && !mysqlRemoteEngines[strings.ToUpper(engine.String)] &&
				sqlkit.IsSmall(t.Estimate, sqlkit.Int64Ptr(bytes))
		}
		return t, nil
	}, mysqlListTablesFrom+where+mysqlTableOrder(f), args...)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	out, err := sqlkit.SettleRowCounts(ctx, q, d.QuoteIdent, list, sqlkit.MaxExactCounts, mysqlNoLimit)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

func mysqlCurrentDatabase(ctx context.Context, q dialect.Queryer) (string, error) {
	var db sql.NullString
	if err := q.QueryRowContext(ctx, "SELECT DATABASE()"+mysqlNoLimit).Scan(&db); err != nil {
		return "", fmt.Errorf("read current database: %w", err)
	}
	return db.String, nil
}

func mysqlKind(tableType string) string {
	switch tableType {
	case "BASE TABLE", "SYSTEM VERSIONED", "TEMPORARY":
		return "table"
	case "VIEW":
		return "view"
	case "SYSTEM VIEW":
		return "system view"
	case "SEQUENCE":
		return "sequence"
	}
	return strings.ToLower(tableType)
}

// mysqlComment drops the placeholder comment MySQL and MariaDB report for
// every view.
func mysqlComment(kind, comment string) string {
	if kind == "view" && comment == "VIEW" {
		return ""
	}
	return comment
}

const mysqlFindTable = `
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_COMMENT
FROM information_schema.TABLES
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?` + mysqlNoLimit

// mysqlFindAnySchema looks for a table in every non-system database, when
// the connection has no current database.
const mysqlFindAnySchema = `
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_COMMENT
FROM information_schema.TABLES
WHERE TABLE_NAME = ? AND TABLE_SCHEMA NOT IN ` + mysqlSystemSchemas + mysqlNoLimit

// mysqlFindFolded is the case-insensitive second try. It reads only
// names, which the server lists without opening each table.
const mysqlFindFolded = `
SELECT TABLE_SCHEMA, TABLE_NAME
FROM information_schema.TABLES
WHERE LOWER(TABLE_NAME) = LOWER(?)
	AND (LOWER(TABLE_SCHEMA) = LOWER(?) OR (? = '' AND TABLE_SCHEMA NOT IN ` + mysqlSystemSchemas + `))
LIMIT 2`

const mysqlColumns = `
SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
ORDER BY ORDINAL_POSITION` + mysqlNoLimit

const mysqlKeyColumns = `
SELECT CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
ORDER BY CONSTRAINT_NAME = 'PRIMARY' DESC, CONSTRAINT_NAME, ORDINAL_POSITION` + mysqlNoLimit

const mysqlReferentialRules = `
SELECT CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE
FROM information_schema.REFERENTIAL_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?` + mysqlNoLimit

// mysqlChecksMariaDB: MariaDB names check constraints per table, so its
// CHECK_CONSTRAINTS has TABLE_NAME. MySQL 8 names them per schema and
// has no such column; it needs TABLE_CONSTRAINTS to find the table.
const (
	mysqlChecksMariaDB = `
SELECT CONSTRAINT_NAME, CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?
ORDER BY CONSTRAINT_NAME` + mysqlNoLimit
	mysqlChecksMySQL = `
SELECT cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS cc
JOIN information_schema.TABLE_CONSTRAINTS tc
	ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME
WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND tc.TABLE_SCHEMA = ? AND tc.TABLE_NAME = ?
ORDER BY cc.CONSTRAINT_NAME` + mysqlNoLimit
)

const mysqlIndexes = `
SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX` + mysqlNoLimit

// DescribeTable looks ref up in its schema, or the current database, or
// (with none selected) every non-system database if the name is unique
// there. Names are case-sensitive where the server's file system is; when
// the exact name is missing, a unique case-insensitive match is used.
func (*mysql) DescribeTable(ctx context.Context, q dialect.Queryer, ref dialect.TableRef) (*dialect.TableInfo, error) {
	info, err := mysqlFind(ctx, q, ref)
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	if err := mysqlReadDetails(ctx, q, info); err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	return info, nil
}

func mysqlFind(ctx context.Context, q dialect.Queryer, ref dialect.TableRef) (*dialect.TableInfo, error) {
	schema := ref.Schema
	if schema == "" {
		current, err := mysqlCurrentDatabase(ctx, q)
		if err != nil {
			return nil, err
		}
		schema = current
	}
	info, err := mysqlFindExact(ctx, q, schema, ref.Name)
	if err != nil || info != nil {
		return info, err
	}
	matches, err := sqlkit.Collect(ctx, q, func(rows *sql.Rows) (m [2]string, err error) {
		err = rows.Scan(&m[0], &m[1])
		return m, err
	}, mysqlFindFolded, ref.Name, schema, schema)
	if err != nil {
		return nil, fmt.Errorf("find table: %w", err)
	}
	if len(matches) != 1 {
		return nil, dialect.ErrTableNotFound
	}
	info, err = mysqlFindExact(ctx, q, matches[0][0], matches[0][1])
	if err == nil && info == nil {
		err = dialect.ErrTableNotFound
	}
	return info, err
}

// mysqlFindExact returns nil, nil when there is no such table (or, with
// schema "", when the name is not unique across databases).
func mysqlFindExact(ctx context.Context, q dialect.Queryer, schema, name string) (*dialect.TableInfo, error) {
	query, args := mysqlFindTable, []any{schema, name}
	if schema == "" {
		query, args = mysqlFindAnySchema, []any{name}
	}
	found, err := sqlkit.Collect(ctx, q, func(rows *sql.Rows) (dialect.TableInfo, error) {
		var t dialect.TableInfo
		var typ string
		var comment sql.NullString
		if err := rows.Scan(&t.Schema, &t.Name, &typ, &comment); err != nil {
			return t, err
		}
		t.Kind = mysqlKind(typ)
		t.Comment = mysqlComment(t.Kind, comment.String)
		return t, nil
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("find table: %w", err)
	}
	if len(found) != 1 {
		return nil, nil
	}
	return &found[0], nil
}

func mysqlReadDetails(ctx context.Context, q dialect.Queryer, info *dialect.TableInfo) error {
	cols, err := sqlkit.ISColumns(ctx, q, mysqlColumns, info.Schema, info.Name, mysqlDefault)
	if err != nil {
		return err
	}
	info.Columns = cols
	keys, err := sqlkit.ISKeyColumns(ctx, q, mysqlKeyColumns, info.Schema, info.Name)
	if err != nil {
		return err
	}
	rules, err := sqlkit.ISReferentialRules(ctx, q, mysqlReferentialRules, info.Schema, info.Name)
	if err != nil {
		return err
	}
	sqlkit.AssembleKeys(info, keys, rules, "PRIMARY")
	if info.Checks, err = mysqlReadChecks(ctx, q, info.Schema, info.Name); err != nil {
		return err
	}
	if info.Indexes, err = mysqlReadIndexes(ctx, q, info.Schema, info.Name); err != nil {
		return err
	}
	return nil
}

// mysqlDefault normalises COLUMN_DEFAULT to "nil when there is no
// default". MariaDB (10.2.7+) reports the default as an SQL expression:
// string literals quoted ('abc'), and the text NULL for an implicit
// DEFAULT NULL; MySQL reports SQL NULL. A generated column's expression
// is not a default.
func mysqlDefault(def sql.NullString, extra string) *string {
	if !def.Valid || strings.EqualFold(def.String, "NULL") {
		return nil
	}
	up := strings.ToUpper(extra)
	if strings.Contains(up, "VIRTUAL GENERATED") || strings.Contains(up, "STORED GENERATED") {
		return nil
	}
	s := def.String
	return &s
}

func mysqlReadChecks(ctx context.Context, q dialect.Queryer, schema, table string) ([]dialect.Check, error) {
	rows, err := q.QueryContext(ctx, mysqlChecksMariaDB, schema, table)
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1054: // unknown column TABLE_NAME: MySQL 8
			rows, err = q.QueryContext(ctx, mysqlChecksMySQL, schema, table)
		case 1109: // unknown table CHECK_CONSTRAINTS: before MySQL 8.0.16, no checks
			return nil, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read check constraints: %w", err)
	}
	var out []dialect.Check
	err = sqlkit.EachRow(rows, func(rows *sql.Rows) error {
		var c dialect.Check
		if err := rows.Scan(&c.Name, &c.Expression); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read check constraints: %w", err)
	}
	return out, nil
}

// mysqlReadIndexes reads STATISTICS. A prefix index column is shown as it
// is declared, col(10); the method is lower-cased (btree, hash, fulltext,
// spatial) to read like PostgreSQL's.
func mysqlReadIndexes(ctx context.Context, q dialect.Queryer, schema, table string) ([]dialect.Index, error) {
	var out []dialect.Index
	err := sqlkit.Each(ctx, q, func(rows *sql.Rows) error {
		var name string
		var nonUnique int64
		var column, method sql.NullString
		var subPart sql.NullInt64
		if err := rows.Scan(&name, &nonUnique, &column, &subPart, &method); err != nil {
			return err
		}
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, dialect.Index{
				Name:    name,
				Unique:  nonUnique == 0,
				Primary: name == "PRIMARY",
				Method:  strings.ToLower(method.String),
			})
		}
		col := column.String
		if subPart.Valid {
			col = fmt.Sprintf("%s(%d)", col, subPart.Int64)
		}
		ix := &out[len(out)-1]
		ix.Columns = append(ix.Columns, col)
		return nil
	}, mysqlIndexes, schema, table)
	if err != nil {
		return nil, fmt.Errorf("read indexes: %w", err)
	}
	return out, nil
}
