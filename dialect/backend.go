package dialect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/sqlmcp/sqlmcp/dialect/internal/wire"
)

// Backend is one database engine sqlmcp serves: everything about it lives
// in its own package under dialect/ (dialect/postgres, dialect/mysql,
// dialect/sqlite), which registers it by name with Register. Nothing
// outside that package compares backend names: cmd/ and tools/ ask the
// Backend.
//
// # Adding a backend
//
//  1. Create dialect/<name> with a type implementing Backend, and call
//     Register(yourBackend) from the package's init. Add a blank import
//     of the package to dialect/all.
//  2. Traits: its title, the DSN prefixes (and file extensions, for a file-based
//     engine) that are yours, how to write a DSN (DSNForms), the default
//     pool size, whether cancelling a statement needs the control pool,
//     whether the database is a file that must exist, the driver errors
//     that mean a dead connection, and the policy flavor.
//  3. ParseDSN: translate the DSN for the driver; force every option that
//     keeps the connection read-only and single-statement; drop those that
//     could undo it; fill Target.Redacted and Target.Secrets (use the
//     helpers of dialect/internal/sqlkit, which know PasswordParams).
//  4. Open: open the pool with the driver's connector dialled through
//     dialect/internal/wire (socket deadlines, the message-size guard with
//     your protocol's wire.Framing) and OpenOptions.Logger for the
//     driver's log. A file engine bounds values by its own limits instead.
//  5. The policy flavor: a lexer and rule set in dialect/policy for the
//     engine's SQL (quotes, comments, statements it admits, functions it
//     denies). The policy refuses a flavor whose rules are not all chosen.
//  6. Begin: a read-only unit of work that the database enforces (a
//     read-only transaction or connection), the statement timeout enforced
//     by the database, cancellation that stops the statement on the server,
//     and a Close that leaves the connection as it found it (or discards
//     it). Implement Abandoner, Lingerer, EarlyCloser where they apply.
//     With SessionOptions.Access set, Query refuses a statement that reads
//     what the policy denies, before it runs (see dialect/access, the
//     other backends' access.go and dialect/internal/govern); where the
//     engine has grants, implement Governor too.
//  7. Catalog: ListTables with the row-count policy of sqlkit
//     (SettleRowCounts), DescribeTable returning ErrTableNotFound, names
//     parsed and quoted with a sqlkit.NameSyntax; Cataloger (paging,
//     patterns and search in the catalog SQL).
//  8. ClassifyError: SQLSTATE (or the engine's code), timeout, denied,
//     unavailable and too-many-connections; ValueKind for result encoding.
//  9. Optional: PrivilegeChecker and ConnectionLimiter for start-up checks.
//  10. Tests: a conformance record in integration/ (its setup, runaway
//     queries, snapshot SQL, capabilities) so the cross-backend suite and
//     the corpora run against it; its fixture data (Chinook) and corpus
//     files under testdata/ (testdata/corpus/<name>, testdata/access/<name>.txt); start its server in .ci/run; a line in the
//     README's backend list.
type Backend interface {
	Dialect

	// Traits are the backend's facts and defaults. The value is constant.
	Traits() Traits

	// ParseDSN translates a DSN that one of Traits().DSNPrefixes or
	// FileExtensions claimed. It never returns the password in an error:
	// a *DSNError names what to fix. Target.Backend is the value to
	// serve that database with: a backend that learns facts about its
	// server (MySQL or MariaDB) returns a fresh value per DSN.
	ParseDSN(dsn string) (Target, error)

	// Open opens a pool for a Target this backend parsed. It does not
	// connect; the caller pings.
	Open(t Target, opts OpenOptions) (*sql.DB, error)
}

// Traits are what the rest of sqlmcp needs to know about a backend, in
// place of comparing its name.
type Traits struct {
	// Title is how people name the engine in messages: "PostgreSQL".
	Title string
	// DSNPrefixes are the lower-case beginnings of this backend's DSNs,
	// e.g. "postgres://"; ParseDSN matches them case-insensitively.
	DSNPrefixes []string
	// FileExtensions claim a DSN that has no scheme and names a file with
	// one of these extensions (".db"), for a file-based backend.
	FileExtensions []string
	// DSNForms shows how to write a DSN, for the error that lists every
	// backend's: "postgres://user:pass@host:5432/db".
	DSNForms string
	// FileBased means the database is the file Target.Path, which must
	// exist before the pool is opened.
	FileBased bool
	// PoolSize is the pool size when the user sets none.
	PoolSize int
	// ControlPool means stopping a cancelled statement needs a second
	// pool (SessionOptions.Control): the server is asked to stop it from
	// another connection.
	ControlPool bool
	// LostErrors are driver errors meaning the connection died.
	LostErrors []error
	// Statements names the statements the policy admits, for the model:
	// the query tool's description and input schema and the server's
	// instructions all say this.
	Statements string
}

var registry struct {
	sync.RWMutex
	byName map[string]Backend
	lost   []error
}

