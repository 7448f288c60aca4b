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
		runaway := []string{"SELECT count(*) FROM big a, big b, big c"}
		switch b.name {
		case "mysql":
			// MariaDB also stops recursion itself at max_recursive_iterations
			// (1000 by default), so a deep recursive CTE is not a runaway there.
			runaway = append(runaway, "SELECT count(*) FROM big a, big b WHERE a.label LIKE CONCAT('%', b.n, '%')")
		case "postgres":
			runaway = append(runaway,
				"SELECT count(*) FROM generate_series(1, 10000000000)",
				"SELECT count(*) FROM generate_series(1, 1e10::bigint) g CROSS JOIN big",
				"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10000000000) SELECT count(*) FROM r",
				"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r")
		case "sqlite":
			runaway = append(runaway,
				"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10000000000) SELECT count(*) FROM r",
				"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r")
		}
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
		var cases []string
		switch b.name {
		case "postgres":
			cases = []string{
				// Building 1 GB takes this server longer than the timeout;
				// once sent, the guard below lib/pq refuses its header.
				"SELECT repeat('x', 1000000000)",
				"SELECT repeat('x', 40000000) AS a, repeat('y', 40000000) AS b",
				"SELECT decode(repeat('ab', 30000000), 'hex')",
			}
		case "mysql":
			cases = []string{
				// MariaDB: NULL with a warning past max_allowed_packet.
				"SELECT repeat('x', 1000000000)",
				// Columns each under max_allowed_packet, 120 MB together.
				"SELECT " + strings.Repeat("repeat('x', 15000000), ", 7) + "repeat('x', 15000000)",
			}
		case "sqlite":
			cases = []string{
				"SELECT randomblob(1000000000)",
				"SELECT zeroblob(1000000000)",
				"SELECT printf('%.*c', 1000000000, 'x')",
			}
		}
		for _, q := range cases {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			res := s.call("query", map[string]any{"sql": q})
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
		if res := s.call("query", map[string]any{"sql": "SELECT count(*) FROM genre"}); res.IsError {
			t.Errorf("after the huge values: %s", res.Text)
		}
	})
}
