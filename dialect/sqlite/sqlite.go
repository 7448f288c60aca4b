package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
	"github.com/sqlmcp/sqlmcp/dialect/internal/wire"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// sqlite is SQLite over modernc.org/sqlite (pure Go). The DSN parser opens
// every database read-only through a file: URI with query_only on; each
// session also installs an authorizer and lowers the attach limit to zero,
// because mode=ro does not stop ATTACH from creating a file and a later
// statement could switch query_only off.
type sqlite struct{}

var _ dialect.Backend = sqlite{}

func (sqlite) Name() string { return "sqlite" }

func (sqlite) CheckReadOnly(query string) (policy.Statement, error) {
	return policy.Check(policy.SQLite, query)
}

// defaultMaxValueBytes bounds one string or blob SQLite may build
// (SQLITE_LIMIT_LENGTH) when SessionOptions.MaxValueBytes is zero, so that
// randomblob(1e9) fails fast instead of allocating a gigabyte.
const defaultMaxValueBytes = 16 << 20

// likePatternLimit bounds the pattern of LIKE and GLOB (SQLITE_LIMIT_LIKE_
// PATTERN_LENGTH, 50,000 bytes by default). Matching costs up to the value's
// length times the pattern's inside one VDBE opcode, which no interrupt
// reaches: a 1,000-byte pattern against a 1 MiB value ran 1.7 s, a GLOB
// of 3,000 bytes 8 s. The bound keeps one evaluation near half a second
// for values up to maxValueBytes (128 bytes at the default 1 MiB, never
// below 64, never above 256): far longer than any pattern written by hand.
func likePatternLimit(maxValueBytes int) int {
	return min(max((128<<20)/max(maxValueBytes, 1), 64), 256)
}

// sqliteReadPragmas may be read, never set, through the authorizer: the
// pragmas introspection uses. For those marked true the argument SQLite
// passes is a table or index name (pragma_table_info('t')), never a value
// to set; the others are admitted only without an argument, because with
// one they would set something (page_size = 4096).
var sqliteReadPragmas = map[string]bool{
	"table_info": true, "table_xinfo": true, "table_list": true, "index_list": true,
	"index_info": true, "index_xinfo": true, "foreign_key_list": true,
	"database_list": false, "collation_list": false, "function_list": false, "module_list": false,
	"pragma_list": false, "page_count": false, "page_size": false, "freelist_count": false,
}

// sqliteDeniedFunctions can touch files or load code.
var sqliteDeniedFunctions = map[string]bool{
	"load_extension": true, "writefile": true, "readfile": true, "edit": true, "fts3_tokenizer": true,
}

// sqliteAuthorizer admits reading and nothing else. It is the database's
// own read-only layer: whatever the lexer missed, SQLite refuses to even
// compile a write, a transaction statement, ATTACH/DETACH or a pragma that
// sets a value.
func sqliteAuthorizer(action sqlitedrv.AuthorizerActionCode, arg1, arg2, _, _ string) sqlitedrv.AuthorizerReturnCode {
	switch action {
	case sqlitedrv.AuthSelect, sqlitedrv.AuthRecursive:
		return sqlitedrv.AuthorizerOK
	case sqlitedrv.AuthRead:
		// sqlite_dbpage shows raw pages, free pages with deleted rows
		// included, also when a view reads it.
		if strings.EqualFold(arg1, "sqlite_dbpage") {
			return sqlitedrv.AuthorizerDeny
		}
		return sqlitedrv.AuthorizerOK
	case sqlitedrv.AuthFunction:
		if sqliteDeniedFunctions[strings.ToLower(arg2)] {
			return sqlitedrv.AuthorizerDeny
		}
		return sqlitedrv.AuthorizerOK
	case sqlitedrv.AuthPragma:
		if nameArg, ok := sqliteReadPragmas[strings.ToLower(arg1)]; ok && (nameArg || arg2 == "") {
			return sqlitedrv.AuthorizerOK
		}
	}
	return sqlitedrv.AuthorizerDeny
}

// Begin installs the guards on this connection. There is no explicit
// transaction: the authorizer denies BEGIN and ROLLBACK along with every
// other non-read, and a single SELECT runs in its own read transaction.
// The timeout is the context's: modernc interrupts the statement when the
// context ends.
func (sqlite) Begin(ctx context.Context, conn *sql.Conn, opts dialect.SessionOptions) (dialect.Session, error) {
	var stale error
	sess := &sqliteSession{conn: conn}
	auth := sqliteAuthorizer
	if !opts.Access.Empty() {
		sess.access = &accessGuard{policy: opts.Access}
		auth = sess.access.authorize
	}
	err := conn.Raw(func(dc any) error {
		if stale = checkSQLiteFile(dc); stale != nil {
			return nil
		}
		r, ok := dc.(sqlitedrv.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("sqlite driver %T does not support an authorizer", dc)
		}
		return r.RegisterAuthorizer(auth)
	})
	if stale != nil {
		wire.DiscardConn(conn)
		return nil, stale
	}
	if err != nil {
		wire.DiscardConn(conn)
		return nil, fmt.Errorf("install read-only authorizer: %w", err)
	}
	maxLen := opts.MaxValueBytes
	if maxLen <= 0 {
		maxLen = defaultMaxValueBytes
	}
	boundSQLiteHeap(maxLen) // the row as a whole: see sqlite_rows.go
	for _, l := range []struct{ id, v int }{
		{sqlite3.SQLITE_LIMIT_ATTACHED, 0},
		{sqlite3.SQLITE_LIMIT_LENGTH, maxLen},
		{sqlite3.SQLITE_LIMIT_SQL_LENGTH, 1 << 20},
		{sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, likePatternLimit(maxLen)},
	} {
		if _, err := sqlitedrv.Limit(conn, l.id, l.v); err != nil {
			wire.DiscardConn(conn)
			return nil, fmt.Errorf("set sqlite limit: %w", err)
		}
	}
	return sess, nil
}

