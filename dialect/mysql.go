package dialect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// mysql is MySQL and MariaDB over go-sql-driver/mysql, which the DSN
// parser configures with multiStatements off: the server then refuses a
// second statement in one COM_QUERY, below our own lexer.
type mysql struct {
	mu       sync.Mutex
	detected bool
	mariadb  bool
}

var _ Dialect = (*mysql)(nil)

func (*mysql) Name() string { return "mysql" }

func (*mysql) CheckReadOnly(query string) (policy.Statement, error) {
	return policy.Check(policy.MySQL, query)
}

// detect tells MariaDB from MySQL: they name the statement timeout
// differently (max_statement_time in seconds, max_execution_time in ms).
// Only a successful answer is remembered, so one failed first call (a
// cancelled context, a blip) does not leave every later one guessing.
func (d *mysql) detect(ctx context.Context, conn *sql.Conn) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.detected {
		return nil
	}
	var v string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return fmt.Errorf("read server version: %w", err)
	}
	d.mariadb = strings.Contains(strings.ToLower(v), "mariadb")
	d.detected = true
	return nil
}

// Begin sets the session's statement timeout and sql_select_limit (so that
// the server stops sending after MaxRows+1 rows, and go-sql-driver's
// Rows.Close has nothing large to drain), then START TRANSACTION READ ONLY.
// Every session sets both variables afresh, so a value left by a previous
// session on the same connection never applies.
func (d *mysql) Begin(ctx context.Context, conn *sql.Conn, opts SessionOptions) (Session, error) {
	if err := d.detect(ctx, conn); err != nil {
		discardConn(conn)
		return nil, err
	}
	limit := "DEFAULT"
	if opts.MaxRows > 0 {
		limit = fmt.Sprint(opts.MaxRows + 1)
	}
	var set string
	if d.mariadb {
		set = fmt.Sprintf("SET SESSION max_statement_time = %.3f, sql_select_limit = %s", opts.Timeout.Seconds(), limit)
	} else {
		set = fmt.Sprintf("SET SESSION max_execution_time = %d, sql_select_limit = %s", opts.Timeout.Milliseconds(), limit)
	}
	if _, err := conn.ExecContext(ctx, set); err != nil {
		discardConn(conn)
		return nil, fmt.Errorf("set session limits: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "START TRANSACTION READ ONLY"); err != nil {
		discardConn(conn)
		return nil, fmt.Errorf("begin read-only transaction: %w", err)
	}
	sess := &mysqlSession{conn: conn, stopCancel: func() {}, control: opts.Control}
	if opts.Control != nil {
		// go-sql-driver answers a cancelled context by closing its socket,
		// and the server goes on running the statement; KILL QUERY stops it.
		if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&sess.id); err != nil {
			discardConn(conn)
			return nil, fmt.Errorf("read connection id: %w", err)
		}
		sess.stopCancel = watchCancel(ctx, opts.Control, fmt.Sprintf("KILL QUERY %d", sess.id))
	}
	return sess, nil
}

type mysqlSession struct {
	conn       *sql.Conn
	stopCancel func()
	control    *sql.DB
	id         int64 // CONNECTION_ID(), when control is set
}

var _ Abandoner = (*mysqlSession)(nil)

// Abandon closes the connection under the open result, so that Rows.Close
// has nothing to drain, and stops the statement on the server, which would
// otherwise run on until it noticed the client was gone.
func (s *mysqlSession) Abandon() {
	// Not driver.ErrBadConn from Raw: database/sql would then wait to
	// close the Conn while the open Rows hold it. The closed driver conn
	// fails the session's ROLLBACK, and Close discards it.
	_ = s.conn.Raw(func(dc any) error {
		if c, ok := dc.(io.Closer); ok {
			_ = c.Close()
		}
		return nil
	})
	if s.control != nil && s.id != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, _ = s.control.ExecContext(ctx, fmt.Sprintf("KILL QUERY %d", s.id))
	}
}

func (s *mysqlSession) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.conn.QueryContext(ctx, query, args...)
}

func (s *mysqlSession) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return s.conn.QueryRowContext(ctx, query, args...)
}

// Query sends the statement as one COM_QUERY without arguments: the text
// protocol, which with multiStatements off runs exactly one statement.
func (s *mysqlSession) Query(ctx context.Context, st policy.Statement) (*sql.Rows, error) {
	return s.conn.QueryContext(ctx, st.Body)
}

// Close ends the unit of work by discarding the connection. A statement
// can leave on it what a ROLLBACK keeps and SQL can neither list nor reset:
// user variables, named locks (GET_LOCK) and session variables set by a
// stored function, a view over one, or a sys.* function — code the policy
// cannot see into. go-sql-driver sends no COM_RESET_CONNECTION (nor
// COM_CHANGE_USER), and a reset would also drop the session settings the
// driver applies at connect, so a fresh connection is the complete reset.
// It costs a reconnect per call (about 0.7 ms on loopback). Closing the
// socket also ends the transaction and frees the locks on the server.
func (s *mysqlSession) Close() error {
	s.stopCancel()
	discardConn(s.conn)
	return nil
}

func (*mysql) ClassifyError(err error) (DBError, bool) {
	if dbe, ok := tooLarge(err); ok {
		return dbe, true
	}
	var me *gomysql.MySQLError
	if !errors.As(err, &me) {
		return DBError{}, false
	}
	code := fmt.Sprint(me.Number)
	if me.SQLState != [5]byte{} {
		code += " (" + string(me.SQLState[:]) + ")"
	}
	switch me.Number {
	case 1969, // MariaDB ER_STATEMENT_TIMEOUT
		3024, // MySQL ER_QUERY_TIMEOUT
		1317: // ER_QUERY_INTERRUPTED (KILL QUERY by an operator)
		return DBError{Code: code, Message: me.Message, Timeout: true}, true
	case 1792: // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
		return DBError{Code: code, Message: me.Message, Denied: true}, true
	}
	return DBError{Code: code, Message: me.Message}, true
}

func (*mysql) ValueKind(typeName string) Kind {
	if strings.EqualFold(typeName, "DATETIME") {
		return KindLocalTimestamp
	}
	// TIMESTAMP is stored in UTC and the session's time_zone is UTC (see
	// parseMySQL), so it keeps its Z.
	return kindFromTypeName(typeName)
}
