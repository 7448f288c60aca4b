// Package metrics exports sqlmcp's tool calls and database pool as
// Prometheus metrics. Metrics implements tools.Observer and owns its own
// registry, so nothing else in the process (or a library's init) can add to
// or clash with what /metrics shows.
//
// It knows tools.Record and database/sql; it knows nothing about
// transports, backends or MCP.
package metrics

import (
	"database/sql"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sqlmcp/sqlmcp/tools"
)

// Metrics counts tool calls. It is safe for concurrent use.
type Metrics struct {
	reg          *prometheus.Registry
	calls        *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	rows         *prometheus.CounterVec
	truncated    *prometheus.CounterVec
	denied       *prometheus.CounterVec
	inFlight     *prometheus.GaugeVec
	authFailures prometheus.Counter
	perDatabase  bool
}

var _ tools.Observer = (*Metrics)(nil)

// Options describe the process for the sqlmcp_build_info metric.
type Options struct {
	Version string
	Backend string
	// Databases, when not empty, are the names of the databases served:
	// the per-call series then carry a `database` label, pre-created for
	// each. Empty (one database, as a single --dsn serves) leaves the
	// series as they have always been, without it.
	Databases []string
}

// New returns metrics on a fresh registry that also holds the Go runtime
// and process collectors.
func New(opts Options) *Metrics {
	by := func(labels ...string) []string {
		if len(opts.Databases) > 0 {
			return append([]string{"database"}, labels...)
		}
		return labels
	}
	m := &Metrics{
		perDatabase: len(opts.Databases) > 0,
		reg:         prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sqlmcp_tool_calls_total",
			Help: "Tool calls finished, by tool and outcome (ok, denied, db_error, timeout, cancelled, internal).",
		}, by("tool", "outcome")),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sqlmcp_tool_call_duration_seconds",
			Help: "Tool call latency inside the server, by tool.",
			// From a cached catalog lookup to a query near the default
			// 30s timeout.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, by("tool")),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sqlmcp_rows_returned_total",
			Help: "Rows returned to clients, by tool (for list_tables, tables listed).",
		}, by("tool")),
		truncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sqlmcp_results_truncated_total",
			Help: "Results cut short by the row limit or the byte cap, by tool.",
		}, by("tool")),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sqlmcp_denied_total",
			Help: "Calls refused, by tool and reason: policy (the read-only statement policy), validation (bad arguments) or database (the database's own read-only guard).",
		}, by("tool", "reason")),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sqlmcp_tool_calls_in_flight",
			Help: "Tool calls running now, by tool.",
		}, by("tool")),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sqlmcp_http_auth_failures_total",
			Help: "Requests to /mcp refused for a missing or wrong bearer token.",
		}),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "sqlmcp_build_info",
		Help:        "Always 1; the labels name the version and the database backend.",
		ConstLabels: prometheus.Labels{"version": opts.Version, "backend": opts.Backend},
	})
	info.Set(1)
	m.reg.MustRegister(m.calls, m.duration, m.rows, m.truncated, m.denied, m.inFlight, m.authFailures, info,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Pre-create the series a dashboard alerts on, so that a rate() over
	// them exists before the first call.
	for _, tool := range []string{"query", "list_tables", "describe_table", "search"} {
		if !m.perDatabase {
			m.inFlight.WithLabelValues(tool)
			m.calls.WithLabelValues(tool, string(tools.OutcomeOK))
		}
		for _, db := range opts.Databases {
			m.inFlight.WithLabelValues(db, tool)
			m.calls.WithLabelValues(db, tool, string(tools.OutcomeOK))
		}
	}
	return m
}

// labels prefixes a call's label values with its database, when the
// series carry one.
func (m *Metrics) labels(database string, values ...string) []string {
	if m.perDatabase {
		return append([]string{database}, values...)
	}
	return values
}

// ObserveDB adds the connection pool statistics of db, as
// sqlmcp_go_sql_* metrics labelled db_name=name.
func (m *Metrics) ObserveDB(db *sql.DB, name string) {
	prometheus.WrapRegistererWithPrefix("sqlmcp_", m.reg).MustRegister(collectors.NewDBStatsCollector(db, name))
}

// CallStarted implements tools.Observer.
func (m *Metrics) CallStarted(tool, database string) {
	m.inFlight.WithLabelValues(m.labels(database, tool)...).Inc()
}

// CallFinished implements tools.Observer.
func (m *Metrics) CallFinished(r *tools.Record) {
	m.inFlight.WithLabelValues(m.labels(r.Database, r.Tool)...).Dec()
	m.calls.WithLabelValues(m.labels(r.Database, r.Tool, string(r.Outcome))...).Inc()
	m.duration.WithLabelValues(m.labels(r.Database, r.Tool)...).Observe(r.Duration.Seconds())
	if r.Rows > 0 {
		m.rows.WithLabelValues(m.labels(r.Database, r.Tool)...).Add(float64(r.Rows))
	}
	if r.Truncated {
		m.truncated.WithLabelValues(m.labels(r.Database, r.Tool)...).Inc()
	}
	if r.Outcome == tools.OutcomeDenied {
		m.denied.WithLabelValues(m.labels(r.Database, r.Tool, deniedReason(r.Error))...).Inc()
	}
}

// deniedReason folds an audit error code into a small, fixed label set: a
// database error code as a label value would let clients grow the series.
func deniedReason(code string) string {
	switch code {
	case "policy", "validation":
		return code
	case "audit_unavailable", "shutting_down":
		return "unavailable"
	}
	return "database"
}

// ObserveAudit exports the audit file's failed writes as
// sqlmcp_audit_write_errors_total; errors reads the running count.
func (m *Metrics) ObserveAudit(errors func() uint64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "sqlmcp_audit_write_errors_total",
		Help: "Audit records the --audit-log file failed to take (full file system, I/O error, failed reopen).",
	}, func() float64 { return float64(errors()) }))
}

// AuthFailed counts a request refused for its bearer token.
func (m *Metrics) AuthFailed() { m.authFailures.Inc() }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
