package main

import (
	"bufio"
	"cmp"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/dialect/sqlite"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// builtBinary builds sqlmcp once per test run, as users run it.
func builtBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	binOnce.Do(func() {
		if b := os.Getenv("SQLMCP_MEASURE_BIN"); b != "" && os.Getenv("SQLMCP_MEASURE") != "" {
			binPath = b // measuring another build
			return
		}
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

// stdioServer is the built binary serving over its stdin and stdout.
type stdioServer struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *syncBuffer
	nextID int
}

func startStdio(t *testing.T, args ...string) *stdioServer {
	t.Helper()
	s := startProcess(t, args...)
	s.send(t, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	if _, err := s.out.ReadBytes('\n'); err != nil {
		t.Fatalf("no initialize answer: %v; stderr: %s", err, s.stderr.String())
	}
	s.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return s
}

func startProcess(t *testing.T, args ...string) *stdioServer {
	t.Helper()
	cmd := exec.Command(builtBinary(t), args...)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	s := &stdioServer{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20), stderr: &syncBuffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return s
}

// startHTTPSession runs the binary with --transport http and opens a session.
func startHTTPSession(t *testing.T, args ...string) (s *stdioServer, url, session string) {
	t.Helper()
	addr := freePort(t)
	s = startProcess(t, append(args, "--transport", "http", "--listen", addr)...)
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 20s; stderr:\n%s", s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	url = base + "/mcp"
	resp, body := post(t, url, nil, initialize)
	session = resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || session == "" {
		t.Fatalf("initialize: %d %s", resp.StatusCode, body)
	}
	post(t, url, map[string]string{"Mcp-Session-Id": session}, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return s, url, session
}

// callsHTTP makes n concurrent calls on the session and decodes the answers.
func callsHTTP(t *testing.T, url, session, sql string, n int) []callResult {
	t.Helper()
	args, _ := json.Marshal(map[string]any{"sql": sql, "limit": 1000})
	out := make([]callResult, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"query","arguments":%s}}`, i+1, args)
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Session-Id", session)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				errs <- err
				return
			}
			// One SSE event: the message is the data line.
			_, data, ok := strings.Cut(string(b), "data: ")
			if !ok {
				errs <- fmt.Errorf("answer is not an SSE event: %.200s", b)
				return
			}
			line := []byte(strings.TrimSpace(data))
			r, err := decodeAnswer(line)
			out[i] = r
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func (s *stdioServer) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := io.WriteString(s.in, msg+"\n"); err != nil {
		t.Fatalf("write: %v; stderr: %s", err, s.stderr.String())
	}
}

// callResult is what a test reads from one tools/call answer.
type callResult struct {
	IsError   bool
	Text      string
	Truncated bool
	Reason    string
	Rows      int
	Bytes     int // size of the whole JSON-RPC message
}

// call sends one query and reads its answer.
func (s *stdioServer) call(t *testing.T, sql string, limit int) callResult {
	t.Helper()
	s.nextID++
	args, _ := json.Marshal(map[string]any{"sql": sql, "limit": limit})
	s.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"query","arguments":%s}}`, s.nextID, args))
	return s.read(t)
}

// read reads the next answer to a tools/call.
func (s *stdioServer) read(t *testing.T) callResult {
	t.Helper()
	line, err := s.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("no answer: %v; stderr: %s", err, s.stderr.String())
	}
	r, err := decodeAnswer(line)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func decodeAnswer(line []byte) (callResult, error) {
	var msg struct {
		ID     int
		Result struct {
			IsError           bool
			Content           []struct{ Text string }
			StructuredContent struct {
				RowCount        int    `json:"row_count"`
				Truncated       bool   `json:"truncated"`
				TruncatedReason string `json:"truncated_reason"`
			}
		}
		Error *struct{ Message string }
	}
	if err := json.Unmarshal(line, &msg); err != nil || msg.ID == 0 {
		return callResult{}, fmt.Errorf("answer unreadable (%v): %.300s", err, line)
	}
	if msg.Error != nil {
		return callResult{}, fmt.Errorf("JSON-RPC error: %s", msg.Error.Message)
	}
	r := callResult{IsError: msg.Result.IsError, Rows: msg.Result.StructuredContent.RowCount,
		Truncated: msg.Result.StructuredContent.Truncated, Reason: msg.Result.StructuredContent.TruncatedReason, Bytes: len(line)}
	if len(msg.Result.Content) > 0 {
		r.Text = msg.Result.Content[0].Text
		if len(r.Text) > 300 {
			r.Text = r.Text[:300]
		}
	}
	return r, nil
}

// memStatus reads VmHWM (peak) and VmRSS of the process, in bytes.
func (s *stdioServer) memStatus(t *testing.T) (hwm, rss int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmHWM:":
			hwm = n << 10
		case "VmRSS:":
			rss = n << 10
		}
	}
	return hwm, rss
}

