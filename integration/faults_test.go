package integration_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/internal/faultproxy"
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// The fault tests put a TCP proxy the test controls (faultproxy) between
// sqlmcp's pools and the shared servers, and play the faults there: the
// servers themselves are never stopped or reconfigured. They need no
// fixture: the statements are SELECTs of constants and sleeps, run in the
// servers' default database.

// faultFacts are a server backend's statements for the fault tests, each
// in its own SQL. A format's one %s is a marker naming the statement's
// result column, by which sessionOfSQL finds it on the server.
type faultFacts struct {
	// slowSQL runs for several seconds on the server (the policy refuses
	// sleep functions).
	slowSQL string
	// sessionOfSQL returns the server's id of the connection running a
	// statement whose text contains its one argument.
	sessionOfSQL string
	// killSQL ends the connection whose id is its one argument.
	killSQL string
	// abandonedSQL sends about 100 MB, more than the socket buffers
	// between the server and a stalled proxy hold, once it can read the
	// one-row gate table it joins. Its first %s is the marker, its second
	// the gate table. lockSQL (%s: the table) makes a session hold the
	// gate shut until unlockSQL: the test stalls the proxy while the
	// statement waits, so that no timing decides whether the statement
	// is still waiting (and cancellable) or already writing when its
	// call gives up.
	abandonedSQL, lockSQL, unlockSQL string
	// quadraticSQL is seconds of work in one expression that ignores the
	// statement timeout and the cancel: a string search whose needle
	// nearly matches at every position of the haystack.
	quadraticSQL string
	// oversizedSQL selects one 12 MB row.
	oversizedSQL string
	// heavySQL is a quick query with some work in it, for the soak.
	heavySQL string
	// withTLS makes a DSN require TLS and tlsSQL selects true on a TLS
	// connection; nil and "" when the TLS fault test does not apply.
	withTLS func(u *url.URL)
	tlsSQL  string
	// limitedRole creates a role (user) allowed one connection.
	limitedRole func(role string) (create []string, drop string)
	// killSessions ends the server sessions whose client ports are
	// ports, returning how many.
	killSessions func(t *testing.T, admin *sql.DB, ports []string) int
}

// faultBackend is sqlmcp's pool and control pool on one server, through a
// proxy.
type faultBackend struct {
	name    string
	facts   *faultFacts
	proxy   *faultproxy.Proxy
	db      *sql.DB // sqlmcp's pool, through the proxy
	control *sql.DB // the control pool, through the proxy too unless direct
	d       sqlmcpDialect
	admin   *sql.DB // straight to the server: to watch and to kill
	url     string  // the DSN through the proxy
	direct  string  // the DSN straight to the server
}

type faultOptions struct {
	pool int
	// directControl connects the control pool straight to the server, as
	// when only the path of the pooled connections is faulty.
	directControl bool
	// tls connects with TLS, on the backends whose faultFacts say how;
	// skipped where the server does not offer TLS.
	tls bool
}

