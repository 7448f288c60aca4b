package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
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
