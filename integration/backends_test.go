package integration_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/integration/fixture"
)

// records are the backends the suite runs against, in the order it runs
// them: SQLite (in-process, always there) first, then the servers.
//
// Adding a backend to the suite: write <name>_test.go with its record
// (every field of conformance chosen: a nil function or empty string is
// a decision that the backend lacks the ability) and list it here; add
// its Chinook script to the fixture and its corpus to
// testdata/corpus/<name>/. No test changes: TestConformance and the
// others read the record.
var records = []*conformance{&sqliteRecord, &postgresRecord, &mysqlRecord}

// conformance is everything the suite knows about one backend: how to set
// its test database up, and the facts the shared tests need in the
// backend's own SQL. A test reads these fields; it never compares the
// backend's name. A nil function or empty string means the backend lacks
// that ability, and the tests that need it say so (see each field).
type conformance struct {
	// name is the backend's name in SQLMCP_REQUIRE_BACKENDS, in subtest
	// names and in the fixture and corpus directories.
	name string
	// env names the variable holding the server's DSN and defaultDSN the
	// DSN used without it; both empty for a file-based backend, which is
	// always available.
	env, defaultDSN string
	// newDatabase creates the empty database the run uses, with its admin
	// pool; skip is set when the server is unreachable.
	newDatabase func(ctx context.Context, r *conformance) (b *backend, skip string, err error)
	// createBig creates the table big (n, label) with rows rows, n from 1.
	createBig func(ctx context.Context, admin *sql.DB, rows int) error
	// qualify is table qualified with its schema, as a model writes it.
	qualify func(b *backend, table string) string
	// columnTypes is true when result columns carry the database's type
	// name (SQLite's expressions have none).
	columnTypes bool
	// valuesSQL selects the same values on every backend, in its own
	// spelling: big, small, exact_dec, nul, bin, txt, flag, f, ts, d.
	valuesSQL string
	// reads are legitimate reads in the backend's own dialect, beyond
	// the portable ones.
	reads []string
	// attacks are the backend's own attacks beyond the portable ones;
	// file is a path to write to, dbFile a second database file, outFile
	// a path in the server's /tmp.
	attacks func(file, dbFile, outFile string) []string
	// runaway are statements that would run for hours, beyond the
	// portable cross join.
	runaway []string
	// hugeValues are statements that make a value of about a gigabyte.
	hugeValues []string
	// runningSQL counts the statements whose text contains its one
	// argument that run on the server; "" when the database runs in this
	// process and has nothing to ask.
	runningSQL string
	// snapshotTablesSQL lists the tables an attack must leave alone;
	// tableChecksum, when set, is an expression summarising the rows of
	// the table aliased t (the table's name is given: big is summed, not
	// hashed); snapshotExtra records the backend's other traces.
	snapshotTablesSQL string
	tableChecksum     func(table string) string
	snapshotExtra     func(t *testing.T, sn *snapshotter, tables []string)
	// poolState records the session state of one pooled connection that
	// a call must not leave behind for the next caller.
	poolState func(ctx context.Context, conn *sql.Conn, probe func(k, q string), out map[string]string)
	// corpus is the backend's directory of attacks and reads under
	// testdata/corpus (beside common/); corpusObjects creates what they
	// aim at besides Chinook.
	corpus        string
	corpusObjects []string
	// multipleStatements tells whether the database refused a text
	// because it held more than one statement.
	multipleStatements func(err error) bool
	// fuzzFlavor is the backend's index in dialect/policy's FuzzCheck
	// flavor list (postgres, mysql, sqlite), by which the fuzz corpus
	// files say whom an input is for.
	fuzzFlavor int
	// stateRoutines creates code that leaves session state behind out of
	// the policy's sight; sessionLeaks checks that the next call on the
	// same pooled connection finds none of it. Both nil when nothing a
	// read runs can set session state (noSessionState says why).
	stateRoutines  []string
	sessionLeaks   func(t *testing.T, b *backend, s *toolstestSession)
	noSessionState string
	// superuserFindings checks what the privilege check says about the
	// suite's own (superuser) DSN; readerRole is the README's
	// least-privilege recipe for role on database db. Nil for a
	// file-based backend, whose privilege check is about the file.
	superuserFindings func(t *testing.T, findings []string)
	readerRole        func(role, db string) (setup, teardown []string)
	// catalog is the describe/list fixture and what the tools must say
	// about it (catalog_test.go).
	catalog catalogFacts
	// faults, when set, are the facts the fault tests need: the backend
	// is a server they can put a proxy in front of (faults_test.go).
	faults *faultFacts
}

