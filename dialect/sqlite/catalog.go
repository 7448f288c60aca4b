package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
)

// The large-catalog half of the backend (dialect.Cataloger): filters, the
// keyset and the limit are in the query over pragma_table_list. SQLite
// compares text with its BINARY collation, which is byte order.

// sqliteTableWhere is the condition of a table listing, after
// sqliteListTables' own.
func sqliteTableWhere(f dialect.TableFilter) (string, []any) {
	var b strings.Builder
	var args []any
	if f.Schema != "" {
		b.WriteString("\n\tAND t.schema = ?")
		args = append(args, f.Schema)
	}
	if f.SchemaLike != "" {
		b.WriteString("\n\tAND lower(t.schema) LIKE ? ESCAPE '!'")
		args = append(args, f.SchemaLike)
	}
	if f.NameLike != "" {
		b.WriteString("\n\tAND lower(t.name) LIKE ? ESCAPE '!'")
		args = append(args, f.NameLike)
	}
	if len(f.SchemaIn) > 0 {
		b.WriteString("\n\tAND (0")
		for _, p := range f.SchemaIn {
			b.WriteString(" OR lower(t.schema) LIKE ? ESCAPE '!'")
			args = append(args, p)
		}
		b.WriteString(")")
	}
	if f.After != nil {
		b.WriteString("\n\tAND (t.schema, t.name) > (?, ?)")
		args = append(args, f.After.Schema, f.After.Name)
	}
	return b.String(), args
}

func sqliteTableQuery(f dialect.TableFilter) (string, []any) {
	where, args := sqliteTableWhere(f)
	query := sqliteListTables + where + "\nORDER BY t.schema, t.name"
	if f.Limit > 0 {
		query += "\nLIMIT ?"
		args = append(args, f.Limit)
	}
	return query, args
}

// TableNames lists names and kinds only.
func (sqlite) TableNames(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) ([]dialect.Table, error) {
	query, args := sqliteTableQuery(f)
	out, err := sqlkit.Collect(ctx, q, func(rows *sql.Rows) (t dialect.Table, err error) {
		var typ string
		err = rows.Scan(&t.Schema, &t.Name, &typ)
		t.Kind = sqliteKind(typ)
		return t, err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list table names: %w", err)
	}
	return out, nil
}

// CountTables counts the tables f selects.
func (sqlite) CountTables(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) (int, error) {
	f.After, f.Limit = nil, 0
	where, args := sqliteTableWhere(f)
	var n int
	if err := q.QueryRowContext(ctx, "SELECT count(*) FROM ("+sqliteListTables+where+")", args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tables: %w", err)
	}
	return n, nil
}

// Search is one UNION ALL over the kinds asked for. SQLite has no
// comments and no named constraints other than its indexes: Comments and
// Constraints find nothing more.
func (sqlite) Search(ctx context.Context, q dialect.Queryer, f dialect.SearchFilter) ([]dialect.SearchHit, error) {
	where, scopeArgs := sqliteTableWhere(dialect.TableFilter{Schema: f.Schema, SchemaLike: f.SchemaLike, SchemaIn: f.SchemaIn, NameLike: f.TableLike})
	from := `FROM pragma_table_list AS t
WHERE t.type IN ('table', 'view', 'virtual')
	AND t.name NOT LIKE 'sqlite\_%' ESCAPE '\'` + where
	var parts []string
	var args []any
	add := func(query string, extra ...any) {
		parts = append(parts, query)
		args = append(args, scopeArgs...)
		args = append(args, extra...)
	}
	if f.Tables {
		add(`SELECT t.schema AS s, t.name AS t, 0 AS r, '' AS o, t.type AS k, '' AS typ
`+from+` AND lower(t.name) LIKE ? ESCAPE '!'`, f.Like)
	}
	if f.Columns {
		add(`SELECT t.schema AS s, t.name AS t, 1 AS r, c.name AS o, 'column' AS k, c.type AS typ
FROM pragma_table_list AS t, pragma_table_xinfo(t.name, t.schema) AS c
WHERE t.type IN ('table', 'view', 'virtual')
	AND t.name NOT LIKE 'sqlite\_%' ESCAPE '\'`+where+` AND c.hidden <> 1 AND lower(c.name) LIKE ? ESCAPE '!'`, f.Like)
	}
	if f.Indexes {
		add(`SELECT t.schema AS s, t.name AS t, 2 AS r, i.name AS o, 'index' AS k, '' AS typ
FROM pragma_table_list AS t, pragma_index_list(t.name, t.schema) AS i
WHERE t.type = 'table'
	AND t.name NOT LIKE 'sqlite\_%' ESCAPE '\'`+where+` AND lower(i.name) LIKE ? ESCAPE '!'`, f.Like)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	query := "SELECT s, t, r, o, k, typ FROM (\n" + strings.Join(parts, "\nUNION ALL\n") + "\n) AS x"
	if a := f.After; a != nil {
		query += "\nWHERE (x.s, x.t, x.r, x.o) > (?, ?, ?, ?)"
		args = append(args, a.Schema, a.Table, a.Rank, a.Name)
	}
	query += "\nORDER BY x.s, x.t, x.r, x.o"
	if f.Limit > 0 {
		query += "\nLIMIT ?"
		args = append(args, f.Limit)
	}
	out, err := sqlkit.Collect(ctx, q, func(rows *sql.Rows) (h dialect.SearchHit, err error) {
		err = rows.Scan(&h.Schema, &h.Table, &h.Rank, &h.Name, &h.Kind, &h.Type)
		if h.Rank == dialect.RankTable {
			h.Kind = sqliteKind(h.Kind)
		}
		return h, err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return out, nil
}

var _ dialect.Cataloger = sqlite{}
