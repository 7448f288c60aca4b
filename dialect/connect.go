package dialect

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"time"
)

// Connect is how sqlmcp opens a database, the same for the server and the
// tests that stand in for it: parse the DSN, check a file backend's file
// exists, open the backend's pool sized maxOpen (0: the backend's
// PoolSize), and ping it within 10 s. Every error is one line that names
// the fix and never contains the DSN's password.
func Connect(ctx context.Context, dsn string, maxOpen int, opts OpenOptions) (*sql.DB, Target, error) {
	target, err := ParseDSN(dsn)
	if err != nil {
		return nil, target, err
	}
	b := target.Backend
	tr := b.Traits()
	if tr.FileBased {
		if _, err := os.Stat(target.Path); err != nil {
			return nil, target, fmt.Errorf("%s database %s: %s (give the path of an existing database file)", tr.Title, target.Path, Scrub(err.Error(), dsn))
		}
	}
	db, err := b.Open(target, opts)
	if err != nil {
		return nil, target, fmt.Errorf("cannot open %s: %s", target.Redacted, Scrub(err.Error(), dsn))
	}
	if maxOpen == 0 {
		maxOpen = tr.PoolSize
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := Ping(pctx, db); err != nil {
		db.Close()
		return nil, target, fmt.Errorf("cannot connect to %s: %s%s", target.Redacted, Scrub(err.Error(), dsn), connectHint(err))
	}
	return db, target, nil
}

// Scrub removes the DSN's password, in any spelling Secrets knows, from a
// message: drivers do not usually echo it, but the cost of being wrong is
// a leaked credential.
func Scrub(msg, dsn string) string {
	for _, p := range Secrets(dsn) {
		msg = strings.ReplaceAll(msg, p, Redacted)
	}
	return msg
}

func connectHint(err error) string {
	m := strings.ToLower(err.Error())
	switch {
	case strings.Contains(m, "connection refused"), strings.Contains(m, "no such host"), strings.Contains(m, "i/o timeout"),
		strings.Contains(m, "deadline exceeded"):
		return " — is the server running, and are the host and port right?"
	case strings.Contains(m, "password"), strings.Contains(m, "access denied"), strings.Contains(m, "authentication"):
		return " — check the user name and password in the DSN"
	case strings.Contains(m, "does not exist"), strings.Contains(m, "unknown database"):
		return " — check the database name in the DSN"
	case strings.Contains(m, "ssl"):
		return " — set sslmode in the DSN (e.g. ?sslmode=disable for a local server without TLS)"
	}
	return ""
}
