package tools_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// The context-cost benchmark (issue 15): the bytes a model reads — the tool
// list as it sees it (name, description, input schema) and each answer's
// text — for a scripted task set, on Chinook and on a generated schema of
// 1,000 tables, both SQLite, through the production stdio path.

// wideModules and wideEntities name the generated schema's tables.
var (
	wideModules  = []string{"crm", "erp", "hr", "fin", "ops", "web", "inv", "mkt", "sup", "log"}
	wideEntities = []string{"account", "contact", "order", "order_line", "invoice", "payment", "product", "price",
		"shipment", "warehouse", "employee", "department", "ticket", "event", "session", "campaign", "lead",
		"supplier", "budget", "audit"}
)

// newWideSQLite writes a 1,000-table SQLite database: tables named like
// crm_contact_011, 4 to 9 columns each; the contact and employee tables
// have an email column (100 tables in all).
func newWideSQLite(tb testing.TB) (*sql.DB, dialect.Backend) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "wide.db")
	w, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString("BEGIN;\n")
	for i := range 1000 {
		ent := wideEntities[i%len(wideEntities)]
		name := fmt.Sprintf("%s_%s_%03d", wideModules[(i/len(wideEntities))%len(wideModules)], ent, i)
		fmt.Fprintf(&sb, "CREATE TABLE %s (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT, status TEXT", name)
		for k := range i % 6 {
			fmt.Fprintf(&sb, ", attr_%d NUMERIC", k)
		}
		if ent == "contact" || ent == "employee" {
			sb.WriteString(", email TEXT")
		}
		sb.WriteString(");\n")
	}
	sb.WriteString("COMMIT;")
	if _, err := w.Exec(sb.String()); err != nil {
		tb.Fatal(err)
	}
	w.Close()
	return openSQLite(tb, path)
}

func openSQLite(tb testing.TB, path string) (*sql.DB, dialect.Backend) {
	tb.Helper()
	target, err := dialect.ParseDSN(path)
	if err != nil {
		tb.Fatal(err)
	}
	db, err := target.Backend.Open(target, dialect.OpenOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, target.Backend
}

func newChinookSQLite(tb testing.TB) (*sql.DB, dialect.Backend) {
	tb.Helper()
	raw, err := os.ReadFile("../cmd/sqlmcp/demo/chinook.db")
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "chinook.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		tb.Fatal(err)
	}
	return openSQLite(tb, path)
}

// toolListBytes is the tool list as a model sees it: each tool's name,
// description and input schema, as JSON.
func toolListBytes(tb testing.TB, cs *mcp.ClientSession) int {
	tb.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	type seen struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		InputSchema any    `json:"inputSchema"`
	}
	var list []seen
	for _, t := range res.Tools {
		list = append(list, seen{t.Name, t.Description, t.InputSchema})
	}
	b, err := json.Marshal(list)
	if err != nil {
		tb.Fatal(err)
	}
	return len(b)
}

// contextCase is one schema of the context-cost benchmark and its
// scripted tasks' arguments.
type contextCase struct {
	name   string
	open   func(testing.TB) (*sql.DB, dialect.Backend)
	three  []string // the three tables described
	column string   // the column searched for
	query  string   // the one query run
	// before is what the same tasks cost with main's tools (commit
	// 17d203c, measured by TestContextCostBefore run on that tree):
	// tool list, list_tables, finding the column (list_tables and a
	// describe_table of every table: nothing else tells where a column
	// is), three describe_table calls, the query.
	before [5]int
}

var contextCases = []contextCase{
	{"Chinook (11 tables)", newChinookSQLite, []string{"invoice", "invoice_line", "track"}, "email",
		"SELECT first_name, last_name, email FROM customer ORDER BY customer_id LIMIT 5", [5]int{1632, 301, 4446, 1639, 226}},
	{"1,000 tables", newWideSQLite, []string{"crm_contact_001", "crm_account_000", "crm_order_002"}, "email",
		"SELECT email FROM crm_contact_001 LIMIT 5", [5]int{1632, 32280, 257438, 584, 6}},
}

// contextCost runs the scripted tasks with today's tools and returns the
// bytes the model reads for each: the tool list, the first list_tables
// page, one search, one describe_table of three tables, one query.
func contextCost(tb testing.TB, cs *mcp.ClientSession, c contextCase) [5]int {
	text := func(tool string, args map[string]any) int {
		r := toolstest.Call(tb, cs, tool, args)
		if r.IsError {
			tb.Fatalf("%s %v: %s", tool, args, r.Text)
		}
		return len(r.Text)
	}
	three := make([]any, len(c.three))
	for i, n := range c.three {
		three[i] = n
	}
	return [5]int{
		toolListBytes(tb, cs),
		text("list_tables", nil),
		text("search", map[string]any{"pattern": c.column}),
		text("describe_table", map[string]any{"tables": three}),
		text("query", map[string]any{"sql": c.query}),
	}
}