// memBackend is a database the memory tests can run against.
type memBackend struct {
	name string
	dsn  string
	// big selects 100 rows of 1 MiB each.
	big string
}

// memBackends: SQLite always; PostgreSQL and MariaDB/MySQL where they
// answer (SQLMCP_TEST_POSTGRES, SQLMCP_TEST_MYSQL), or fail when
// SQLMCP_REQUIRE_BACKENDS names them.
func memBackends(t *testing.T) []memBackend {
	file := filepath.Join(t.TempDir(), "mem.db")
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE one(x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	const hundred = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100) `
	bs := []memBackend{{name: "sqlite", dsn: "sqlite://" + file, big: hundred + `SELECT printf('%.*c', 1048576, 'x') FROM n`}}
	for _, b := range []struct{ name, env, def, big string }{
		{"postgres", "SQLMCP_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
			`SELECT repeat('x', 1048576) FROM generate_series(1, 100)`},
		{"mysql", "SQLMCP_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test", hundred + `SELECT REPEAT('x', 1048576) FROM n`},
	} {
		dsn := cmp.Or(os.Getenv(b.env), b.def)
		if err := reachable(dsn); err != nil {
			if strings.Contains(","+os.Getenv("SQLMCP_REQUIRE_BACKENDS")+",", ","+b.name+",") {
				t.Fatalf("%s is required but unreachable: %v", b.name, err)
			}
			t.Logf("SKIPPING %s: %v (set %s)", b.name, err, b.env)
			continue
		}
		bs = append(bs, memBackend{name: b.name, dsn: dsn, big: b.big})
	}
	return bs
}

func reachable(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// rssBaseline is what the process may use beside the results: the
// binary and runtime at start (about 15 MiB), SQLite's page cache and
// heap, the drivers' buffers, one row in flight and the rows a
// PostgreSQL result sends past a byte-cap truncation (the driver reads
// them on close, up to the page's LIMIT).
const rssBaseline = 40 << 20

// TestPeakRSSPerCallIsBoundedByCap runs the built binary over stdio and
// asks for 100 rows of 1 MiB under a raised --max-result-bytes: peak RSS
// must stay within 3× the cap per call in flight (the answer holds the
// rows' JSON and the text, each up to the cap; the rest is the drivers'
// garbage) plus rssBaseline, and RSS must come back once the burst is
// written. Before the fix one such call took 17× the cap and RSS stayed
// at the peak.
func TestPeakRSSPerCallIsBoundedByCap(t *testing.T) {
	for _, b := range memBackends(t) {
		for _, tc := range []struct {
			transport string
			calls     int
			capBytes  int
		}{
			{"stdio", 1, 32 << 20},
			{"stdio", 4, 12 << 20},
			{"http", 4, 12 << 20},
		} {
			t.Run(fmt.Sprintf("%s/%s/%dx%dMiB", b.name, tc.transport, tc.calls, tc.capBytes>>20), func(t *testing.T) {
				args := []string{"--dsn", b.dsn, "--max-result-bytes", strconv.Itoa(tc.capBytes), "--max-rows", "1000"}
				var s *stdioServer
				var answers []callResult
				var start int
				if tc.transport == "http" {
					var url, session string
					s, url, session = startHTTPSession(t, args...)
					_, start = s.memStatus(t)
					answers = callsHTTP(t, url, session, b.big, tc.calls)
				} else {
					s = startStdio(t, args...)
					_, start = s.memStatus(t)
					var batch strings.Builder
					for range tc.calls {
						s.nextID++
						a, _ := json.Marshal(map[string]any{"sql": b.big, "limit": 1000})
						fmt.Fprintf(&batch, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"query","arguments":%s}}`+"\n", s.nextID, a)
					}
					// All calls in flight at once.
					s.send(t, strings.TrimSuffix(batch.String(), "\n"))
					for range tc.calls {
						answers = append(answers, s.read(t))
					}
				}
				for _, r := range answers {
					if r.IsError || r.Reason != "byte_limit" || r.Rows < tc.capBytes/(1<<20)-2 {
						t.Fatalf("answer: error %v, %d rows, truncated %q: %s; want about %d rows cut by byte_limit",
							r.IsError, r.Rows, r.Reason, r.Text, tc.capBytes>>20)
					}
					if limit := 2*tc.capBytes + 64<<10; r.Bytes > limit {
						t.Errorf("answer is %d bytes, want at most %d (each form within the cap)", r.Bytes, limit)
					}
				}
				peak, _ := s.memStatus(t)
				limit := tc.calls*3*tc.capBytes + rssBaseline
				t.Logf("peak RSS %d MiB for %d call(s) at a %d MiB cap (bound %d MiB; %.1f× cap per call above the start's %d MiB)",
					peak>>20, tc.calls, tc.capBytes>>20, limit>>20, float64(peak-start)/float64(tc.calls*tc.capBytes), start>>20)
				if peak > limit {
					t.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, limit>>20)
				}
				if os.Getenv("SQLMCP_MEASURE") == "2" {
					t.Log(s.stderr.String())
				}
				// The memory goes back to the system shortly after the burst.
				deadline := time.Now().Add(15 * time.Second)
				for {
					_, rss := s.memStatus(t)
					if rss <= start+24<<20 {
						break
					}
					if time.Now().After(deadline) {
						t.Errorf("RSS still %d MiB 15 s after the burst (start %d MiB, peak %d MiB)", rss>>20, start>>20, peak>>20)
						break
					}
					time.Sleep(250 * time.Millisecond)
				}
			})
		}
	}
}

