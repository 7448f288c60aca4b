package tools_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	_ "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/sqlite" // the backend these tests use
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// newSQLite creates a small SQLite database with a few shapes of data and
// returns the read-only pool sqlmcp would open on it.
func newSQLite(t *testing.T) (*sql.DB, dialect.Backend) {
	t.Helper()
	return sqliteWith(t,
		`CREATE TABLE artist (artist_id INTEGER PRIMARY KEY, name TEXT NOT NULL)`,
		`CREATE TABLE album (album_id INTEGER PRIMARY KEY, title TEXT, artist_id INTEGER REFERENCES artist(artist_id), price DECIMAL(10,2), cover BLOB)`,
		`INSERT INTO artist VALUES (1, 'AC/DC'), (2, 'Tab' || char(9) || 'Name'), (3, 'Ünïcode')`,
		`INSERT INTO album VALUES (1, 'For Those About To Rock', 1, 9.99, x'00ff10'), (2, NULL, 2, NULL, NULL)`,
		`CREATE TABLE big (n INTEGER)`,
		`WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n < 5000) INSERT INTO big SELECT n FROM c`,
	)
}

func TestToolsListedWithReadOnlyAnnotationsAndSchemas(t *testing.T) {
	db, d := newSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{MaxRows: 50}))
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
		a := tl.Annotations
		if a == nil || !a.ReadOnlyHint || a.DestructiveHint == nil || *a.DestructiveHint || !a.IdempotentHint ||
			a.OpenWorldHint == nil || *a.OpenWorldHint {
			t.Errorf("%s: annotations %+v, want readOnly, not destructive, idempotent, closed world", tl.Name, a)
		}
		if tl.OutputSchema == nil {
			t.Errorf("%s: no output schema", tl.Name)
		}
	}
	if diff := cmp.Diff([]string{"describe_table", "list_tables", "query", "search"}, names); diff != "" {
		t.Errorf("tools (-want +got):\n%s", diff)
	}
	for _, tl := range res.Tools {
		if tl.Name != "query" {
			continue
		}
		b, _ := json.Marshal(tl.InputSchema)
		var s struct {
			Required   []string
			Properties map[string]struct {
				Maximum float64
				Minimum float64
			}
		}
		json.Unmarshal(b, &s)
		if s.Properties["limit"].Maximum != 50 || s.Properties["limit"].Minimum != 1 {
			t.Errorf("query limit schema = %+v, want 1..50 (the --max-rows)", s.Properties["limit"])
		}
		if !cmp.Equal(s.Required, []string{"sql"}) {
			t.Errorf("query required = %v, want [sql]", s.Required)
		}
	}
}

func TestQueryEncodesValuesExactly(t *testing.T) {
	db, d := newSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{}))
	res := toolstest.Call(t, cs, "query", map[string]any{"sql": `SELECT album_id, title, price, cover, 9007199254740993 AS big, 1.5 AS f
		FROM album ORDER BY album_id`})
	if res.IsError {
		t.Fatalf("error: %s", res.Text)
	}
	want := []any{
		[]any{1.0, "For Those About To Rock", 9.99, map[string]any{"type": "blob", "base64": "AP8Q"}, "9007199254740993", 1.5},
		[]any{2.0, nil, nil, nil, "9007199254740993", 1.5},
	}
	if diff := cmp.Diff(want, res.Structured["rows"]); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if res.Structured["row_count"] != 2.0 || res.Structured["truncated"] != false {
		t.Errorf("row_count=%v truncated=%v, want 2 false", res.Structured["row_count"], res.Structured["truncated"])
	}
}

func TestQueryTextIsTSVNoLargerThanRows(t *testing.T) {
	db, d := newSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{}))
	res := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT artist_id, name FROM artist ORDER BY artist_id"})
	if res.IsError {
		t.Fatal(res.Text)
	}
	want := "artist_id\tname\n1\tAC/DC\n2\tTab\\tName\n3\tÜnïcode\n"
	if diff := cmp.Diff(want, res.Text); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	if res.Structured["rows"].([]any)[1].([]any)[1] != "Tab\tName" {
		t.Errorf("structured value lost its tab: %q", res.Structured["rows"])
	}
}

