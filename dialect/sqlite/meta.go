package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
)

// SQLite introspection uses the pragma table-valued functions (names and
// schemas bound as their arguments) and sqlite_schema. SQLite has no
// comments, no separate catalog of check constraints and no names for
// foreign keys: those stay empty.

const (
	// sqliteMaxExactCounts: SQLite has no row statistics unless ANALYZE
	// ran, so it counts far more tables exactly than the servers do.
	sqliteMaxExactCounts = 200
	// sqliteSmallFileBytes: in a database file (schema) at most this big
	// every table is counted; counting scans at most the whole file.
	sqliteSmallFileBytes = 64 << 20
	// sqliteSmallTableRows: in a bigger file only tables that
	// sqlite_stat1 says are smaller than this are counted.
	sqliteSmallTableRows = 100_000
)

// sqliteListTables lists the tables of every attached schema (main, temp,
// ATTACHed files), leaving out SQLite's own tables and the shadow tables
// that back virtual tables (FTS and the like).
const sqliteListTables = `
SELECT t.schema, t.name, t.type
FROM pragma_table_list AS t
WHERE t.type IN ('table', 'view', 'virtual')
	AND t.name NOT LIKE 'sqlite\_%' ESCAPE '\'`

// ListTables counts rows exactly for up to sqliteMaxExactCounts tables
// (schema, name order); see the constants above for which. Tables it
// does not count get the sqlite_stat1 estimate, when ANALYZE left one.
// Views and virtual tables are never counted: a virtual table's count
// may run arbitrary module code.
func (d sqlite) ListTables(ctx context.Context, q dialect.Queryer, schema string) ([]dialect.Table, error) {
	return d.ListTablesPage(ctx, q, dialect.TableFilter{Schema: schema})
}

