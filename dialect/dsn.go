package dialect

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Target is a parsed DSN: which backend, and what to hand its driver.
type Target struct {
	// Backend is the registered backend that claimed the DSN.
	Backend Backend
	// DriverDSN is the driver's own connection string. It may contain the
	// password: never log it.
	DriverDSN string
	// Redacted is the DSN safe to show: the password replaced.
	Redacted string
	// Path is the database file, for a file-based backend.
	Path string
}

// PasswordParams are the DSN query parameters that carry a password, in
// any backend's URL.
var PasswordParams = []string{"password", "passwd", "sslpassword"}

// Redacted replaces a password wherever a DSN is shown.
const Redacted = "xxxxx"

// DSNError is a DSN the user must fix. Its message never contains the
// password.
type DSNError struct{ Msg string }

func (e *DSNError) Error() string { return e.Msg }

// DSNErrorf returns a *DSNError.
func DSNErrorf(format string, args ...any) error {
	return &DSNError{Msg: fmt.Sprintf(format, args...)}
}

// Secrets returns the password a DSN URL holds, in its user info or in
// any of PasswordParams, in every spelling a message might echo it (as
// given, query- and path-escaped), so that messages can be scrubbed of it.
// It works on any URL, before or without ParseDSN.
func Secrets(dsn string) []string {
	u, err := url.Parse(strings.TrimSpace(dsn))
	if err != nil {
		return nil
	}
	var out []string
	add := func(p string) {
		if p != "" {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	if u.User != nil {
		p, _ := u.User.Password()
		add(p)
	}
	q := u.Query()
	for _, k := range PasswordParams {
		add(q.Get(k))
	}
	return out
}

// dsnForms lists how to write a DSN for every registered backend.
func dsnForms() string {
	var forms []string
	for _, b := range Backends() {
		forms = append(forms, b.Traits().DSNForms)
	}
	return "use " + strings.Join(forms, ", ")
}

// ParseDSN finds the registered backend whose DSN prefix (or, for a DSN
// without a scheme, file extension) matches, and lets it translate the DSN
// for its driver. It never returns the password in an error.
func ParseDSN(dsn string) (Target, error) {
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return Target{}, DSNErrorf("no database given: %s (or --demo)", dsnForms())
	}
	lower := strings.ToLower(dsn)
	backends := Backends()
	for _, b := range backends {
		for _, p := range b.Traits().DSNPrefixes {
			if strings.HasPrefix(lower, p) {
				return b.ParseDSN(dsn)
			}
		}
	}
	if !strings.Contains(dsn, "://") {
		ext := strings.ToLower(filepath.Ext(dsn))
		for _, b := range backends {
			for _, e := range b.Traits().FileExtensions {
				if ext == e {
					return b.ParseDSN(dsn)
				}
			}
		}
	}
	scheme := "(none)"
	if i := strings.Index(dsn, ":"); i > 0 && !strings.ContainsAny(dsn[:i], "@/") {
		scheme = dsn[:i]
	}
	return Target{}, DSNErrorf("unsupported database URL scheme %q: %s", scheme, dsnForms())
}
