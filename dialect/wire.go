package dialect

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/lib/pq"
)

// OpenOptions configure the connection pool Open returns.
type OpenOptions struct {
	// MaxMessageBytes bounds one protocol message (PostgreSQL) or one
	// logical packet (MySQL) the server may send: one result row, in
	// practice. Drivers read a whole row into one allocation sized by the
	// server's header, so without a bound SELECT repeat('x', 1e9) makes this
	// process allocate a gigabyte before any byte cap applies. Zero means
	// no bound. Use MessageLimit to derive it from the result byte cap.
	MaxMessageBytes int
	// Logger receives a driver's own log lines (go-sql-driver prints
	// "[mysql] … unexpected EOF" on stderr when a connection breaks), at
	// debug: the call that met the break is logged with its category
	// already. Nil keeps the driver's default.
	Logger *slog.Logger
}

// MessageLimit is the MaxMessageBytes that goes with a result byte cap: a
// row whose wire form is this large cannot fit the cap in any encoding
// (PostgreSQL's bytea hex doubles, our base64 adds a third), while rows
// the cap can hold always pass.
func MessageLimit(maxResultBytes int) int {
	return 4*maxResultBytes + 1<<20
}

// Open opens the pool for t. Every PostgreSQL and MySQL connection is
// dialed through our own dialer (see socket.go), so that a session can bound
// each read and write on its socket: lib/pq does not abort a read blocked
// on a server that stopped answering when the context ends, and both
// drivers' handshakes would wait forever on one. Connections without TLS
// also get a guard below the driver that fails the connection when the
// server announces a message larger than opts.MaxMessageBytes, before the
// driver allocates it. Under TLS the guard cannot read the framing and is
// not installed; SQLite bounds values itself (SQLITE_LIMIT_LENGTH, see
// Begin).
func Open(t Target, opts OpenOptions) (*sql.DB, error) {
	if t.Backend == "sqlite" {
		return openSQLite(t), nil // file identity and functions: sqlite_file.go
	}
	switch t.Backend {
	case "postgres":
		c, err := pq.NewConnector(t.DriverDSN)
		if err != nil {
			return nil, err
		}
		d := wireDialer{}
		if opts.MaxMessageBytes > 0 && pgPlaintext(t.DriverDSN) {
			d.guard = &guardDialer{max: opts.MaxMessageBytes, framing: pgFraming}
		}
		c.Dialer(d)
		return sql.OpenDB(trackingConnector{c}), nil
	case "mysql":
		cfg, err := gomysql.ParseDSN(t.DriverDSN)
		if err != nil {
			return nil, err
		}
		d := wireDialer{next: cfg.DialFunc}
		if opts.MaxMessageBytes > 0 && cfg.TLS == nil && (cfg.TLSConfig == "" || cfg.TLSConfig == "false") {
			d.guard = &guardDialer{max: opts.MaxMessageBytes, framing: mysqlFraming}
		}
		cfg.DialFunc = d.DialContext
		if opts.Logger != nil {
			cfg.Logger = driverLogger{opts.Logger}
		}
		c, err := gomysql.NewConnector(cfg)
		if err != nil {
			return nil, err
		}
		return sql.OpenDB(trackingConnector{c}), nil
	}
	return sql.Open(t.DriverName, t.DriverDSN)
}

// pgPlaintext tells whether lib/pq will speak plaintext on the connection,
// so that the guard sees the protocol's framing rather than TLS records.
func pgPlaintext(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	return u.Query().Get("sslmode") == "disable"
}

// ErrMessageTooLarge is returned (wrapped) when the server sent a message
// larger than OpenOptions.MaxMessageBytes; the connection is then closed.
var ErrMessageTooLarge = errors.New("result row too large")

// MessageTooLargeError says how large the refused message was.
type MessageTooLargeError struct {
	Size, Max int
}

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("a result row of %d bytes exceeds the %d-byte limit for one row (--max-result-bytes); select fewer or shorter values, e.g. left(col, 1000)", e.Size, e.Max)
}

func (e *MessageTooLargeError) Is(target error) bool { return target == ErrMessageTooLarge }

// framing reads a message header at the start of hdr (as many bytes as it
// needs) and returns the header size, the body size that follows, and
// whether the body continues into the next message (MySQL packets of the
// maximum size).
type framing struct {
	header int
	parse  func(hdr []byte) (body int, continues bool)
	// refuse, if set, builds the message the driver reads in place of a
	// refused one (hdr is its header), so that the driver reports our
	// reason rather than a broken connection. The reads after it fail.
	refuse func(hdr []byte, reason string) []byte
}

// pgFraming: a type byte and a big-endian int32 length that counts itself.
var pgFraming = framing{header: 5, parse: func(h []byte) (int, bool) {
	return int(binary.BigEndian.Uint32(h[1:5])) - 4, false
}}

