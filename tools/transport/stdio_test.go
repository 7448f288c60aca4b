package transport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools"
)

// transcript runs a go-sdk server over transport t, sends each line of
// script (waiting for one answer line after each that has an "id"), and
// returns the answers and the error the session ended with.
//
// The echo tool answers with values large enough for a Splicer to park;
// when sp is set, the server uses its middleware.
func transcript(t *testing.T, mk func(io.ReadCloser, io.WriteCloser) mcp.Transport, sp *Splicer, script []string) ([]string, string) {
	t.Helper()
	server := mcp.NewServer(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	if sp != nil {
		server.AddReceivingMiddleware(sp.Middleware)
	}
	server.AddTool(&mcp.Tool{Name: "echo", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{
				Content: []mcp.Content{
					&mcp.TextContent{Text: strings.Repeat("<a> & b\u2028c\té\t\"q\"\n1\t2\n\x00", 40)},
					&mcp.TextContent{Text: "short"},
				},
				// Not what our tools produce (theirs is already compact),
				// but the SDK compacts it before the transport sees it.
				StructuredContent: json.RawMessage(`{"columns": ["<x>", "y&z"], "rows": [` +
					strings.Repeat(`[1, "\u2028", null, 1.5e3], `, 30) + `[2, "", true, -0.0]]}`),
			}, nil
		})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ss, err := server.Connect(context.Background(), mk(inR, outW), nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewReader(outR)
	var got []string
	for _, l := range script {
		if _, err := io.WriteString(inW, l+"\n"); err != nil {
			break
		}
		if !strings.Contains(l, `"id"`) && !strings.HasPrefix(l, "[]") {
			continue
		}
		done := make(chan string, 1)
		go func() {
			s, _ := lines.ReadString('\n')
			done <- s
		}()
		select {
		case s := <-done:
			got = append(got, s)
		case <-time.After(500 * time.Millisecond):
			got = append(got, "(no answer)")
		}
	}
	inW.Close()
	werr := make(chan error, 1)
	go func() { werr <- ss.Wait() }()
	var endErr string
	select {
	case err := <-werr:
		if err != nil {
			endErr = err.Error()
		}
	case <-time.After(2 * time.Second):
		endErr = "(did not end)"
	}
	ss.Close()
	outR.Close()
	return got, endErr
}

func TestStdioTransportMatchesIOTransport(t *testing.T) {
	sdk := func(r io.ReadCloser, w io.WriteCloser) mcp.Transport { return &mcp.IOTransport{Reader: r, Writer: w} }
	ours := func(r io.ReadCloser, w io.WriteCloser) mcp.Transport { return &Stdio{Reader: r, Writer: w} }
	init := func(v string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + v + `","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`
	}
	const initialized = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	scripts := map[string][]string{
		"calls": {
			init("2025-06-18"), initialized,
			`{"jsonrpc":"2.0","id":"<s>&","method":"tools/list"}`,
			`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}}}`,
			`  {"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"nope","arguments":{}}}`,
			`{"jsonrpc":"2.0","id":5,"method":"no/such"}`,
			`{"jsonrpc":"2.0","id":6,"method":"ping"}`,
		},
		"batch on 2025-03-26": {
			init("2025-03-26"), initialized,
			`[{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo","arguments":{}}}]`,
			`{"jsonrpc":"2.0","id":9,"method":"ping"}`,
		},
	}
	// Malformed frames and early errors are where we differ from ioConn
	// on purpose: see TestStdioMalformedFramesAreAnsweredAndSkipped.
	for name, script := range scripts {
		t.Run(name, func(t *testing.T) {
			want, wantErr := transcript(t, sdk, nil, script)
			got, gotErr := transcript(t, ours, nil, script)
			if len(got) != len(want) {
				t.Fatalf("answers: got %q, want %q", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("answer %d:\n got %s\nwant %s", i, got[i], want[i])
				}
			}
			if gotErr != wantErr {
				t.Errorf("session end: got %q, want %q", gotErr, wantErr)
			}

			// With a Splicer the large values skip the SDK's encoder:
			// the bytes differ (no HTML escaping), the JSON must not.
			sp := newSplicer(0)
			spliced, splicedErr := transcript(t, func(r io.ReadCloser, w io.WriteCloser) mcp.Transport {
				return &Stdio{Reader: r, Writer: w, Splicer: sp}
			}, sp, script)
			if len(spliced) != len(want) || splicedErr != wantErr {
				t.Fatalf("spliced: answers %q, end %q; want %q, %q", spliced, splicedErr, want, wantErr)
			}
			for i := range want {
				if strings.Contains(spliced[i], "sqlmcp-splice") {
					t.Errorf("answer %d: a marker reached the client: %s", i, spliced[i])
				}
				var g, w any
				if json.Unmarshal([]byte(want[i]), &w) != nil {
					if spliced[i] != want[i] {
						t.Errorf("spliced answer %d: got %q, want %q", i, spliced[i], want[i])
					}
					continue
				}
				if err := json.Unmarshal([]byte(spliced[i]), &g); err != nil {
					t.Errorf("answer %d is not JSON: %v: %s", i, err, spliced[i])
				} else if !reflect.DeepEqual(g, w) {
					t.Errorf("spliced answer %d:\n got %s\nwant %s", i, spliced[i], want[i])
				}
			}
		})
	}
}

// TestStdioMalformedFramesAreAnsweredAndSkipped: each malformed line gets
// a JSON-RPC error (-32700 for what is not JSON, -32600 for what is not a
// valid request, with the id when it can be read) and the session keeps
// serving: the ping after it is answered. ioConn ended the session.
func TestStdioMalformedFramesAreAnsweredAndSkipped(t *testing.T) {
	ours := func(r io.ReadCloser, w io.WriteCloser) mcp.Transport {
		return &Stdio{Reader: r, Writer: w, MaxLineLength: 8192}
	}
	init := func(v string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + v + `","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`
	}
	const initialized = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	const ping = `{"jsonrpc":"2.0","id":99,"method":"ping"}`
	for _, tc := range []struct {
		name, version, line, want string
	}{
		{"not json", "2025-06-18", `{"jsonrpc":"2.0","id":2,"method":`, `{"jsonrpc":"2.0","error":{"code":-32700,`},
		{"binary", "2025-06-18", "\x00\xff\xfe\x01\"id\"", `{"jsonrpc":"2.0","error":{"code":-32700,`},
		{"trailing data", "2025-06-18", `{"jsonrpc":"2.0","id":2,"method":"ping"} x`, `{"jsonrpc":"2.0","error":{"code":-32700,`},
		{"wrong version", "2025-06-18", `{"jsonrpc":"1.0","id":2,"method":"ping"}`, `{"jsonrpc":"2.0","id":2,"error":{"code":-32600,`},
		{"no version", "2025-06-18", `{"id":"x","method":"ping"}`, `{"jsonrpc":"2.0","id":"x","error":{"code":-32600,`},
		{"batch refused", "2025-06-18", `[{"jsonrpc":"2.0","id":7,"method":"ping"}]`, `{"jsonrpc":"2.0","error":{"code":-32600,`},
		{"empty batch", "2025-03-26", `[] `, `{"jsonrpc":"2.0","error":{"code":-32600,`},
		{"number", "2025-06-18", `42 "id"`, `{"jsonrpc":"2.0","error":{"code":-32700,`},
		{"over-long", "2025-06-18", `{"jsonrpc":"2.0","id":2,"method":"ping","params":{"x":"` + strings.Repeat("a", 100000) + `"}}`, `{"jsonrpc":"2.0","error":{"code":-32600,"message":"invalid request: the message exceeds the 8192-byte frame limit`},
		{"called before initialized", "", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, `{"jsonrpc":"2.0","id":2,"error":{"code":-32600,`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var script []string
			if tc.version != "" {
				script = append(script, init(tc.version), initialized)
			}
			script = append(script, tc.line, ping)
			got, endErr := transcript(t, ours, nil, script)
			if tc.version != "" {
				got = got[1:]
			}
			if len(got) != 2 || !strings.HasPrefix(got[0], tc.want) || !strings.Contains(got[1], `"id":99,"result"`) {
				t.Errorf("answers %q, want %s… then the ping's", got, tc.want)
			}
			if endErr != "" {
				t.Errorf("session ended with %q", endErr)
			}
		})
	}
}

func TestStdioTransportFrameLimit(t *testing.T) {
	mk := func(limit int) func(io.ReadCloser, io.WriteCloser) mcp.Transport {
		return func(r io.ReadCloser, w io.WriteCloser) mcp.Transport {
			return &Stdio{Reader: r, Writer: w, MaxLineLength: limit}
		}
	}
	big := `{"jsonrpc":"2.0","id":2,"method":"ping","params":{"x":"` + strings.Repeat("a", 4096) + `"}}`
	got, errText := transcript(t, mk(1024), nil, []string{big})
	if len(got) != 1 || !strings.Contains(got[0], "frame limit") || errText != "" {
		t.Errorf("over the limit: answers %q, session ended with %q", got, errText)
	}
	got, _ = transcript(t, mk(-1), nil, []string{big})
	if len(got) != 1 || !strings.Contains(got[0], `"id":2`) {
		t.Errorf("no limit: %q", got)
	}
}

// A call cancelled while queued is answered by the SDK before any handler
// or middleware runs, as {"code":0,"message":"context canceled"}: the
// transport gives it a real code and audits it.
func TestStdioCancelledBeforeHandlerIsWellFormedAndAudited(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var audited []string
	tr := &Stdio{Reader: inR, Writer: outW, Audit: func(tool string, args json.RawMessage, o tools.Outcome, code string) {
		audited = append(audited, tool+"/"+string(o)+"/"+code+"/"+string(args))
	}}
	conn, err := tr.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	go io.WriteString(inW, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1"}}}`+"\n")
	msg, err := conn.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 1)
	go func() { l, _ := bufio.NewReader(outR).ReadString('\n'); out <- l }()
	if err := conn.Write(context.Background(), &jsonrpc.Response{ID: msg.(*jsonrpc.Request).ID, Error: context.Canceled}); err != nil {
		t.Fatal(err)
	}
	if got, want := <-out, `{"jsonrpc":"2.0","id":7,"error":{"code":-32800,"message":"request cancelled before it ran"}}`+"\n"; got != want {
		t.Errorf("answer %s, want %s", got, want)
	}
	if want := []string{`query/cancelled/cancelled_before_start/{"sql":"SELECT 1"}`}; !reflect.DeepEqual(audited, want) {
		t.Errorf("audited %q, want %q", audited, want)
	}
	conn.Close()
}

// flakyWriter is a stdout whose next Write, once armed, writes half of
// its bytes and fails; later writes succeed (a transient failure).
type flakyWriter struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	armed     bool
	failed    bool
	afterFail int
}

