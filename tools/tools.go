// Package tools holds sqlmcp's MCP tools — query, list_tables and
// describe_table — with their input validation, execution policy, result
// encoding, error categories and audit trail, over one database (New) or
// several, each named by the tools' `database` argument (NewSet).
//
// It knows MCP and database/sql, and asks a dialect.Backend for everything
// backend-specific: it holds no backend SQL. It reads no flags and no
// environment; configuration arrives as Options.
package tools

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// HardMaxRows is the ceiling of Options.MaxRows: a result larger than this
// is no longer something a model can read.
const HardMaxRows = 1000

// Options configure the tools. The zero value means the defaults.
type Options struct {
	// MaxRows is the largest `limit` the query tool accepts (default 100,
	// at most HardMaxRows). It is also the default limit.
	MaxRows int
	// QueryTimeout is enforced by the database and by the context
	// (default 30s).
	QueryTimeout time.Duration
	// MaxResultBytes caps the encoded values of one result (default 1 MiB).
	MaxResultBytes int
	// Logger receives operational logs (default: discard).
	Logger *slog.Logger
	// Audit receives one record per tool call (default: none).
	Audit Auditor
	// AuditRequired refuses calls whose record cannot be written: a call
	// is refused while the Auditor's Ready fails (see AuditReadiness),
	// and a result whose record failed is withheld.
	AuditRequired bool
	// Observer, if set, is told when calls start and end (metrics).
	Observer Observer
	// Control is a small pool of its own for out-of-band statements that
	// stop a cancelled call's statement (see dialect.SessionOptions).
	// Default: the tools' pool, which a full pool can starve exactly when
	// cancelling matters.
	Control *sql.DB
	// Access is the database's access policy: what it denies is hidden
	// from the catalog tools and refused in queries (nil: none).
	Access *access.Policy
}

