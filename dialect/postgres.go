package dialect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// postgres is PostgreSQL over lib/pq.
type postgres struct{}

var _ Dialect = postgres{}

func (postgres) Name() string { return "postgres" }

func (postgres) CheckReadOnly(query string) (policy.Statement, error) {
	return policy.Check(policy.Postgres, query)
}

// cursorName is the one cursor a session declares. Every session runs on
// its own connection inside its own transaction, so one name suffices.
const cursorName = "sqlmcp_cursor"

// Begin opens BEGIN READ ONLY with SET LOCAL statement_timeout in a single
// round trip. The text is ours (no user input), so lib/pq's simple
// protocol, which would run several statements, is safe here.
func (postgres) Begin(ctx context.Context, conn *sql.Conn, opts SessionOptions) (Session, error) {
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
		"SET LOCAL standard_conforming_strings = on", ms, max(ms*2, 60_000))
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		discardConn(conn)
		return nil, fmt.Errorf("begin read-only transaction: %w", err)
	}
	return &pgSession{conn: conn, opts: opts}, nil
}

type pgSession struct {
	conn *sql.Conn
	opts SessionOptions
	stmt *sql.Stmt
	rows *sql.Rows
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
// in a NO SCROLL cursor so that only MaxRows+1 rows are produced and sent,
// however large the result; the server also refuses data-modifying
// statements in a cursor, one more layer.
func (s *pgSession) Query(ctx context.Context, st policy.Statement) (*sql.Rows, error) {
	if st.Kind != policy.Select || s.opts.MaxRows <= 0 {
		stmt, err := s.conn.PrepareContext(ctx, st.Body)
		if err != nil {
			return nil, err
		}
		s.stmt = stmt
		return stmt.QueryContext(ctx)
	}
	stmt, err := s.conn.PrepareContext(ctx, "DECLARE "+cursorName+" NO SCROLL CURSOR FOR "+st.Body)
	if err != nil {
		return nil, err
	}
	s.stmt = stmt
	if _, err := stmt.ExecContext(ctx); err != nil {
		return nil, err
	}
	return s.conn.QueryContext(ctx, fmt.Sprintf("FETCH FORWARD %d FROM %s", s.opts.MaxRows+1, cursorName))
}

// Close rolls back and then DISCARD ALL, which also drops what a
// transaction rollback does not: session advisory locks, prepared
// statements, LISTEN registrations, temporary tables and session settings.
// If that fails the connection is thrown away rather than reused.
func (s *pgSession) Close() error {
	if s.stmt != nil {
		s.stmt.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if _, err := s.conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		discardConn(s.conn)
		return fmt.Errorf("end read-only transaction: %w", err)
	}
	// DISCARD ALL refuses to run in the implicit transaction a
	// multi-statement simple query opens, hence its own round trip.
	if _, err := s.conn.ExecContext(ctx, "DISCARD ALL"); err != nil {
		discardConn(s.conn)
		return fmt.Errorf("end read-only transaction: %w", err)
	}
	return nil
}

// cleanupTimeout bounds the statements that return a connection to a clean
// state; they run even when the caller's context has ended.
const cleanupTimeout = 5 * time.Second

func (postgres) ClassifyError(err error) (DBError, bool) {
	var pe *pq.Error
	if !errors.As(err, &pe) {
		return DBError{}, false
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
	return DBError{
		Code:    code,
		Message: msg,
		Timeout: code == "57014", // query_canceled: statement_timeout or cancel request
		Denied:  code == "25006", // read_only_sql_transaction
	}, true
}

func (postgres) ValueKind(typeName string) Kind {
	switch strings.ToUpper(typeName) {
	case "JSON", "JSONB":
		return KindJSON
	case "DATE":
		return KindDate
	}
	return kindFromTypeName(typeName)
}
