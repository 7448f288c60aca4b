package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
)

// The large-catalog half of the backend (dialect.Cataloger): filters, the
// keyset and the limit are in the information_schema query. Names compare
// as bytes (CAST AS BINARY): information_schema's own collation is
// case-insensitive, and table names on a case-sensitive file system are
// not, so "T" and "t" may both exist; byte order keeps them apart.

const (
	mysqlBinSchema = "CAST(TABLE_SCHEMA AS BINARY)"
	mysqlBinName   = "CAST(TABLE_NAME AS BINARY)"
)

// mysqlScope is the schemas a listing covers: the one named; else, when a
// schema pattern narrows them, every non-system schema; else the current
// database when one is selected, and every non-system one otherwise.
func mysqlScope(ctx context.Context, q dialect.Queryer, schema, schemaLike string) (string, []any, error) {
	if schema == "" && schemaLike == "" {
		current, err := mysqlCurrentDatabase(ctx, q)
		if err != nil {
			return "", nil, err
		}
		schema = current
	}
	if schema != "" {
		return "\n\tAND TABLE_SCHEMA = ?", []any{schema}, nil
	}
	return "\n\tAND TABLE_SCHEMA NOT IN " + mysqlSystemSchemas, nil, nil
}

// mysqlTableWhere is the condition of a table listing, after a WHERE.
func mysqlTableWhere(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) (string, []any, error) {
	where, args, err := mysqlScope(ctx, q, f.Schema, f.SchemaLike)
	if err != nil {
		return "", nil, err
	}
	if f.SchemaLike != "" {
		where += "\n\tAND LOWER(TABLE_SCHEMA) LIKE ? ESCAPE '!'"
		args = append(args, f.SchemaLike)
	}
	if f.NameLike != "" {
		where += "\n\tAND LOWER(TABLE_NAME) LIKE ? ESCAPE '!'"
		args = append(args, f.NameLike)
	}
	w, a := mysqlSchemaIn(f.SchemaIn)
	where, args = where+w, append(args, a...)
	if f.After != nil {
		where += fmt.Sprintf("\n\tAND (%s > CAST(? AS BINARY) OR (%s = CAST(? AS BINARY) AND %s > CAST(? AS BINARY)))",
			mysqlBinSchema, mysqlBinSchema, mysqlBinName)
		args = append(args, f.After.Schema, f.After.Schema, f.After.Name)
	}
	return where, args, nil
}

// mysqlSchemaIn is the condition that the schema matches one of patterns.
func mysqlSchemaIn(patterns []string) (string, []any) {
	if len(patterns) == 0 {
		return "", nil
	}
	var b strings.Builder
	var args []any
	b.WriteString("\n\tAND (FALSE")
	for _, p := range patterns {
		b.WriteString(" OR LOWER(TABLE_SCHEMA) LIKE ? ESCAPE '!'")
		args = append(args, p)
	}
	b.WriteString(")")
	return b.String(), args
}

func mysqlTableOrder(f dialect.TableFilter) string {
	s := "\nORDER BY " + mysqlBinSchema + ", " + mysqlBinName
	if f.Limit > 0 {
		return s + fmt.Sprintf("\nLIMIT %d", f.Limit)
	}
	return s + mysqlNoLimit
}

// mysqlNamesFrom reads names only, which the server lists without opening
// each table.
const mysqlNamesFrom = `
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE
FROM information_schema.TABLES
WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'TEMPORARY', 'VIEW', 'SYSTEM VIEW')`

// TableNames lists names and kinds only.
func (*mysql) TableNames(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) ([]dialect.Table, error) {
	where, args, err := mysqlTableWhere(ctx, q, f)
	if err != nil {
		return nil, fmt.Errorf("list table names: %w", err)
	}
	out, err := sqlkit.Collect(ctx, q, func(rows *sql.Rows) (t dialect.Table, err error) {
		var typ string
		err = rows.Scan(&t.Schema, &t.Name, &typ)
		t.Kind = mysqlKind(typ)
		return t, err
	}, mysqlNamesFrom+where+mysqlTableOrder(f), args...)
	if err != nil {
		return nil, fmt.Errorf("list table names: %w", err)
	}
	return out, nil
}

