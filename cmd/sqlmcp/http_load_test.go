package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkHTTPLoad drives sqlmcp's HTTP service (auth, metrics and all)
// with 64 concurrent clients making 10,000 query calls per iteration over
// loopback, then checks that nothing failed and nothing leaked: no
// goroutines beyond those of the idle server, no connection still in use.
//
//	go test ./cmd/sqlmcp -run '^$' -bench HTTPLoad -benchtime 1x
func BenchmarkHTTPLoad(b *testing.B) {
	for _, stateless := range []bool{false, true} {
		name := "stateful"
		if stateless {
			name = "stateless"
		}
		b.Run(name, func(b *testing.B) { benchmarkHTTPLoad(b, stateless) })
	}
}

const (
	loadClients = 64
	loadCalls   = 10_000
)

func benchmarkHTTPLoad(b *testing.B, stateless bool) {
	f := newHTTPFixture(b, fixtureOptions{tokens: []string{tokenA}, stateless: stateless, noAudit: true})
	settle := func(want int) int {
		n := runtime.NumGoroutine()
		for deadline := time.Now().Add(5 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
			time.Sleep(20 * time.Millisecond)
		}
		return n
	}
	before := settle(0)

	var latencies []time.Duration
	var elapsed time.Duration
	for b.Loop() {
		transport := &http.Transport{MaxIdleConnsPerHost: loadClients, IdleConnTimeout: time.Minute}
		client := &http.Client{Transport: bearer{tokenA, transport}}
		sessions := make([]*mcp.ClientSession, loadClients)
		for i := range sessions {
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "load"}, nil).Connect(context.Background(),
				&mcp.StreamableClientTransport{Endpoint: f.url, HTTPClient: client, MaxRetries: -1}, nil)
			if err != nil {
				b.Fatal(err)
			}
			sessions[i] = cs
		}
		var next atomic.Int64
		var failures atomic.Int64
		var firstErr atomic.Value
		lat := make([][]time.Duration, loadClients)
		var wg sync.WaitGroup
		start := time.Now()
		for i, cs := range sessions {
			wg.Go(func() {
				for {
					n := next.Add(1)
					if n > loadCalls {
						return
					}
					t0 := time.Now()
					res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "query", Arguments: map[string]any{
						"sql": fmt.Sprintf("SELECT t.name, a.title FROM track t JOIN album a USING (album_id) WHERE t.track_id = %d", 1+n%3503),
					}})
					lat[i] = append(lat[i], time.Since(t0))
					if err != nil || res.IsError {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprint(err, res))
					}
				}
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
		for _, l := range lat {
			latencies = append(latencies, l...)
		}
		for _, cs := range sessions {
			cs.Close()
		}
		transport.CloseIdleConnections()
		if n := failures.Load(); n > 0 {
			b.Fatalf("%d of %d calls failed; first: %v", n, loadCalls, firstErr.Load())
		}
	}

	if after := settle(before); after > before {
		buf := make([]byte, 1<<20)
		b.Fatalf("goroutines: %d before, %d after the load\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
	if st := f.db.Stats(); st.InUse != 0 {
		b.Fatalf("%d database connections still in use after the load", st.InUse)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
}
