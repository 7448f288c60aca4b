package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/cmd/sqlmcp/demo"
)

const pgDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// chinookCopy writes a fresh copy of the demo database for one test.
func chinookCopy(t *testing.T) string {
	t.Helper()
	path, cleanup, err := demo.WriteTemp()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return path
}

// fleetServer is the built binary serving a config file over HTTP.
type fleetServer struct {
	*stdioServer
	base string
}

// startFleet runs the binary with --config over HTTP and waits until it
// answers /healthz (not /readyz: a required database may be down).
func startFleet(t *testing.T, config string, args ...string) *fleetServer {
	t.Helper()
	addr := freePort(t)
	s := startProcess(t, append([]string{"--config", config, "--transport", "http", "--listen", addr}, args...)...)
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if s.cmd.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("not serving after 30s; stderr:\n%s", s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		// With a binary built with -race (SQLMCP_MEASURE_BIN), a race
		// report fails the test.
		if strings.Contains(s.stderr.String(), "DATA RACE") {
			t.Errorf("data race:\n%s", s.stderr.String())
		}
	})
	return &fleetServer{stdioServer: s, base: base}
}

// readiness is /readyz's JSON answer.
type readiness struct {
	Ready     bool `json:"ready"`
	Databases []struct {
		Name     string `json:"name"`
		Backend  string `json:"backend"`
		Required bool   `json:"required"`
		Ready    bool   `json:"ready"`
		Error    string `json:"error"`
	} `json:"databases"`
}

func readyz(t *testing.T, base string) (int, readiness) {
	t.Helper()
	code, body := get(t, base+"/readyz")
	var r readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	return code, r
}

// databaseEnum returns the `database` enum of a tool as the session sees it.
func databaseEnum(t *testing.T, cs *mcp.ClientSession, tool string) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range res.Tools {
		if tl.Name != tool {
			continue
		}
		b, _ := json.Marshal(tl.InputSchema)
		var schema struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(b, &schema); err != nil {
			t.Fatal(err)
		}
		enum := schema.Properties["database"].Enum
		slices.Sort(enum)
		return enum
	}
	t.Fatalf("no tool %s", tool)
	return nil
}

// callText calls a tool and returns its text and whether it is an error
// (a protocol-level error counts as one, its message as the text).
func callText(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return err.Error(), true
	}
	var sb strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			sb.WriteString(tc.Text)
		}
	}
	if res.StructuredContent != nil {
		b, _ := json.Marshal(res.StructuredContent)
		sb.Write(b)
	}
	return sb.String(), res.IsError
}

