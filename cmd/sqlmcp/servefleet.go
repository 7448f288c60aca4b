package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/sqlmcp/sqlmcp/dialect"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/metrics"
)

// dsns returns every DSN of c, for scrubbing their passwords.
func (c *config) dsns() []string {
	out := []string{c.DSN}
	for _, d := range c.Databases {
		out = append(out, d.DSN)
	}
	return out
}

// serveFleet serves the named databases of cfg (a config file, or --dsn
// NAME=URL flags) over the chosen transport.
func serveFleet(ctx context.Context, cfg config, rl *reloader, auditor tools.Auditor, auditFile *tools.AuditFile,
	stdin io.ReadCloser, stdout io.WriteCloser, stderr io.Writer, logger *slog.Logger) int {
	// Metrics are served on /metrics, so they exist only with HTTP.
	var m *metrics.Metrics
	var observer tools.Observer
	if cfg.Transport == "http" {
		var backends, names []string
		for _, d := range cfg.Databases {
			names = append(names, d.Name)
			if t, err := dialect.ParseDSN(d.DSN); err == nil && !slices.Contains(backends, t.Backend.Name()) {
				backends = append(backends, t.Backend.Name())
			}
		}
		slices.Sort(backends)
		m = metrics.New(metrics.Options{Version: version, Backend: strings.Join(backends, ","), Databases: names})
		if auditFile != nil {
			m.ObserveAudit(auditFile.WriteErrors)
		}
		observer = m
	}
	opts := tools.Options{
		MaxRows:        cfg.MaxRows,
		QueryTimeout:   cfg.QueryTimeout,
		MaxResultBytes: cfg.MaxResultBytes,
		Logger:         logger,
		Audit:          auditor,
		AuditRequired:  cfg.AuditRequired,
		Observer:       observer,
	}
	f, err := openFleet(ctx, cfg, opts, logger)
	if err != nil {
		fmt.Fprintf(stderr, "sqlmcp: %v\n", err)
		return 2
	}
	defer f.close()
	t := f.t
	if m != nil {
		// Pool statistics of the pools opened at start-up (a database
		// opened later, by a reconnect or a reload, has none).
		f.mu.Lock()
		for _, e := range f.entries {
			if e.db.DB != nil {
				m.ObserveDB(e.db.DB, e.cfg.Name)
			}
		}
		f.mu.Unlock()
	}
	rl.setFleet(f, cfg)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Transport == "http" {
		return serveHTTP(ctx, cfg, t, nil, f, m, logger, stderr, rl.setService)
	}
	if len(cfg.Tokens) > 0 {
		logger.Info("the config file's [[token]]s apply to --transport http only; over stdio the client sees every database")
	}
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(stderr, terminalHint)
	}
	return serveStdio(ctx, t, stdin, stdout, logger, cfg.QueryTimeout)
}

// reloader re-reads the config file on SIGHUP and swaps in its
// databases and tokens; an invalid file changes nothing.
type reloader struct {
	args     []string
	getenv   func(string) string
	logger   *slog.Logger
	scrubber *scrubWriter

	mu  sync.Mutex
	f   *fleet
	cfg config
	svc *httpService
}

func (rl *reloader) setFleet(f *fleet, cfg config) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.f, rl.cfg = f, cfg
}

func (rl *reloader) setService(svc *httpService) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.svc = svc
}

// reload applies the config file as it is now. Settings that shape the
// process (listen, transport, log format …) keep their start-up values;
// databases and tokens change.
func (rl *reloader) reload(ctx context.Context) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.f == nil {
		rl.logger.Warn("SIGHUP: the databases are still opening; not reloading")
		return
	}
	next, err := parseConfig(rl.args, rl.getenv, io.Discard)
	if err == nil && next.Databases == nil {
		err = fmt.Errorf("no databases")
	}
	if err != nil {
		rl.logger.Error("SIGHUP: the config file is invalid; still serving the previous configuration", "err", err.Error())
		return
	}
	rl.scrubber.add(next.dsns()...)
	var tokens *tokenSet
	if rl.svc != nil {
		tokens, err = loadTokens(&next)
		if err != nil {
			rl.logger.Error("SIGHUP: the config file's tokens are invalid; still serving the previous configuration", "err", err.Error())
			return
		}
		if (tokens == nil) != (rl.svc.tokens.Load() == nil) {
			rl.logger.Error("SIGHUP: turning token authentication on or off needs a restart; still serving the previous configuration")
			return
		}
	}
	if err := rl.f.reload(ctx, next); err != nil {
		rl.logger.Error("SIGHUP: cannot apply the config file; still serving the previous configuration", "err", err.Error())
		return
	}
	if rl.svc != nil {
		rl.svc.setTokens(tokens)
	}
	rl.cfg = next
	var names []string
	for _, d := range next.Databases {
		names = append(names, d.Name)
	}
	rl.logger.Info("SIGHUP: configuration reloaded", "databases", names, "tokens", len(next.Tokens))
}
