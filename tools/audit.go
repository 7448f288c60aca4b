package tools

import (
	"context"
	"log/slog"
	"time"
)

// Outcome is how a tool call ended, as audited.
type Outcome string

const (
	OutcomeOK        Outcome = "ok"
	OutcomeDenied    Outcome = "denied"   // refused: policy, validation or the database's read-only mode
	OutcomeDBError   Outcome = "db_error" // a valid statement the database failed
	OutcomeTimeout   Outcome = "timeout"
	OutcomeCancelled Outcome = "cancelled"
	OutcomeInternal  Outcome = "internal"
)

// Record is what the audit trail keeps of one tool call.
type Record struct {
	Tool      string
	RequestID string
	Backend   string
	// SQL is the statement for query; Table the name for describe_table;
	// Schema the filter for list_tables.
	SQL       string
	Table     string
	Schema    string
	Outcome   Outcome
	Error     string // error code or class, never the message
	Rows      int
	Truncated bool
	Duration  time.Duration
	// Token names the credential that made the call (a fingerprint, never
	// the token), when the transport authenticates.
	Token string
}

// Auditor receives one record per tool call, denied ones included.
type Auditor interface {
	Audit(r *Record)
}

// maxAuditSQL bounds the statement text in one audit line.
const maxAuditSQL = 4096

// NewAuditor returns an Auditor that writes each record as one structured
// log line to every logger given (e.g. stderr and a JSON-lines file).
func NewAuditor(loggers ...*slog.Logger) Auditor {
	return slogAuditor(loggers)
}

type slogAuditor []*slog.Logger

func (a slogAuditor) Audit(r *Record) {
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("tool", r.Tool),
		slog.String("request_id", r.RequestID),
		slog.String("outcome", string(r.Outcome)),
		slog.Float64("duration_ms", float64(r.Duration.Microseconds())/1000),
	)
	switch {
	case r.SQL != "":
		s := r.SQL
		if len(s) > maxAuditSQL {
			s = s[:maxAuditSQL] + "…"
		}
		attrs = append(attrs, slog.String("sql", s))
	case r.Table != "":
		attrs = append(attrs, slog.String("table", r.Table))
	case r.Schema != "":
		attrs = append(attrs, slog.String("schema", r.Schema))
	}
	if r.Tool == "query" {
		attrs = append(attrs, slog.Int("rows", r.Rows), slog.Bool("truncated", r.Truncated))
	} else if r.Outcome == OutcomeOK {
		attrs = append(attrs, slog.Int("rows", r.Rows))
	}
	if r.Error != "" {
		attrs = append(attrs, slog.String("error", r.Error))
	}
	if r.Token != "" {
		attrs = append(attrs, slog.String("token", r.Token))
	}
	for _, l := range a {
		l.LogAttrs(context.Background(), slog.LevelInfo, "audit", attrs...)
	}
}
