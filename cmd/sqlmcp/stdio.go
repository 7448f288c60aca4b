package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools"
)

// stdioTransport is mcp.IOTransport (go-sdk v1.8.0, transport.go: ioConn)
// with one change: a successful response is written as the JSON-RPC
// envelope around the Result bytes as they are, instead of through
// jsonrpc.EncodeMessage, which re-compacts the whole result (on a query
// call, every byte of structuredContent and of the TSV text) a third time.
//
// The bytes are the same: the SDK builds every Result it answers with
// (jsonrpc2.NewResponse → marshalToRaw) with a json.Encoder that does not
// escape HTML, so Result is already compact, and compacting compact JSON
// without HTML escaping is the identity. The envelope itself comes from
// jsonrpc.EncodeMessage (see writeResponse); stdio_test.go checks the
// equality against EncodeMessage.
//
// Everything else follows ioConn: newline-delimited frames read by a
// goroutine with a per-frame byte limit, trailing-data check, batches
// (refused from protocol 2025-06-18 on; the answers to a batch go out as
// one array once all are in), Close semantics. ioConn learns the
// negotiated protocol version through an SDK-internal hook; here it is
// read from the answer to initialize.
type stdioTransport struct {
	Reader        io.ReadCloser
	Writer        io.WriteCloser
	MaxLineLength int // 0: mcp.DefaultMaxLineLength; negative: no cap
	// Splicer, when set, is the one whose Middleware the server uses:
	// every result is written through its Expand.
	Splicer *tools.Splicer
}

func (t *stdioTransport) Connect(context.Context) (mcp.Connection, error) {
	c := newStdioConn(t.Reader, t.Writer, t.MaxLineLength)
	c.splicer = t.Splicer
	return c, nil
}

const (
	protocol20250326 = "2025-03-26"
	protocol20250618 = "2025-06-18"
)

type stdioConn struct {
	r       io.ReadCloser
	w       io.WriteCloser
	splicer *tools.Splicer // nil: results are written as they are

	sessionMu       sync.Mutex
	protocolVersion string
	initID          jsonrpc.ID
	initSeen        bool

	writeMu sync.Mutex

	incoming <-chan frameOrErr
	queue    []jsonrpc.Message // rest of the last batch; reads are serialized

	batchMu sync.Mutex
	batches map[jsonrpc.ID]*stdioBatch

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

type frameOrErr struct {
	msg json.RawMessage
	err error
}

type stdioBatch struct {
	unresolved map[jsonrpc.ID]int
	responses  []*jsonrpc.Response
}

// errInvalidRequest is jsonrpc2.ErrInvalidRequest (same code, same text).
var errInvalidRequest error = &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "invalid request"}

var errFrameTooLarge = errors.New("inbound JSON-RPC frame exceeded the configured maximum line length")

func newStdioConn(r io.ReadCloser, w io.WriteCloser, maxLineLength int) *stdioConn {
	limit := maxLineLength
	if limit == 0 {
		limit = mcp.DefaultMaxLineLength
	}
	incoming := make(chan frameOrErr)
	closed := make(chan struct{})
	// As in ioConn: reads run in their own goroutine so that Read can
	// return on Close; it leaks if r.Read never returns after Close.
	go func() {
		var (
			reader  io.Reader = r
			limiter *frameLimitReader
		)
		if limit > 0 {
			limiter = &frameLimitReader{r: r, limit: limit}
			reader = limiter
		}
		dec := json.NewDecoder(reader)
		for {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if err == nil {
				var tr [1]byte
				if n, readErr := dec.Buffered().Read(tr[:]); n > 0 {
					if tr[0] != '\n' && tr[0] != '\r' {
						err = fmt.Errorf("invalid trailing data at the end of stream")
					}
				} else if readErr != nil && readErr != io.EOF {
					err = readErr
				}
			}
			select {
			case incoming <- frameOrErr{msg: raw, err: err}:
			case <-closed:
				return
			}
			if err != nil {
				return
			}
			if limiter != nil {
				limiter.count = 0
			}
		}
	}()
	return &stdioConn{r: r, w: w, incoming: incoming, closed: closed}
}

type frameLimitReader struct {
	r     io.Reader
	limit int
	count int
}

