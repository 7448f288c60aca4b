package wire

import (
	"context"
	"database/sql"
	"time"
)

// Cancellation is done from outside the connection, by the server's own
// means (pg_cancel_backend, KILL QUERY), because the drivers' in-band
// cancellation is not enough: lib/pq's cancel request is lost when it
// reaches the server in the wrong instant of the statement (seen: a
// cancel 60 ms into a query let it run to its end), and go-sql-driver
// only closes its socket, leaving the statement running on the server.

// killRetry is how often a cancelled session asks the server again to stop
// its statement, until the session ends.
const killRetry = 250 * time.Millisecond

// KillTimeout bounds one kill attempt: the control pool's socket is armed
// with it, so a server that stopped answering cannot hold the attempt (nor
// the session's Close, which waits for it).
const KillTimeout = 2 * time.Second

// AbortGrace is how long a session's socket may stay silent after the
// call's context ended (or past its deadline) before its reads and writes
// fail: time for the server to answer a cancel; after it the connection
// is dropped. Calls end by timeout + callContext's grace + AbortGrace.
const AbortGrace = 500 * time.Millisecond

// WatchCancel arranges for kill to run on control every killRetry once ctx
// ends, until the returned stop is called. stop(true) waits for an attempt
// in progress, so that no kill can reach the connection after it went back
// to the pool and began serving someone else; stop(false) does not, for a
// connection that is being discarded anyway.
func WatchCancel(ctx context.Context, control *sql.DB, kill string, args ...any) (stop func(wait bool)) {
	if control == nil {
		return func(bool) {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		defer close(finished)
		tick := time.NewTicker(killRetry)
		defer tick.Stop()
		// The first attempt is unconditional: a caller that returns at
		// once on the cancelled context (go-sql-driver closes its socket)
		// may call stop before this goroutine ran, and the statement would
		// then go on on the server. stop waits for it, so it still cannot
		// reach a connection back in the pool.
		for {
			kctx, cancel := context.WithTimeout(context.Background(), KillTimeout)
			_ = ControlExec(kctx, control, kill, args...)
			cancel()
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	})
	return func(wait bool) {
		if stopAfter() {
			return // ctx never ended: nothing ran
		}
		close(quit)
		if wait {
			<-finished
		}
	}
}

// lingerMax is how long an abandoned statement is watched: one that runs
// longer is no longer counted (and logged by no one), so that a server
// that never reports it gone cannot refuse queries forever.
const lingerMax = 10 * time.Minute

// Lingering tells whether the statement of a session whose connection was
// dropped under it still runs on the server, asking control with probe
// (one argument, the session's id; it counts the id's running statements).
// Some functions cannot be interrupted inside one expression (PostgreSQL
// xpath, MariaDB LOCATE on huge operands): they ignore the statement
// timeout and kill, and the server goes on running them after the call
// ended. It returns nil when the statement is over (or the server cannot
// be asked), else a channel closed once it is, while kill is repeated.
func Lingering(control *sql.DB, probe, kill string, id int64) <-chan struct{} {
	if control == nil || id == 0 {
		return nil
	}
	running := func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), KillTimeout/4)
		defer cancel()
		var n int
		err := WithConn(ctx, control, 0, func(c *sql.Conn) error { return c.QueryRowContext(ctx, probe, id).Scan(&n) })
		return n > 0, err
	}
	// A statement the kill just stopped takes a moment to leave.
	for i := 0; ; i++ {
		if on, err := running(); !on || err != nil {
			return nil
		}
		if i == 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		failed := 0
		for end := time.Now().Add(lingerMax); time.Now().Before(end) && failed < 3; {
			time.Sleep(killRetry)
			kctx, cancel := context.WithTimeout(context.Background(), KillTimeout)
			_ = ControlExec(kctx, control, kill)
			cancel()
			on, err := running()
			switch {
			case err != nil:
				failed++
			case !on:
				return
			default:
				failed = 0
			}
		}
	}()
	return done
}
