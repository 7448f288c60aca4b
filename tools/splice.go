package tools

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Splicer takes the bulk of a tools/call answer around the go-sdk's JSON
// encoding, for a transport that writes answers itself.
//
// The SDK encodes a CallToolResult with encoding/json, and encoding/json
// re-validates and compacts the output of every MarshalJSON it calls: the
// structuredContent (already JSON) twice, the text content once as a
// string and twice more as the output of TextContent's and
// CallToolResult's marshalers. On a 100-row query that byte-at-a-time
// scanning was the largest single cost of a call (a third of the server's
// CPU). The middleware replaces the large values of a successful result
// with short markers and keeps their encoded form; the SDK then encodes a
// result of a few dozen bytes, and the transport calls Expand on it,
// which puts the values back in place of their markers.
//
// The values are encoded once: a structuredContent that is already JSON
// is the tools' own (rowWriter, which escapes every value; the SDK used
// to validate it) and is kept as it is, a Go value goes through
// json.Marshal, the text through appendJSONString.
//
// A marker is a JSON string holding a random per-Splicer nonce (96 bits)
// and a random per-value id (64 bits). Expand scans whole messages, which
// can hold database values (short results are not parked) and, on HTTP,
// a JSON-RPC id the client chose; a value or id that spells a marker
// would be replaced by the parked value it names. Neither the nonce nor
// any id is ever written to a client or a log, so forging one means
// guessing 160 random bits.
//
// Only a transport that calls Expand on every result it writes may use a
// Splicer: anything else would send markers to the client. stdio calls it
// in its own connection; HTTP on each write of the SDK's streamable
// handler (HTTPWriter), which writes each message, SSE event or JSON
// body, in one Write. Its Middleware must be the server's outermost
// receiving middleware (the last one added): one outside it would see
// markers instead of values.
type Splicer struct {
	marker []byte // `"sqlmcp-splice-<nonce>-`
	ttl    time.Duration

	mu        sync.Mutex
	rng       *mrand.ChaCha8
	parked    map[uint64]parkedValue
	bytes     int // capacity held by parked
	lastSweep time.Time
}

type parkedValue struct {
	enc []byte
	at  time.Time
}

// spliceMin is the smallest value worth parking: below it, the SDK's
// encoding costs less than the bookkeeping.
const spliceMin = 512

// parkBudget caps the bytes parked at once. In-flight answers hold a few
// MB at most; past the cap (answers that are never written, a burst of
// huge results) the middleware leaves results to the SDK's encoding.
const parkBudget = 32 << 20

// NewSplicer returns a Splicer with a fresh nonce. ttl, when positive,
// bounds how long a value waits for its write: for a transport where an
// answer can be dropped unwritten (an HTTP client that went away), it
// must exceed the longest time a live answer can take to be written.
// With ttl 0 values wait until written or Reset.
func NewSplicer(ttl time.Duration) *Splicer {
	var nonce [12]byte
	var seed [32]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	if _, err := rand.Read(seed[:]); err != nil {
		panic(err)
	}
	return &Splicer{
		marker: []byte(`"sqlmcp-splice-` + hex.EncodeToString(nonce[:]) + `-`),
		ttl:    ttl,
		rng:    mrand.NewChaCha8(seed),
		parked: map[uint64]parkedValue{},
	}
}

// Middleware is an mcp.Middleware for the server's receiving side.
func (s *Splicer) Middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if err != nil || method != "tools/call" {
			return res, err
		}
		if r, ok := res.(*mcp.CallToolResult); ok && !r.IsError {
			s.park(r)
		}
		return res, err
	}
}

// park replaces the large values of r with markers.
func (s *Splicer) park(r *mcp.CallToolResult) {
	switch sc := r.StructuredContent.(type) {
	case nil:
	case json.RawMessage:
		if len(sc) >= spliceMin {
			if m := s.put(sc); m != nil {
				r.StructuredContent = json.RawMessage(m)
			}
		}
	default:
		// A Go value (list_tables, describe_table): encoded here once,
		// as the SDK would, instead of encoded and then compacted twice.
		// On an error the SDK's own encoding reports it.
		if enc, err := json.Marshal(sc); err == nil && len(enc) >= spliceMin {
			if m := s.put(enc); m != nil {
				r.StructuredContent = json.RawMessage(m)
			}
		}
	}
	for i, c := range r.Content {
		tc, ok := c.(*mcp.TextContent)
		if !ok || len(tc.Text) < spliceMin || tc.Meta != nil || tc.Annotations != nil || !utf8.ValidString(tc.Text) {
			continue
		}
		enc := appendJSONString(make([]byte, 0, len(tc.Text)+len(tc.Text)/8+2), tc.Text)
		if m := s.put(enc); m != nil {
			// The marker is a JSON string; as Text it is its content.
			r.Content[i] = &mcp.TextContent{Text: string(m[1 : len(m)-1])}
		}
	}
}