func TestQueryLimitTruncatesAndKeepsOrder(t *testing.T) {
	db, d := newSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{MaxRows: 100}))
	res := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT n FROM big ORDER BY n DESC", "limit": 3})
	if res.IsError {
		t.Fatal(res.Text)
	}
	if diff := cmp.Diff([]any{[]any{5000.0}, []any{4999.0}, []any{4998.0}}, res.Structured["rows"]); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if res.Structured["truncated"] != true || res.Structured["truncated_reason"] != "row_limit" {
		t.Errorf("truncated=%v reason=%v, want true row_limit", res.Structured["truncated"], res.Structured["truncated_reason"])
	}
	if !strings.Contains(res.Text, "truncated") {
		t.Errorf("text does not tell the model the result was truncated:\n%s", res.Text)
	}
	res = toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1", "limit": 101})
	if !res.IsError || !strings.Contains(res.Text, "between 1 and 100") {
		t.Errorf("limit above max: got %q, want a validation error naming the range", res.Text)
	}
}

func TestQueryByteCap(t *testing.T) {
	db, d := newSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{MaxRows: 1000, MaxResultBytes: 4096}))
	res := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT n, printf('%0100d', n) AS pad FROM big ORDER BY n", "limit": 1000})
	if res.IsError {
		t.Fatal(res.Text)
	}
	n := int(res.Structured["row_count"].(float64))
	if res.Structured["truncated"] != true || res.Structured["truncated_reason"] != "byte_limit" || n == 0 || n > 40 {
		t.Errorf("row_count=%d truncated=%v reason=%v: want a few rows cut by byte_limit", n, res.Structured["truncated"], res.Structured["truncated_reason"])
	}
}

func TestErrorsAreCategorisedAndAudited(t *testing.T) {
	db, d := newSQLite(t)
	audit := &toolstest.AuditLog{}
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{Audit: audit}))
	for _, tc := range []struct {
		tool    string
		args    map[string]any
		prefix  string
		outcome tools.Outcome
	}{
		{"query", map[string]any{"sql": "DELETE FROM artist"}, "validation error: not allowed", tools.OutcomeDenied},
		{"query", map[string]any{"sql": "SELECT 1; DROP TABLE artist"}, "validation error: not allowed", tools.OutcomeDenied},
		{"query", map[string]any{"sql": "SELECT nope FROM artist"}, "database error SQLITE_ERROR", tools.OutcomeDBError},
		{"query", map[string]any{"sql": ""}, "validation error: argument sql is required", tools.OutcomeDenied},
		{"query", map[string]any{"sql": "SELECT 1", "bogus": 1}, "validation error: unknown argument \"bogus\"", tools.OutcomeDenied},
		{"query", map[string]any{"sql": 42}, "validation error: argument \"sql\" must be a string", tools.OutcomeDenied},
		{"describe_table", map[string]any{"table_name": "artst"}, "validation error: table \"artst\" not found. Close matches: artist", tools.OutcomeDenied},
	} {
		res := toolstest.Call(t, cs, tc.tool, tc.args)
		if !res.IsError || !strings.HasPrefix(res.Text, tc.prefix) {
			t.Errorf("%s %v: got %q (isError %v), want prefix %q", tc.tool, tc.args, res.Text, res.IsError, tc.prefix)
		}
		if got := audit.Last(); got.Outcome != tc.outcome || got.Tool != tc.tool || got.RequestID == "" {
			t.Errorf("%s %v: audited %+v, want outcome %s", tc.tool, tc.args, got, tc.outcome)
		}
	}
	// The server keeps serving after all of that.
	res := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT count(*) FROM artist"})
	if res.IsError {
		t.Fatalf("server stopped serving: %s", res.Text)
	}
}

