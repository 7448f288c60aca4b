package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/tools"
)

// fleet keeps the named databases of a --config or --dsn NAME=URL server:
// it opens them, serves one that is down as unavailable while it retries
// in the background, and swaps in a reloaded configuration.
type fleet struct {
	logger *slog.Logger
	// cfg is the configuration now served (server-wide settings do not
	// change on reload; Databases and Tokens do).
	cfg config

	mu      sync.Mutex
	t       *tools.Tools
	entries []*fleetEntry // in the configuration's order
	// retry is the context of the background reconnects; stopped at
	// shutdown.
	retry  context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// fleetEntry is one database as configured and as opened.
type fleetEntry struct {
	cfg dbConfig
	db  tools.Database
	// redacted is the DSN safe to log.
	redacted string
	// stopRetry ends this entry's reconnect loop (nil when none runs).
	stopRetry context.CancelFunc
}

// errRefused is an opened database start-up must not serve: the role is
// broader than --require-least-privilege allows.
type errRefused struct{ msg string }

func (e *errRefused) Error() string { return e.msg }

// retryMin and retryMax bound the backoff between reconnects of a
// database that is down.
const (
	retryMin = time.Second
	retryMax = 30 * time.Second
)

// openFleet opens every database of cfg, concurrently: a database that is
// down is served as unavailable (and retried), one whose role
// --require-least-privilege refuses is an error (exit 2 at start-up).
func openFleet(ctx context.Context, cfg config, opts tools.Options, logger *slog.Logger) (*fleet, error) {
	f := &fleet{logger: logger, cfg: cfg}
	f.retry, f.cancel = context.WithCancel(context.Background())
	entries, err := f.openAll(ctx, withDefaults(cfg), nil)
	if err != nil {
		f.cancel()
		return nil, err
	}
	f.entries = entries
	t, err := tools.NewSet(f.list(), opts)
	if err != nil {
		closeEntries(entries)
		f.cancel()
		return nil, usagef("%v", err)
	}
	f.t = t
	for _, e := range entries {
		if e.db.Unavailable != nil {
			f.startRetry(e)
		}
	}
	return f, nil
}

// openAll opens dcs, reusing the pools of old entries whose connection
// settings did not change. On error every pool it opened is closed.
func (f *fleet) openAll(ctx context.Context, dcs []dbConfig, old []*fleetEntry) ([]*fleetEntry, error) {
	entries := make([]*fleetEntry, len(dcs))
	errs := make([]error, len(dcs))
	var wg sync.WaitGroup
	for i, dc := range dcs {
		if o := findEntry(old, dc.Name); o != nil && o.db.DB != nil && sameConnection(o.cfg, dc) {
			// Same pool, new limits, description or policy.
			db := f.database(dc, o.db.Backend, o.db.DB, o.db.Control)
			if err := f.checkPolicy(ctx, db, dc); err != nil {
				errs[i] = err
				continue
			}
			entries[i] = &fleetEntry{cfg: dc, db: db, redacted: o.redacted}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			entries[i], errs[i] = f.open(ctx, dc, false)
		}()
	}
	wg.Wait()
	// The first error alone: start-up prints one line.
	if i := slices.IndexFunc(errs, func(err error) bool { return err != nil }); i >= 0 {
		err := errs[i]
		var opened []*fleetEntry
		for _, e := range entries {
			if e != nil {
				opened = append(opened, e)
			}
		}
		closeNew(opened, old)
		return nil, err
	}
	return entries, nil
}

// withDefaults returns c's databases with the server-wide limits filled
// in where a database sets none, so that a reload applies a changed
// top-level max_rows (say) too.
func withDefaults(c config) []dbConfig {
	dbs := slices.Clone(c.Databases)
	for i := range dbs {
		d := &dbs[i]
		d.MaxRows = cmp.Or(d.MaxRows, c.MaxRows)
		d.QueryTimeout = cmp.Or(d.QueryTimeout, c.QueryTimeout)
		d.MaxResultBytes = cmp.Or(d.MaxResultBytes, c.MaxResultBytes)
		if c.MaxOpenConnsSet {
			d.MaxOpenConns = cmp.Or(d.MaxOpenConns, c.MaxOpenConns)
		}
	}
	return dbs
}

func findEntry(entries []*fleetEntry, name string) *fleetEntry {
	for _, e := range entries {
		if e.cfg.Name == name {
			return e
		}
	}
	return nil
}

// sameConnection reports whether b can use a's pools: same DSN, same pool
// size and message cap.
func sameConnection(a, b dbConfig) bool {
	return a.DSN == b.DSN && a.MaxOpenConns == b.MaxOpenConns && a.MaxResultBytes == b.MaxResultBytes
}

// open connects to one database. A database that cannot be reached is
// returned unavailable (no error); only a role that
// --require-least-privilege refuses is an error. A reconnect (retrying)
// logs its failures at debug level: the first one was logged, and
// /readyz tells.
func (f *fleet) open(ctx context.Context, dc dbConfig, retrying bool) (*fleetEntry, error) {
	logger := f.logger.With("database", dc.Name)
	target, err := dialect.ParseDSN(dc.DSN)
	if err != nil { // checked when the configuration was read
		return nil, usagef("database %s: %s", dc.Name, dialect.Scrub(err.Error(), dc.DSN))
	}
	e := &fleetEntry{cfg: dc, redacted: target.Redacted}
	db, control, err := f.connect(ctx, dc, target, logger)
	if err != nil {
		var refused *errRefused
		if errors.As(err, &refused) {
			return nil, err
		}
		level := slog.LevelError
		if retrying {
			level = slog.LevelDebug
		}
		logger.Log(ctx, level, "database unreachable; serving the others and retrying in the background",
			"backend", target.Backend.Name(), "dsn", target.Redacted, "err", dialect.Scrub(err.Error(), dc.DSN))
		e.db = f.database(dc, target.Backend, nil, nil)
		e.db.Unavailable = unreachable(err)
		return e, nil
	}
	e.db = f.database(dc, target.Backend, db, control)
	if err := f.checkPolicy(ctx, e.db, dc); err != nil {
		closeEntries([]*fleetEntry{e})
		return nil, err
	}
	logger.Info("database ready", "backend", target.Backend.Name(), "dsn", target.Redacted, "version", version)
	return e, nil
}

// connect opens the database's pools and runs the start-up checks of the
// role (privileges, connection limit).
func (f *fleet) connect(ctx context.Context, dc dbConfig, target dialect.Target, logger *slog.Logger) (db, control *sql.DB, err error) {
	maxOpen := dc.MaxOpenConns
	if maxOpen == 0 && f.cfg.MaxOpenConnsSet {
		maxOpen = f.cfg.MaxOpenConns
	}
	resultBytes := dc.MaxResultBytes
	if resultBytes == 0 {
		resultBytes = f.cfg.MaxResultBytes
	}
	oo := dialect.OpenOptions{MaxMessageBytes: dialect.MessageLimit(resultBytes), Logger: logger}
	db, target, err = dialect.Connect(ctx, dc.DSN, maxOpen, oo)
	if err != nil {
		return nil, nil, err
	}
	d := target.Backend
	if msg := checkPrivileges(ctx, d, db, logger, f.cfg.RequireLeastPrivilege); msg != "" {
		db.Close()
		return nil, nil, &errRefused{"database " + dc.Name + ": " + msg}
	}
	checkConnectionLimit(ctx, d, db, logger)
	if d.Traits().ControlPool {
		control, err = d.Open(target, dialect.OpenOptions{Logger: logger})
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		control.SetMaxOpenConns(controlPoolSize)
		control.SetMaxIdleConns(1)
	}
	return db, control, nil
}

// checkPolicy verifies, where the backend's grants are the sound layer
// (dialect.Governor), that the role cannot read what the database's
// policy denies: a warning per finding, or a refusal with
// --require-least-privilege.
func (f *fleet) checkPolicy(ctx context.Context, db tools.Database, dc dbConfig) error {
	gov, ok := db.Backend.(dialect.Governor)
	if !ok || db.DB == nil || dc.Policy.Empty() {
		return nil
	}
	logger := f.logger.With("database", dc.Name)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var exposed []string
	err := dialect.WithConn(ctx, db.DB, func(c *sql.Conn) (err error) {
		exposed, err = gov.Exposed(ctx, c, dc.Policy)
		return err
	})
	if err != nil {
		logger.Warn("could not check that the role's grants enforce the access policy", "err", err.Error())
		if f.cfg.RequireLeastPrivilege {
			return &errRefused{fmt.Sprintf("database %s: --require-least-privilege: could not check the role's grants against the access policy: %v", dc.Name, err)}
		}
		return nil
	}
	for _, x := range exposed {
		logger.Warn("the database role can read what the access policy denies; only sqlmcp's plan-level check stands in the way: "+
			"apply the script of `sqlmcp grants --database "+dc.Name+"` to the role", "exposed", x)
	}
	if len(exposed) > 0 && f.cfg.RequireLeastPrivilege {
		return &errRefused{fmt.Sprintf("database %s: --require-least-privilege: the role can read what the access policy denies: %s — apply the script `sqlmcp grants --config FILE --database %s` prints",
			dc.Name, strings.Join(exposed, ", "), dc.Name)}
	}
	return nil
}

// database builds the tools' view of one database.
func (f *fleet) database(dc dbConfig, b dialect.Backend, db, control *sql.DB) tools.Database {
	return tools.Database{
		Name:           dc.Name,
		Description:    dc.Description,
		Backend:        b,
		DB:             db,
		Control:        control,
		MaxRows:        dc.MaxRows,
		QueryTimeout:   dc.QueryTimeout,
		MaxResultBytes: dc.MaxResultBytes,
		Access:         dc.Policy,
	}
}

// unreachable is what the model and /readyz are told about a database
// that is down: the kind of failure, never the driver's text (which can
// echo the DSN).
func unreachable(err error) error {
	reason := "could not connect"
	switch m := strings.ToLower(err.Error()); {
	case errors.Is(err, context.DeadlineExceeded), strings.Contains(m, "timeout"), strings.Contains(m, "deadline"):
		reason = "the database did not answer in time"
	case strings.Contains(m, "connection refused"):
		reason = "connection refused"
	case strings.Contains(m, "no such host"):
		reason = "unknown host"
	case strings.Contains(m, "password") || strings.Contains(m, "access denied") || strings.Contains(m, "authentication"):
		reason = "authentication failed"
	case strings.Contains(m, "existing database file"):
		reason = "the database file does not exist"
	}
	return fmt.Errorf("database unreachable (%s); sqlmcp keeps retrying", reason)
}

// list returns the databases to serve, in order. f.mu held or not yet shared.
func (f *fleet) list() []tools.Database {
	dbs := make([]tools.Database, len(f.entries))
	for i, e := range f.entries {
		dbs[i] = e.db
	}
	return dbs
}

// startRetry reconnects e in the background until it answers, then swaps
// it in. f.mu held or not yet shared.
func (f *fleet) startRetry(e *fleetEntry) {
	ctx, cancel := context.WithCancel(f.retry)
	e.stopRetry = cancel
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		wait := retryMin
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, retryMax)
			opened, err := f.open(ctx, e.cfg, true)
			if err != nil {
				// The role is refused: retrying will not change it.
				f.logger.Error("database refused", "database", e.cfg.Name, "err", err.Error())
				f.mu.Lock()
				if ctx.Err() == nil {
					e.db.Unavailable = fmt.Errorf("database refused at start-up: its role can read more than it should (see the server log)")
					f.swap()
				}
				f.mu.Unlock()
				return
			}
			if opened.db.Unavailable != nil {
				continue
			}
			f.mu.Lock()
			if ctx.Err() != nil || findEntry(f.entries, e.cfg.Name) != e {
				f.mu.Unlock()
				closeEntries([]*fleetEntry{opened})
				return
			}
			e.db, e.stopRetry = opened.db, nil
			f.swap()
			f.mu.Unlock()
			f.logger.Info("database reachable again; serving it", "database", e.cfg.Name)
			return
		}
	}()
}

