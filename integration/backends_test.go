package integration_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/all"
	"github.com/sqlmcp/sqlmcp/integration/fixture"
)

// backend is one real database loaded with Chinook for the suite.
type backend struct {
	name string
	// url is the DSN sqlmcp is given (a superuser on purpose: the server's
	// own layers are what is tested).
	url string
	// admin is a separate, writable connection to the same database, used
	// to set up fixtures and to check that nothing changed.
	admin *sql.DB
	// db and d are what sqlmcp itself opens from url.
	db *sql.DB
	d  dialect.Backend
	// dbName is the database (PG, MySQL) or file (SQLite) created for the run.
	dbName string
	// bigRows is the size of the big table.
	bigRows int64
	// transport is how serve reaches the tools: "inmemory" (the
	// in-process pipe that stands in for stdio) or "http" (streamable
	// HTTP on a loopback server). forEach sets it per subtest.
	transport string
}

const bigRows = 300_000

var (
	setupOnce sync.Map // name -> *onceBackend
	cleanups  []func()
	cleanupMu sync.Mutex
)

type onceBackend struct {
	once sync.Once
	b    *backend
	err  error
	skip string
}

func TestMain(m *testing.M) {
	code := m.Run()
	cleanupMu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanupMu.Unlock()
	os.Exit(code)
}

func addCleanup(f func()) {
	cleanupMu.Lock()
	cleanups = append(cleanups, f)
	cleanupMu.Unlock()
}