// TestFleetServesTwoBackendsWithOneDown: a SQLite and a PostgreSQL
// database served by one process, beside a required database that is
// down: the two answer, the third answers unavailable, /readyz reports
// each and is 503 until the missing one comes back; once its file
// exists, the background reconnect serves it and /readyz turns 200.
func TestFleetServesTwoBackendsWithOneDown(t *testing.T) {
	music := chinookCopy(t)
	late := filepath.Join(t.TempDir(), "late.db")
	cfg := writeConfig(t, `max_rows = 50
[[database]]
name = "music"
dsn = "sqlite://`+music+`"
description = "the record shop"
max_rows = 5

[[database]]
name = "pg"
dsn = "`+pgDSN+`"

[[database]]
name = "late"
dsn = "sqlite://`+late+`"
`)
	s := startFleet(t, cfg)
	code, r := readyz(t, s.base)
	if code != http.StatusServiceUnavailable || r.Ready || len(r.Databases) != 3 {
		t.Fatalf("/readyz = %d %+v; want 503 with three databases", code, r)
	}
	for _, d := range r.Databases {
		want := d.Name != "late"
		if d.Ready != want || (!want && d.Error == "") || !d.Required {
			t.Errorf("/readyz %s = %+v; want ready=%v (an error when not), required", d.Name, d, want)
		}
		if strings.Contains(d.Error, late) {
			t.Errorf("/readyz error shows the DSN: %q", d.Error)
		}
	}
	if !strings.Contains(s.stderr.String(), "database unreachable") {
		t.Errorf("start-up did not log the database that is down:\n%s", s.stderr.String())
	}

	cs, err := connectHTTP(t, s.base+"/mcp", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := databaseEnum(t, cs, "query"); !slices.Equal(got, []string{"late", "music", "pg"}) {
		t.Errorf("database enum = %v", got)
	}
	// music's max_rows = 5 is its default limit and its largest.
	if text, isErr := callText(t, cs, "query", map[string]any{"database": "music", "sql": "SELECT name FROM artist ORDER BY artist_id"}); isErr ||
		!strings.Contains(text, "AC/DC") || !strings.Contains(text, `"row_count":5`) {
		t.Errorf("music query: error=%v %s; want 5 rows", isErr, text)
	}
	if text, isErr := callText(t, cs, "query", map[string]any{"database": "music", "sql": "SELECT name FROM artist", "limit": 50}); !isErr || !strings.Contains(text, "between 1 and 5") {
		t.Errorf("music query with limit 50: error=%v %s; want refused naming music's max_rows", isErr, text)
	}
	if text, isErr := callText(t, cs, "query", map[string]any{"database": "pg", "sql": "SELECT current_database() AS db"}); isErr || !strings.Contains(text, "test") {
		t.Errorf("pg query: error=%v %s", isErr, text)
	}
	if text, isErr := callText(t, cs, "list_tables", map[string]any{"database": "late"}); !isErr || !strings.Contains(strings.ToLower(text), "unavailable") {
		t.Errorf("list_tables on the database that is down: error=%v %s; want unavailable", isErr, text)
	}

	// The file appears: the reconnect (backoff at most 30s) serves it.
	if err := os.WriteFile(late, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, r = readyz(t, s.base)
		if code == 200 && r.Ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %+v after the database came back; stderr:\n%s", code, r, s.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if text, isErr := callText(t, cs, "query", map[string]any{"database": "late", "sql": "SELECT 41+1 AS n"}); isErr || !strings.Contains(text, "42") {
		t.Errorf("query on the database that came back: error=%v %s", isErr, text)
	}
}

// TestFleetOptionalDatabaseDownIsReady: a database marked required =
// false does not hold /readyz at 503.
func TestFleetOptionalDatabaseDownIsReady(t *testing.T) {
	cfg := writeConfig(t, `[[database]]
name = "music"
dsn = "sqlite://`+chinookCopy(t)+`"

[[database]]
name = "gone"
dsn = "postgres://u:hunter2hunter2@127.0.0.1:1/x?sslmode=disable"
required = false
`)
	s := startFleet(t, cfg)
	code, r := readyz(t, s.base)
	if code != 200 || !r.Ready || len(r.Databases) != 2 || r.Databases[1].Ready || r.Databases[1].Required {
		t.Errorf("/readyz = %d %+v; want 200, gone not ready and not required", code, r)
	}
	if strings.Contains(s.stderr.String(), "hunter2") {
		t.Errorf("the log shows the password:\n%s", s.stderr.String())
	}
}

func sha256Hex(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

// TestTokensSeeOnlyTheirDatabases: over real HTTP, two [[token]]s allowed
// different databases each see only theirs (the enum), a call naming the
// other's database is refused, list_tables works on their own, and the
// audit record names the token.
func TestTokensSeeOnlyTheirDatabases(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		name := "stateful"
		if stateless {
			name = "stateless"
		}
		t.Run(name, func(t *testing.T) { testTokensSeeOnlyTheirDatabases(t, stateless) })
	}
}

func testTokensSeeOnlyTheirDatabases(t *testing.T, stateless bool) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bob.token"), []byte(tokenB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	audit := filepath.Join(dir, "audit.jsonl")
	cfg := filepath.Join(dir, "sqlmcp.toml")
	if err := os.WriteFile(cfg, []byte(`audit_log = "audit.jsonl"
[[database]]
name = "music"
dsn = "sqlite://`+chinookCopy(t)+`"

[[database]]
name = "pg"
dsn = "`+pgDSN+`"

[[token]]
name = "alice"
sha256 = "`+sha256Hex(tokenA)+`"
databases = ["music"]

[[token]]
name = "bob"
file = "bob.token"
databases = ["pg", "music"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var args []string
	if stateless {
		args = append(args, "--stateless")
	}
	s := startFleet(t, cfg, args...)
	if code, _ := post(t, s.base+"/mcp", nil, initialize); code.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code.StatusCode)
	}
	alice, err := connectHTTP(t, s.base+"/mcp", tokenA)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := connectHTTP(t, s.base+"/mcp", tokenB)
	if err != nil {
		t.Fatal(err)
	}
	if got := databaseEnum(t, alice, "list_tables"); !slices.Equal(got, []string{"music"}) {
		t.Errorf("alice's enum = %v, want [music]", got)
	}
	if got := databaseEnum(t, bob, "list_tables"); !slices.Equal(got, []string{"music", "pg"}) {
		t.Errorf("bob's enum = %v, want [music pg]", got)
	}
	if text, isErr := callText(t, alice, "query", map[string]any{"database": "pg", "sql": "SELECT 1 AS one"}); !isErr || strings.Contains(text, `"one"`) {
		t.Errorf("alice naming pg: error=%v %s; want refused", isErr, text)
	}
	if text, isErr := callText(t, alice, "list_tables", map[string]any{"database": "music"}); isErr || !strings.Contains(text, "artist") {
		t.Errorf("alice list_tables music: error=%v %s", isErr, text)
	}
	if text, isErr := callText(t, bob, "query", map[string]any{"database": "pg", "sql": "SELECT 1 AS one"}); isErr {
		t.Errorf("bob query pg: %s", text)
	}
	// The audit records name the tokens.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(audit)
		if strings.Contains(string(b), `"alice"`) && strings.Contains(string(b), `"bob"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit log does not name both tokens:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReloadOnSIGHUP: rewriting the config file and sending SIGHUP adds
// a database and applies a new deny list to a served one, without a
// restart; an invalid rewrite is refused with one log line and the
// previous configuration keeps serving.
func TestReloadOnSIGHUP(t *testing.T) {
	music := chinookCopy(t)
	cfg := writeConfig(t, `[[database]]
name = "music"
dsn = "sqlite://`+music+`"

[[database]]
name = "pg"
dsn = "`+pgDSN+`"
`)
	s := startFleet(t, cfg, "--audit-log", filepath.Join(t.TempDir(), "audit.jsonl"))
	cs, err := connectHTTP(t, s.base+"/mcp", "")
	if err != nil {
		t.Fatal(err)
	}
	if text, isErr := callText(t, cs, "list_tables", map[string]any{"database": "music"}); isErr || !strings.Contains(text, "employee") {
		t.Fatalf("before reload: error=%v %s", isErr, text)
	}
	// A call in flight on pg while the reload replaces pg's pool (its
	// DSN changes): it finishes on the pool it started on.
	marker := "reload_inflight_" + sha256Hex(t.Name())[:8]
	inflight := make(chan string, 1)
	go func() {
		text, isErr := callText(t, cs, "query", map[string]any{"database": "pg", "sql": "SELECT count(*) AS " + marker + " FROM generate_series(1, 3000) a, generate_series(1, 10000) b"})
		if isErr {
			text = "error: " + text
		}
		inflight <- text
	}()
	waitRunning(t, marker, inflight)

	rewrite := func(text string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	rewrite(`[[database]]
name = "music"
dsn = "sqlite://` + music + `"
deny_tables = ["employee"]

[[database]]
name = "pg"
dsn = "` + pgDSN + `&application_name=reloaded"

[[database]]
name = "pg2"
dsn = "` + pgDSN + `"
`)
	waitLog(t, s.stdioServer, "configuration reloaded")
	waitLog(t, s.stdioServer, "audit log reopened") // SIGHUP does both
	// A new session sees the new enum; the old one's tools were updated.
	cs2, err := connectHTTP(t, s.base+"/mcp", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*mcp.ClientSession{cs, cs2} {
		if got := databaseEnum(t, c, "query"); !slices.Equal(got, []string{"music", "pg", "pg2"}) {
			t.Errorf("enum after reload = %v, want [music pg pg2]", got)
		}
	}
	if text, isErr := callText(t, cs, "list_tables", map[string]any{"database": "music"}); isErr || strings.Contains(text, "employee") || !strings.Contains(text, "artist") {
		t.Errorf("after reload, list_tables music: error=%v %s; want artist without employee", isErr, text)
	}
	if text, isErr := callText(t, cs, "query", map[string]any{"database": "music", "sql": "SELECT * FROM employee"}); !isErr {
		t.Errorf("after reload, employee still readable: %.200s", text)
	}
	if text, isErr := callText(t, cs2, "query", map[string]any{"database": "pg2", "sql": "SELECT 2 AS two"}); isErr {
		t.Errorf("the added database: %s", text)
	}
	if text, isErr := callText(t, cs2, "query", map[string]any{"database": "pg", "sql": "SELECT current_setting('application_name') AS app"}); isErr || !strings.Contains(text, "reloaded") {
		t.Errorf("pg after reload does not use its new DSN: error=%v %s", isErr, text)
	}
	select {
	case text := <-inflight:
		if !strings.Contains(text, "30000000") || strings.HasPrefix(text, "error") {
			t.Errorf("the call in flight during the reload: %s", text)
		}
	case <-time.After(30 * time.Second):
		t.Error("the call in flight during the reload never answered")
	}

	// An invalid rewrite: one error line, the previous configuration stays.
	rewrite(`[[database]]
name = "music"
dsn = "sqlite://` + music + `"
deny_tables = ["a.b.c"]
`)
	line := waitLog(t, s.stdioServer, "config file is invalid")
	if !strings.Contains(line, "deny_tables") || !strings.Contains(line, ":4:") {
		t.Errorf("the rejection does not name the key and line: %s", line)
	}
	if got := databaseEnum(t, cs, "query"); !slices.Equal(got, []string{"music", "pg", "pg2"}) {
		t.Errorf("enum after an invalid reload = %v, want the previous [music pg pg2]", got)
	}
	if text, isErr := callText(t, cs, "query", map[string]any{"database": "pg2", "sql": "SELECT 3 AS three"}); isErr {
		t.Errorf("after an invalid reload: %s", text)
	}
}

// waitRunning waits until a statement containing marker runs on the
// PostgreSQL test server.
func waitRunning(t *testing.T, marker string, answered <-chan string) {
	t.Helper()
	db, err := sql.Open("postgres", pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		err := db.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()", marker).Scan(&n)
		if err == nil && n > 0 {
			return
		}
		select {
		case text := <-answered:
			t.Fatalf("the call answered before it was seen running: %s", text)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the statement never started (err %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits for a log line containing sub and returns it.
func waitLog(t *testing.T, s *stdioServer, sub string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			if strings.Contains(line, sub) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q; stderr:\n%s", sub, s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGrantsForSQLiteSaysNoGrantsApply.
func TestGrantsForSQLiteSaysNoGrantsApply(t *testing.T) {
	cfg := writeConfig(t, `[[database]]
name = "music"
dsn = "sqlite://`+chinookCopy(t)+`"
deny_tables = ["employee"]
`)
	code, stdout, stderr := runCmd(t, []string{"grants", "--config", cfg, "--database", "music"}, nil, nil)
	if code != 0 || stdout != "" || !strings.Contains(stderr, "no grants apply") {
		t.Errorf("grants on SQLite: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runCmd(t, []string{"grants", "--config", cfg, "--database", "nope"}, nil, nil)
	if code != 2 || !strings.Contains(stderr, `no database "nope": it has music`) {
		t.Errorf("grants on an unknown database: exit %d, %q", code, stderr)
	}
}

// TestNamedDSNFlagsOverStdio: repeated --dsn NAME=URL flags serve named
// databases without a file, over stdio: the tools take a `database`
// argument naming either, and each call reaches its own backend.
func TestNamedDSNFlagsOverStdio(t *testing.T) {
	s := startStdio(t, "--dsn", "music=sqlite://"+chinookCopy(t), "--dsn", "pg="+pgDSN)
	s.send(t, `{"jsonrpc":"2.0","id":100,"method":"tools/list"}`)
	line, err := s.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("tools/list: %v; stderr: %s", err, s.stderr.String())
	}
	if !strings.Contains(string(line), `"enum":["music","pg"]`) {
		t.Errorf("tools/list does not offer the enum [music pg]: %s", line)
	}
	for db, want := range map[string]string{"music": "sqlite_version", "pg": "PostgreSQL"} {
		sql := map[string]string{"music": "SELECT 'sqlite_version ' || sqlite_version() AS v", "pg": "SELECT version() AS v"}[db]
		s.nextID++
		args, _ := json.Marshal(map[string]any{"database": db, "sql": sql})
		s.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"query","arguments":%s}}`, s.nextID, args))
		if r := s.read(t); r.IsError || !strings.Contains(r.Text, want) {
			t.Errorf("query on %s: %+v", db, r)
		}
	}
}

// TestReloadChangesATokensDatabases: a reload that takes a database from
// a token ends that token's sessions; its next session sees only what it
// has now, and the database it lost is refused.
func TestReloadChangesATokensDatabases(t *testing.T) {
	music := chinookCopy(t)
	cfg := writeConfig(t, "")
	write := func(dbs string) {
		t.Helper()
		text := `[[database]]
name = "music"
dsn = "sqlite://` + music + `"

[[database]]
name = "pg"
dsn = "` + pgDSN + `"

[[token]]
name = "alice"
sha256 = "` + sha256Hex(tokenA) + `"
databases = ` + dbs + "\n"
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`["music", "pg"]`)
	s := startFleet(t, cfg)
	cs, err := connectHTTP(t, s.base+"/mcp", tokenA)
	if err != nil {
		t.Fatal(err)
	}
	if got := databaseEnum(t, cs, "query"); !slices.Equal(got, []string{"music", "pg"}) {
		t.Fatalf("enum = %v", got)
	}
	write(`["music"]`)
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, s.stdioServer, "configuration reloaded")
	if text, isErr := callText(t, cs, "query", map[string]any{"database": "pg", "sql": "SELECT 1 AS one"}); !isErr {
		t.Errorf("the old session still reads pg after the token lost it: %s", text)
	}
	cs2, err := connectHTTP(t, s.base+"/mcp", tokenA)
	if err != nil {
		t.Fatal(err)
	}
	if got := databaseEnum(t, cs2, "query"); !slices.Equal(got, []string{"music"}) {
		t.Errorf("enum of a new session after the reload = %v, want [music]", got)
	}
	if text, isErr := callText(t, cs2, "query", map[string]any{"database": "pg", "sql": "SELECT 1 AS one"}); !isErr {
		t.Errorf("pg after the token lost it: %s", text)
	}
}
