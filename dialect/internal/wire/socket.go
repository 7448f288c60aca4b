// Package wire bounds every socket of a PostgreSQL or MySQL pool: sqlmcp
// dials the connections itself, so that a session can put a deadline on
// each round trip (socket.go), refuse a message larger than the result cap
// before the driver allocates it (guard.go), and stop a running statement
// from outside its connection (cancel.go). It knows no backend: each
// backend package supplies its framing and its kill statements.
package wire

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A database that accepts TCP but stops answering (a frozen process, a
// partition that drops packets, stalled storage) must not hold a call, a
// readiness probe or a cancellation past its deadline. go-sql-driver
// closes its socket when the context ends, but lib/pq does not abort a
// read blocked on such a server, and neither driver bounds its handshake
// by itself. So every connection Open makes is dialed here, remembered
// against the driver connection it becomes, and a caller holding a
// *sql.Conn arms its socket with a deadline: a read or write that reaches
// it fails, the driver marks the connection bad and database/sql drops it.

// handshakeTimeout bounds dialing and the start-up exchange of a connection
// opened without a deadline of its own (database/sql's background opener).
const handshakeTimeout = 15 * time.Second

// Dialer dials every connection of a pool: through next when the DSN
// configured a dialer of its own, then guarded when guard is set.
type Dialer struct {
	// Next dials when the DSN configured a dialer of its own.
	Next func(ctx context.Context, network, address string) (net.Conn, error)
	// Guard, if set, bounds the messages the server may send.
	Guard *Guard
}

func (d Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d Dialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

// DialContext dials and bounds the handshake by ctx's deadline (the
// drivers pass the Connect context, or for lib/pq's cancel request a
// context of its own); TrackingConnector lifts the deadline once the
// connection is established.
func (d Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var c net.Conn
	var err error
	if d.Next != nil {
		c, err = d.Next(ctx, network, address)
	} else {
		nd := net.Dialer{}
		if strings.HasPrefix(network, "tcp") {
			nd.KeepAlive = 5 * time.Minute
		}
		c, err = nd.DialContext(ctx, network, address)
	}
	if err != nil {
		return nil, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(handshakeTimeout)
	}
	if err := c.SetDeadline(dl); err != nil {
		c.Close()
		return nil, err
	}
	w := &wireConn{Conn: c}
	if d.Guard != nil {
		w.Conn = d.Guard.wrap(c)
	}
	if s, ok := ctx.Value(dialSlotKey{}).(*dialSlot); ok {
		s.mu.Lock()
		s.conn = w // the last one dialed is the one the driver kept
		s.mu.Unlock()
	}
	return w, nil
}

// wireConn is one socket of a pool: it remembers whether a read or write
// failed (the connection is then dead whatever the driver thinks) and
// forgets its driver connection when it closes.
type wireConn struct {
	net.Conn
	broken atomic.Bool
	once   sync.Once
	key    atomic.Value // the driver.Conn it is registered under
	tag    atomic.Value // what a backend remembers of the connection (Armed.Tag)
}

func (c *wireConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.broken.Store(true)
	}
	return n, err
}

func (c *wireConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		c.broken.Store(true)
	}
	return n, err
}

func (c *wireConn) Close() error {
	c.broken.Store(true)
	c.once.Do(func() {
		if k := c.key.Load(); k != nil {
			wires.Delete(k)
		}
	})
	return c.Conn.Close()
}

// wires maps each open driver connection to its socket.
var wires sync.Map // driver.Conn -> *wireConn

type dialSlotKey struct{}

// dialSlot is how the dialer hands the connector the socket it dialed.
type dialSlot struct {
	mu   sync.Mutex
	conn *wireConn
}

// TrackingConnector registers each connection it opens in wires.
type TrackingConnector struct{ driver.Connector }

func (c TrackingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	slot := &dialSlot{}
	ctx = context.WithValue(ctx, dialSlotKey{}, slot)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, handshakeTimeout)
		defer cancel()
	}
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	slot.mu.Lock()
	w := slot.conn
	slot.mu.Unlock()
	if w != nil {
		if err := w.SetDeadline(time.Time{}); err != nil {
			dc.Close()
			return nil, driver.ErrBadConn
		}
		w.key.Store(dc)
		wires.Store(dc, w)
		if w.broken.Load() {
			wires.Delete(dc) // closed meanwhile: Close found no key to delete
		}
	}
	return dc, nil
}

// wireOf returns the socket under conn, nil for a connection not dialed by
// Open (SQLite, a pool opened otherwise).
func wireOf(conn *sql.Conn) *wireConn {
	var w *wireConn
	_ = conn.Raw(func(dc any) error {
		if v, ok := wires.Load(dc); ok {
			w = v.(*wireConn)
		}
		return nil
	})
	return w
}