// CountTables counts the tables f selects.
func (*mysql) CountTables(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) (int, error) {
	f.After, f.Limit = nil, 0
	where, args, err := mysqlTableWhere(ctx, q, f)
	if err != nil {
		return 0, fmt.Errorf("count tables: %w", err)
	}
	var n int
	err = q.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.TABLES
WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'TEMPORARY', 'VIEW', 'SYSTEM VIEW')`+where+mysqlNoLimit, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count tables: %w", err)
	}
	return n, nil
}

// Search is one UNION ALL over the kinds asked for, filtered, ordered by
// the search key and limited in the server.
func (*mysql) Search(ctx context.Context, q dialect.Queryer, f dialect.SearchFilter) ([]dialect.SearchHit, error) {
	scope, scopeArgs, err := mysqlScope(ctx, q, f.Schema, f.SchemaLike)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if f.SchemaLike != "" {
		scope += "\n\tAND LOWER(TABLE_SCHEMA) LIKE ? ESCAPE '!'"
		scopeArgs = append(scopeArgs, f.SchemaLike)
	}
	w, a := mysqlSchemaIn(f.SchemaIn)
	scope, scopeArgs = scope+w, append(scopeArgs, a...)
	if f.TableLike != "" {
		scope += "\n\tAND LOWER(TABLE_NAME) LIKE ? ESCAPE '!'"
		scopeArgs = append(scopeArgs, f.TableLike)
	}
	var parts []string
	var args []any
	add := func(query string, extra ...any) {
		parts = append(parts, query)
		args = append(args, scopeArgs...)
		args = append(args, extra...)
	}
	if f.Tables || f.Comments {
		add(`SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, 0 AS r, CAST('' AS CHAR(64)) AS o, TABLE_TYPE AS k,
	CAST('' AS CHAR(255)) AS typ, TABLE_COMMENT AS cm
FROM information_schema.TABLES
WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'TEMPORARY', 'VIEW', 'SYSTEM VIEW')`+scope+`
	AND ((? AND LOWER(TABLE_NAME) LIKE ? ESCAPE '!') OR (? AND TABLE_TYPE <> 'VIEW' AND LOWER(TABLE_COMMENT) LIKE ? ESCAPE '!'))`,
			f.Tables, f.Like, f.Comments, f.Like)
	}
	if f.Columns || f.Comments {
		add(`SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, 1 AS r, COLUMN_NAME AS o, 'column' AS k, COLUMN_TYPE AS typ, COLUMN_COMMENT AS cm
FROM information_schema.COLUMNS
WHERE 1 = 1`+scope+`
	AND ((? AND LOWER(COLUMN_NAME) LIKE ? ESCAPE '!') OR (? AND LOWER(COLUMN_COMMENT) LIKE ? ESCAPE '!'))`,
			f.Columns, f.Like, f.Comments, f.Like)
	}
	if f.Indexes {
		add(`SELECT DISTINCT TABLE_SCHEMA AS s, TABLE_NAME AS t, 2 AS r, INDEX_NAME AS o, 'index' AS k, '' AS typ, '' AS cm
FROM information_schema.STATISTICS
WHERE 1 = 1`+scope+` AND LOWER(INDEX_NAME) LIKE ? ESCAPE '!'`, f.Like)
	}
	if f.Constraints {
		add(`SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, 3 AS r, CONSTRAINT_NAME AS o, LOWER(CONSTRAINT_TYPE) AS k, '' AS typ, '' AS cm
FROM information_schema.TABLE_CONSTRAINTS
WHERE CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY', 'CHECK')`+scope+` AND LOWER(CONSTRAINT_NAME) LIKE ? ESCAPE '!'`, f.Like)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	query := "SELECT s, t, r, o, k, typ, cm FROM (\n" + strings.Join(parts, "\nUNION ALL\n") + "\n) x"
	bs, bt, bo := "CAST(x.s AS BINARY)", "CAST(x.t AS BINARY)", "CAST(x.o AS BINARY)"
	if a := f.After; a != nil {
		query += fmt.Sprintf("\nWHERE %s > CAST(? AS BINARY) OR (%s = CAST(? AS BINARY) AND (%s > CAST(? AS BINARY) OR (%s = CAST(? AS BINARY) AND (x.r > ? OR (x.r = ? AND %s > CAST(? AS BINARY))))))",
			bs, bs, bt, bt, bo)
		args = append(args, a.Schema, a.Schema, a.Table, a.Table, a.Rank, a.Rank, a.Name)
	}
	query += "\nORDER BY " + bs + ", " + bt + ", x.r, " + bo
	if f.Limit > 0 {
		query += fmt.Sprintf("\nLIMIT %d", f.Limit)
	} else {
		query += mysqlNoLimit
	}
	out, err := sqlkit.Collect(ctx, q, func(rows *sql.Rows) (h dialect.SearchHit, err error) {
		var typ, comment sql.NullString
		err = rows.Scan(&h.Schema, &h.Table, &h.Rank, &h.Name, &h.Kind, &typ, &comment)
		h.Type, h.Comment = typ.String, comment.String
		if h.Rank == dialect.RankTable {
			h.Kind = mysqlKind(h.Kind)
			h.Comment = mysqlComment(h.Kind, h.Comment)
		}
		return h, err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return out, nil
}

var _ dialect.Cataloger = (*mysql)(nil)
