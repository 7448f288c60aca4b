package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rpcClient is the least an MCP client can be: newline-delimited JSON-RPC
// over a child's stdin/stdout, any number of calls in flight, matched to
// their answers by id. It parses only the id of each answer, so that the
// harness spends as little as possible of the machine the server runs on;
// check decodes an answer fully when a case wants to verify it.
//
// An HTTP transport would implement the same call method over POST /mcp;
// see newServer.
type rpcClient struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser

	wmu sync.Mutex // one line at a time on stdin

	mu      sync.Mutex
	pending map[int64]chan []byte
	readErr error

	nextID atomic.Int64
	done   chan struct{}
}

// server is one running sqlmcp child and what was measured while starting it.
type server struct {
	*rpcClient
	startup time.Duration // spawn -> initialize answered
}

// startServer spawns bin with args, performs the MCP handshake and reports
// how long the server took to answer initialize.
func startServer(ctx context.Context, bin string, args []string) (*server, error) {
	cmd := exec.Command(bin, args...)
	// Audit lines go to stderr at the default log level; a real client
	// reads them too, so the server pays for writing them.
	cmd.Stderr = io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &rpcClient{cmd: cmd, stdin: stdin, pending: map[int64]chan []byte{}, done: make(chan struct{})}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w (run `make build` first)", bin, err)
	}
	go c.readLoop(stdout)
	init, err := c.call(ctx, "initialize", map[string]any{
		"protocolVersion": "2025-06-18",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "sqlmcp-bench", "version": "1"},
	})
	startup := time.Since(start)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("initialize: %w", err)
	}
	if !bytes.Contains(init, []byte(`"serverInfo"`)) {
		c.close()
		return nil, fmt.Errorf("initialize: unexpected answer %.200s", init)
	}
	if err := c.notify("notifications/initialized"); err != nil {
		c.close()
		return nil, err
	}
	return &server{rpcClient: c, startup: startup}, nil
}

func (c *rpcClient) readLoop(r io.Reader) {
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
	close(c.done)
}

// deliver hands an answer to its caller. The id is the first member the
// go-sdk writes after "jsonrpc"; a line without a numeric id (a
// notification or a log message from the server) is ignored.
func (c *rpcClient) deliver(line []byte) {
	head := line[:min(len(line), 64)]
	i := bytes.Index(head, []byte(`"id":`))
	if i < 0 {
		return
	}
	rest := head[i+5:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	id, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil {
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

func (c *rpcClient) write(v any) error {
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

func (c *rpcClient) notify(method string) error {
	return c.write(map[string]any{"jsonrpc": "2.0", "method": method})
}

// call sends one request and returns the raw answer line. A JSON-RPC error
// is returned as an error; a tool error (isError) is the caller's to check.
func (c *rpcClient) call(ctx context.Context, method string, params any) ([]byte, error) {
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
		if bytes.Contains(line[:min(len(line), 80)], []byte(`"error":`)) {
			return nil, fmt.Errorf("%s: %s", method, strings.TrimSpace(string(line)))
		}
		return line, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// callTool is tools/call.
func (c *rpcClient) callTool(ctx context.Context, name string, args map[string]any) ([]byte, error) {
	return c.call(ctx, "tools/call", map[string]any{"name": name, "arguments": args})
}

// peakRSS is the child's high-water resident set (VmHWM), in bytes.
func (c *rpcClient) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
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
func (c *rpcClient) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
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

// close ends the session the way a client does: stdin closed, then wait.
func (c *rpcClient) close() {
	c.stdin.Close()
	exited := make(chan struct{})
	go func() { c.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-exited
	}
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