// swap hands the current entries to the tools. f.mu held.
func (f *fleet) swap() {
	retired, err := f.t.SetDatabases(f.list())
	if err != nil {
		f.logger.Error("cannot update the databases served", "err", err.Error())
		return
	}
	f.retire(retired)
}

// retire closes the pools of databases no longer served once the last
// call on them has ended (tools.Database.Retired). f.mu held.
func (f *fleet) retire(retired []tools.Database) {
	live := map[*sql.DB]bool{}
	for _, e := range f.entries {
		live[e.db.DB] = true
		live[e.db.Control] = true
	}
	for _, d := range retired {
		var pools []*sql.DB
		for _, p := range []*sql.DB{d.DB, d.Control} {
			if p != nil && !live[p] {
				pools = append(pools, p)
			}
		}
		if len(pools) == 0 {
			continue
		}
		done := d.Retired()
		if done == nil { // not the tools' own: no call can outlive the bound
			c := make(chan struct{})
			time.AfterFunc(f.t.CallBound()+time.Second, func() { close(c) })
			done = c
		}
		go func() {
			<-done
			for _, p := range pools {
				p.Close()
			}
		}()
	}
}

// reload serves the databases of next in place of the current ones: new
// calls see them at once, calls in flight finish on the pools they
// started on. On error nothing changes.
func (f *fleet) reload(ctx context.Context, next config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	entries, err := f.openAll(ctx, withDefaults(next), f.entries)
	if err != nil {
		return err
	}
	old := f.entries
	f.entries = entries
	retired, err := f.t.SetDatabases(f.list())
	if err != nil {
		f.entries = old
		closeNew(entries, old)
		return err
	}
	// The new entries retry on their own what is still down.
	for _, o := range old {
		if o.stopRetry != nil {
			o.stopRetry()
		}
	}
	for _, e := range entries {
		if e.db.Unavailable != nil {
			f.startRetry(e)
		}
	}
	f.retire(retired)
	f.cfg.Databases = next.Databases
	f.cfg.Tokens = next.Tokens
	return nil
}

