package main

import (
	"bufio"
	"encoding/json"
	"fmt"
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

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// sqlmcpBinary builds the command once per test run.
func sqlmcpBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sqlmcp-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "sqlmcp")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// TestDSNPasswordNeverPrinted: whatever the DSN form and whichever start-up
// path fails, the password is not on stderr or stdout.
func TestDSNPasswordNeverPrinted(t *testing.T) {
	bin := sqlmcpBinary(t)
	const pw = "Hunter2secret"
	for _, args := range [][]string{
		{"--dsn", "sqlite://user:" + pw + "@/nonexistent/x.db"},
		{"--dsn", "sqlite://user:" + pw + "@/tmp/x.db?mode=rw"},
		{"--dsn", "file://user:" + pw + "@/nonexistent/x.db"},
		{"--dsn", "sqlite://user:" + pw + "@localhost/x.db"},
		{"--dsn", "postgres://u:" + pw + "@127.0.0.1:1/db"},
		{"--dsn", "mysql://u:" + pw + "@127.0.0.1:1/db"},
		{"--dsn", "postgres://u@127.0.0.1:1/db?password=" + pw},
		{"--dsn", "postgres://u:" + pw + "@127.0.0.1:1/db?sslmode=bogus"},
		{"--dsn", "mysql://u:" + pw + "@127.0.0.1:1/db?tls=bogus"},
		{"postgres://u:" + pw + "@127.0.0.1:1/db"},
	} {
		out, _ := exec.Command(bin, args...).CombinedOutput()
		if strings.Contains(string(out), pw) {
			t.Errorf("%q printed the password:\n%s", args, out)
		}
		if len(out) == 0 {
			t.Errorf("%q: no error printed", args)
		}
	}
}

// TestSIGHUPReopensAuditLog: logrotate renames the file and sends SIGHUP;
// the process keeps serving and the next record is in a new file at the
// original path, none lost.
func TestSIGHUPReopensAuditLog(t *testing.T) {
	bin := sqlmcpBinary(t)
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.jsonl")
	cmd := exec.Command(bin, "--demo", "--audit-log", audit)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	c := &lineClient{t: t, w: stdin, r: bufio.NewScanner(stdout), stderr: &stderr}
	c.initialize()
	c.call(2, "SELECT 1 AS one")
	if err := os.Rename(audit, audit+".1"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "audit log reopened") {
		if time.Now().After(deadline) {
			t.Fatalf("no reopen logged; stderr:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.call(3, "SELECT 2 AS two")
	c.call(4, "SELECT 3 AS three")
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr:\n%s", err, stderr.String())
	}
	for _, f := range []struct {
		path string
		sqls []string
	}{
		{audit + ".1", []string{"SELECT 1 AS one"}},
		{audit, []string{"SELECT 2 AS two", "SELECT 3 AS three"}},
	} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%s: %q", f.path, l)
			}
			got = append(got, fmt.Sprint(m["sql"]))
		}
		if strings.Join(got, "|") != strings.Join(f.sqls, "|") {
			t.Errorf("%s holds %q, want %q", f.path, got, f.sqls)
		}
	}
}

// lineClient speaks newline-delimited JSON-RPC to a child process.
type lineClient struct {
	t      *testing.T
	w      io.Writer
	r      *bufio.Scanner
	stderr *syncBuffer
}

func (c *lineClient) send(msg string) {
	c.t.Helper()
	if _, err := io.WriteString(c.w, msg+"\n"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *lineClient) recv() map[string]any {
	c.t.Helper()
	if !c.r.Scan() {
		c.t.Fatalf("no answer; stderr:\n%s", c.stderr.String())
	}
	var m map[string]any
	if err := json.Unmarshal(c.r.Bytes(), &m); err != nil {
		c.t.Fatalf("not JSON: %q", c.r.Text())
	}
	return m
}

func (c *lineClient) initialize() {
	c.t.Helper()
	c.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	if r := c.recv(); r["result"] == nil {
		c.t.Fatalf("initialize: %v", r)
	}
	c.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
}

func (c *lineClient) call(id int, sql string) map[string]any {
	c.t.Helper()
	q, _ := json.Marshal(sql)
	c.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"query","arguments":{"sql":%s}}}`, id, q))
	r := c.recv()
	if r["id"] != float64(id) {
		c.t.Fatalf("answer %v, want id %d", r, id)
	}
	return r
}
