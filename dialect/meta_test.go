package dialect_test

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

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// Catalog introspection is tested against real servers: PostgreSQL and
// MariaDB from the environment (defaults match the development setup),
// SQLite in a temporary directory. Each test builds its own schema or
// database with a random name and drops it afterwards.

const (
	metaDefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	metaDefaultMySQL    = "mysql://root@127.0.0.1:3306/test"
)

func metaEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// metaUnavailable skips the test, loudly, unless SQLMCP_REQUIRE_BACKENDS
// names the backend: then a missing server is a failure.
func metaUnavailable(t *testing.T, backend string, err error) {
	t.Helper()
	for _, b := range strings.Split(os.Getenv("SQLMCP_REQUIRE_BACKENDS"), ",") {
		if strings.TrimSpace(b) == backend {
			t.Fatalf("%s required by SQLMCP_REQUIRE_BACKENDS but unavailable: %v", backend, err)
		}
	}
	t.Skipf("SKIPPING: %s server unavailable (set SQLMCP_REQUIRE_BACKENDS=%s to fail instead): %v", backend, backend, err)
}

func metaCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func metaName(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func metaDialect(t *testing.T, backend string) dialect.Dialect {
	t.Helper()
	d, err := dialect.New(backend)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// metaOpen opens a driver connection pool for a sqlmcp database URL and
// checks the server answers.
func metaOpen(t *testing.T, backend, dsn string) *sql.DB {
	t.Helper()
	target, err := dialect.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	db, err := sql.Open(target.DriverName, target.DriverDSN)
	if err != nil {
		t.Fatalf("open %s: %v", target.Redacted, err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		metaUnavailable(t, backend, err)
	}
	return db
}

// metaWithPath returns dsn with its path (the database) replaced and
// extra query parameters added.
func metaWithPath(t *testing.T, dsn, path string, params map[string]string) string {
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

func metaExec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	ctx := metaCtx(t)
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("fixture %q: %v", s, err)
		}
	}
}

// metaSession runs fn on a read-only Session, the way the tools call the
// dialect, with a row cap smaller than the catalog so that a cap leaking
// into introspection would show.
func metaSession(t *testing.T, d dialect.Dialect, db *sql.DB, fn func(q dialect.Queryer)) {
	t.Helper()
	ctx := metaCtx(t)
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

func metaPtr[T any](v T) *T { return &v }

// metaTableNames lists "schema.name" of each table, in order.
func metaTableNames(ts []dialect.Table) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Schema+"."+t.Name)
	}
	return out
}

// metaOnlySchema keeps the tables of one schema: a server's other
// databases are not ours to assert on.
func metaOnlySchema(ts []dialect.Table, schema string) []dialect.Table {
	return slices.DeleteFunc(slices.Clone(ts), func(t dialect.Table) bool { return t.Schema != schema })
}

// metaCheckBound asserts the row-count bound: every table listed, at most
// maxExact counted, the rest labelled estimates, and counted rows right.
func metaCheckBound(t *testing.T, got []dialect.Table, n, maxExact int, wantRows func(name string) int64) {
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