// mysqlFraming: a little-endian 24-bit length and a sequence byte; a
// payload of exactly 0xffffff bytes continues in the next packet.
// go-sql-driver turns any failed read into "invalid connection" and logs
// the reason, so the guard hands it an ERR packet in place of the refused
// one, with the refused packet's sequence number: the driver reports it as
// a *MySQLError (guardErrno) that ClassifyError reads as row_too_large.
var mysqlFraming = framing{header: 4, parse: func(h []byte) (int, bool) {
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	return n, n == 0xffffff
}, refuse: func(h []byte, reason string) []byte {
	body := []byte{0xff, byte(guardErrno & 0xff), byte(guardErrno >> 8), '#', 'H', 'Y', '0', '0', '0'}
	body = append(body, reason...)
	pkt := []byte{byte(len(body)), byte(len(body) >> 8), byte(len(body) >> 16), h[3]}
	return append(pkt, body...)
}}

// guardErrno is the error number of the ERR packet the MySQL guard makes
// up: outside the server's (1000–4999, MariaDB's progress report 65535)
// and the client library's (2000–2999) ranges.
const guardErrno = 65000

// guardDialer says how to guard a connection: the framing to follow and
// the largest message to let through.
type guardDialer struct {
	max     int
	framing framing
}

func (d *guardDialer) wrap(c net.Conn) net.Conn {
	return &guardConn{Conn: c, max: d.max, f: d.framing}
}

// guardConn follows the server's message framing on reads and fails the
// read that would hand the driver the header of an oversized message, so
// the driver never sizes an allocation by it.
type guardConn struct {
	net.Conn
	max int
	f   framing

	mu      sync.Mutex
	hdr     [8]byte
	hdrN    int   // header bytes seen so far
	body    int   // body bytes still to pass before the next header
	logical int   // size of the logical message so far (MySQL continuation)
	cont    bool  // the current body continues into the next packet
	err     error // sticky: once refused, every read fails

	refusedCont bool   // the refused header continued a logical message
	refusal     []byte // what the driver reads in place of the refused message
}

func (c *guardConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.refusal) > 0 {
		n := copy(p, c.refusal)
		c.refusal = c.refusal[n:]
		return n, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.Conn.Read(p)
	ok, verr := c.scan(p[:n])
	if verr != nil {
		c.err = verr
		c.Conn.Close()
		var tl *MessageTooLargeError
		if c.f.refuse != nil && !c.refusedCont && errors.As(verr, &tl) {
			c.refusal = c.f.refuse(c.hdr[:c.f.header], tl.Error())
		}
		if ok == 0 {
			if len(c.refusal) > 0 {
				k := copy(p, c.refusal)
				c.refusal = c.refusal[k:]
				return k, nil
			}
			return 0, verr
		}
		return ok, nil // the bytes before the refused header; the next read fails
	}
	return n, err
}

// scan advances the framing over b and returns how many bytes of b may be
// passed on: all of them, or those before the header of a message that is
// too large, with the error.
func (c *guardConn) scan(b []byte) (int, error) {
	i := 0
	for i < len(b) {
		if c.body > 0 {
			k := min(c.body, len(b)-i)
			c.body -= k
			i += k
			continue
		}
		start := i - c.hdrN // where this header began (may be before b)
		k := min(c.f.header-c.hdrN, len(b)-i)
		copy(c.hdr[c.hdrN:], b[i:i+k])
		c.hdrN += k
		i += k
		if c.hdrN < c.f.header {
			break
		}
		c.hdrN = 0
		size, cont := c.f.parse(c.hdr[:c.f.header])
		if size < 0 {
			return max(start, 0), fmt.Errorf("malformed message header from the database server: %w", ErrMessageTooLarge)
		}
		c.refusedCont = c.cont
		if c.cont {
			c.logical += size
		} else {
			c.logical = size
		}
		c.cont = cont
		if c.logical > c.max {
			return max(start, 0), &MessageTooLargeError{Size: c.logical, Max: c.max}
		}
		c.body = size
	}
	return len(b), nil
}

// tooLarge reports a refused oversized message as a database error the
// model can act on.
func tooLarge(err error) (DBError, bool) {
	var e *MessageTooLargeError
	if errors.As(err, &e) {
		return DBError{Code: "row_too_large", Message: e.Error()}, true
	}
	return DBError{}, false
}

// driverLogger hands a driver's log lines to a slog.Logger at debug.
type driverLogger struct{ l *slog.Logger }

func (d driverLogger) Print(v ...any) {
	d.l.Debug("database driver", "msg", strings.TrimSpace(fmt.Sprint(v...)))
}