func (w *flakyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.armed && !w.failed {
		w.failed = true
		w.buf.Write(p[:len(p)/2])
		return len(p) / 2, errors.New("injected write failure")
	}
	if w.failed {
		w.afterFail += len(p)
	}
	w.buf.Write(p)
	return len(p), nil
}

func (w *flakyWriter) Close() error { return nil }

func (w *flakyWriter) lines() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Count(w.buf.Bytes(), []byte("\n"))
}

// TestStdioWriteFailureEndsSession: once an answer failed to be written
// (here a large one, streamed through the Splicer), nothing more is
// written after the half-written frame (a malformed frame's -32700 would
// land on the same line), the failure is reported for the exit code, and
// the session ends although stdin stays open, instead of reading calls it
// can neither answer nor audit.
func TestStdioWriteFailureEndsSession(t *testing.T) {
	sp := newSplicer(0)
	server := mcp.NewServer(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	server.AddReceivingMiddleware(sp.Middleware)
	server.AddTool(&mcp.Tool{Name: "echo", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strings.Repeat("x", 4096)}}}, nil
		})
	inR, inW := io.Pipe()
	defer inW.Close()
	out := &flakyWriter{}
	tr := &Stdio{Reader: inR, Writer: out, Splicer: sp}
	ss, err := server.Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	ended := make(chan error, 1)
	go func() { ended <- ss.Wait() }()
	send := func(l string) {
		if _, err := io.WriteString(inW, l+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`)
	for deadline := time.Now().Add(10 * time.Second); out.lines() < 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no answer to initialize")
		}
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	out.mu.Lock()
	out.armed = true
	out.mu.Unlock()
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}}`)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out.mu.Lock()
		failed := out.failed
		out.mu.Unlock()
		if failed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the answer was never written")
		}
	}
	// The session may already have ended: these writes may fail.
	go func() {
		io.WriteString(inW, "not json\n")
		io.WriteString(inW, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}}}`+"\n")
	}()
	select {
	case err := <-ended:
		if err == nil {
			t.Error("session ended without an error after a failed write")
		}
	case <-time.After(10 * time.Second):
		t.Error("session still reading calls 10 s after its stdout failed")
	}
	if tr.WriteErr() == nil {
		t.Error("WriteErr() = nil after a failed write: the exit code would not report it")
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if out.afterFail > 0 {
		t.Errorf("%d bytes written after a half-written frame: %q", out.afterFail, out.buf.String())
	}
}
