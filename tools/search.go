package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// SearchInput is search's arguments.
type SearchInput struct {
	Database string   `json:"database,omitempty"` // described per server: see databaseArg
	Pattern  string   `json:"pattern" jsonschema:"email, *_id, customer.email; any case; no wildcard: contains"`
	Schema   string   `json:"schema,omitempty" jsonschema:"only this schema"`
	In       []string `json:"in,omitempty" jsonschema:"default tables, columns"`
	Cursor   string   `json:"cursor,omitempty" jsonschema:"next_cursor of the last page"`
}

// SearchOutput is search's structured result.
type SearchOutput struct {
	Matches    []SearchMatch `json:"matches"`
	NextCursor string        `json:"next_cursor,omitempty" jsonschema:"pass as cursor for the next page"`
}

// SearchMatch is one thing found.
type SearchMatch struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// Kind is the table's kind for a table or view, else column, index,
	// primary key, unique, foreign key or check.
	Kind    string `json:"kind"`
	Name    string `json:"name,omitempty" jsonschema:"the column, index or constraint; empty for a table or view"`
	Type    string `json:"type,omitempty" jsonschema:"a column's type"`
	Comment string `json:"comment,omitempty"`
}

// SearchPageSize is how many matches one search page holds.
const SearchPageSize = 100

var searchKinds = []string{"tables", "columns", "indexes", "constraints", "comments"}

func (t *Tools) searchTool(dbs []*database) *mcp.Tool {
	in := schemaFor[SearchInput]()
	databaseArg(in, dbs)
	kinds := make([]any, len(searchKinds))
	for i, k := range searchKinds {
		kinds[i] = k
	}
	in.Properties["in"].Items = &jsonschema.Schema{Type: "string", Enum: kinds}
	in.AdditionalProperties = falseSchema()
	return &mcp.Tool{
		Name:         "search",
		Description:  "Find tables and columns by name: schema.table.column type per line.",
		InputSchema:  in,
		OutputSchema: schemaFor[SearchOutput](),
		Annotations:  readOnlyAnnotations("Search the catalog"),
	}
}

func (t *Tools) search(ctx context.Context, db *database, raw json.RawMessage, rec *Record) (result, error) {
	var in SearchInput
	if err := decodeArgs(raw, &in, "pattern (string, required), schema, cursor (strings, optional), in (array)"+t.argNote()); err != nil {
		return result{}, err
	}
	rec.Schema = in.Schema
	if len(in.Pattern) > maxPatternLen {
		return result{}, validationf("pattern is %d bytes long; at most %d", len(in.Pattern), maxPatternLen)
	}
	// name, table.name or schema.table.name: the parts before the name
	// narrow the tables searched.
	parts := splitPattern(strings.TrimSpace(in.Pattern))
	f := dialect.SearchFilter{Schema: in.Schema, Limit: SearchPageSize + 1}
	switch len(parts) {
	case 1:
	case 2:
		f.TableLike = dialect.Like(parts[0])
	case 3:
		f.SchemaLike, f.TableLike = dialect.Like(parts[0]), dialect.Like(parts[1])
	default:
		return result{}, validationf("pattern %q has %d dot-separated parts; write name, table.name or schema.table.name (quote a name holding a dot)", clip(in.Pattern, 80), len(parts))
	}
	if parts[len(parts)-1] == "" {
		return result{}, validationf("argument pattern is required: a name or part of one, e.g. email, customer.email or cust*_id")
	}
	f.Like = dialect.Like(parts[len(parts)-1])
	kinds := in.In
	if len(kinds) == 0 {
		kinds = []string{"tables", "columns"}
	}
	for _, k := range kinds {
		switch k {
		case "tables":
			f.Tables = true
		case "columns":
			f.Columns = true
		case "indexes":
			f.Indexes = true
		case "constraints":
			f.Constraints = true
		case "comments":
			f.Comments = true
		default:
			return result{}, validationf("in: unknown kind %q; use %s", clip(k, 40), strings.Join(searchKinds, ", "))
		}
	}
	if in.Cursor != "" {
		c, err := decodeCursor(in.Cursor, "search", db.Name)
		if err != nil {
			return result{}, err
		}
		f.After = &dialect.SearchKey{Schema: c.Schema, Table: c.Table, Rank: c.Rank, Name: c.Name}
	}
	ctx, cancel := db.callContext(ctx)
	defer cancel()
	sess, release, err := db.session(ctx, 0)
	if err != nil {
		return result{}, err
	}
	defer release()
	hits, next, err := db.searchPage(ctx, sess, f, SearchPageSize)
	if err != nil {
		return result{}, err
	}
	out := SearchOutput{Matches: make([]SearchMatch, len(hits))}
	for i, h := range hits {
		out.Matches[i] = SearchMatch{Schema: h.Schema, Table: h.Table, Kind: h.Kind, Name: h.Name, Type: h.Type, Comment: h.Comment}
	}
	if next != nil {
		out.NextCursor = encodeCursor(cursor{Kind: "search", Database: db.Name, Schema: next.Schema, Table: next.Table, Rank: next.Rank, Name: next.Name})
	}
	rec.Rows = len(hits)

	var b strings.Builder
	fmt.Fprintf(&b, "%d matches for %q in %s", len(hits), in.Pattern, strings.Join(kinds, ", "))
	if next != nil {
		fmt.Fprintf(&b, "; more: next_cursor %s", out.NextCursor)
	}
	b.WriteByte('\n')
	for _, h := range hits {
		writeEscaped(&b, qualifiedIdent(db.Backend, h.Schema, h.Table, ""))
		switch h.Rank {
		case dialect.RankColumn:
			b.WriteByte('.')
			writeEscaped(&b, identPart(db.Backend, h.Name))
			b.WriteByte(' ')
			writeEscaped(&b, h.Type)
		case dialect.RankTable:
			b.WriteByte(' ')
			b.WriteString(h.Kind)
		default:
			b.WriteByte(' ')
			b.WriteString(h.Kind)
			b.WriteByte(' ')
			writeEscaped(&b, h.Name)
		}
		if f.Comments && h.Comment != "" {
			b.WriteString(" -- ")
			writeEscaped(&b, h.Comment)
		}
		b.WriteByte('\n')
	}
	return result{structured: out, text: b.String()}, nil
}