// TestMeasureRSS is a measurement, not an assertion: it prints the peak
// RSS of a 64 MiB-capped call.
func TestMeasureRSS(t *testing.T) {
	if os.Getenv("SQLMCP_MEASURE") == "" {
		t.Skip("set SQLMCP_MEASURE=1")
	}
	const capBytes = 64 << 20
	for _, b := range memBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := startStdio(t, "--dsn", b.dsn, "--max-result-bytes", strconv.Itoa(capBytes), "--max-rows", "1000")
			base, _ := s.memStatus(t)
			r := s.call(t, b.big, 1000)
			hwm, rss := s.memStatus(t)
			time.Sleep(3 * time.Second)
			_, rssLater := s.memStatus(t)
			t.Logf("%s: base %d MiB, peak %d MiB (%.1f× cap), RSS after %d MiB, 3 s later %d MiB; rows %d truncated %v %s, message %d MiB, err %v",
				b.name, base>>20, hwm>>20, float64(hwm-base)/capBytes, rss>>20, rssLater>>20, r.Rows, r.Truncated, r.Reason, r.Bytes>>20, r.IsError)
			if os.Getenv("SQLMCP_MEASURE") == "2" {
				t.Log(s.stderr.String())
			}
		})
	}
}

// TestSQLiteWideRowIsBoundedBeforeItIsCopied: one row of 2000 columns
// (SQLite's maximum) of ~1 MiB values, each within the value limit, used to
// make the process allocate 2 to 3 times the row (4–6 GB) before the byte
// cap could refuse it. Now SQLite's heap limit stops the row while it is
// built, and the answer is an error saying why; peak RSS stays within the
// heap limit and the Go copy of a row that fits it, however wide the row.
// A row that fits is refused by the cap before it is encoded.
func TestSQLiteWideRowIsBoundedBeforeItIsCopied(t *testing.T) {
	b := memBackends(t)[0]
	limit := int(sqlite.HeapLimit(1<<20+1))*2 + rssBaseline
	for _, tc := range []struct {
		fn   string
		cols int
	}{
		{"zeroblob(1048000)", 2000},
		{"randomblob(1048000)", 2000},
		{"printf('%.*c', 1048000, 'x')", 2000},
		{"printf('%.*c', 1048000, 'x')", 60}, // fits the heap limit: refused by the cap
	} {
		t.Run(fmt.Sprintf("%s×%d", tc.fn, tc.cols), func(t *testing.T) {
			s := startStdio(t, "--dsn", b.dsn)
			r := s.call(t, wideRow(tc.fn, tc.cols), 10)
			peak, _ := s.memStatus(t)
			t.Logf("peak RSS %d MiB (bound %d MiB): error %v, %d rows %s: %.120s", peak>>20, limit>>20, r.IsError, r.Rows, r.Reason, r.Text)
			if peak > limit {
				t.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, limit>>20)
			}
			switch {
			case r.IsError && strings.Contains(r.Text, "SQLITE_NOMEM") && strings.Contains(r.Text, "fewer or narrower columns"):
			case !r.IsError && r.Rows == 0 && r.Reason == "byte_limit":
			default:
				t.Errorf("answer: error %v, %d rows, %q: %.200s; want the heap limit's error or a byte_limit truncation", r.IsError, r.Rows, r.Reason, r.Text)
			}
			// The connection stays usable.
			if r := s.call(t, "SELECT 1 AS one", 1); r.IsError || r.Rows != 1 {
				t.Errorf("next call: %+v", r)
			}
		})
	}
}

