package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
	"github.com/sqlmcp/sqlmcp/tools/transport"
)

// startHTTP runs the command over HTTP in-process and waits until ready;
// stop ends it like a signal and returns its exit code.
func startHTTP(t *testing.T, args ...string) (base string, stop func() int, stderr *syncBuffer) {
	t.Helper()
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, append([]string{"--transport", "http", "--listen", addr}, args...),
			func(string) string { return "" }, io.NopCloser(strings.NewReader("")), nopWriteCloser{io.Discard}, stderr)
	}()
	base = "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case code := <-exited:
			t.Fatalf("exited %d; stderr:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-exited:
			case <-time.After(30 * time.Second):
				t.Errorf("did not exit; stderr:\n%s", stderr.String())
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return base, stop, stderr
}

// TestHTTPShutdownAnswersEveryInFlightCall: at SIGTERM with many calls in
// flight over several sessions, every call gets an answer (a result, not
// a cut connection), /readyz answers 503 "shutting down" while the server
// drains, and the process exits 0.
func TestHTTPShutdownAnswersEveryInFlightCall(t *testing.T) {
	base, stop, stderr := startHTTP(t, "--demo", "--query-timeout", "2s")
	const sessions, perSession = 8, 8
	var wg sync.WaitGroup
	errs := make(chan error, sessions*perSession)
	started := make(chan struct{}, sessions*perSession)
	for i := 0; i < sessions; i++ {
		cs, err := connectHTTP(t, base+"/mcp", "")
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < perSession; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				started <- struct{}{}
				res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "query",
					Arguments: map[string]any{"sql": "SELECT count(*) FROM track a, track b, track c"}})
				if err != nil {
					errs <- err
					return
				}
				if len(res.Content) == 0 {
					errs <- fmt.Errorf("empty result")
				}
			}()
		}
	}
	for i := 0; i < sessions*perSession; i++ {
		<-started
	}
	time.Sleep(300 * time.Millisecond)
	exited := make(chan int, 1)
	go func() { exited <- stop() }()
	sawDraining := false
	for !sawDraining {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			select {
			case <-exited:
			default:
				t.Errorf("/readyz while draining: %v, want 503", err)
			}
			break
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sawDraining = resp.StatusCode == 503 && strings.Contains(string(b), "shutting down")
		time.Sleep(5 * time.Millisecond)
	}
	if !sawDraining {
		t.Error("never saw /readyz answer 503 shutting down while draining")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("in-flight call got no answer: %v", err)
	}
	if code := <-exited; code != 0 {
		t.Errorf("exit %d; stderr:\n%s", code, stderr.String())
	}
}

// rawSession opens a session by hand (stateful) and returns the headers
// for calls on it; stateless needs none.
func rawSession(t *testing.T, url string, stateless bool) map[string]string {
	t.Helper()
	h := map[string]string{"Mcp-Protocol-Version": "2025-06-18"}
	if stateless {
		return h
	}
	resp, body := post(t, url, h, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	id := resp.Header.Get("Mcp-Session-Id")
	if id == "" {
		t.Fatalf("no session id: %d %s", resp.StatusCode, body)
	}
	h["Mcp-Session-Id"] = id
	post(t, url, h, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return h
}

// dropCall sends a tools/call and drops the request after wait.
func dropCall(t *testing.T, url string, h map[string]string, sql string, wait time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"query","arguments":{"sql":%q}}}`, sql)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		io.ReadAll(resp.Body) // until the deadline drops it
		resp.Body.Close()
	}
}

// TestHTTPClientDisconnectCancelsTheCall (SQLite): with a pool of one
// connection, a call whose client dropped its POST must give the
// connection back at once, not at its timeout.
func TestHTTPClientDisconnectCancelsTheCall(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		t.Run(fmt.Sprintf("stateless=%v", stateless), func(t *testing.T) {
			args := []string{"--demo", "--query-timeout", "20s", "--max-open-conns", "1"}
			if stateless {
				args = append(args, "--stateless")
			}
			base, _, _ := startHTTP(t, args...)
			h := rawSession(t, base+"/mcp", stateless)
			dropCall(t, base+"/mcp", h, "SELECT count(*) FROM track a, track b, track c, track d", 500*time.Millisecond)
			start := time.Now()
			resp, body := post(t, base+"/mcp", h, `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1 AS one"}}}`)
			if resp.StatusCode != 200 || !strings.Contains(body, `"one"`) {
				t.Fatalf("next call: %d %s", resp.StatusCode, body)
			}
			// Uncancelled, the dropped call holds the only connection
			// for its 20s timeout.
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("the next call waited %s for the dropped call's connection", d)
			}
		})
	}
}

