package tools_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// sqliteWith creates a SQLite file holding stmts and returns the
// read-only pool sqlmcp would open on it.
func sqliteWith(t *testing.T, stmts ...string) (*sql.DB, dialect.Backend) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	w, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := w.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	w.Close()
	return openSQLite(t, path)
}

// musicAndDemo are two databases of different contents and limits: music
// (a track table of 10 rows, max_rows 3) and demo (a city table of 10
// rows, the server default of 5).
func musicAndDemo(t *testing.T) []tools.Database {
	t.Helper()
	seed := `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n < 10) `
	music, d := sqliteWith(t, `CREATE TABLE track (id INTEGER PRIMARY KEY, name TEXT)`,
		seed+`INSERT INTO track SELECT n, 'track ' || n FROM c`)
	demo, _ := sqliteWith(t, `CREATE TABLE city (id INTEGER PRIMARY KEY, name TEXT)`,
		seed+`INSERT INTO city SELECT n, 'city ' || n FROM c`)
	return []tools.Database{
		{Name: "music", Description: "Chinook record store, read replica", Backend: d, DB: music, MaxRows: 3},
		{Name: "demo", Backend: d, DB: demo},
	}
}

// inputSchema is a tool's input schema as a client reads it.
type inputSchema struct {
	Properties map[string]struct {
		Type        string   `json:"type"`
		Enum        []string `json:"enum"`
		Description string   `json:"description"`
		Maximum     *float64 `json:"maximum"`
	} `json:"properties"`
	Required []string `json:"required"`
}

func listedInputs(t *testing.T, cs *mcp.ClientSession) map[string]inputSchema {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]inputSchema{}
	for _, tl := range res.Tools {
		b, _ := json.Marshal(tl.InputSchema)
		var in inputSchema
		if err := json.Unmarshal(b, &in); err != nil {
			t.Fatal(err)
		}
		out[tl.Name] = in
	}
	return out
}

// TestTwoDatabasesInOneServer: each tool takes a required `database`
// argument whose enum and description name both databases with their
// descriptions and backends; each call runs on the database it names,
// under that database's own row cap.
func TestTwoDatabasesInOneServer(t *testing.T) {
	audit := &toolstest.AuditLog{}
	tl, err := tools.NewSet(musicAndDemo(t), tools.Options{MaxRows: 5, Audit: audit})
	if err != nil {
		t.Fatal(err)
	}
	cs := toolstest.Connect(t, tl)
	for name, in := range listedInputs(t, cs) {
		arg := in.Properties["database"]
		if diff := cmp.Diff([]string{"music", "demo"}, arg.Enum); diff != "" {
			t.Errorf("%s: database enum (-want +got):\n%s", name, diff)
		}
		for _, want := range []string{"music — Chinook record store, read replica (sqlite)", "demo (sqlite)"} {
			if !strings.Contains(arg.Description, want) {
				t.Errorf("%s: database description %q does not say %q", name, arg.Description, want)
			}
		}
		if !slices.Contains(in.Required, "database") {
			t.Errorf("%s: database is not required of two (required %v)", name, in.Required)
		}
	}
	if ins := cs.InitializeResult().Instructions; !strings.Contains(ins, "music — Chinook record store") || !strings.Contains(ins, "demo (sqlite)") {
		t.Errorf("instructions do not name the databases: %q", ins)
	}

	tables := toolstest.Call(t, cs, "list_tables", map[string]any{"database": "demo"})
	if tables.IsError || !strings.Contains(tables.Text, "city") || strings.Contains(tables.Text, "track") {
		t.Errorf("list_tables on demo = %q, want city and not music's track", tables.Text)
	}
	desc := toolstest.Call(t, cs, "describe_table", map[string]any{"database": "music", "table_name": "track"})
	if desc.IsError || !strings.Contains(desc.Text, "table main.track") {
		t.Errorf("describe_table track on music = %q", desc.Text)
	}
	if r := audit.Last(); r.Database != "music" || r.Backend != "sqlite" || r.Table != "track" {
		t.Errorf("audit record %+v, want database music, backend sqlite, table track", r)
	}

	// Per-database limits: music caps at 3 rows, demo at the default 5.
	for _, tc := range []struct {
		db, table string
		rows      int
	}{{"music", "track", 3}, {"demo", "city", 5}} {
		r := toolstest.Call(t, cs, "query", map[string]any{"database": tc.db, "sql": "SELECT * FROM " + tc.table})
		if r.IsError || len(r.Rows()) != tc.rows || r.Structured["truncated"] != true {
			t.Errorf("%s: %d rows (truncated %v), want %d truncated: %s", tc.db, len(r.Rows()), r.Structured["truncated"], tc.rows, r.Text)
		}
	}
	r := toolstest.Call(t, cs, "query", map[string]any{"database": "music", "sql": "SELECT * FROM track", "limit": 4})
	if !r.IsError || !strings.Contains(r.Text, "limit must be between 1 and 3") {
		t.Errorf("limit 4 on music (max_rows 3) = %q, want a validation error naming 3", r.Text)
	}
	if r := toolstest.Call(t, cs, "query", map[string]any{"database": "demo", "sql": "SELECT * FROM city", "limit": 4}); r.IsError || len(r.Rows()) != 4 {
		t.Errorf("limit 4 on demo = %q, want 4 rows", r.Text)
	}
	if got := tl.Options().MaxRows; got != 5 {
		t.Errorf("Options().MaxRows = %d, want the largest cap, 5", got)
	}
}