// faultBackends returns every server backend (a record with faults) behind
// a proxy each, skipping (or failing, per SQLMCP_REQUIRE_BACKENDS) those
// unreachable.
func faultBackends(t *testing.T, o faultOptions) []*faultBackend {
	t.Helper()
	if o.pool == 0 {
		o.pool = 4
	}
	var out []*faultBackend
	for _, s := range records {
		if s.faults == nil {
			continue
		}
		direct := envOr(s.env, s.defaultDSN)
		if o.tls {
			if s.faults.withTLS == nil {
				continue
			}
			u, _ := url.Parse(direct)
			s.faults.withTLS(u)
			direct = u.String()
		}
		admin, _, err := openAdmin(direct)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
		if err != nil && o.tls && strings.Contains(err.Error(), "SSL is not enabled") {
			admin.Close()
			t.Logf("SKIPPING %s over TLS: the server does not offer TLS: %v", s.name, err)
			continue
		}
		if err != nil {
			admin.Close()
			if required(s.name) {
				t.Fatalf("%s is required but unreachable: %v", s.name, err)
			}
			t.Logf("SKIPPING %s: unreachable: %v", s.name, err)
			continue
		}
		t.Cleanup(func() { admin.Close() })
		u, _ := url.Parse(direct)
		p, err := faultproxy.New(u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		u.Host = p.Addr()
		b := &faultBackend{name: s.name, facts: s.faults, proxy: p, admin: admin, url: u.String(), direct: direct}
		b.db, b.d = openVia(t, b.url, true, o.pool)
		controlURL := b.url
		if o.directControl {
			controlURL = direct
		}
		b.control, _ = openVia(t, controlURL, false, 2)
		b.control.SetMaxIdleConns(1)
		out = append(out, b)
	}
	return out
}

// openVia opens a pool of n connections as cmd/sqlmcp does, guarded
// against oversized rows (the query pool) or not (the control pool).
func openVia(t *testing.T, rawURL string, guarded bool, n int) (*sql.DB, sqlmcpDialect) {
	t.Helper()
	db, d, err := openSQLMCP(rawURL, guarded)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	t.Cleanup(func() { db.Close() })
	return db, d
}

func (b *faultBackend) tools(timeout time.Duration) *tools.Tools {
	return tools.New(b.db, b.d, tools.Options{QueryTimeout: timeout, Control: b.control})
}

// slowSQL is a statement that runs for several seconds on the server.
func (b *faultBackend) slowSQL(marker string) string { return fmt.Sprintf(b.facts.slowSQL, marker) }

// sessionOf returns the server's id of the connection running a statement
// that contains marker, 0 when none does.
func (b *faultBackend) sessionOf(t *testing.T, marker string) int64 {
	t.Helper()
	var id int64
	if err := b.admin.QueryRow(b.facts.sessionOfSQL, marker).Scan(&id); err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	return id
}

// callFor calls a tool and returns its result and how long it took.
func callFor(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) (toolstest.Result, time.Duration) {
	t.Helper()
	start := time.Now()
	r := toolstest.Call(t, cs, tool, args)
	return r, time.Since(start)
}

// notInternal fails when a result is an internal error: a fault of the
// network or the database is never a bug of ours.
func notInternal(t *testing.T, what string, r toolstest.Result) {
	t.Helper()
	if strings.HasPrefix(r.Text, "internal error") {
		t.Errorf("%s: %s, want a database error (unavailable, timeout) or success", what, r.Text)
	}
}

// callBound is the most a call may take: the query timeout, its grace
// (tools.callContext), the socket's grace after it (dialect.abortGrace),
// and a few seconds for a busy machine.
func callBound(timeout time.Duration) time.Duration {
	return timeout + min(timeout/10+500*time.Millisecond, 5*time.Second) + 500*time.Millisecond + 3*time.Second
}

// TestStalledDatabaseEndsTheCallInTime: a server that accepts TCP and
// then stops answering must not hold a call past the query timeout and
// its grace, over either transport; the stuck connection is dropped, and
// the first call after the stall works.
func TestStalledDatabaseEndsTheCallInTime(t *testing.T) {
	for _, b := range faultBackends(t, faultOptions{pool: 2}) {
		for _, tr := range []string{"inmemory", "http"} {
			t.Run(b.name+"/"+tr, func(t *testing.T) {
				const timeout = 2 * time.Second
				tl := b.tools(timeout)
				cs := connectTools(t, tl, tr)
				if r := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS warm"}); r.IsError {
					t.Fatal(r.Text)
				}
				b.proxy.Stall()
				r, took := callFor(t, cs, "query", map[string]any{"sql": "SELECT 2 AS stalled"})
				b.proxy.Resume()
				t.Logf("stalled call: %s after %s", r.Text, took.Round(time.Millisecond))
				if !r.IsError || !strings.HasPrefix(r.Text, "database error") {
					t.Errorf("stalled call = %q, want a database error", r.Text)
				}
				notInternal(t, "stalled call", r)
				if took > callBound(timeout) {
					t.Errorf("stalled call took %s, want at most %s (timeout %s + grace)", took, callBound(timeout), timeout)
				}
				if n := b.db.Stats().OpenConnections; n != 0 {
					t.Errorf("%d connections still open after the stalled call, want the stuck one discarded", n)
				}
				r, took = callFor(t, cs, "query", map[string]any{"sql": "SELECT 3 AS after"})
				if r.IsError {
					t.Errorf("first call after the stall: %s", r.Text)
				}
				if took > 3*time.Second {
					t.Errorf("first call after the stall took %s", took)
				}
			})
		}
	}
}