// put parks an encoded JSON value and returns the marker that stands for
// it: a JSON string made of ASCII letters, digits and '-', which every
// JSON encoder writes unchanged. It returns nil, parking nothing, when
// the budget is spent.
func (s *Splicer) put(enc []byte) []byte {
	if cap(enc) > len(enc)+len(enc)/4 {
		// The query tool sizes its buffer for a full page from the
		// first row; keep only what the value uses.
		enc = bytes.Clone(enc)
	}
	now := time.Now()
	s.mu.Lock()
	if s.ttl > 0 && now.Sub(s.lastSweep) > s.ttl/8 {
		s.lastSweep = now
		for k, v := range s.parked {
			if now.Sub(v.at) > s.ttl {
				s.bytes -= cap(v.enc)
				delete(s.parked, k)
			}
		}
	}
	if s.bytes+cap(enc) > parkBudget {
		s.mu.Unlock()
		return nil
	}
	id := s.rng.Uint64()
	for _, taken := s.parked[id]; taken; _, taken = s.parked[id] {
		id = s.rng.Uint64()
	}
	s.parked[id] = parkedValue{enc: enc, at: now}
	s.bytes += cap(enc)
	s.mu.Unlock()
	m := append([]byte(nil), s.marker...)
	m = strconv.AppendUint(m, id, 10)
	return append(m, '"')
}

// Expand appends result to dst with every marker in it replaced by the
// value it stands for, which is released. A result without markers is
// appended as it is. A marker whose value is gone (expired, or expanded
// before: neither happens to an answer that is written in time, once)
// becomes a JSON string saying so, and lost reports it, so that the
// client sees an error rather than an empty success.
func (s *Splicer) Expand(dst, result []byte) (out []byte, lost bool) {
	for {
		i := bytes.Index(result, s.marker)
		if i < 0 {
			return append(dst, result...), lost
		}
		rest := result[i+len(s.marker):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		id, err := strconv.ParseUint(string(rest[:j]), 10, 64)
		if err != nil || j == len(rest) || rest[j] != '"' {
			// Not one of ours after all: keep it as it is.
			dst = append(dst, result[:i+len(s.marker)]...)
			result = rest
			continue
		}
		s.mu.Lock()
		v, ok := s.parked[id]
		if ok {
			delete(s.parked, id)
			s.bytes -= cap(v.enc)
		}
		s.mu.Unlock()
		dst = append(dst, result[:i]...)
		if ok {
			dst = append(dst, v.enc...)
		} else {
			lost = true
			dst = append(dst, `"sqlmcp: this result was lost before it could be sent; call the tool again"`...)
		}
		result = rest[j+1:]
	}
}

// Pending reports how many values are parked: results the SDK produced
// that were not written (yet).
func (s *Splicer) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.parked)
}

// Reset drops every parked value: for a transport that closes with
// answers still owed.
func (s *Splicer) Reset() {
	s.mu.Lock()
	clear(s.parked)
	s.bytes = 0
	s.mu.Unlock()
}

// Contains reports whether b holds one of this Splicer's markers.
func (s *Splicer) Contains(b []byte) bool { return bytes.Contains(b, s.marker) }

// HTTPWriter wraps w so that every Write is expanded. The go-sdk's
// streamable handler writes each JSON-RPC message (an SSE event, or a
// JSON body) in one Write, so a marker is never split across two. A lost
// value is logged to logger.
func (s *Splicer) HTTPWriter(w http.ResponseWriter, logger *slog.Logger) http.ResponseWriter {
	return &splicingWriter{ResponseWriter: w, s: s, logger: logger}
}

type splicingWriter struct {
	http.ResponseWriter
	s      *Splicer
	logger *slog.Logger
	buf    []byte
}

func (w *splicingWriter) Write(p []byte) (int, error) {
	if !w.s.Contains(p) {
		return w.ResponseWriter.Write(p)
	}
	var lost bool
	w.buf, lost = w.s.Expand(w.buf[:0], p)
	if lost && w.logger != nil {
		w.logger.Error("a tool result expired before its answer was written; the client was told to call again")
	}
	if _, err := w.ResponseWriter.Write(w.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap lets http.NewResponseController reach Flush and the deadlines.
func (w *splicingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
