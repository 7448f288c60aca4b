// Package dialect holds everything sqlmcp knows about a particular SQL
// backend: how to parse its DSN, which statements its read-only policy
// admits, how to open a read-only unit of work with a database-enforced
// timeout, how to introspect its catalog and how to read its errors.
//
// It knows nothing about MCP. The tools package asks a Dialect for SQL-level
// behaviour and never writes backend SQL itself.
package dialect

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// Dialect is the SQL-level half of a Backend: statements, sessions,
// catalog, errors and values.
type Dialect interface {
	// Name is the backend's registered name ("postgres", "mysql", ...).
	Name() string

	// CheckReadOnly applies the statement policy: exactly one statement,
	// of an allowed read kind, with no known side effect. A refusal is a
	// *policy.Violation whose message tells the model what is allowed.
	CheckReadOnly(query string) (policy.Statement, error)

	// QuoteIdent quotes one identifier part for this backend.
	QuoteIdent(name string) string

	// ParseTableName splits a user-written table name ("t", "s.t",
	// `"Mixed Case"."T"`) into its parts, unquoting as this backend does.
	ParseTableName(name string) (TableRef, error)

	// Begin opens a read-only unit of work on conn: the database's own
	// read-only transaction, the statement timeout enforced by the
	// database, and any per-connection guard the backend needs. The
	// returned Session must be closed; Close leaves conn clean (no open
	// transaction, lock, setting or prepared statement left behind).
	Begin(ctx context.Context, conn *sql.Conn, opts SessionOptions) (Session, error)

	// ListTables returns every table and view visible to the connected
	// user, optionally restricted to one schema ("" means all).
	ListTables(ctx context.Context, q Queryer, schema string) ([]Table, error)

	// DescribeTable returns the structure of one table or view. It returns
	// ErrTableNotFound (wrapped) when the table does not exist or is not
	// visible.
	DescribeTable(ctx context.Context, q Queryer, ref TableRef) (*TableInfo, error)

	// ClassifyError turns a driver error into what the model may see.
	// ok is false when err did not come from the database (a bug, a
	// broken connection, a context error).
	ClassifyError(err error) (e DBError, ok bool)

	// ValueKind tells how values of a column with this database type name
	// (as database/sql reports it) are encoded in results.
	ValueKind(databaseTypeName string) Kind
}

// SessionOptions configure one read-only unit of work.
type SessionOptions struct {
	// Timeout is enforced by the database for each statement of the
	// session. Zero means no database timeout (the context still applies).
	Timeout time.Duration
	// MaxRows is the most rows the caller will read from Query; backends
	// use it to stop the server from producing or sending more. Zero means
	// no limit.
	MaxRows int
	// MaxValueBytes bounds the size of one value the database may build,
	// where the backend can enforce it (SQLite). Zero means its default.
	MaxValueBytes int
	// Control is a pool for out-of-band statements: when the context of
	// a session's call ends, the backend asks the server through it to
	// stop the running statement (PostgreSQL pg_cancel_backend, MySQL
	// KILL QUERY). Nil means the drivers' own cancellation only.
	Control *sql.DB
	// Access, if not empty, is what the session's statements may not
	// read: Query refuses a statement that would read a denied table or
	// column with an *access.Denied, before it runs. How soundly depends
	// on the backend (README, "Governed access").
	Access *access.Policy
}

// Session is a read-only unit of work on one pooled connection.
type Session interface {
	Queryer
	// Query runs one statement CheckReadOnly accepted. The backend guarantees
	// that the text runs as at most one statement at the protocol level,
	// and that no more than SessionOptions.MaxRows rows (plus one, to detect
	// truncation) are transferred where the backend can bound it.
	Query(ctx context.Context, st policy.Statement) (*sql.Rows, error)
	// Close ends the unit of work: rollback, and restore the connection.
	// It must be called exactly once; it is safe after a failed Query.
	Close() error
}

// Abandoner is a Session that can drop the rest of a result cheaply. The
// caller uses it when it stopped reading early and the database still has
// more to send than the session asked for: MySQL, whose sql_select_limit
// a LIMIT written in the statement overrides, would otherwise make
// Rows.Close read every remaining row. After Abandon, Rows.Close and Close
// may report errors; the rows already read stand.
type Abandoner interface {
	Abandon()
}