// wideRow is one row of n columns of the value fn builds.
func wideRow(fn string, n int) string {
	cols := make([]string, n)
	for i := range cols {
		cols[i] = fmt.Sprintf("%s AS c%d", fn, i)
	}
	return "SELECT " + strings.Join(cols, ", ")
}

// TestMeasureRSSConcurrentHTTP prints the peak RSS of 4 concurrent calls
// at a 64 MiB cap over HTTP.
func TestMeasureRSSConcurrentHTTP(t *testing.T) {
	if os.Getenv("SQLMCP_MEASURE") == "" {
		t.Skip("set SQLMCP_MEASURE=1")
	}
	const capBytes = 64 << 20
	for _, b := range memBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			s, url, session := startHTTPSession(t, "--dsn", b.dsn, "--max-result-bytes", strconv.Itoa(capBytes), "--max-rows", "1000")
			base, _ := s.memStatus(t)
			rs := callsHTTP(t, url, session, b.big, 4)
			hwm, _ := s.memStatus(t)
			time.Sleep(3 * time.Second)
			_, later := s.memStatus(t)
			t.Logf("%s: 4 calls over HTTP: base %d MiB, peak %d MiB (%.1f× cap per call), 3 s later %d MiB; rows %d %s",
				b.name, base>>20, hwm>>20, float64(hwm-base)/(4*capBytes), later>>20, rs[0].Rows, rs[0].Reason)
		})
	}
}

// TestMeasureAbandonedSessions prints what 1,500 abandoned HTTP sessions
// cost the built binary at the default cap.
func TestMeasureAbandonedSessions(t *testing.T) {
	if os.Getenv("SQLMCP_MEASURE") == "" {
		t.Skip("set SQLMCP_MEASURE=1")
	}
	s, url, _ := startHTTPSession(t, "--demo")
	_, base := s.memStatus(t)
	refused := 0
	for range 1500 {
		if _, status, _ := openSession(t, url); status == http.StatusServiceUnavailable {
			refused++
		}
	}
	_, rss := s.memStatus(t)
	t.Logf("1500 sessions opened and abandoned: %d refused, RSS %d MiB → %d MiB", refused, base>>20, rss>>20)
}
