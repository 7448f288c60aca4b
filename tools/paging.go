package tools

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// This file holds what list_tables, search, the resources and the
// completions share: name patterns, cursors, and pages of tables with
// what the access policy hides taken out.

// maxPatternLen bounds a pattern: a name is at most 64 bytes in MySQL and
// 63 in PostgreSQL, and a pattern names at most a schema and a table.
const maxPatternLen = 200

// tableFilter builds the catalog filter of a schema and a name pattern:
// `*` and `?` wildcards, case-insensitive; `schema.table` matches both
// parts; a part without a wildcard matches names containing it. Double
// quotes and backticks around a part are dropped (a pattern is not case
// sensitive), so a quoted name may be pasted as it is.
func tableFilter(schema, pattern string) (dialect.TableFilter, error) {
	f := dialect.TableFilter{Schema: schema}
	if pattern == "" {
		return f, nil
	}
	if len(pattern) > maxPatternLen {
		return f, validationf("pattern is %d bytes long; at most %d", len(pattern), maxPatternLen)
	}
	parts := splitPattern(pattern)
	switch len(parts) {
	case 1:
		f.NameLike = dialect.Like(parts[0])
	case 2:
		f.SchemaLike, f.NameLike = dialect.Like(parts[0]), dialect.Like(parts[1])
	default:
		return f, validationf("pattern %q has %d dot-separated parts; write table or schema.table, with * and ? as wildcards (quote a name holding a dot)", pattern, len(parts))
	}
	if f.NameLike == "" {
		f.NameLike = "%"
	}
	return f, nil
}

// splitPattern splits on dots outside double quotes and backticks, and
// drops the quotes (a doubled quote inside stands for one).
func splitPattern(p string) []string {
	var parts []string
	var cur strings.Builder
	var quote rune
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0 && r == quote:
			if i+1 < len(rs) && rs[i+1] == quote {
				cur.WriteRune(r)
				i++
				continue
			}
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '`':
			quote = r
		case r == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(parts, cur.String())
}

// cursor is what a next_cursor carries: where the page ended, in the
// order of its listing (a keyset, not an offset: tables created or
// dropped meanwhile shift nothing), and what it lists.
type cursor struct {
	Kind     string `json:"k"` // list, search, resources
	Database string `json:"d"`
	Schema   string `json:"s"`
	Name     string `json:"n"`
	Table    string `json:"t,omitempty"` // search: the table of a hit
	Rank     int    `json:"r,omitempty"` // search: the hit's rank
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor of kind for database ("": any); anything
// else is a validation error, never a guess.
func decodeCursor(s, kind, database string) (cursor, error) {
	var c cursor
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		err = dec.Decode(&c)
	}
	if err != nil || c.Kind != kind || c.Rank < 0 || c.Rank > dialect.RankConstraint {
		return c, validationf("cursor %q is not a next_cursor this tool returned; omit cursor to start from the first page", clip(s, 80))
	}
	if database != "" && c.Database != database {
		return c, validationf("cursor is from database %q's listing, not %q's; omit cursor to start from the first page", clip(c.Database, 40), database)
	}
	return c, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// pageFetch reads at most f.Limit tables after f.After.
type pageFetch func(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) ([]dialect.Table, error)

// pageRounds bounds how many catalog queries one page may take when the
// access policy hides many of the tables a query returns.
const pageRounds = 8

// pageTables reads up to size tables f selects that the access policy
// shows, and where the next page starts (nil: the listing ended). Hidden
// tables are dropped from each catalog page and the next is read from
// where it ended, so a page is full unless the listing ended, or
// pageRounds ran out: then it is short (empty, even), and the next page
// starts after the last table read, hidden or not.
func (db *database) pageTables(ctx context.Context, q dialect.Queryer, f dialect.TableFilter, size int, fetch pageFetch) ([]dialect.Table, *dialect.TableRef, error) {
	f.SchemaIn = db.schemaIn()
	v, err := db.visibility(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	var out []dialect.Table
	for range pageRounds {
		f.Limit = size - len(out) + 1
		got, err := fetch(ctx, q, f)
		if err != nil {
			return nil, nil, err
		}
		for _, tb := range got {
			if v.tableHidden(tb.Schema, tb.Name) {
				continue
			}
			if len(out) == size {
				last := out[len(out)-1]
				return out, &dialect.TableRef{Schema: last.Schema, Name: last.Name}, nil
			}
			out = append(out, tb)
		}
		if len(got) < f.Limit {
			return out, nil, nil
		}
		last := got[len(got)-1]
		f.After = &dialect.TableRef{Schema: last.Schema, Name: last.Name}
	}
	return out, f.After, nil
}

// countTables counts the tables f selects that the policy shows: in the
// database when it hides nothing, else over their names.
func (db *database) countTables(ctx context.Context, q dialect.Queryer, f dialect.TableFilter) (int, error) {
	f.After, f.Limit = nil, 0
	f.SchemaIn = db.schemaIn()
	cat := db.Backend.(dialect.Cataloger)
	if db.Access.Empty() {
		return cat.CountTables(ctx, q, f)
	}
	names, err := cat.TableNames(ctx, q, f)
	if err != nil {
		return 0, err
	}
	v, err := db.visibility(ctx, q)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tb := range names {
		if !v.tableHidden(tb.Schema, tb.Name) {
			n++
		}
	}
	return n, nil
}

// schemaIn is the access policy's schemas as LIKE patterns, for the
// catalog query to narrow its scope to them; the policy still decides
// each table (TableDenied) after the query.
func (db *database) schemaIn() []string {
	var out []string
	for _, s := range db.Access.Rules().Schemas {
		if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
			s = strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
		}
		out = append(out, dialect.LikeExact(s))
	}
	return out
}