// Lingerer is a Session that can tell, after Close, whether the statement
// of a call that gave up on it (timed out, cancelled, connection dropped)
// is still running on the server: some functions ignore cancellation
// inside one expression. The caller stops admitting new statements while
// such work runs, so that abandoned statements cannot pile up.
type Lingerer interface {
	// Lingering returns nil when the session's statement is over, else a
	// channel closed once the server no longer runs it.
	Lingering() <-chan struct{}
}

// EarlyCloser is a Session whose rows close without reading the rest of
// their result: the caller need not read it itself to pace its garbage
// (see the query tool), which would only run the statement further.
type EarlyCloser interface {
	Session
	// ClosesEarly is a marker.
	ClosesEarly()
}

// Queryer is what introspection needs: *sql.DB, *sql.Conn, *sql.Tx and
// Session all satisfy it.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// TableRef names a table. Schema is "" when the user did not give one.
type TableRef struct {
	Schema string
	Name   string
}

func (r TableRef) String() string {
	if r.Schema == "" {
		return r.Name
	}
	return r.Schema + "." + r.Name
}

// ErrTableNotFound is returned (wrapped) by DescribeTable.
var ErrTableNotFound = errors.New("table not found")

// Table is one entry of ListTables.
type Table struct {
	Schema string
	Name   string
	// Kind is "table", "view", "materialized view", "foreign table",
	// "partitioned table", "system view" or "virtual table".
	Kind string
	// Rows is the row count, nil when unknown (e.g. views).
	Rows *int64
	// RowsExact tells whether Rows was counted (true) or is the database's
	// statistics estimate (false).
	RowsExact bool
	Comment   string
}

// TableInfo is the result of DescribeTable.
type TableInfo struct {
	Schema      string
	Name        string
	Kind        string
	Comment     string
	Columns     []Column
	PrimaryKey  []string
	Uniques     []Constraint
	ForeignKeys []ForeignKey
	Checks      []Check
	Indexes     []Index
}

// Column is one column of a table.
type Column struct {
	Name string
	// Type is the type as the database spells it, e.g. "character
	// varying(160)", "varchar(160)", "NVARCHAR(160)".
	Type     string
	Nullable bool
	// Default is the default expression, nil when there is none.
	Default *string
	// PrimaryKeyPosition is the 1-based position in the primary key, 0
	// when the column is not part of it.
	PrimaryKeyPosition int
	Comment            string
}

// Constraint is a named list of columns (unique constraints).
type Constraint struct {
	Name    string
	Columns []string
}

// ForeignKey maps columns of this table to columns of another.
type ForeignKey struct {
	Name              string
	Columns           []string
	ReferencedSchema  string
	ReferencedTable   string
	ReferencedColumns []string
	OnUpdate          string
	OnDelete          string
}

// Check is a check constraint.
type Check struct {
	Name       string
	Expression string
}

// Index is one index of the table.
type Index struct {
	Name    string
	Columns []string // expressions for expression indexes
	Unique  bool
	Primary bool
	Method  string // btree, hash, ... when known
}

// DBError is a database error as the model may see it.
type DBError struct {
	// Code is the SQLSTATE (PostgreSQL, MySQL) or the extended result code
	// name (SQLite), e.g. "42P01", "1146 (42S02)", "SQLITE_ERROR".
	Code    string
	Message string
	// Timeout is true when the database stopped the statement because of
	// its statement timeout or because it was cancelled.
	Timeout bool
	// Denied is true when the database refused the statement because it
	// would write (read-only transaction, authorizer).
	Denied bool
	// Unavailable is true when the server ended the session or cannot
	// serve it now (shutting down, terminated by an administrator): the
	// statement's fault is nobody's, and a retry may succeed.
	Unavailable bool
	// TooManyConnections is true when the server refused a connection
	// because the role, the database or the server has no slot left.
	TooManyConnections bool
}

// Kind is how the values of a column are encoded into JSON.
type Kind int

const (
	KindUnknown Kind = iota // by Go type of the scanned value
	KindText
	KindBinary
	KindInteger
	KindDecimal // exact numerics: encoded as strings
	KindFloat
	KindBool
	KindDate
	KindTimestamp
	// KindLocalTimestamp is a timestamp without a time zone (PostgreSQL
	// timestamp, MySQL DATETIME, SQLite text): shown without an offset
	// rather than claiming UTC.
	KindLocalTimestamp
	KindJSON
)

// ErrBadTableName is returned (wrapped) by ParseTableName when the text
// cannot name a table: empty parts, an unterminated quote, too many parts.
var ErrBadTableName = errors.New("invalid table name")