// Armed is a connection whose socket is bounded by a context: reads and
// writes fail at the context's deadline plus slack, or slack after the
// context ends, whichever is first.
type Armed struct {
	w    *wireConn
	mu   sync.Mutex
	on   bool
	stop func() bool
}

func Arm(ctx context.Context, conn *sql.Conn, slack time.Duration) *Armed {
	a := &Armed{w: wireOf(conn)}
	if a.w == nil {
		return a
	}
	a.on = true
	if dl, ok := ctx.Deadline(); ok {
		_ = a.w.SetDeadline(dl.Add(slack))
	}
	a.stop = context.AfterFunc(ctx, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.on {
			_ = a.w.SetDeadline(time.Now().Add(slack))
		}
	})
	return a
}

// Disarm lifts the context's bound; a deadline the context's end already
// set stays until reset or bound.
func (a *Armed) Disarm() {
	if a.w == nil {
		return
	}
	a.stop()
	a.mu.Lock()
	a.on = false
	a.mu.Unlock()
}

// Bound sets a fixed deadline (cleanup statements, which run after the
// call's context ended); reset lifts it once the connection is clean.
func (a *Armed) Bound(d time.Duration) {
	if a.w != nil {
		_ = a.w.SetDeadline(time.Now().Add(d))
	}
}

func (a *Armed) Reset() {
	if a.w != nil {
		_ = a.w.SetDeadline(time.Time{})
	}
}

// Tag is what SetTag stored on the connection under a (nil for none, and
// always for a connection not dialed by Open): a backend's record of the
// session state it established, valid for as long as the socket lives.
func (a *Armed) Tag() any {
	if a.w == nil {
		return nil
	}
	return a.w.tag.Load()
}

// SetTag stores v (never nil) on the connection; see Tag.
func (a *Armed) SetTag(v any) {
	if a.w != nil {
		a.w.tag.Store(v)
	}
}

// Conn is the connection's socket, below the driver (nil for a
// connection not dialed by Open), for a backend that speaks to the server
// directly between two of the driver's exchanges, when the driver is idle
// and has nothing buffered. Under TLS it is the encrypted stream.
func (a *Armed) Conn() net.Conn {
	if a.w == nil {
		return nil
	}
	return a.w
}

// Broken tells whether the socket failed or closed: the connection must
// not serve anyone again.
func (a *Armed) Broken() bool { return a.w != nil && a.w.broken.Load() }

// WithConn runs f on a connection of db whose socket is armed by ctx (with
// slack), and discards the connection if anything failed: a statement of
// ours that failed on a connection says nothing good about it.
func WithConn(ctx context.Context, db *sql.DB, slack time.Duration, f func(*sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	a := Arm(ctx, conn, slack)
	err = f(conn)
	a.Disarm()
	if err != nil || a.Broken() {
		DiscardConn(conn)
		return err
	}
	a.Reset()
	return nil
}

// ControlExec runs one of our own statements (a kill, a probe) on the
// control pool, bounded by ctx whatever the server does.
func ControlExec(ctx context.Context, control *sql.DB, query string, args ...any) error {
	return WithConn(ctx, control, 0, func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, query, args...)
		return err
	})
}

// Ping checks that db answers now, within ctx's deadline even when the
// server stopped answering. A failed ping on a pooled connection may only
// mean the connection went stale (the database restarted since), so the
// idle connections are dropped and one fresh connection tries again
// within the same deadline: readiness reflects the database, not the
// pool's history.
func Ping(ctx context.Context, db *sql.DB) error {
	ping := func(c *sql.Conn) error { return c.PingContext(ctx) }
	err := WithConn(ctx, db, 0, ping)
	if err == nil || ctx.Err() != nil {
		return err
	}
	FlushIdle(db)
	return WithConn(ctx, db, 0, ping)
}

// FlushIdle closes every idle connection of db, so that the next caller
// dials afresh: after one pooled connection was found dead, its idle
// siblings most likely are too (a restart, a failover, a cut). It assumes
// the pool keeps as many idle connections as it may open, as cmd/sqlmcp
// configures it (database/sql's default of 2 when unlimited).
func FlushIdle(db *sql.DB) {
	n := db.Stats().MaxOpenConnections
	if n <= 0 {
		n = 2
	}
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(n)
}

// ConnectionLost tells whether err means the connection to the database
// died (closed, reset, timed out at the socket) rather than the statement
// failing: the database is unavailable, which is worth a retry, not a bug.
// A server that ended the session itself (PostgreSQL 57P01, MySQL 1927)
// is read by the backend's ClassifyError (DBError.Unavailable).
func ConnectionLost(err error) bool {
	// context.DeadlineExceeded is a net.Error too; a call that ran out of
	// time is a timeout, whatever state it left the connection in.
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}

// SocketTimeout tells whether err is a read or write that reached the
// deadline an armed connection set: the server did not answer in time.
func SocketTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// DiscardConn makes database/sql close conn instead of returning it to the
// pool: used when a connection could not be brought back to a clean state.
func DiscardConn(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
