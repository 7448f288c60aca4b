package dialect

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

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
}

// MessageLimit is the MaxMessageBytes that goes with a result byte cap: a
// row whose wire form is this large cannot fit the cap in any encoding
// (PostgreSQL's bytea hex doubles, our base64 adds a third), while rows
// the cap can hold always pass.
func MessageLimit(maxResultBytes int) int {
	return 4*maxResultBytes + 1<<20
}

// Open opens the pool for t. PostgreSQL and MySQL connections without TLS
// get a guard below the driver that fails the connection when the server
// announces a message larger than opts.MaxMessageBytes, before the driver
// allocates it. Under TLS the guard cannot read the framing and is not
// installed; SQLite bounds values itself (SQLITE_LIMIT_LENGTH, see Begin).
func Open(t Target, opts OpenOptions) (*sql.DB, error) {
	if t.Backend == "sqlite" {
		return openSQLite(t), nil // file identity and functions: sqlite_file.go
	}
	if opts.MaxMessageBytes <= 0 {
		return sql.Open(t.DriverName, t.DriverDSN)
	}
	switch t.Backend {
	case "postgres":
		c, err := pq.NewConnector(t.DriverDSN)
		if err != nil {
			return nil, err
		}
		if pgPlaintext(t.DriverDSN) {
			c.Dialer(guardDialer{max: opts.MaxMessageBytes, framing: pgFraming})
		}
		return sql.OpenDB(c), nil
	case "mysql":
		cfg, err := gomysql.ParseDSN(t.DriverDSN)
		if err != nil {
			return nil, err
		}
		if cfg.TLS == nil && (cfg.TLSConfig == "" || cfg.TLSConfig == "false") && cfg.DialFunc == nil {
			d := guardDialer{max: opts.MaxMessageBytes, framing: mysqlFraming}
			cfg.DialFunc = d.DialContext
		}
		c, err := gomysql.NewConnector(cfg)
		if err != nil {
			return nil, err
		}
		return sql.OpenDB(c), nil
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
}

// pgFraming: a type byte and a big-endian int32 length that counts itself.
var pgFraming = framing{header: 5, parse: func(h []byte) (int, bool) {
	return int(binary.BigEndian.Uint32(h[1:5])) - 4, false
}}

// mysqlFraming: a little-endian 24-bit length and a sequence byte; a
// payload of exactly 0xffffff bytes continues in the next packet.
var mysqlFraming = framing{header: 4, parse: func(h []byte) (int, bool) {
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	return n, n == 0xffffff
}}

type guardDialer struct {
	max     int
	framing framing
}

func (d guardDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d guardDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d guardDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var nd net.Dialer
	if strings.HasPrefix(network, "tcp") {
		nd.KeepAlive = 5 * time.Minute
	}
	c, err := nd.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: c, max: d.max, f: d.framing}, nil
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
}

func (c *guardConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.Conn.Read(p)
	ok, verr := c.scan(p[:n])
	if verr != nil {
		c.err = verr
		c.Conn.Close()
		if ok == 0 {
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
