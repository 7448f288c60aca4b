package demo_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/cmd/sqlmcp/demo"
	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/all"
	"github.com/sqlmcp/sqlmcp/integration/fixture"
)

// TestEmbeddedChinook opens the demo database the way `sqlmcp --demo` does
// and checks it holds exactly what the Chinook script inserts: a stale
// chinook.db (script or loader changed, go generate not rerun) fails here.
func TestEmbeddedChinook(t *testing.T) {
	path, cleanup, err := demo.WriteTemp()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cleanup()
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("cleanup left %s behind (stat: %v)", path, err)
		}
	}()

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o400 {
		t.Errorf("demo database mode = %v, want -r-------- (read-only)", perm)
	}

	target, err := dialect.ParseDSN(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := target.Backend.Open(target, dialect.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if diff := cmp.Diff(fixture.Tables, tables); diff != "" {
		t.Errorf("demo tables (-want +got):\n%s", diff)
	}

	want, err := fixture.ExpectedRowCounts("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, table := range fixture.Tables {
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		got[table] = n
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("demo row counts differ from the Chinook script; run go generate ./cmd/sqlmcp/demo (-script +demo):\n%s", diff)
	}
}

// TestWriteTempFresh checks each call gets its own file, so two demo
// servers never share one.
func TestWriteTempFresh(t *testing.T) {
	a, cleanA, err := demo.WriteTemp()
	if err != nil {
		t.Fatal(err)
	}
	defer cleanA()
	b, cleanB, err := demo.WriteTemp()
	if err != nil {
		t.Fatal(err)
	}
	defer cleanB()
	if a == b {
		t.Errorf("WriteTemp returned %s twice", a)
	}
}
