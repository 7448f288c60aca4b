package integration_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// TestRunawayQueriesStopAtTheTimeout: statements that would run for hours
// (an unbounded series, an endless recursive CTE) end at the query timeout
// with a timeout error, and the pool serves the next call.
func TestRunawayQueriesStopAtTheTimeout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		audit := &toolstest.AuditLog{}
		s := serve(t, b, tools.Options{QueryTimeout: time.Second, Audit: audit})
		runaway := append([]string{"SELECT count(*) FROM big a, big b, big c"}, b.rec.runaway...)
		for _, q := range runaway {
			start := time.Now()
			res := s.call("query", map[string]any{"sql": q})
			el := time.Since(start)
			if !res.IsError || audit.Last().Outcome != tools.OutcomeTimeout {
				t.Errorf("%s\n  -> %.200s (outcome %s), want a timeout", q, res.Text, audit.Last().Outcome)
			}
			if el > 5*time.Second {
				t.Errorf("%s took %s to stop with a 1s timeout", q, el)
			}
		}
		if res := s.call("query", map[string]any{"sql": "SELECT count(*) FROM genre"}); res.IsError {
			t.Errorf("after the runaway queries: %s", res.Text)
		}
	})
}

// TestHugeValuesAreBoundedWithoutAllocatingThem: a gigabyte-sized value is
// stopped by a database limit or by the connection guard below the driver,
// not by this process running out of memory. What the process allocated
// during the call is measured, not assumed.
func TestHugeValuesAreBoundedWithoutAllocatingThem(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := serve(t, b, tools.Options{QueryTimeout: 4 * time.Second})
		for _, q := range b.rec.hugeValues {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			res := s.callAdmitted("query", map[string]any{"sql": q})
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%.60s: %.1f MB allocated, %s: %.160s", q, float64(alloc)/(1<<20), time.Since(start).Round(time.Millisecond), res.Text)
			if alloc > 64<<20 {
				t.Errorf("%s: the process allocated %d MB for one call, want the value stopped before it is read", q, alloc>>20)
			}
			if !res.IsError && !strings.Contains(res.Text, "NULL") && res.Structured["truncated_reason"] != "byte_limit" {
				t.Errorf("%s: %.200s, want an error, NULL or a byte_limit truncation", q, res.Text)
			}
		}
		if res := s.callAdmitted("query", map[string]any{"sql": "SELECT count(*) FROM genre"}); res.IsError {
			t.Errorf("after the huge values: %s", res.Text)
		}
	})
}
