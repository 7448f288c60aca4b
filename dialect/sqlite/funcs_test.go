package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/dialecttest"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// funcValues are the operands the overridden functions are compared on:
// NULL, every storage class, UTF-8 of each width, invalid UTF-8 (stray
// continuation bytes, a lead byte alone, a lead byte followed by many
// continuation bytes), embedded NULs, numbers whose text SQLite renders in
// its own way.
var funcValues = []string{
	"NULL", "''", "'a'", "'abc'", "'aaa'", "'aXa'", "'ab'", "'ba'", "' a b '", "'xyx'", "'yx'",
	"'héllo'", "'é'", "'日本語'", "'本'", "'🙂x🙂'", "'🙂'",
	"x''", "x'00'", "x'61'", "x'616263'", "x'80'", "x'8061'", "x'c3'", "x'c3a9'", "x'c3a961'", "x'ff'", "x'e282ac'",
	"x'c3808080808061'", "x'61c380'",
	"CAST(x'610062' AS TEXT)", "CAST(x'0061' AS TEXT)", "CAST(x'c3a9' AS TEXT)", "CAST(x'80' AS TEXT)", "CAST(x'c3' AS TEXT)",
	"CAST(x'c3808080' AS TEXT)", "CAST(x'61c3a980' AS TEXT)",
	"0", "1", "-5", "10", "12345678901234567", "1.5", "0.1", "2.0/3", "1e300", "-0.0", "1e16", "1.5e-7", "100.0",
}

// openFuncDBs writes a table of funcValues and views over the overridden
// functions, then returns it opened twice: by the plain driver (SQLite's
// built-ins) and as sqlmcp opens it.
func openFuncDBs(t *testing.T) (builtin, sqlmcp *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "funcs.db")
	w, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for i, v := range funcValues {
		rows = append(rows, fmt.Sprintf("(%d, %s)", i, v))
	}
	for _, s := range []string{
		"CREATE TABLE v (id INTEGER PRIMARY KEY, x)",
		"INSERT INTO v VALUES " + strings.Join(rows, ", "),
		// A schema that uses them: with trusted_schema off, a function
		// that is not SQLITE_INNOCUOUS would make SQLite refuse it all.
		"CREATE VIEW trimmed AS SELECT trim(x, 'a') AS t, instr(x, 'b') AS i, replace(x, 'a', 'z') AS r FROM v",
		"CREATE TABLE gen (a TEXT, b TEXT GENERATED ALWAYS AS (replace(a, 'a', 'b')), c TEXT GENERATED ALWAYS AS (ltrim(a, 'a')))",
		"INSERT INTO gen (a) VALUES ('aXa')",
		"CREATE INDEX gen_r ON gen (rtrim(a, 'a'))",
	} {
		if _, err := w.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	w.Close()
	builtin, err = sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { builtin.Close() })
	target, err := dialect.ParseDSN("sqlite://" + path)
	if err != nil {
		t.Fatal(err)
	}
	sqlmcp, err = target.Backend.Open(target, dialect.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlmcp.Close() })
	return builtin, sqlmcp
}