// searchPage is pageTables for search hits: what the access policy hides
// is dropped — a hidden table's every hit, a hidden column, and the
// indexes and constraints of a table some deny_columns rule reaches
// (they may name a hidden column).
func (db *database) searchPage(ctx context.Context, q dialect.Queryer, f dialect.SearchFilter, size int) ([]dialect.SearchHit, *dialect.SearchKey, error) {
	cat := db.Backend.(dialect.Cataloger)
	f.SchemaIn = db.schemaIn()
	v, err := db.visibility(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	var out []dialect.SearchHit
	for range pageRounds {
		f.Limit = size - len(out) + 1
		got, err := cat.Search(ctx, q, f)
		if err != nil {
			return nil, nil, err
		}
		for _, h := range got {
			if v.hidesHit(h) {
				continue
			}
			if len(out) == size {
				k := out[len(out)-1].SearchKey
				return out, &k, nil
			}
			out = append(out, h)
		}
		if len(got) < f.Limit {
			return out, nil, nil
		}
		k := got[len(got)-1].SearchKey
		f.After = &k
	}
	return out, f.After, nil
}

func (v visibility) hidesHit(h dialect.SearchHit) bool {
	if v.p.Empty() {
		return false
	}
	if v.tableHidden(h.Schema, h.Table) {
		return true
	}
	switch h.Rank {
	case dialect.RankColumn:
		return v.columnHidden(h.Schema, h.Table, h.Name)
	case dialect.RankIndex, dialect.RankConstraint:
		return v.hasColumnRules(h.Schema, h.Table)
	}
	return false
}

// identPart is a name as a query would write it: as is when it is a plain
// identifier, else quoted as the backend quotes.
func identPart(d dialect.Backend, name string) string {
	plain := name != ""
	for i, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			plain = false
		}
	}
	// A backend that folds unquoted names (PostgreSQL, to lower case)
	// reads this one as another: ask it how it reads the name bare.
	if plain {
		if ref, err := d.ParseTableName(name); err != nil || ref.Schema != "" || ref.Name != name {
			plain = false
		}
	}
	if plain {
		return name
	}
	return d.QuoteIdent(name)
}

// qualifiedIdent is schema.table[.column], each part as identPart writes it.
func qualifiedIdent(d dialect.Backend, schema, table, column string) string {
	parts := []string{identPart(d, schema), identPart(d, table)}
	if column != "" {
		parts = append(parts, identPart(d, column))
	}
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), ".")
}