func (o Options) withDefaults() Options {
	if o.MaxRows <= 0 {
		o.MaxRows = 100
	}
	o.MaxRows = min(o.MaxRows, HardMaxRows)
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = 30 * time.Second
	}
	if o.MaxResultBytes <= 0 {
		o.MaxResultBytes = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Observer is told about every tool call; the metrics exporter implements
// it. Its methods must be cheap and safe for concurrent use.
type Observer interface {
	// CallStarted is told the tool and the database the call names (""
	// when it names none the caller may use).
	CallStarted(tool, database string)
	CallFinished(r *Record)
}

// Tools serves the three tools over one or several databases (see
// NewSet). What is server-wide lives here: the handler's wrapping, the
// audit trail, the observer, the drain and the logger; each database has
// its own pool, limits and policy (see database).
type Tools struct {
	opts Options // server-wide: the defaults of the databases' limits

	state atomic.Pointer[dbSet]

	// smu serializes SetDatabases with the making of servers, so that a
	// server made during a reload gets the new tools.
	smu     sync.Mutex
	servers []served

	wg       sync.WaitGroup
	mu       sync.Mutex
	draining bool
}

// New returns the tools for db, whose backend is d: one database, named
// "default", whose limits and policy are opts'. Its tools take no
// `database` argument.
func New(db *sql.DB, d dialect.Backend, opts Options) *Tools {
	t := &Tools{opts: opts.withDefaults()}
	t.state.Store(t.newSet([]Database{{Name: DefaultName, Backend: d, DB: db, Control: opts.Control, Access: opts.Access}}, nil))
	return t
}

// Options returns the effective options (defaults applied). Of several
// databases, MaxRows, QueryTimeout and MaxResultBytes are the largest of
// the databases' own (what bounds a call or a result of any of them), and
// Access is the policy of the database only when there is one.
func (t *Tools) Options() Options {
	o := t.opts
	set := t.state.Load()
	o.MaxRows, o.QueryTimeout, o.MaxResultBytes = 0, 0, 0
	for _, db := range set.list {
		o.MaxRows = max(o.MaxRows, db.MaxRows)
		o.QueryTimeout = max(o.QueryTimeout, db.QueryTimeout)
		o.MaxResultBytes = max(o.MaxResultBytes, db.MaxResultBytes)
	}
	o.Access = nil
	if len(set.list) == 1 {
		o.Access = set.list[0].Access
	}
	return o
}

// Register adds the three tools to s, for every database, and updates
// them when the databases change (SetDatabases).
func (t *Tools) Register(s *mcp.Server) {
	t.smu.Lock()
	defer t.smu.Unlock()
	t.register(s, nil)
}

// NewServer returns an MCP server with the tools registered, for every
// database.
func (t *Tools) NewServer(version string) *mcp.Server { return t.NewServerFor(version, nil) }

func (t *Tools) instructions(dbs []*database) string {
	if len(dbs) == 0 {
		return "No database is available to this client: the tools answer every call with an error."
	}
	if legacy(dbs) {
		db := dbs[0]
		return fmt.Sprintf("Read-only access to a %s database. Start with list_tables (a page at a time; pattern "+
			"narrows it) or search (finds tables and columns by name), then describe_table for the columns and keys of "+
			"the tables you need (several at once), then query with one read-only statement: %s. Results are "+
			"capped at %d rows per call (use the limit argument, ORDER BY and WHERE to page). "+
			"Writes, DDL, transaction control and side-effecting functions are refused.", db.backend, db.statements(), db.MaxRows)
	}
	var b strings.Builder
	if len(dbs) == 1 {
		fmt.Fprintf(&b, "Read-only access to one database: %s. ", describeDB(dbs[0]))
	} else {
		fmt.Fprintf(&b, "Read-only access to %d databases; every tool takes a database argument naming the one to use: ", len(dbs))
		for i, db := range dbs {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(describeDB(db))
		}
		b.WriteString(". ")
	}
	fmt.Fprintf(&b, "Start with list_tables (a page at a time; pattern narrows it) or search (finds tables and columns "+
		"by name), then describe_table for the columns and keys of the tables you need (several at once), then "+
		"query with one read-only statement: %s. Results are capped at %s per call (use the limit argument, ORDER BY "+
		"and WHERE to page). Writes, DDL, transaction control and side-effecting functions are refused.",
		statementsOf(dbs), rowCaps(dbs))
	return b.String()
}

// Drain stops taking new calls and waits for the in-flight ones, at most
// until ctx ends. It reports whether every call finished.
func (t *Tools) Drain(ctx context.Context) bool {
	t.mu.Lock()
	t.draining = true
	t.mu.Unlock()
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

func (t *Tools) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining {
		return false
	}
	t.wg.Add(1)
	return true
}

// toolFunc is one tool's body: it runs on db, fills in rec (what is
// audited) and returns the structured result or an error of one of the
// categories.
type toolFunc func(ctx context.Context, db *database, args json.RawMessage, rec *Record) (result, error)

// result is a successful tool result: the structured value and its text.
type result struct {
	structured any
	text       string
}

// handler is handlerFor a caller allowed every database.
func (t *Tools) handler(name string, f toolFunc) mcp.ToolHandler { return t.handlerFor(name, nil, f) }

// handlerFor wraps a tool body with what every call gets: a request id,
// the database it names (of those allowed; nil means all), the in-flight
// count for graceful shutdown and for the database's retirement, panic
// recovery, error categorisation, the audit record and the observer.
//
// With AuditRequired, a call runs only if the audit trail is ready, and
// its result reaches the client only if its record was written: a
// statement whose record fails may have run (the trail broke while it
// ran), but its answer is withheld.
func (t *Tools) handlerFor(name string, allowed []string, f toolFunc) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		rec := &Record{Tool: name, RequestID: newID()}
		if req != nil && req.Extra != nil && req.Extra.TokenInfo != nil {
			rec.Token = req.Extra.TokenInfo.UserID
		}
		markAudited(ctx)
		start := time.Now()
		var args json.RawMessage
		if req != nil && req.Params != nil {
			args = req.Params.Arguments
		}
		db, rerr := t.resolve(args, allowed)
		if db != nil {
			defer db.exit()
			rec.Database, rec.Backend = db.Name, db.backend
		}
		if !t.enter() {
			fillAuditArgs(rec, args)
			rec.Outcome, rec.Error = OutcomeDenied, "shutting_down"
			t.audit(rec)
			return errorResult(&toolError{cat: catUnavailable, msg: "the server is shutting down; retry on a new connection"}), nil
		}
		defer t.wg.Done()
		if t.opts.AuditRequired {
			if err := t.auditReady(); err != nil {
				fillAuditArgs(rec, args)
				rec.Outcome, rec.Error = OutcomeDenied, "audit_unavailable"
				t.audit(rec)
				return errorResult(auditUnavailable(rec.RequestID)), nil
			}
		}
		if t.opts.Observer != nil {
			t.opts.Observer.CallStarted(name, rec.Database)
		}
		defer func() {
			if p := recover(); p != nil {
				t.opts.Logger.Error("tool panicked", "tool", name, "request_id", rec.RequestID,
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				rec.Outcome, rec.Error = OutcomeInternal, "panic"
				res, err = errorResult(internalError(rec.RequestID)), nil
			}
			rec.Duration = time.Since(start)
			if aerr := t.audit(rec); aerr != nil && t.opts.AuditRequired {
				res, err = errorResult(auditUnavailable(rec.RequestID)), nil
			}
			if t.opts.Observer != nil {
				t.opts.Observer.CallFinished(rec)
			}
		}()

		var out result
		ferr := rerr
		switch {
		case rerr != nil:
			fillAuditArgs(rec, args)
		case db.Unavailable != nil:
			fillAuditArgs(rec, args)
			ferr = db.unavailable()
		default:
			out, ferr = f(ctx, db, args, rec)
		}
		if ferr != nil {
			te := t.categorize(ctx, db, ferr, rec)
			return errorResult(te), nil
		}
		rec.Outcome = OutcomeOK
		return &mcp.CallToolResult{
			Content:           []mcp.Content{&mcp.TextContent{Text: out.text}},
			StructuredContent: out.structured,
		}, nil
	}
}

