package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
)

// PostgreSQL introspection reads pg_catalog directly (see infoschema.go for
// why not information_schema). Every name is bound as a parameter; only
// catalog names that went through QuoteIdent are ever spliced into SQL.

// pgVisible is the relation filter shared by ListTables and DescribeTable:
// the kinds we list, no other session's temporary schema, and only
// relations the current user may read at least one column of (in a schema
// it may use).
const pgVisible = `
	c.relkind IN ('r', 'v', 'm', 'f', 'p')
	AND (n.nspname NOT LIKE 'pg\_temp\_%' OR n.oid = pg_catalog.pg_my_temp_schema())
	AND (n.nspname NOT LIKE 'pg\_toast\_temp\_%')
	AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')
	AND pg_catalog.has_any_column_privilege(c.oid, 'SELECT')`

// pgListTablesSelect is the catalog query of ListTables and
// ListTablesPage, before its WHERE (see pgTableWhere). A partitioned
// table has no statistics of its own, so its estimate is its leaf
// partitions' sum (unknown if any leaf was never analyzed); it is remote
// if any leaf is a foreign table. Sizes are not read here:
// pg_relation_size stats a file per table, which on a thousand tables
// costs more than all the rest.
const pgListTablesSelect = `
SELECT c.oid::int8, n.nspname, c.relname, c.relkind,
	CASE
		WHEN c.relkind = 'p' THEN (
			SELECT CASE WHEN bool_and(l.reltuples >= 0) THEN sum(l.reltuples)::float8 END
			FROM pg_catalog.pg_partition_tree(c.oid) t
			JOIN pg_catalog.pg_class l ON l.oid = t.relid
			WHERE t.isleaf)
		WHEN c.reltuples >= 0 THEN c.reltuples::float8
	END AS estimate,
	c.relkind = 'f' OR (c.relkind = 'p' AND EXISTS (
		SELECT FROM pg_catalog.pg_partition_tree(c.oid) t
		JOIN pg_catalog.pg_class l ON l.oid = t.relid
		WHERE l.relkind = 'f')) AS remote,
	pg_catalog.has_table_privilege(c.oid, 'SELECT') AND (c.relkind <> 'm' OR c.relispopulated) AS can_count,
	coalesce(d.description, '')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d
	ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
WHERE `

// ListTables lists every table, view, materialized view, partitioned and
// foreign table the user can read, outside pg_catalog, information_schema
// and TOAST schemas unless schema names one of them. Row counts follow the
// policy in infoschema.go; PostgreSQL's estimate is pg_class.reltuples
// (-1, "never analyzed", counts as unknown). A table with no estimate is
// counted only if its heap is at most sqlkit.SmallTableBytes, checked in the
// counting query itself so that only the candidates pay for it. Views and
// foreign tables are never counted: a count would run the view or query
// the remote server.
func (d postgres) ListTables(ctx context.Context, q dialect.Queryer, schema string) ([]dialect.Table, error) {
	return d.ListTablesPage(ctx, q, dialect.TableFilter{Schema: schema})
}

