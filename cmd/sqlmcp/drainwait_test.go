package main

import (
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
	d, err := dialect.New("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	for _, qt := range []time.Duration{time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 10 * time.Minute} {
		tl := tools.New(nil, d, tools.Options{QueryTimeout: qt})
		if w, need := drainWait(tl), tl.CallBound()+time.Second; w < need {
			t.Errorf("--query-timeout %s: shutdown waits %s for calls in flight, which may take %s to answer", qt, w, tl.CallBound())
		}
	}
}
