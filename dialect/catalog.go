package dialect

import (
	"context"
	"strings"
)

// Cataloger is what a Backend offers for large catalogs (issue 15): pages
// of tables narrowed by pattern, and a search of names and comments, each
// filtered, ordered and bounded in the database's own catalog query.
// Every backend implements it.
//
// Order is (schema, name) in byte order, the order of TableRef keys that
// After continues from: a keyset, stable while tables come and go.
type Cataloger interface {
	// ListTablesPage is ListTables for the tables f selects, in (schema,
	// name) byte order, at most f.Limit of them, with row counts settled
	// as ListTables settles them.
	ListTablesPage(ctx context.Context, q Queryer, f TableFilter) ([]Table, error)
	// TableNames is ListTablesPage without row counts or comments: names
	// and kinds only, which every backend reads without opening a table.
	TableNames(ctx context.Context, q Queryer, f TableFilter) ([]Table, error)
	// CountTables counts the tables f selects, After and Limit aside.
	CountTables(ctx context.Context, q Queryer, f TableFilter) (int, error)
	// Search finds tables, views, columns and, as f asks, indexes,
	// constraints and comments whose names (or comments) match f.Pattern,
	// in SearchKey order, at most f.Limit of them.
	Search(ctx context.Context, q Queryer, f SearchFilter) ([]SearchHit, error)
}

// TableFilter selects tables. The zero value selects what ListTables(ctx,
// q, "") lists.
type TableFilter struct {
	// Schema, if set, is the one schema to list (as ListTables' schema).
	Schema string
	// SchemaLike and NameLike, if set, are LIKE patterns (see Like) the
	// lower-cased schema and table names must match. A SchemaLike widens
	// a backend's default scope (MySQL's current database) to every
	// non-system schema, which it then narrows.
	SchemaLike, NameLike string
	// SchemaIn, if set, are LIKE patterns (see LikeExact) of which the
	// lower-cased schema name must match one: an access policy's schemas,
	// narrowed in the catalog query rather than after it.
	SchemaIn []string
	// After, if set, keeps only the tables after it in (schema, name)
	// byte order.
	After *TableRef
	// Limit is the most tables to return; 0 means no limit.
	Limit int
}

// SearchFilter selects what Search finds.
type SearchFilter struct {
	// Schema, SchemaLike, SchemaIn and the scope are as in TableFilter.
	Schema, SchemaLike string
	SchemaIn           []string
	// Like is the LIKE pattern (see Like) a lower-cased name must match.
	Like string
	// TableLike, if set, is a LIKE pattern the lower-cased table name of
	// every hit must match (a search for table.column).
	TableLike string
	// Tables and Columns find tables and views, and columns, by name.
	Tables, Columns bool
	// Indexes and Constraints find those by name; Comments also matches
	// the comments of tables and columns.
	Indexes, Constraints, Comments bool
	After                          *SearchKey
	Limit                          int
}

// SearchKey orders search hits: schema, table, then the table itself
// (Rank 0), its columns (1), indexes (2) and constraints (3), by name.
type SearchKey struct {
	Schema, Table string
	Rank          int
	Name          string
}

// Less reports whether k sorts before o, in byte order.
func (k SearchKey) Less(o SearchKey) bool {
	if k.Schema != o.Schema {
		return k.Schema < o.Schema
	}
	if k.Table != o.Table {
		return k.Table < o.Table
	}
	if k.Rank != o.Rank {
		return k.Rank < o.Rank
	}
	return k.Name < o.Name
}

// Search hit ranks.
const (
	RankTable = iota
	RankColumn
	RankIndex
	RankConstraint
)

// SearchHit is one thing Search found.
type SearchHit struct {
	SearchKey
	// Kind is the table's kind (Rank 0, as Table.Kind), "column", "index",
	// or the constraint's kind ("primary key", "unique", "foreign key",
	// "check").
	Kind string
	// Type is a column's type; for an index, its definition when the
	// backend has one.
	Type    string
	Comment string
}

// LikeEscape is the escape character of the patterns Like builds: written
// ESCAPE '!' in every backend's SQL.
const LikeEscape = '!'

// Like turns a user's name pattern into a LIKE pattern for lower-cased
// names: `*` is any run of characters and `?` one character; a pattern
// with neither matches names containing it. %, _ and ! stand for
// themselves. "" stays "" (no filter).
func Like(glob string) string {
	if glob == "" {
		return ""
	}
	glob = strings.ToLower(glob)
	var b strings.Builder
	wild := strings.ContainsAny(glob, "*?")
	if !wild {
		b.WriteByte('%')
	}
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '%', '_', LikeEscape:
			b.WriteRune(LikeEscape)
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	if !wild {
		b.WriteByte('%')
	}
	return b.String()
}

// LikeExact is Like without the "contains" reading: a pattern without
// wildcards matches that name only.
func LikeExact(glob string) string {
	l := Like(glob)
	if l != "" && !strings.ContainsAny(glob, "*?") {
		l = l[1 : len(l)-1]
	}
	return l
}