// TestWrongDatabaseNameListsTheValidOnes: a name that is not served, or
// none of two, is a validation error naming the databases there are.
func TestWrongDatabaseNameListsTheValidOnes(t *testing.T) {
	audit := &toolstest.AuditLog{}
	tl, err := tools.NewSet(musicAndDemo(t), tools.Options{Audit: audit})
	if err != nil {
		t.Fatal(err)
	}
	cs := toolstest.Connect(t, tl)
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"database": "musik", "sql": "SELECT 1"}, `validation error: unknown database "musik": the databases are music, demo`},
		{map[string]any{"sql": "SELECT 1"}, `validation error: argument database is required: one of music, demo`},
		{map[string]any{"database": 1, "sql": "SELECT 1"}, `validation error: argument "database" must be a string, not number`},
	} {
		r := toolstest.Call(t, cs, "query", tc.args)
		if !r.IsError || r.Text != tc.want {
			t.Errorf("query %v = %q, want %q", tc.args, r.Text, tc.want)
		}
		if rec := audit.Last(); rec.Outcome != tools.OutcomeDenied || rec.SQL != "SELECT 1" || rec.Database != "" {
			t.Errorf("audit record %+v, want a denied call of SELECT 1 on no database", rec)
		}
	}
	if _, err := tools.NewSet([]tools.Database{{Name: "Bad Name"}}, tools.Options{}); err == nil {
		t.Error("NewSet accepted the name \"Bad Name\"")
	}
	dbs := musicAndDemo(t)
	dbs[1].Name = "music"
	if _, err := tools.NewSet(dbs, tools.Options{}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("NewSet of a duplicate name: %v", err)
	}
}

// TestUnavailableDatabaseAnswersUnavailable: a database that could not be
// opened answers every call with its reason, as unavailable, while the
// other one serves.
func TestUnavailableDatabaseAnswersUnavailable(t *testing.T) {
	dbs := musicAndDemo(t)
	dbs[0] = tools.Database{Name: "music", Backend: dbs[0].Backend, Unavailable: errors.New("cannot connect: connection refused")}
	audit := &toolstest.AuditLog{}
	tl, err := tools.NewSet(dbs, tools.Options{Audit: audit})
	if err != nil {
		t.Fatal(err)
	}
	cs := toolstest.Connect(t, tl)
	if in := listedInputs(t, cs)["query"]; !strings.Contains(in.Properties["database"].Description, "music (sqlite, unavailable now)") {
		t.Errorf("database description %q does not mark music unavailable", in.Properties["database"].Description)
	}
	for tool, args := range map[string]map[string]any{
		"query":          {"database": "music", "sql": "SELECT 1"},
		"list_tables":    {"database": "music"},
		"describe_table": {"database": "music", "table_name": "track"},
	} {
		r := toolstest.Call(t, cs, tool, args)
		want := `database error unavailable: database "music" is unavailable: cannot connect: connection refused. The other databases are not affected`
		if !r.IsError || r.Text != want {
			t.Errorf("%s on music = %q, want %q", tool, r.Text, want)
		}
		if rec := audit.Last(); rec.Outcome != tools.OutcomeDBError || rec.Error != "unavailable" || rec.Database != "music" {
			t.Errorf("audit record %+v, want db_error unavailable on music", rec)
		}
	}
	if r := toolstest.Call(t, cs, "query", map[string]any{"database": "demo", "sql": "SELECT count(*) AS n FROM city"}); r.IsError || !strings.Contains(r.Text, "10") {
		t.Errorf("demo while music is down = %q, want its count", r.Text)
	}
}

