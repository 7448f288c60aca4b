package sqlite

import (
	"database/sql"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

func init() { dialect.Register(sqlite{}) }

// Traits: see dialect.Traits.
func (sqlite) Traits() dialect.Traits {
	return dialect.Traits{
		Title:          "SQLite",
		DSNPrefixes:    []string{"sqlite:", "file:"},
		FileExtensions: []string{".db", ".sqlite", ".sqlite3"},
		DSNForms:       "sqlite:///abs/path.db, sqlite:relative.db or a path ending .db, .sqlite or .sqlite3",
		FileBased:      true,
		// SQLite runs in our process: a connection beyond the number of
		// CPUs adds no throughput, and each one holds its own parsed
		// schema and page cache (on a 1000-table file, 8 busy connections
		// took peak RSS from 33 to 52 MB at the same calls/s).
		PoolSize:   min(10, max(2, runtime.GOMAXPROCS(0))),
		Statements: policy.SQLite.Statements(),
	}
}

func (sqlite) ParseDSN(dsn string) (dialect.Target, error) {
	lower := strings.ToLower(dsn)
	var rest string
	switch {
	case !strings.HasPrefix(lower, "sqlite:") && !strings.HasPrefix(lower, "file:"):
		return sqliteTarget(dsn, nil) // a bare path, claimed by its extension
	case strings.HasPrefix(lower, "sqlite://"):
		rest = dsn[len("sqlite://"):]
	case strings.HasPrefix(lower, "sqlite:"):
		rest = dsn[len("sqlite:"):]
	default: // file:
		rest = strings.TrimPrefix(dsn[len("file:"):], "//")
	}
	if hasUserInfo(dsn) {
		// SQLite has no users; a user:password@ here is a mistake, and
		// as part of the path it would be echoed in every error.
		return dialect.Target{}, dialect.DSNErrorf("a SQLite URL takes no user name or password (remove the user:password@ part; the file's permissions are its access control)")
	}
	var query url.Values
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		q, err := url.ParseQuery(rest[i+1:])
		if err != nil {
			return dialect.Target{}, dialect.DSNErrorf("cannot parse SQLite URL options: %v", err)
		}
		query, rest = q, rest[:i]
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return dialect.Target{}, dialect.DSNErrorf("cannot parse SQLite path: %v", err)
	}
	if p == "" {
		return dialect.Target{}, dialect.DSNErrorf("SQLite URL has no file path: use sqlite:///abs/path.db or sqlite:relative.db")
	}
	return sqliteTarget(p, query)
}

// hasUserInfo reports whether a sqlite:// or file:// URL has a
// user[:password]@ authority.
func hasUserInfo(dsn string) bool {
	i := strings.Index(dsn, "://")
	if i < 0 {
		return false
	}
	auth := dsn[i+3:]
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	return strings.Contains(auth, "@")
}

// sqliteTarget always opens the file read-only through a file: URI,
// because modernc ignores mode=ro otherwise. User options that could
// reopen it for writing are dropped.
func sqliteTarget(path string, query url.Values) (dialect.Target, error) {
	if path == ":memory:" {
		return dialect.Target{}, dialect.DSNErrorf("an in-memory SQLite database is always empty: give a database file")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return dialect.Target{}, dialect.DSNErrorf("cannot resolve SQLite path %q: %v", path, err)
	}
	q := url.Values{}
	for k, vs := range query {
		switch strings.ToLower(k) {
		case "mode", "immutable", "vfs", "_pragma", "_txlock", "cache", "nolock":
			// mode/immutable/vfs/_pragma could undo read-only; the rest
			// change locking in ways a reader has no business doing.
			continue
		}
		q[k] = vs
	}
	q.Set("mode", "ro")
	q.Add("_pragma", "query_only(1)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "trusted_schema(0)")
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	driverDSN := "file:" + u.EscapedPath() + "?" + q.Encode()
	return dialect.Target{Backend: sqlite{}, DriverDSN: driverDSN, Redacted: "sqlite://" + abs, Path: abs}, nil
}

// Open records the file each connection opened and installs the
// linear-time string functions on it (file.go, funcs.go). SQLite bounds
// values itself (SQLITE_LIMIT_LENGTH, see Begin), so there is no wire
// guard, and cancellation is in-process: no control pool.
func (sqlite) Open(t dialect.Target, _ dialect.OpenOptions) (*sql.DB, error) {
	return openSQLite(t), nil
}

// names: SQLite accepts all three identifier quotings.
var names = sqlkit.NameSyntax{Quotes: []sqlkit.QuoteStyle{sqlkit.DoubleQuote, sqlkit.Brackets, sqlkit.Backtick}}

// QuoteIdent quotes one identifier part: "a""b".
func (sqlite) QuoteIdent(name string) string { return sqlkit.QuoteWith(name, '"') }

// ParseTableName keeps unquoted parts as written; SQLite itself matches
// table names case-insensitively (ASCII only).
func (sqlite) ParseTableName(name string) (dialect.TableRef, error) { return names.Parse(name) }
