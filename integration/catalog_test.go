package integration_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// catalogFacts is a backend's catalog fixture and what list_tables and
// describe_table must say about it. The fixture is the same everywhere in
// shape (parent and child with a composite key, a composite foreign key,
// a check, a unique constraint, comments where the backend has them, a
// view, names that need quoting, a big table, plus the backend's own
// kinds); what differs is its spelling and the types and names the
// backend reports. Schemas are left empty in tables, parent and child:
// the test fills in the scratch schema's name.
type catalogFacts struct {
	// scratch creates an empty schema (PostgreSQL schema, MySQL
	// database, SQLite file), dropped when the test ends: url serves it
	// with its unqualified names resolving there, schema is its name, and
	// admin a writable pool on it (nil: opened from url).
	scratch func(t *testing.T, b *backend) (url, schema string, admin *sql.DB)
	fixture []string
	// listSchemas are the schema arguments for which list_tables lists
	// exactly tables ("{{schema}}" is the scratch schema's name).
	listSchemas []string
	tables      []tools.TableEntry
	// estimates are the plausible ranges of the rows of tables whose
	// estimate is a sample: checked, then compared as listed in tables.
	estimates     map[string][2]int64
	parent, child tools.TableDescription
	// resolve are names a model writes ("{{schema}}", "{{SCHEMA}}": the
	// scratch schema's name, upper-cased) and what they describe.
	resolve []resolveCase
	// notFound are names that describe no table of the fixture.
	notFound []string
	// more checks what only this backend has.
	more func(t *testing.T, s *toolstestSession, schema string)
	// boundFixture creates 300 tables t_000…t_299 holding i%4 rows each;
	// exactCap of them, the first in (schema, name) order, are counted,
	// the rest labelled estimates; checkUncounted checks the last one
	// further.
	boundFixture   func() []string
	exactCap       int
	checkUncounted func(t *testing.T, last tools.TableEntry)
}

type resolveCase struct{ input, name, kind string }

func listed(name, kind string, rows *int64, exact bool, comment string) tools.TableEntry {
	return tools.TableEntry{Name: name, Kind: kind, Rows: rows, RowsExact: exact, Comment: comment}
}

func ptr[T any](v T) *T { return &v }

