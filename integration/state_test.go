package integration_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/tools"
)

// state is what an attack must not change: every table with its row count
// and a checksum of its contents, plus backend-specific traces (sequences,
// large objects, catalogs, advisory and named locks, files).
type state struct {
	Tables map[string]int64
	Extra  map[string]string
}

// snapshotter collects one snapshot: the backend's snapshotExtra adds
// its traces with extra.
type snapshotter struct {
	t   *testing.T
	ctx context.Context
	b   *backend
	st  state
}

// extra records under k the one value q selects.
func (sn *snapshotter) extra(k, q string) {
	sn.t.Helper()
	var v sql.NullString
	if err := sn.b.admin.QueryRowContext(sn.ctx, q).Scan(&v); err != nil {
		sn.t.Fatalf("snapshot %s: %v", k, err)
	}
	sn.st.Extra[k] = v.String
}

// snapshot reads the state through the admin connection. files are paths
// whose existence is recorded; a directory among them is listed, so that a
// file an attack creates anywhere inside it shows.
func snapshot(t *testing.T, b *backend, files []string) state {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := state{Tables: map[string]int64{}, Extra: map[string]string{}}
	names := queryStrings(t, b.admin, b.rec.snapshotTablesSQL)
	sort.Strings(names)
	// One round trip for every table: its row count and, where the
	// backend has a way, an order-independent checksum of its rows.
	var parts []string
	for _, n := range names {
		sum := "''"
		if b.rec.tableChecksum != nil {
			sum = b.rec.tableChecksum(n)
		}
		parts = append(parts, fmt.Sprintf("SELECT %s, count(*), %s FROM %s t", quoteLiteral(n), sum, b.d.QuoteIdent(n)))
	}
	if len(parts) > 0 {
		rows, err := b.admin.QueryContext(ctx, strings.Join(parts, " UNION ALL "))
		if err != nil {
			t.Fatalf("snapshot tables: %v", err)
		}
		for rows.Next() {
			var n, sum string
			var c int64
			if err := rows.Scan(&n, &c, &sum); err != nil {
				t.Fatal(err)
			}
			st.Tables[n] = c
			if sum != "" {
				st.Extra["checksum "+n] = sum
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	b.rec.snapshotExtra(t, &snapshotter{t: t, ctx: ctx, b: b, st: st}, names)
	for _, f := range files {
		fi, err := os.Stat(f)
		switch {
		case err != nil:
			st.Extra["file "+f] = "absent"
		case fi.IsDir():
			ents, _ := os.ReadDir(f)
			var list []string
			for _, e := range ents {
				list = append(list, e.Name())
			}
			st.Extra["dir "+f] = strings.Join(list, ",")
		default:
			st.Extra["file "+f] = "present"
		}
	}
	return st
}

// fileDigest is the SHA-256 of a file, "absent" if there is none.
func fileDigest(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "absent"
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "error: " + err.Error()
	}
	return hex.EncodeToString(h.Sum(nil))
}

// poolState reads the session state of the one connection of pool (a pool
// of size 1 the tools under test use): what a call must not leave behind
// for the next caller. The connection id is part of it, so a changed
// connection (a discarded one) shows rather than hiding leaked state.
func poolState(t *testing.T, b *backend, pool *sql.DB) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pool.Conn(ctx)
	if err != nil {
		t.Fatalf("pool state: %v", err)
	}
	defer conn.Close()
	out := map[string]string{}
	probe := func(k, q string) {
		var v sql.NullString
		if err := conn.QueryRowContext(ctx, q).Scan(&v); err != nil {
			out[k] = "error: " + err.Error()
			return
		}
		out[k] = v.String
	}
	b.rec.poolState(ctx, conn, probe, out)
	return out
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// worldWritableDir is a temporary directory the database servers' own
// users could write to, so that an escaped file write would land there.
func worldWritableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sqlmcp-corpus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(dir)
}

var stateRoutines sync.Map // backend name -> *sync.Once

// createStateRoutines creates the backend's stateRoutines once per run.
func createStateRoutines(t *testing.T, b *backend) {
	t.Helper()
	v, _ := stateRoutines.LoadOrStore(b.name, &sync.Once{})
	var err error
	v.(*sync.Once).Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = execAll(ctx, b.admin, b.rec.stateRoutines...)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rowsOf is a call's rows as one comparable string, failing the test on
// an error.
func rowsOf(t *testing.T, s *toolstestSession, sql string) string {
	t.Helper()
	res := s.call("query", map[string]any{"sql": sql})
	if res.IsError {
		t.Fatalf("%s: %s", sql, res.Text)
	}
	return fmt.Sprint(res.Rows())
}

// TestCallsLeaveNoStateOnThePooledConnection runs, through a pool of one
// connection, code that leaves session state behind where the statement
// policy cannot see it — stored functions, views over them, MariaDB's
// sys.* functions, PostgreSQL's setseed() — and checks that the next call
// on the same pool finds none of it: user and session variables, named
// locks, a predictable random().
func TestCallsLeaveNoStateOnThePooledConnection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		if b.rec.sessionLeaks == nil {
			t.Skip(b.rec.noSessionState)
		}
		createStateRoutines(t, b)
		s, _ := singleConnTools(t, b, tools.Options{QueryTimeout: 5 * time.Second})
		b.rec.sessionLeaks(t, b, s)
	})
}
