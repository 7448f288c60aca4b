package dialect

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

// watchCancel arranges for kill to run on control every killRetry once ctx
// ends, until the returned stop is called. stop waits for an attempt in
// progress, so that no kill can reach the connection after it went back to
// the pool and began serving someone else.
func watchCancel(ctx context.Context, control *sql.DB, kill string, args ...any) (stop func()) {
	if control == nil {
		return func() {}
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
			kctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, _ = control.ExecContext(kctx, kill, args...)
			cancel()
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	})
	return func() {
		if stopAfter() {
			return // ctx never ended: nothing ran
		}
		close(quit)
		<-finished
	}
}
