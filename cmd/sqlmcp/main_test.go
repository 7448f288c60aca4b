package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runCmd runs the command in-process with the given stdin and environment.
func runCmd(t *testing.T, args []string, env map[string]string, stdin io.ReadCloser) (code int, stdout, stderr string) {
	t.Helper()
	if stdin == nil {
		stdin = io.NopCloser(strings.NewReader(""))
	}
	var out, errb syncBuffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, stdin, nopWriteCloser{&out}, &errb)
	return code, out.String(), errb.String()
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBadStartupInputIsOneLineExitTwoWithoutPassword(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"--nope"}, nil, "flag provided but not defined: -nope"},
		{"no database", nil, nil, "no database given: pass --dsn URL"},
		{"unknown scheme", []string{"--dsn", "oracle://scott:hunter2@db/orcl"}, nil, `unsupported database URL scheme "oracle"`},
		{"unreachable postgres", []string{"--dsn", "postgres://u:hunter2@127.0.0.1:1/db"}, nil, "is the server running"},
		{"unreachable mysql", []string{"--dsn", "mysql://u:hunter2@127.0.0.1:1/db"}, nil, "is the server running"},
		{"missing sqlite file", []string{"--dsn", "sqlite:///nonexistent/dir/x.db"}, nil, "give the path of an existing database file"},
		{"bad max rows", []string{"--demo", "--max-rows", "5000"}, nil, "--max-rows must be between 1 and 1000"},
		{"env dsn password", nil, map[string]string{"DATABASE_URL": "postgres://u:hunter2@127.0.0.1:1/db"}, "u:xxxxx@127.0.0.1:1"},
		{"bad env", []string{"--demo"}, map[string]string{"SQLMCP_MAX_ROWS": "lots"}, "SQLMCP_MAX_ROWS"},
		{"both demo and dsn", []string{"--demo", "--dsn", "x.db"}, nil, "--demo and --dsn both given"},
		{"audit required without a file", []string{"--demo", "--audit-required"}, nil, "--audit-required needs --audit-log FILE"},
		{"audit required from env", []string{"--demo"}, map[string]string{"SQLMCP_AUDIT_REQUIRED": "1"}, "--audit-required needs --audit-log FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.args, tc.env, nil)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("wrote to stdout: %q", stdout)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "sqlmcp: ") {
				t.Errorf("stderr = %q, want one line starting with sqlmcp:", stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
			if strings.Contains(stderr, "hunter2") {
				t.Errorf("stderr shows the password: %q", stderr)
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	code, stdout, _ := runCmd(t, []string{"--version"}, nil, nil)
	if code != 0 || !strings.HasPrefix(stdout, "sqlmcp ") {
		t.Errorf("--version: code %d stdout %q", code, stdout)
	}
	code, stdout, stderr := runCmd(t, []string{"--help"}, nil, nil)
	if code != 0 || stdout != "" || !strings.Contains(stderr, "--dsn") || !strings.Contains(stderr, "DATABASE_URL") {
		t.Errorf("--help: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestDemoOverStdio drives the real command over pipes: stdout carries
// only protocol messages, the tools answer, and EOF on stdin ends the
// process with exit code 0.
func TestDemoOverStdio(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr syncBuffer
	done := make(chan int, 1)
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	go func() {
		done <- run(context.Background(), []string{"--demo", "--audit-log", audit}, func(string) string { return "" }, inR, outW, &stderr)
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	send := func(msg string) {
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() map[string]any {
		if !lines.Scan() {
			t.Fatalf("no response; stderr: %s", stderr.String())
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil || m["jsonrpc"] != "2.0" {
			t.Fatalf("stdout line is not a JSON-RPC message: %q", lines.Text())
		}
		return m
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	if r := recv(); r["result"] == nil {
		t.Fatalf("initialize: %v", r)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT count(*) AS n FROM track"}}}`)
	r := recv()
	res, _ := r["result"].(map[string]any)
	if res == nil || res["isError"] == true {
		t.Fatalf("query: %v", r)
	}
	if sc := res["structuredContent"].(map[string]any); sc["rows"].([]any)[0].([]any)[0] != 3503.0 {
		t.Errorf("count(*) of track = %v, want 3503 (the demo's Chinook)", sc["rows"])
	}
	send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"query","arguments":{"sql":"DROP TABLE track"}}}`)
	if res := recv()["result"].(map[string]any); res["isError"] != true {
		t.Errorf("DROP TABLE was not refused: %v", res)
	}
	inW.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d after stdin EOF, want 0; stderr: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not exit after stdin EOF")
	}
	b, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	recs := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(recs) != 2 {
		t.Fatalf("audit log has %d records, want 2:\n%s", len(recs), b)
	}
	var denied map[string]any
	if err := json.Unmarshal([]byte(recs[1]), &denied); err != nil {
		t.Fatal(err)
	}
	if denied["outcome"] != "denied" || denied["sql"] != "DROP TABLE track" || denied["tool"] != "query" {
		t.Errorf("audit record = %v, want the denied DROP", denied)
	}
	if !strings.Contains(stderr.String(), "outcome=denied") {
		t.Errorf("stderr lacks the audit line of the denied call:\n%s", stderr.String())
	}
}

// TestSIGTERMDrainsInFlightCall runs the built binary: a call in flight
// when SIGTERM arrives still gets its answer, then the process exits 0.
func TestSIGTERMDrainsInFlightCall(t *testing.T) {
	cmd := exec.Command(builtBinary(t), "--demo", "--query-timeout", "2s")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`+"\n")
	if !lines.Scan() {
		t.Fatalf("no initialize response: %s", stderr.String())
	}
	io.WriteString(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
	// A cartesian product that runs until the 2s timeout stops it.
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT count(*) FROM track a, track b, track c"}}}`+"\n")
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	if !lines.Scan() {
		t.Fatalf("the in-flight call got no answer after SIGTERM; stderr: %s", stderr.String())
	}
	var r struct {
		ID     int
		Result struct{ IsError bool }
	}
	if err := json.Unmarshal(lines.Bytes(), &r); err != nil || r.ID != 2 {
		t.Fatalf("answer %q, want the response to call 2", lines.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v, want 0; stderr: %s", err, stderr.String())
	}
}

// TestPoolSizeDefaultsByBackend: SQLite's pool follows the CPUs unless the
// user sets a size, by flag or environment; the others keep 10.
func TestPoolSizeDefaultsByBackend(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		set  bool
	}{
		{[]string{"--demo"}, nil, false},
		{[]string{"--demo", "--max-open-conns", "10"}, nil, true},
		{[]string{"--demo"}, map[string]string{"SQLMCP_MAX_OPEN_CONNS": "4"}, true},
	} {
		c, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxOpenConnsSet != tc.set {
			t.Errorf("%v %v: MaxOpenConnsSet = %v, want %v", tc.args, tc.env, c.MaxOpenConnsSet, tc.set)
		}
	}
}