func TestListAndDescribe(t *testing.T) {
	db, d := newSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{}))
	res := toolstest.Call(t, cs, "list_tables", nil)
	if res.IsError {
		t.Fatal(res.Text)
	}
	counts := map[string]any{}
	for _, e := range res.Structured["tables"].([]any) {
		m := e.(map[string]any)
		counts[m["name"].(string)] = m["rows"]
		if m["rows_exact"] != true {
			t.Errorf("%s: SQLite counts should be exact", m["name"])
		}
	}
	if diff := cmp.Diff(map[string]any{"album": 2.0, "artist": 3.0, "big": 5000.0}, counts); diff != "" {
		t.Errorf("row counts (-want +got):\n%s", diff)
	}
	res = toolstest.Call(t, cs, "describe_table", map[string]any{"table_name": "album"})
	if res.IsError {
		t.Fatal(res.Text)
	}
	fks := res.Structured["foreign_keys"].([]any)
	if len(fks) != 1 || fks[0].(map[string]any)["referenced_table"] != "artist" {
		t.Errorf("foreign keys = %v, want album.artist_id -> artist", fks)
	}
	if !strings.Contains(res.Text, "foreign key") || !strings.Contains(res.Text, "references artist (artist_id)") {
		t.Errorf("text rendering misses the foreign key:\n%s", res.Text)
	}
}

// blockingObserver holds every call at its start until n calls have
// started: if the SDK or the tools serialized calls, the barrier would
// never open and the calls would fail on the test's deadline.
type blockingObserver struct {
	n       int
	mu      sync.Mutex
	started int
	open    chan struct{}
}

func (o *blockingObserver) CallStarted(string, string) {
	o.mu.Lock()
	o.started++
	if o.started == o.n {
		close(o.open)
	}
	o.mu.Unlock()
	select {
	case <-o.open:
	case <-time.After(10 * time.Second):
	}
}

func (o *blockingObserver) CallFinished(*tools.Record) {}

func TestConcurrentCallsRunInParallel(t *testing.T) {
	db, d := newSQLite(t)
	const n = 4
	obs := &blockingObserver{n: n, open: make(chan struct{})}
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{Observer: obs}))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "query", Arguments: map[string]any{"sql": "SELECT count(*) FROM big"}})
			if err != nil || res.IsError {
				t.Errorf("call failed: %v %v", err, res)
			}
		}()
	}
	wg.Wait()
	select {
	case <-obs.open:
	default:
		t.Fatalf("only %d of %d calls were in flight at once: calls are serialized", obs.started, n)
	}
}

// TestStdioAnswersMatchSDK: over sqlmcp's stdio transport (toolstest.Connect:
// results written through the Splicer) a client reads what it reads over
// the SDK's own in-memory transport, for results large enough to be
// parked and for an error.
func TestStdioAnswersMatchSDK(t *testing.T) {
	db, d := newSQLite(t)
	tl := tools.New(db, d, tools.Options{MaxRows: 1000})
	stdio, sdk := toolstest.Connect(t, tl), toolstest.ConnectSDK(t, tl)
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"query", map[string]any{"sql": "SELECT n, 'a<b>&' || char(9) || char(8232) || n AS s FROM big ORDER BY n", "limit": 500}},
		{"query", map[string]any{"sql": "SELECT * FROM album ORDER BY album_id"}},
		{"query", map[string]any{"sql": "DELETE FROM album"}},
		{"list_tables", map[string]any{}},
		{"describe_table", map[string]any{"table_name": "album"}},
	} {
		got, want := toolstest.Call(t, stdio, c.tool, c.args), toolstest.Call(t, sdk, c.tool, c.args)
		delete(got.Structured, "elapsed_ms")
		delete(want.Structured, "elapsed_ms")
		if strings.Contains(got.Text, "sqlmcp-splice") || got.IsError != want.IsError || got.Text != want.Text {
			t.Errorf("%s %v: text\n got %.200q\nwant %.200q", c.tool, c.args, got.Text, want.Text)
		}
		if diff := cmp.Diff(want.Structured, got.Structured); diff != "" {
			t.Errorf("%s %v: structured (-want +got):\n%.500s", c.tool, c.args, diff)
		}
	}
}
