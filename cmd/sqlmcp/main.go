// Command sqlmcp is a read-only MCP server for PostgreSQL, MySQL/MariaDB and
// SQLite. It reads flags and the environment, opens the database, wires the
// tools to a transport and handles signals; everything else lives in the
// dialect and tools packages.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"
	"github.com/mattn/go-isatty"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	_ "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/cmd/sqlmcp/demo"
	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/all" // every backend sqlmcp serves
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/metrics"
	"github.com/sqlmcp/sqlmcp/tools/transport"
)

// version is set at build time (-ldflags "-X main.version=..."), or else
// from the build information (version.go).
var version = "dev"

func main() {
	stopProfile := startCPUProfile(os.Getenv("SQLMCP_CPUPROFILE"), os.Stderr)
	// A call allocates its result several times over (our buffers, then the
	// SDK's JSON encoding) on a small live heap: at GOGC=100 the collector
	// and the scavenger took ~20% of a 100-row query's CPU; GOGC=200 costs
	// a few MB of peak RSS (BENCHMARKS.md). A GOGC in the environment wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	code := run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.ReadCloser, stdout io.WriteCloser, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "grants" {
		return runGrants(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sqlmcp: %s\n", scrub(err.Error(), cfg.DSN))
		return 2
	}
	// Nothing written to stderr from here on may carry a DSN's password,
	// whichever path writes it (a driver message in a log line, an error).
	scrubber := newScrubWriter(stderr, cfg.dsns()...)
	stderr = scrubber
	if cfg.Version {
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	if cfg.Healthcheck != "" {
		return healthcheck(ctx, cfg.Healthcheck, stdout)
	}

	logger := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	// SIGHUP reopens the audit file (logrotate's postrotate); without
	// this the signal's default action would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var auditor tools.Auditor = tools.NewAuditor(logger)
	var auditFile *tools.AuditFile
	if cfg.AuditLog != "" {
		auditFile, err = tools.OpenAuditFile(cfg.AuditLog, logger)
		if err != nil {
			fmt.Fprintf(stderr, "sqlmcp: cannot open --audit-log file: %v\n", err)
			return 2
		}
		defer auditFile.Close()
		auditor = tools.NewFileAuditor(auditFile, logger)
	}
	// rl re-reads the config file on SIGHUP, once the databases are open.
	rl := &reloader{args: args, getenv: getenv, logger: logger, scrubber: scrubber}
	hupDone := make(chan struct{})
	defer close(hupDone)
	go func() {
		for {
			select {
			case <-hup:
				switch {
				case auditFile == nil && cfg.ConfigFile == "":
					logger.Info("SIGHUP: no --audit-log to reopen, no --config to reload")
				case auditFile == nil:
				default:
					if err := auditFile.Reopen(); err != nil {
						logger.Error("SIGHUP: cannot reopen the audit log", "path", cfg.AuditLog, "err", err.Error())
					} else {
						logger.Info("SIGHUP: audit log reopened", "path", cfg.AuditLog)
					}
				}
				if cfg.ConfigFile != "" {
					rl.reload(ctx)
				}
			case <-hupDone:
				return
			}
		}
	}()

	if cfg.Databases != nil {
		return serveFleet(ctx, cfg, rl, auditor, auditFile, stdin, stdout, stderr, logger)
	}

	dsn := cfg.DSN
	if cfg.Demo {
		path, cleanup, err := demo.WriteTemp()
		if err != nil {
			fmt.Fprintf(stderr, "sqlmcp: cannot write the demo database: %v\n", err)
			return 1
		}
		defer cleanup()
		dsn = "sqlite://" + path
	}
	maxOpen := cfg.MaxOpenConns
	if !cfg.MaxOpenConnsSet {
		maxOpen = 0 // the backend's default
	}
	db, d, target, err := openDatabase(ctx, dsn, maxOpen, dialect.OpenOptions{MaxMessageBytes: dialect.MessageLimit(cfg.MaxResultBytes), Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "sqlmcp: %s\n", scrub(err.Error(), dsn))
		return 2
	}
	defer db.Close()
	logger.Info("database ready", "backend", d.Name(), "dsn", target.Redacted, "demo", cfg.Demo, "version", version)
	if !cfg.Demo {
		if msg := checkPrivileges(ctx, d, db, logger, cfg.RequireLeastPrivilege); msg != "" {
			fmt.Fprintf(stderr, "sqlmcp: %s\n", msg)
			return 2
		}
		checkConnectionLimit(ctx, d, db, logger)
	}

	// Metrics are served on /metrics, so they exist only with HTTP.
	var m *metrics.Metrics
	var observer tools.Observer
	if cfg.Transport == "http" {
		m = metrics.New(metrics.Options{Version: version, Backend: d.Name()})
		m.ObserveDB(db, d.Name())
		if auditFile != nil {
			m.ObserveAudit(auditFile.WriteErrors)
		}
		observer = m
	}
	// Cancelling a call's statement (pg_cancel_backend, KILL QUERY) must
	// not wait for a connection of the pool it is trying to relieve.
	var control *sql.DB
	if d.Traits().ControlPool {
		control, err = target.Backend.Open(target, dialect.OpenOptions{Logger: logger})
		if err != nil {
			fmt.Fprintf(stderr, "sqlmcp: cannot open %s: %s\n", target.Redacted, scrub(err.Error(), dsn))
			return 2
		}
		control.SetMaxOpenConns(controlPoolSize)
		control.SetMaxIdleConns(1)
		defer control.Close()
	}
	t := tools.New(db, d, tools.Options{
		Control:        control,
		MaxRows:        cfg.MaxRows,
		QueryTimeout:   cfg.QueryTimeout,
		MaxResultBytes: cfg.MaxResultBytes,
		Logger:         logger,
		Audit:          auditor,
		AuditRequired:  cfg.AuditRequired,
		Observer:       observer,
	})

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Transport == "http" {
		return serveHTTP(ctx, cfg, t, db, nil, m, logger, stderr, nil)
	}
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(stderr, terminalHint)
	}
	return serveStdio(ctx, t, stdin, stdout, logger, cfg.QueryTimeout)
}

