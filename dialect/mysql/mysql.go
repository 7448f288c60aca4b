package mysql

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
	// Set by Open: whether the connections are plaintext (the cleanup
	// can then reset them on their socket) and what the driver sets at
	// connect (connectSet).
	plain      bool
	connectSet string
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

// Begin readies a connection for one call: read-only, the statement
// timeout and sql_select_limit (so that the server stops sending after
// MaxRows+1 rows, and go-sql-driver's Rows.Close has nothing large to
// drain) are session variables, set in one SET statement, and the
// statement runs in a read-only transaction Begin starts. A connection the
// cleanup reset and configured for the same timeout and limit
// (myConnState, remembered on its socket) needs no SET: the call is then
// START TRANSACTION READ ONLY and the statement before its answer. Otherwise the SET runs here, on a fresh connection or after a
// change of limit; the session's earlier values never apply.
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
	guards := d.guards(opts)
	cs, _ := sock.Tag().(*myConnState)
	if cs == nil || cs.guards != guards {
		// A connection's first call (or a new limit): its guards, and
		// its id, once.
		cs = &myConnState{guards: guards}
		if _, err := conn.ExecContext(ctx, "SET "+guards); err != nil {
			return fail("set read-only session", err)
		}
		if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&cs.id); err != nil {
			return fail("read connection id", err)
		}
		sock.SetTag(cs)
	}
	// The statement runs in a read-only transaction begun here, not only
	// under the session's read-only default: a proxy that multiplexes
	// sessions over server connections (ProxySQL) keeps a transaction on
	// one server connection, where session variables set by an earlier
	// exchange may not be. The cleanup's COM_RESET_CONNECTION rolls it
	// back.
	if _, err := conn.ExecContext(ctx, "START TRANSACTION READ ONLY"); err != nil {
		return fail("begin read-only transaction", err)
	}
	sess := &mysqlSession{conn: conn, sock: sock, stopCancel: func(bool) {}, control: opts.Control, access: opts.Access,
		id: cs.id, backend: d, guards: guards}
	if !opts.Access.Empty() {
		// The access check resolves unqualified names in the current
		// database.
		if err := conn.QueryRowContext(ctx, "SELECT COALESCE(DATABASE(), '')").Scan(&sess.database); err != nil {
			return fail("read current database", err)
		}
	}
	if opts.Control != nil {
		// go-sql-driver answers a cancelled context by closing its socket,
		// and the server goes on running the statement; KILL QUERY stops it.
		sess.stopCancel = wire.WatchCancel(ctx, opts.Control, fmt.Sprintf("KILL QUERY %d", sess.id))
	}
	return sess, nil
}

// myConnState is what a connection's socket remembers (wire.Armed.Tag):
// its id, and the guards its session variables hold.
type myConnState struct {
	id     int64
	guards string
}

// guards are the assignments of the session guards: read-only, the
// statement timeout (MariaDB's max_statement_time in seconds, MySQL's
// max_execution_time in ms), sql_select_limit.
func (d *mysql) guards(opts dialect.SessionOptions) string {
	limit := "DEFAULT"
	if opts.MaxRows > 0 {
		limit = fmt.Sprint(opts.MaxRows + 1)
	}
	if d.mariadb {
		return fmt.Sprintf("SESSION tx_read_only = 1, max_statement_time = %.3f, sql_select_limit = %s", opts.Timeout.Seconds(), limit)
	}
	return fmt.Sprintf("SESSION transaction_read_only = 1, max_execution_time = %d, sql_select_limit = %s", opts.Timeout.Milliseconds(), limit)
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
	id         int64 // CONNECTION_ID()
	dropped    bool  // Close found the connection broken
	access     *access.Policy
	database   string // DATABASE(), read by Begin when access is set
	backend    *mysql
	guards     string // the session guards Begin set (mysql.guards)
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

// Close ends the unit of work by resetting the connection: a statement
// can leave on it what SQL can neither list nor reset — user variables,
// named locks (GET_LOCK) and session variables set by a stored function,
// a view over one, or a sys.* function: code the policy cannot see into.
// COM_RESET_CONNECTION clears all of it (and rolls back, drops temporary
// tables and prepared statements, releases locks) but also returns every
// session variable to its global value, including what the driver set at
// connect; go-sql-driver does not send it. So, on a plaintext connection
// (the socket under the driver carries the protocol as it is), the
// session sends it itself while the driver is idle, pipelined with a SET
// of what the driver set at connect and of the session guards, and reads
// the two OK packets: one round trip, after which the connection is as
// the next call's Begin wants it. Any other answer, a TLS connection, or
// a pool this backend did not open: the connection is discarded instead
// (a fresh connection is the other complete reset), as is one whose
// socket failed under the call.
func (s *mysqlSession) Close() error {
	// dropped: the socket failed or closed under the call (a cancel, a
	// timeout, a lost server), so the statement may still be running on
	// the server (see Lingering).
	s.dropped = s.sock.Broken()
	if s.dropped {
		// The connection never goes back to the pool, so a kill still
		// in flight cannot reach another caller's statement: no need
		// to wait.
		s.stopCancel(false)
		s.sock.Disarm()
		wire.DiscardConn(s.conn)
		return nil
	}
	s.stopCancel(true)
	s.sock.Disarm()
	s.sock.Bound(cleanupTimeout)
	if err := s.reset(); err != nil {
		s.sock.SetTag((*myConnState)(nil))
		wire.DiscardConn(s.conn)
		if errors.Is(err, errNoReset) {
			return nil
		}
		return fmt.Errorf("reset the session: %w", err)
	}
	s.sock.Reset()
	return nil
}

// cleanupTimeout bounds the reset, which runs even when the caller's
// context has ended.
const cleanupTimeout = 5 * time.Second

// errNoReset: the connection cannot be reset on its socket.
var errNoReset = errors.New("no reset on this connection")

// reset sends COM_RESET_CONNECTION and COM_QUERY "SET <connectSet>,
// <guards>" in one write and reads their two answers, each an OK packet
// (0x00) or an ERR packet (0xff).
func (s *mysqlSession) reset() error {
	s.backend.mu.Lock()
	plain, set := s.backend.plain, s.backend.connectSet
	s.backend.mu.Unlock()
	c := s.sock.Conn()
	if !plain || set == "" || c == nil {
		return errNoReset
	}
	q := "SET " + set + ", " + s.guards
	n := 1 + len(q)
	if n >= 0xffffff {
		return errNoReset
	}
	pkt := make([]byte, 0, 5+4+n)
	pkt = append(pkt, 1, 0, 0, 0, 0x1f) // COM_RESET_CONNECTION
	pkt = append(pkt, byte(n), byte(n>>8), byte(n>>16), 0, 0x03)
	pkt = append(pkt, q...)
	if _, err := c.Write(pkt); err != nil {
		return err
	}
	var h [4]byte
	for range 2 {
		if _, err := io.ReadFull(c, h[:]); err != nil {
			return err
		}
		body := make([]byte, int(h[0])|int(h[1])<<8|int(h[2])<<16)
		if _, err := io.ReadFull(c, body); err != nil {
			return err
		}
		switch {
		case len(body) > 0 && body[0] == 0x00:
		case len(body) >= 3 && body[0] == 0xff:
			msg := body[3:]
			if len(msg) >= 6 && msg[0] == '#' {
				msg = msg[6:]
			}
			return fmt.Errorf("error %d: %s", int(body[1])|int(body[2])<<8, msg)
		default:
			return fmt.Errorf("unexpected answer to the reset (packet type 0x%02x)", firstByte(body))
		}
	}
	return nil
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
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