// decode reads a tool's structured result into its Go type, failing the
// test on an error result.
func decode[T any](t *testing.T, res toolstest.Result) T {
	t.Helper()
	var out T
	if res.IsError {
		t.Fatalf("tool error: %.300s", res.Text)
	}
	raw, err := json.Marshal(res.Structured)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// scratchTools creates b's scratch schema, runs fixture in it and serves
// the tools over it on b's transport; sb is b on the scratch schema.
func scratchTools(t *testing.T, b *backend, fixture []string) (s *toolstestSession, schema string, sb *backend) {
	t.Helper()
	url, schema, admin := b.rec.catalog.scratch(t, b)
	if admin == nil {
		var err error
		if admin, _, err = openAdmin(url); err != nil {
			t.Fatal(err)
		}
	}
	err := execAll(context.Background(), admin, fixture...)
	if cerr := admin.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	pool, d, err := openTarget(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	bb := *b
	bb.db, bb.d = pool, d
	return serve(t, &bb, tools.Options{}), schema, &bb
}

// catalogMatchesTheFixture describes the catalog fixture through the
// tools: every table listed with its kind, row count and comment; parent
// and child described in full; the names a model writes resolved; unknown
// names refused as not found.
func catalogMatchesTheFixture(t *testing.T, b *backend) {
	c := b.rec.catalog
	s, schema, sb := scratchTools(t, b, c.fixture)
	fill := strings.NewReplacer("{{schema}}", schema, "{{SCHEMA}}", strings.ToUpper(schema)).Replace
	eq := cmpopts.EquateEmpty()

	want := make([]tools.TableEntry, len(c.tables))
	for i, e := range c.tables {
		e.Schema = schema
		want[i] = e
	}
	capped, columns, fks, indexes, err := catalogUnderRowCap(context.Background(), sb, schema, c.child.Name)
	if err != nil {
		t.Fatalf("the catalog under a row cap: %v", err)
	}
	if columns != len(c.child.Columns) || fks != len(c.child.ForeignKeys) || indexes != len(c.child.Indexes) {
		t.Errorf("describing child under a row cap of 3: %d columns, %d foreign keys, %d indexes; want %d, %d, %d",
			columns, fks, indexes, len(c.child.Columns), len(c.child.ForeignKeys), len(c.child.Indexes))
	}
	lists := map[string][]tools.TableEntry{"under a row cap of 3": capped}
	for _, arg := range c.listSchemas {
		args := map[string]any{}
		if arg != "" {
			args["schema"] = fill(arg)
		}
		lists[fmt.Sprintf("list_tables(%q)", arg)] = decode[tools.ListTablesOutput](t, s.call("list_tables", args)).Tables
	}
	for what, got := range lists {
		for i, e := range got {
			r, ok := c.estimates[e.Name]
			if !ok {
				continue
			}
			if e.RowsExact || e.Rows == nil || *e.Rows < r[0] || *e.Rows > r[1] {
				t.Errorf("%s: rows=%v exact=%v, want an estimate within %v", e.Name, e.Rows, e.RowsExact, r)
			}
			for _, w := range want {
				if w.Name == e.Name {
					got[i].Rows = w.Rows
				}
			}
		}
		if diff := cmp.Diff(want, got, eq); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", what, diff)
		}
	}

	for _, w := range []tools.TableDescription{c.parent, c.child} {
		w.Schema = schema
		w.ForeignKeys = append([]tools.ForeignKey(nil), w.ForeignKeys...)
		for i := range w.ForeignKeys {
			if w.ForeignKeys[i].ReferencedSchema == "" {
				w.ForeignKeys[i].ReferencedSchema = schema
			}
		}
		// child is named qualified, as a model may write it.
		name := w.Name
		if w.Name == c.child.Name {
			name = schema + "." + name
		}
		got := decode[tools.DescribeTableOutput](t, s.call("describe_table", map[string]any{"table_name": name}))
		if diff := cmp.Diff(tools.DescribeTableOutput{TableDescription: w}, got, eq); diff != "" {
			t.Errorf("describe_table(%s) mismatch (-want +got):\n%s", name, diff)
		}
	}

	for _, rc := range c.resolve {
		in := fill(rc.input)
		res := s.call("describe_table", map[string]any{"table_name": in})
		if res.IsError {
			t.Errorf("describe_table(%s): %.300s", in, res.Text)
			continue
		}
		got := decode[tools.DescribeTableOutput](t, res)
		if got.Schema != schema || got.Name != rc.name || got.Kind != rc.kind {
			t.Errorf("describe_table(%s) = %s.%s (%s), want %s.%s (%s)", in, got.Schema, got.Name, got.Kind, schema, rc.name, rc.kind)
		}
	}

	notFound := []string{
		b.d.QuoteIdent("'; DROP TABLE parent; --"),
		b.d.QuoteIdent("'); DROP TABLE parent; --"),
	}
	for _, n := range c.notFound {
		notFound = append(notFound, fill(n))
	}
	for _, n := range notFound {
		res := s.call("describe_table", map[string]any{"table_name": n})
		if !res.IsError || !strings.HasPrefix(res.Text, "validation error") || !strings.Contains(res.Text, "not found") {
			t.Errorf("describe_table(%s) = %.300s, want a validation error: not found", n, res.Text)
		}
	}
	if c.more != nil {
		c.more(t, s, schema)
	}
}

// listTablesBoundsTheCounting: with 300 tables, list_tables pages
// through all of them (200, then 100), and each page counts at most the
// backend's cap of its tables (the first in order), the rest labelled
// estimates: a call's counting is bounded however many tables exist.
func listTablesBoundsTheCounting(t *testing.T, b *backend) {
	c := b.rec.catalog
	s, schema, _ := scratchTools(t, b, c.boundFixture())
	args := map[string]any{}
	if arg := strings.ReplaceAll(c.listSchemas[0], "{{schema}}", schema); arg != "" {
		args["schema"] = arg
	}
	var pages [][]tools.TableEntry
	for {
		out := decode[tools.ListTablesOutput](t, s.call("list_tables", args))
		if out.Total != 300 {
			t.Errorf("total = %d, want 300", out.Total)
		}
		pages = append(pages, out.Tables)
		if out.NextCursor == "" || len(pages) == 5 {
			break
		}
		args["cursor"] = out.NextCursor
	}
	if len(pages) != 2 || len(pages[0]) != tools.PageSize || len(pages[1]) != 300-tools.PageSize {
		t.Fatalf("list_tables gave %d pages, want one of %d and one of %d", len(pages), tools.PageSize, 300-tools.PageSize)
	}
	next := 0
	for p, got := range pages {
		exact := 0
		for k, tb := range got {
			if tb.Name != fmt.Sprintf("t_%03d", next) {
				t.Fatalf("page %d, table %d is %s, want t_%03d", p, k, tb.Name, next)
			}
			next++
			if !tb.RowsExact {
				continue
			}
			exact++
			var i int
			fmt.Sscanf(strings.TrimPrefix(tb.Name, "t_"), "%d", &i)
			if tb.Rows == nil || *tb.Rows != int64(i%4) {
				t.Errorf("%s: exact rows = %v, want %d", tb.Name, tb.Rows, i%4)
			}
			if k >= c.exactCap {
				t.Errorf("page %d: %s, its table %d, counted: want only the first %d counted", p, tb.Name, k, c.exactCap)
			}
		}
		if want := min(c.exactCap, len(got)); exact != want {
			t.Errorf("page %d: %d tables counted exactly, want %d (the others labelled estimates)", p, exact, want)
		}
	}
	if last := pages[0][tools.PageSize-1]; c.exactCap < tools.PageSize && c.checkUncounted != nil {
		c.checkUncounted(t, last)
	}
}