// TestNewServerForShowsOnlyTheAllowedDatabases: a caller allowed one
// database sees only it (enum, description, instructions), may omit the
// argument, and hears of no other, not even in the error of a call
// naming one that exists.
func TestNewServerForShowsOnlyTheAllowedDatabases(t *testing.T) {
	tl, err := tools.NewSet(musicAndDemo(t), tools.Options{MaxRows: 5})
	if err != nil {
		t.Fatal(err)
	}
	cs := toolstest.ConnectFor(t, tl, []string{"demo", "gone"}, nil)
	for name, in := range listedInputs(t, cs) {
		arg := in.Properties["database"]
		if diff := cmp.Diff([]string{"demo"}, arg.Enum); diff != "" {
			t.Errorf("%s: database enum (-want +got):\n%s", name, diff)
		}
		if strings.Contains(arg.Description, "music") || slices.Contains(in.Required, "database") {
			t.Errorf("%s: database argument %+v (required %v): names music, or is required of one", name, arg, in.Required)
		}
	}
	if ins := cs.InitializeResult().Instructions; strings.Contains(ins, "music") || !strings.Contains(ins, "demo") {
		t.Errorf("instructions %q: want demo and not music", ins)
	}
	if r := toolstest.Call(t, cs, "list_tables", nil); r.IsError || !strings.Contains(r.Text, "city") {
		t.Errorf("list_tables without database = %q, want demo's tables", r.Text)
	}
	r := toolstest.Call(t, cs, "list_tables", map[string]any{"database": "music"})
	if want := `validation error: unknown database "music": the databases are demo`; r.Text != want {
		t.Errorf("list_tables on music = %q, want %q", r.Text, want)
	}
	// The server for all still serves music.
	if r := toolstest.Call(t, toolstest.Connect(t, tl), "list_tables", map[string]any{"database": "music"}); r.IsError {
		t.Errorf("list_tables on music for all = %q", r.Text)
	}
}

// gate holds the first query call on music at its start until released.
type gate struct {
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (g *gate) CallStarted(tool, database string) {
	if tool == "query" && database == "music" {
		g.once.Do(func() {
			close(g.started)
			<-g.release
		})
	}
}

func (g *gate) CallFinished(*tools.Record) {}

// TestSetDatabasesWhileACallRuns: a reload that drops music and adds jazz
// does not cut the call running on music: it finishes there, with music's
// data, and music is reported retired only once it has. New calls and the
// tool list (announced as changed) see the new set at once.
func TestSetDatabasesWhileACallRuns(t *testing.T) {
	g := &gate{started: make(chan struct{}), release: make(chan struct{})}
	dbs := musicAndDemo(t)
	tl, err := tools.NewSet(dbs, tools.Options{Observer: g})
	if err != nil {
		t.Fatal(err)
	}
	changed := make(chan struct{}, 10)
	cs := toolstest.ConnectFor(t, tl, nil, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
	})
	type answer struct{ r toolstest.Result }
	done := make(chan answer, 1)
	go func() {
		done <- answer{toolstest.Call(t, cs, "query", map[string]any{"database": "music", "sql": "SELECT name FROM track WHERE id = 7"})}
	}()
	<-g.started

	jazz, d := sqliteWith(t, `CREATE TABLE tune (id INTEGER PRIMARY KEY)`)
	retired, err := tl.SetDatabases([]tools.Database{dbs[1], {Name: "jazz", Backend: d, DB: jazz}})
	if err != nil {
		t.Fatal(err)
	}
	if len(retired) != 1 || retired[0].Name != "music" || retired[0].DB != dbs[0].DB {
		t.Fatalf("retired %+v, want music alone", retired)
	}
	select {
	case <-retired[0].Retired():
		t.Fatal("music reported retired while a call still ran on it")
	default:
	}
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Error("no tools/list_changed notification after the reload")
	}
	for name, in := range listedInputs(t, cs) {
		if diff := cmp.Diff([]string{"demo", "jazz"}, in.Properties["database"].Enum); diff != "" {
			t.Errorf("%s after the reload: database enum (-want +got):\n%s", name, diff)
		}
	}
	if r := toolstest.Call(t, cs, "list_tables", map[string]any{"database": "jazz"}); r.IsError || !strings.Contains(r.Text, "tune") {
		t.Errorf("list_tables on jazz = %q", r.Text)
	}
	if r := toolstest.Call(t, cs, "list_tables", map[string]any{"database": "music"}); !strings.Contains(r.Text, "the databases are demo, jazz") {
		t.Errorf("list_tables on music after the reload = %q, want unknown", r.Text)
	}

	close(g.release)
	a := <-done
	if a.r.IsError || !strings.Contains(a.r.Text, "track 7") {
		t.Errorf("the call that ran across the reload = %q, want music's track 7", a.r.Text)
	}
	select {
	case <-retired[0].Retired():
	case <-time.After(10 * time.Second):
		t.Error("music not reported retired after its call ended")
	}
	if got := tl.Databases(); len(got) != 2 || got[0].Name != "demo" || got[1].Name != "jazz" {
		t.Errorf("Databases() = %+v", got)
	}
	if _, err := tl.SetDatabases(nil); err == nil {
		t.Error("SetDatabases accepted no database")
	}
}

