package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/cmd/sqlmcp/demo"
	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/tools"
)

// demoTools opens the demo database as the server does and returns its
// pool and tools.
func demoTools(t *testing.T) (*sql.DB, *tools.Tools) {
	t.Helper()
	path, cleanup, err := demo.WriteTemp()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	db, d, _, err := openDatabase(context.Background(), "sqlite://"+path, 4, dialect.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, tools.New(db, d, tools.Options{})
}

// sessionServer serves the demo database over real HTTP with a session cap.
func sessionServer(t *testing.T, maxSessions int, idle time.Duration) string {
	t.Helper()
	db, tl := demoTools(t)
	svc := newHTTPService(httpOptions{Tools: tl, DB: db, MaxSessions: maxSessions, SessionIdleTimeout: idle})
	ts := httptest.NewUnstartedServer(svc)
	ts.Config = svc.server(tl.Options().QueryTimeout)
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.URL + "/mcp"
}

// openSession initializes a session with raw HTTP, as an abandoning
// client would: no GET stream, no DELETE.
func openSession(t *testing.T, url string) (id string, status int, body string) {
	t.Helper()
	resp, body := post(t, url, nil, initialize)
	return resp.Header.Get("Mcp-Session-Id"), resp.StatusCode, body
}

func deleteSession(t *testing.T, url, id string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, url, nil)
	req.Header.Set("Mcp-Session-Id", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
}

// TestHTTPSessionCap: live stateful sessions are capped. An initialize
// over the cap gets 503 and a JSON-RPC error that says why and when
// sessions expire, costs no session (goroutines stay bounded however many
// are refused), and a DELETE or the idle expiry lets a new one in.
func TestHTTPSessionCap(t *testing.T) {
	const maxSessions = 5
	url := sessionServer(t, maxSessions, 2*time.Second)
	var ids []string
	for i := range maxSessions {
		id, status, body := openSession(t, url)
		if status != http.StatusOK || id == "" {
			t.Fatalf("session %d: %d %q", i+1, status, body)
		}
		ids = append(ids, id)
	}
	goroutines := runtime.NumGoroutine()
	for range 200 {
		id, status, body := openSession(t, url)
		if status != http.StatusServiceUnavailable || id != "" {
			t.Fatalf("initialize over the cap: %d, session %q, %q; want 503 and no session", status, id, body)
		}
		var msg struct {
			ID    int
			Error struct {
				Code    int
				Message string
			}
		}
		if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.ID != 1 || msg.Error.Code != -32000 ||
			!strings.Contains(msg.Error.Message, "too many open sessions (5)") || !strings.Contains(msg.Error.Message, "expire after 2s") {
			t.Fatalf("refusal body %q: want a JSON-RPC error for id 1 naming the cap and the expiry", body)
		}
	}
	if g := runtime.NumGoroutine(); g > goroutines+20 {
		t.Errorf("goroutines grew from %d to %d over 200 refused sessions", goroutines, g)
	}

	// A DELETE frees a slot.
	deleteSession(t, url, ids[0])
	id, status, body := openSession(t, url)
	if status != http.StatusOK || id == "" {
		t.Fatalf("after a DELETE: %d %q, want a new session", status, body)
	}
	if _, status, _ := openSession(t, url); status != http.StatusServiceUnavailable {
		t.Fatalf("full again: %d, want 503", status)
	}

	// Idle sessions expire and free their slots.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, status, _ := openSession(t, url); status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no session admitted 15 s after every session went idle with a 2 s expiry")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestHTTPSessionCapLeavesStatelessAlone: --stateless keeps no sessions,
// so the cap does not apply to its requests.
func TestHTTPSessionCapLeavesStatelessAlone(t *testing.T) {
	db, tl := demoTools(t)
	svc := newHTTPService(httpOptions{Tools: tl, DB: db, Stateless: true, MaxSessions: 1})
	ts := httptest.NewServer(svc)
	t.Cleanup(ts.Close)
	for i := range 5 {
		if resp, body := post(t, ts.URL+"/mcp", nil, initialize); resp.StatusCode != http.StatusOK {
			t.Fatalf("stateless request %d: %d %q", i, resp.StatusCode, body)
		}
	}
}

func TestSessionFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string // error substring, or "" for success
		max  int
		idle time.Duration
	}{
		{[]string{"--demo"}, nil, "", defaultMaxSessions, defaultSessionIdleTimeout},
		{[]string{"--demo", "--max-sessions", "7", "--session-idle-timeout", "90s"}, nil, "", 7, 90 * time.Second},
		{[]string{"--demo"}, map[string]string{"SQLMCP_MAX_SESSIONS": "3", "SQLMCP_SESSION_IDLE_TIMEOUT": "1m"}, "", 3, time.Minute},
		{[]string{"--demo", "--max-sessions", "0"}, nil, "--max-sessions must be at least 1", 0, 0},
		{[]string{"--demo", "--session-idle-timeout", "10ms"}, nil, "--session-idle-timeout must be at least 1s", 0, 0},
	} {
		c, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, nil)
		switch {
		case tc.want != "":
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
			}
		case err != nil:
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
		case c.MaxSessions != tc.max || c.SessionIdleTimeout != tc.idle:
			t.Errorf("%v %v: max %d idle %s, want %d %s", tc.args, tc.env, c.MaxSessions, c.SessionIdleTimeout, tc.max, tc.idle)
		}
	}
}
