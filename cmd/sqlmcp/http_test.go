package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/cmd/sqlmcp/demo"
	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/metrics"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

const (
	tokenA = "a-first-token-0123456789abcdef"
	tokenB = "b-second-token-0123456789abcdef"
)

// httpFixture is an in-process sqlmcp HTTP service over the demo database.
type httpFixture struct {
	url     string // the /mcp endpoint
	base    string
	db      *sql.DB
	dsn     string
	metrics *metrics.Metrics
	audit   *toolstest.AuditLog
	audited *syncBuffer // the audit lines as the real auditor writes them
	tools   *tools.Tools
}

type teeAuditor []tools.Auditor

func (a teeAuditor) Audit(r *tools.Record) error {
	var err error
	for _, x := range a {
		err = errors.Join(err, x.Audit(r))
	}
	return err
}

type fixtureOptions struct {
	tokens    []string
	stateless bool
	noAudit   bool // for the load benchmark: keep no records in memory
}

func newHTTPFixture(t testing.TB, o fixtureOptions) *httpFixture {
	t.Helper()
	path, cleanup, err := demo.WriteTemp()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	f := &httpFixture{dsn: "sqlite://" + path, audit: &toolstest.AuditLog{}, audited: &syncBuffer{}}
	db, d, _, err := openDatabase(context.Background(), f.dsn, 10, dialect.OpenOptions{MaxMessageBytes: dialect.MessageLimit(1 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	f.metrics = metrics.New(metrics.Options{Version: "test", Backend: d.Name()})
	f.metrics.ObserveDB(db, d.Name())
	var audit tools.Auditor = teeAuditor{f.audit, tools.NewAuditor(slog.New(slog.NewJSONHandler(f.audited, nil)))}
	if o.noAudit {
		audit = nil
	}
	tl := tools.New(db, d, tools.Options{Audit: audit, Observer: f.metrics})
	f.tools = tl
	var tokens *tokenSet
	if len(o.tokens) > 0 {
		file := filepath.Join(t.TempDir(), "tokens")
		content := "# sqlmcp tokens\n\n" + strings.Join(o.tokens, "\n") + "\n"
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if tokens, err = loadTokens(&config{AuthTokenFile: file}); err != nil {
			t.Fatal(err)
		}
	}
	svc := newHTTPService(httpOptions{Tools: tl, DB: db, DSN: f.dsn, Metrics: f.metrics, Tokens: tokens, Stateless: o.stateless})
	ts := httptest.NewUnstartedServer(svc)
	ts.Config = svc.server(tl.Options().QueryTimeout)
	ts.Start()
	t.Cleanup(ts.Close)
	f.base = ts.URL
	f.url = ts.URL + "/mcp"
	return f
}

// bearer adds an Authorization header to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func connectHTTP(t testing.TB, url, token string) (*mcp.ClientSession, error) {
	t.Helper()
	client := &http.Client{Transport: http.DefaultTransport}
	if token != "" {
		client.Transport = bearer{token, http.DefaultTransport}
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "http-test"}, nil).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: url, HTTPClient: client, MaxRetries: -1}, nil)
	if err == nil {
		t.Cleanup(func() { cs.Close() })
	}
	return cs, err
}