// The access policy's catalog tests compare a database whose policy hides
// things with one that never had them: what the model sees of the first
// must be exactly what it sees of the second.
var (
	catalogShared = []string{
		`CREATE TABLE artist (artist_id INTEGER PRIMARY KEY, name TEXT NOT NULL)`,
		`INSERT INTO artist VALUES (1, 'AC/DC'), (2, 'Accept')`,
	}
	withHidden = append(slices.Clone(catalogShared),
		`CREATE TABLE album (album_id INTEGER PRIMARY KEY, title TEXT NOT NULL, artist_id INTEGER REFERENCES artist(artist_id),
			cost DECIMAL(10,2) CHECK (cost >= 0), UNIQUE (title, cost))`,
		`CREATE INDEX album_cost ON album (cost)`,
		`CREATE INDEX album_title ON album (title)`,
		`CREATE INDEX album_expr ON album (abs(cost) + 1)`,
		`INSERT INTO album VALUES (1, 'For Those About To Rock', 1, 9.99)`,
		`CREATE TABLE salaries (id INTEGER PRIMARY KEY, amount INTEGER)`,
		`CREATE TABLE payout (id INTEGER PRIMARY KEY, salary_id INTEGER REFERENCES salaries(id), note TEXT)`,
	)
	withoutHidden = append(slices.Clone(catalogShared),
		`CREATE TABLE album (album_id INTEGER PRIMARY KEY, title TEXT NOT NULL, artist_id INTEGER REFERENCES artist(artist_id))`,
		`CREATE INDEX album_title ON album (title)`,
		`INSERT INTO album VALUES (1, 'For Those About To Rock', 1)`,
		`CREATE TABLE payout (id INTEGER PRIMARY KEY, salary_id INTEGER, note TEXT)`,
	)
	hidingPolicy = access.MustCompile(access.Rules{DenyTables: []string{"salar*"}, DenyColumns: []string{"main.album.COST"}})
)

