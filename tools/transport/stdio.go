package transport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools"
)

// Stdio is mcp.IOTransport (go-sdk v1.8.0, transport.go: ioConn)
// with these changes:
//
//   - A successful response is written as the JSON-RPC envelope around
//     the Result bytes as they are, instead of through
//     jsonrpc.EncodeMessage, which re-compacts the whole result (on a
//     query call, every byte of structuredContent and of the TSV text) a
//     third time. The bytes are the same: the SDK builds every Result it
//     answers with (jsonrpc2.NewResponse → marshalToRaw) with a
//     json.Encoder that does not escape HTML, so Result is already
//     compact, and compacting compact JSON without HTML escaping is the
//     identity. The envelope itself comes from jsonrpc.EncodeMessage (see
//     writeResponse); stdio_test.go checks the equality.
//   - A malformed frame does not end the session: a line that is not JSON
//     is answered -32700 (parse error), one that is not a valid JSON-RPC
//     message (wrong "jsonrpc", a batch where batches are refused, an
//     empty batch, a duplicate request id) -32600 (invalid request), with
//     the request's id when it can be read, else null; a line longer than
//     the frame limit is answered -32600 and skipped up to its newline
//     without being held in memory. Frames are lines, as the MCP stdio
//     transport specifies (a message contains no newline).
//   - Backpressure: at most MaxInFlight calls are unanswered (read, and
//     their answer not yet written) at once; past that, no more frames
//     are read until one is answered. A client that pipelines calls
//     without reading the answers therefore holds at most MaxInFlight
//     answers in the server's memory, and blocks on its own writes.
//   - At EOF on stdin, calls in flight are finished and answered (for at
//     most DrainTimeout) before the session ends; ioConn ends it at once,
//     which cancels them and drops their answers.
//   - An error answer the SDK gives a call before any handler ran (a call
//     cancelled while queued: code 0, "context canceled") is written with
//     a real code, and a tools/call answered so, or refused as a
//     duplicate, is audited through Audit.
//
// Batches are as in ioConn: accepted before protocol 2025-06-18, their
// answers written as one array once all are in. ioConn learns the
// negotiated protocol version through an SDK-internal hook; here it is
// read from the answer to initialize.
type Stdio struct {
	Reader        io.ReadCloser
	Writer        io.WriteCloser
	MaxLineLength int // 0: mcp.DefaultMaxLineLength; negative: no cap
	// MaxInFlight bounds the unanswered calls (0: defaultMaxInFlight).
	MaxInFlight int
	// DrainTimeout bounds the wait for calls in flight at EOF (0: none is
	// waited for).
	DrainTimeout time.Duration
	// Splicer, when set, is the one whose Middleware the server uses:
	// every result is written through its Expand.
	Splicer *Splicer
	// Audit, when set, records a tools/call the transport or the SDK
	// answered before the tools saw it (see tools.AuditUnhandled).
	Audit func(tool string, args json.RawMessage, outcome tools.Outcome, code string)

	conn *stdioConn
}

// NewStdio returns the stdio transport for server over r and w, answering
// through a Splicer installed on server (see Splice): call it after every
// other AddReceivingMiddleware. maxResultBytes is the tools' result cap.
func NewStdio(server *mcp.Server, r io.ReadCloser, w io.WriteCloser, maxResultBytes int) *Stdio {
	return &Stdio{Reader: r, Writer: w, Splicer: Splice(server, 0, maxResultBytes)}
}

// The SDK's transport interfaces, as this fork implements them.
var (
	_ mcp.Transport  = (*Stdio)(nil)
	_ mcp.Connection = (*stdioConn)(nil)
)

// defaultMaxInFlight: enough for any client's honest concurrency (the
// pool has 10 connections by default), small enough that the answers
// held for a client that does not read stay in the tens of MB.
const defaultMaxInFlight = 64

func (t *Stdio) Connect(context.Context) (mcp.Connection, error) {
	c := newStdioConn(t.Reader, t.Writer, t.MaxLineLength, t.MaxInFlight)
	c.splicer = t.Splicer
	c.drainTimeout = t.DrainTimeout
	c.audit = t.Audit
	t.conn = c
	return c, nil
}

