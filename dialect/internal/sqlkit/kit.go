package sqlkit

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/wire"
	"github.com/sqlmcp/sqlmcp/internal/netaddr"
)

// Summarize turns a list of objects with the privileges held on each into
// one finding: the count and the first few, never a thousand names.
func Summarize(verb string, objs []string, privs map[string][]string) string {
	const shown = 3
	var b strings.Builder
	if len(objs) == 1 {
		fmt.Fprintf(&b, "%s: ", verb)
	} else {
		fmt.Fprintf(&b, "%s %d objects, e.g. ", verb, len(objs))
	}
	for i, o := range objs {
		if i == shown {
			b.WriteString(", …")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", o, strings.Join(privs[o], ", "))
	}
	return b.String()
}

// BeginError wraps a failure of a session's opening round trips, where
// none of the caller's SQL has run yet: a connection found dead there
// is stale (dialect.ErrConnectionStale), and the call may be retried on
// another.
func BeginError(what string, err error, lost func(error) bool) error {
	if dialect.ConnectionLost(err) || lost(err) {
		return fmt.Errorf("%s: %w: %w", what, dialect.ErrConnectionStale, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// TooLarge reports a message the wire guard refused as a database error
// the model can act on.
func TooLarge(err error) (dialect.DBError, bool) {
	var e *wire.MessageTooLargeError
	if errors.As(err, &e) {
		return dialect.DBError{Code: "row_too_large", Message: e.Error()}, true
	}
	return dialect.DBError{}, false
}

// ParseURL parses a database URL without ever quoting it in the error.
func ParseURL(dsn string) (*url.URL, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Error and its cause quote the input, and a '/', '?' or '#'
		// in the password makes that quote part of the password: say
		// nothing of the text, only how to fix it.
		return nil, dialect.DSNErrorf("cannot parse database URL: it is malformed; percent-encode / ? # @ : %% in the user name and password")
	}
	return u, nil
}

// RedactURL is u with its password, in the user info or in any of
// dialect.PasswordParams, replaced.
func RedactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		if _, has := c.User.Password(); has {
			c.User = url.UserPassword(c.User.Username(), dialect.Redacted)
		}
	}
	q := c.Query()
	for _, k := range dialect.PasswordParams {
		if q.Has(k) {
			q.Set(k, dialect.Redacted)
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}

// LocalHost reports whether a DSN's host is this machine: empty (the
// driver's default, a local socket), a Unix socket directory, localhost or
// a loopback address.
func LocalHost(host string) bool {
	return host == "" || strings.HasPrefix(host, "/") || netaddr.IsLoopback(host)
}
