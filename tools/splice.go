package tools

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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
// is the tools' own (rowWriter; tests check it is valid) and is kept as
// it is, a Go value goes through json.Marshal, the text through
// appendJSONString. A marker is a JSON
// string that holds a random per-Splicer nonce, and only results the
// middleware rewrote can hold one (the rest of such a result is the
// SDK's envelope: no database value, nothing a client chose), so Expand
// cannot be fooled by data.
//
// Only a transport that calls Expand on every result it writes may use a
// Splicer: anything else would send markers to the client. stdio calls it
// in its own connection; HTTP on each write of the SDK's streamable
// handler (HTTPWriter), which writes each message, SSE event or JSON
// body, in one Write.
type Splicer struct {
	marker []byte // `"sqlmcp-splice-<nonce>-`

	mu     sync.Mutex
	next   uint64
	parked map[uint64]parkedValue
}

type parkedValue struct {
	enc []byte
	at  time.Time
}

// parkTTL bounds how long a value waits for its write. An answer is
// written microseconds after its result is encoded; one that never is
// (the HTTP client went away before its answer) must not hold its value
// for the life of the process.
const parkTTL = time.Minute

// spliceMin is the smallest value worth parking: below it, the SDK's
// encoding costs less than the bookkeeping.
const spliceMin = 512

// NewSplicer returns a Splicer with a fresh nonce.
func NewSplicer() *Splicer {
	var nonce [12]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return &Splicer{
		marker: []byte(`"sqlmcp-splice-` + hex.EncodeToString(nonce[:]) + `-`),
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
			r.StructuredContent = json.RawMessage(s.put(sc))
		}
	default:
		// A Go value (list_tables, describe_table): encoded here once,
		// as the SDK would, instead of encoded and then compacted twice.
		// On an error the SDK's own encoding reports it.
		if enc, err := json.Marshal(sc); err == nil && len(enc) >= spliceMin {
			r.StructuredContent = json.RawMessage(s.put(enc))
		}
	}
	for i, c := range r.Content {
		tc, ok := c.(*mcp.TextContent)
		if !ok || len(tc.Text) < spliceMin || tc.Meta != nil || tc.Annotations != nil || !utf8.ValidString(tc.Text) {
			continue
		}
		enc := appendJSONString(make([]byte, 0, len(tc.Text)+len(tc.Text)/8+2), tc.Text)
		m := s.put(enc)
		// The marker is a JSON string; as Text it is its content.
		r.Content[i] = &mcp.TextContent{Text: string(m[1 : len(m)-1])}
	}
}

// put parks an encoded JSON value and returns the marker that stands for
// it: a JSON string made of ASCII letters, digits and '-', which every
// JSON encoder writes unchanged.
func (s *Splicer) put(enc []byte) []byte {
	now := time.Now()
	s.mu.Lock()
	s.next++
	id := s.next
	if id%256 == 0 {
		for k, v := range s.parked {
			if now.Sub(v.at) > parkTTL {
				delete(s.parked, k)
			}
		}
	}
	s.parked[id] = parkedValue{enc: enc, at: now}
	s.mu.Unlock()
	m := append([]byte(nil), s.marker...)
	m = strconv.AppendUint(m, id, 10)
	return append(m, '"')
}

// Expand appends result to dst with every marker in it replaced by the
// value it stands for, which is released. A result without markers is
// appended as it is.
func (s *Splicer) Expand(dst, result []byte) []byte {
	for {
		i := bytes.Index(result, s.marker)
		if i < 0 {
			return append(dst, result...)
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
		delete(s.parked, id)
		s.mu.Unlock()
		dst = append(dst, result[:i]...)
		if ok {
			dst = append(dst, v.enc...)
		} else {
			// Expanded twice (cannot happen with one writer per result)
			// or expired: write valid JSON rather than a marker.
			dst = append(dst, "null"...)
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
	s.mu.Unlock()
}

// Contains reports whether b holds one of this Splicer's markers.
func (s *Splicer) Contains(b []byte) bool { return bytes.Contains(b, s.marker) }

// HTTPWriter wraps w so that every Write is expanded. The go-sdk's
// streamable handler writes each JSON-RPC message (an SSE event, or a
// JSON body) in one Write, so a marker is never split across two.
func (s *Splicer) HTTPWriter(w http.ResponseWriter) http.ResponseWriter {
	return &splicingWriter{ResponseWriter: w, s: s}
}

type splicingWriter struct {
	http.ResponseWriter
	s   *Splicer
	buf []byte
}

func (w *splicingWriter) Write(p []byte) (int, error) {
	if !w.s.Contains(p) {
		return w.ResponseWriter.Write(p)
	}
	w.buf = w.s.Expand(w.buf[:0], p)
	if _, err := w.ResponseWriter.Write(w.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap lets http.NewResponseController reach Flush and the deadlines.
func (w *splicingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