// StopReading ends the session as EOF on stdin would, for a graceful
// shutdown: no further frame is read, and the calls already read are
// finished and answered (for at most DrainTimeout) before the session
// ends. A call the server has read is thus always answered; one it has
// not read never reached it.
func (t *Stdio) StopReading() {
	if t.conn != nil {
		t.conn.stopOnce.Do(func() { close(t.conn.stop) })
	}
}

// WriteErr is the first error writing to the client, if any: answers
// were lost.
func (t *Stdio) WriteErr() error {
	if t.conn == nil {
		return nil
	}
	t.conn.pendMu.Lock()
	defer t.conn.pendMu.Unlock()
	return t.conn.writeErr
}

const (
	protocol20250326 = "2025-03-26"
	protocol20250618 = "2025-06-18"
)

type stdioConn struct {
	r            io.ReadCloser
	w            io.WriteCloser
	splicer      *Splicer // nil: results are written as they are
	drainTimeout time.Duration
	audit        func(tool string, args json.RawMessage, outcome tools.Outcome, code string)
	limit        int

	sessionMu       sync.Mutex
	protocolVersion string
	initID          jsonrpc.ID
	initSeen        bool

	writeMu sync.Mutex

	incoming <-chan frame
	queue    []jsonrpc.Message // rest of the last batch; reads are serialized

	// slots holds one token per unanswered call (backpressure).
	slots    chan struct{}
	pendMu   sync.Mutex
	pending  map[jsonrpc.ID]pendingCall
	writeErr error
	// broken is closed at the first failed write: stdout is unusable (a
	// frame may be half written, and no answer after it can be read as
	// one), so nothing more is written or read and the session ends.
	broken chan struct{}

	batchMu sync.Mutex
	batches map[jsonrpc.ID]*stdioBatch

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error

	stopOnce sync.Once
	stop     chan struct{} // StopReading: end the session like EOF
}

// pendingCall is a call read and not yet answered.
type pendingCall struct {
	tool string          // for tools/call, the tool's name
	args json.RawMessage // for tools/call, its arguments
	call bool            // tools/call
}

// frame is one line from the client, or why there is none.
type frame struct {
	line    []byte
	tooLong bool
	err     error // io.EOF at the end of the input
}

type stdioBatch struct {
	unresolved map[jsonrpc.ID]int
	responses  []*jsonrpc.Response
}

func newStdioConn(r io.ReadCloser, w io.WriteCloser, maxLineLength, maxInFlight int) *stdioConn {
	limit := maxLineLength
	if limit == 0 {
		limit = mcp.DefaultMaxLineLength
	}
	if maxInFlight <= 0 {
		maxInFlight = defaultMaxInFlight
	}
	incoming := make(chan frame)
	closed := make(chan struct{})
	// As in ioConn: reads run in their own goroutine so that Read can
	// return on Close; it leaks if r.Read never returns after Close.
	go func() {
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			f := readFrame(br, limit)
			select {
			case incoming <- f:
			case <-closed:
				return
			}
			if f.err != nil {
				return
			}
		}
	}()
	return &stdioConn{r: r, w: w, limit: limit, incoming: incoming, closed: closed, stop: make(chan struct{}), broken: make(chan struct{}),
		slots: make(chan struct{}, maxInFlight), pending: make(map[jsonrpc.ID]pendingCall)}
}

// readFrame reads one line. A line longer than limit (when positive) is
// consumed to its newline in buffer-sized pieces and reported tooLong,
// without being kept. A last line without a newline is a frame.
func readFrame(br *bufio.Reader, limit int) frame {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if limit > 0 && len(line)+len(chunk) > limit+2 { // room for \r\n
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return frame{err: err}
			}
			return frame{tooLong: true}
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return frame{line: line}
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(bytes.TrimSpace(line)) > 0:
			return frame{line: line}
		default:
			return frame{err: err}
		}
	}
}

func (c *stdioConn) SessionID() string { return "" }