func (r *frameLimitReader) Read(p []byte) (int, error) {
	if r.count >= r.limit {
		return 0, errFrameTooLarge
	}
	if len(p) > r.limit-r.count {
		p = p[:r.limit-r.count]
	}
	n, err := r.r.Read(p)
	r.count += n
	return n, err
}

func (c *stdioConn) SessionID() string { return "" }

func (c *stdioConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	default:
	}
	if len(c.queue) > 0 {
		next := c.queue[0]
		c.queue = c.queue[1:]
		return next, nil
	}
	var raw json.RawMessage
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case v := <-c.incoming:
		if v.err != nil {
			return nil, v.err
		}
		raw = v.msg
	case <-c.closed:
		return nil, io.EOF
	}

	msgs, batch, err := readBatch(raw)
	if err != nil {
		return nil, err
	}
	c.sessionMu.Lock()
	protocolVersion := c.protocolVersion
	c.sessionMu.Unlock()
	if batch && protocolVersion >= protocol20250618 {
		return nil, fmt.Errorf("JSON-RPC batching is not supported in %s and later (request version: %s)", protocol20250618, protocolVersion)
	}
	for _, m := range msgs {
		if req, ok := m.(*jsonrpc.Request); ok && req.Method == "initialize" && req.IsCall() {
			c.sessionMu.Lock()
			if !c.initSeen {
				c.initSeen, c.initID = true, req.ID
			}
			c.sessionMu.Unlock()
		}
	}
	c.queue = msgs[1:]
	if batch {
		var rb *stdioBatch
		for _, m := range msgs {
			// As ioConn: every request, notifications included.
			if req, ok := m.(*jsonrpc.Request); ok {
				if rb == nil {
					rb = &stdioBatch{unresolved: make(map[jsonrpc.ID]int)}
				}
				if _, dup := rb.unresolved[req.ID]; dup {
					return nil, fmt.Errorf("duplicate message ID %q", req.ID)
				}
				rb.unresolved[req.ID] = len(rb.responses)
				rb.responses = append(rb.responses, nil)
			}
		}
		if rb != nil {
			if err := c.addBatch(rb); err != nil {
				return nil, err
			}
		}
	}
	return msgs[0], nil
}

// readBatch is ioConn's: an array is a batch, anything else one message.
func readBatch(data []byte) (msgs []jsonrpc.Message, isBatch bool, _ error) {
	var rawBatch []json.RawMessage
	if err := json.Unmarshal(data, &rawBatch); err == nil {
		if len(rawBatch) == 0 {
			return nil, true, fmt.Errorf("empty batch")
		}
		for _, raw := range rawBatch {
			msg, err := jsonrpc.DecodeMessage(raw)
			if err != nil {
				return nil, true, err
			}
			msgs = append(msgs, msg)
		}
		return msgs, true, nil
	}
	msg, err := jsonrpc.DecodeMessage(data)
	return []jsonrpc.Message{msg}, false, err
}

func (c *stdioConn) addBatch(b *stdioBatch) error {
	c.batchMu.Lock()
	defer c.batchMu.Unlock()
	for id := range b.unresolved {
		if _, ok := c.batches[id]; ok {
			return fmt.Errorf("%w: batch contains previously seen request %v", errInvalidRequest, id.Raw())
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

// noteInitialize records the negotiated protocol version from the answer
// to initialize (ioConn gets it from the session; 2025-03-26 when none).
func (c *stdioConn) noteInitialize(resp *jsonrpc.Response) {
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
		c.noteInitialize(resp)
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
			_, err = c.w.Write(append(data, '\n'))
			return err
		}
		if resp.Error == nil && len(resp.Result) > 0 {
			return c.writeResponse(resp)
		}
	}
	data, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return fmt.Errorf("marshaling message: %v", err)
	}
	_, err = c.w.Write(append(data, '\n'))
	return err
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
		bw := bufio.NewWriterSize(c.w, 64<<10)
		bw.Write(env)
		if _, err := c.splicer.ExpandTo(bw, resp.Result); err != nil {
			return err
		}
		bw.WriteString("}\n")
		return bw.Flush()
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
	_, err = c.w.Write(buf)
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
