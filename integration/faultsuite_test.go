package integration_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestFaultSuite plays restarts (every connection cut), stalls, killed
// sessions and a refusing server, in cycles, against every server backend
// (each record with faults) under concurrent load through the real tool path, and
// reports calls ok/failed, the error categories seen, the time to recover
// after each fault and what leaked. It asserts that no call is an
// internal error, that every fault is recovered from within a few
// seconds, and that no connection or goroutine is left behind.
//
// It runs for SQLMCP_FAULT_SUITE (a duration per backend, e.g. 45s):
// `make faults`. The regression tests of each fault class (faults_test.go)
// are part of the ordinary run; this longer soak is not.
func TestFaultSuite(t *testing.T) {
	dur, err := time.ParseDuration(os.Getenv("SQLMCP_FAULT_SUITE"))
	if err != nil || dur <= 0 {
		t.Skip("set SQLMCP_FAULT_SUITE to a duration per backend (make faults)")
	}
	for _, b := range faultBackends(t, faultOptions{pool: 6}) {
		t.Run(b.name, func(t *testing.T) { soak(t, b, dur) })
	}
}

type callRecord struct {
	start, end time.Time
	category   string // "ok" or the error's prefix, e.g. "database error unavailable"
	text       string
}

type faultEvent struct {
	name       string
	start, end time.Time // the fault began; it was over (forwarding resumed, kill done)
}