// Read returns the next message. Malformed frames are answered here and
// skipped; a call waits for a free slot (backpressure).
func (c *stdioConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	if len(c.queue) > 0 {
		next := c.queue[0]
		c.queue = c.queue[1:]
		return next, nil
	}
	for {
		var f frame
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case f = <-c.incoming:
		case <-c.closed:
			return nil, io.EOF
		case <-c.stop:
			c.drain()
			return nil, io.EOF
		case <-c.broken:
			return nil, c.brokenErr()
		}
		if c.isBroken() {
			// A call read now could be neither answered nor, refused by
			// the SDK for the broken write side, audited.
			return nil, c.brokenErr()
		}
		if f.err != nil {
			c.drain()
			return nil, f.err
		}
		if f.tooLong {
			c.writeError(jsonrpc.ID{}, jsonrpc.CodeInvalidRequest,
				fmt.Sprintf("invalid request: the message exceeds the %d-byte frame limit and was skipped", c.limit))
			continue
		}
		data := bytes.TrimSpace(f.line)
		if len(data) == 0 {
			continue
		}
		msgs, id, code, why := c.decode(data)
		if code != 0 {
			c.writeError(id, code, why)
			continue
		}
		msgs, err := c.admit(ctx, msgs)
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			continue
		}
		c.queue = msgs[1:]
		return msgs[0], nil
	}
}

// decode parses one frame into its messages, or says which error answers
// it (code non-zero) and with which id.
func (c *stdioConn) decode(data []byte) (msgs []jsonrpc.Message, id jsonrpc.ID, code int64, why string) {
	if !json.Valid(data) {
		return nil, jsonrpc.ID{}, jsonrpc.CodeParseError, "parse error: the message is not valid JSON"
	}
	if data[0] == '[' {
		c.sessionMu.Lock()
		pv := c.protocolVersion
		c.sessionMu.Unlock()
		if pv >= protocol20250618 {
			return nil, jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, fmt.Sprintf("invalid request: JSON-RPC batching is not supported in %s and later (session version: %s)", protocol20250618, pv)
		}
		var raws []json.RawMessage
		if err := json.Unmarshal(data, &raws); err != nil || len(raws) == 0 {
			return nil, jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, "invalid request: empty batch"
		}
		if len(raws) > cap(c.slots) {
			return nil, jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, fmt.Sprintf("invalid request: a batch holds at most %d messages", cap(c.slots))
		}
		rb := &stdioBatch{unresolved: make(map[jsonrpc.ID]int)}
		for _, raw := range raws {
			m, err := jsonrpc.DecodeMessage(raw)
			if err != nil {
				return nil, jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, "invalid request: " + err.Error()
			}
			// As ioConn: every request, notifications included.
			if req, ok := m.(*jsonrpc.Request); ok {
				if _, dup := rb.unresolved[req.ID]; dup {
					return nil, jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, fmt.Sprintf("invalid request: duplicate message ID %v in the batch", req.ID.Raw())
				}
				rb.unresolved[req.ID] = len(rb.responses)
				rb.responses = append(rb.responses, nil)
			}
			msgs = append(msgs, m)
		}
		if len(rb.responses) > 0 {
			if err := c.addBatch(rb); err != nil {
				return nil, jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, err.Error()
			}
		}
		c.noteInitialize(msgs)
		return msgs, jsonrpc.ID{}, 0, ""
	}
	m, err := jsonrpc.DecodeMessage(data)
	if err != nil {
		// Answer with the request's id when it has a usable one.
		var probe struct {
			ID any `json:"id"`
		}
		if json.Unmarshal(data, &probe) == nil {
			if pid, err := jsonrpc.MakeID(probe.ID); err == nil {
				id = pid
			}
		}
		return nil, id, jsonrpc.CodeInvalidRequest, "invalid request: " + err.Error()
	}
	msgs = []jsonrpc.Message{m}
	c.noteInitialize(msgs)
	return msgs, jsonrpc.ID{}, 0, ""
}

func (c *stdioConn) noteInitialize(msgs []jsonrpc.Message) {
	for _, m := range msgs {
		if req, ok := m.(*jsonrpc.Request); ok && req.Method == "initialize" && req.IsCall() {
			c.sessionMu.Lock()
			if !c.initSeen {
				c.initSeen, c.initID = true, req.ID
			}
			c.sessionMu.Unlock()
		}
	}
}

