package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// corpusDir holds the public attack and read corpora (format: its README).
const corpusDir = "../testdata/corpus"

// corpusEntry is one statement of a corpus file.
type corpusEntry struct {
	file   string
	line   int
	why    string
	expect string // "" (refused: not allowed) or "error" (attacks only)
	sql    string
}

func (e corpusEntry) String() string { return fmt.Sprintf("%s:%d", e.file, e.line) }

// parseCorpus splits a corpus file into entries: see testdata/corpus/README.md.
func parseCorpus(name, text string) ([]corpusEntry, error) {
	lines := strings.SplitAfter(text, "\n")
	var out []corpusEntry
	var cur []string
	start, header := 1, true
	flush := func(next int) error {
		defer func() { cur, start = nil, next }()
		if header {
			header = false
			return nil
		}
		e := corpusEntry{file: name, line: start}
		i := 0
		for ; i < len(cur); i++ {
			l := strings.TrimRight(cur[i], "\n")
			switch {
			case strings.HasPrefix(l, "-- why:"):
				e.why = strings.TrimSpace(e.why + " " + strings.TrimSpace(strings.TrimPrefix(l, "-- why:")))
				continue
			case strings.HasPrefix(l, "-- expect:"):
				e.expect = strings.TrimSpace(strings.TrimPrefix(l, "-- expect:"))
				if e.expect != "error" {
					return fmt.Errorf("%s:%d: unknown expectation %q", name, start+i, e.expect)
				}
				continue
			}
			break
		}
		e.line = start + i
		e.sql = strings.TrimSuffix(strings.Join(cur[i:], ""), "\n")
		if strings.TrimSpace(e.sql) == "" {
			return fmt.Errorf("%s:%d: empty entry", name, start)
		}
		out = append(out, e)
		return nil
	}
	for i, l := range lines {
		if strings.TrimRight(l, "\n") == "-- ----" {
			if err := flush(i + 2); err != nil {
				return nil, err
			}
			continue
		}
		cur = append(cur, l)
	}
	if err := flush(len(lines) + 1); err != nil {
		return nil, err
	}
	return out, nil
}

// loadCorpus returns the entries of kind ("attacks" or "reads") that apply
// to backend: common/ first, then the backend's own, placeholders filled.
func loadCorpus(t *testing.T, backend, kind, dir, db string) []corpusEntry {
	t.Helper()
	var out []corpusEntry
	for _, sub := range []string{"common", backend} {
		path := filepath.Join(corpusDir, sub, kind+".sql")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("corpus: %v", err)
		}
		es, err := parseCorpus(sub+"/"+kind+".sql", string(raw))
		if err != nil {
			t.Fatalf("corpus: %v", err)
		}
		for i := range es {
			es[i].sql = strings.NewReplacer("{{dir}}", dir, "{{db}}", db).Replace(es[i].sql)
		}
		out = append(out, es...)
	}
	return out
}

var corpusObjects sync.Map // backend name -> *sync.Once

// createCorpusObjects creates, once per backend, what the corpus aims at
// besides Chinook: a table, a sequence, a function and a procedure that
// write, and (PostgreSQL) BRIN and GIN indexes whose maintenance functions
// write even in a read-only transaction.
func createCorpusObjects(t *testing.T, b *backend) {
	t.Helper()
	v, _ := corpusObjects.LoadOrStore(b.name, &sync.Once{})
	var err error
	v.(*sync.Once).Do(func() {
		var stmts []string
		switch b.name {
		case "postgres":
			stmts = []string{
				`CREATE TABLE attack_target (id int PRIMARY KEY, v text, tags int[])`,
				`INSERT INTO attack_target SELECT i, 'row ' || i, ARRAY[i] FROM generate_series(1, 200) i`,
				`CREATE INDEX attack_target_brin ON attack_target USING brin (id) WITH (pages_per_range = 1)`,
				`CREATE INDEX attack_target_gin ON attack_target USING gin (tags) WITH (fastupdate = on)`,
				`CREATE SEQUENCE attack_seq`,
				`SELECT nextval('attack_seq')`,
				`CREATE FUNCTION attack_write() RETURNS int LANGUAGE sql AS $$ INSERT INTO attack_target VALUES (-1, 'pwned') RETURNING id $$`,
				`CREATE PROCEDURE attack_proc() LANGUAGE sql AS $$ DELETE FROM attack_target $$`,
			}
		case "mysql":
			stmts = []string{
				`CREATE TABLE attack_target (id INT PRIMARY KEY, v VARCHAR(20))`,
				`INSERT INTO attack_target VALUES (1, 'row 1'), (2, 'row 2'), (3, 'row 3')`,
				`CREATE SEQUENCE attack_seq`,
				`CREATE FUNCTION attack_write() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO attack_target VALUES (-1, 'pwned'); RETURN 1; END`,
				`CREATE PROCEDURE attack_proc() DELETE FROM attack_target`,
			}
		case "sqlite":
			stmts = []string{
				`CREATE TABLE attack_target (id INTEGER PRIMARY KEY, v TEXT)`,
				`INSERT INTO attack_target VALUES (1, 'row 1'), (2, 'row 2'), (3, 'row 3')`,
				// The corpus's range read on big is meant to be cheap, as it
				// is on MySQL (primary key) and PostgreSQL (a fast scan):
				// without an index, SQLite under -race scanned 300,000 rows
				// for 1.5 s on a quiet machine and hit the timeout on a busy
				// one.
				`CREATE INDEX IF NOT EXISTS big_n ON big (n)`,
			}
		}
		for _, s := range stmts {
			if _, err = b.admin.Exec(s); err != nil {
				err = fmt.Errorf("%s: %w", s, err)
				return
			}
		}
	})
	if err != nil {
		t.Fatalf("creating the corpus objects: %v", err)
	}
}

