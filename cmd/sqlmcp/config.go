package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/tools"
)

// config is everything the command line and the environment decide.
type config struct {
	// DSN is the one database of a plain --dsn URL (tools.New, no
	// `database` argument); empty when Databases is set.
	DSN string
	// ConfigFile is --config (or SQLMCP_CONFIG).
	ConfigFile string
	// Databases are the named databases, from the config file or
	// --dsn NAME=URL flags; nil for a plain --dsn URL or --demo.
	Databases []dbConfig
	// Tokens are the config file's [[token]]s: each allowed only some
	// databases.
	Tokens         []tokenConfig
	Demo           bool
	MaxRows        int
	QueryTimeout   time.Duration
	MaxResultBytes int
	MaxOpenConns   int
	// MaxOpenConnsSet: the user chose MaxOpenConns (else it is a default
	// that openDatabase may lower for the backend).
	MaxOpenConnsSet bool
	LogLevel        string
	LogFormat       string
	AuditLog        string
	// AuditRequired refuses calls that cannot be audited to AuditLog.
	AuditRequired bool
	Version       bool
	// Healthcheck is a URL to probe instead of serving (healthcheck.go).
	Healthcheck string

	// RequireLeastPrivilege refuses to start when the role can do more
	// than read (see checkPrivileges in main.go).
	RequireLeastPrivilege bool

	// HTTP transport (see http.go).
	Transport      string
	Listen         string
	Stateless      bool
	AuthTokenFile  string
	AuthToken      string // from SQLMCP_AUTH_TOKEN only: never a flag, it would show in ps
	InsecureNoAuth bool
	TLSCert        string
	TLSKey         string
	// MaxSessions and SessionIdleTimeout bound stateful HTTP sessions.
	MaxSessions        int
	SessionIdleTimeout time.Duration
}

// usageError is bad start-up input: one line on stderr, exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

const usageHead = `sqlmcp — a read-only MCP server for PostgreSQL, MySQL/MariaDB and SQLite.

It speaks the Model Context Protocol over stdio: an MCP client (Claude Desktop,
Claude Code, Cursor, the MCP Inspector) starts it and talks to it.

Usage:
  sqlmcp --dsn URL [flags]      serve a database
  sqlmcp --dsn NAME=URL --dsn NAME=URL ... [flags]
                                serve several named databases (the tools take a
                                "database" argument)
  sqlmcp --config FILE [flags]  serve the databases of a TOML config file; flags and
                                the environment override its settings; SIGHUP
                                reloads it
  sqlmcp --demo [flags]         serve the embedded Chinook sample database (SQLite)
  sqlmcp grants --config FILE --database NAME [--role ROLE]
                                print the GRANT/REVOKE script that makes ROLE read
                                exactly what the database's policy allows

DSN forms:
  postgres://user:pass@host:5432/db?sslmode=require   (also postgresql://)
  mysql://user:pass@host:3306/db                      (also mariadb://)
  sqlite:///abs/path.db, sqlite:relative.db, file:path.db, or a path ending .db/.sqlite/.sqlite3

Flags (environment variable in brackets):
`

