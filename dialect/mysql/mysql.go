package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
	"github.com/sqlmcp/sqlmcp/dialect/internal/wire"
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

var _ dialect.Backend = (*mysql)(nil)

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
func (d *mysql) Begin(ctx context.Context, conn *sql.Conn, opts dialect.SessionOptions) (dialect.Session, error) {
	// go-sql-driver closes its socket when ctx ends, but the session's
	// cleanup runs after that on a connection it still trusts: the armed
	// socket bounds every round trip the same way on both backends.
	sock := wire.Arm(ctx, conn, wire.AbortGrace)
	fail := func(what string, err error) (dialect.Session, error) {
		sock.Disarm()
		wire.DiscardConn(conn)
		return nil, sqlkit.BeginError(what, err, mysqlLost)
	}
	if err := d.detect(ctx, conn); err != nil {
		return fail("read server version", err)
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
		return fail("set session limits", err)
	}
	if _, err := conn.ExecContext(ctx, "START TRANSACTION READ ONLY"); err != nil {
		return fail("begin read-only transaction", err)
	}
	sess := &mysqlSession{conn: conn, sock: sock, stopCancel: func(bool) {}, control: opts.Control, access: opts.Access}
	switch {
	case !opts.Access.Empty():
		// The access check resolves unqualified names in the current
		// database: read it with the connection id, in the same round trip.
		if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID(), COALESCE(DATABASE(), '')").Scan(&sess.id, &sess.database); err != nil {
			return fail("read connection id", err)
		}
	case opts.Control != nil:
		if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&sess.id); err != nil {
			return fail("read connection id", err)
		}
	}
	if opts.Control != nil {
		// go-sql-driver answers a cancelled context by closing its socket,
		// and the server goes on running the statement; KILL QUERY stops it.
		sess.stopCancel = wire.WatchCancel(ctx, opts.Control, fmt.Sprintf("KILL QUERY %d", sess.id))
	}
	return sess, nil
}

// mysqlLost tells whether err is the server ending the session: 1053
// (server shutdown), 1927 (connection killed, MariaDB), 4031 (idle
// client disconnected, MySQL), 2006/2013 (gone away, lost during query).
func mysqlLost(err error) bool {
	var me *gomysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case 1053, 1927, 4031, 2006, 2013:
		return true
	}
	return false
}

// mysqlRunning counts the statements a connection id is running.
const mysqlRunning = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND COMMAND <> 'Sleep'"

type mysqlSession struct {
	conn       *sql.Conn
	sock       *wire.Armed
	stopCancel func(wait bool)
	control    *sql.DB
	id         int64 // CONNECTION_ID(), when control is set
	dropped    bool  // Close found the connection broken
	access     *access.Policy
	database   string // DATABASE(), read by Begin when access is set
}

var (
	_ dialect.Abandoner = (*mysqlSession)(nil)
	_ dialect.Lingerer  = (*mysqlSession)(nil)
)

// Abandon closes the connection under the open result, so that Rows.Close
// has nothing to drain, and stops the statement on the server, which would
// otherwise run on until it noticed the client was gone.
func (s *mysqlSession) Abandon() {
	// Not driver.ErrBadConn from Raw: database/sql would then wait to
	// close the Conn while the open Rows hold it. The closed driver conn
	// is discarded by Close, like every connection of this pool.
	_ = s.conn.Raw(func(dc any) error {
		if c, ok := dc.(io.Closer); ok {
			_ = c.Close()
		}
		return nil
	})
	if s.control != nil && s.id != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), wire.KillTimeout)
		defer cancel()
		_ = wire.ControlExec(ctx, s.control, fmt.Sprintf("KILL QUERY %d", s.id))
	}
}

// Lingering: a statement whose connection go-sql-driver closed (a
// cancelled or timed-out call) runs on until it ends or checks its kill
// flag, which LOCATE/INSTR/REPLACE over huge operands do not.
func (s *mysqlSession) Lingering() <-chan struct{} {
	if !s.dropped {
		return nil
	}
	return wire.Lingering(s.control, mysqlRunning, fmt.Sprintf("KILL QUERY %d", s.id), s.id)
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
	if !s.access.Empty() {
		if err := s.accessCheck(ctx, st); err != nil {
			return nil, err
		}
	}
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
	// dropped: the socket failed or closed under the call (a cancel, a
	// timeout, a lost server), so the statement may still be running on
	// the server (see Lingering).
	s.dropped = s.sock.Broken()
	// The connection never goes back to the pool, so a kill still in
	// flight cannot reach another caller's statement: no need to wait.
	s.stopCancel(false)
	s.sock.Disarm()
	wire.DiscardConn(s.conn)
	return nil
}

func (*mysql) ClassifyError(err error) (dialect.DBError, bool) {
	if dbe, ok := sqlkit.TooLarge(err); ok {
		return dbe, true
	}
	var me *gomysql.MySQLError
	if !errors.As(err, &me) {
		return dialect.DBError{}, false
	}
	if me.Number == guardErrno && me.SQLState == [5]byte{'H', 'Y', '0', '0', '0'} {
		return dialect.DBError{Code: "row_too_large", Message: me.Message}, true // made up by the guard (wire.go)
	}
	code := fmt.Sprint(me.Number)
	if me.SQLState != [5]byte{} {
		code += " (" + string(me.SQLState[:]) + ")"
	}
	switch me.Number {
	case 1969, // MariaDB ER_STATEMENT_TIMEOUT
		3024, // MySQL ER_QUERY_TIMEOUT
		1317: // ER_QUERY_INTERRUPTED (KILL QUERY by an operator)
		return dialect.DBError{Code: code, Message: me.Message, Timeout: true}, true
	case 1792: // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
		return dialect.DBError{Code: code, Message: me.Message, Denied: true}, true
	case 1040, // ER_CON_COUNT_ERROR: max_connections
		1203, // ER_TOO_MANY_USER_CONNECTIONS: max_user_connections
		1226: // ER_USER_LIMIT_REACHED: the account's MAX_USER_CONNECTIONS
		return dialect.DBError{Code: code, Message: me.Message, TooManyConnections: true}, true
	}
	if mysqlLost(err) {
		return dialect.DBError{Code: code, Message: me.Message, Unavailable: true}, true
	}
	return dialect.DBError{Code: code, Message: me.Message}, true
}

func (*mysql) ValueKind(typeName string) dialect.Kind {
	if strings.EqualFold(typeName, "DATETIME") {
		return dialect.KindLocalTimestamp
	}
	// TIMESTAMP is stored in UTC and the session's time_zone is UTC (see
	// parseMySQL), so it keeps its Z.
	return sqlkit.KindFromTypeName(typeName)
}
