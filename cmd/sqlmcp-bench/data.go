package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/all"
	"github.com/sqlmcp/sqlmcp/integration/fixture"
)

// The data every backend gets, created once and reused while it is still
// what the harness expects.
const (
	// bigTable is shaped like pgbench_accounts.
	bigTable = "accounts"
	bigRows  = 2_000_000
	// wideTables small tables live in their own schema (PostgreSQL), database
	// (MySQL) or file (SQLite), so list_tables sees exactly them.
	wideTables = 1000
	wideName   = "wide"
)

// target is one prepared backend: the DSN the server is given, the schema
// list_tables is asked for, and a bare pool on the same driver.
type target struct {
	backend string
	dsn     string // for the server: the Chinook + accounts database
	wideDSN string // for the server, when the wide tables need their own (SQLite)
	wide    string // list_tables' schema argument ("" = all)
	db      *sql.DB
	wideDB  *sql.DB
	d       dialect.Backend
}

func (t *target) close() {
	t.db.Close()
	if t.wideDB != t.db {
		t.wideDB.Close()
	}
}

// errUnreachable marks a backend that is not there; the harness skips it.
var errUnreachable = errors.New("unreachable")

func prepare(ctx context.Context, backend string, cfg config) (*target, error) {
	switch backend {
	case "postgres":
		return preparePostgres(ctx, cfg.pg)
	case "mysql":
		return prepareMySQL(ctx, cfg.mysql)
	case "sqlite":
		return prepareSQLite(ctx, cfg.sqliteDir)
	}
	return nil, fmt.Errorf("unknown backend %q", backend)
}

// open opens a pool on the driver the server uses for dsn.
func open(ctx context.Context, dsn string) (*sql.DB, dialect.Backend, error) {
	tg, err := dialect.ParseDSN(dsn)
	if err != nil {
		return nil, nil, err
	}
	db, err := tg.Backend.Open(tg, dialect.OpenOptions{})
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(10) // the server's default pool
	db.SetMaxIdleConns(10)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%w: %s: %v", errUnreachable, tg.Redacted, err)
	}
	return db, tg.Backend, nil
}

func withDB(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.Path = "/" + name
	return u.String()
}

func dbName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

func execAll(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, stmts ...string) error {
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%.120s: %w", s, err)
		}
	}
	return nil
}

// chinookLoaded tells whether every Chinook table holds the script's rows.
func chinookLoaded(ctx context.Context, backend string, db *sql.DB) bool {
	want, err := fixture.ExpectedRowCounts(backend)
	if err != nil {
		return false
	}
	for table, n := range want {
		var got int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&got); err != nil || got != n {
			return false
		}
	}
	return true
}

func ensureChinook(ctx context.Context, backend string, db *sql.DB) error {
	if chinookLoaded(ctx, backend, db) {
		return nil
	}
	log.Printf("%s: loading Chinook", backend)
	return fixture.LoadChinook(ctx, backend, db)
}

func countIs(ctx context.Context, db *sql.DB, query string, want int64) bool {
	var n int64
	return db.QueryRowContext(ctx, query).Scan(&n) == nil && n == want
}

