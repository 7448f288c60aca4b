package tools_test

import (
	"context"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// TestListTablesPagesAThousandTables: on 1,000 tables the first page is
// 200 tables in under 8 KB of text whose first line says how many exist;
// the cursor walks every table exactly once; a bad cursor is a
// validation error.
func TestListTablesPagesAThousandTables(t *testing.T) {
	db, d := newWideSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{}))
	seen := map[string]int{}
	cur := ""
	for pages := 0; ; pages++ {
		args := map[string]any{}
		if cur != "" {
			args["cursor"] = cur
		}
		r := toolstest.Call(t, cs, "list_tables", args)
		if r.IsError {
			t.Fatal(r.Text)
		}
		if pages == 0 {
			if len(r.Text) > 8<<10 {
				t.Errorf("first page is %d bytes of text, want at most 8 KB", len(r.Text))
			}
			if first, _, _ := strings.Cut(r.Text, "\n"); !strings.HasPrefix(first, "1000 tables and views; 200 shown; next_cursor: ") {
				t.Errorf("first line %q does not say 1000 exist and 200 are shown", first)
			}
		}
		if r.Structured["total"] != 1000.0 {
			t.Errorf("page %d: total = %v, want 1000", pages, r.Structured["total"])
		}
		for _, e := range r.Structured["tables"].([]any) {
			seen[e.(map[string]any)["name"].(string)]++
		}
		next, _ := r.Structured["next_cursor"].(string)
		if next == "" {
			if pages != 4 {
				t.Errorf("%d pages, want 5", pages+1)
			}
			break
		}
		cur = next
	}
	if len(seen) != 1000 {
		t.Errorf("the walk saw %d tables, want 1000", len(seen))
	}
	for n, k := range seen {
		if k != 1 {
			t.Errorf("%s seen %d times", n, k)
		}
	}
	for _, bad := range []string{"nonsense", "eyJrIjoic2VhcmNoIn0"} { // the second: a search cursor
		r := toolstest.Call(t, cs, "list_tables", map[string]any{"cursor": bad})
		if !r.IsError || !strings.HasPrefix(r.Text, "validation error: cursor") {
			t.Errorf("cursor %q: %q, want a validation error", bad, r.Text)
		}
	}
}

// TestPatternAndSearchOnAThousandTables: a pattern narrows list_tables
// in any case; search finds the 100 email columns in one answer within
// 4 KB, and pages through the 1,000 name columns, each once.
func TestPatternAndSearchOnAThousandTables(t *testing.T) {
	db, d := newWideSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{}))
	r := toolstest.Call(t, cs, "list_tables", map[string]any{"pattern": "CRM_CONTACT_*"})
	if r.IsError || r.Structured["total"] != 5.0 || !strings.HasPrefix(r.Text, `5 tables and views match "CRM_CONTACT_*"; all shown.`) {
		t.Errorf("pattern CRM_CONTACT_*: %v\n%s", r.Structured["total"], r.Text)
	}
	r = toolstest.Call(t, cs, "list_tables", map[string]any{"pattern": "main.hr_?mployee_2*"})
	if r.IsError || r.Structured["total"] != 1.0 || !strings.Contains(r.Text, "hr_employee_250\ttable") {
		t.Errorf("pattern main.hr_?mployee_2*: %s", r.Text)
	}
	r = toolstest.Call(t, cs, "search", map[string]any{"pattern": "email", "schema": "main"})
	if r.IsError {
		t.Fatal(r.Text)
	}
	lines := strings.Split(strings.TrimSuffix(r.Text, "\n"), "\n")
	if len(lines) != 101 || lines[0] != `100 matches for "email" in tables, columns` || lines[1] != "main.crm_contact_001.email TEXT" ||
		len(r.Text) > 4<<10 || r.Structured["next_cursor"] != nil {
		t.Fatalf("search email: %d lines (%d bytes), first %q, %q", len(lines), len(r.Text), lines[0], lines[1])
	}
	// 1,000 name columns: ten pages, each column once.
	seen := map[string]int{}
	args := map[string]any{"pattern": "NAME", "in": []any{"columns"}}
	for pages := 1; ; pages++ {
		r = toolstest.Call(t, cs, "search", args)
		for _, m := range r.Structured["matches"].([]any) {
			seen[m.(map[string]any)["table"].(string)]++
		}
		cur, _ := r.Structured["next_cursor"].(string)
		if cur == "" || pages > 20 {
			if pages != 10 {
				t.Errorf("search NAME took %d pages, want 10", pages)
			}
			break
		}
		args["cursor"] = cur
	}
	if len(seen) != 1000 {
		t.Errorf("search NAME found the name column of %d tables, want 1000", len(seen))
	}
	for tb, n := range seen {
		if n != 1 {
			t.Errorf("%s.name found %d times", tb, n)
		}
	}
	r = toolstest.Call(t, cs, "search", map[string]any{"pattern": "*_contact_00?", "in": []any{"tables"}})
	if r.IsError || len(r.Structured["matches"].([]any)) != 1 || !strings.Contains(r.Text, "main.crm_contact_001 table\n") {
		t.Errorf("search tables *_contact_00?: %s", r.Text)
	}
	r = toolstest.Call(t, cs, "search", map[string]any{"pattern": "x", "in": []any{"everything"}})
	if !r.IsError || !strings.Contains(r.Text, `unknown kind "everything"`) {
		t.Errorf("search in everything: %s", r.Text)
	}
}

