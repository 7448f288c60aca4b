package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sqlmcp/sqlmcp/tools"
)

// config is everything the command line and the environment decide.
type config struct {
	DSN            string
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
  sqlmcp --demo [flags]         serve the embedded Chinook sample database (SQLite)

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

	fs.StringVar(&c.DSN, "dsn", envDSN, "database URL [SQLMCP_DSN or DATABASE_URL]")
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
	switch {
	case c.Demo && c.DSN != "" && !isFlagSet(fs, "dsn"):
		c.DSN = "" // --demo wins over a DSN that only came from the environment
	case c.Demo && c.DSN != "":
		return c, usagef("--demo and --dsn both given: use one")
	case !c.Demo && c.DSN == "":
		return c, usagef("no database given: pass --dsn URL (or set DATABASE_URL), or --demo to try the sample database")
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
	c.MaxOpenConnsSet = isFlagSet(fs, "max-open-conns") || getenv("SQLMCP_MAX_OPEN_CONNS") != ""
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
