package integration_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// largeTables is how many p_NNN tables the large-catalog fixture has:
// more than one list_tables page.
const largeTables = 210

// largeFixture is the fixture of TestLargeCatalog in the backend's
// spelling: p_000…p_209, and names that need quoting or have mixed case.
func largeFixture(b *backend) []string {
	q := b.d.QuoteIdent
	var stmts []string
	for i := range largeTables {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE p_%03d (id INTEGER PRIMARY KEY)", i))
	}
	return append(stmts,
		"CREATE TABLE "+q("Mixed Case")+" (id INTEGER PRIMARY KEY, "+q("Email Address")+" VARCHAR(100))",
		"CREATE TABLE "+q("CamelCustomer")+" (id INTEGER PRIMARY KEY, contact_email VARCHAR(100), secret_email VARCHAR(100))",
		"CREATE TABLE hidden_emails (email VARCHAR(100))",
		"CREATE INDEX idx_camel_email ON "+q("CamelCustomer")+" (contact_email)",
	)
}

// TestLargeCatalog: list_tables' paging (a cursor walks every table
// exactly once, also while tables are created and dropped), patterns on
// quoted and mixed-case names, search, describe_table of several tables,
// the table resources, completions and prompts, with what an access
// policy hides shown nowhere; on every backend, over both transports.
func TestLargeCatalog(t *testing.T) {
	for _, b := range allBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			url, schema, admin := b.rec.catalog.scratch(t, b)
			if admin == nil {
				var err error
				if admin, _, err = openAdmin(url); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() { admin.Close() })
			if err := execAll(context.Background(), admin, largeFixture(b)...); err != nil {
				t.Fatalf("fixture: %v", err)
			}
			pool, d, err := openTarget(url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pool.Close() })
			plain := tools.New(pool, d, tools.Options{})
			policy := tools.New(pool, d, tools.Options{Access: access.MustCompile(access.Rules{
				Schemas:     []string{schema},
				DenyTables:  []string{"hidden_*"},
				DenyColumns: []string{"camelcustomer.secret_email"},
			})})
			for i, tr := range transports {
				t.Run(tr, func(t *testing.T) {
					lc := &largeCatalog{t: t, b: b, schema: schema, q: d.QuoteIdent,
						s:   &toolstestSession{t: t, cs: connectTools(t, plain, tr)},
						pol: &toolstestSession{t: t, cs: connectTools(t, policy, tr)}}
					if i == 0 {
						lc.admin = admin // DDL during a walk once, not per transport
					}
					t.Run("Paging", lc.paging)
					t.Run("Patterns", lc.patterns)
					t.Run("Search", lc.search)
					t.Run("DescribeSeveral", lc.describeSeveral)
					t.Run("Resources", lc.resources)
					t.Run("Completions", lc.completions)
					t.Run("Prompts", lc.prompts)
				})
			}
		})
	}
}

type largeCatalog struct {
	t      *testing.T
	b      *backend
	schema string
	q      func(string) string
	s, pol *toolstestSession
	admin  *sql.DB // nil: no DDL during the walk
}

// walk pages list_tables with args to the end, calling between(page)
// after each page, and returns the names seen in order.
func (lc *largeCatalog) walk(t *testing.T, s *toolstestSession, args map[string]any, between func(page int)) (names []string, total float64) {
	t.Helper()
	for page := 0; ; page++ {
		r := s.call("list_tables", args)
		if r.IsError {
			t.Fatalf("page %d: %.300s", page, r.Text)
		}
		total = r.Structured["total"].(float64)
		for _, e := range r.Structured["tables"].([]any) {
			names = append(names, e.(map[string]any)["name"].(string))
		}
		next, _ := r.Structured["next_cursor"].(string)
		if next == "" {
			return names, total
		}
		if page > 50 {
			t.Fatal("more than 50 pages")
		}
		args = maps(args, "cursor", next)
		if between != nil {
			between(page)
		}
	}
}

func maps(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{k: v}
	for kk, vv := range m {
		if kk != k {
			out[kk] = vv
		}
	}
	return out
}