// forEachBackend runs f per backend over the default transport only: the
// corpus tests inspect the database after every statement, and the
// read-only layers are below the transport.
func forEachBackend(t *testing.T, f func(t *testing.T, b *backend)) {
	for _, b := range allBackends(t) {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// singleConnTools serves b through its own pool of exactly one connection,
// so that the connection every call used can be inspected afterwards.
func singleConnTools(t *testing.T, b *backend, opts tools.Options) (*toolstestSession, *sql.DB) {
	t.Helper()
	pool, d, err := openTarget(b.url)
	if err != nil {
		t.Fatal(err)
	}
	pool.SetMaxOpenConns(1)
	pool.SetMaxIdleConns(1)
	t.Cleanup(func() { pool.Close() })
	bb := *b
	bb.db, bb.d = pool, d
	return serve(t, &bb, opts), pool
}

// TestCorpusAttacksAreRefusedAndChangeNothing runs every attack of the
// corpus through the query tool and checks, after each one, that it was
// refused and that neither the database nor the pooled connection changed.
func TestCorpusAttacksAreRefusedAndChangeNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		createCorpusObjects(t, b)
		dir := worldWritableDir(t)
		audit := &toolstest.AuditLog{}
		s, pool := singleConnTools(t, b, tools.Options{QueryTimeout: 5 * time.Second, Audit: audit})
		attacks := loadCorpus(t, b.name, "attacks", dir, b.dbName)
		// Warm the pool so that its one connection exists and carries the
		// session guards before the first comparison.
		if res := s.call("query", map[string]any{"sql": "SELECT 1"}); res.IsError {
			t.Fatal(res.Text)
		}
		before, beforePool := snapshot(t, b, []string{dir}), poolState(t, b, pool)
		var byPolicy, byDatabase int
		for _, a := range attacks {
			res := s.call("query", map[string]any{"sql": a.sql})
			outcome := audit.Last().Outcome
			switch {
			case !res.IsError:
				t.Errorf("ESCAPE %s: attack ran (%s):\n  %s\n  -> %.300s", a, a.why, a.sql, res.Text)
			case a.expect == "error":
			case !strings.Contains(res.Text, "not allowed") || outcome != tools.OutcomeDenied:
				t.Errorf("%s: attack not refused as \"not allowed\"/denied (outcome %s):\n  %s\n  -> %.300s", a, outcome, a.sql, res.Text)
			}
			if _, err := b.d.CheckReadOnly(a.sql); err == nil {
				byDatabase++
			} else {
				byPolicy++
			}
			after, afterPool := snapshot(t, b, []string{dir}), poolState(t, b, pool)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("%s: the database changed under attack\n  %s\n(-before +after):\n%s", a, a.sql, diff)
				before = after
			}
			if diff := cmp.Diff(beforePool, afterPool); diff != "" {
				t.Errorf("%s: the pooled connection changed under attack\n  %s\n(-before +after):\n%s", a, a.sql, diff)
				beforePool = afterPool
			}
		}
		t.Logf("%s: %d attacks refused: %d by the policy, %d by the database's read-only layer", b.name, len(attacks), byPolicy, byDatabase)
	})
}

// TestCorpusReadsSucceed runs every legitimate read of the corpus: a false
// rejection is a bug like an escape.
//
// The timeout is generous because what the corpus proves is acceptance, not
// speed: under -race on a busy two-core machine SQLite's window-function
// reads take several seconds. Reads over a second are logged.
func TestCorpusReadsSucceed(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		createCorpusObjects(t, b)
		s := serve(t, b, tools.Options{QueryTimeout: 60 * time.Second})
		reads := loadCorpus(t, b.name, "reads", t.TempDir(), b.dbName)
		for _, r := range reads {
			start := time.Now()
			if res := s.call("query", map[string]any{"sql": r.sql, "limit": 5}); res.IsError {
				t.Errorf("%s: legitimate read refused:\n  %s\n  -> %.300s", r, r.sql, res.Text)
			}
			if took := time.Since(start); took > time.Second {
				t.Logf("%s: slow read (%v): %.80s", r, took, r.sql)
			}
		}
		t.Logf("%s: %d reads", b.name, len(reads))
	})
}