// Error categories as the model sees them.
const (
	catValidation  = "validation error"
	catDatabase    = "database error"
	catInternal    = "internal error"
	catUnavailable = "unavailable"
)

// toolError is an error the model may read as is.
type toolError struct {
	cat     string
	code    string
	msg     string
	wrapped error // a sentinel the audit reads, never shown
}

func (e *toolError) Error() string {
	if e.code != "" {
		return fmt.Sprintf("%s %s: %s", e.cat, e.code, e.msg)
	}
	return e.cat + ": " + e.msg
}

func (e *toolError) Unwrap() error { return e.wrapped }

// errAdmission marks a query refused while abandoned statements run.
var errAdmission = errors.New("refused: abandoned statements still running")

func validationf(format string, args ...any) error {
	return &toolError{cat: catValidation, msg: fmt.Sprintf(format, args...)}
}

func internalError(id string) *toolError {
	return &toolError{cat: catInternal, msg: "the server failed unexpectedly (correlation id " + id +
		"); the details are in the server log. Retrying may help; if it persists, report the id"}
}

// categorize decides what the model sees for err and what is audited. Only
// errors we chose to show pass through: policy refusals, validation
// messages and the database's own message with its code. Anything else —
// a broken connection, a driver bug, an error chain that could name the
// host — is logged with a correlation id and shown generically.
func (t *Tools) categorize(ctx context.Context, db *database, err error, rec *Record) *toolError {
	var te *toolError
	var v *policy.Violation
	var denied *access.Denied
	switch {
	case errors.As(err, &denied):
		rec.Outcome, rec.Error = OutcomeDenied, "access_policy"
		return &toolError{cat: catValidation, code: "access_denied", msg: denied.Error()}
	case errors.As(err, &te):
		switch {
		case te.cat == catValidation:
			rec.Outcome = OutcomeDenied
			if rec.Error == "" {
				rec.Error = "validation"
			}
		case errors.Is(err, errAdmission):
			rec.Outcome, rec.Error = OutcomeDenied, "abandoned_statements"
		case errors.Is(err, errUnavailableDB):
			rec.Outcome, rec.Error = OutcomeDBError, "unavailable"
		}
		return te
	case errors.As(err, &v):
		rec.Outcome, rec.Error = OutcomeDenied, "policy"
		return &toolError{cat: catValidation, msg: v.Error()}
	}
	if db == nil { // not reached: only validation errors come without one
		rec.Outcome, rec.Error = OutcomeInternal, "internal"
		t.opts.Logger.Error("tool failed", "tool", rec.Tool, "request_id", rec.RequestID, "err", err.Error())
		return internalError(rec.RequestID)
	}
	// A cancelled call reads as one whatever the driver reports: lib/pq's
	// cancel request comes back as 57014, the code of a timeout.
	if errors.Is(ctx.Err(), context.Canceled) {
		rec.Outcome, rec.Error = OutcomeCancelled, "cancelled"
		return &toolError{cat: catDatabase, code: "cancelled", msg: "the call was cancelled"}
	}
	var pe *poolExhaustedError
	if errors.As(err, &pe) {
		rec.Outcome, rec.Error = OutcomeTimeout, "pool_exhausted"
		return &toolError{cat: catDatabase, code: "pool_exhausted", msg: fmt.Sprintf("the statement did not run: all %d "+
			"of the server's database connections stayed busy with other calls for the whole query timeout (%s); "+
			"retry shortly (the operator can raise --max-open-conns)", pe.size, db.QueryTimeout)}
	}
	var tm *tooManyConnectionsError
	if errors.As(err, &tm) {
		rec.Outcome, rec.Error = OutcomeDBError, "too_many_connections"
		db.logger.Warn("the database refused a connection: too many connections", "tool", rec.Tool, "request_id", rec.RequestID, "err", tm.dbe.Message)
		return &toolError{cat: catDatabase, code: "too_many_connections", msg: "the statement did not run: the database " +
			"refused a new connection, too many connections for the role (its CONNECTION LIMIT, or the database's or " +
			"server's connection limit): " + tm.dbe.Message + "; retry shortly"}
	}
	var ue *unreachableError
	if errors.As(err, &ue) {
		rec.Outcome, rec.Error = OutcomeDBError, "unreachable"
		db.logger.Warn("cannot reach the database", "tool", rec.Tool, "request_id", rec.RequestID, "err", ue.err.Error())
		return &toolError{cat: catDatabase, code: "unavailable", msg: "the database cannot be reached right now (request id " +
			rec.RequestID + "); retry shortly"}
	}
	if dbe, ok := db.Backend.ClassifyError(err); ok {
		rec.Error = dbe.Code
		switch {
		case dbe.Timeout:
			rec.Outcome = OutcomeTimeout
			return &toolError{cat: catDatabase, code: dbe.Code, msg: dbe.Message + timeoutAdvice(db.QueryTimeout)}
		case dbe.Denied:
			rec.Outcome = OutcomeDenied
			return &toolError{cat: catValidation, code: dbe.Code, msg: "not allowed: " + dbe.Message +
				". Only read-only statements are allowed"}
		case dbe.Unavailable:
			rec.Outcome = OutcomeDBError
			return &toolError{cat: catDatabase, code: "unavailable", msg: "the database ended the session (" + dbe.Code +
				": " + dbe.Message + "); retry shortly"}
		}
		rec.Outcome = OutcomeDBError
		return &toolError{cat: catDatabase, code: dbe.Code, msg: dbe.Message}
	}
	if errors.Is(err, context.DeadlineExceeded) || (ctx.Err() == nil && errors.Is(err, errQueryDeadline)) {
		rec.Outcome, rec.Error = OutcomeTimeout, "deadline"
		return &toolError{cat: catDatabase, code: "timeout", msg: "the statement did not finish in time" +
			timeoutAdvice(db.QueryTimeout)}
	}
	if errors.Is(err, context.Canceled) {
		rec.Outcome, rec.Error = OutcomeCancelled, "cancelled"
		return &toolError{cat: catDatabase, code: "cancelled", msg: "the call was cancelled"}
	}
	if errors.Is(err, errAbandoned) {
		rec.Outcome, rec.Error = OutcomeTimeout, "abandoned"
		return &toolError{cat: catDatabase, code: "timeout", msg: fmt.Sprintf("the call did not end within the query "+
			"timeout (%s) and its grace: the database work did not return and was abandoned (request id %s); new "+
			"queries are refused until it ends. Avoid this statement, or narrow it", db.QueryTimeout, rec.RequestID)}
	}
	if dialect.ConnectionLost(err) {
		db.logger.Warn("database connection lost", "tool", rec.Tool, "request_id", rec.RequestID, "err", err.Error())
		if dialect.SocketTimeout(err) {
			rec.Outcome, rec.Error = OutcomeTimeout, "stalled"
			return &toolError{cat: catDatabase, code: "unavailable", msg: fmt.Sprintf("no reply within the query "+
				"timeout (%s) and its grace: the statement ignored the cancel, or the database stopped answering; the "+
				"connection was dropped (request id %s). Retry shortly; if this statement is the cause, narrow it or "+
				"avoid it", db.QueryTimeout, rec.RequestID)}
		}
		rec.Outcome, rec.Error = OutcomeDBError, "connection_lost"
		return &toolError{cat: catDatabase, code: "unavailable", msg: "the connection to the database was lost during " +
			"the call (request id " + rec.RequestID + "); retry shortly"}
	}
	rec.Outcome, rec.Error = OutcomeInternal, "internal"
	db.logger.Error("tool failed", "tool", rec.Tool, "request_id", rec.RequestID, "err", err.Error())
	return internalError(rec.RequestID)
}