// ListTablesPage is ListTables for the tables f selects (catalog.go).
func (d sqlite) ListTablesPage(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) ([]dialect.Table, error) {
	query, args := sqliteTableQuery(f)
	list, err := sqlkit.Collect(ctx, q, func(rows *sql.Rows) (sqlkit.ListedTable, error) {
		var t sqlkit.ListedTable
		var typ string
		if err := rows.Scan(&t.Schema, &t.Name, &typ); err != nil {
			return t, err
		}
		t.Kind = sqliteKind(typ)
		return t, nil
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}

	type schemaStats struct {
		small     bool
		estimates map[string]int64
	}
	stats := map[string]*schemaStats{}
	for i := range list {
		t := &list[i]
		if t.Kind != "table" {
			continue
		}
		st := stats[t.Schema]
		if st == nil {
			st = &schemaStats{}
			if st.small, err = sqliteSmallFile(ctx, q, t.Schema); err != nil {
				// An authorizer that does not admit page_count leaves the
				// size unknown: SQLite then counts as the issue asks,
				// exactly, still capped at sqliteMaxExactCounts tables.
				if e, ok := d.ClassifyError(err); !ok || !e.Denied {
					return nil, fmt.Errorf("list tables: %w", err)
				}
				st.small = true
			}
			if st.estimates, err = sqliteStat1(ctx, q, d.QuoteIdent, t.Schema); err != nil {
				return nil, fmt.Errorf("list tables: %w", err)
			}
			stats[t.Schema] = st
		}
		if n, ok := st.estimates[t.Name]; ok {
			t.Estimate = &n
		}
		t.Countable = st.small || (t.Estimate != nil && *t.Estimate < sqliteSmallTableRows)
	}
	out, err := sqlkit.SettleRowCounts(ctx, q, d.QuoteIdent, list, sqliteMaxExactCounts, "")
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

func sqliteKind(typ string) string {
	switch typ {
	case "virtual":
		return "virtual table"
	}
	return typ // table, view
}

// sqliteSmallFile tells whether schema's database is at most
// sqliteSmallFileBytes. The temp schema has a page count too.
func sqliteSmallFile(ctx context.Context, q dialect.Queryer, schema string) (bool, error) {
	var bytes int64
	err := q.QueryRowContext(ctx,
		`SELECT c.page_count * s.page_size FROM pragma_page_count(?1) AS c, pragma_page_size(?1) AS s`,
		schema).Scan(&bytes)
	if err != nil {
		return false, fmt.Errorf("read size of %s: %w", schema, err)
	}
	return bytes <= sqliteSmallFileBytes, nil
}

// sqliteStat1 reads ANALYZE's row counts for one schema: the first number
// of every sqlite_stat1 row is the table's row count at the time.
func sqliteStat1(ctx context.Context, q dialect.Queryer, quote func(string) string, schema string) (map[string]int64, error) {
	var has bool
	err := q.QueryRowContext(ctx,
		`SELECT count(*) > 0 FROM `+quote(schema)+`.sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'`).Scan(&has)
	if err != nil {
		return nil, fmt.Errorf("look for sqlite_stat1 in %s: %w", schema, err)
	}
	if !has {
		return nil, nil
	}
	out := map[string]int64{}
	err = sqlkit.Each(ctx, q, func(rows *sql.Rows) error {
		var name string
		var n sql.NullInt64
		if err := rows.Scan(&name, &n); err != nil {
			return err
		}
		if n.Valid {
			out[name] = n.Int64
		}
		return nil
	}, `SELECT tbl, max(CAST(stat AS INTEGER)) FROM `+quote(schema)+`.sqlite_stat1 GROUP BY tbl`)
	if err != nil {
		return nil, fmt.Errorf("read sqlite_stat1 of %s: %w", schema, err)
	}
	return out, nil
}

// sqliteFindTable resolves a name the way SQLite does for an unqualified
// one: temp first, then main, then attached databases in attach order.
// pragma_table_list matches names case-insensitively, like SQLite.
const sqliteFindTable = `
SELECT t.schema, t.name, t.type, t.wr
FROM pragma_table_list(?1) AS t
JOIN pragma_database_list AS d ON d.name = t.schema
WHERE t.type IN ('table', 'view', 'virtual')
	AND (?2 = '' OR t.schema = ?2 COLLATE NOCASE)
ORDER BY CASE t.schema WHEN 'temp' THEN -1 ELSE d.seq END
LIMIT 1`

const sqliteColumns = `
SELECT name, type, "notnull", dflt_value, pk
FROM pragma_table_xinfo(?1, ?2)
WHERE hidden <> 1
ORDER BY cid`

const sqliteIndexList = `
SELECT name, "unique", origin
FROM pragma_index_list(?1, ?2)
ORDER BY name`

const sqliteIndexColumns = `
SELECT cid, name
FROM pragma_index_xinfo(?1, ?2)
WHERE key = 1
ORDER BY seqno`

const sqliteForeignKeys = `
SELECT id, "table", "from", "to", on_update, on_delete
FROM pragma_foreign_key_list(?1, ?2)
ORDER BY id, seq`

// DescribeTable reads one table or view. SQLite keeps check constraints
// only inside the CREATE TABLE text, so Checks stays empty rather than
// guessing at a parse of it; unique constraints are named by the index
// SQLite made for them (sqlite_autoindex_...), and foreign keys have no
// name. A rowid table's INTEGER PRIMARY KEY is the rowid, not an index,
// so it has no entry in Indexes.
func (d sqlite) DescribeTable(ctx context.Context, q dialect.Queryer, ref dialect.TableRef) (*dialect.TableInfo, error) {
	info := &dialect.TableInfo{}
	var typ string
	var withoutRowid bool
	err := q.QueryRowContext(ctx, sqliteFindTable, ref.Name, ref.Schema).Scan(&info.Schema, &info.Name, &typ, &withoutRowid)
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("describe %s: %w", ref, dialect.ErrTableNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("describe %s: find table: %w", ref, err)
	}
	info.Kind = sqliteKind(typ)
	if err := sqliteReadColumns(ctx, q, info, withoutRowid); err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	if err := sqliteReadIndexes(ctx, q, d.QuoteIdent, info); err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	if err := sqliteReadForeignKeys(ctx, q, info); err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	return info, nil
}

// sqliteReadColumns reads columns and the primary key. SQLite lets a
// PRIMARY KEY column of a rowid table hold NULL unless declared NOT NULL
// (a legacy quirk) except the INTEGER PRIMARY KEY, which is the rowid;
// WITHOUT ROWID tables enforce NOT NULL on the key. Nullable says what
// the table really accepts.
func sqliteReadColumns(ctx context.Context, q dialect.Queryer, info *dialect.TableInfo, withoutRowid bool) error {
	var pk []string
	err := sqlkit.Each(ctx, q, func(rows *sql.Rows) error {
		var c dialect.Column
		var notNull bool
		var def sql.NullString
		if err := rows.Scan(&c.Name, &c.Type, &notNull, &def, &c.PrimaryKeyPosition); err != nil {
			return err
		}
		c.Nullable = !notNull
		if def.Valid {
			c.Default = &def.String
		}
		if p := c.PrimaryKeyPosition; p > 0 {
			pk = append(pk, make([]string, max(0, p-len(pk)))...)
			pk[p-1] = c.Name
		}
		info.Columns = append(info.Columns, c)
		return nil
	}, sqliteColumns, info.Name, info.Schema)
	if err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	info.PrimaryKey = pk
	for i := range info.Columns {
		c := &info.Columns[i]
		if c.PrimaryKeyPosition == 0 {
			continue
		}
		rowidAlias := len(pk) == 1 && strings.EqualFold(c.Type, "INTEGER")
		if withoutRowid || rowidAlias {
			c.Nullable = false
		}
	}
	return nil
}

func sqliteReadIndexes(ctx context.Context, q dialect.Queryer, quote func(string) string, info *dialect.TableInfo) error {
	var indexes []dialect.Index
	var origins []string
	err := sqlkit.Each(ctx, q, func(rows *sql.Rows) error {
		var ix dialect.Index
		var origin string
		if err := rows.Scan(&ix.Name, &ix.Unique, &origin); err != nil {
			return err
		}
		ix.Primary = origin == "pk"
		ix.Method = "btree"
		indexes = append(indexes, ix)
		origins = append(origins, origin)
		return nil
	}, sqliteIndexList, info.Name, info.Schema)
	if err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	for i := range indexes {
		ix := &indexes[i]
		if ix.Columns, err = sqliteIndexKeys(ctx, q, quote, info.Schema, ix.Name); err != nil {
			return err
		}
		if origins[i] == "u" {
			info.Uniques = append(info.Uniques, dialect.Constraint{Name: ix.Name, Columns: ix.Columns})
		}
	}
	info.Indexes = indexes
	return nil
}

// sqliteIndexKeys reads an index's key columns. SQLite reports no text for
// an expression key (cid -2), so those are taken from the CREATE INDEX
// statement; only indexes with expressions need it.
func sqliteIndexKeys(ctx context.Context, q dialect.Queryer, quote func(string) string, schema, index string) ([]string, error) {
	var cols []string
	var exprAt []int
	err := sqlkit.Each(ctx, q, func(rows *sql.Rows) error {
		var cid int
		var name sql.NullString
		if err := rows.Scan(&cid, &name); err != nil {
			return err
		}
		if cid == -2 {
			exprAt = append(exprAt, len(cols))
		}
		cols = append(cols, name.String)
		return nil
	}, sqliteIndexColumns, index, schema)
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", index, err)
	}
	if len(exprAt) == 0 {
		return cols, nil
	}
	var def sql.NullString
	err = q.QueryRowContext(ctx, `SELECT sql FROM `+quote(schema)+`.sqlite_schema WHERE type = 'index' AND name = ?1`, index).Scan(&def)
	if err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("read index %s definition: %w", index, err)
	}
	terms := sqliteIndexTerms(def.String)
	for _, i := range exprAt {
		if i < len(terms) {
			cols[i] = terms[i]
		}
	}
	return cols, nil
}

