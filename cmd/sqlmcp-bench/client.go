package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const protocolVersion = "2025-06-18"

// rpcClient is the message path of one transport, and the least an MCP
// client can be: any number of calls in flight, each answer returned as its
// raw bytes. The clients parse only the id of an answer, so that the
// harness spends as little as possible of the machine the server runs on;
// check decodes an answer fully when a case wants to verify it.
type rpcClient interface {
	// call sends one request and returns the raw answer. A JSON-RPC error
	// is returned as an error; a tool error (isError) is the caller's to
	// check.
	call(ctx context.Context, method string, params any) ([]byte, error)
	notify(ctx context.Context, method string) error
	// hangUp ends the session the way a client does, after which the
	// server exits.
	hangUp()
}

// child is the sqlmcp process under measurement, whatever the transport.
type child struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited
	err    error         // its exit status, once exited is closed
}

// server is one running sqlmcp child, the client talking to it, and what
// was measured while starting it.
type server struct {
	rpcClient
	*child
	startup time.Duration // spawn -> initialize answered
}

// startServer spawns cfg.bin with args on cfg.transport, performs the MCP
// handshake and reports how long the server took to answer initialize.
func startServer(ctx context.Context, cfg config, args []string) (*server, error) {
	s, err := startCmd(ctx, cfg, exec.Command(cfg.bin, args...))
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("%w (run `make build` first)", err)
	}
	return s, err
}

// startCmd is startServer for any MCP server command: sqlmcp, or one of
// the comparison servers (compare.go), which speak stdio only.
func startCmd(ctx context.Context, cfg config, cmd *exec.Cmd) (*server, error) {
	// Audit lines go to stderr at the default log level; a real client
	// reads them too, so the server pays for writing them.
	cmd.Stderr = io.Discard
	p := &child{cmd: cmd, exited: make(chan struct{})}
	var c rpcClient
	switch cfg.transport {
	case "stdio":
		sc, err := newStdioClient(cmd)
		if err != nil {
			return nil, err
		}
		c = sc
	case "http", "http-stateless":
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		// Loopback: no token needed.
		cmd.Args = append(cmd.Args, "--transport", "http", "--listen", addr)
		if cfg.transport == "http-stateless" {
			// No Mcp-Session-Id comes back: every request is served
			// without a session.
			cmd.Args = append(cmd.Args, "--stateless")
		}
		c = newHTTPClient(p, "http://"+addr+"/mcp", max(cfg.conc, 8))
	default:
		return nil, fmt.Errorf("unknown transport %q", cfg.transport)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	s := &server{rpcClient: c, child: p}
	init, err := s.call(ctx, "initialize", map[string]any{
		"protocolVersion": protocolVersion,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "sqlmcp-bench", "version": "1"},
	})
	s.startup = time.Since(start)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("initialize: %w", err)
	}
	if !bytes.Contains(init, []byte(`"serverInfo"`)) {
		s.close()
		return nil, fmt.Errorf("initialize: unexpected answer %.200s", init)
	}
	if err := s.notify(ctx, "notifications/initialized"); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// callTool is tools/call.
func (s *server) callTool(ctx context.Context, name string, args map[string]any) ([]byte, error) {
	return s.call(ctx, "tools/call", map[string]any{"name": name, "arguments": args})
}

// close ends the session, then waits for the child to exit; it is killed
// if it has not after 10 s.
func (s *server) close() {
	s.hangUp()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// answer returns an answer, or an error if it is a JSON-RPC error.
func answer(method string, line []byte) ([]byte, error) {
	if bytes.Contains(line[:min(len(line), 80)], []byte(`"error":`)) {
		return nil, fmt.Errorf("%s: %s", method, strings.TrimSpace(string(line)))
	}
	return line, nil
}

// answerID is the id of an answer. It is the first member the go-sdk
// writes after "jsonrpc", and the last one the TypeScript SDK writes
// (`...,"jsonrpc":"2.0","id":3}`); a message without a numeric id (a
// notification or a log message from the server) has none.
func answerID(line []byte) (int64, bool) {
	head := line[:min(len(line), 64)]
	if i := bytes.Index(head, []byte(`"id":`)); i >= 0 {
		id, _, ok := leadingInt(head[i+5:])
		return id, ok
	}
	tail := bytes.TrimRight(line[max(0, len(line)-64):], " \r\n")
	i := bytes.LastIndex(tail, []byte(`"id":`))
	if i < 0 {
		return 0, false
	}
	id, rest, ok := leadingInt(tail[i+5:])
	return id, ok && string(rest) == "}"
}

// leadingInt parses the digits b starts with.
func leadingInt(b []byte) (int64, []byte, bool) {
	j := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	id, err := strconv.ParseInt(string(b[:j]), 10, 64)
	return id, b[j:], err == nil
}

// stdioClient is newline-delimited JSON-RPC over the child's stdin/stdout,
// answers matched to their calls by id.
type stdioClient struct {
	stdin io.WriteCloser

	wmu sync.Mutex // one line at a time on stdin

	mu      sync.Mutex
	pending map[int64]chan []byte
	readErr error

	nextID atomic.Int64
}

// newStdioClient connects to cmd's stdin and stdout, before it starts.
func newStdioClient(cmd *exec.Cmd) (*stdioClient, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &stdioClient{stdin: stdin, pending: map[int64]chan []byte{}}
	go c.readLoop(stdout)
	return c, nil
}

func (c *stdioClient) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	var err error
	for {
		var line []byte
		line, err = br.ReadBytes('\n')
		if len(line) > 0 {
			c.deliver(line)
		}
		if err != nil {
			break
		}
	}
	c.mu.Lock()
	c.readErr = fmt.Errorf("server output ended: %w", err)
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
}

