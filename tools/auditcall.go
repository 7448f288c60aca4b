package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// This file makes sure every tools/call that reaches the server leaves
// exactly one audit record, whichever way it ends: the tool handler writes
// the record of every call it runs; auditMiddleware writes one for a call
// the SDK answered without running the handler (an unknown tool, bad
// parameters, a cancelled or refused call); AuditUnhandled is for a
// transport that answers a call before the SDK sees it (a duplicate id)
// or sees the SDK answer it before the middleware ran (cancelled while
// queued).

// auditedKey marks a call's context: the handler sets it once it owns the
// record, so that the middleware does not write a second one.
type auditedKey struct{}

func markAudited(ctx context.Context) {
	if p, ok := ctx.Value(auditedKey{}).(*atomic.Bool); ok {
		p.Store(true)
	}
}

// auditMiddleware is the receiving middleware behind the one-record
// guarantee. It must run inside (be added before) any middleware that
// rewrites results, such as the Splicer's.
func (t *Tools) auditMiddleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method != "tools/call" {
			return next(ctx, method, req)
		}
		audited := new(atomic.Bool)
		ctx = context.WithValue(ctx, auditedKey{}, audited)
		start := time.Now()
		res, err := next(ctx, method, req)
		if audited.Load() {
			return res, err
		}
		var name string
		var args json.RawMessage
		if ctr, ok := req.(*mcp.CallToolRequest); ok && ctr.Params != nil {
			name, args = ctr.Params.Name, ctr.Params.Arguments
		}
		outcome, code := OutcomeDenied, "invalid_call"
		switch {
		case err == nil:
			outcome, code = OutcomeInternal, "unaudited_result"
		case ctx.Err() != nil:
			outcome, code = OutcomeCancelled, "cancelled_before_start"
		default:
			var je *jsonrpc.Error
			if errors.As(err, &je) && je.Code == jsonrpc.CodeInvalidParams && name != "" {
				code = "unknown_tool"
			}
		}
		t.auditUnhandled(name, args, outcome, code, time.Since(start))
		// An error without a JSON-RPC code would reach the client as code
		// 0; transports also take code 0 to mean "never reached the
		// middleware" (see AuditUnhandled).
		var je *jsonrpc.Error
		if err != nil && !errors.As(err, &je) {
			if ctx.Err() != nil {
				err = &jsonrpc.Error{Code: CodeRequestCancelled, Message: "request cancelled"}
			} else {
				err = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
			}
		}
		return res, err
	}
}

// CodeRequestCancelled is the JSON-RPC error code of a call cancelled
// before it ran (the code LSP uses; MCP defines none, and asks that a
// cancelled request get no answer at all, which transports may prefer).
const CodeRequestCancelled = -32800

// AuditUnhandled writes the record of a tools/call that a transport
// answered without the tools seeing it: a duplicate request id, or an
// error the SDK answered before the call reached the server's middleware
// (code 0 or a closing server). args are the call's arguments as sent,
// from which the statement or table is recorded.
func (t *Tools) AuditUnhandled(tool string, args json.RawMessage, outcome Outcome, code string) {
	t.auditUnhandled(tool, args, outcome, code, 0)
}

func (t *Tools) auditUnhandled(tool string, args json.RawMessage, outcome Outcome, code string, d time.Duration) {
	rec := &Record{Tool: auditName(tool), RequestID: newID(), Outcome: outcome, Error: code, Duration: d}
	if set := t.state.Load(); len(set.list) == 1 {
		rec.Database, rec.Backend = set.list[0].Name, set.list[0].backend
	}
	fillAuditArgs(rec, args)
	t.audit(rec)
}

// auditName bounds a client-chosen tool name for the record.
func auditName(s string) string {
	const max = 128
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	if s == "" {
		return "(none)"
	}
	return s
}

// fillAuditArgs records what a call asked for, from its raw arguments,
// for a call that never reached its tool's body.
func fillAuditArgs(rec *Record, args json.RawMessage) {
	var a struct {
		SQL       string `json:"sql"`
		TableName string `json:"table_name"`
		Schema    string `json:"schema"`
	}
	if json.Unmarshal(args, &a) != nil {
		return
	}
	rec.SQL, rec.Table, rec.Schema = a.SQL, a.TableName, a.Schema
}

// audit writes rec to the Auditor, if any. (An AuditFile logs its own
// failures.)
func (t *Tools) audit(rec *Record) error {
	if t.opts.Audit == nil {
		return nil
	}
	return t.opts.Audit.Audit(rec)
}

func (t *Tools) auditReady() error {
	if r, ok := t.opts.Audit.(AuditReadiness); ok {
		return r.Ready()
	}
	return nil
}

func auditUnavailable(id string) *toolError {
	return &toolError{cat: catUnavailable, msg: fmt.Sprintf("the audit log cannot be written, and this server "+
		"refuses calls it cannot audit (request id %s); retry later", id)}
}