const terminalHint = `sqlmcp is an MCP server: it speaks JSON-RPC on stdin/stdout to an MCP client,
so it is waiting for one now. To try it:
  npx -y @modelcontextprotocol/inspector sqlmcp --demo     (a web UI)
  make demo                                                (a scripted client, from the repo)
or add it to Claude Desktop / Claude Code / Cursor (see README.md). Ctrl-C quits.
`

// serveStdio serves MCP on stdin/stdout until EOF or a signal, then drains:
// no new calls, in-flight calls get up to the query timeout to finish.
func serveStdio(ctx context.Context, t *tools.Tools, stdin io.ReadCloser, stdout io.WriteCloser, logger *slog.Logger, timeout time.Duration) int {
	server := t.NewServer(version)
	tr := transport.NewStdio(server, stdin, stdout, t.Options().MaxResultBytes)
	tr.Audit = t.AuditUnhandled
	// At EOF, calls in flight run to their end (at most the query timeout
	// and the tools' grace) and are answered first.
	tr.DrainTimeout = drainWait(t)
	// The session's context is not the signal's: cancelling it would also
	// cancel the writes of the answers still owed to in-flight calls.
	ss, err := server.Connect(context.Background(), tr, nil)
	if err != nil {
		logger.Error("cannot start the stdio session", "err", err.Error())
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- ss.Wait() }()
	select {
	case err := <-done:
		// stdin closed (the client is gone) or unreadable.
		drain(t, logger, timeout)
		code := 0
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) && !errors.Is(err, mcp.ErrConnectionClosed) {
			logger.Error("session ended with an error", "err", err.Error())
			code = 1
		}
		if werr := tr.WriteErr(); werr != nil {
			logger.Error("answers could not be written to stdout", "err", werr.Error())
			code = 1
		}
		logger.Info("stopped")
		return code
	case <-ctx.Done():
		logger.Info("signal received; finishing in-flight calls")
		// Read no more calls; those already read run to their end and
		// are answered before the session ends (bounded by the drain
		// timeout). The tools refuse, with an answer, any call that was
		// read but not yet started.
		tr.StopReading()
		go drain(t, logger, timeout)
		select {
		case <-done:
		case <-time.After(tr.DrainTimeout + time.Second):
			logger.Warn("in-flight calls did not finish within the query timeout")
		}
		// A read blocked on a terminal or a pipe the client keeps open
		// may not end on Close; the process exits anyway.
		closed := make(chan struct{})
		go func() { ss.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(2 * time.Second):
		}
		if werr := tr.WriteErr(); werr != nil {
			logger.Error("answers could not be written to stdout", "err", werr.Error())
			logger.Info("stopped")
			return 1
		}
	}
	logger.Info("stopped")
	return 0
}

// drainWait is how long a graceful shutdown (and stdio's EOF) waits for
// the calls in flight: at least until the slowest of them must have
// answered (tools.CallBound: the query timeout, its grace and the tools'
// margin, up to 7 s past the timeout), with time to write the answer.
func drainWait(t *tools.Tools) time.Duration {
	return max(t.Options().QueryTimeout+6*time.Second, t.CallBound()+2*time.Second)
}

