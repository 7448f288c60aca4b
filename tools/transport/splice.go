package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools/internal/jsonstr"
	"github.com/sqlmcp/sqlmcp/tools/internal/memory"
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
// is the tools' own (the query tool's resultWriter, which escapes every
// value; the SDK used to validate it) and is kept as it is, a Go value
// goes through json.Marshal, the text is kept as the string it is and
// encoded (by jsonstr.Append, a chunk at a time) as the answer is
// written: a large answer is held once, never copied whole (see ExpandTo).
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
	budget    int
	lastSweep time.Time
}

// parkedValue is an encoded JSON value, or a text whose JSON string
// encoding is written when the answer is: a large text is not held twice.
type parkedValue struct {
	enc  []byte
	text string
	at   time.Time
}

func (v parkedValue) size() int { return cap(v.enc) + len(v.text) }

// spliceMin is the smallest value worth parking: below it, the SDK's
// encoding costs less than the bookkeeping.
const spliceMin = 512

// parkBudget caps the bytes parked at once. In-flight answers hold a few
// MB at most; past the cap (answers that are never written, a burst of
// huge results) the middleware leaves results to the SDK's encoding.
// setBudget raises it for a raised result cap.
const parkBudget = 32 << 20

// spliceBudget is the park budget that goes with a result byte cap: room
// for the answers of several concurrent calls at the cap (each holds its
// rows' JSON and its text), so that they never fall back to the SDK's
// encoding, which costs many times the answer.
func spliceBudget(maxResultBytes int) int {
	return max(parkBudget, 8*2*maxResultBytes)
}

// setBudget sets the most bytes parked at once (default 32 MiB).
func (s *Splicer) setBudget(n int) {
	s.mu.Lock()
	s.budget = n
	s.mu.Unlock()
}

// Splice installs a new Splicer on server, as its receiving middleware,
// and returns it for the transport that must expand every answer it
// writes (stdio: NewStdio; HTTP: HTTPWriter). The middleware must be the
// outermost: call Splice after every other AddReceivingMiddleware. ttl is
// as for newSplicer; maxResultBytes is the tools' result cap, which sets
// how much may be parked at once.
func Splice(server *mcp.Server, ttl time.Duration, maxResultBytes int) *Splicer {
	s := newSplicer(ttl)
	s.setBudget(spliceBudget(maxResultBytes))
	server.AddReceivingMiddleware(s.Middleware)
	return s
}

// newSplicer returns a Splicer with a fresh nonce. ttl, when positive,
// bounds how long a value waits for its write: for a transport where an
// answer can be dropped unwritten (an HTTP client that went away), it
// must exceed the longest time a live answer can take to be written.
// With ttl 0 values wait until written or Reset.
func newSplicer(ttl time.Duration) *Splicer {
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
		budget: parkBudget,
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
		if m := s.putValue(parkedValue{text: tc.Text}); m != nil {
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
	return s.putValue(parkedValue{enc: enc})
}

func (s *Splicer) putValue(v parkedValue) []byte {
	now := time.Now()
	v.at = now
	s.mu.Lock()
	if s.ttl > 0 && now.Sub(s.lastSweep) > s.ttl/8 {
		s.lastSweep = now
		for k, v := range s.parked {
			if now.Sub(v.at) > s.ttl {
				s.bytes -= v.size()
				delete(s.parked, k)
			}
		}
	}
	if s.bytes+v.size() > s.budget {
		s.mu.Unlock()
		return nil
	}
	id := s.rng.Uint64()
	for _, taken := s.parked[id]; taken; _, taken = s.parked[id] {
		id = s.rng.Uint64()
	}
	s.parked[id] = v
	s.bytes += v.size()
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
	w := appendWriter{dst}
	lost, _ = s.ExpandTo(&w, result)
	return w.b, lost
}

// ExpandTo is Expand writing to w as it goes instead of building the
// whole answer: a large answer costs no copy of itself. A text value is
// encoded as a JSON string in chunks on the way out.
func (s *Splicer) ExpandTo(w io.Writer, result []byte) (lost bool, err error) {
	for {
		i := bytes.Index(result, s.marker)
		if i < 0 {
			_, err = w.Write(result)
			return lost, err
		}
		rest := result[i+len(s.marker):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		id, perr := strconv.ParseUint(string(rest[:j]), 10, 64)
		if perr != nil || j == len(rest) || rest[j] != '"' {
			// Not one of ours after all: keep it as it is.
			if _, err = w.Write(result[:i+len(s.marker)]); err != nil {
				return lost, err
			}
			result = rest
			continue
		}
		s.mu.Lock()
		v, ok := s.parked[id]
		if ok {
			delete(s.parked, id)
			s.bytes -= v.size()
		}
		s.mu.Unlock()
		if _, err = w.Write(result[:i]); err != nil {
			return lost, err
		}
		switch {
		case !ok:
			lost = true
			_, err = io.WriteString(w, `"sqlmcp: this result was lost before it could be sent; call the tool again"`)
		case v.enc != nil:
			_, err = w.Write(v.enc)
		default:
			err = writeJSONString(w, v.text)
		}
		if err != nil {
			return lost, err
		}
		if ok {
			// Written: once answers stop, their memory goes back to
			// the system (see memory.ReleaseSoon).
			memory.ReleaseSoon(v.size())
		}
		result = rest[j+1:]
	}
}

// appendWriter is an io.Writer that appends to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// jsonChunk is how much of a text is encoded at a time when it is written.
const jsonChunk = 64 << 10

var chunkBufs = sync.Pool{New: func() any { b := make([]byte, 0, jsonChunk+jsonChunk/4); return &b }}

// writeJSONString writes text as jsonstr.Append would encode it, a
// chunk at a time. Chunks end on a rune boundary, so that no escape (nor
// U+2028/U+2029) is split.
func writeJSONString(w io.Writer, text string) error {
	if aw, ok := w.(*appendWriter); ok {
		aw.b = jsonstr.Append(aw.b, text)
		return nil
	}
	bp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bp)
	if _, err := io.WriteString(w, `"`); err != nil {
		return err
	}
	for len(text) > 0 {
		n := min(len(text), jsonChunk)
		for n < len(text) && n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		if n == 0 {
			n = min(len(text), jsonChunk) // not UTF-8 after all: park refuses it
		}
		*bp = jsonstr.Append((*bp)[:0], text[:n])
		// Without the chunk's own quotes.
		if _, err := w.Write((*bp)[1 : len(*bp)-1]); err != nil {
			return err
		}
		text = text[n:]
	}
	_, err := io.WriteString(w, `"`)
	return err
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
}

func (w *splicingWriter) Write(p []byte) (int, error) {
	if !w.s.Contains(p) {
		return w.ResponseWriter.Write(p)
	}
	// Written as it is expanded: the server buffers the response in
	// small chunks, and a large answer is never assembled in memory.
	bw := bufio.NewWriterSize(w.ResponseWriter, jsonChunk)
	lost, err := w.s.ExpandTo(bw, p)
	if err == nil {
		err = bw.Flush()
	}
	if lost && w.logger != nil {
		w.logger.Error("a tool result expired before its answer was written; the client was told to call again")
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap lets http.NewResponseController reach Flush and the deadlines.
func (w *splicingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
