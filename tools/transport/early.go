package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/sqlmcp/sqlmcp/tools"
)

// Early errors: answers the go-sdk gives a call before any handler or
// middleware ran, which the tools therefore neither shaped nor audited.

// fixEarlyError gives a well-formed error to an answer the SDK wrote
// before any handler or middleware ran — a call cancelled while queued
// comes out as {"code":0,"message":"context canceled"} — and audits a
// tools/call answered so (the tools never saw it). Both transports use
// it: stdio as it writes an answer, HTTP through earlyErrorWriter.
func fixEarlyError(resp *jsonrpc.Response, pc pendingCall, audit func(string, json.RawMessage, tools.Outcome, string)) *jsonrpc.Response {
	var je *jsonrpc.Error
	code := int64(0)
	if errors.As(resp.Error, &je) {
		code = je.Code
	}
	if code != 0 && code != codeServerClosing {
		return resp
	}
	cancelled := errors.Is(resp.Error, context.Canceled) || strings.Contains(resp.Error.Error(), "context canceled")
	if pc.call && audit != nil {
		switch {
		case cancelled:
			audit(pc.tool, pc.args, tools.OutcomeCancelled, "cancelled_before_start")
		case code == codeServerClosing:
			audit(pc.tool, pc.args, tools.OutcomeDenied, "shutting_down")
		default:
			audit(pc.tool, pc.args, tools.OutcomeDenied, "invalid_call")
		}
	}
	if code != 0 {
		return resp
	}
	fixed := &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: resp.Error.Error()}
	switch {
	case strings.Contains(fixed.Message, "invalid during session initialization"):
		fixed.Code = jsonrpc.CodeInvalidRequest
	case cancelled:
		fixed = &jsonrpc.Error{Code: tools.CodeRequestCancelled, Message: "request cancelled before it ran"}
	}
	return &jsonrpc.Response{ID: resp.ID, Error: fixed}
}

// codeServerClosing is jsonrpc2.ErrServerClosing's code: a call refused
// because the session is closing.
const codeServerClosing = -32004

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

// WithEarlyErrors reads r's body (at most limit bytes: the SDK refuses
// more anyway) so that earlyErrorWriter can name a call, and returns the
// writer and the request to serve.
func WithEarlyErrors(w http.ResponseWriter, r *http.Request, limit int64, audit func(string, json.RawMessage, tools.Outcome, string)) (http.ResponseWriter, *http.Request) {
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