// admit takes a slot for every call among msgs, waiting while MaxInFlight
// calls are unanswered, and registers them as pending. A call whose id is
// already pending is answered -32600 here (with a null id, as the SDK
// would, so that the answer is not taken for the first call's) and
// dropped; admit returns the messages that remain.
func (c *stdioConn) admit(ctx context.Context, msgs []jsonrpc.Message) ([]jsonrpc.Message, error) {
	kept := msgs[:0:0]
	for _, m := range msgs {
		req, ok := m.(*jsonrpc.Request)
		if !ok || !req.IsCall() {
			kept = append(kept, m)
			continue
		}
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.closed:
			return nil, io.EOF
		case <-c.broken:
			return nil, c.brokenErr()
		}
		pc := pendingCall{call: req.Method == "tools/call"}
		if pc.call {
			var p struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			}
			_ = json.Unmarshal(req.Params, &p)
			pc.tool, pc.args = p.Name, p.Arguments
		}
		c.pendMu.Lock()
		_, dup := c.pending[req.ID]
		if !dup {
			c.pending[req.ID] = pc
		}
		c.pendMu.Unlock()
		if dup {
			<-c.slots
			if pc.call && c.audit != nil {
				c.audit(pc.tool, pc.args, tools.OutcomeDenied, "duplicate_id")
			}
			c.writeError(jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, fmt.Sprintf("invalid request: request ID %v already in use", req.ID.Raw()))
			continue
		}
		kept = append(kept, m)
	}
	return kept, nil
}

func (c *stdioConn) pendingOf(id jsonrpc.ID) (pendingCall, bool) {
	c.pendMu.Lock()
	defer c.pendMu.Unlock()
	pc, ok := c.pending[id]
	return pc, ok
}

// answered releases the slot of the call with id.
func (c *stdioConn) answered(id jsonrpc.ID) {
	c.pendMu.Lock()
	_, ok := c.pending[id]
	delete(c.pending, id)
	c.pendMu.Unlock()
	if ok {
		<-c.slots
	}
}

// drain waits, at EOF, until every call in flight has been answered, at
// most drainTimeout.
func (c *stdioConn) drain() {
	if c.drainTimeout <= 0 {
		return
	}
	deadline := time.NewTimer(c.drainTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		c.pendMu.Lock()
		n := len(c.pending)
		c.pendMu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return
		case <-c.closed:
			return
		case <-c.broken:
			return // no answer can be written any more
		}
	}
}

// writeError answers a frame the SDK never sees.
func (c *stdioConn) writeError(id jsonrpc.ID, code int64, msg string) {
	data, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: &jsonrpc.Error{Code: code, Message: msg}})
	if err != nil {
		return
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.writeFrame(append(data, '\n'))
}

// writeFrame writes one whole frame; c.writeMu is held.
func (c *stdioConn) writeFrame(b []byte) error {
	if c.isBroken() {
		return c.brokenErr()
	}
	_, err := c.w.Write(b)
	c.noteWriteErr(err)
	return err
}

// noteWriteErr records the first failed write and marks the connection
// broken: after a frame that may be half written, nothing is written.
func (c *stdioConn) noteWriteErr(err error) {
	if err == nil {
		return
	}
	c.pendMu.Lock()
	defer c.pendMu.Unlock()
	if c.writeErr == nil {
		c.writeErr = err
		close(c.broken)
	}
}

func (c *stdioConn) isBroken() bool {
	select {
	case <-c.broken:
		return true
	default:
		return false
	}
}

func (c *stdioConn) brokenErr() error {
	c.pendMu.Lock()
	defer c.pendMu.Unlock()
	return fmt.Errorf("writing to the client: %w", c.writeErr)
}

func (c *stdioConn) addBatch(b *stdioBatch) error {
	c.batchMu.Lock()
	defer c.batchMu.Unlock()
	for id := range b.unresolved {
		if _, ok := c.batches[id]; ok {
			return fmt.Errorf("invalid request: batch contains previously seen request %v", id.Raw())
		}
	}
	for id := range b.unresolved {
		if c.batches == nil {
			c.batches = make(map[jsonrpc.ID]*stdioBatch)
		}
		c.batches[id] = b
	}
	return nil
}

func (c *stdioConn) updateBatch(resp *jsonrpc.Response) ([]*jsonrpc.Response, bool) {
	c.batchMu.Lock()
	defer c.batchMu.Unlock()
	b, ok := c.batches[resp.ID]
	if !ok {
		return nil, false
	}
	idx := b.unresolved[resp.ID]
	b.responses[idx] = resp
	delete(b.unresolved, resp.ID)
	delete(c.batches, resp.ID)
	if len(b.unresolved) == 0 {
		return b.responses, true
	}
	return nil, true
}