// deliver hands an answer to its caller; a line without an id is ignored.
func (c *stdioClient) deliver(line []byte) {
	id, ok := answerID(line)
	if !ok {
		return
	}
	c.mu.Lock()
	ch := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if ch != nil {
		ch <- line
	}
}

func (c *stdioClient) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.stdin.Write(b)
	return err
}

func (c *stdioClient) notify(_ context.Context, method string) error {
	return c.write(map[string]any{"jsonrpc": "2.0", "method": method})
}

// call returns the raw answer line.
func (c *stdioClient) call(ctx context.Context, method string, params any) ([]byte, error) {
	id := c.nextID.Add(1)
	ch := make(chan []byte, 1)
	c.mu.Lock()
	if c.readErr != nil {
		c.mu.Unlock()
		return nil, c.readErr
	}
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.write(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
		return nil, err
	}
	select {
	case line, ok := <-ch:
		if !ok {
			return nil, c.readErr
		}
		return answer(method, line)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hangUp closes stdin: the server exits at its end.
func (c *stdioClient) hangUp() { c.stdin.Close() }

// httpClient is MCP streamable HTTP: each call is one POST /mcp on a
// kept-alive connection, its answer the response body, as JSON or as an
// event stream.
type httpClient struct {
	p       *child
	url     string
	hc      *http.Client
	session string // Mcp-Session-Id, from the initialize answer
	nextID  atomic.Int64
}

// newHTTPClient keeps up to conns connections alive, one per call in flight.
func newHTTPClient(p *child, url string, conns int) *httpClient {
	return &httpClient{p: p, url: url, hc: &http.Client{Transport: &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}}
}

// freeAddr is a loopback address with a port nobody listens on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (c *httpClient) newRequest(ctx context.Context, method string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
		req.Header.Set("Mcp-Protocol-Version", protocolVersion)
	}
	return req, nil
}

// post sends one JSON-RPC message; the response body is the caller's to
// close. Until the session exists, a refused connection is retried: the
// server listens only once its database is open.
func (c *httpClient) post(ctx context.Context, msg any) (*http.Response, error) {
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	for {
		req, err := c.newRequest(ctx, http.MethodPost, b)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := c.hc.Do(req)
		if c.session != "" || !errors.Is(err, syscall.ECONNREFUSED) {
			return resp, err
		}
		select {
		case <-c.p.exited:
			return nil, fmt.Errorf("server exited before listening: %v", c.p.err)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// done reads what is left of a body, so that its connection is reused.
func done(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func httpError(method string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("%s: HTTP %s: %s", method, resp.Status, bytes.TrimSpace(b))
}

// call returns the raw answer: the body, or the data of the event that
// carries it.
func (c *httpClient) call(ctx context.Context, method string, params any) ([]byte, error) {
	id := c.nextID.Add(1)
	resp, err := c.post(ctx, map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	defer done(resp)
	if resp.StatusCode != http.StatusOK {
		return nil, httpError(method, resp)
	}
	if method == "initialize" {
		c.session = resp.Header.Get("Mcp-Session-Id")
	}
	var line []byte
	switch ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";"); strings.TrimSpace(ct) {
	case "application/json":
		line, err = io.ReadAll(resp.Body)
	case "text/event-stream":
		line, err = readEvent(resp.Body, id)
	default:
		err = fmt.Errorf("unexpected Content-Type %q", ct)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return answer(method, line)
}

// readEvent returns the data of the first server-sent event that answers
// id; other events (notifications, log messages) are skipped.
func readEvent(r io.Reader, id int64) ([]byte, error) {
	br := bufio.NewReader(r)
	var data []byte
	for {
		line, err := br.ReadBytes('\n')
		line = bytes.TrimRight(line, "\r\n")
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(v, []byte(" "))...)
		}
		if len(line) == 0 || err != nil { // the end of an event
			if got, ok := answerID(data); ok && got == id {
				return data, nil
			}
			data = nil
		}
		if err == io.EOF {
			return nil, errors.New("event stream ended without the answer")
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *httpClient) notify(ctx context.Context, method string) error {
	resp, err := c.post(ctx, map[string]any{"jsonrpc": "2.0", "method": method})
	if err != nil {
		return err
	}
	defer done(resp)
	if resp.StatusCode != http.StatusAccepted {
		return httpError(method, resp)
	}
	return nil
}

// hangUp ends the session with DELETE /mcp, as a client does. An HTTP
// server outlives its sessions: it is then asked to stop, as a service
// manager does.
func (c *httpClient) hangUp() {
	if c.session != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if req, err := c.newRequest(ctx, http.MethodDelete, nil); err == nil {
			if resp, err := c.hc.Do(req); err == nil {
				done(resp)
			}
		}
	}
	c.hc.CloseIdleConnections()
	c.p.cmd.Process.Signal(syscall.SIGTERM)
}

// peakRSS is the child's high-water resident set (VmHWM), in bytes.
func (p *child) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// cpuTime is the user+system CPU time the child has used so far.
func (p *child) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// toolResult is what check reads of a tools/call answer.
type toolResult struct {
	Result struct {
		IsError           bool `json:"isError"`
		Content           []struct{ Text string }
		StructuredContent json.RawMessage `json:"structuredContent"`
	} `json:"result"`
}

// check decodes an answer fully and fails on a tool error.
func check(line []byte) (toolResult, error) {
	var r toolResult
	if err := json.Unmarshal(line, &r); err != nil {
		return r, fmt.Errorf("decode answer: %w", err)
	}
	if r.Result.IsError {
		text := ""
		if len(r.Result.Content) > 0 {
			text = r.Result.Content[0].Text
		}
		return r, fmt.Errorf("tool error: %s", text)
	}
	return r, nil
}