// ListTablesPage is ListTables for the tables f selects (catalog.go).
func (d postgres) ListTablesPage(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) ([]dialect.Table, error) {
	var args []any
	query := pgListTablesSelect + pgTableWhere(f, &args) + pgTableOrder(f, &args)
	list, err := sqlkit.Collect(ctx, q, func(rows *sql.Rows) (sqlkit.ListedTable, error) {
		var t sqlkit.ListedTable
		var oid int64
		var kind string
		var estimate sql.NullFloat64
		var remote, canCount bool
		if err := rows.Scan(&oid, &t.Schema, &t.Name, &kind, &estimate, &remote, &canCount, &t.Comment); err != nil {
			return t, err
		}
		t.Kind = pgKind(kind)
		if estimate.Valid && t.Kind != "view" {
			n := int64(estimate.Float64 + 0.5)
			t.Estimate = &n
		}
		switch {
		case !canCount || remote || t.Kind == "view":
		case t.Estimate != nil:
			t.Countable = *t.Estimate < sqlkit.SmallTableRows
		case t.Kind == "partitioned table":
			t.Countable = true
			t.CountIf = fmt.Sprintf(`(SELECT coalesce(sum(pg_catalog.pg_relation_size(relid)), 0)
				FROM pg_catalog.pg_partition_tree(%d::pg_catalog.oid) WHERE isleaf) <= %d`, oid, sqlkit.SmallTableBytes)
		default:
			t.Countable = true
			t.CountIf = fmt.Sprintf(`pg_catalog.pg_relation_size(%d::pg_catalog.oid) <= %d`, oid, sqlkit.SmallTableBytes)
		}
		return t, nil
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	out, err := sqlkit.SettleRowCounts(ctx, q, d.QuoteIdent, list, sqlkit.MaxExactCounts, "")
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

func pgKind(relkind string) string {
	switch relkind {
	case "r":
		return "table"
	case "v":
		return "view"
	case "m":
		return "materialized view"
	case "f":
		return "foreign table"
	case "p":
		return "partitioned table"
	}
	return relkind
}

// pgFindTable resolves a name. With no schema, the search_path decides
// (pg_table_is_visible is true only for the relation an unqualified name
// would reach), so the lookup names the same table a query would.
// System schemas are not excluded: a user naming pg_catalog.pg_class
// gets it described.
const pgFindTable = `
SELECT c.oid, n.nspname, c.relname, c.relkind, coalesce(d.description, '')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d
	ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
WHERE ` + pgVisible

const pgFindExact = pgFindTable + `
	AND c.relname = $2::text
	AND CASE WHEN $1::text = '' THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname = $1::text END`

// pgFindFolded is the friendly second try: `MyTable` was folded to
// mytable, but the table was created as "MyTable". It only answers when
// the case-insensitive match is unique.
const pgFindFolded = pgFindTable + `
	AND lower(c.relname) = lower($2::text)
	AND CASE WHEN $1::text = '' THEN pg_catalog.pg_table_is_visible(c.oid) ELSE lower(n.nspname) = lower($1::text) END
LIMIT 2`

const pgColumns = `
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
	CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END,
	coalesce(d.description, '')
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_catalog.pg_description d
	ON d.objoid = a.attrelid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = a.attnum
WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

// pgConstraints reads primary, unique, foreign key and check constraints,
// columns as JSON arrays in key order. A foreign key to a partitioned
// table is stored once more per referenced partition, each with the
// original as conparentid on the same table: those copies are skipped.
const pgConstraints = `
SELECT con.conname, con.contype,
	coalesce((SELECT json_agg(a.attname ORDER BY k.n)
		FROM unnest(con.conkey) WITH ORDINALITY k(attnum, n)
		JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum), '[]')::text,
	coalesce(fn.nspname, ''), coalesce(fc.relname, ''),
	coalesce((SELECT json_agg(a.attname ORDER BY k.n)
		FROM unnest(con.confkey) WITH ORDINALITY k(attnum, n)
		JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum), '[]')::text,
	con.confupdtype::text, con.confdeltype::text,
	CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_constraintdef(con.oid, true) ELSE '' END
FROM pg_catalog.pg_constraint con
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.conrelid = $1::oid AND con.contype IN ('p', 'u', 'f', 'c')
	AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint p
		WHERE p.oid = con.conparentid AND p.conrelid = con.conrelid)
ORDER BY con.conname`

// pgIndexes reads each index's key columns in order: the column name for
// a plain column, the expression as pg_get_indexdef prints it otherwise.
// INCLUDE columns are not keys and are left out.
const pgIndexes = `
SELECT ic.relname, i.indisunique, i.indisprimary, am.amname,
	coalesce((SELECT json_agg(CASE
			WHEN i.indkey[k.n - 1] <> 0 THEN (SELECT a.attname::text FROM pg_catalog.pg_attribute a
				WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k.n - 1])
			ELSE pg_catalog.pg_get_indexdef(i.indexrelid, k.n, true)
		END ORDER BY k.n)
		FROM generate_series(1, i.indnkeyatts::int) k(n)), '[]')::text
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
WHERE i.indrelid = $1::oid
ORDER BY ic.relname`

// DescribeTable resolves ref as a query would (search_path when there is
// no schema), then, if nothing matched, tries a unique case-insensitive
// match, because ParseTableName folded an unquoted `MyTable` to mytable
// and a model rarely quotes. Column defaults of generated columns are
// left out: they are not defaults.
func (postgres) DescribeTable(ctx context.Context, q dialect.Queryer, ref dialect.TableRef) (*dialect.TableInfo, error) {
	info, oid, err := pgFind(ctx, q, ref)
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	if err := pgReadColumns(ctx, q, oid, info); err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	if err := pgReadConstraints(ctx, q, oid, info); err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	if err := pgReadIndexes(ctx, q, oid, info); err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	return info, nil
}

func pgFind(ctx context.Context, q dialect.Queryer, ref dialect.TableRef) (*dialect.TableInfo, int64, error) {
	for _, query := range []string{pgFindExact, pgFindFolded} {
		var found []dialect.TableInfo
		var oid int64
		err := sqlkit.Each(ctx, q, func(rows *sql.Rows) error {
			var t dialect.TableInfo
			var kind string
			if err := rows.Scan(&oid, &t.Schema, &t.Name, &kind, &t.Comment); err != nil {
				return err
			}
			t.Kind = pgKind(kind)
			found = append(found, t)
			return nil
		}, query, ref.Schema, ref.Name)
		if err != nil {
			return nil, 0, fmt.Errorf("find table: %w", err)
		}
		if len(found) == 1 {
			return &found[0], oid, nil
		}
	}
	return nil, 0, dialect.ErrTableNotFound
}

func pgReadColumns(ctx context.Context, q dialect.Queryer, oid int64, info *dialect.TableInfo) error {
	err := sqlkit.Each(ctx, q, func(rows *sql.Rows) error {
		var c dialect.Column
		var def sql.NullString
		if err := rows.Scan(&c.Name, &c.Type, &c.Nullable, &def, &c.Comment); err != nil {
			return err
		}
		if def.Valid {
			c.Default = &def.String
		}
		info.Columns = append(info.Columns, c)
		return nil
	}, pgColumns, oid)
	if err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	return nil
}

func pgReadConstraints(ctx context.Context, q dialect.Queryer, oid int64, info *dialect.TableInfo) error {
	// A column list that does not decode has its own message, which
	// "read constraints" must not wrap.
	var badColumns error
	err := sqlkit.Each(ctx, q, func(rows *sql.Rows) error {
		var name, typ, cols, refSchema, refTable, refCols, onUpdate, onDelete, def string
		if err := rows.Scan(&name, &typ, &cols, &refSchema, &refTable, &refCols, &onUpdate, &onDelete, &def); err != nil {
			return err
		}
		var columns, refColumns []string
		if err := errors.Join(json.Unmarshal([]byte(cols), &columns), json.Unmarshal([]byte(refCols), &refColumns)); err != nil {
			badColumns = fmt.Errorf("read constraint %s columns: %w", name, err)
			return badColumns
		}
		switch typ {
		case "p":
			info.PrimaryKey = columns
		case "u":
			info.Uniques = append(info.Uniques, dialect.Constraint{Name: name, Columns: columns})
		case "f":
			info.ForeignKeys = append(info.ForeignKeys, dialect.ForeignKey{
				Name:              name,
				Columns:           columns,
				ReferencedSchema:  refSchema,
				ReferencedTable:   refTable,
				ReferencedColumns: refColumns,
				OnUpdate:          pgFKAction(onUpdate),
				OnDelete:          pgFKAction(onDelete),
			})
		case "c":
			info.Checks = append(info.Checks, dialect.Check{Name: name, Expression: strings.TrimPrefix(def, "CHECK ")})
		}
		return nil
	}, pgConstraints, oid)
	if badColumns != nil {
		return badColumns
	}
	if err != nil {
		return fmt.Errorf("read constraints: %w", err)
	}
	sqlkit.MarkPrimaryKey(info)
	return nil
}

// pgFKAction spells pg_constraint's one-letter action codes as SQL does
// (and as MySQL's information_schema reports them).
func pgFKAction(code string) string {
	switch code {
	case "a":
		return "NO ACTION"
	case "r":
		return "RESTRICT"
	case "c":
		return "CASCADE"
	case "n":
		return "SET NULL"
	case "d":
		return "SET DEFAULT"
	}
	return code
}

func pgReadIndexes(ctx context.Context, q dialect.Queryer, oid int64, info *dialect.TableInfo) error {
	var badColumns error // not wrapped in "read indexes", as in pgReadConstraints
	err := sqlkit.Each(ctx, q, func(rows *sql.Rows) error {
		var ix dialect.Index
		var cols string
		if err := rows.Scan(&ix.Name, &ix.Unique, &ix.Primary, &ix.Method, &cols); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(cols), &ix.Columns); err != nil {
			badColumns = fmt.Errorf("read index %s columns: %w", ix.Name, err)
			return badColumns
		}
		info.Indexes = append(info.Indexes, ix)
		return nil
	}, pgIndexes, oid)
	if badColumns != nil {
		return badColumns
	}
	if err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	return nil
}
