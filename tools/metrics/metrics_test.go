package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/metrics"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// TestSeriesCarryTheDatabase: a server of several databases labels every
// per-call series with the call's database, and pre-creates the alerting
// series per database; a one-database server's series are as they were.
func TestSeriesCarryTheDatabase(t *testing.T) {
	call := func(m *metrics.Metrics, db string) {
		m.CallStarted("query", db)
		m.CallFinished(&tools.Record{Tool: "query", Database: db, Outcome: tools.OutcomeOK, Rows: 3, Truncated: true})
		m.CallStarted("describe_table", db)
		m.CallFinished(&tools.Record{Tool: "describe_table", Database: db, Outcome: tools.OutcomeDenied, Error: "validation"})
	}
	multi := metrics.New(metrics.Options{Version: "test", Databases: []string{"music", "demo"}})
	call(multi, "music")
	single := metrics.New(metrics.Options{Version: "test"})
	call(single, "default")
	for _, tc := range []struct {
		m    *metrics.Metrics
		want []string
	}{
		{multi, []string{
			`sqlmcp_tool_calls_total{database="music",outcome="ok",tool="query"} 1`,
			`sqlmcp_tool_calls_total{database="demo",outcome="ok",tool="query"} 0`,
			`sqlmcp_rows_returned_total{database="music",tool="query"} 3`,
			`sqlmcp_results_truncated_total{database="music",tool="query"} 1`,
			`sqlmcp_denied_total{database="music",reason="validation",tool="describe_table"} 1`,
			`sqlmcp_tool_call_duration_seconds_count{database="music",tool="query"} 1`,
			`sqlmcp_tool_calls_in_flight{database="demo",tool="list_tables"} 0`,
		}},
		{single, []string{
			`sqlmcp_tool_calls_total{outcome="ok",tool="query"} 1`,
			`sqlmcp_rows_returned_total{tool="query"} 3`,
			`sqlmcp_denied_total{reason="validation",tool="describe_table"} 1`,
			`sqlmcp_tool_calls_in_flight{tool="query"} 0`,
		}},
	} {
		body := scrape(t, tc.m)
		if tc.m == single && strings.Contains(body, `database="`) {
			t.Error("a one-database server's series carry a database label")
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("/metrics lacks %s", w)
			}
		}
	}
}
