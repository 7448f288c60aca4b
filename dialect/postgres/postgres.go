package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
	"github.com/sqlmcp/sqlmcp/dialect/internal/wire"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// postgres is PostgreSQL over lib/pq.
type postgres struct{}

var (
	_ dialect.Backend  = postgres{}
	_ dialect.Lingerer = (*pgSession)(nil)
)

func (postgres) Name() string { return "postgres" }

func (postgres) CheckReadOnly(query string) (policy.Statement, error) {
	return policy.Check(policy.Postgres, query)
}

// pagePrefix and pageSuffix wrap a SELECT so that the database produces
// and sends at most the page: LIMIT $1 is MaxRows+1, to detect truncation.
// The outer SELECT * keeps the statement's columns, names and order (a
// subquery with ORDER BY is never flattened, so its order is the output
// order). The newline ends a trailing line comment, should the policy ever
// let one through.
const (
	pagePrefix = "SELECT * FROM ("
	pageSuffix = "\n) AS sqlmcp_page LIMIT $1"
)

// Begin opens BEGIN READ ONLY with SET LOCAL statement_timeout in a single
// round trip. The text is ours (no user input), so lib/pq's simple
// protocol, which would run several statements, is safe here.
func (postgres) Begin(ctx context.Context, conn *sql.Conn, opts dialect.SessionOptions) (dialect.Session, error) {
	ms := opts.Timeout.Milliseconds()
	if opts.Timeout > 0 && ms == 0 {
		ms = 1
	}
	// idle_in_transaction_session_timeout makes the server end a session
	// whose client vanished mid-call instead of holding its snapshot.
	// standard_conforming_strings is what the policy's lexer assumes
	// ('\' is a backslash, not an escape); forcing it keeps the lexer and
	// the server reading the same text the same way.
	begin := fmt.Sprintf("BEGIN READ ONLY; SET LOCAL statement_timeout = %d; SET LOCAL idle_in_transaction_session_timeout = %d; "+
		"SET LOCAL standard_conforming_strings = on; SELECT pg_catalog.pg_backend_pid()", ms, max(ms*2, 60_000))
	// Every read and write of the session fails once the call's context
	// ended and the server stayed silent for wire.AbortGrace: lib/pq itself
	// would wait on a stalled server for as long as the stall lasts.
	sock := wire.Arm(ctx, conn, wire.AbortGrace)
	var pid int64
	if err := conn.QueryRowContext(ctx, begin).Scan(&pid); err != nil {
		sock.Disarm()
		wire.DiscardConn(conn)
		return nil, sqlkit.BeginError("begin read-only transaction", err, pgLost)
	}
	return &pgSession{conn: conn, opts: opts, sock: sock, pid: pid,
		stopCancel: wire.WatchCancel(ctx, opts.Control, "SELECT pg_catalog.pg_cancel_backend($1)", pid)}, nil
}

// pgLost tells whether err is PostgreSQL ending the session: class 08
// (connection exception), 57P01-57P05 (administrator command, crash,
// cannot connect now, database dropped, idle session timeout).
func pgLost(err error) bool {
	var pe *pq.Error
	if !errors.As(err, &pe) {
		return false
	}
	c := string(pe.Code)
	return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "57P")
}

// pgActive counts the running statements of a backend.
const pgActive = "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE pid = $1 AND state = 'active'"

type pgSession struct {
	conn       *sql.Conn
	opts       dialect.SessionOptions
	sock       *wire.Armed
	pid        int64
	dropped    bool // Close found the connection broken
	stopCancel func(wait bool)
	stmt       *sql.Stmt
}

func (s *pgSession) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.conn.QueryContext(ctx, query, args...)
}

func (s *pgSession) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return s.conn.QueryRowContext(ctx, query, args...)
}

// Query runs the statement through the extended protocol (Parse/Bind/
// Execute), which PostgreSQL refuses to run as more than one statement:
// the single-statement rule holds below our own lexer. A SELECT is wrapped
// as the subquery of SELECT * … LIMIT $1, so only MaxRows+1 rows are
// produced and sent however large the result; a subquery cannot be a
// data-modifying statement either, one more layer. The argument is what
// keeps lib/pq on the extended protocol (it sends a query without
// arguments as a simple query, which would run several statements), and
// with binary_parameters (set by ParseDSN) the page takes one round trip.
func (s *pgSession) Query(ctx context.Context, st policy.Statement) (*sql.Rows, error) {
	if !s.opts.Access.Empty() {
		if err := s.accessCheck(ctx, st); err != nil {
			return nil, err
		}
	}
	if st.Kind != policy.Select || s.opts.MaxRows <= 0 {
		stmt, err := s.conn.PrepareContext(ctx, st.Body)
		if err != nil {
			return nil, err
		}
		s.stmt = stmt
		return stmt.QueryContext(ctx)
	}
	rows, err := s.conn.QueryContext(ctx, pagePrefix+st.Body+pageSuffix, s.opts.MaxRows+1)
	if err != nil {
		return nil, unwrapPosition(err, len(pagePrefix))
	}
	return rows, nil
}