// closeNew closes the pools of entries that old does not share.
func closeNew(entries, old []*fleetEntry) {
	var fresh []*fleetEntry
	for _, e := range entries {
		if o := findEntry(old, e.cfg.Name); o == nil || o.db.DB != e.db.DB {
			fresh = append(fresh, e)
		}
	}
	closeEntries(fresh)
}

func closeEntries(entries []*fleetEntry) {
	for _, e := range entries {
		if e == nil {
			continue
		}
		if e.db.DB != nil {
			e.db.DB.Close()
		}
		if e.db.Control != nil {
			e.db.Control.Close()
		}
	}
}

// close stops the reconnects and closes every pool.
func (f *fleet) close() {
	f.cancel()
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	closeEntries(f.entries)
}

// dbStatus is one database in /readyz's answer.
type dbStatus struct {
	Name     string `json:"name"`
	Backend  string `json:"backend"`
	Required bool   `json:"required"`
	Ready    bool   `json:"ready"`
	Error    string `json:"error,omitempty"`
}

// status pings every database (concurrently, each within timeout) and
// reports whether every required one answered.
func (f *fleet) status(ctx context.Context, timeout time.Duration) ([]dbStatus, bool) {
	f.mu.Lock()
	entries := make([]fleetEntry, len(f.entries))
	for i, e := range f.entries {
		entries[i] = *e
	}
	f.mu.Unlock()
	out := make([]dbStatus, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		out[i] = dbStatus{Name: e.cfg.Name, Backend: e.db.Backend.Name(), Required: e.cfg.Required}
		if e.db.Unavailable != nil {
			out[i].Error = e.db.Unavailable.Error()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if err := dialect.Ping(ctx, e.db.DB); err != nil {
				out[i].Error = pingReason(err, timeout)
				f.logger.Warn("readiness check failed", "database", e.cfg.Name, "reason", out[i].Error, "err", dialect.Scrub(err.Error(), e.cfg.DSN))
				return
			}
			out[i].Ready = true
		}()
	}
	wg.Wait()
	ready := true
	for _, s := range out {
		if s.Required && !s.Ready {
			ready = false
		}
	}
	return out, ready
}

// pingReason says why a readiness ping failed, in words that carry no
// secret (the driver's message goes to the log).
func pingReason(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded), dialect.SocketTimeout(err):
		return fmt.Sprintf("database did not answer within %s (down, or every pooled connection busy)", timeout)
	case strings.Contains(err.Error(), "database is closed"):
		return "database connection pool is closed"
	}
	return "database unreachable"
}