func preparePostgres(ctx context.Context, rawURL string) (*target, error) {
	name := dbName(rawURL)
	root, _, err := open(ctx, withDB(rawURL, "postgres"))
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var exists bool
	if err := root.QueryRowContext(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		if err := execAll(ctx, root, `CREATE DATABASE "`+name+`"`); err != nil {
			return nil, err
		}
	}
	db, d, err := open(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if err := ensureChinook(ctx, "postgres", db); err != nil {
		return nil, err
	}
	if !countIs(ctx, db, "SELECT count(*) FROM "+bigTable, bigRows) {
		log.Printf("postgres: creating %s (%d rows)", bigTable, bigRows)
		if err := execAll(ctx, db,
			"DROP TABLE IF EXISTS "+bigTable,
			fmt.Sprintf(`CREATE TABLE %s AS SELECT aid, (aid - 1) / 100000 + 1 AS bid, 0 AS abalance, ''::char(84) AS filler
				FROM generate_series(1, %d) aid`, bigTable, bigRows),
			"ALTER TABLE "+bigTable+" ADD PRIMARY KEY (aid)",
			"VACUUM ANALYZE "+bigTable,
		); err != nil {
			return nil, err
		}
	}
	if !countIs(ctx, db, "SELECT count(*) FROM pg_tables WHERE schemaname = '"+wideName+"'", wideTables) {
		log.Printf("postgres: creating %d tables in schema %s", wideTables, wideName)
		var sb strings.Builder
		sb.WriteString("BEGIN; DROP SCHEMA IF EXISTS " + wideName + " CASCADE; CREATE SCHEMA " + wideName + ";\n")
		for i := range wideTables {
			fmt.Fprintf(&sb, "CREATE TABLE %s.t%04d (id int PRIMARY KEY, name text NOT NULL, created timestamptz DEFAULT now());\n", wideName, i)
		}
		sb.WriteString("COMMIT; ANALYZE;")
		if err := execAll(ctx, db, sb.String()); err != nil {
			return nil, err
		}
	}
	return &target{backend: "postgres", dsn: rawURL, wide: wideName, db: db, wideDB: db, d: d}, nil
}

func prepareMySQL(ctx context.Context, rawURL string) (*target, error) {
	name := dbName(rawURL)
	wideDB := name + "_" + wideName
	root, _, err := open(ctx, withDB(rawURL, ""))
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if err := execAll(ctx, root,
		"CREATE DATABASE IF NOT EXISTS `"+name+"` CHARACTER SET utf8mb4",
		"CREATE DATABASE IF NOT EXISTS `"+wideDB+"` CHARACTER SET utf8mb4"); err != nil {
		return nil, err
	}
	db, d, err := open(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if err := ensureChinook(ctx, "mysql", db); err != nil {
		return nil, err
	}
	if !countIs(ctx, db, "SELECT count(*) FROM "+bigTable, bigRows) {
		log.Printf("mysql: creating %s (%d rows)", bigTable, bigRows)
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		// The server's global recursion limit is low; raise it for this
		// session only. Each server knows one of the two names.
		conn.ExecContext(ctx, fmt.Sprintf("SET SESSION max_recursive_iterations = %d", bigRows+1))
		conn.ExecContext(ctx, fmt.Sprintf("SET SESSION cte_max_recursion_depth = %d", bigRows+1))
		if err := execAll(ctx, conn,
			"DROP TABLE IF EXISTS "+bigTable,
			"CREATE TABLE "+bigTable+" (aid INT PRIMARY KEY, bid INT NOT NULL, abalance INT NOT NULL, filler CHAR(84))",
			fmt.Sprintf(`INSERT INTO %s WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < %d)
				SELECT n, (n - 1) DIV 100000 + 1, 0, '' FROM c`, bigTable, bigRows),
			"ANALYZE TABLE "+bigTable,
		); err != nil {
			return nil, err
		}
	}
	if !countIs(ctx, db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = '"+wideDB+"'", wideTables) {
		log.Printf("mysql: creating %d tables in database %s", wideTables, wideDB)
		for i := range wideTables {
			if err := execAll(ctx, db, fmt.Sprintf(
				"CREATE TABLE IF NOT EXISTS `%s`.t%04d (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, created TIMESTAMP NULL)", wideDB, i)); err != nil {
				return nil, err
			}
		}
	}
	return &target{backend: "mysql", dsn: rawURL, wide: wideDB, db: db, wideDB: db, d: d}, nil
}

func prepareSQLite(ctx context.Context, dir string) (*target, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	main, wide := filepath.Join(dir, "bench.db"), filepath.Join(dir, "wide.db")

	// Writable pools for loading; the measured pools are read-only, as
	// the server's are.
	rw, err := sql.Open("sqlite", main)
	if err != nil {
		return nil, err
	}
	defer rw.Close()
	rw.SetMaxOpenConns(1)
	if err := ensureChinook(ctx, "sqlite", rw); err != nil {
		return nil, err
	}
	if !countIs(ctx, rw, "SELECT count(*) FROM "+bigTable, bigRows) {
		log.Printf("sqlite: creating %s (%d rows)", bigTable, bigRows)
		if err := execAll(ctx, rw,
			"DROP TABLE IF EXISTS "+bigTable,
			"CREATE TABLE "+bigTable+" (aid INTEGER PRIMARY KEY, bid INTEGER NOT NULL, abalance INTEGER NOT NULL, filler CHAR(84))",
			fmt.Sprintf(`INSERT INTO %s WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < %d)
				SELECT n, (n - 1) / 100000 + 1, 0, '' FROM c`, bigTable, bigRows),
			"ANALYZE",
		); err != nil {
			return nil, err
		}
	}
	rwWide, err := sql.Open("sqlite", wide)
	if err != nil {
		return nil, err
	}
	defer rwWide.Close()
	rwWide.SetMaxOpenConns(1)
	if !countIs(ctx, rwWide, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'", wideTables) {
		log.Printf("sqlite: creating %d tables in %s", wideTables, wide)
		var sb strings.Builder
		sb.WriteString("BEGIN;\n")
		for i := range wideTables {
			fmt.Fprintf(&sb, "DROP TABLE IF EXISTS t%04d; CREATE TABLE t%04d (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created TEXT);\n", i, i)
		}
		sb.WriteString("COMMIT;")
		if err := execAll(ctx, rwWide, sb.String()); err != nil {
			return nil, err
		}
	}
	t := &target{backend: "sqlite", dsn: "sqlite://" + main, wideDSN: "sqlite://" + wide}
	if t.db, t.d, err = open(ctx, t.dsn); err != nil {
		return nil, err
	}
	if t.wideDB, _, err = open(ctx, t.wideDSN); err != nil {
		t.db.Close()
		return nil, err
	}
	return t, nil
}