func post(t testing.TB, url string, header map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func TestHTTPAuthRequiresOneOfTheTokens(t *testing.T) {
	f := newHTTPFixture(t, fixtureOptions{tokens: []string{tokenA, tokenB}})

	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"no token", nil},
		{"wrong token", map[string]string{"Authorization": "Bearer " + tokenA + "x"}},
		{"not bearer", map[string]string{"Authorization": "Basic " + tokenA}},
	} {
		resp, body := post(t, f.url, tc.header, initialize)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, resp.StatusCode)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="sqlmcp"` {
			t.Errorf("%s: WWW-Authenticate %q, want the sqlmcp realm challenge", tc.name, got)
		}
		if strings.Contains(body, tokenA) {
			t.Errorf("%s: the 401 body echoes the token: %q", tc.name, body)
		}
	}
	if _, err := connectHTTP(t, f.url, ""); err == nil {
		t.Error("a client without a token connected")
	}

	// Both tokens of the file work, and the audit names each by its
	// fingerprint.
	fps := map[string]string{}
	for _, tok := range []string{tokenA, tokenB} {
		cs, err := connectHTTP(t, f.url, tok)
		if err != nil {
			t.Fatalf("connect with a valid token: %v", err)
		}
		res := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS one"})
		if res.IsError {
			t.Fatalf("query: %s", res.Text)
		}
		recs := f.audit.All()
		last := recs[len(recs)-1]
		if !strings.HasPrefix(last.Token, "tok:") || len(last.Token) != len("tok:")+8 {
			t.Errorf("audit token %q, want tok: and 8 hex digits", last.Token)
		}
		fps[tok] = last.Token
	}
	if fps[tokenA] == fps[tokenB] {
		t.Errorf("both tokens audited as %s, want distinct fingerprints", fps[tokenA])
	}
	audited := f.audited.String()
	if !strings.Contains(audited, `"token":"`+fps[tokenA]+`"`) {
		t.Errorf("the audit log lacks the fingerprint %s:\n%s", fps[tokenA], audited)
	}
	if strings.Contains(audited, tokenA) || strings.Contains(audited, tokenB) {
		t.Errorf("the audit log holds a token:\n%s", audited)
	}

	// A session belongs to the token that opened it.
	resp, _ := post(t, f.url, map[string]string{"Authorization": "Bearer " + tokenA}, initialize)
	sid := resp.Header.Get("Mcp-Session-Id")
	if sid == "" {
		t.Fatal("no session id")
	}
	resp, _ = post(t, f.url, map[string]string{"Authorization": "Bearer " + tokenB, "Mcp-Session-Id": sid},
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("another token on a session: status %d, want 403", resp.StatusCode)
	}

	_, body := get(t, f.base+"/metrics")
	var failures int
	if _, err := fmt.Sscan(grepLines(body, "sqlmcp_http_auth_failures_total")[len("sqlmcp_http_auth_failures_total"):], &failures); err != nil || failures < 4 {
		t.Errorf("metrics: want at least 4 auth failures (3 posts and the client), got:\n%s", grepLines(body, "auth_failures"))
	}
}

func TestHealthAndReadiness(t *testing.T) {
	f := newHTTPFixture(t, fixtureOptions{tokens: []string{tokenA}})
	// Neither needs the token.
	if code, body := get(t, f.base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	if code, body := get(t, f.base+"/readyz"); code != 200 || body != "ok\n" {
		t.Errorf("/readyz = %d %q, want 200 ok", code, body)
	}
	f.db.Close()
	code, body := get(t, f.base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "closed") {
		t.Errorf("/readyz after the pool closed = %d %q, want 503 naming the closed pool", code, body)
	}
	if strings.Contains(body, strings.TrimPrefix(f.dsn, "sqlite://")) {
		t.Errorf("/readyz reason shows the DSN: %q", body)
	}
	if code, _ := get(t, f.base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d with the database gone, want 200: the process is alive", code)
	}
}

func TestMetricsCountCallsByOutcome(t *testing.T) {
	f := newHTTPFixture(t, fixtureOptions{})
	cs, err := connectHTTP(t, f.url, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"list_tables", nil},
		{"query", map[string]any{"sql": "SELECT name FROM genre ORDER BY genre_id", "limit": 3}},
		{"query", map[string]any{"sql": "SELECT 1"}},
		{"query", map[string]any{"sql": "DELETE FROM track"}},
		{"describe_table", map[string]any{"table_name": "nope"}},
	} {
		toolstest.Call(t, cs, c.tool, c.args)
	}
	_, body := get(t, f.base+"/metrics")
	for _, want := range []string{
		`sqlmcp_tool_calls_total{outcome="ok",tool="query"} 2`,
		`sqlmcp_tool_calls_total{outcome="denied",tool="query"} 1`,
		`sqlmcp_tool_calls_total{outcome="ok",tool="list_tables"} 1`,
		`sqlmcp_tool_calls_total{outcome="denied",tool="describe_table"} 1`,
		`sqlmcp_denied_total{reason="policy",tool="query"} 1`,
		`sqlmcp_denied_total{reason="validation",tool="describe_table"} 1`,
		`sqlmcp_rows_returned_total{tool="query"} 4`,
		`sqlmcp_results_truncated_total{tool="query"} 1`,
		`sqlmcp_tool_call_duration_seconds_count{tool="query"} 3`,
		`sqlmcp_tool_calls_in_flight{tool="query"} 0`,
		`sqlmcp_go_sql_in_use_connections{db_name="sqlite"} 0`,
		`sqlmcp_build_info{backend="sqlite",version="test"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s; it has:\n%s", want, grepLines(body, "sqlmcp_"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestHTTPRefusesRebindingCrossOriginAndHugeBodies(t *testing.T) {
	f := newHTTPFixture(t, fixtureOptions{})
	for _, tc := range []struct {
		name   string
		header map[string]string
		body   string
		want   int
	}{
		{"rebound host", map[string]string{"Host": "evil.example"}, initialize, http.StatusForbidden},
		{"rebound host with port", map[string]string{"Host": "evil.example:8080"}, initialize, http.StatusForbidden},
		{"cross-origin page", map[string]string{"Origin": "http://evil.example"}, initialize, http.StatusForbidden},
		{"body over 1 MiB", nil, `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", maxRequestBody) + `"}}`, http.StatusRequestEntityTooLarge},
		{"localhost host", map[string]string{"Host": "localhost"}, initialize, http.StatusOK},
	} {
		resp, body := post(t, f.url, tc.header, tc.body)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d (%s), want %d", tc.name, resp.StatusCode, strings.TrimSpace(body), tc.want)
		}
	}
}