func queryAll(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			parts = append(parts, fmt.Sprintf("%v:%q", v.Valid, v.String))
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSQLiteFunctionsMatchTheBuiltins compares sqlmcp's linear-time
// instr, replace, trim, ltrim and rtrim with SQLite's own on every pair
// (replace: triple) of funcValues: same type, same bytes.
func TestSQLiteFunctionsMatchTheBuiltins(t *testing.T) {
	builtin, sqlmcp := openFuncDBs(t)
	for _, q := range []string{
		`SELECT a.id, b.id, typeof(instr(a.x, b.x)), instr(a.x, b.x) FROM v a, v b ORDER BY 1, 2`,
		`SELECT a.id, b.id, typeof(trim(a.x, b.x)), hex(trim(a.x, b.x)),
			typeof(ltrim(a.x, b.x)), hex(ltrim(a.x, b.x)), typeof(rtrim(a.x, b.x)), hex(rtrim(a.x, b.x)) FROM v a, v b ORDER BY 1, 2`,
		`SELECT a.id, b.id, c.id, typeof(replace(a.x, b.x, c.x)), hex(replace(a.x, b.x, c.x))
			FROM v a, v b, v c WHERE a.id % 4 = 0 AND c.id % 5 = 0 ORDER BY 1, 2, 3`,
		`SELECT typeof(trim(x)), hex(trim(x)), hex(ltrim(x)), hex(rtrim(x)) FROM v ORDER BY id`,
		`SELECT hex(t), i, hex(r) FROM trimmed`,
		`SELECT b, c FROM gen WHERE rtrim(a, 'a') = 'aX'`,
		`SELECT replace(x'616161', 'a', 'bb'), instr(123456, 345), instr(x'00616263', x'6263'), trim(12321, 1), replace(1.5, '.', ',')`,
	} {
		want, got := queryAll(t, builtin, q), queryAll(t, sqlmcp, q)
		if len(want) == 0 {
			t.Fatalf("%s: no rows", q)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s\nbuilt-in vs sqlmcp (-built-in +sqlmcp):\n%s", q, diff)
		}
	}
}

// TestSQLiteStringFunctionsAreLinear runs the operands that make the
// built-ins quadratic (seconds to hours inside one uninterruptible VDBE
// opcode) through a session as the query tool runs it: each must finish
// well inside the timeout, or fail cleanly, never run on past it.
func TestSQLiteStringFunctionsAreLinear(t *testing.T) {
	_, db := openFuncDBs(t)
	d := dialecttest.Backend(t, "sqlite")
	const n = 256 << 10
	a := fmt.Sprintf("replace(hex(zeroblob(%d)), '0', 'a')", n/2) // n × 'a'
	cases := []struct {
		name, sql string
		wantErr   string
	}{
		// Built-in: ~n²/2 byte comparisons (instr: ~2 s; replace alike).
		{"instr", fmt.Sprintf("SELECT instr(%s, substr(%s, 1, %d) || 'b')", a, a, n/2), ""},
		{"replace", fmt.Sprintf("SELECT length(replace(%s, substr(%s, 1, %d) || 'b', 'x'))", a, a, n/2), ""},
		// Built-in: n × n character comparisons: hours.
		{"trim", fmt.Sprintf("SELECT length(trim(%s || 'c', replace(%s, 'a', 'b') || 'a'))", a, a), ""},
		{"ltrim", fmt.Sprintf("SELECT length(ltrim(%s || 'c', replace(%s, 'a', 'b') || 'a'))", a, a), ""},
		{"rtrim", fmt.Sprintf("SELECT length(rtrim('c' || %s, replace(%s, 'a', 'b') || 'a'))", a, a), ""},
		// A character set of long invalid UTF-8 sequences of many lengths.
		// A character set of long invalid UTF-8 sequences of many lengths
		// and a value made of the longest: refused or done, but at once.
		{"trim invalid", fmt.Sprintf(`WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 200),
			s(set_) AS (SELECT group_concat(CAST(x'c3' || substr(x'%s', 1, n) AS TEXT), '') FROM k)
			SELECT length(trim(replace(hex(zeroblob(1000)), '00', CAST(x'c3' || x'%s' AS TEXT)), set_)) FROM s`,
			strings.Repeat("80", 200), strings.Repeat("80", 200)), "*"},
		// LIKE and GLOB stay built in; the pattern length is bounded.
		{"like", fmt.Sprintf("SELECT %s LIKE '%%' || substr(%s, 1, 5000) || 'b'", a, a), "pattern too complex"},
		{"glob", fmt.Sprintf("SELECT %s GLOB '*' || substr(%s, 1, 5000) || 'b'", a, a), "pattern too complex"},
		{"like short", fmt.Sprintf("SELECT %s LIKE '%%' || substr(%s, 1, 50) || 'b'", a, a), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			sess, err := d.Begin(ctx, conn, dialect.SessionOptions{Timeout: 2 * time.Second, MaxValueBytes: 4 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			st, err := d.CheckReadOnly(tc.sql)
			if err != nil {
				t.Fatalf("policy: %v", err)
			}
			start := time.Now()
			err = queryOne(ctx, sess, st)
			took := time.Since(start)
			switch {
			case tc.wantErr == "*":
				t.Logf("%s: %v", tc.name, err)
			case tc.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
			// The built-ins take from seconds to hours here; ours take
			// milliseconds (more under -race on a busy machine).
			if took > 5*time.Second {
				t.Errorf("took %v, want well under the 2 s timeout + grace", took)
			}
			t.Logf("%s: %v", tc.name, took)
		})
	}
}

func queryOne(ctx context.Context, sess dialect.Session, st policy.Statement) error {
	rows, err := sess.Query(ctx, st)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// An in-process engine gains nothing from more connections than CPUs, and
// each holds its own schema and page cache: the default pool follows the
// CPUs, at least 2 and at most 10.
func TestDefaultPoolFollowsCPUs(t *testing.T) {
	n := dialecttest.Backend(t, "sqlite").Traits().PoolSize
	if n < 2 || n > max(2, min(10, runtime.GOMAXPROCS(0))) {
		t.Errorf("SQLite default pool %d on %d CPUs", n, runtime.GOMAXPROCS(0))
	}
}