var errQueryDeadline = errors.New("query deadline exceeded")

// unreachableError is a failure to get a connection from the pool: the
// database is down or unreachable, which the model should hear as such
// (not as a bug), without the driver's details.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return "acquire connection: " + e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

func timeoutAdvice(d time.Duration) string {
	return fmt.Sprintf(" (the server's query timeout is %s: add WHERE conditions, aggregate, or query a smaller range)", d)
}

func errorResult(te *toolError) *mcp.CallToolResult {
	return &mcp.CallToolResult{
		IsError: true,
		Content: []mcp.Content{&mcp.TextContent{Text: te.Error()}},
	}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// decodeArgs unmarshals tool arguments strictly: an unknown argument is a
// mistake the model should hear about, not something to ignore.
func decodeArgs(raw json.RawMessage, v any, known string) error {
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute):
			return validationf("argument %q must be %s, not %s (arguments: %s)", ute.Field, jsonTypeName(ute.Type.Kind().String()), ute.Value, known)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return validationf("unknown argument %s (arguments: %s)", strings.TrimPrefix(err.Error(), "json: unknown field "), known)
		}
		return validationf("arguments are not a valid JSON object (arguments: %s)", known)
	}
	return nil
}

func jsonTypeName(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32":
		return "an integer"
	case "float64":
		return "a number"
	case "bool":
		return "a boolean"
	}
	return "of another type"
}