func TestStatelessHTTPListsAndCalls(t *testing.T) {
	f := newHTTPFixture(t, fixtureOptions{stateless: true, tokens: []string{tokenA}})
	resp, _ := post(t, f.url, map[string]string{"Authorization": "Bearer " + tokenA}, initialize)
	if resp.StatusCode != 200 || resp.Header.Get("Mcp-Session-Id") != "" {
		t.Errorf("stateless initialize: status %d, session %q; want 200 and no session", resp.StatusCode, resp.Header.Get("Mcp-Session-Id"))
	}
	cs, err := connectHTTP(t, f.url, tokenA)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(lt.Tools) != 4 {
		t.Errorf("%d tools, want 4", len(lt.Tools))
	}
	res := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT count(*) AS n FROM track"})
	if res.IsError || !strings.Contains(res.Text, "3503") {
		t.Errorf("query over stateless HTTP: %q", res.Text)
	}
	if recs := f.audit.All(); len(recs) == 0 || recs[len(recs)-1].Token == "" {
		t.Error("stateless call not audited with its token")
	}
}

// TestHTTPAnswersMatchInMemory: over sqlmcp's HTTP layer (where results
// skip the SDK's re-encoding, see transport.Splicer) a client reads what it
// reads from the same tools over the SDK's own in-memory transport.
func TestHTTPAnswersMatchInMemory(t *testing.T) {
	calls := []struct {
		tool string
		args map[string]any
	}{
		{"query", map[string]any{"sql": "SELECT * FROM track ORDER BY track_id", "limit": 80}},
		{"query", map[string]any{"sql": "SELECT 1 AS one"}},
		{"query", map[string]any{"sql": "DELETE FROM track"}},
		{"list_tables", map[string]any{}},
		{"describe_table", map[string]any{"table_name": "track"}},
	}
	for _, stateless := range []bool{false, true} {
		f := newHTTPFixture(t, fixtureOptions{stateless: stateless})
		overHTTP, err := connectHTTP(t, f.url, "")
		if err != nil {
			t.Fatal(err)
		}
		inMemory := toolstest.ConnectSDK(t, f.tools)
		for _, c := range calls {
			got := toolstest.Call(t, overHTTP, c.tool, c.args)
			want := toolstest.Call(t, inMemory, c.tool, c.args)
			delete(got.Structured, "elapsed_ms")
			delete(want.Structured, "elapsed_ms")
			if strings.Contains(got.Text, "sqlmcp-splice") || got.Text != want.Text || !reflect.DeepEqual(got.Structured, want.Structured) || got.IsError != want.IsError {
				t.Errorf("stateless=%v %s %v:\n got %.300q %.300v\nwant %.300q %.300v", stateless, c.tool, c.args, got.Text, got.Structured, want.Text, want.Structured)
			}
		}
	}
}