// TestStalledDatabaseOverTLSEndsTheCallInTime: the socket deadlines sit
// below TLS, so a stall bounds the call there too (the row guard, which
// reads the protocol's framing, is off under TLS; the deadlines are not).
func TestStalledDatabaseOverTLSEndsTheCallInTime(t *testing.T) {
	for _, b := range faultBackends(t, faultOptions{pool: 2, tls: true}) {
		t.Run(b.name, func(t *testing.T) {
			const timeout = 2 * time.Second
			cs := connectTools(t, b.tools(timeout), "inmemory")
			if r := toolstest.Call(t, cs, "query", map[string]any{"sql": b.facts.tlsSQL}); r.IsError || !strings.Contains(r.Text, "true") {
				t.Fatalf("not a TLS connection: %s", r.Text)
			}
			b.proxy.Stall()
			r, took := callFor(t, cs, "query", map[string]any{"sql": "SELECT 2 AS stalled"})
			b.proxy.Resume()
			t.Logf("stalled call over TLS: %s after %s", r.Text, took.Round(time.Millisecond))
			notInternal(t, "stalled call", r)
			if !r.IsError || took > callBound(timeout) {
				t.Errorf("stalled call over TLS = %q after %s, want a database error within %s", r.Text, took, callBound(timeout))
			}
			if n := b.db.Stats().OpenConnections; n != 0 {
				t.Errorf("%d connections still open after the stalled call, want the stuck one discarded", n)
			}
			if r := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 3 AS after"}); r.IsError {
				t.Errorf("first call after the stall: %s", r.Text)
			}
		})
	}
}

// TestPingBoundedByItsDeadline: the readiness ping (/readyz) keeps its
// deadline against a stalled server, and answers within one probe after
// a restart left every pooled connection stale.
func TestPingBoundedByItsDeadline(t *testing.T) {
	for _, b := range faultBackends(t, faultOptions{pool: 4}) {
		t.Run(b.name, func(t *testing.T) {
			ping := func() (time.Duration, error) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				start := time.Now()
				err := readinessPing(ctx, b.db)
				return time.Since(start), err
			}
			warm(t, b, 4)
			b.proxy.Stall()
			took, err := ping()
			b.proxy.Resume()
			if err == nil || took > 4*time.Second {
				t.Errorf("ping during a stall = %v after %s, want a failure within about 1s", err, took)
			}
			warm(t, b, 4)
			b.proxy.Cut()
			if took, err := ping(); err != nil {
				t.Errorf("first ping after every pooled connection was cut = %v (after %s), want ok", err, took)
			}
		})
	}
}

// warm opens n pooled connections.
func warm(t *testing.T, b *faultBackend, n int) {
	t.Helper()
	var conns []*sql.Conn
	for range n {
		c, err := b.db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PingContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestRestartLeavesNoStaleConnectionError: after a restart-like cut of
// every pooled connection, calls succeed (the stale connection is found in
// the session's first round trip and the call retried on a fresh one);
// none is an internal error.
func TestRestartLeavesNoStaleConnectionError(t *testing.T) {
	for _, b := range faultBackends(t, faultOptions{pool: 4}) {
		t.Run(b.name, func(t *testing.T) {
			cs := connectTools(t, b.tools(5*time.Second), "inmemory")
			for round := range 2 {
				warm(t, b, 4)
				b.proxy.Cut()
				for i := range 6 {
					r := toolstest.Call(t, cs, "query", map[string]any{"sql": fmt.Sprintf("SELECT %d AS n", i)})
					if r.IsError {
						t.Errorf("round %d call %d after the cut: %s", round, i, r.Text)
					}
				}
			}
			// Concurrent calls into a freshly cut pool.
			warm(t, b, 4)
			b.proxy.Cut()
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := toolstest.Call(t, cs, "list_tables", nil)
					notInternal(t, fmt.Sprintf("concurrent call %d", i), r)
				}()
			}
			wg.Wait()
		})
	}
}

