package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// TestBoundedAnswersWhateverTheBodyDoes: a tool body stuck in a driver
// call that ignores its context and its socket's deadline does not hold
// the answer past hardLimit; the stuck work counts as abandoned (queries
// are refused) until it returns. The body here is a stand-in for such a
// driver call: no database can be made to do this on demand once the
// socket deadlines hold.
func TestBoundedAnswersWhateverTheBodyDoes(t *testing.T) {
	d, ok := dialect.Lookup("sqlite")
	if !ok {
		t.Fatal("sqlite backend not registered")
	}
	tl := New(nil, d, Options{QueryTimeout: 100 * time.Millisecond})
	release := make(chan struct{})
	stuck := func(ctx context.Context, db *database, args json.RawMessage, rec *Record) (result, error) {
		rec.SQL = "SELECT stuck"
		<-release // ignores ctx, as a stuck driver call does
		return result{}, nil
	}
	rec := &Record{Tool: "query", RequestID: "r1"}
	start := time.Now()
	_, err := tl.bounded(stuck)(context.Background(), tl.only(), json.RawMessage(`{"sql":"SELECT stuck"}`), rec)
	took := time.Since(start)
	if took > tl.only().hardLimit()+2*time.Second {
		t.Errorf("bounded call answered after %s, want by %s", took, tl.only().hardLimit())
	}
	te := tl.categorize(context.Background(), tl.only(), err, rec)
	if te.code != "timeout" || !strings.Contains(te.msg, "abandoned") || rec.Outcome != OutcomeTimeout || rec.SQL != "SELECT stuck" {
		t.Errorf("stuck call = %v (outcome %s, sql %q), want a timeout saying the work was abandoned", te, rec.Outcome, rec.SQL)
	}
	if err := tl.only().admit(); err == nil {
		t.Error("a query was admitted while the abandoned work still ran")
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for tl.only().admit() != nil {
		if time.Now().After(deadline) {
			t.Fatal("queries still refused after the abandoned work returned")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDrainWaitsForAbandonedWork: a call answered without its stuck work
// (bounded) has returned, but its work still holds its connection: Drain
// must not report every call finished, and so let shutdown close the pool
// under it, until that work returns.
func TestDrainWaitsForAbandonedWork(t *testing.T) {
	d, ok := dialect.Lookup("sqlite")
	if !ok {
		t.Fatal("sqlite backend not registered")
	}
	tl := New(nil, d, Options{QueryTimeout: 100 * time.Millisecond})
	release := make(chan struct{})
	stuck := func(ctx context.Context, db *database, args json.RawMessage, rec *Record) (result, error) {
		<-release // ignores ctx, as a stuck driver call does
		return result{}, nil
	}
	h := tl.handler("query", tl.bounded(stuck))
	res, err := h(context.Background(), nil)
	if err != nil || res == nil || !res.IsError {
		t.Fatalf("stuck call = %v, %v; want an error result", res, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if tl.Drain(ctx) {
		t.Error("Drain reported every call finished while abandoned work still ran")
	}
	close(release)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if !tl.Drain(ctx2) {
		t.Error("Drain did not finish after the abandoned work returned")
	}
}