func TestCheckHTTPRefusesUnsafeConfigurations(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "# ops team\n"+tokenA+"\n\n"+tokenB+"\n")
	empty := write("empty", "# nothing yet\n\n")
	short := write("short", "hunter2\n")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // "" means accepted
	}{
		{"loopback without token", []string{"--listen", "127.0.0.1:8080"}, nil, ""},
		{"localhost without token", []string{"--listen", "localhost:8080"}, nil, ""},
		{"ipv6 loopback without token", []string{"--listen", "[::1]:8080"}, nil, ""},
		{"all interfaces without token", []string{"--listen", ":8080"}, nil, "no token is set"},
		{"public address without token", []string{"--listen", "0.0.0.0:8080"}, nil, "--insecure-no-auth"},
		{"public address, insecure", []string{"--listen", "0.0.0.0:8080", "--insecure-no-auth"}, nil, ""},
		{"public address with token file", []string{"--listen", "0.0.0.0:8080", "--auth-token-file", good}, nil, ""},
		{"public address with env token", []string{"--listen", "0.0.0.0:8080"}, map[string]string{"SQLMCP_AUTH_TOKEN": tokenA}, ""},
		{"empty token file", []string{"--auth-token-file", empty}, nil, "holds no token"},
		{"missing token file", []string{"--auth-token-file", filepath.Join(dir, "nope")}, nil, "cannot read --auth-token-file"},
		{"short token", []string{"--auth-token-file", short}, nil, "at least 16 characters"},
		{"cert without key", []string{"--tls-cert", good}, nil, "give both or neither"},
		{"bad listen", []string{"--listen", "8080"}, nil, "must be host:port"},
	} {
		args := append([]string{"--demo", "--transport", "http"}, tc.args...)
		_, err := parseConfig(args, func(k string) string { return tc.env[k] }, io.Discard)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		case err != nil && (strings.Contains(err.Error(), tokenA) || strings.Contains(err.Error(), "hunter2")):
			t.Errorf("%s: the error shows a token: %v", tc.name, err)
		}
	}

	// Through the command: one line on stderr, exit code 2.
	code, _, stderr := runCmd(t, []string{"--demo", "--transport", "http", "--listen", "0.0.0.0:0"}, nil, nil)
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--insecure-no-auth") {
		t.Errorf("exit %d, stderr %q; want 2 and one line naming --insecure-no-auth", code, stderr)
	}
}

func getBody(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The whole command over HTTP: serve, answer, and on a signal let the
// in-flight call finish and exit 0.
func TestHTTPCommandServesAndDrainsOnSignal(t *testing.T) {
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"--demo", "--transport", "http", "--listen", addr, "--query-timeout", "3s"},
			func(string) string { return "" }, io.NopCloser(strings.NewReader("")), nopWriteCloser{io.Discard}, &stderr)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 10s; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cs, err := connectHTTP(t, base+"/mcp", "")
	if err != nil {
		t.Fatal(err)
	}
	// A call that runs for a while, interrupted by the signal.
	slow := make(chan toolstest.Result, 1)
	go func() {
		slow <- toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT count(*) AS n FROM track a, track b WHERE a.track_id % 7 = b.track_id % 5"})
	}()
	for !strings.Contains(getBody(base+"/metrics"), `sqlmcp_tool_calls_in_flight{tool="query"} 1`) {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("the query never showed as in flight")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case res := <-slow:
		// Done or stopped by its own timeout (the race detector slows
		// SQLite down a lot), but answered: not cut off.
		if res.IsError && !strings.Contains(res.Text, "timeout") {
			t.Errorf("in-flight call failed at shutdown: %s", res.Text)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight call got no answer")
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("did not exit; stderr:\n%s", stderr.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still accepting connections after exit")
	}
	if !strings.Contains(stderr.String(), "signal received") {
		t.Errorf("stderr lacks the shutdown line:\n%s", stderr.String())
	}
}