// parseConfig reads flags, with environment variables as defaults.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("sqlmcp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)

	envDSN := getenv("SQLMCP_DSN")
	if envDSN == "" {
		envDSN = getenv("DATABASE_URL")
	}
	var envErr error
	envInt := func(name string, def int) int {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				envErr = usagef("environment %s=%q is not an integer", name, v)
				return def
			}
			return n
		}
		return def
	}
	envDur := func(name string, def time.Duration) time.Duration {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				envErr = usagef("environment %s=%q is not a duration (e.g. 30s, 2m)", name, v)
				return def
			}
			return d
		}
		return def
	}
	envStr := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}

	var dsns dsnList
	fs.Var(&dsns, "dsn", "the database: a URL `string`, or NAME=URL, repeated for several named databases [SQLMCP_DSN or DATABASE_URL]")
	fs.StringVar(&c.ConfigFile, "config", envStr("SQLMCP_CONFIG", ""), "TOML config file: named databases, their limits and access policies, tokens, and any flag's setting (see README.md) [SQLMCP_CONFIG]")
	fs.BoolVar(&c.Demo, "demo", false, "serve the embedded Chinook sample database (no DSN needed)")
	fs.IntVar(&c.MaxRows, "max-rows", envInt("SQLMCP_MAX_ROWS", 100), fmt.Sprintf("largest row limit of one query, 1..%d [SQLMCP_MAX_ROWS]", tools.HardMaxRows))
	fs.DurationVar(&c.QueryTimeout, "query-timeout", envDur("SQLMCP_QUERY_TIMEOUT", 30*time.Second), "statement timeout, enforced by the database [SQLMCP_QUERY_TIMEOUT]")
	fs.IntVar(&c.MaxResultBytes, "max-result-bytes", envInt("SQLMCP_MAX_RESULT_BYTES", 1<<20), "byte cap of one query result [SQLMCP_MAX_RESULT_BYTES]")
	fs.IntVar(&c.MaxOpenConns, "max-open-conns", envInt("SQLMCP_MAX_OPEN_CONNS", 10), "database connection pool size; SQLite's default is the number of CPUs, at least 2 [SQLMCP_MAX_OPEN_CONNS]")
	fs.StringVar(&c.LogLevel, "log-level", envStr("SQLMCP_LOG_LEVEL", "info"), "debug, info, warn or error [SQLMCP_LOG_LEVEL]")
	fs.StringVar(&c.LogFormat, "log-format", envStr("SQLMCP_LOG_FORMAT", "text"), "text or json; logs go to stderr [SQLMCP_LOG_FORMAT]")
	fs.StringVar(&c.AuditLog, "audit-log", envStr("SQLMCP_AUDIT_LOG", ""), "also append audit records to this file as JSON lines [SQLMCP_AUDIT_LOG]")
	fs.BoolVar(&c.AuditRequired, "audit-required", envBool(getenv("SQLMCP_AUDIT_REQUIRED")), "refuse tool calls (answer unavailable) while the --audit-log file cannot be written [SQLMCP_AUDIT_REQUIRED]")
	fs.BoolVar(&c.RequireLeastPrivilege, "require-least-privilege", envBool(getenv("SQLMCP_REQUIRE_LEAST_PRIVILEGE")), "refuse to start if the database role can write or reach server files [SQLMCP_REQUIRE_LEAST_PRIVILEGE]")
	fs.BoolVar(&c.Version, "version", false, "print the version and exit")
	fs.StringVar(&c.Healthcheck, "healthcheck", "", "probe this URL (e.g. http://127.0.0.1:8080/readyz) and exit 0 if it answers 200, else 1; for container health checks")
	fs.StringVar(&c.Transport, "transport", envStr("SQLMCP_TRANSPORT", "stdio"), "stdio or http [SQLMCP_TRANSPORT]")
	fs.StringVar(&c.Listen, "listen", envStr("SQLMCP_LISTEN", "127.0.0.1:8080"), "address for --transport http [SQLMCP_LISTEN]")
	fs.BoolVar(&c.Stateless, "stateless", false, "HTTP without server-side sessions, for replicas behind a plain load balancer")
	fs.StringVar(&c.AuthTokenFile, "auth-token-file", envStr("SQLMCP_AUTH_TOKEN_FILE", ""), "file of bearer tokens, one per line, required on /mcp [SQLMCP_AUTH_TOKEN_FILE; or SQLMCP_AUTH_TOKEN]")
	fs.BoolVar(&c.InsecureNoAuth, "insecure-no-auth", false, "allow --transport http on a non-loopback address without a token")
	fs.StringVar(&c.TLSCert, "tls-cert", envStr("SQLMCP_TLS_CERT", ""), "TLS certificate file for --transport http [SQLMCP_TLS_CERT]")
	fs.StringVar(&c.TLSKey, "tls-key", envStr("SQLMCP_TLS_KEY", ""), "TLS key file for --transport http [SQLMCP_TLS_KEY]")
	fs.IntVar(&c.MaxSessions, "max-sessions", envInt("SQLMCP_MAX_SESSIONS", defaultMaxSessions), "most live HTTP sessions; an initialize beyond is refused with 503 [SQLMCP_MAX_SESSIONS]")
	fs.DurationVar(&c.SessionIdleTimeout, "session-idle-timeout", envDur("SQLMCP_SESSION_IDLE_TIMEOUT", defaultSessionIdleTimeout), "close an HTTP session after this long without a request [SQLMCP_SESSION_IDLE_TIMEOUT]")
	c.AuthToken = getenv("SQLMCP_AUTH_TOKEN")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, stderr)
			return c, flag.ErrHelp
		}
		return c, usagef("%v (see sqlmcp --help)", err)
	}
	if fs.NArg() > 0 {
		arg := fs.Arg(0)
		if strings.Contains(arg, "://") {
			arg = "(a URL)" // it may hold a password
		}
		return c, usagef("unexpected argument %q: pass the database as --dsn URL (see sqlmcp --help)", arg)
	}
	if envErr != nil {
		return c, envErr
	}
	if c.Version || c.Healthcheck != "" {
		return c, nil
	}
	if c.ConfigFile != "" {
		switch {
		case len(dsns) > 0:
			return c, usagef("--config and --dsn both given: name the databases in the config file's [[database]] tables, or use --dsn alone")
		case c.Demo:
			return c, usagef("--config and --demo both given: use one")
		}
		// A DSN in the environment (DATABASE_URL is common) does not
		// compete with the file's databases.
		cf, err := loadConfigFile(c.ConfigFile, getenv)
		if err != nil {
			return c, err
		}
		for _, s := range fileSettings {
			v, ok := cf.settings[s.flag]
			if !ok || isFlagSet(fs, s.flag) || (s.env != "" && getenv(s.env) != "") {
				continue // flag > environment > file
			}
			// Value.Set, not fs.Set: the flag stays "not given".
			if err := fs.Lookup(s.flag).Value.Set(v); err != nil {
				return c, usagef("%s: %s: %v", c.ConfigFile, s.key, err)
			}
			if s.key == "max_open_conns" {
				c.MaxOpenConnsSet = true
			}
		}
		c.Databases, c.Tokens = cf.databases, cf.tokens
	} else {
		if len(dsns) == 0 && envDSN != "" {
			dsns = dsnList{envDSN}
		}
		dbs, dsn, err := namedDSNs(dsns)
		if err != nil {
			return c, err
		}
		c.Databases, c.DSN = dbs, dsn
		switch {
		case c.Demo && len(dsns) > 0 && !isFlagSet(fs, "dsn"):
			c.DSN, c.Databases = "", nil // --demo wins over a DSN that only came from the environment
		case c.Demo && len(dsns) > 0:
			return c, usagef("--demo and --dsn both given: use one")
		case !c.Demo && len(dsns) == 0:
			return c, usagef("no database given: pass --dsn URL (or set DATABASE_URL), --config FILE, or --demo to try the sample database")
		}
	}
	if c.AuditRequired && c.AuditLog == "" {
		return c, usagef("--audit-required needs --audit-log FILE (the trail that must hold)")
	}
	if c.MaxRows < 1 || c.MaxRows > tools.HardMaxRows {
		return c, usagef("--max-rows must be between 1 and %d (got %d)", tools.HardMaxRows, c.MaxRows)
	}
	if c.QueryTimeout < 10*time.Millisecond {
		return c, usagef("--query-timeout must be at least 10ms (got %s)", c.QueryTimeout)
	}
	if c.MaxResultBytes < 1024 {
		return c, usagef("--max-result-bytes must be at least 1024 (got %d)", c.MaxResultBytes)
	}
	if c.MaxSessions < 1 {
		return c, usagef("--max-sessions must be at least 1 (got %d)", c.MaxSessions)
	}
	if c.SessionIdleTimeout < time.Second {
		return c, usagef("--session-idle-timeout must be at least 1s (got %s)", c.SessionIdleTimeout)
	}
	c.MaxOpenConnsSet = c.MaxOpenConnsSet || isFlagSet(fs, "max-open-conns") || getenv("SQLMCP_MAX_OPEN_CONNS") != ""
	if c.MaxOpenConns < 1 {
		return c, usagef("--max-open-conns must be at least 1 (got %d)", c.MaxOpenConns)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "warning", "error":
	default:
		return c, usagef("--log-level must be debug, info, warn or error (got %q)", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return c, usagef("--log-format must be text or json (got %q)", c.LogFormat)
	}
	switch c.Transport {
	case "stdio", "http":
	default:
		return c, usagef("--transport must be stdio or http (got %q)", c.Transport)
	}
	if err := c.checkHTTP(); err != nil {
		return c, err
	}
	return c, nil
}

