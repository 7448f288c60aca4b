package integration_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
// to a backend: common/ first, then the backend's own directory corpus,
// placeholders filled.
func loadCorpus(t *testing.T, corpus, kind, dir, db string) []corpusEntry {
	t.Helper()
	var out []corpusEntry
	for _, sub := range []string{"common", corpus} {
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
		err = execAll(context.Background(), b.admin, b.rec.corpusObjects...)
	})
	if err != nil {
		t.Fatalf("creating the corpus objects: %v", err)
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
		attacks := loadCorpus(t, b.rec.corpus, "attacks", dir, b.dbName)
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
			if acceptedByPolicy(b.d, a.sql) {
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
		reads := loadCorpus(t, b.rec.corpus, "reads", t.TempDir(), b.dbName)
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
			for _, e := range loadCorpus(t, b.rec.corpus, kind, dir, b.dbName) {
				inputs = append(inputs, e.sql)
			}
		}
		attackSet := map[string]bool{}
		for _, e := range loadCorpus(t, b.rec.corpus, "attacks", dir, b.dbName) {
			attackSet[e.sql] = true
		}
		fuzzDirs := []string{"../dialect/policy/testdata/fuzz/FuzzCheck"}
		if extra := os.Getenv("SQLMCP_FUZZ_CORPUS"); extra != "" {
			fuzzDirs = append(fuzzDirs, extra)
		}
		for _, fd := range fuzzDirs {
			inputs = append(inputs, fuzzInputs(t, fd, b.rec.fuzzFlavor)...)
		}
		before := snapshot(t, b, []string{dir})
		ctx := context.Background()
		accepted := 0
		for _, in := range inputs {
			if !acceptedByPolicy(b.d, in) {
				continue
			}
			accepted++
			r := runBelowPolicy(ctx, b, in)
			if r.err == nil {
				continue
			}
			switch {
			case r.classified && r.denied && attackSet[in]:
				// An attack only the database can see (a user function
				// that writes): refused by the layer meant to refuse it.
			case r.classified && r.denied:
				t.Errorf("the policy accepted a statement the database refused as a write:\n  %q\n  -> %s %s", in, r.code, r.msg)
			case b.rec.multipleStatements(r.err):
				t.Errorf("the policy accepted text the database reads as several statements:\n  %q\n  -> %v", in, r.err)
			}
		}
		after := snapshot(t, b, []string{dir})
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("accepted statements changed the database (-before +after):\n%s", diff)
		}
		t.Logf("%s: %d of %d inputs accepted by the policy and run below it", b.name, accepted, len(inputs))
	})
}

// fuzzInputs reads the Go fuzz corpus files of FuzzCheck in dir (each a
// flavor index and a string) and returns the strings meant for the flavor
// at index flavor of FuzzCheck's list of three.
func fuzzInputs(t *testing.T, dir string, flavor int) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	const flavors = 3 // postgres, mysql, sqlite: dialect/policy's FuzzCheck
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
		if int(n)%flavors == flavor {
			out = append(out, str)
		}
	}
	return out
}
