package wire

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
)

// ErrMessageTooLarge is returned (wrapped) when the server sent a message
// larger than its Guard allows; the connection is then closed.
var ErrMessageTooLarge = errors.New("result row too large")

// MessageTooLargeError says how large the refused message was.
type MessageTooLargeError struct {
	Size, Max int
}

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("a result row of %d bytes exceeds the %d-byte limit for one row (--max-result-bytes); select fewer or shorter values, e.g. left(col, 1000)", e.Size, e.Max)
}

func (e *MessageTooLargeError) Is(target error) bool { return target == ErrMessageTooLarge }

// Framing reads a message header at the start of hdr (as many bytes as it
// needs) and returns the header size, the body size that follows, and
// whether the body continues into the next message (MySQL packets of the
// maximum size).
type Framing struct {
	Header int
	Parse  func(hdr []byte) (body int, continues bool)
	// Refuse, if set, builds the message the driver reads in place of a
	// refused one (hdr is its header), so that the driver reports our
	// reason rather than a broken connection. The reads after it fail.
	Refuse func(hdr []byte, reason string) []byte
}

// Guard says how to guard a connection: the framing to follow and the
// largest message to let through.
type Guard struct {
	Max     int
	Framing Framing
}

func (d *Guard) wrap(c net.Conn) net.Conn {
	return &guardConn{Conn: c, max: d.Max, f: d.Framing}
}

// guardConn follows the server's message Framing on reads and fails the
// read that would hand the driver the header of an oversized message, so
// the driver never sizes an allocation by it.
type guardConn struct {
	net.Conn
	max int
	f   Framing

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
		if c.f.Refuse != nil && !c.refusedCont && errors.As(verr, &tl) {
			c.refusal = c.f.Refuse(c.hdr[:c.f.Header], tl.Error())
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

// scan advances the Framing over b and returns how many bytes of b may be
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
		k := min(c.f.Header-c.hdrN, len(b)-i)
		copy(c.hdr[c.hdrN:], b[i:i+k])
		c.hdrN += k
		i += k
		if c.hdrN < c.f.Header {
			break
		}
		c.hdrN = 0
		size, cont := c.f.Parse(c.hdr[:c.f.Header])
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

// DriverLogger hands a driver's log lines to a slog.Logger at debug.
type DriverLogger struct{ L *slog.Logger }

func (d DriverLogger) Print(v ...any) {
	d.L.Debug("database driver", "msg", strings.TrimSpace(fmt.Sprint(v...)))
}
