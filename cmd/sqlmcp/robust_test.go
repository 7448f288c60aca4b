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
	"syscall"
	"testing"
	"time"
)

// TestDSNPasswordNeverPrinted: whatever the DSN form and whichever start-up
// path fails, the password is not on stderr or stdout.
func TestDSNPasswordNeverPrinted(t *testing.T) {
	bin := builtBinary(t)
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
	bin := builtBinary(t)
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

// startStdio starts the binary on stdio with args; stdin and a line
// reader of stdout are returned with the command.
func startStdioLines(t *testing.T, args ...string) (*exec.Cmd, io.WriteCloser, *lineClient) {
	t.Helper()
	cmd := exec.Command(builtBinary(t), args...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	return cmd, stdin, &lineClient{t: t, w: stdin, r: sc, stderr: stderr}
}

// TestStdioEOFAnswersCallsInFlight: stdin closes right after a slow call;
// the call still runs to its end and its answer is written before the
// process exits 0.
func TestStdioEOFAnswersCallsInFlight(t *testing.T) {
	cmd, stdin, c := startStdioLines(t, "--demo", "--query-timeout", "1s")
	c.initialize()
	for id := 2; id <= 4; id++ {
		c.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT count(*) FROM track a, track b, track c"}}}`, id))
	}
	time.Sleep(200 * time.Millisecond)
	stdin.Close()
	start := time.Now()
	seen := map[float64]bool{}
	for i := 0; i < 3; i++ {
		r := c.recv()
		res, _ := r["result"].(map[string]any)
		if res == nil {
			t.Fatalf("answer %v, want a tool result", r)
		}
		seen[r["id"].(float64)] = true
	}
	if len(seen) != 3 {
		t.Errorf("answered %v, want calls 2, 3 and 4", seen)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v; stderr:\n%s", err, c.stderr.String())
	}
	// Three 1s timeouts on a pool of two, + grace, with room for a busy
	// machine.
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %s after EOF", d)
	}
}

// TestStdioKeepsServingAfterMalformedLines: through the binary, a line of
// garbage is answered -32700 and the next call is served; a stdin that
// cannot be read ends the process non-zero.
func TestStdioKeepsServingAfterMalformedLines(t *testing.T) {
	cmd, stdin, c := startStdioLines(t, "--demo")
	c.initialize()
	c.send("\x00\x01garbage{{")
	if r := c.recv(); r["error"].(map[string]any)["code"] != float64(-32700) || r["id"] != nil {
		t.Errorf("garbage answered %v, want -32700 with id null", r)
	}
	if r := c.call(2, "SELECT 1 AS one"); r["result"] == nil {
		t.Errorf("call after garbage: %v", r)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after EOF: %v, want 0", err)
	}

	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	bad := exec.Command(builtBinary(t), "--demo")
	bad.Stdin = dir // read(2) fails: EISDIR
	out, err := bad.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
		t.Errorf("unreadable stdin: exit %v, want non-zero; output:\n%s", err, out)
	}
}

// rssMB is the resident set of a process, in MiB.
func rssMB(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skip("no /proc")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%f", &kb)
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestStdioBackpressure: a client pipelines thousands of calls without
// reading the answers. The server stops reading once 64 are unanswered,
// so its memory stays bounded; then every answer arrives.
func TestStdioBackpressure(t *testing.T) {
	const calls = 5000
	cmd, stdin, c := startStdioLines(t, "--demo")
	c.initialize()
	base := rssMB(t, cmd.Process.Pid)
	sent := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(stdin)
		for id := 2; id < 2+calls; id++ {
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT * FROM track","limit":100}}}`+"\n", id)
		}
		sent <- w.Flush()
	}()
	// Let the server run into the bound.
	peak := 0.0
	for i := 0; i < 30; i++ {
		time.Sleep(100 * time.Millisecond)
		peak = max(peak, rssMB(t, cmd.Process.Pid))
	}
	t.Logf("RSS %.0f MiB at start, %.0f MiB peak with %d calls pipelined and unread", base, peak, calls)
	if peak > base+100 {
		t.Errorf("RSS grew from %.0f to %.0f MiB with unread answers: no backpressure", base, peak)
	}
	seen := 0
	for seen < calls {
		r := c.recv()
		if r["result"] == nil {
			t.Fatalf("answer %v", r)
		}
		seen++
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}

// TestOneAuditRecordPerToolsCall, through the binary: an unknown tool, a
// duplicate request id and a call cancelled while queued each leave one
// record, as do the calls that ran; none leaves two.
func TestOneAuditRecordPerToolsCall(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	cmd, stdin, c := startStdioLines(t, "--demo", "--query-timeout", "2s", "--audit-log", audit)
	c.initialize()
	slow := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT count(*) FROM track a, track b, track c"}}}`
	c.send(slow)
	c.send(slow) // same id while the first runs
	if r := c.recv(); r["error"] == nil || r["error"].(map[string]any)["code"] != float64(-32600) || r["id"] != nil {
		t.Errorf("duplicate id answered %v, want -32600 with id null", r)
	}
	if r := c.recv(); r["id"] != float64(2) || r["result"] == nil {
		t.Errorf("first call answered %v", r)
	}
	c.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"drop_everything","arguments":{"sql":"DROP TABLE track"}}}`)
	if r := c.recv(); r["id"] != float64(3) || r["error"] == nil {
		t.Errorf("unknown tool answered %v", r)
	}
	c.call(4, "SELECT 1 AS one")
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	var got []string
	for _, m := range readAuditFile(t, audit) {
		got = append(got, fmt.Sprintf("%v/%v/%v", m["tool"], m["outcome"], m["error"]))
	}
	want := []string{"query/denied/duplicate_id", "query/timeout/", "drop_everything/denied/unknown_tool", "query/ok/<nil>"}
	if len(got) != len(want) {
		t.Fatalf("records %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("record %d = %s, want %s…", i, got[i], want[i])
		}
	}
}

// TestStdioSIGTERMAnswersAndAuditsEveryCallRead: calls pipelined before
// SIGTERM are each answered (run to their end, or refused as shutting
// down) and each leaves one audit record; the process exits 0.
func TestStdioSIGTERMAnswersAndAuditsEveryCallRead(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	cmd, _, c := startStdioLines(t, "--demo", "--query-timeout", "1s", "--audit-log", audit)
	c.initialize()
	const calls = 6
	for id := 2; id < 2+calls; id++ {
		c.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT count(*) FROM track a, track b, track c"}}}`, id))
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	for i := 0; i < calls; i++ {
		if r := c.recv(); r["result"] == nil {
			t.Errorf("answer %v, want a tool result", r)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v; stderr:\n%s", err, c.stderr.String())
	}
	b, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != calls {
		t.Errorf("%d audit records for %d calls:\n%s", n, calls, b)
	}
}

// readAuditFile reads an --audit-log file: one JSON object per line, and
// a line that is not one (a torn record) fails the test.
func readAuditFile(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("torn record %q", l)
		}
		recs = append(recs, m)
	}
	return recs
}