func (lc *largeCatalog) paging(t *testing.T) {
	args := map[string]any{"schema": lc.schema, "pattern": "p_*"}
	first := lc.s.call("list_tables", args)
	if line, _, _ := strings.Cut(first.Text, "\n"); !strings.HasPrefix(line, fmt.Sprintf(`%d tables and views match "p_*"; 200 shown; next_cursor: `, largeTables)) {
		t.Errorf("first line %q", line)
	}
	var want []string
	for i := range largeTables {
		want = append(want, fmt.Sprintf("p_%03d", i))
	}
	between := func(int) {}
	if lc.admin != nil {
		// After the first page: one table created before the cursor
		// (never seen), one after it (seen), one dropped after it (not
		// seen). No table is seen twice, none skipped.
		between = func(page int) {
			if page != 0 {
				return
			}
			if err := execAll(context.Background(), lc.admin,
				"CREATE TABLE p_000x (id INTEGER)", "CREATE TABLE p_2099 (id INTEGER)", "DROP TABLE p_205"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := execAll(context.Background(), lc.admin, "DROP TABLE p_000x", "DROP TABLE p_2099", "CREATE TABLE p_205 (id INTEGER PRIMARY KEY)"); err != nil {
					t.Errorf("undo the walk's DDL: %v", err)
				}
			})
			want = append(slices.DeleteFunc(want, func(n string) bool { return n == "p_205" }), "p_2099")
			slices.Sort(want)
		}
	}
	got, _ := lc.walk(t, lc.s, args, between)
	if !slices.Equal(got, want) {
		t.Errorf("the walk saw %d tables, want %d once each, in order:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	bad := lc.s.call("list_tables", map[string]any{"cursor": "not-a-cursor"})
	if !bad.IsError || !strings.HasPrefix(bad.Text, "validation error: cursor") {
		t.Errorf("bad cursor: %.300s", bad.Text)
	}
}

func (lc *largeCatalog) patterns(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    []string
	}{
		{"mixed*", []string{"Mixed Case"}},
		{lc.q("Mixed Case"), []string{"Mixed Case"}},
		{"CAMEL?USTOMER", []string{"CamelCustomer"}},
		{strings.ToUpper(lc.schema) + ".camel*", []string{"CamelCustomer"}},
		{"emails", []string{"hidden_emails"}},
		{"p_20?", []string{"p_200", "p_201", "p_202", "p_203", "p_204", "p_205", "p_206", "p_207", "p_208", "p_209"}},
	} {
		args := map[string]any{"pattern": c.pattern}
		if !strings.Contains(c.pattern, ".") {
			args["schema"] = lc.schema
		}
		got, total := lc.walk(t, lc.s, args, nil)
		if !slices.Equal(got, c.want) || int(total) != len(c.want) {
			t.Errorf("pattern %s: %v (total %v), want %v", c.pattern, got, total, c.want)
		}
	}
	// The policy hides hidden_emails: not listed, not counted.
	if got, total := lc.walk(t, lc.pol, map[string]any{"pattern": "*email*"}, nil); len(got) != 0 || total != 0 {
		t.Errorf("under the policy, *email* lists %v (total %v), want nothing", got, total)
	}
}

