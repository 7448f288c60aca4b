package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
)

// The large-catalog half of the backend (dialect.Cataloger): every filter,
// the keyset and the limit are in the catalog query. Order is byte order
// (COLLATE "C"), which is the order the keyset compares in.

// pgScope is which schemas a listing covers: the one named, else all but
// the system's.
func pgScope(schema string, args *[]any) string {
	if schema != "" {
		return "\n\tAND n.nspname = " + pgArg(args, schema) + "::text"
	}
	return "\n\tAND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'"
}

func pgArg(args *[]any, v any) string {
	*args = append(*args, v)
	return fmt.Sprintf("$%d", len(*args))
}

// pgTableWhere is the condition of a table listing (without WHERE).
func pgTableWhere(f dialect.TableFilter, args *[]any) string {
	var b strings.Builder
	b.WriteString(pgVisible)
	b.WriteString(pgScope(f.Schema, args))
	if f.SchemaLike != "" {
		b.WriteString("\n\tAND lower(n.nspname) LIKE " + pgArg(args, f.SchemaLike) + "::text ESCAPE '!'")
	}
	if f.NameLike != "" {
		b.WriteString("\n\tAND lower(c.relname) LIKE " + pgArg(args, f.NameLike) + "::text ESCAPE '!'")
	}
	if len(f.SchemaIn) > 0 {
		b.WriteString("\n\tAND (false")
		for _, p := range f.SchemaIn {
			b.WriteString(" OR lower(n.nspname) LIKE " + pgArg(args, p) + "::text ESCAPE '!'")
		}
		b.WriteString(")")
	}
	if f.After != nil {
		fmt.Fprintf(&b, "\n\tAND (n.nspname::text COLLATE \"C\", c.relname::text COLLATE \"C\") > (%s::text COLLATE \"C\", %s::text COLLATE \"C\")",
			pgArg(args, f.After.Schema), pgArg(args, f.After.Name))
	}
	return b.String()
}

func pgTableOrder(f dialect.TableFilter, args *[]any) string {
	s := "\nORDER BY n.nspname::text COLLATE \"C\", c.relname::text COLLATE \"C\""
	if f.Limit > 0 {
		s += "\nLIMIT " + pgArg(args, f.Limit)
	}
	return s
}

// TableNames lists names and kinds only.
func (postgres) TableNames(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) ([]dialect.Table, error) {
	var args []any
	query := `SELECT n.nspname, c.relname, c.relkind
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ` + pgTableWhere(f, &args) + pgTableOrder(f, &args)
	out, err := sqlkit.Collect(ctx, q, func(rows *sql.Rows) (t dialect.Table, err error) {
		var kind string
		err = rows.Scan(&t.Schema, &t.Name, &kind)
		t.Kind = pgKind(kind)
		return t, err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list table names: %w", err)
	}
	return out, nil
}

// CountTables counts the tables f selects.
func (postgres) CountTables(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) (int, error) {
	f.After, f.Limit = nil, 0
	var args []any
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE `+pgTableWhere(f, &args), args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count tables: %w", err)
	}
	return n, nil
}

// Search is one UNION ALL over the kinds asked for, filtered, ordered by
// the search key and limited in the database.
func (postgres) Search(ctx context.Context, q dialect.Queryer, f dialect.SearchFilter) ([]dialect.SearchHit, error) {
	var args []any
	base := dialect.TableFilter{Schema: f.Schema, SchemaLike: f.SchemaLike, SchemaIn: f.SchemaIn, NameLike: f.TableLike}
	like := pgArg(&args, f.Like) + "::text"
	comments := ""
	if f.Tables || f.Columns || f.Comments { // PostgreSQL must see every parameter used
		comments = pgArg(&args, f.Comments) + "::bool"
	}
	tables := pgTableWhere(base, &args)
	var parts []string
	if f.Tables || f.Comments {
		parts = append(parts, fmt.Sprintf(`SELECT n.nspname::text AS s, c.relname::text AS t, 0 AS r, ''::text AS o,
	c.relkind::text AS k, ''::text AS typ, coalesce(d.description, '') AS cm
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d
	ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
WHERE %s
	AND ((%t AND lower(c.relname) LIKE %s ESCAPE '!') OR (%s AND lower(d.description) LIKE %s ESCAPE '!'))`,
			tables, f.Tables, like, comments, like))
	}
	if f.Columns || f.Comments {
		parts = append(parts, fmt.Sprintf(`SELECT n.nspname::text AS s, c.relname::text AS t, 1 AS r, a.attname::text AS o,
	'column'::text AS k, pg_catalog.format_type(a.atttypid, a.atttypmod) AS typ, coalesce(d.description, '') AS cm
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d
	ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = a.attnum
WHERE %s
	AND a.attnum > 0 AND NOT a.attisdropped
	AND pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT')
	AND ((%t AND lower(a.attname) LIKE %s ESCAPE '!') OR (%s AND lower(d.description) LIKE %s ESCAPE '!'))`,
			tables, f.Columns, like, comments, like))
	}
	if f.Indexes {
		parts = append(parts, fmt.Sprintf(`SELECT n.nspname::text AS s, c.relname::text AS t, 2 AS r, ic.relname::text AS o,
	'index'::text AS k, pg_catalog.pg_get_indexdef(i.indexrelid) AS typ, ''::text AS cm
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE %s AND lower(ic.relname) LIKE %s ESCAPE '!'`, tables, like))
	}
	if f.Constraints {
		parts = append(parts, fmt.Sprintf(`SELECT n.nspname::text AS s, c.relname::text AS t, 3 AS r, con.conname::text AS o,
	CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign key' ELSE 'check' END AS k,
	''::text AS typ, ''::text AS cm
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE %s AND con.contype IN ('p', 'u', 'f', 'c') AND lower(con.conname) LIKE %s ESCAPE '!'`, tables, like))
	}
	if len(parts) == 0 {
		return nil, nil
	}
	query := "SELECT s, t, r, o, k, typ, cm FROM (\n" + strings.Join(parts, "\nUNION ALL\n") + "\n) x"
	if f.After != nil {
		query += fmt.Sprintf("\nWHERE (x.s COLLATE \"C\", x.t COLLATE \"C\", x.r, x.o COLLATE \"C\") > (%s::text COLLATE \"C\", %s::text COLLATE \"C\", %s::int, %s::text COLLATE \"C\")",
			pgArg(&args, f.After.Schema), pgArg(&args, f.After.Table), pgArg(&args, f.After.Rank), pgArg(&args, f.After.Name))
	}
	query += "\nORDER BY x.s COLLATE \"C\", x.t COLLATE \"C\", x.r, x.o COLLATE \"C\""
	if f.Limit > 0 {
		query += "\nLIMIT " + pgArg(&args, f.Limit)
	}
	out, err := sqlkit.Collect(ctx, q, func(rows *sql.Rows) (h dialect.SearchHit, err error) {
		err = rows.Scan(&h.Schema, &h.Table, &h.Rank, &h.Name, &h.Kind, &h.Type, &h.Comment)
		if h.Rank == dialect.RankTable {
			h.Kind = pgKind(h.Kind)
		}
		return h, err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return out, nil
}

var _ dialect.Cataloger = postgres{}