type sqliteSession struct {
	conn   *sql.Conn
	access *accessGuard // nil without an access policy
}

func (s *sqliteSession) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.conn.QueryContext(ctx, query, args...)
}

func (s *sqliteSession) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return s.conn.QueryRowContext(ctx, query, args...)
}

func (s *sqliteSession) Query(ctx context.Context, st policy.Statement) (*sql.Rows, error) {
	if s.access == nil {
		return s.conn.QueryContext(ctx, st.Body)
	}
	s.access.enforce.Store(false)
	if err := s.access.loadShadows(ctx, s.conn); err != nil {
		return nil, err
	}
	s.access.named = map[string]bool{}
	if toks, err := policy.Tokens(policy.SQLite, st.Body); err == nil {
		for _, t := range toks {
			if t.Name != "" {
				s.access.named[strings.ToLower(t.Name)] = true
			}
		}
	} else {
		return nil, err
	}
	s.access.enforce.Store(true)
	s.access.denied = nil
	rows, err := s.conn.QueryContext(ctx, st.Body)
	if err != nil && s.access.denied != nil {
		return nil, s.access.denied
	}
	return rows, err
}

// Close leaves the read-only authorizer and the limits in place: they are
// the right state for every use of a connection of this read-only pool.
// A session with an access policy puts the plain read-only authorizer
// back, so that the next session of the connection starts clean; if that
// fails the connection is discarded rather than pooled with a policy that
// is not its next user's.
func (s *sqliteSession) Close() error {
	if s.access == nil {
		return nil
	}
	err := s.conn.Raw(func(dc any) error {
		r, ok := dc.(sqlitedrv.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("sqlite driver %T does not support an authorizer", dc)
		}
		return r.RegisterAuthorizer(sqliteAuthorizer)
	})
	if err != nil {
		wire.DiscardConn(s.conn)
		return fmt.Errorf("restore the read-only authorizer: %w", err)
	}
	return nil
}

func (sqlite) ClassifyError(err error) (dialect.DBError, bool) {
	var se *sqlitedrv.Error
	if !errors.As(err, &se) {
		return dialect.DBError{}, false
	}
	code := se.Code()
	name := sqliteCodeName(code)
	msg := se.Error()
	switch code & 0xff {
	case sqlite3.SQLITE_INTERRUPT:
		return dialect.DBError{Code: name, Message: msg, Timeout: true}, true
	case sqlite3.SQLITE_AUTH, sqlite3.SQLITE_READONLY:
		return dialect.DBError{Code: name, Message: msg, Denied: true}, true
	case sqlite3.SQLITE_NOMEM:
		// SQLite's heap limit (sqlite_rows.go), met by rows of many
		// large values or values too large to build.
		// The limit is the process's, so the call that meets it may not
		// be the one with the big row: say both.
		return dialect.DBError{Code: name, Message: msg + ": the server's SQLite memory bound was reached, by this statement " +
			"or by another running at the same time; retry, or select fewer or narrower columns " +
			"(large values: length() or substr())"}, true
	}
	return dialect.DBError{Code: name, Message: msg}, true
}

func sqliteCodeName(code int) string {
	switch code & 0xff {
	case sqlite3.SQLITE_ERROR:
		return "SQLITE_ERROR"
	case sqlite3.SQLITE_INTERRUPT:
		return "SQLITE_INTERRUPT"
	case sqlite3.SQLITE_AUTH:
		return "SQLITE_AUTH"
	case sqlite3.SQLITE_READONLY:
		return "SQLITE_READONLY"
	case sqlite3.SQLITE_BUSY:
		return "SQLITE_BUSY"
	case sqlite3.SQLITE_TOOBIG:
		return "SQLITE_TOOBIG"
	case sqlite3.SQLITE_NOMEM:
		return "SQLITE_NOMEM"
	case sqlite3.SQLITE_CONSTRAINT:
		return "SQLITE_CONSTRAINT"
	case sqlite3.SQLITE_MISMATCH:
		return "SQLITE_MISMATCH"
	case sqlite3.SQLITE_RANGE:
		return "SQLITE_RANGE"
	}
	return fmt.Sprintf("SQLITE_%d", code)
}

// ValueKind: SQLite columns are typed by value, not by declaration, so an
// expression column reports no type; the encoder then goes by the value.
func (sqlite) ValueKind(typeName string) dialect.Kind {
	k := sqlkit.KindFromTypeName(typeName)
	switch k {
	case dialect.KindTimestamp:
		return dialect.KindLocalTimestamp // text in the file, zone only if written
	case dialect.KindBinary, dialect.KindDecimal:
		// A declared BLOB may hold text, and DECIMAL affinity is numeric
		// (stored as integer or float): decide by the scanned value.
		return dialect.KindUnknown
	}
	return k
}