func (lc *largeCatalog) search(t *testing.T) {
	r := lc.s.call("search", map[string]any{"pattern": "email", "schema": lc.schema})
	lines := strings.Split(strings.TrimSuffix(r.Text, "\n"), "\n")
	if r.IsError || len(lines) != 6 || lines[0] != `5 matches for "email" in tables, columns` {
		t.Fatalf("search email: %.600s", r.Text)
	}
	// In (schema, table) byte order: "CamelCustomer" < "Mixed Case" < "hidden_emails".
	prefix := identPart(lc, lc.schema) + "."
	for i, want := range []string{
		prefix + identPart(lc, "CamelCustomer") + ".contact_email ",
		prefix + identPart(lc, "CamelCustomer") + ".secret_email ",
		prefix + lc.q("Mixed Case") + "." + lc.q("Email Address") + " ",
		prefix + "hidden_emails table",
		prefix + "hidden_emails.email ",
	} {
		if !strings.HasPrefix(lines[i+1], want) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i+1], want)
		}
	}
	r = lc.pol.call("search", map[string]any{"pattern": "EMAIL", "in": []any{"tables", "columns", "indexes", "constraints"}})
	if r.IsError || strings.Contains(r.Text, "hidden") || strings.Contains(r.Text, "secret") || strings.Contains(r.Text, "idx_camel") ||
		!strings.Contains(r.Text, "contact_email") || !strings.HasPrefix(r.Text, "2 matches") {
		t.Errorf("search under the policy: %.600s", r.Text)
	}
	r = lc.s.call("search", map[string]any{"pattern": strings.ToUpper(lc.schema) + ".camel*.*EMAIL"})
	if r.IsError || !strings.HasPrefix(r.Text, "2 matches") || !strings.Contains(r.Text, ".contact_email ") || !strings.Contains(r.Text, ".secret_email ") {
		t.Errorf("search schema.table.column: %.600s", r.Text)
	}
	r = lc.s.call("search", map[string]any{"pattern": "idx_camel*", "schema": lc.schema, "in": []any{"indexes"}})
	if r.IsError || !strings.Contains(r.Text, "index idx_camel_email") {
		t.Errorf("search indexes: %.600s", r.Text)
	}
	// Paged: 210 p_ tables, 100 a page, each once.
	seen := map[string]int{}
	args := map[string]any{"pattern": "p_*", "schema": lc.schema, "in": []any{"tables"}}
	for page := 0; ; page++ {
		r := lc.s.call("search", args)
		for _, m := range r.Structured["matches"].([]any) {
			seen[m.(map[string]any)["table"].(string)]++
		}
		next, _ := r.Structured["next_cursor"].(string)
		if next == "" || page > 10 {
			break
		}
		args = maps(args, "cursor", next)
	}
	for n, k := range seen {
		if k != 1 {
			t.Errorf("search paging saw %s %d times", n, k)
		}
	}
	if len(seen) < largeTables-1 {
		t.Errorf("search paging saw %d tables, want about %d", len(seen), largeTables)
	}
}

// identPart is how search writes a name: plain, or quoted when a query
// would have to quote it (PostgreSQL folds an unquoted name to lower case).
func identPart(lc *largeCatalog, name string) string {
	for _, r := range name {
		upper := r >= 'A' && r <= 'Z'
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || upper && lc.b.name != "postgres") {
			return lc.q(name)
		}
	}
	return name
}

func (lc *largeCatalog) describeSeveral(t *testing.T) {
	names := []any{lc.q("Mixed Case"), "CamelCustomer", lc.schema + ".p_001"}
	r := lc.s.call("describe_table", map[string]any{"tables": names})
	out := decode[tools.DescribeTableOutput](t, r)
	if len(out.Tables) != 3 || out.Tables[0].Name != "Mixed Case" || out.Tables[1].Name != "CamelCustomer" || out.Tables[2].Name != "p_001" {
		t.Fatalf("tables = %+v", out.Tables)
	}
	for _, n := range names {
		one := lc.s.call("describe_table", map[string]any{"table_name": n})
		if !strings.Contains(r.Text, one.Text) {
			t.Errorf("the text of several lacks %v's own:\n%s", n, one.Text)
		}
	}
	r = lc.pol.call("describe_table", map[string]any{"tables": []any{"CamelCustomer", "hidden_emails"}})
	if !r.IsError || !strings.Contains(r.Text, `tables[1]: table "hidden_emails" not found`) {
		t.Errorf("a hidden table among several: %.300s", r.Text)
	}
	if r := lc.pol.call("describe_table", map[string]any{"tables": []any{"CamelCustomer"}}); strings.Contains(r.Text, "secret") {
		t.Errorf("a hidden column shown: %s", r.Text)
	}
}