func required(name string) bool {
	for _, r := range strings.Split(os.Getenv("SQLMCP_REQUIRE_BACKENDS"), ",") {
		if strings.TrimSpace(r) == name {
			return true
		}
	}
	return false
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func randName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// allBackends returns every backend available on this machine, skipping
// loudly (or failing, when SQLMCP_REQUIRE_BACKENDS names it) for the rest.
func allBackends(t *testing.T) []*backend {
	t.Helper()
	var out []*backend
	for _, name := range []string{"sqlite", "postgres", "mysql"} {
		v, _ := setupOnce.LoadOrStore(name, &onceBackend{})
		ob := v.(*onceBackend)
		ob.once.Do(func() { ob.b, ob.skip, ob.err = setup(name) })
		switch {
		case ob.err != nil:
			t.Fatalf("%s: setting up the test database: %v", name, ob.err)
		case ob.skip != "" && required(name):
			t.Fatalf("%s is required (SQLMCP_REQUIRE_BACKENDS) but unavailable: %s", name, ob.skip)
		case ob.skip != "":
			t.Logf("SKIPPING %s SUITE: %s (set %s, or SQLMCP_REQUIRE_BACKENDS to fail instead)", strings.ToUpper(name), ob.skip, envName(name))
			fmt.Fprintf(os.Stderr, "\n*** integration: %s suite SKIPPED: %s ***\n\n", name, ob.skip)
			continue
		}
		out = append(out, ob.b)
	}
	return out
}

func envName(name string) string {
	if name == "mysql" {
		return "SQLMCP_TEST_MYSQL"
	}
	return "SQLMCP_TEST_POSTGRES"
}

func setup(name string) (*backend, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	switch name {
	case "sqlite":
		return setupSQLite(ctx)
	case "postgres":
		return setupPostgres(ctx)
	case "mysql":
		return setupMySQL(ctx)
	}
	return nil, "", fmt.Errorf("unknown backend %s", name)
}

func openTarget(rawURL string) (*sql.DB, dialect.Backend, error) {
	tg, err := dialect.ParseDSN(rawURL)
	if err != nil {
		return nil, nil, err
	}
	// As cmd/sqlmcp opens it: with the guard against oversized rows.
	db, err := tg.Backend.Open(tg, dialect.OpenOptions{MaxMessageBytes: dialect.MessageLimit(1 << 20)})
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(4)
	return db, tg.Backend, nil
}

func setupSQLite(ctx context.Context) (*backend, string, error) {
	dir, err := os.MkdirTemp("", "sqlmcp-it-")
	if err != nil {
		return nil, "", err
	}
	addCleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "chinook.db")
	admin, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, "", err
	}
	admin.SetMaxOpenConns(1)
	if err := fixture.LoadChinook(ctx, "sqlite", admin); err != nil {
		return nil, "", err
	}
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE big AS WITH RECURSIVE c(n) AS
		(SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n < %d) SELECT n, 'row ' || n AS label FROM c`, bigRows)); err != nil {
		return nil, "", err
	}
	b := &backend{name: "sqlite", url: "sqlite://" + path, admin: admin, dbName: path, bigRows: bigRows}
	if b.db, b.d, err = openTarget(b.url); err != nil {
		return nil, "", err
	}
	addCleanup(func() { b.db.Close(); admin.Close() })
	return b, "", nil
}

// newServerDatabase connects to the server behind envVar (or def), creates
// a fresh database there with create, and returns a backend for it with
// its admin pool open. skip is set when the server is unreachable.
func newServerDatabase(ctx context.Context, name, envVar, def, create, drop string) (b *backend, skip string, err error) {
	base := envOr(envVar, def)
	tg, err := dialect.ParseDSN(base)
	if err != nil {
		return nil, "", err
	}
	root, err := tg.Backend.Open(tg, dialect.OpenOptions{})
	if err != nil {
		return nil, "", err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := root.PingContext(pctx); err != nil {
		root.Close()
		return nil, fmt.Sprintf("%s at %s unreachable: %v", name, tg.Redacted, err), nil
	}
	db := randName("sqlmcp_it_")
	if _, err := root.ExecContext(ctx, fmt.Sprintf(create, db)); err != nil {
		return nil, "", err
	}
	addCleanup(func() {
		root.Exec(fmt.Sprintf(drop, db))
		root.Close()
	})
	u, _ := url.Parse(base)
	u.Path = "/" + db
	b = &backend{url: u.String(), dbName: db, bigRows: bigRows}
	atg, _ := dialect.ParseDSN(b.url)
	if b.admin, err = atg.Backend.Open(atg, dialect.OpenOptions{}); err != nil {
		return nil, "", err
	}
	return b, "", nil
}

// finish opens sqlmcp's own pool on the backend.
func (b *backend) finish() (*backend, string, error) {
	var err error
	if b.db, b.d, err = openTarget(b.url); err != nil {
		return nil, "", err
	}
	addCleanup(func() { b.db.Close(); b.admin.Close() })
	return b, "", nil
}

func setupPostgres(ctx context.Context) (*backend, string, error) {
	b, skip, err := newServerDatabase(ctx, "PostgreSQL", "SQLMCP_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"CREATE DATABASE %s", "DROP DATABASE IF EXISTS %s WITH (FORCE)")
	if b == nil {
		return nil, skip, err
	}
	b.name = "postgres"
	if err := fixture.LoadChinook(ctx, "postgres", b.admin); err != nil {
		return nil, "", err
	}
	if _, err := b.admin.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE big AS SELECT n, 'row ' || n AS label FROM generate_series(1, %d) n;
		ANALYZE`, bigRows)); err != nil {
		return nil, "", err
	}
	return b.finish()
}

func setupMySQL(ctx context.Context) (*backend, string, error) {
	b, skip, err := newServerDatabase(ctx, "MySQL/MariaDB", "SQLMCP_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test",
		"CREATE DATABASE %s CHARACTER SET utf8mb4", "DROP DATABASE IF EXISTS %s")
	if b == nil {
		return nil, skip, err
	}
	b.name = "mysql"
	b.admin.SetMaxOpenConns(1)
	if err := fixture.LoadChinook(ctx, "mysql", b.admin); err != nil {
		return nil, "", err
	}
	for _, s := range []string{
		`CREATE TABLE big (n INT PRIMARY KEY, label VARCHAR(20))`,
		`SET SESSION cte_max_recursion_depth = 1000000`,
		`SET SESSION max_recursive_iterations = 1000000`,
		fmt.Sprintf(`INSERT INTO big WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n < %d)
			SELECT n, CONCAT('row ', n) FROM c`, bigRows),
		`ANALYZE TABLE big`,
	} {
		if _, err := b.admin.ExecContext(ctx, s); err != nil {
			if strings.HasPrefix(s, "SET SESSION") {
				continue // each server knows only one of the two recursion limits
			}
			return nil, "", fmt.Errorf("%s: %w", s, err)
		}
	}
	return b.finish()
}
