// Package dialecttest holds what the backends' catalog tests share:
// connecting to the real servers (skipping loudly unless required),
// fixtures and assertions.
package dialecttest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/all" // the backends under test
)

// Catalog introspection is tested against real servers: PostgreSQL and
// MariaDB from the environment (defaults match the development setup),
// SQLite in a temporary directory. Each test builds its own schema or
// database with a random name and drops it afterwards.

const (
	DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultMySQL    = "mysql://root@127.0.0.1:3306/test"
)

func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Unavailable skips the test, loudly, unless SQLMCP_REQUIRE_BACKENDS
// names the backend: then a missing server is a failure.
func Unavailable(t *testing.T, backend string, err error) {
	t.Helper()
	for _, b := range strings.Split(os.Getenv("SQLMCP_REQUIRE_BACKENDS"), ",") {
		if strings.TrimSpace(b) == backend {
			t.Fatalf("%s required by SQLMCP_REQUIRE_BACKENDS but unavailable: %v", backend, err)
		}
	}
	t.Skipf("SKIPPING: %s server unavailable (set SQLMCP_REQUIRE_BACKENDS=%s to fail instead): %v", backend, backend, err)
}

func Ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func Name(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Backend returns the registered backend name.
func Backend(t *testing.T, name string) dialect.Backend {
	t.Helper()
	b, ok := dialect.Lookup(name)
	if !ok {
		t.Fatalf("backend %q is not registered", name)
	}
	return b
}

// Open opens a driver connection pool for a sqlmcp database URL and
// checks the server answers.
func Open(t *testing.T, backend, dsn string) *sql.DB {
	t.Helper()
	target, err := dialect.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	db, err := target.Backend.Open(target, dialect.OpenOptions{})
	if err != nil {
		t.Fatalf("open %s: %v", target.Redacted, err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		Unavailable(t, backend, err)
	}
	return db
}

// WithPath returns dsn with its path (the database) replaced and
// extra query parameters added.
func WithPath(t *testing.T, dsn, path string, params map[string]string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + path
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func Exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	ctx := Ctx(t)
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("fixture %q: %v", s, err)
		}
	}
}

// Session runs fn on a read-only Session, the way the tools call the
// dialect, with a row cap smaller than the catalog so that a cap leaking
// into introspection would show.
func Session(t *testing.T, d dialect.Backend, db *sql.DB, fn func(q dialect.Queryer)) {
	t.Helper()
	ctx := Ctx(t)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, err := d.Begin(ctx, conn, dialect.SessionOptions{Timeout: 30 * time.Second, MaxRows: 3})
	if err != nil {
		t.Fatalf("begin session: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("close session: %v", err)
		}
	}()
	fn(s)
}

func Ptr[T any](v T) *T { return &v }

// TableNames lists "schema.name" of each table, in order.
func TableNames(ts []dialect.Table) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Schema+"."+t.Name)
	}
	return out
}

// OnlySchema keeps the tables of one schema: a server's other
// databases are not ours to assert on.
func OnlySchema(ts []dialect.Table, schema string) []dialect.Table {
	return slices.DeleteFunc(slices.Clone(ts), func(t dialect.Table) bool { return t.Schema != schema })
}

// CheckBound asserts the row-count bound: every table listed, at most
// maxExact counted, the rest labelled estimates, and counted rows right.
func CheckBound(t *testing.T, got []dialect.Table, n, maxExact int, wantRows func(name string) int64) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("ListTables returned %d tables, want %d", len(got), n)
	}
	exact := 0
	for _, tb := range got {
		if !tb.RowsExact {
			continue
		}
		exact++
		if tb.Rows == nil || *tb.Rows != wantRows(tb.Name) {
			t.Errorf("%s: exact Rows = %v, want %d", tb.Name, tb.Rows, wantRows(tb.Name))
		}
	}
	if exact != maxExact {
		t.Errorf("%d tables counted exactly, want the cap %d (the other %d labelled estimates)", exact, maxExact, n-maxExact)
	}
}