// TestCorpusAcceptedStatementsAreSingleReads takes every statement the
// policy accepts — corpus reads, corpus attacks it lets through to the
// database, and the policy's fuzz corpus (plus SQLMCP_FUZZ_CORPUS, a
// directory such as $(go env GOCACHE)/fuzz/…/FuzzCheck) — and runs it
// straight through the dialect, below the policy, to check what the real
// database makes of it: never more than one statement, never a write.
func TestCorpusAcceptedStatementsAreSingleReads(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		createCorpusObjects(t, b)
		dir := worldWritableDir(t)
		var inputs []string
		for _, kind := range []string{"reads", "attacks"} {
			for _, e := range loadCorpus(t, b.name, kind, dir, b.dbName) {
				inputs = append(inputs, e.sql)
			}
		}
		attackSet := map[string]bool{}
		for _, e := range loadCorpus(t, b.name, "attacks", dir, b.dbName) {
			attackSet[e.sql] = true
		}
		flavor := map[string]policy.Flavor{"postgres": policy.Postgres, "mysql": policy.MySQL, "sqlite": policy.SQLite}[b.name]
		fuzzDirs := []string{"../dialect/policy/testdata/fuzz/FuzzCheck"}
		if extra := os.Getenv("SQLMCP_FUZZ_CORPUS"); extra != "" {
			fuzzDirs = append(fuzzDirs, extra)
		}
		for _, fd := range fuzzDirs {
			inputs = append(inputs, fuzzInputs(t, fd, flavor)...)
		}
		before := snapshot(t, b, []string{dir})
		ctx := context.Background()
		accepted := 0
		for _, in := range inputs {
			st, err := b.d.CheckReadOnly(in)
			if err != nil {
				continue
			}
			accepted++
			dbe, ok, err := runBelowPolicy(ctx, b, st)
			if err == nil {
				continue
			}
			switch {
			case ok && dbe.Denied && attackSet[in]:
				// An attack only the database can see (a user function
				// that writes): refused by the layer meant to refuse it.
			case ok && dbe.Denied:
				t.Errorf("the policy accepted a statement the database refused as a write:\n  %q\n  -> %s %s", in, dbe.Code, dbe.Message)
			case multipleStatements(b.name, err):
				t.Errorf("the policy accepted text the database reads as several statements:\n  %q\n  -> %v", in, err)
			}
		}
		after := snapshot(t, b, []string{dir})
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("accepted statements changed the database (-before +after):\n%s", diff)
		}
		t.Logf("%s: %d of %d inputs accepted by the policy and run below it", b.name, accepted, len(inputs))
	})
}

// runBelowPolicy runs an accepted statement through the dialect's session
// on a connection of b's pool, as the query tool does, and reads its rows.
func runBelowPolicy(ctx context.Context, b *backend, st policy.Statement) (dialect.DBError, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return dialect.DBError{}, false, err
	}
	defer conn.Close()
	sess, err := b.d.Begin(ctx, conn, dialect.SessionOptions{Timeout: 2 * time.Second, MaxRows: 5})
	if err != nil {
		return dialect.DBError{}, false, err
	}
	defer sess.Close()
	rows, err := sess.Query(ctx, st)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err == nil {
		return dialect.DBError{}, false, nil
	}
	dbe, ok := b.d.ClassifyError(err)
	return dbe, ok, err
}

// multipleStatements tells whether the database refused a text because it
// held more than one statement.
func multipleStatements(backend string, err error) bool {
	msg := err.Error()
	switch backend {
	case "postgres":
		return strings.Contains(msg, "cannot insert multiple commands")
	case "mysql":
		// With multiStatements off the server stops at the ";" with a
		// syntax error that quotes the rest of the text from it.
		return strings.Contains(msg, "1064") && strings.Contains(msg, "near ';")
	case "sqlite":
		return errors.Is(err, errSQLiteTail) || strings.Contains(msg, "multiple statements")
	}
	return false
}

var errSQLiteTail = errors.New("sqlite: trailing statement")

// fuzzInputs reads the Go fuzz corpus files of FuzzCheck in dir (each a
// flavor index and a string) and returns the strings meant for flavor.
func fuzzInputs(t *testing.T, dir string, flavor policy.Flavor) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	flavors := []policy.Flavor{policy.Postgres, policy.MySQL, policy.SQLite}
	var out []string
	for _, e := range ents {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[1], "byte(") && !strings.HasPrefix(lines[1], "uint8(") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(lines[1][strings.IndexByte(lines[1], '(')+1:], ")"), 0, 8)
		if err != nil {
			// byte('\x01') form
			r := strings.TrimSuffix(strings.TrimPrefix(lines[1], "byte("), ")")
			u, uerr := strconv.Unquote(r)
			if uerr != nil || len(u) != 1 {
				continue
			}
			n = uint64(u[0])
		}
		s := strings.TrimSuffix(strings.TrimPrefix(lines[2], "string("), ")")
		str, err := strconv.Unquote(s)
		if err != nil {
			continue
		}
		if flavors[int(n)%len(flavors)] == flavor {
			out = append(out, str)
		}
	}
	return out
}