// TestConnectionKilledDuringStatement: the server ending the connection
// under a running statement (pg_terminate_backend, KILL CONNECTION) is
// the database being unavailable, not a bug.
func TestConnectionKilledDuringStatement(t *testing.T) {
	for _, b := range faultBackends(t, faultOptions{pool: 2}) {
		t.Run(b.name, func(t *testing.T) {
			cs := connectTools(t, b.tools(20*time.Second), "inmemory")
			marker := randName("killed_")
			done := make(chan toolstest.Result, 1)
			go func() {
				done <- toolstest.Call(t, cs, "query", map[string]any{"sql": b.slowSQL(marker)})
			}()
			var id int64
			waitFor(t, 10*time.Second, "the statement to start", func() bool { id = b.sessionOf(t, marker); return id != 0 })
			if _, err := b.admin.Exec(b.facts.killSQL, id); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-done:
				if !r.IsError || !strings.HasPrefix(r.Text, "database error unavailable") {
					t.Errorf("call whose connection was killed = %q, want database error unavailable", r.Text)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the call did not end after its connection was killed")
			}
			if r := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS next"}); r.IsError {
				t.Errorf("next call: %s", r.Text)
			}
		})
	}
}

// TestPoolExhaustedSaysSo: a call that waited for a pooled connection for
// its whole timeout says the pool was exhausted, not that its statement
// was slow (it never ran).
func TestPoolExhaustedSaysSo(t *testing.T) {
	for _, b := range faultBackends(t, faultOptions{pool: 1}) {
		t.Run(b.name, func(t *testing.T) {
			cs := connectTools(t, b.tools(time.Second), "inmemory")
			held, err := b.db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			r := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS n"})
			held.Close()
			if !r.IsError || !strings.Contains(r.Text, "pool_exhausted") || !strings.Contains(r.Text, "all 1 ") {
				t.Errorf("call with every pooled connection busy = %q, want pool_exhausted naming the pool size", r.Text)
			}
			if r := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS n"}); r.IsError {
				t.Errorf("call after the pool freed: %s", r.Text)
			}
		})
	}
}