// TestHTTPClientDisconnectCancelsTheStatementPostgres: the statement of a
// dropped POST leaves pg_stat_activity soon, not at its timeout.
func TestHTTPClientDisconnectCancelsTheStatementPostgres(t *testing.T) {
	const dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Ping(); err != nil {
		t.Skipf("no PostgreSQL at %s: %v", dsn, err)
	}
	for _, stateless := range []bool{false, true} {
		t.Run(fmt.Sprintf("stateless=%v", stateless), func(t *testing.T) {
			args := []string{"--dsn", dsn, "--query-timeout", "60s"}
			if stateless {
				args = append(args, "--stateless")
			}
			base, _, _ := startHTTP(t, args...)
			h := rawSession(t, base+"/mcp", stateless)
			var b [6]byte
			rand.Read(b[:])
			marker := "m" + hex.EncodeToString(b[:])
			running := func() int {
				var n int
				if err := admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, marker).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			sql := "SELECT count(*) AS " + marker + " FROM generate_series(1, 100000) a, generate_series(1, 100000) b"
			dropped := make(chan struct{})
			go func() { dropCall(t, base+"/mcp", h, sql, 1500*time.Millisecond); close(dropped) }()
			deadline := time.Now().Add(10 * time.Second)
			for running() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the statement never showed in pg_stat_activity")
				}
				time.Sleep(50 * time.Millisecond)
			}
			<-dropped
			gone := time.Now()
			for running() > 0 {
				if time.Since(gone) > 10*time.Second {
					t.Fatalf("the statement still runs 10s after its client dropped the request (timeout 60s)")
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("statement gone %s after the client dropped the request", time.Since(gone).Round(time.Millisecond))
		})
	}
}

// The go-sdk answers a call cancelled while queued with code 0 before any
// middleware runs; over HTTP the answer is rewritten with a real code and
// the call audited, named from the POST body.
func TestHTTPEarlyErrorIsWellFormedAndAudited(t *testing.T) {
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1"}}}`
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	rec := httptest.NewRecorder()
	var audited []string
	w, r := transport.WithEarlyErrors(rec, r, 1<<20, func(tool string, args json.RawMessage, o tools.Outcome, code string) {
		audited = append(audited, tool+"/"+string(o)+"/"+code+"/"+string(args))
	})
	if b, _ := io.ReadAll(r.Body); string(b) != body {
		t.Fatalf("body passed on as %q", b)
	}
	io.WriteString(w, "event: message\nid: 1_0\ndata: "+`{"jsonrpc":"2.0","id":7,"error":{"code":0,"message":"context canceled"}}`+"\n\n")
	want := "event: message\nid: 1_0\ndata: " + `{"jsonrpc":"2.0","id":7,"error":{"code":-32800,"message":"request cancelled before it ran"}}` + "\n\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("written %q, want %q", got, want)
	}
	if want := []string{`query/cancelled/cancelled_before_start/{"sql":"SELECT 1"}`}; strings.Join(audited, "|") != strings.Join(want, "|") {
		t.Errorf("audited %q, want %q", audited, want)
	}
}

