package dialect

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
)

// Target is a parsed DSN: which backend, and what to hand database/sql.
type Target struct {
	// Backend is "postgres", "mysql" or "sqlite".
	Backend string
	// DriverName is the database/sql driver name to open.
	DriverName string
	// DriverDSN is the driver's own connection string. It may contain the
	// password: never log it.
	DriverDSN string
	// Redacted is the DSN safe to show: the password replaced.
	Redacted string
	// Path is the database file, for SQLite.
	Path string
}

// DSNError is a DSN the user must fix. Its message never contains the
// password.
type DSNError struct{ Msg string }

func (e *DSNError) Error() string { return e.Msg }

func dsnErrorf(format string, args ...any) error {
	return &DSNError{Msg: fmt.Sprintf(format, args...)}
}

const dsnForms = "use postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db, " +
	"sqlite:///abs/path.db, sqlite:relative.db or a path ending .db, .sqlite or .sqlite3"

// ParseDSN picks the backend from a DSN URL and translates it for the
// driver. It never returns the password in an error.
func ParseDSN(dsn string) (Target, error) {
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return Target{}, dsnErrorf("no database given: %s (or --demo)", dsnForms)
	}
	lower := strings.ToLower(dsn)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return parsePostgres(dsn)
	case strings.HasPrefix(lower, "mysql://"), strings.HasPrefix(lower, "mariadb://"):
		return parseMySQL(dsn)
	case strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"):
		return parseSQLite(dsn)
	case !strings.Contains(dsn, "://") && hasSQLiteExt(dsn):
		return sqliteTarget(dsn, nil)
	}
	scheme := dsn
	if i := strings.Index(dsn, ":"); i > 0 {
		scheme = dsn[:i]
	} else {
		scheme = "(none)"
	}
	if strings.ContainsAny(scheme, "@/") {
		scheme = "(none)"
	}
	return Target{}, dsnErrorf("unsupported database URL scheme %q: %s", scheme, dsnForms)
}

func hasSQLiteExt(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".db", ".sqlite", ".sqlite3":
		return true
	}
	return false
}

func parseURL(dsn string) (*url.URL, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Error and its cause quote the input, and a '/', '?' or '#'
		// in the password makes that quote part of the password: say
		// nothing of the text, only how to fix it.
		return nil, dsnErrorf("cannot parse database URL: it is malformed; percent-encode / ? # @ : %% in the user name and password")
	}
	return u, nil
}

func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		if _, has := c.User.Password(); has {
			c.User = url.UserPassword(c.User.Username(), "xxxxx")
		}
	}
	q := c.Query()
	for _, k := range []string{"password", "passwd", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}

func parsePostgres(dsn string) (Target, error) {
	u, err := parseURL(dsn)
	if err != nil {
		return Target{}, err
	}
	u.Scheme = "postgres"
	q := u.Query()
	if !q.Has("sslmode") && isLoopback(u.Hostname()) {
		// lib/pq defaults to sslmode=require, which a local server
		// without TLS refuses; loopback traffic never leaves the host.
		q.Set("sslmode", "disable")
	}
	if !q.Has("application_name") {
		q.Set("application_name", "sqlmcp")
	}
	u.RawQuery = q.Encode()
	redacted := redactURL(u)
	if !q.Has("binary_parameters") {
		// A statement with arguments then takes one round trip (Parse,
		// Bind, Execute on the unnamed statement) instead of two; the
		// query tool's page and every catalog query are such statements.
		q.Set("binary_parameters", "yes")
		u.RawQuery = q.Encode()
	}
	return Target{Backend: "postgres", DriverName: "postgres", DriverDSN: u.String(), Redacted: redacted}, nil
}

func isLoopback(host string) bool {
	if host == "" || host == "localhost" || strings.HasPrefix(host, "/") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// mysqlDroppedParams are driver options a DSN may not turn on: each would
// weaken the read-only guarantee or the single-statement rule.
var mysqlDroppedParams = map[string]bool{
	"multistatements":   true,
	"allowallfiles":     true,
	"interpolateparams": true,
	// Compressed packets have a 7-byte header the row-size guard below
	// the driver (wire.go) does not read: it would miss oversize rows
	// and refuse legitimate streams.
	"compress": true,
	// The policy's lexer reads the text as UTF-8; in GBK, SJIS or Big5 a
	// backslash byte can be the second half of a character, and the
	// server would then end a string where the lexer does not. So the
	// connection is utf8mb4, and no option may change its character set
	// (see also mysqlCharsetParam).
	"charset":   true,
	"collation": true,
	"names":     true,
}

// mysqlCharsetParam tells the system variables the driver would SET at
// connect time that change how the server reads statement text.
func mysqlCharsetParam(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "character_set") || strings.HasPrefix(n, "collation")
}

