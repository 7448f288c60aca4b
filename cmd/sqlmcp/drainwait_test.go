package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/tools"
)

// TestDrainWaitOutlastsEveryCall: a graceful shutdown (SIGTERM over HTTP
// or stdio, EOF on stdin) waits for the calls in flight at least until
// the slowest can have answered, and a second more to write the answer.
// A call answers by tools.CallBound (timeout + grace + 2 s, up to 7 s past
// the timeout, when the database stalls); the fixed timeout + 5 s (HTTP)
// and + 6 s (stdio) cut such a call with no answer from a 30 s timeout on
// (35 s against 35.5 s).
func TestDrainWaitOutlastsEveryCall(t *testing.T) {
	d, ok := dialect.Lookup("sqlite")
	if !ok {
		t.Fatal("sqlite backend not registered")
	}
	for _, qt := range []time.Duration{time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 10 * time.Minute} {
		tl := tools.New(nil, d, tools.Options{QueryTimeout: qt})
		if w, need := drainWait(tl), tl.CallBound()+time.Second; w < need {
			t.Errorf("--query-timeout %s: shutdown waits %s for calls in flight, which may take %s to answer", qt, w, tl.CallBound())
		}
	}
}

// blockedWriter is a stdout whose writes wait for release, then fail.
type blockedWriter struct {
	writing chan struct{}
	release chan struct{}
	once    sync.Once
}

func (w *blockedWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.writing) })
	<-w.release
	return 0, errors.New("injected write failure")
}

func (w *blockedWriter) Close() error { return nil }

// TestStdioSignalExitCodeReportsLostAnswers: answers that could not be
// written during a SIGTERM drain make the exit code non-zero, as they do
// at EOF.
func TestStdioSignalExitCodeReportsLostAnswers(t *testing.T) {
	d, ok := dialect.Lookup("sqlite")
	if !ok {
		t.Fatal("sqlite backend not registered")
	}
	tl := tools.New(nil, d, tools.Options{QueryTimeout: time.Second})
	inR, inW := io.Pipe()
	defer inW.Close()
	out := &blockedWriter{writing: make(chan struct{}), release: make(chan struct{})}
	ctx, signal := context.WithCancel(context.Background())
	defer signal()
	code := make(chan int, 1)
	go func() { code <- serveStdio(ctx, tl, inR, out, slog.New(slog.DiscardHandler), time.Second) }()
	go io.WriteString(inW, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`+"\n")
	select {
	case <-out.writing:
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to initialize was written")
	}
	signal()
	time.Sleep(100 * time.Millisecond) // the signal is seen while the answer is being written
	close(out.release)
	select {
	case c := <-code:
		if c == 0 {
			t.Error("exit code 0 although an answer could not be written")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serveStdio did not return after SIGTERM")
	}
}
