package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools"
)

// The go-sdk's streamable handler (v1.8.0) runs a call's handler on the
// session's connection, whose context does not end with the HTTP request
// that carried the call: jsonrpc2 wraps it so that it is never done
// (notDone), and StreamableHTTPOptions.PropagateRequestCancellation only
// applies from protocol 2026-07-28 on. In stateful and in --stateless
// mode alike, a client that drops its POST therefore left the statement
// running to its timeout, holding its pool connection.
//
// callCarriers ties each call back to its POST: the HTTP layer tags the
// request with a private header naming its context (the SDK hands the
// request's header to the handler as RequestExtra.Header), and a
// receiving middleware ends the call's context when that request's
// context ends.
type callCarriers struct {
	mu   sync.Mutex
	reqs map[string]context.Context
}

// carrierHeader names the POST a call came in on. A client's own value
// is replaced.
const carrierHeader = "Sqlmcp-Carrier"

// carrierGoneTTL is how long a finished POST stays known, so that a call
// whose client left before the call started is cancelled too.
const carrierGoneTTL = time.Minute

func newCallCarriers() *callCarriers { return &callCarriers{reqs: make(map[string]context.Context)} }

// tag registers r's context and returns r carrying its tag, and the
// function to call once the request has been served.
func (c *callCarriers) tag(r *http.Request) func() {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	r.Header.Set(carrierHeader, id)
	c.mu.Lock()
	c.reqs[id] = r.Context()
	c.mu.Unlock()
	return func() {
		// The request's context is done once ServeHTTP returns; the
		// entry is kept a while for a call that starts after that.
		time.AfterFunc(carrierGoneTTL, func() {
			c.mu.Lock()
			delete(c.reqs, id)
			c.mu.Unlock()
		})
	}
}

// middleware ends a tools/call's context when its POST's context ends
// (the client went away, or the server closed the request).
func (c *callCarriers) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method != "tools/call" {
			return next(ctx, method, req)
		}
		var carrier context.Context
		if ex := req.GetExtra(); ex != nil && ex.Header != nil {
			if id := ex.Header.Get(carrierHeader); id != "" {
				c.mu.Lock()
				carrier = c.reqs[id]
				c.mu.Unlock()
			}
		}
		if carrier == nil {
			return next(ctx, method, req)
		}
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := context.AfterFunc(carrier, func() { cancel(context.Canceled) })
		defer stop()
		return next(ctx, method, req)
	}
}

// earlyErrorWriter is the HTTP side of fixEarlyError: the go-sdk answers a
// call cancelled while queued, before any middleware, with
// {"code":0,"message":"context canceled"}. Each Write of the streamable
// handler is one message (an SSE event or a JSON body); one holding such
// an error is rewritten with a real code, and a tools/call answered so is
// audited, named from the POST body. In JSON, `"error":{"code":0,` can
// only be structure (a quote inside a string is escaped), so the check
// never matches a value.
type earlyErrorWriter struct {
	http.ResponseWriter
	body  []byte
	audit func(string, json.RawMessage, tools.Outcome, string)
}

var (
	sdkCodeZero  = []byte(`"error":{"code":0,`)
	sdkDuplicate = []byte(`"error":{"code":-32600,"message":"duplicate in-flight request ID`)
)

func (w *earlyErrorWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, sdkDuplicate) {
		// The streamable handler refuses a call whose id is in flight
		// on the session before the server sees it.
		if msg, err := jsonrpc.DecodeMessage(bytes.TrimSpace(p)); err == nil {
			if resp, ok := msg.(*jsonrpc.Response); ok {
				if pc := w.callOf(resp.ID); pc.call && w.audit != nil {
					w.audit(pc.tool, pc.args, tools.OutcomeDenied, "duplicate_id")
				}
			}
		}
		return w.ResponseWriter.Write(p)
	}
	if !bytes.Contains(p, sdkCodeZero) {
		return w.ResponseWriter.Write(p)
	}
	start := bytes.Index(p, []byte(`{"jsonrpc"`))
	end := bytes.LastIndexByte(p, '}')
	if start < 0 || end < start {
		return w.ResponseWriter.Write(p)
	}
	msg, err := jsonrpc.DecodeMessage(p[start : end+1])
	resp, ok := msg.(*jsonrpc.Response)
	if err != nil || !ok || resp.Error == nil {
		return w.ResponseWriter.Write(p)
	}
	fixed := fixEarlyError(resp, w.callOf(resp.ID), w.audit)
	enc, err := jsonrpc.EncodeMessage(fixed)
	if err != nil {
		return w.ResponseWriter.Write(p)
	}
	out := make([]byte, 0, len(p)+32)
	out = append(append(append(out, p[:start]...), enc...), p[end+1:]...)
	if _, err := w.ResponseWriter.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// callOf finds the call with id in the POST body.
func (w *earlyErrorWriter) callOf(id jsonrpc.ID) pendingCall {
	type call struct {
		ID     any    `json:"id"`
		Method string `json:"method"`
		Params struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"params"`
	}
	var calls []call
	if json.Unmarshal(w.body, &calls) != nil {
		var one call
		if json.Unmarshal(w.body, &one) != nil {
			return pendingCall{}
		}
		calls = []call{one}
	}
	for _, c := range calls {
		if cid, err := jsonrpc.MakeID(c.ID); err == nil && cid == id {
			return pendingCall{call: c.Method == "tools/call", tool: c.Params.Name, args: c.Params.Arguments}
		}
	}
	return pendingCall{}
}

// Unwrap lets http.NewResponseController reach Flush and the deadlines.
func (w *earlyErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withEarlyErrors reads r's body (at most limit bytes: the SDK refuses
// more anyway) so that earlyErrorWriter can name a call, and returns the
// writer and the request to serve.
func withEarlyErrors(w http.ResponseWriter, r *http.Request, limit int64, audit func(string, json.RawMessage, tools.Outcome, string)) (http.ResponseWriter, *http.Request) {
	if r.Method != http.MethodPost || r.Body == nil {
		return w, r
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		// Let the SDK see the truncated body and answer for it.
		return w, r
	}
	return &earlyErrorWriter{ResponseWriter: w, body: body, audit: audit}, r
}