// Register makes a backend available to ParseDSN and Lookup. It is called
// from the backend package's init; it panics on a name registered twice,
// on a backend that claims no DSN, and on a DSN prefix or extension
// another backend already claims, so that a DSN always means one backend.
func Register(b Backend) {
	registry.Lock()
	defer registry.Unlock()
	name, tr := b.Name(), b.Traits()
	if name == "" || name != strings.ToLower(name) {
		panic(fmt.Sprintf("dialect.Register: backend name %q must be lower case and not empty", name))
	}
	if _, dup := registry.byName[name]; dup {
		panic("dialect.Register: backend " + name + " registered twice")
	}
	if tr.Title == "" || len(tr.DSNPrefixes) == 0 || tr.DSNForms == "" || tr.Statements == "" || tr.PoolSize < 1 {
		panic("dialect.Register: backend " + name + " needs a Title, DSNPrefixes, DSNForms, Statements and a PoolSize")
	}
	for _, o := range registry.byName {
		ot := o.Traits()
		for _, p := range tr.DSNPrefixes {
			if p != strings.ToLower(p) {
				panic("dialect.Register: " + name + ": DSN prefix " + p + " must be lower case")
			}
			for _, op := range ot.DSNPrefixes {
				if strings.HasPrefix(p, op) || strings.HasPrefix(op, p) {
					panic("dialect.Register: " + name + " and " + o.Name() + " both claim DSNs starting " + p)
				}
			}
		}
		for _, e := range tr.FileExtensions {
			if slices.Contains(ot.FileExtensions, e) {
				panic("dialect.Register: " + name + " and " + o.Name() + " both claim files ending " + e)
			}
		}
	}
	if registry.byName == nil {
		registry.byName = map[string]Backend{}
	}
	registry.byName[name] = b
	registry.lost = append(registry.lost, tr.LostErrors...)
}

// Lookup returns the backend registered as name.
func Lookup(name string) (Backend, bool) {
	registry.RLock()
	defer registry.RUnlock()
	b, ok := registry.byName[name]
	return b, ok
}

// Backends returns every registered backend, by name.
func Backends() []Backend {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]Backend, 0, len(registry.byName))
	for _, b := range registry.byName {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Backend) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// OpenOptions configure the connection pool Backend.Open returns.
type OpenOptions struct {
	// MaxMessageBytes bounds one protocol message (PostgreSQL) or one
	// logical packet (MySQL) the server may send: one result row, in
	// practice. Drivers read a whole row into one allocation sized by the
	// server's header, so without a bound SELECT repeat('x', 1e9) makes this
	// process allocate a gigabyte before any byte cap applies. Zero means
	// no bound. Use MessageLimit to derive it from the result byte cap.
	MaxMessageBytes int
	// Logger receives a driver's own log lines (go-sql-driver prints
	// "[mysql] … unexpected EOF" on stderr when a connection breaks), at
	// debug: the call that met the break is logged with its category
	// already. Nil keeps the driver's default.
	Logger *slog.Logger
}

// MessageLimit is the MaxMessageBytes that goes with a result byte cap: a
// row whose wire form is this large cannot fit the cap in any encoding
// (PostgreSQL's bytea hex doubles, our base64 adds a third), while rows
// the cap can hold always pass.
func MessageLimit(maxResultBytes int) int {
	return 4*maxResultBytes + 1<<20
}

// ErrMessageTooLarge is returned (wrapped) when the server sent a message
// larger than OpenOptions.MaxMessageBytes; the connection is then closed.
var ErrMessageTooLarge = wire.ErrMessageTooLarge

// MessageTooLargeError says how large the refused message was.
type MessageTooLargeError = wire.MessageTooLargeError

// ConnectionLost tells whether err means the connection to the database
// died (closed, reset, timed out at the socket, or a registered backend's
// LostErrors) rather than the statement failing: the database is
// unavailable, which is worth a retry, not a bug. A server that ended the
// session itself (PostgreSQL 57P01, MySQL 1927) is read by the backend's
// ClassifyError (DBError.Unavailable).
func ConnectionLost(err error) bool {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	if wire.ConnectionLost(err) {
		return true
	}
	registry.RLock()
	defer registry.RUnlock()
	for _, e := range registry.lost {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// SocketTimeout tells whether err is a read or write that reached the
// deadline a session set on its socket: the server did not answer in time.
func SocketTimeout(err error) bool { return wire.SocketTimeout(err) }

// Ping checks that db answers now, within ctx's deadline even when the
// server stopped answering. A failed ping on a pooled connection may only
// mean the connection went stale (the database restarted since), so the
// idle connections are dropped and one fresh connection tries again
// within the same deadline: readiness reflects the database, not the
// pool's history.
func Ping(ctx context.Context, db *sql.DB) error { return wire.Ping(ctx, db) }

// FlushIdle closes every idle connection of db, so that the next caller
// dials afresh: after one pooled connection was found dead, its idle
// siblings most likely are too (a restart, a failover, a cut).
func FlushIdle(db *sql.DB) { wire.FlushIdle(db) }

// WithConn runs f on a connection of db bounded by ctx even against a
// server that stopped answering, and discards the connection if anything
// failed: for statements of ours outside a session, such as the start-up
// checks.
func WithConn(ctx context.Context, db *sql.DB, f func(*sql.Conn) error) error {
	return wire.WithConn(ctx, db, 0, f)
}