// schemaFor builds a tool schema from a Go type, panicking on a bad type:
// a programmer error found at start-up.
func schemaFor[T any]() *jsonschema.Schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("tool schema for %T: %v", *new(T), err))
	}
	return portable(s)
}

func ptr[T any](v T) *T { return &v }

// falseSchema is the schema that admits nothing: additionalProperties false.
func falseSchema() *jsonschema.Schema { return &jsonschema.Schema{Not: &jsonschema.Schema{}} }

func readOnlyAnnotations(title string) *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{
		Title:           title,
		ReadOnlyHint:    true,
		DestructiveHint: ptr(false),
		IdempotentHint:  true,
		OpenWorldHint:   ptr(false),
	}
}

// session acquires a pooled connection and opens a read-only unit of work
// on it. The returned release must be called once. A connection found dead
// while opening the session (a restart or a cut since it was pooled) ran
// none of the caller's SQL: its idle siblings are dropped as well, and the
// session is opened once more on a fresh connection.
func (db *database) session(ctx context.Context, maxRows int) (dialect.Session, func(), error) {
	s, conn, err := db.begin(ctx, maxRows)
	if errors.Is(err, dialect.ErrConnectionStale) && ctx.Err() == nil {
		db.logger.Info("stale pooled connection; retrying on a fresh one", "err", err.Error())
		dialect.FlushIdle(db.DB)
		s, conn, err = db.begin(ctx, maxRows)
	}
	if err != nil {
		return nil, nil, err
	}
	return s, func() {
		if err := s.Close(); err != nil {
			db.logger.Warn("session cleanup failed; connection discarded", "err", err.Error())
		}
		conn.Close()
		if l, ok := s.(dialect.Lingerer); ok {
			if done := l.Lingering(); done != nil {
				db.track(done)
			}
		}
	}, nil
}