// TestAbandonedStatementsStopAdmission: a statement that ignores its
// timeout and cancellation (here: the server blocked sending a large
// result to a client path that stopped forwarding, where neither
// PostgreSQL's cancel nor MariaDB's KILL QUERY reach it) keeps running
// after its call ended; while it runs, new queries are refused quickly
// with a reason, the catalog tools still answer, and once it is gone
// queries are admitted again.
func TestAbandonedStatementsStopAdmission(t *testing.T) {
	for _, b := range faultBackends(t, faultOptions{pool: 2, directControl: true}) {
		t.Run(b.name, func(t *testing.T) {
			// Long enough for the test to see the statement wait and
			// open the gate on a busy machine.
			const timeout = 3 * time.Second
			cs := connectTools(t, b.tools(timeout), "inmemory")
			marker, gate := randName("abandoned_"), randName("gate_")
			ctx := context.Background()
			for _, q := range []string{"CREATE TABLE " + gate + " (n INT)", "INSERT INTO " + gate + " VALUES (1)"} {
				if _, err := b.admin.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			t.Cleanup(func() { b.admin.Exec("DROP TABLE " + gate) })
			holder, err := b.admin.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Close()
			if _, err := holder.ExecContext(ctx, fmt.Sprintf(b.facts.lockSQL, gate)); err != nil {
				t.Fatal(err)
			}
			unlocked := false
			unlock := func() {
				if !unlocked {
					unlocked = true
					if _, err := holder.ExecContext(ctx, b.facts.unlockSQL); err != nil {
						t.Fatal(err)
					}
				}
			}
			defer unlock()
			q := fmt.Sprintf(b.facts.abandonedSQL, marker, gate)
			done := make(chan toolstest.Result, 1)
			go func() { done <- toolstest.Call(t, cs, "query", map[string]any{"sql": q}) }()
			waitFor(t, 10*time.Second, "the statement to wait at the gate", func() bool { return b.sessionOf(t, marker) != 0 })
			b.proxy.Stall()
			defer b.proxy.Resume()
			unlock()
			var r toolstest.Result
			select {
			case r = <-done:
			case <-time.After(callBound(timeout) + 2*time.Second):
				t.Fatal("the call did not end")
			}
			notInternal(t, "abandoned call", r)
			t.Logf("abandoned call: %s", r.Text)
			if b.sessionOf(t, marker) == 0 {
				t.Fatal("the statement ended with its call: the fault was not set up (nothing was abandoned)")
			}
			r, took := callFor(t, cs, "query", map[string]any{"sql": "SELECT 1 AS refused"})
			if !r.IsError || !strings.Contains(r.Text, "still running on the database server") || took > 2*time.Second {
				t.Errorf("query while an abandoned statement runs = %q after %s, want a quick refusal saying why", r.Text, took)
			}
			// The catalog tools run our own SQL and are not refused.
			if r := toolstest.Call(t, cs, "list_tables", nil); strings.Contains(r.Text, "still running") {
				t.Errorf("list_tables refused: %s", r.Text)
			}
			b.proxy.Resume()
			waitFor(t, 15*time.Second, "the abandoned statement to end", func() bool { return b.sessionOf(t, marker) == 0 })
			waitFor(t, 5*time.Second, "queries to be admitted again", func() bool {
				return !toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS admitted"}).IsError
			})
		})
	}
}

// TestRoleConnectionLimitSaysSo: a role over its connection limit gets
// "too many connections for the role", not "cannot be reached", and the
// dialect reads the limit that start-up compares with the pool size.
func TestRoleConnectionLimitSaysSo(t *testing.T) {
	for _, b := range faultBackends(t, faultOptions{}) {
		t.Run(b.name, func(t *testing.T) {
			role := randName("sqlmcp_lim_")
			create, drop := b.facts.limitedRole(role)
			for _, q := range create {
				if _, err := b.admin.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			t.Cleanup(func() { b.admin.Exec(drop) })
			u, _ := url.Parse(b.url)
			u.User = url.User(role)
			db, d := openVia(t, u.String(), false, 3)
			limit, source, err := connectionLimit(context.Background(), d, db)
			if err != nil || limit != 1 {
				t.Errorf("ConnectionLimit = %d (%s), %v; want 1", limit, source, err)
			}
			held, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			cs := connectTools(t, tools.New(db, d, tools.Options{QueryTimeout: 2 * time.Second}), "inmemory")
			r := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS n"})
			if !r.IsError || !strings.Contains(r.Text, "too_many_connections") || !strings.Contains(r.Text, "too many connections for the role") {
				t.Errorf("call over the role's connection limit = %q, want too_many_connections", r.Text)
			}
		})
	}
}

// TestOversizedRowSaysRowTooLarge: the guard below the driver refuses a
// row larger than the byte cap allows before it is read; the model hears
// row_too_large (select less), on MySQL/MariaDB too, where go-sql-driver
// would report any failed read as "invalid connection", and the next call
// works on a fresh connection.
func TestOversizedRowSaysRowTooLarge(t *testing.T) {
	for _, b := range faultBackends(t, faultOptions{pool: 2}) {
		t.Run(b.name, func(t *testing.T) {
			cs := connectTools(t, b.tools(10*time.Second), "inmemory")
			r := toolstest.Call(t, cs, "query", map[string]any{"sql": b.facts.oversizedSQL})
			if !r.IsError || !strings.HasPrefix(r.Text, "database error row_too_large") {
				t.Errorf("12 MB row = %.200q, want database error row_too_large", r.Text)
			}
			if r := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS next"}); r.IsError {
				t.Errorf("next call: %s", r.Text)
			}
		})
	}
}

// TestCancelDuringStallFreesTheConnection: a call cancelled by its client
// while the database stalls gives its connection up within the socket's
// grace, not at the query timeout, and the pool serves the next call once
// the stall ends.
func TestCancelDuringStallFreesTheConnection(t *testing.T) {
	for _, b := range faultBackends(t, faultOptions{pool: 1}) {
		t.Run(b.name, func(t *testing.T) {
			cs := connectTools(t, b.tools(30*time.Second), "inmemory")
			if r := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS warm"}); r.IsError {
				t.Fatal(r.Text)
			}
			b.proxy.Stall()
			defer b.proxy.Resume()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				cs.CallTool(ctx, callParams("query", map[string]any{"sql": "SELECT 2 AS cancelled"}))
				close(done)
			}()
			waitFor(t, 5*time.Second, "the call to hold the connection", func() bool { return b.db.Stats().InUse == 1 })
			cancel()
			start := time.Now()
			waitFor(t, 5*time.Second, "the cancelled call to give its connection up", func() bool { return b.db.Stats().InUse == 0 })
			t.Logf("connection freed %s after the cancel", time.Since(start).Round(time.Millisecond))
			<-done
			b.proxy.Resume()
			if r := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 3 AS after"}); r.IsError {
				t.Errorf("call after the stall: %s", r.Text)
			}
		})
	}
}