// TestAuditFailureIsLoudAndRequiredRefuses: with an audit file that cannot
// be written (/dev/full: ENOSPC), each failure is counted in
// sqlmcp_audit_write_errors_total and logged at ERROR; calls are served
// without --audit-required and refused (unavailable) with it.
func TestAuditFailureIsLoudAndRequiredRefuses(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	for _, required := range []bool{false, true} {
		t.Run(fmt.Sprintf("required=%v", required), func(t *testing.T) {
			args := []string{"--demo", "--audit-log", "/dev/full"}
			if required {
				args = append(args, "--audit-required")
			}
			base, _, stderr := startHTTP(t, args...)
			cs, err := connectHTTP(t, base+"/mcp", "")
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				res := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS one"})
				refused := res.IsError && strings.HasPrefix(res.Text, "unavailable: the audit log cannot be written")
				if refused != required {
					t.Errorf("call %d: %+v", i, res)
				}
			}
			m := getBody(base + "/metrics")
			if !strings.Contains(m, "sqlmcp_audit_write_errors_total 3") {
				t.Errorf("metrics lack 3 audit write errors:\n%s", grepLines(m, "audit"))
			}
			if n := strings.Count(stderr.String(), "level=ERROR msg=\"cannot write the audit log"); n != 1 {
				t.Errorf("%d ERROR lines for 3 failures, want 1 (rate-limited); stderr:\n%s", n, stderr.String())
			}
		})
	}
}

// TestHTTPOneAuditRecordPerToolsCall: over HTTP too, an unknown tool and
// a duplicate in-flight id (refused by the SDK's handler before the
// server sees it) each leave one record, beside the call that ran.
func TestHTTPOneAuditRecordPerToolsCall(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	base, stop, _ := startHTTP(t, "--demo", "--query-timeout", "1s", "--audit-log", audit)
	h := rawSession(t, base+"/mcp", false)
	slow := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT count(*) FROM track a, track b, track c"}}}`
	first := make(chan string, 1)
	go func() { _, b := post(t, base+"/mcp", h, slow); first <- b }()
	time.Sleep(300 * time.Millisecond)
	resp, body := post(t, base+"/mcp", h, slow)
	if resp.StatusCode != 400 || !strings.Contains(body, "duplicate in-flight request ID") {
		t.Errorf("duplicate id: %d %s", resp.StatusCode, body)
	}
	<-first
	post(t, base+"/mcp", h, `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"nope","arguments":{}}}`)
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var got []string
	for _, m := range readAuditFile(t, audit) {
		got = append(got, fmt.Sprintf("%v/%v", m["tool"], m["error"]))
	}
	want := []string{"query/duplicate_id", "query/", "nope/unknown_tool"}
	if len(got) != 3 || got[0] != want[0] || !strings.HasPrefix(got[1], "query/") || got[2] != want[2] {
		t.Errorf("records %q, want %q", got, want)
	}
}

// TestHTTPShutdownUnderSteadyLoad: clients keep calling when SIGTERM
// arrives. Every call sent before the signal gets an answer (served, or
// refused "shutting down" by the tools), none a cut connection, and the
// process exits 0 well within its drain timeout.
func TestHTTPShutdownUnderSteadyLoad(t *testing.T) {
	base, stop, stderr := startHTTP(t, "--demo", "--query-timeout", "5s")
	const clients = 16
	var signalled atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	var cut []string
	answered := 0
	for i := 0; i < clients; i++ {
		cs, err := connectHTTP(t, base+"/mcp", "")
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				before := !signalled.Load()
				_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "query",
					Arguments: map[string]any{"sql": "SELECT count(*) AS n FROM track WHERE milliseconds > 1000"}})
				mu.Lock()
				if err == nil && before {
					answered++
				}
				if err != nil && before {
					cut = append(cut, err.Error())
				}
				mu.Unlock()
				if err != nil || !before {
					return
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	signalled.Store(true)
	start := time.Now()
	code := stop()
	wg.Wait()
	if code != 0 {
		t.Errorf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if len(cut) > 0 {
		t.Errorf("%d calls sent before the signal got no answer (of %d answered), e.g. %s", len(cut), answered, cut[0])
	}
	if d := time.Since(start); d > 12*time.Second {
		t.Errorf("shutdown took %s under load", d)
	}
	t.Logf("%d calls answered before/around the signal, shutdown in %s", answered, time.Since(start).Round(time.Millisecond))
}