// TestDescribeSeveralTables: one call describes several tables, each in
// turn in the text and in structuredContent's tables; an unknown one
// fails the call naming it; the single form stays as it was.
func TestDescribeSeveralTables(t *testing.T) {
	db, d := newSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{}))
	one := toolstest.Call(t, cs, "describe_table", map[string]any{"table_name": "album"})
	r := toolstest.Call(t, cs, "describe_table", map[string]any{"tables": []any{"album", "artist", "big"}})
	if r.IsError {
		t.Fatal(r.Text)
	}
	if !strings.HasPrefix(r.Text, one.Text+"\ntable main.artist\n") || !strings.Contains(r.Text, "\ntable main.big\n") {
		t.Errorf("text:\n%s", r.Text)
	}
	if ts, _ := r.Structured["tables"].([]any); len(ts) != 3 || ts[2].(map[string]any)["name"] != "big" {
		t.Errorf("structured tables = %v", r.Structured["tables"])
	}
	if _, has := one.Structured["tables"]; has {
		t.Errorf("the single form has tables: %v", one.Structured)
	}
	r = toolstest.Call(t, cs, "describe_table", map[string]any{"tables": []any{"album", "albun"}})
	if !r.IsError || !strings.HasPrefix(r.Text, `validation error: tables[1]: table "albun" not found. Close matches: album`) {
		t.Errorf("unknown second table: %s", r.Text)
	}
	r = toolstest.Call(t, cs, "describe_table", map[string]any{"tables": []any{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}})
	if !r.IsError || !strings.Contains(r.Text, "at most 10") {
		t.Errorf("11 tables: %s", r.Text)
	}
}