// BenchmarkContextCost is the context-cost benchmark (make bench): the
// bytes a model reads for the scripted tasks, reported as metrics per
// schema and logged as a table beside main's figures.
func BenchmarkContextCost(b *testing.B) {
	tasks := [5]string{"tool list (name, description, input schema)", "list the tables (first page)",
		"find where a column named like email lives", "describe three tables", "run one query"}
	var table strings.Builder
	table.WriteString("| schema | task | before (main) | after | calls before → after |\n|---|---|---:|---:|---|\n")
	for _, c := range contextCases {
		db, d := c.open(b)
		cs := toolstest.Connect(b, tools.New(db, d, tools.Options{}))
		var after [5]int
		b.Run(strings.Fields(c.name)[0], func(b *testing.B) {
			for b.Loop() {
				after = contextCost(b, cs, c)
			}
			b.ReportMetric(float64(after[0]), "toollist-B")
			b.ReportMetric(float64(after[1]), "list-B")
			b.ReportMetric(float64(after[2]), "find-B")
			b.ReportMetric(float64(after[3]), "describe3-B")
			b.ReportMetric(float64(after[4]), "query-B")
		})
		tables := 11
		if strings.HasPrefix(c.name, "1,000") {
			tables = 1000
		}
		calls := [5]string{"–", "1 → 1", fmt.Sprintf("%d → 1", 1+tables), "3 → 1", "1 → 1"}
		sumBefore, sumAfter := 0, 0
		for i := range tasks {
			fmt.Fprintf(&table, "| %s | %s | %d | %d | %s |\n", c.name, tasks[i], c.before[i], after[i], calls[i])
			sumBefore += c.before[i]
			sumAfter += after[i]
		}
		fmt.Fprintf(&table, "| %s | **all five** | **%d** | **%d** | |\n", c.name, sumBefore, sumAfter)
	}
	fmt.Printf("\ncontext cost, bytes of text the model reads (SQLite, stdio):\n%s\n", table.String())
}

// TestContextCostBefore prints the before figures: run it on main's tree
// (with this file copied in, BenchmarkContextCost and the budget test
// removed), where list_tables has no pages and there is no search. On
// this tree it measures nothing meaningful.
func TestContextCostBefore(t *testing.T) {
	if os.Getenv("SQLMCP_CONTEXT_BEFORE") == "" {
		t.Skip("set SQLMCP_CONTEXT_BEFORE=1, on main's tree")
	}
	for _, c := range contextCases {
		db, d := c.open(t)
		cs := toolstest.Connect(t, tools.New(db, d, tools.Options{}))
		tl := toolListBytes(t, cs)
		list := toolstest.Call(t, cs, "list_tables", nil)
		find := len(list.Text)
		for _, tb := range list.Structured["tables"].([]any) {
			r := toolstest.Call(t, cs, "describe_table", map[string]any{"table_name": tb.(map[string]any)["name"]})
			find += len(r.Text)
		}
		three := 0
		for _, n := range c.three {
			r := toolstest.Call(t, cs, "describe_table", map[string]any{"table_name": n})
			if r.IsError {
				t.Fatal(r.Text)
			}
			three += len(r.Text)
		}
		r := toolstest.Call(t, cs, "query", map[string]any{"sql": c.query})
		if r.IsError {
			t.Fatal(r.Text)
		}
		q := len(r.Text)
		t.Logf("%s: tool list %d, list %d, find %d, three %d, query %d", c.name, tl, len(list.Text), find, three, q)
	}
}

// TestToolListBudget: the tool list as a single-database server's model
// sees it (name, description, input schema) stays within 2 KB on every
// backend, whose statement lists differ (issue 15's target).
func TestToolListBudget(t *testing.T) {
	for _, d := range dialect.Backends() {
		cs := toolstest.Connect(t, tools.New(nil, d, tools.Options{})) // listing tools reaches no database
		if n := toolListBytes(t, cs); n > 2048 {
			t.Errorf("%s: the tool list is %d bytes, over the 2048 budget", d.Name(), n)
		} else {
			t.Logf("%s: tool list %d bytes", d.Name(), n)
		}
	}
}