func (db *database) begin(ctx context.Context, maxRows int) (dialect.Session, *sql.Conn, error) {
	st := db.DB.Stats()
	full := st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return nil, nil, db.acquireError(ctx, err, full)
	}
	s, err := db.Backend.Begin(ctx, conn, dialect.SessionOptions{
		Timeout:       db.QueryTimeout,
		MaxRows:       maxRows,
		MaxValueBytes: db.MaxResultBytes + 1,
		Control:       cmp.Or(db.Control, db.DB),
		Access:        db.Access,
	})
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return s, conn, nil
}

// acquireError says why no connection came from the pool: the call was
// cancelled, every connection stayed busy, the server refused one more,
// or the database cannot be reached.
func (db *database) acquireError(ctx context.Context, err error, fullAtStart bool) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	if ctx.Err() != nil {
		st := db.DB.Stats()
		if fullAtStart || (st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections) {
			return &poolExhaustedError{size: st.MaxOpenConnections}
		}
		return &unreachableError{err}
	}
	if dbe, ok := db.Backend.ClassifyError(err); ok && dbe.TooManyConnections {
		return &tooManyConnectionsError{dbe}
	}
	return &unreachableError{err}
}

// poolExhaustedError: the call waited for a pooled connection until its
// deadline and none came free.
type poolExhaustedError struct{ size int }

func (e *poolExhaustedError) Error() string {
	return fmt.Sprintf("all %d pooled connections stayed busy", e.size)
}

// tooManyConnectionsError: the server refused a new connection for lack
// of a slot (the role's or database's CONNECTION LIMIT, max_connections,
// max_user_connections).
type tooManyConnectionsError struct{ dbe dialect.DBError }

func (e *tooManyConnectionsError) Error() string { return "too many connections: " + e.dbe.Message }

// track counts an abandoned statement as running until done is closed.
func (db *database) track(done <-chan struct{}) {
	n := db.abandoned.Add(1)
	db.logger.Warn("a statement of a call that gave up still runs on the database server (it ignores cancellation); "+
		"new queries are refused until it ends", "abandoned", n)
	go func() {
		<-done
		if db.abandoned.Add(-1) == 0 {
			db.logger.Info("abandoned statements have ended; admitting queries again")
		}
	}()
}

// admit refuses a new query while statements abandoned by earlier calls
// still run on the server: each ignored its timeout and cancellation
// (a function that cannot be interrupted inside one expression), and
// admitting more of them would stack work on the database that nobody
// waits for. The catalog tools, whose SQL is ours, are not refused.
func (db *database) admit() error {
	if n := db.abandoned.Load(); n > 0 {
		return &toolError{wrapped: errAdmission, cat: catDatabase, code: "unavailable", msg: fmt.Sprintf("%d statement(s) of earlier calls that "+
			"timed out or were cancelled are still running on the database server, ignoring cancellation "+
			"(a function that cannot be interrupted, e.g. over a very large value); new queries are refused until "+
			"they end, so that they cannot pile up. Retry in a few seconds, and avoid the statement that timed out", n)}
	}
	return nil
}

// callContext bounds a call by the query timeout plus a grace period, so
// that the database's own timeout fires first and reports itself, while a
// database that ignores it is still stopped by the context.
func (db *database) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, db.QueryTimeout+db.grace(), errQueryDeadline)
}

func (db *database) grace() time.Duration {
	return min(db.QueryTimeout/10+500*time.Millisecond, 5*time.Second)
}