// TestResourcesCompletionsPrompts: resources/list pages through every
// table, a read gives describe_table's text, completion/complete
// prefix-matches names, and the prompts name the tools to use; what the
// access policy hides shows nowhere.
func TestResourcesCompletionsPrompts(t *testing.T) {
	db, d := newSQLite(t)
	pol := access.MustCompile(access.Rules{DenyTables: []string{"big"}, DenyColumns: []string{"album.price"}})
	tl := tools.New(db, d, tools.Options{Access: pol})
	for name, cs := range map[string]*mcp.ClientSession{"stdio": toolstest.Connect(t, tl), "http": toolstest.ConnectHTTP(t, tl)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			tpl, err := cs.ListResourceTemplates(ctx, nil)
			if err != nil || len(tpl.ResourceTemplates) != 1 || tpl.ResourceTemplates[0].URITemplate != "sqlmcp://{database}/{schema}/{table}" {
				t.Fatalf("templates: %v %v", tpl, err)
			}
			res, err := cs.ListResources(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var uris []string
			for _, r := range res.Resources {
				uris = append(uris, r.URI)
			}
			if strings.Join(uris, " ") != "sqlmcp://default/main/album sqlmcp://default/main/artist" || res.NextCursor != "" {
				t.Errorf("resources = %v (next %q), want album and artist, not the hidden big", uris, res.NextCursor)
			}
			read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "sqlmcp://default/main/album"})
			if err != nil {
				t.Fatal(err)
			}
			desc := toolstest.Call(t, cs, "describe_table", map[string]any{"table_name": "album"})
			if got := read.Contents[0].Text; got != desc.Text || strings.Contains(got, "price") {
				t.Errorf("read album = %q, want describe_table's text %q, without price", got, desc.Text)
			}
			for _, uri := range []string{"sqlmcp://default/main/big", "sqlmcp://default/main/nosuch", "sqlmcp://other/main/album"} {
				if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri}); err == nil || !strings.Contains(err.Error(), "not found") {
					t.Errorf("read %s: %v, want not found", uri, err)
				}
			}
			complete := func(ref *mcp.CompleteReference, arg, value string) []string {
				t.Helper()
				r, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: ref, Argument: mcp.CompleteParamsArgument{Name: arg, Value: value}})
				if err != nil {
					t.Fatalf("complete %s %q: %v", arg, value, err)
				}
				return r.Completion.Values
			}
			tplRef := &mcp.CompleteReference{Type: "ref/resource", URI: "sqlmcp://{database}/{schema}/{table}"}
			if got := complete(tplRef, "table", "A"); strings.Join(got, " ") != "album artist" {
				t.Errorf("complete table A = %v", got)
			}
			if got := complete(tplRef, "table", "b"); len(got) != 0 {
				t.Errorf("complete table b = %v, want nothing (big is hidden)", got)
			}
			if got := complete(tplRef, "schema", "m"); strings.Join(got, " ") != "main" {
				t.Errorf("complete schema m = %v", got)
			}
			if got := complete(&mcp.CompleteReference{Type: "ref/prompt", Name: "ask"}, "database", "d"); strings.Join(got, " ") != "default" {
				t.Errorf("complete database d = %v", got)
			}
			prompts, err := cs.ListPrompts(ctx, nil)
			if err != nil || len(prompts.Prompts) != 2 {
				t.Fatalf("prompts: %v %v", prompts, err)
			}
			p, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "ask", Arguments: map[string]string{"question": "Which artist has the most albums?"}})
			if err != nil {
				t.Fatal(err)
			}
			text := p.Messages[0].Content.(*mcp.TextContent).Text
			for _, want := range []string{"Which artist has the most albums?", "search", "describe_table", "LIMIT", "query"} {
				if !strings.Contains(text, want) {
					t.Errorf("ask prompt lacks %q:\n%s", want, text)
				}
			}
			if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "ask"}); err == nil || !strings.Contains(err.Error(), "question is required") {
				t.Errorf("ask without a question: %v", err)
			}
			p, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "explore"})
			if err != nil || !strings.Contains(p.Messages[0].Content.(*mcp.TextContent).Text, "list_tables") {
				t.Errorf("explore: %v %v", p, err)
			}
		})
	}
}

// TestSearchAndListHideWhatThePolicyDenies: a denied table, a denied
// column and the tables outside the policy's schemas are neither
// listed, counted, found nor completed.
func TestSearchAndListHideWhatThePolicyDenies(t *testing.T) {
	db, d := newSQLite(t)
	pol := access.MustCompile(access.Rules{DenyTables: []string{"big"}, DenyColumns: []string{"*.album.artist_id"}})
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{Access: pol}))
	r := toolstest.Call(t, cs, "list_tables", nil)
	if r.Structured["total"] != 2.0 || strings.Contains(r.Text, "big") {
		t.Errorf("list_tables: %s", r.Text)
	}
	r = toolstest.Call(t, cs, "search", map[string]any{"pattern": "*", "in": []any{"tables", "columns", "indexes", "constraints"}})
	if strings.Contains(r.Text, "big") || strings.Contains(r.Text, "album.artist_id") || !strings.Contains(r.Text, "main.artist.artist_id") {
		t.Errorf("search *: %s", r.Text)
	}
	cs = toolstest.Connect(t, tools.New(db, d, tools.Options{Access: access.MustCompile(access.Rules{Schemas: []string{"other"}})}))
	r = toolstest.Call(t, cs, "search", map[string]any{"pattern": "a"})
	if r.IsError || len(r.Structured["matches"].([]any)) != 0 {
		t.Errorf("search outside the policy's schemas: %s", r.Text)
	}
	r = toolstest.Call(t, cs, "list_tables", map[string]any{"pattern": "a*"})
	if r.IsError || r.Structured["total"] != 0.0 {
		t.Errorf("list_tables outside the policy's schemas: %s", r.Text)
	}
}