// dsnList is the repeatable --dsn flag. It starts empty whatever the
// environment holds, so that --help never shows a DSN from it.
type dsnList []string

func (l *dsnList) String() string     { return "" }
func (l *dsnList) Set(v string) error { *l = append(*l, v); return nil }

// namedDSNPrefix is how --dsn NAME=URL starts.
var namedDSNPrefix = regexp.MustCompile(`^([a-z0-9_-]{1,32})=(.+)$`)

// namedDSNs reads the --dsn flags: one plain URL is the single database
// of old (dsn); otherwise every one must be NAME=URL (dbs).
func namedDSNs(dsns []string) (dbs []dbConfig, dsn string, err error) {
	if len(dsns) == 1 && !namedDSNPrefix.MatchString(dsns[0]) {
		return nil, dsns[0], nil
	}
	seen := map[string]bool{}
	for _, v := range dsns {
		m := namedDSNPrefix.FindStringSubmatch(v)
		if m == nil {
			shown := v
			if strings.Contains(v, "://") {
				shown = "(a URL)" // it may hold a password
			}
			return nil, "", usagef("--dsn %q: with several databases each --dsn is NAME=URL, NAME being 1 to 32 of a-z, 0-9, _ and -", shown)
		}
		if seen[m[1]] {
			return nil, "", usagef("--dsn %s=…: the name %q is given twice", m[1], m[1])
		}
		seen[m[1]] = true
		if _, err := dialect.ParseDSN(m[2]); err != nil {
			return nil, "", usagef("--dsn %s=…: %s", m[1], dialect.Scrub(err.Error(), m[2]))
		}
		dbs = append(dbs, dbConfig{Name: m[1], DSN: m[2], Required: true})
	}
	return dbs, "", nil
}

// envBool reads a boolean environment variable: 1, true, yes or on.
func envBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, usageHead)
	// flag.PrintDefaults, with flags spelt --flag as the README and the
	// messages spell them (the flag package accepts both).
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
		switch {
		case f.DefValue == "" || f.DefValue == "0" || f.DefValue == "false" || f.DefValue == "0s":
		case typ == "string":
			line += fmt.Sprintf(" (default %q)", f.DefValue)
		default:
			line += fmt.Sprintf(" (default %v)", f.DefValue)
		}
		fmt.Fprintln(w, line)
	})
	fmt.Fprintln(w, "\nDocs: README.md. Connect with a least-privilege, read-only database role.")
}