// noteInitializeResponse records the negotiated protocol version from the
// answer to initialize (ioConn gets it from the session; 2025-03-26 when
// none).
func (c *stdioConn) noteInitializeResponse(resp *jsonrpc.Response) {
	c.sessionMu.Lock()
	defer c.sessionMu.Unlock()
	if !c.initSeen || c.protocolVersion != "" || resp.ID != c.initID || resp.Error != nil {
		return
	}
	var r struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	_ = json.Unmarshal(resp.Result, &r)
	if r.ProtocolVersion == "" {
		r.ProtocolVersion = protocol20250326
	}
	c.protocolVersion = r.ProtocolVersion
}

var frameBufs = sync.Pool{New: func() any { return new([]byte) }}

func (c *stdioConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	default:
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()

	resp, isResp := msg.(*jsonrpc.Response)
	if isResp {
		// The call's slot is freed once its answer is written (or
		// failed to be): until then the answer is held in memory.
		if pc, ok := c.pendingOf(resp.ID); ok {
			defer c.answered(resp.ID)
			if resp.Error != nil {
				resp = fixEarlyError(resp, pc, c.audit)
			}
		}
		c.noteInitializeResponse(resp)
		if batch, ok := c.updateBatch(resp); ok {
			if len(batch) == 0 {
				return nil
			}
			var raws []json.RawMessage
			for _, r := range batch {
				if c.splicer != nil && r.Error == nil {
					r.Result, _ = c.splicer.Expand(nil, r.Result) // no TTL here: nothing is lost
				}
				raw, err := jsonrpc.EncodeMessage(r)
				if err != nil {
					return fmt.Errorf("encoding batch message: %w", err)
				}
				raws = append(raws, raw)
			}
			data, err := json.Marshal(raws)
			if err != nil {
				return err
			}
			return c.writeFrame(append(data, '\n'))
		}
		if resp.Error == nil && len(resp.Result) > 0 {
			return c.writeResponse(resp)
		}
	}
	if isResp {
		msg = resp
	}
	data, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return fmt.Errorf("marshaling message: %v", err)
	}
	return c.writeFrame(append(data, '\n'))
}

// resultPlaceholder stands in for the Result when encoding the envelope.
var resultPlaceholder = json.RawMessage("0")

// writeResponse writes EncodeMessage(resp) + "\n" without re-compacting
// resp.Result: the envelope is EncodeMessage of the same response with a
// one-byte result, cut before that byte.
func (c *stdioConn) writeResponse(resp *jsonrpc.Response) error {
	env, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: resp.ID, Result: resultPlaceholder})
	if err != nil {
		return fmt.Errorf("marshaling message: %v", err)
	}
	if !bytes.HasSuffix(env, []byte(`"result":0}`)) {
		return fmt.Errorf("marshaling message: unexpected envelope %q", env)
	}
	env = env[:len(env)-2]
	if c.splicer != nil && c.splicer.Contains(resp.Result) {
		// Written as it is expanded: a large answer is never assembled
		// in memory (the stdio Splicer has no TTL: every value is
		// written or Reset).
		if c.isBroken() {
			return c.brokenErr()
		}
		bw := bufio.NewWriterSize(c.w, 64<<10)
		bw.Write(env)
		_, err := c.splicer.ExpandTo(bw, resp.Result)
		if err == nil {
			bw.WriteString("}\n")
			err = bw.Flush()
		}
		c.noteWriteErr(err)
		return err
	}
	bp := frameBufs.Get().(*[]byte)
	buf := append((*bp)[:0], env...)
	if c.splicer != nil {
		// The stdio Splicer has no TTL: every value is written or Reset.
		buf, _ = c.splicer.Expand(buf, resp.Result)
	} else {
		buf = append(buf, resp.Result...)
	}
	buf = append(buf, '}', '\n')
	err = c.writeFrame(buf)
	if cap(buf) <= 1<<20 {
		*bp = buf[:0]
		frameBufs.Put(bp)
	}
	return err
}

func (c *stdioConn) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = errors.Join(c.r.Close(), c.w.Close())
		close(c.closed)
		if c.splicer != nil {
			c.splicer.Reset() // answers that will never be written
		}
	})
	return c.closeErr
}