// TestAccessPolicyHidesFromTheCatalog: list_tables omits a denied table;
// describe_table of it answers exactly as for a table that does not exist,
// and suggests no denied table as a close match; a described table omits
// its denied columns and the constraints and indexes that name them, and
// the foreign keys into a denied table.
func TestAccessPolicyHidesFromTheCatalog(t *testing.T) {
	hidden, d := sqliteWith(t, withHidden...)
	plain, _ := sqliteWith(t, withoutHidden...)
	got := toolstest.Connect(t, tools.New(hidden, d, tools.Options{Access: hidingPolicy}))
	want := toolstest.Connect(t, tools.New(plain, d, tools.Options{}))
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"list_tables", nil},
		{"list_tables", map[string]any{"schema": "main"}},
		{"describe_table", map[string]any{"table_name": "salaries"}},      // denied
		{"describe_table", map[string]any{"table_name": "main.salaries"}}, // denied, qualified
		{"describe_table", map[string]any{"table_name": "SALARIES"}},      // denied, another case
		{"describe_table", map[string]any{"table_name": "salary"}},        // close to a denied one only
		{"describe_table", map[string]any{"table_name": "albun"}},         // close to an allowed one
		{"describe_table", map[string]any{"table_name": "album"}},         // a denied column
		{"describe_table", map[string]any{"table_name": "payout"}},        // a foreign key into a denied table
		{"describe_table", map[string]any{"table_name": "artist"}},
	} {
		g := toolstest.Call(t, got, tc.tool, tc.args)
		w := toolstest.Call(t, want, tc.tool, tc.args)
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s %v, with the policy (-as if never there +got):\n%s", tc.tool, tc.args, diff)
		}
	}
	if r := toolstest.Call(t, got, "describe_table", map[string]any{"table_name": "album"}); strings.Contains(strings.ToLower(r.Text), "cost") {
		t.Errorf("describe album names the denied column:\n%s", r.Text)
	}
}

// TestAccessPolicySchemas: with a schemas list, the tables of the other
// schemas are not listed nor described, and asking for such a schema
// reads as asking for one that does not exist.
func TestAccessPolicySchemas(t *testing.T) {
	db, d := sqliteWith(t, catalogShared...)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{Access: access.MustCompile(access.Rules{Schemas: []string{"reports"}})}))
	if r := toolstest.Call(t, cs, "list_tables", nil); r.IsError || strings.Contains(r.Text, "artist") {
		t.Errorf("list_tables = %q, want no table of main", r.Text)
	}
	main := toolstest.Call(t, cs, "list_tables", map[string]any{"schema": "main"})
	none := toolstest.Call(t, cs, "list_tables", map[string]any{"schema": "nosuch"})
	if want := strings.ReplaceAll(none.Text, "nosuch", "main"); !main.IsError || main.Text != want {
		t.Errorf("list_tables of main = %q, want as of a schema that does not exist: %q", main.Text, want)
	}
	if r := toolstest.Call(t, cs, "describe_table", map[string]any{"table_name": "artist"}); r.Text != `validation error: table "artist" not found; call list_tables to see the tables` {
		t.Errorf("describe artist = %q, want not found", r.Text)
	}
}

// TestReloadOfLimitsAndPolicyKeepsThePool: a reload that changes only a
// database's limits and policy retires nothing (its pool goes on), and
// its next calls run under the new ones.
func TestReloadOfLimitsAndPolicyKeepsThePool(t *testing.T) {
	dbs := musicAndDemo(t)
	tl, err := tools.NewSet(dbs, tools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cs := toolstest.Connect(t, tl)
	dbs[0].MaxRows = 2
	dbs[1].Access = access.MustCompile(access.Rules{DenyTables: []string{"city"}})
	retired, err := tl.SetDatabases(dbs)
	if err != nil || len(retired) != 0 {
		t.Fatalf("SetDatabases = %+v, %v; want nothing retired", retired, err)
	}
	if r := toolstest.Call(t, cs, "query", map[string]any{"database": "music", "sql": "SELECT * FROM track"}); len(r.Rows()) != 2 {
		t.Errorf("music after max_rows 2: %q", r.Text)
	}
	if r := toolstest.Call(t, cs, "list_tables", map[string]any{"database": "demo"}); r.IsError || strings.Contains(r.Text, "city") {
		t.Errorf("demo after denying city: %q", r.Text)
	}
	if r := toolstest.Call(t, cs, "list_tables", map[string]any{"database": "music"}); r.IsError || !strings.Contains(r.Text, "track") {
		t.Errorf("music, whose policy is none: %q", r.Text)
	}
	if got := listedInputs(t, cs)["query"].Properties["limit"].Maximum; got == nil || *got != 100 {
		t.Errorf("limit maximum after the reload = %v, want 100 (demo's, the default)", got)
	}
	if desc := listedInputs(t, cs)["query"].Properties["limit"].Description; !strings.Contains(desc, "2 rows on music, 100 on demo") {
		t.Errorf("limit description after the reload = %q, want each database's cap", desc)
	}
}