// backend is one real database loaded with Chinook for the suite.
type backend struct {
	rec  *conformance
	name string // rec.name
	// url is the DSN sqlmcp is given (a superuser on purpose: the server's
	// own layers are what is tested).
	url string
	// admin is a separate, writable connection to the same database, used
	// to set up fixtures and to check that nothing changed.
	admin *sql.DB
	// db and d are what sqlmcp itself opens from url.
	db *sql.DB
	d  sqlmcpDialect
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
	for _, r := range records {
		if b := backendOf(t, r); b != nil {
			out = append(out, b)
		}
	}
	return out
}

// backendOf sets r's backend up once per run and returns it, or nil
// (logged) when it is unavailable and not required.
func backendOf(t *testing.T, r *conformance) *backend {
	t.Helper()
	v, _ := setupOnce.LoadOrStore(r.name, &onceBackend{})
	ob := v.(*onceBackend)
	ob.once.Do(func() { ob.b, ob.skip, ob.err = setup(r) })
	switch {
	case ob.err != nil:
		t.Fatalf("%s: setting up the test database: %v", r.name, ob.err)
	case ob.skip != "" && required(r.name):
		t.Fatalf("%s is required (SQLMCP_REQUIRE_BACKENDS) but unavailable: %s", r.name, ob.skip)
	case ob.skip != "":
		t.Logf("SKIPPING %s SUITE: %s (set %s, or SQLMCP_REQUIRE_BACKENDS to fail instead)", strings.ToUpper(r.name), ob.skip, r.env)
		fmt.Fprintf(os.Stderr, "\n*** integration: %s suite SKIPPED: %s ***\n\n", r.name, ob.skip)
		return nil
	}
	return ob.b
}

// setup creates r's test database, loads Chinook and the big table into
// it, and opens sqlmcp's own pool on it.
func setup(r *conformance) (*backend, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, skip, err := r.newDatabase(ctx, r)
	if b == nil {
		return nil, skip, err
	}
	b.rec, b.name, b.bigRows = r, r.name, bigRows
	if err := fixture.LoadChinook(ctx, r.name, b.admin); err != nil {
		return nil, "", err
	}
	if err := r.createBig(ctx, b.admin, bigRows); err != nil {
		return nil, "", fmt.Errorf("create big: %w", err)
	}
	if b.db, b.d, err = openTarget(b.url); err != nil {
		return nil, "", err
	}
	addCleanup(func() { b.db.Close(); b.admin.Close() })
	return b, "", nil
}

// openTarget opens sqlmcp's pool on rawURL as the suite's backends use it.
func openTarget(rawURL string) (*sql.DB, sqlmcpDialect, error) {
	db, d, err := openSQLMCP(rawURL, true)
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(4)
	return db, d, nil
}

// newServerDatabase connects to the server behind r.env (or
// r.defaultDSN), creates a fresh database there with create (a format
// with the database's name), and returns a backend for it with its admin
// pool open. skip is set when the server is unreachable.
func newServerDatabase(ctx context.Context, r *conformance, create, drop string) (b *backend, skip string, err error) {
	base := envOr(r.env, r.defaultDSN)
	root, redacted, err := openAdmin(base)
	if err != nil {
		return nil, "", err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := root.PingContext(pctx); err != nil {
		root.Close()
		return nil, fmt.Sprintf("%s at %s unreachable: %v", r.name, redacted, err), nil
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
	b = &backend{url: u.String(), dbName: db}
	if b.admin, _, err = openAdmin(b.url); err != nil {
		return nil, "", err
	}
	return b, "", nil
}

// execAll runs stmts on db in order.
func execAll(ctx context.Context, db *sql.DB, stmts ...string) error {
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}
