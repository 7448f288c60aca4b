package tools

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
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
	// Database is the name of the database the call ran on ("" when it
	// named none the caller may use); Backend is its backend.
	Database string
	Backend  string
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
	// Audit writes r. An error means the record may not be in the
	// audit trail: with Options.AuditRequired the call's result is then
	// withheld.
	Audit(r *Record) error
}

// AuditReadiness is an optional ability of an Auditor: Ready reports,
// before a call runs, whether its record can be expected to be written.
// With Options.AuditRequired a call is refused while Ready fails.
type AuditReadiness interface {
	Ready() error
}

// maxAuditSQL bounds the statement text in one audit line.
const maxAuditSQL = 4096

// NewAuditor returns an Auditor that writes each record as one structured
// log line to every logger given (e.g. stderr). Their write errors are not
// reported: use NewFileAuditor for a trail that must hold.
func NewAuditor(loggers ...*slog.Logger) Auditor {
	return &slogAuditor{loggers: loggers}
}

// NewFileAuditor returns an Auditor that writes each record as one JSON
// line to file, and also to the loggers given. Its Audit reports the
// file's write errors and it implements AuditReadiness.
func NewFileAuditor(file *AuditFile, also ...*slog.Logger) Auditor {
	return &slogAuditor{loggers: also, file: file, fileLog: slog.New(slog.NewJSONHandler(file, nil))}
}

type slogAuditor struct {
	loggers []*slog.Logger
	file    *AuditFile
	fileLog *slog.Logger
}

func (a *slogAuditor) Ready() error {
	if a.file == nil {
		return nil
	}
	return a.file.Ready()
}

func (a *slogAuditor) Audit(r *Record) error {
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
	if r.Database != "" {
		attrs = append(attrs, slog.String("database", r.Database))
	}
	if r.Token != "" {
		attrs = append(attrs, slog.String("token", r.Token))
	}
	for _, l := range a.loggers {
		l.LogAttrs(context.Background(), slog.LevelInfo, "audit", attrs...)
	}
	if a.file == nil {
		return nil
	}
	// Logger.LogAttrs drops the handler's error; the trail needs it.
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, "audit", 0)
	rec.AddAttrs(attrs...)
	return a.fileLog.Handler().Handle(context.Background(), rec)
}

// AuditFile is an append-only JSON-lines audit file that is loud when it
// cannot be written and never leaves a torn record in front of the next
// one. Each Write is one whole record, written with one write call (the
// slog JSON handler writes each record so); Reopen opens the path again,
// for log rotation.
type AuditFile struct {
	path   string
	logger *slog.Logger

	mu      sync.Mutex
	f       *os.File
	failure error // the last write's error; nil once a write succeeds
	torn    bool  // the file may end in a partial line: start the next write on a new one
	lastLog time.Time
	quiet   int // failures not logged since lastLog

	errs atomic.Uint64
}

// auditLogEvery rate-limits the error log of a failing audit file.
const auditLogEvery = 10 * time.Second

// auditHeadroom is the free space below which the file system is taken
// as full: a record is at most maxAuditSQL plus its other fields.
const auditHeadroom = 16 << 10

// OpenAuditFile opens (creating it 0600 if needed) the audit file at path
// for appending. Write failures are logged to logger at ERROR.
func OpenAuditFile(path string, logger *slog.Logger) (*AuditFile, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &AuditFile{path: path, logger: logger, f: f}, nil
}

func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
}

// Write appends one record. It implements io.Writer for slog's JSON
// handler, which writes each record, newline included, in one call.
func (a *AuditFile) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	buf := p
	if a.torn {
		buf = append([]byte{'\n'}, p...)
	}
	n, err := a.f.Write(buf)
	if err == nil {
		a.torn = false
		if a.failure != nil {
			a.logger.Warn("audit log writable again", "path", a.path, "failed_writes_total", a.errs.Load())
			a.failure, a.quiet = nil, 0
		}
		return len(p), nil
	}
	if n > 0 {
		// A short write (full file system): cut the partial record off,
		// or failing that have the next record start on a new line.
		a.torn = true
		if fi, serr := a.f.Stat(); serr == nil && fi.Size() >= int64(n) {
			a.torn = a.f.Truncate(fi.Size()-int64(n)) != nil
		}
	}
	a.fail(err)
	return 0, err
}

// fail counts a write error and reports it. a.mu is held.
func (a *AuditFile) fail(err error) {
	a.errs.Add(1)
	a.failure = err
	a.report(err)
}

// report logs err at ERROR, at most once per auditLogEvery. a.mu is held.
func (a *AuditFile) report(err error) {
	if now := time.Now(); now.Sub(a.lastLog) >= auditLogEvery {
		a.logger.Error("cannot write the audit log: records are being lost", "path", a.path, "err", err.Error(),
			"failed_writes_since_last_report", a.quiet+1)
		a.lastLog, a.quiet = now, 0
		return
	}
	a.quiet++
}

// Ready reports whether a record can be expected to be written: the last
// write succeeded and the file system has room for one more.
func (a *AuditFile) Ready() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failure != nil {
		return fmt.Errorf("audit log %s: last write failed: %w", a.path, a.failure)
	}
	if free, ok := freeBytes(a.f); ok && free < auditHeadroom {
		err := fmt.Errorf("audit log %s: file system full (%d bytes free)", a.path, free)
		a.report(err)
		return err
	}
	return nil
}

// WriteErrors is the number of records the file failed to take.
func (a *AuditFile) WriteErrors() uint64 { return a.errs.Load() }

// Reopen opens the path again and writes there from now on: after a log
// rotation renamed the file, records go to a new file at the old path.
func (a *AuditFile) Reopen() error {
	f, err := openAppend(a.path)
	if err != nil {
		a.mu.Lock()
		a.fail(err)
		a.mu.Unlock()
		return err
	}
	a.mu.Lock()
	old := a.f
	a.f, a.torn, a.failure = f, false, nil
	a.mu.Unlock()
	return old.Close()
}

// Close closes the file.
func (a *AuditFile) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.f.Close()
}
