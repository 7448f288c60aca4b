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
// crm_contact_011, 4 to 9 columns each; the contact, lead and employee
// tables have an email column (60 tables in all).
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
		if ent == "contact" || ent == "lead" || ent == "employee" {
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

func TestContextCostBefore(t *testing.T) {
	if os.Getenv("SQLMCP_CONTEXT_BEFORE") == "" {
		t.Skip("set SQLMCP_CONTEXT_BEFORE=1")
	}
	for _, c := range []struct {
		name   string
		open   func(testing.TB) (*sql.DB, dialect.Backend)
		three  []string
		column string
		query  string
	}{
		{"chinook", newChinookSQLite, []string{"Invoice", "InvoiceLine", "Track"}, "email", "SELECT Email FROM Customer LIMIT 5"},
		{"wide", newWideSQLite, []string{"crm_contact_001", "crm_account_000", "crm_order_002"}, "email", "SELECT email FROM crm_contact_001 LIMIT 5"},
	} {
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
			three += len(toolstest.Call(t, cs, "describe_table", map[string]any{"table_name": n}).Text)
		}
		q := len(toolstest.Call(t, cs, "query", map[string]any{"sql": c.query}).Text)
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