func (lc *largeCatalog) resources(t *testing.T) {
	ctx := context.Background()
	// Under the policy (schemas: the scratch one), resources/list pages
	// through the scratch schema's visible tables, each once.
	var uris []string
	cur := ""
	for page := 0; page < 100; page++ {
		res, err := lc.pol.cs.ListResources(ctx, &mcp.ListResourcesParams{Cursor: cur})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Resources {
			uris = append(uris, r.URI)
		}
		if cur = res.NextCursor; cur == "" {
			break
		}
	}
	mixed := tools.TableURI("default", lc.schema, "Mixed Case")
	if !slices.Contains(uris, mixed) || slices.ContainsFunc(uris, func(u string) bool { return strings.Contains(u, "hidden") }) {
		t.Errorf("resources lack %s or show hidden_emails: %d of them", mixed, len(uris))
	}
	if n := len(uris); n < largeTables+1 || n > largeTables+3 {
		t.Errorf("%d resources, want the %d tables of the scratch schema (the walk's DDL aside)", n, largeTables+2)
	}
	seen := map[string]bool{}
	for _, u := range uris {
		if seen[u] {
			t.Errorf("resource %s listed twice", u)
		}
		seen[u] = true
	}
	read, err := lc.pol.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: mixed})
	if err != nil {
		t.Fatal(err)
	}
	if want := lc.pol.call("describe_table", map[string]any{"table_name": lc.q("Mixed Case")}).Text; read.Contents[0].Text != want {
		t.Errorf("read %s = %q, want describe_table's %q", mixed, read.Contents[0].Text, want)
	}
	read, err = lc.pol.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: tools.TableURI("default", lc.schema, "CamelCustomer")})
	if err != nil || strings.Contains(read.Contents[0].Text, "secret") {
		t.Errorf("read CamelCustomer under the policy: %v %v", read, err)
	}
	if _, err := lc.pol.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: tools.TableURI("default", lc.schema, "hidden_emails")}); err == nil {
		t.Errorf("read hidden_emails under the policy: no error")
	}
}

func (lc *largeCatalog) completions(t *testing.T) {
	complete := func(s *toolstestSession, arg, value string, ctxArgs map[string]string) []string {
		t.Helper()
		r, err := s.cs.Complete(context.Background(), &mcp.CompleteParams{
			Ref:      &mcp.CompleteReference{Type: "ref/resource", URI: tools.ResourceTemplate},
			Argument: mcp.CompleteParamsArgument{Name: arg, Value: value},
			Context:  &mcp.CompleteContext{Arguments: ctxArgs},
		})
		if err != nil {
			t.Fatalf("complete %s %q: %v", arg, value, err)
		}
		return r.Completion.Values
	}
	in := map[string]string{"database": "default", "schema": lc.schema}
	if got := complete(lc.s, "table", "mix", in); !slices.Equal(got, []string{"Mixed Case"}) {
		t.Errorf("complete table mix = %v", got)
	}
	if got := complete(lc.s, "table", "Camel", in); !slices.Equal(got, []string{"CamelCustomer"}) {
		t.Errorf("complete table Camel = %v", got)
	}
	if got := complete(lc.s, "table", "p_20", in); len(got) < 9 || got[0] != "p_200" {
		t.Errorf("complete table p_20 = %v", got)
	}
	if got := complete(lc.pol, "table", "hid", in); len(got) != 0 {
		t.Errorf("complete a hidden table = %v", got)
	}
	if got := complete(lc.pol, "schema", lc.schema[:4], map[string]string{"database": "default"}); !slices.Equal(got, []string{lc.schema}) {
		t.Errorf("complete schema %s under the policy = %v, want only %s", lc.schema[:4], got, lc.schema)
	}
	if got := complete(lc.s, "database", "", nil); !slices.Equal(got, []string{"default"}) {
		t.Errorf("complete database = %v", got)
	}
}

func (lc *largeCatalog) prompts(t *testing.T) {
	ctx := context.Background()
	list, err := lc.s.cs.ListPrompts(ctx, nil)
	if err != nil || len(list.Prompts) != 2 {
		t.Fatalf("prompts/list: %v %v", list, err)
	}
	p, err := lc.s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "ask", Arguments: map[string]string{"question": "Where do customer emails live?"}})
	if err != nil {
		t.Fatal(err)
	}
	if text := p.Messages[0].Content.(*mcp.TextContent).Text; !strings.Contains(text, "Where do customer emails live?") || !strings.Contains(text, "search") {
		t.Errorf("ask: %s", text)
	}
	if _, err := lc.s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "explore", Arguments: map[string]string{"schema": lc.schema}}); err != nil {
		t.Errorf("explore: %v", err)
	}
	_ = toolstest.Result{}
}