// sqliteIndexTerms splits the key list of a CREATE INDEX statement:
// `CREATE INDEX i ON "t" (lower(a), b DESC) WHERE c` gives
// ["lower(a)", "b DESC"]. Quoted names and strings are skipped whole, so
// a parenthesis or comma inside one does not count.
func sqliteIndexTerms(stmt string) []string {
	var terms []string
	depth, start := 0, -1
	for i := 0; i < len(stmt); i++ {
		c := stmt[i]
		switch c {
		case '"', '\'', '`', '[':
			end := c
			if c == '[' {
				end = ']'
			}
			for i++; i < len(stmt) && stmt[i] != end; i++ {
			}
		case '(':
			depth++
			if depth == 1 {
				start = i + 1
			}
		case ',':
			if depth == 1 {
				terms = append(terms, strings.TrimSpace(stmt[start:i]))
				start = i + 1
			}
		case ')':
			depth--
			if depth == 0 && start >= 0 {
				return append(terms, strings.TrimSpace(stmt[start:i]))
			}
		}
	}
	return nil
}

func sqliteReadForeignKeys(ctx context.Context, q dialect.Queryer, info *dialect.TableInfo) error {
	lastID := -1
	var implicit []int // foreign keys that name no parent columns
	err := sqlkit.Each(ctx, q, func(rows *sql.Rows) error {
		var id int
		var table, from, onUpdate, onDelete string
		var to sql.NullString
		if err := rows.Scan(&id, &table, &from, &to, &onUpdate, &onDelete); err != nil {
			return err
		}
		if id != lastID {
			lastID = id
			info.ForeignKeys = append(info.ForeignKeys, dialect.ForeignKey{
				// SQLite resolves a foreign key in the child's own schema.
				ReferencedSchema: info.Schema,
				ReferencedTable:  table,
				OnUpdate:         onUpdate,
				OnDelete:         onDelete,
			})
			if !to.Valid {
				implicit = append(implicit, len(info.ForeignKeys)-1)
			}
		}
		fk := &info.ForeignKeys[len(info.ForeignKeys)-1]
		fk.Columns = append(fk.Columns, from)
		if to.Valid {
			fk.ReferencedColumns = append(fk.ReferencedColumns, to.String)
		}
		return nil
	}, sqliteForeignKeys, info.Name, info.Schema)
	if err != nil {
		return fmt.Errorf("read foreign keys: %w", err)
	}
	// REFERENCES parent with no column list means the parent's primary key.
	for _, i := range implicit {
		fk := &info.ForeignKeys[i]
		cols, err := sqlitePrimaryKey(ctx, q, info.Schema, fk.ReferencedTable)
		if err != nil {
			return err
		}
		fk.ReferencedColumns = cols
	}
	return nil
}

func sqlitePrimaryKey(ctx context.Context, q dialect.Queryer, schema, table string) ([]string, error) {
	cols, err := sqlkit.Strings(ctx, q, `SELECT name FROM pragma_table_info(?1, ?2) WHERE pk > 0 ORDER BY pk`, table, schema)
	if err != nil {
		return nil, fmt.Errorf("read primary key of %s: %w", table, err)
	}
	return cols, nil
}
