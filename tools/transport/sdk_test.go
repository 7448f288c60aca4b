package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools"
)

// recording is a server-side transport that hands every message the SDK
// writes, as the Go value it wrote, to out before passing it on.
type recording struct {
	mcp.Transport
	out chan jsonrpc.Message
}

func (r recording) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := r.Transport.Connect(ctx)
	return recordingConn{c, r.out}, err
}

type recordingConn struct {
	mcp.Connection
	out chan jsonrpc.Message
}

func (c recordingConn) Write(ctx context.Context, m jsonrpc.Message) error {
	select {
	case c.out <- m:
	default:
	}
	return c.Connection.Write(ctx, m)
}

// sdkText and sdkStructured are a tool result with what an encoder may
// treat specially: HTML characters, U+2028, control characters, and (in
// the structured value) insignificant whitespace.
var (
	sdkText       = strings.Repeat("<a> & b\u2028c\té\t\"q\"\n\x00", 60)
	sdkStructured = `{"columns": [{"name": "<x>", "type": "TEXT"}], "rows": [` + strings.Repeat(`["<v> & \u2028", 1.5e3, null], `, 40) + `[true]]}`
)

// sdkServer is a server with one tool, "t", answering sdkText and
// sdkStructured; its messages are recorded to the returned channel.
func sdkServer(t *testing.T, splice bool) (*mcp.ClientSession, chan jsonrpc.Message, *Splicer) {
	t.Helper()
	server := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
	server.AddTool(&mcp.Tool{Name: "t", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{
				Content:           []mcp.Content{&mcp.TextContent{Text: sdkText}},
				StructuredContent: json.RawMessage(sdkStructured),
			}, nil
		})
	var sp *Splicer
	if splice {
		sp = Splice(server, 0, 1<<20)
	}
	st, ct := mcp.NewInMemoryTransports()
	out := make(chan jsonrpc.Message, 16)
	ss, err := server.Connect(context.Background(), recording{st, out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, out, sp
}

// callResponse calls tool t and returns the response the SDK wrote for it.
func callResponse(t *testing.T, cs *mcp.ClientSession, out chan jsonrpc.Message) *jsonrpc.Response {
	t.Helper()
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "t", Arguments: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case m := <-out:
			if r, ok := m.(*jsonrpc.Response); ok && bytes.Contains(r.Result, []byte(`"content"`)) {
				return r
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no response to tools/call was written")
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("not JSON: %v: %.200s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("not JSON: %v: %.200s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

// TestSDKAssumptions checks, against the go-sdk in go.mod, each behaviour
// of the SDK this package relies on without the SDK documenting it (the
// list is in doc.go). A go-sdk upgrade that changes one fails here, by
// name, rather than as a subtly wrong answer in production.
func TestSDKAssumptions(t *testing.T) {
	t.Run("the last receiving middleware added is the outermost", func(t *testing.T) {
		server := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
		var mu sync.Mutex
		var order []string
		mw := func(name string) mcp.Middleware {
			return func(next mcp.MethodHandler) mcp.MethodHandler {
				return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
					if method == "ping" {
						mu.Lock()
						order = append(order, name)
						mu.Unlock()
					}
					return next(ctx, method, req)
				}
			}
		}
		server.AddReceivingMiddleware(mw("first added"))
		server.AddReceivingMiddleware(mw("last added"))
		st, ct := mcp.NewInMemoryTransports()
		ss, err := server.Connect(context.Background(), st, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ss.Close()
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(), ct, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		if err := cs.Ping(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if want := []string{"last added", "first added"}; !reflect.DeepEqual(order, want) {
			t.Errorf("middleware ran in order %q, want %q (Splice must be outermost)", order, want)
		}
	})

	t.Run("a tools/call result is encoded after the outermost middleware, each value once, markers verbatim", func(t *testing.T) {
		cs, out, sp := sdkServer(t, true)
		resp := callResponse(t, cs, out)
		if n := bytes.Count(resp.Result, sp.marker); n != 2 {
			t.Fatalf("the encoded result holds %d markers, want 2 (structuredContent and the text, once each): %.300s", n, resp.Result)
		}
		for _, field := range []string{`"structuredContent":` + string(sp.marker), `"text":` + string(sp.marker)} {
			if !bytes.Contains(resp.Result, []byte(field)) {
				t.Errorf("the encoded result has no %s…: %.300s", field, resp.Result)
			}
		}
		if sp.Pending() != 2 {
			t.Errorf("%d values parked, want 2", sp.Pending())
		}
		expanded, lost := sp.Expand(nil, resp.Result)
		if lost {
			t.Fatal("a value was lost")
		}
		plainCS, plainOut, _ := sdkServer(t, false)
		plain := callResponse(t, plainCS, plainOut)
		if !jsonEqual(t, expanded, plain.Result) {
			t.Errorf("expanded result differs from the SDK's own encoding:\n got %.300s\nwant %.300s", expanded, plain.Result)
		}
	})

	t.Run("a Result is compact, and EncodeMessage writes it last and unchanged", func(t *testing.T) {
		cs, out, _ := sdkServer(t, false)
		resp := callResponse(t, cs, out)
		var compact bytes.Buffer
		if err := json.Compact(&compact, resp.Result); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(compact.Bytes(), resp.Result) {
			t.Errorf("the SDK's Result is not compact: %.300s", resp.Result)
		}
		whole, err := jsonrpc.EncodeMessage(resp)
		if err != nil {
			t.Fatal(err)
		}
		env, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: resp.ID, Result: resultPlaceholder})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(env, []byte(`"result":0}`)) {
			t.Fatalf("the envelope does not end with the result: %s", env)
		}
		spliced := append(append(env[:len(env)-2:len(env)-2], resp.Result...), '}')
		if !bytes.Equal(whole, spliced) {
			t.Errorf("EncodeMessage(resp) is not the envelope around Result as it is:\n got %.300s\nwant %.300s", whole, spliced)
		}
	})

	t.Run("early errors, and initialize naming the protocol version", func(t *testing.T) {
		server := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
		server.AddTool(&mcp.Tool{Name: "t", InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{}, nil
			})
		release := make(chan struct{})
		server.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
			return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
				if method == "initialize" {
					<-release // calls read meanwhile queue behind it
				}
				return next(ctx, method, req)
			}
		})
		st, ct := mcp.NewInMemoryTransports()
		out := make(chan jsonrpc.Message, 16)
		ss, err := server.Connect(context.Background(), recording{st, out}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ss.Close()
		client, err := ct.Connect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		go func() { // drain the client's side
			for {
				if _, err := client.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		send := func(s string) {
			t.Helper()
			m, err := jsonrpc.DecodeMessage([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			if err := client.Write(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
		answer := func(id int64) *jsonrpc.Response {
			t.Helper()
			want, _ := jsonrpc.MakeID(float64(id))
			for {
				select {
				case m := <-out:
					if r, ok := m.(*jsonrpc.Response); ok && r.ID == want {
						return r
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no answer to call %d", id)
				}
			}
		}
		// A call before initialize: refused with a plain error, code 0.
		send(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
		if r := answer(1); r.Error == nil || !strings.Contains(r.Error.Error(), "invalid during session initialization") {
			t.Errorf("a call before initialize was answered %+v, want an error naming session initialization", r)
		} else if fixed := fixEarlyError(r, pendingCall{}, nil); !isCode(fixed.Error, jsonrpc.CodeInvalidRequest) {
			t.Errorf("the SDK's refusal %v is not recognised as such (became %v)", r.Error, fixed.Error)
		}
		// A call cancelled while queued behind initialize: answered with
		// context.Canceled, code 0, before any middleware sees it.
		send(`{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`)
		send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":{}}}`)
		send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`)
		time.Sleep(50 * time.Millisecond) // let the cancellation be read
		close(release)
		// Batches are refused from 2025-06-18 on: the transport reads
		// the version from this answer.
		var init struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		if r := answer(2); r.Error != nil || json.Unmarshal(r.Result, &init) != nil || init.ProtocolVersion != protocol20250618 {
			t.Errorf("initialize answered %+v: no protocolVersion %s", r, protocol20250618)
		}
		r := answer(3)
		if r.Error == nil || !isCode(r.Error, 0) {
			t.Fatalf("a call cancelled while queued was answered %+v, want an error with code 0", r)
		}
		if fixed := fixEarlyError(r, pendingCall{}, nil); !isCode(fixed.Error, tools.CodeRequestCancelled) {
			t.Errorf("the SDK's answer %v to a call cancelled while queued is not recognised (became %v)", r.Error, fixed.Error)
		}
	})

	t.Run("streamable HTTP writes each message in one Write", func(t *testing.T) {
		server := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
		server.AddTool(&mcp.Tool{Name: "t", InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{
					Content:           []mcp.Content{&mcp.TextContent{Text: sdkText}},
					StructuredContent: json.RawMessage(sdkStructured),
				}, nil
			})
		sp := Splice(server, time.Minute, 1<<20)
		sdk := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
		var mu sync.Mutex
		var writes [][]byte
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Between the SDK's handler and the Splicer's writer: the
			// SDK's own Writes, markers and all.
			sdk.ServeHTTP(&writeRecorder{ResponseWriter: sp.HTTPWriter(w, nil), record: func(p []byte) {
				mu.Lock()
				writes = append(writes, bytes.Clone(p))
				mu.Unlock()
			}}, r)
		}))
		defer ts.Close()
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "c"}, nil).Connect(context.Background(),
			&mcp.StreamableClientTransport{Endpoint: ts.URL, MaxRetries: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "t", Arguments: map[string]any{}})
		if err != nil {
			t.Fatal(err)
		}
		if tc, ok := res.Content[0].(*mcp.TextContent); !ok || tc.Text != sdkText {
			t.Errorf("the client read a different text: %.100v", res.Content[0])
		}
		mu.Lock()
		defer mu.Unlock()
		messages, spliced := 0, 0
		for _, p := range writes {
			if !bytes.Contains(p, []byte(`"jsonrpc"`)) {
				continue
			}
			messages++
			start, end := bytes.IndexByte(p, '{'), bytes.LastIndexByte(p, '}')
			if start < 0 || end < start || !json.Valid(p[start:end+1]) {
				t.Errorf("a Write holds part of a message: %.200q", p)
			}
			if bytes.Contains(p, sp.marker) {
				spliced++
			}
		}
		if spliced != 1 {
			t.Errorf("%d Writes held the call's markers, want 1", spliced)
		}
		if messages < 2 {
			t.Errorf("saw %d messages written, want at least initialize's and the call's", messages)
		}
	})

	t.Run("streamable HTTP refuses a duplicate in-flight id itself, in the words earlyErrorWriter matches", func(t *testing.T) {
		server := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
		started, release := make(chan struct{}, 1), make(chan struct{})
		server.AddTool(&mcp.Tool{Name: "slow", InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				started <- struct{}{}
				<-release
				return &mcp.CallToolResult{}, nil
			})
		ts := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil))
		defer ts.Close()
		defer close(release)
		session := ""
		post := func(body string) (*http.Response, []byte, error) {
			req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", protocol20250618)
			if session != "" {
				req.Header.Set("Mcp-Session-Id", session)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, nil, err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return resp, b, err
		}
		resp, _, err := post(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`)
		if err != nil {
			t.Fatal(err)
		}
		session = resp.Header.Get("Mcp-Session-Id")
		if _, _, err := post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
			t.Fatal(err)
		}
		const call = `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"slow","arguments":{}}}`
		go post(call)
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("the first call did not start")
		}
		_, body, err := post(call)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(body, sdkDuplicate) {
			t.Errorf("a duplicate in-flight id was answered %q; earlyErrorWriter looks for %q", body, sdkDuplicate)
		}
	})
}

// writeRecorder sees each Write the SDK's handler makes.
type writeRecorder struct {
	http.ResponseWriter
	record func([]byte)
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.record(p)
	return w.ResponseWriter.Write(p)
}

func (w *writeRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func isCode(err error, code int64) bool {
	je, ok := err.(*jsonrpc.Error)
	if !ok {
		return code == 0 && err != nil
	}
	return je.Code == code
}