func parseMySQL(dsn string) (Target, error) {
	u, err := parseURL(dsn)
	if err != nil {
		return Target{}, err
	}
	cfg := gomysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	q := u.Query()
	if sock := q.Get("socket"); sock != "" {
		cfg.Net, cfg.Addr = "unix", sock
		q.Del("socket")
	} else {
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "127.0.0.1"
		}
		if port == "" {
			port = "3306"
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	}
	// Pass the rest through the driver's own parser so its validation and
	// option names apply, then force the options that keep us read-only.
	// charset makes the driver SET NAMES after connecting, which also
	// overrides a server's init_connect.
	params := url.Values{"charset": {"utf8mb4"}}
	if !q.Has("time_zone") {
		// The driver reads TIMESTAMP values as UTC (loc); the session
		// must then render them in UTC too, or they shift by the
		// server's zone.
		params.Set("time_zone", "'+00:00'")
	}
	for k, vs := range q {
		if mysqlDroppedParams[strings.ToLower(k)] || mysqlCharsetParam(k) {
			continue
		}
		params[k] = vs
	}
	base := cfg.FormatDSN()
	if enc := params.Encode(); enc != "" {
		if strings.Contains(base, "?") {
			base += "&" + enc
		} else {
			base += "?" + enc
		}
	}
	parsed, err := gomysql.ParseDSN(base)
	if err != nil {
		msg := err.Error()
		if cfg.Passwd != "" {
			msg = strings.ReplaceAll(msg, cfg.Passwd, "xxxxx")
		}
		return Target{}, dsnErrorf("invalid MySQL option in database URL: %s", msg)
	}
	parsed.MultiStatements = false
	parsed.AllowAllFiles = false
	parsed.InterpolateParams = false
	parsed.ParseTime = true
	parsed.RejectReadOnly = false
	parsed.Collation = "utf8mb4_general_ci"
	return Target{Backend: "mysql", DriverName: "mysql", DriverDSN: parsed.FormatDSN(), Redacted: redactURL(u)}, nil
}

func parseSQLite(dsn string) (Target, error) {
	lower := strings.ToLower(dsn)
	var rest string
	switch {
	case strings.HasPrefix(lower, "sqlite://"):
		rest = dsn[len("sqlite://"):]
	case strings.HasPrefix(lower, "sqlite:"):
		rest = dsn[len("sqlite:"):]
	default: // file:
		rest = dsn[len("file:"):]
		if strings.HasPrefix(rest, "//") {
			rest = rest[2:]
		}
	}
	if hasUserInfo(dsn) {
		// SQLite has no users; a user:password@ here is a mistake, and
		// as part of the path it would be echoed in every error.
		return Target{}, dsnErrorf("a SQLite URL takes no user name or password (remove the user:password@ part; the file's permissions are its access control)")
	}
	var query url.Values
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		q, err := url.ParseQuery(rest[i+1:])
		if err != nil {
			return Target{}, dsnErrorf("cannot parse SQLite URL options: %v", err)
		}
		query, rest = q, rest[:i]
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return Target{}, dsnErrorf("cannot parse SQLite path: %v", err)
	}
	if p == "" {
		return Target{}, dsnErrorf("SQLite URL has no file path: use sqlite:///abs/path.db or sqlite:relative.db")
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
func sqliteTarget(path string, query url.Values) (Target, error) {
	if path == ":memory:" {
		return Target{}, dsnErrorf("an in-memory SQLite database is always empty: give a database file")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Target{}, dsnErrorf("cannot resolve SQLite path %q: %v", path, err)
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
	return Target{Backend: "sqlite", DriverName: "sqlite", DriverDSN: driverDSN, Redacted: "sqlite://" + abs, Path: abs}, nil
}