// answerFlushGrace is how long shutdown waits, after the last in-flight
// call returned, for its answer to reach the client (stdout; over HTTP,
// before the standalone streams end).
const answerFlushGrace = 200 * time.Millisecond

func drain(t *tools.Tools, logger *slog.Logger, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Second)
	defer cancel()
	if !t.Drain(ctx) {
		logger.Warn("in-flight calls did not finish within the query timeout")
	}
}

// checkPrivileges logs, at WARN, one line per power the connected role has
// beyond reading. With require set, any finding (or a failed check) is
// fatal: it returns the one line to print before exiting.
func checkPrivileges(ctx context.Context, d dialect.Backend, db *sql.DB, logger *slog.Logger, require bool) string {
	pc, ok := d.(dialect.PrivilegeChecker)
	if !ok {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var findings []string
	err := dialect.WithConn(ctx, db, func(c *sql.Conn) (err error) {
		findings, err = pc.Privileges(ctx, c)
		return err
	})
	if err != nil {
		logger.Warn("could not check the database role's privileges", "err", err.Error())
		if require {
			return "--require-least-privilege: could not check the database role's privileges: " + err.Error()
		}
		return ""
	}
	for _, f := range findings {
		logger.Warn("the database role can do more than read; connect with a least-privilege role (README: Least-privilege roles)", "finding", f)
	}
	if require && len(findings) > 0 {
		return "--require-least-privilege: the database role can do more than read: " + strings.Join(findings, "; ") +
			" — connect with a read-only role (see README.md, \"Least-privilege roles\")"
	}
	return ""
}

// controlPoolSize is the size of the pool that stops cancelled calls'
// statements (see tools.Options.Control).
const controlPoolSize = 2

// checkConnectionLimit warns when the pools may open more connections than
// the database lets the role have: the calls beyond the limit would fail
// with too_many_connections while sqlmcp looks healthy.
func checkConnectionLimit(ctx context.Context, d dialect.Backend, db *sql.DB, logger *slog.Logger) {
	cl, ok := d.(dialect.ConnectionLimiter)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var limit int
	var source string
	err := dialect.WithConn(ctx, db, func(c *sql.Conn) (err error) {
		limit, source, err = cl.ConnectionLimit(ctx, c)
		return err
	})
	if err != nil {
		logger.Warn("could not read the database's connection limits", "err", err.Error())
		return
	}
	pool := db.Stats().MaxOpenConnections + controlPoolSize
	if limit > 0 && pool > limit {
		logger.Warn("sqlmcp may open more connections than the database allows the role; calls beyond the limit "+
			"fail with too_many_connections: lower --max-open-conns or raise the limit",
			"connections", pool, "limit", limit, "limit_from", source)
	}
}

// openDatabase opens the database the way every caller must (see
// dialect.Connect). maxOpen 0 is the backend's default pool size.
func openDatabase(ctx context.Context, dsn string, maxOpen int, opts dialect.OpenOptions) (*sql.DB, dialect.Backend, dialect.Target, error) {
	db, target, err := dialect.Connect(ctx, dsn, maxOpen, opts)
	return db, target.Backend, target, err
}

// scrubWriter replaces the DSNs' passwords (when long enough not to
// garble ordinary text) in everything written through it. Each Write is
// one log line or message, so a password is never split across writes.
type scrubWriter struct {
	w       io.Writer
	mu      sync.Mutex
	secrets []string
}

func newScrubWriter(w io.Writer, dsns ...string) *scrubWriter {
	s := &scrubWriter{w: w}
	s.add(dsns...)
	return s
}

// add scrubs the passwords of dsns too (a reloaded configuration's).
func (s *scrubWriter) add(dsns ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, dsn := range dsns {
		for _, p := range dialect.Secrets(dsn) {
			if len(p) >= 4 && !slices.Contains(s.secrets, p) {
				s.secrets = append(s.secrets, p)
			}
		}
	}
}

func (s *scrubWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	secrets := s.secrets
	s.mu.Unlock()
	out := p
	for _, sec := range secrets {
		if bytes.Contains(out, []byte(sec)) {
			out = bytes.ReplaceAll(out, []byte(sec), []byte("xxxxx"))
		}
	}
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// scrub removes the DSN's password from a message (dialect.Scrub).
func scrub(msg, dsn string) string { return dialect.Scrub(msg, dsn) }

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn", "warning":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// isTerminal reports whether f is a terminal, so a person who ran sqlmcp
// by hand is told what it is waiting for. Other character devices are not
// (a service started with stdin on /dev/null stays quiet); the descriptor
// is reached without File.Fd, which would change its blocking mode.
func isTerminal(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	tty := false
	if err := rc.Control(func(fd uintptr) { tty = isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd) }); err != nil {
		return false
	}
	return tty
}