// TestResourcesOfSeveralDatabases: the database is part of every URI;
// resources/list walks each database in turn; a caller allowed one
// database (an HTTP token's) lists, reads and completes only that one;
// the prompts need a database argument when there are several.
func TestResourcesOfSeveralDatabases(t *testing.T) {
	set, err := tools.NewSet(musicAndDemo(t), tools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cs := toolstest.Connect(t, set)
	res, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range res.Resources {
		uris = append(uris, r.URI)
	}
	if strings.Join(uris, " ") != "sqlmcp://music/main/track sqlmcp://demo/main/city" {
		t.Errorf("resources = %v", uris)
	}
	read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "sqlmcp://demo/main/city"})
	if err != nil || !strings.HasPrefix(read.Contents[0].Text, "table main.city\n") {
		t.Errorf("read demo's city: %v %v", read, err)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "sqlmcp://demo/main/track"}); err == nil {
		t.Errorf("read demo's track (music's table): no error")
	}
	tpl := &mcp.CompleteReference{Type: "ref/resource", URI: tools.ResourceTemplate}
	c, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: tpl, Argument: mcp.CompleteParamsArgument{Name: "database", Value: ""}})
	if err != nil || strings.Join(c.Completion.Values, " ") != "music demo" {
		t.Errorf("complete database: %v %v", c, err)
	}
	c, err = cs.Complete(ctx, &mcp.CompleteParams{Ref: tpl, Argument: mcp.CompleteParamsArgument{Name: "table", Value: "t"},
		Context: &mcp.CompleteContext{Arguments: map[string]string{"database": "music"}}})
	if err != nil || strings.Join(c.Completion.Values, " ") != "track" {
		t.Errorf("complete music's table t: %v %v", c, err)
	}
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "explore"}); err == nil || !strings.Contains(err.Error(), "database is required") {
		t.Errorf("explore without a database among two: %v", err)
	}
	p, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "explore", Arguments: map[string]string{"database": "music"}})
	if err != nil || !strings.Contains(p.Messages[0].Content.(*mcp.TextContent).Text, `database argument "music"`) {
		t.Errorf("explore music: %v %v", p, err)
	}

	demo := toolstest.ConnectFor(t, set, []string{"demo"}, nil)
	res, err = demo.ListResources(ctx, nil)
	if err != nil || len(res.Resources) != 1 || res.Resources[0].URI != "sqlmcp://demo/main/city" {
		t.Errorf("resources for a demo-only caller: %v %v", res, err)
	}
	if _, err := demo.ReadResource(ctx, &mcp.ReadResourceParams{URI: "sqlmcp://music/main/track"}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a demo-only caller reads music's track: %v", err)
	}
	c, err = demo.Complete(ctx, &mcp.CompleteParams{Ref: tpl, Argument: mcp.CompleteParamsArgument{Name: "table", Value: ""},
		Context: &mcp.CompleteContext{Arguments: map[string]string{"database": "music"}}})
	if err != nil || len(c.Completion.Values) != 0 {
		t.Errorf("a demo-only caller completes music's tables: %v %v", c, err)
	}
}

// TestSearchTableDotColumn: a pattern table.name searches the names of
// the tables matching table only.
func TestSearchTableDotColumn(t *testing.T) {
	db, d := newWideSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{}))
	r := toolstest.Call(t, cs, "search", map[string]any{"pattern": "hr_employee*.EMAIL"})
	if r.IsError || !strings.HasPrefix(r.Text, `5 matches for "hr_employee*.EMAIL" in tables, columns`+"\nmain.hr_employee_050.email TEXT\n") {
		t.Errorf("search hr_employee*.EMAIL: %s", r.Text)
	}
	r = toolstest.Call(t, cs, "search", map[string]any{"pattern": "main.crm_contact_001.*"})
	if r.IsError || !strings.HasPrefix(r.Text, `7 matches`) || !strings.Contains(r.Text, "main.crm_contact_001 table\n") {
		t.Errorf("search main.crm_contact_001.*: %s", r.Text)
	}
	if r := toolstest.Call(t, cs, "search", map[string]any{"pattern": "a.b.c.d"}); !r.IsError || !strings.Contains(r.Text, "4 dot-separated parts") {
		t.Errorf("search a.b.c.d: %s", r.Text)
	}
}