func soak(t *testing.T, b *faultBackend, dur time.Duration) {
	const timeout = 2 * time.Second
	const workers = 8
	tl := b.tools(timeout)
	cs := connectTools(t, tl, "inmemory")
	heavy := b.facts.heavySQL
	calls := []struct {
		tool string
		args map[string]any
	}{
		{"query", map[string]any{"sql": "SELECT 1 AS one"}},
		{"query", map[string]any{"sql": heavy}},
		{"query", map[string]any{"sql": heavy}},
		{"list_tables", nil},
	}
	warm(t, b, 6)
	time.Sleep(200 * time.Millisecond)
	baseGoroutines := runtime.NumGoroutine()

	var mu sync.Mutex
	var recs []callRecord
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := calls[rng.IntN(len(calls))]
				start := time.Now()
				res, err := cs.CallTool(context.Background(), callParams(c.tool, c.args))
				r := callRecord{start: start, end: time.Now(), category: "ok"}
				switch {
				case err != nil:
					r.category, r.text = "protocol error", err.Error()
				case res.IsError:
					r.text = resultText(res)
					r.category = category(r.text)
				}
				mu.Lock()
				recs = append(recs, r)
				mu.Unlock()
				time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
			}
		}()
	}

	kill := func() int {
		ports := b.proxy.ServerPorts()
		if len(ports) == 0 {
			return 0
		}
		var list []string
		for _, p := range ports {
			list = append(list, fmt.Sprint(p))
		}
		return b.facts.killSessions(t, b.admin, list)
	}

	var events []faultEvent
	settle := func() { time.Sleep(2 * time.Second) }
	end := time.Now().Add(dur)
	for time.Now().Before(end) {
		at := time.Now()
		b.proxy.Cut()
		events = append(events, faultEvent{"restart (cut all)", at, time.Now()})
		settle()
		at = time.Now()
		b.proxy.Stall()
		time.Sleep(3 * time.Second)
		b.proxy.Resume()
		events = append(events, faultEvent{"stall 3s", at, time.Now()})
		settle()
		at = time.Now()
		n := kill()
		events = append(events, faultEvent{fmt.Sprintf("kill %d sessions", n), at, time.Now()})
		settle()
		at = time.Now()
		b.proxy.Refuse()
		b.proxy.Cut()
		time.Sleep(1500 * time.Millisecond)
		b.proxy.Resume()
		events = append(events, faultEvent{"down 1.5s (refuse)", at, time.Now()})
		settle()
	}
	close(stop)
	wg.Wait()

	// What the run left behind, once abandoned work had time to end.
	time.Sleep(timeout + time.Second)
	st := b.db.Stats()
	goroutines := runtime.NumGoroutine()

	cats := map[string]int{}
	var ok, failed int
	for _, r := range recs {
		cats[r.category]++
		if r.category == "ok" {
			ok++
		} else {
			failed++
		}
		if r.category == "internal error" || r.category == "protocol error" {
			t.Errorf("%s: %s", r.category, r.text)
		}
	}
	var recov []time.Duration
	for _, e := range events {
		first := time.Time{}
		for _, r := range recs {
			if r.category == "ok" && !r.start.Before(e.end) && (first.IsZero() || r.end.Before(first)) {
				first = r.end
			}
		}
		if first.IsZero() {
			t.Errorf("no successful call after %q", e.name)
			continue
		}
		d := first.Sub(e.end)
		recov = append(recov, d)
		if d > 5*time.Second {
			t.Errorf("recovery after %q took %s", e.name, d)
		}
	}
	// Calls made wholly between one fault's end (plus a second) and the
	// next fault's start must all succeed: a fault must not outlive itself.
	healthy, healthyFailed := 0, map[string]int{}
	for _, r := range recs {
		for i, e := range events {
			next := time.Now()
			if i+1 < len(events) {
				next = events[i+1].start
			}
			if !r.start.Before(e.end.Add(time.Second)) && r.end.Before(next) {
				healthy++
				if r.category != "ok" {
					healthyFailed[r.category]++
					t.Errorf("a call between faults failed: %s", r.text)
				}
			}
		}
	}
	slices.Sort(recov)
	var names []string
	for c := range cats {
		names = append(names, c)
	}
	sort.Strings(names)
	var catLine []string
	for _, c := range names {
		catLine = append(catLine, fmt.Sprintf("%s=%d", c, cats[c]))
	}
	report := fmt.Sprintf("fault suite %s: %s, %d workers, query timeout %s, pool 6, %d fault events\n"+
		"  calls: %d ok, %d failed (%.1f%%)\n  categories: %s\n"+
		"  recovery after a fault (first ok call): median %s, max %s\n"+
		"  calls between faults (from 1s after one to the next): %d, failed %d %v\n"+
		"  after the run: pool in use %d, open %d (max 6); proxy connections %d; goroutines %d (baseline %d)\n",
		b.name, dur, workers, timeout, len(events), ok, failed, 100*float64(failed)/float64(max(1, ok+failed)),
		strings.Join(catLine, ", "), recov[len(recov)/2].Round(time.Millisecond), recov[len(recov)-1].Round(time.Millisecond),
		healthy, len(healthyFailed), healthyFailed,
		st.InUse, st.OpenConnections, b.proxy.Conns(), goroutines, baseGoroutines)
	t.Log(report)
	fmt.Print(report)
	if st.InUse != 0 {
		t.Errorf("%d pooled connections still in use after every call ended", st.InUse)
	}
	if n := b.proxy.Conns(); n > 6+2 {
		t.Errorf("%d connections open through the proxy, more than the pools (6+2) may hold", n)
	}
	if goroutines > baseGoroutines+10 {
		t.Errorf("%d goroutines after the run, %d before: leaked", goroutines, baseGoroutines)
	}
}

func callParams(tool string, args map[string]any) *mcp.CallToolParams {
	return &mcp.CallToolParams{Name: tool, Arguments: args}
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// category is an error's prefix ("database error unavailable"), with what
// the message says happened for the unavailable ones.
func category(text string) string {
	c, _, _ := strings.Cut(text, ":")
	if c != "database error unavailable" {
		return c
	}
	for _, k := range []struct{ in, kind string }{
		{"stopped answering", "stalled"},
		{"connection to the database was lost", "connection lost"},
		{"ended the session", "session ended by the server"},
		{"cannot be reached", "unreachable"},
		{"still running on the database server", "abandoned statements"},
	} {
		if strings.Contains(text, k.in) {
			return c + " (" + k.kind + ")"
		}
	}
	return c
}