// TestUncancellableStringSearchStopsAdmission is the hostile-SQL form of
// the abandoned-statement class: a quadratic string search inside one
// expression (PostgreSQL strpos, MariaDB LOCATE, over operands the
// statement builds itself) ignores statement_timeout / max_statement_time
// and the cancel, and runs on the server well past its call. The call
// must still answer within its bound, and while the statement runs no new
// query may start another one on top of it; once it ends, queries are
// admitted again.
func TestUncancellableStringSearchStopsAdmission(t *testing.T) {
	for _, b := range faultBackends(t, faultOptions{pool: 2, directControl: true}) {
		t.Run(b.name, func(t *testing.T) {
			const timeout = time.Second
			cs := connectTools(t, b.tools(timeout), "inmemory")
			marker := randName("quadratic_")
			// Seconds of work in one expression: the needle nearly
			// matches at every position of the haystack (PostgreSQL
			// compares from the needle's end, MariaDB from its start).
			q := fmt.Sprintf(b.facts.quadraticSQL, marker)
			r, took := callFor(t, cs, "query", map[string]any{"sql": q})
			notInternal(t, "uncancellable call", r)
			if !r.IsError || took > callBound(timeout) {
				t.Fatalf("uncancellable call = %q after %s, want an error within %s", r.Text, took, callBound(timeout))
			}
			t.Logf("uncancellable call: %s after %s", r.Text, took.Round(time.Millisecond))
			if b.sessionOf(t, marker) == 0 {
				t.Skip("the server finished the search within the call's bound: nothing was left running to test admission against")
			}
			r, took = callFor(t, cs, "query", map[string]any{"sql": "SELECT 1 AS refused"})
			if !r.IsError || !strings.Contains(r.Text, "still running on the database server") || took > 2*time.Second {
				t.Errorf("query while the search runs on = %q after %s, want a quick refusal saying why", r.Text, took)
			}
			waitFor(t, 90*time.Second, "the search to end on the server", func() bool { return b.sessionOf(t, marker) == 0 })
			waitFor(t, 5*time.Second, "queries to be admitted again", func() bool {
				return !toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS admitted"}).IsError
			})
		})
	}
}