// unwrapPosition makes an error position count from the start of the
// user's statement rather than of our wrapping.
func unwrapPosition(err error, offset int) error {
	var pe *pq.Error
	if errors.As(err, &pe) && pe.Position != "" {
		if p, perr := strconv.Atoi(pe.Position); perr == nil && p > offset {
			pe.Position = strconv.Itoa(p - offset)
		}
	}
	return err
}

// pgCleanup ends the unit of work and restores the connection in one round
// trip: ROLLBACK, then what DISCARD ALL does, statement by statement,
// because DISCARD ALL itself refuses to run in the implicit transaction of
// a multi-statement simple query. After the ROLLBACK the rest runs in one
// implicit transaction that commits at the end of the message, so the
// resets stick: open cursors, session authorization and role, session
// settings, prepared statements (the session closed its own first, so no
// database/sql statement loses its server side), LISTEN registrations,
// session advisory locks, cached plans, temporary tables and sequence
// state. The ROLLBACK also drops the statistics snapshot of the
// transaction and closes large-object descriptors.
//
// DISCARD ALL does not reset the seed of random(): a setseed() — direct,
// or inside a function or view the policy cannot see into — would make the
// next caller's random() predictable. The last statement reseeds it from
// crypto/rand, so each call starts from a seed no earlier caller chose.
// Our text, no user input: lib/pq's simple protocol is safe here.
func pgCleanup() string {
	return "ROLLBACK; CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; " +
		"UNLISTEN *; SELECT pg_catalog.pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES; " +
		"SELECT pg_catalog.setseed(" + randomSeed() + ")"
}

// randomSeed is a setseed argument in [-1, 1) with 53 random bits.
func randomSeed() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather)
	f := float64(binary.BigEndian.Uint64(b[:])>>11)/(1<<53)*2 - 1
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Close rolls back and restores the connection (pgCleanup). If that fails
// the connection is thrown away rather than reused.
func (s *pgSession) Close() error {
	// A broken connection is discarded: no cleanup to wait for, and no
	// kill in progress can reach it in the pool.
	s.dropped = s.sock.Broken()
	s.stopCancel(!s.dropped)
	s.sock.Disarm()
	if s.dropped {
		wire.DiscardConn(s.conn)
		return errors.New("end read-only transaction: the connection broke")
	}
	s.sock.Bound(cleanupTimeout)
	if s.stmt != nil {
		s.stmt.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if _, err := s.conn.ExecContext(ctx, pgCleanup()); err != nil {
		wire.DiscardConn(s.conn)
		return fmt.Errorf("end read-only transaction: %w", err)
	}
	s.sock.Reset()
	return nil
}

// Lingering: a backend whose client connection was dropped under a
// running statement goes on until it next checks for interrupts, which
// some functions (xpath over a large document) do not do for seconds.
func (s *pgSession) Lingering() <-chan struct{} {
	if !s.dropped {
		return nil // the server answered the statement: it is over
	}
	return wire.Lingering(s.opts.Control, pgActive, fmt.Sprintf("SELECT pg_catalog.pg_cancel_backend(%d)", s.pid), s.pid)
}

// cleanupTimeout bounds the statements that return a connection to a clean
// state; they run even when the caller's context has ended.
const cleanupTimeout = 5 * time.Second

func (postgres) ClassifyError(err error) (dialect.DBError, bool) {
	if dbe, ok := sqlkit.TooLarge(err); ok {
		return dbe, true
	}
	var pe *pq.Error
	if !errors.As(err, &pe) {
		return dialect.DBError{}, false
	}
	msg := pe.Message
	if pe.Detail != "" {
		msg += " (detail: " + pe.Detail + ")"
	}
	if pe.Hint != "" {
		msg += " (hint: " + pe.Hint + ")"
	}
	if pe.Position != "" {
		msg += " (at character " + pe.Position + ")"
	}
	code := string(pe.Code)
	return dialect.DBError{
		Code:               code,
		Message:            msg,
		Timeout:            code == "57014", // query_canceled: statement_timeout or cancel request
		Denied:             code == "25006", // read_only_sql_transaction
		Unavailable:        pgLost(err),
		TooManyConnections: code == "53300", // too_many_connections: role, database or server limit
	}, true
}

func (postgres) ValueKind(typeName string) dialect.Kind {
	switch strings.ToUpper(typeName) {
	case "JSON", "JSONB":
		return dialect.KindJSON
	case "DATE":
		return dialect.KindDate
	case "TIMESTAMP":
		return dialect.KindLocalTimestamp
	case "BIT", "VARBIT":
		return dialect.KindText // '101', not bytes
	}
	return sqlkit.KindFromTypeName(typeName)
}