// hardLimit is when a call answers at the latest, whatever the database
// and the driver do: the call's context (timeout and grace), the
// session's socket grace after it (dialect), and a margin for cleanup.
func (db *database) hardLimit() time.Duration { return db.QueryTimeout + db.grace() + 2*time.Second }

// CallBound is when a call answers at the latest, whatever the database
// and the driver do (see bounded): what a graceful shutdown must wait for
// the calls in flight. Of several databases, the latest of theirs.
func (t *Tools) CallBound() time.Duration {
	var d time.Duration
	for _, db := range t.state.Load().list {
		d = max(d, db.hardLimit())
	}
	return d
}

// errAbandoned: the call's work did not return by hardLimit.
var errAbandoned = errors.New("the call's database work did not return in time and was abandoned")

// bounded runs a tool body so that the call answers by hardLimit even if
// a driver call never returns: a database operation that ignores both its
// context and its socket's deadline, or an in-process SQLite function
// that runs inside one step, where interrupts are not checked. The body
// goes on in its goroutine, holding its connection until it really
// returns, and counts as an abandoned statement meanwhile (see admit).
func (t *Tools) bounded(f toolFunc) toolFunc {
	type outcome struct {
		res      result
		err      error
		rec      Record
		panicked any
	}
	return func(ctx context.Context, db *database, args json.RawMessage, rec *Record) (result, error) {
		done := make(chan outcome, 1)
		own := *rec // the body's record: rec is audited when the handler returns
		// The body counts as in flight until it returns, answered or
		// abandoned: Drain must not report every call finished (and let
		// the pool be closed) while it still holds its connection.
		t.wg.Add(1)
		db.hold()
		go func() {
			defer t.wg.Done()
			defer db.exit()
			var o outcome
			defer func() {
				if p := recover(); p != nil {
					o.panicked = fmt.Sprintf("%v\n\n[in the tool's goroutine]\n%s", p, debug.Stack())
				}
				o.rec = own
				done <- o
			}()
			o.res, o.err = f(ctx, db, args, &own)
		}()
		timer := time.NewTimer(db.hardLimit())
		defer timer.Stop()
		select {
		case o := <-done:
			*rec = o.rec
			if o.panicked != nil {
				panic(o.panicked) // the handler's recovery reports it
			}
			return o.res, o.err
		case <-timer.C:
		}
		var in struct {
			SQL       string `json:"sql"`
			TableName string `json:"table_name"`
			Schema    string `json:"schema"`
		}
		_ = json.Unmarshal(args, &in)
		rec.SQL, rec.Table, rec.Schema = in.SQL, in.TableName, in.Schema
		db.abandoned.Add(1)
		db.logger.Warn("a call's database work did not return in time; answering without it", "tool", rec.Tool,
			"request_id", rec.RequestID, "after", db.hardLimit().String())
		tool := rec.Tool
		go func() {
			if o := <-done; o.panicked != nil {
				db.logger.Error("tool panicked after its call was answered", "tool", tool, "panic", fmt.Sprint(o.panicked))
			}
			if db.abandoned.Add(-1) == 0 {
				db.logger.Info("abandoned statements have ended; admitting queries again")
			}
		}()
		return result{}, errAbandoned
	}
}

// MinLevel returns a handler that passes to h only the records at level or
// above. Unlike a struct that embeds h and overrides Enabled, it stays a
// filter through Logger.With and WithGroup: their handlers are h's,
// filtered the same way.
func MinLevel(h slog.Handler, level slog.Leveler) slog.Handler {
	return minLevel{h: h, min: level}
}

type minLevel struct {
	h   slog.Handler
	min slog.Leveler
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min.Level() && m.h.Enabled(ctx, l)
}

func (m minLevel) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < m.min.Level() {
		return nil // a caller that skipped Enabled
	}
	return m.h.Handle(ctx, r)
}

func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h: m.h.WithAttrs(as), min: m.min}
}

func (m minLevel) WithGroup(name string) slog.Handler {
	if name == "" {
		return m
	}
	return minLevel{h: m.h.WithGroup(name), min: m.min}
}
