package integration_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
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

	"github.com/sqlmcp/sqlmcp/integration/fixture"
	"github.com/sqlmcp/sqlmcp/tools"
)

// state is what an attack must not change: every table with its row count
// and a checksum of its contents, plus backend-specific traces (sequences,
// large objects, catalogs, advisory and named locks, files).
type state struct {
	Tables map[string]int64
	Extra  map[string]string
}

// snapshot reads the state through the admin connection. files are paths
// whose existence is recorded; a directory among them is listed, so that a
// file an attack creates anywhere inside it shows.
func snapshot(t *testing.T, b *backend, files []string) state {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := state{Tables: map[string]int64{}, Extra: map[string]string{}}
	var listSQL string
	switch b.name {
	case "postgres":
		listSQL = "SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema')"
	case "mysql":
		listSQL = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
	default:
		listSQL = "SELECT name FROM sqlite_master WHERE type = 'table'"
	}
	names := queryStrings(t, b.admin, listSQL)
	sort.Strings(names)
	// One round trip for every table: its row count and an order-independent
	// checksum of its rows.
	var parts []string
	for _, n := range names {
		q := b.d.QuoteIdent(n)
		switch b.name {
		case "postgres":
			sum := "coalesce(sum(hashtextextended(t::text, 0)), 0)::text"
			if n == "big" {
				sum = "coalesce(sum(n), 0)::text" // 300,000 rows: cheap enough to run after every attack
			}
			parts = append(parts, fmt.Sprintf("SELECT %s, count(*), %s FROM %s t", quoteLiteral(n), sum, q))
		default:
			parts = append(parts, fmt.Sprintf("SELECT %s, count(*), '' FROM %s", quoteLiteral(n), q))
		}
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
	extra := func(k, q string) {
		var v sql.NullString
		if err := b.admin.QueryRowContext(ctx, q).Scan(&v); err != nil {
			t.Fatalf("snapshot %s: %v", k, err)
		}
		st.Extra[k] = v.String
	}
	switch b.name {
	case "postgres":
		extra("advisory_locks", "SELECT count(*)::text FROM pg_locks WHERE locktype = 'advisory'")
		extra("large_objects", "SELECT count(*)::text FROM pg_largeobject_metadata")
		extra("sequences", "SELECT coalesce(string_agg(schemaname || '.' || sequencename || '=' || coalesce(last_value::text, 'unused'), ',' ORDER BY 1), '') FROM pg_sequences")
		// Scoped to this database and the names the corpus uses: other
		// test runs share the server.
		extra("sessions_in_transaction", "SELECT count(*)::text FROM pg_stat_activity WHERE application_name = 'sqlmcp' AND datname = current_database() AND state LIKE 'idle in transaction%'")
		extra("catalog", `SELECT (SELECT count(*) FROM pg_class) || ' relations, ' || (SELECT count(*) FROM pg_proc) || ' functions, ' ||
			(SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pwned%') || ' roles, ' || (SELECT count(*) FROM pg_database WHERE datname LIKE 'pwned%') || ' databases, ' ||
			(SELECT count(*) FROM pg_extension) || ' extensions, ' || (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pwned%') || ' slots, ' ||
			(SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()) || ' prepared xacts, ' || (SELECT count(*) FROM pg_file_settings) || ' file settings'`)
	case "mysql":
		extra("named_lock", "SELECT COALESCE(IS_USED_LOCK('sqlmcp_attack'), 0)")
		// Scoped to this database and the names the corpus uses: other
		// test runs share the server.
		extra("catalog", `SELECT CONCAT((SELECT count(*) FROM information_schema.tables WHERE table_schema IN (DATABASE(), 'mysql', 'pwned')), ' tables, ',
			(SELECT count(*) FROM information_schema.routines WHERE routine_schema = DATABASE()), ' routines, ',
			(SELECT count(*) FROM mysql.user WHERE user LIKE 'pwned%'), ' users')`)
		extra("transactions", `SELECT count(*) FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
			WHERE p.DB = DATABASE() AND p.ID <> CONNECTION_ID()`)
		if len(names) > 0 {
			var quoted []string
			for _, n := range names {
				if n != "big" { // 300,000 rows: summed below instead
					quoted = append(quoted, b.d.QuoteIdent(n))
				}
			}
			extra("sum big", "SELECT CAST(COALESCE(SUM(n), 0) AS CHAR) FROM big")
			rows, err := b.admin.QueryContext(ctx, "CHECKSUM TABLE "+strings.Join(quoted, ", "))
			if err != nil {
				t.Fatalf("snapshot checksums: %v", err)
			}
			for rows.Next() {
				var n string
				var sum sql.NullString
				if err := rows.Scan(&n, &sum); err != nil {
					t.Fatal(err)
				}
				st.Extra["checksum "+n] = sum.String
			}
			rows.Close()
		}
		if seq := queryStrings(t, b.admin, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'SEQUENCE'"); len(seq) > 0 {
			for _, s := range seq {
				extra("sequence "+s, "SELECT CAST(next_not_cached_value AS CHAR) FROM "+b.d.QuoteIdent(s))
			}
		}
	case "sqlite":
		// The file is the database: its bytes are the strongest checksum.
		for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
			st.Extra["file"+suffix] = fileDigest(b.dbName + suffix)
		}
	}
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
	switch b.name {
	case "postgres":
		probe("backend", "SELECT pg_backend_pid()::text")
		probe("settings", `SELECT concat_ws(' ', current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout'),
			current_setting('search_path'), current_setting('standard_conforming_strings'), current_setting('transaction_read_only'),
			current_setting('default_transaction_read_only'), current_setting('role'), current_user, current_setting('application_name'))`)
		probe("transaction", "SELECT coalesce(txid_current_if_assigned()::text, 'none') || ' ' || (now() = statement_timestamp())::text")
		probe("state", `SELECT (SELECT count(*) FROM pg_prepared_statements) || ' prepared, ' || (SELECT count(*) FROM pg_cursors) || ' cursors, ' ||
			(SELECT count(*) FROM pg_listening_channels()) || ' listening, ' ||
			(SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory') || ' advisory locks, ' ||
			(SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()) || ' temp relations'`)
	case "mysql":
		// No connection id: every call ends by discarding its connection
		// (the only complete reset), so the next probe is always on a new
		// one; the probes below still catch a reset that stopped happening.
		probe("settings", `SELECT CONCAT_WS(' ', @@in_transaction, @@session.autocommit, @@session.sql_mode, @@session.max_statement_time,
			@@session.sql_select_limit, @@session.tx_read_only, @@session.character_set_client, @@session.character_set_connection)`)
		probe("variables", "SELECT CONCAT_WS(',', @a, @x, @leaked_var, @`sys.statement_truncate_len`, LAST_INSERT_ID(), @@session.time_zone, @@session.div_precision_increment)")
		probe("named_lock", "SELECT IS_USED_LOCK('sqlmcp_attack') <=> CONNECTION_ID()")
		probe("temp_table", "SELECT count(*) FROM pwned")
		probe("transaction", "SELECT count(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = CONNECTION_ID()")
	case "sqlite":
		// temp first: reading it creates the temp schema, which then lists.
		probe("temp", "SELECT count(*) FROM temp.sqlite_master")
		probe("databases", "SELECT group_concat(name) FROM pragma_database_list")
		// The guards are still on: a write on this very connection fails.
		if _, err := conn.ExecContext(ctx, "INSERT INTO genre (genre_id, name) VALUES (-1, 'probe')"); err == nil {
			out["write_probe"] = "a write succeeded on the pooled connection"
		} else {
			out["write_probe"] = "refused"
		}
	}
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

// createStateRoutines creates fixture.CreateStateRoutines once per backend.
func createStateRoutines(t *testing.T, b *backend) {
	t.Helper()
	v, _ := stateRoutines.LoadOrStore(b.name, &sync.Once{})
	var err error
	v.(*sync.Once).Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = fixture.CreateStateRoutines(ctx, b.name, b.admin)
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
		if b.name == "sqlite" {
			t.Skip("SQLite: the authorizer refuses every statement that could set session state (pragmas, ATTACH, temp objects)")
		}
		createStateRoutines(t, b)
		s, _ := singleConnTools(t, b, tools.Options{QueryTimeout: 5 * time.Second})
		switch b.name {
		case "mysql":
			probe := "SELECT @leaked_var AS v, @`sys.statement_truncate_len` AS s, @@session.time_zone AS tz, " +
				"@@session.div_precision_increment AS dpi, IS_USED_LOCK(" + fixture.StateLockName + ") AS lock_holder"
			clean := rowsOf(t, s, probe)
			for _, leak := range []string{"SELECT leak_state()", "SELECT * FROM leak_view", "SELECT sys.format_statement('SELECT 1') AS f"} {
				if leak == "SELECT sys.format_statement('SELECT 1') AS f" && rowsOf(t, s, "SELECT count(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'sys' AND ROUTINE_NAME = 'format_statement'") == "[[0]]" {
					t.Logf("no sys.format_statement on this server")
					continue
				}
				rowsOf(t, s, leak)
				// Closing the connection frees its named lock on the server a
				// moment later: give it that moment.
				got := rowsOf(t, s, probe)
				for deadline := time.Now().Add(5 * time.Second); got != clean && time.Now().Before(deadline); {
					time.Sleep(50 * time.Millisecond)
					got = rowsOf(t, s, probe)
				}
				if got != clean {
					t.Errorf("after %q the next call saw session state left behind:\n  got  %s\n  want %s", leak, got, clean)
				}
			}
		case "postgres":
			// What random() returns right after setseed(0.5): what a
			// caller who seeded the session could predict.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := b.admin.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var predicted float64
			if _, err := conn.ExecContext(ctx, "SELECT setseed(0.5)"); err != nil {
				t.Fatal(err)
			}
			if err := conn.QueryRowContext(ctx, "SELECT random()").Scan(&predicted); err != nil {
				t.Fatal(err)
			}
			conn.Raw(func(any) error { return driver.ErrBadConn }) // not back to the pool seeded
			conn.Close()
			for _, leak := range []string{"SELECT setseed(0.5)", "SELECT leak_seed()", "SELECT * FROM leak_seed_view"} {
				rowsOf(t, s, leak)
				if got := rowsOf(t, s, "SELECT random() AS r"); got == fmt.Sprint([]any{[]any{predicted}}) {
					t.Errorf("after %q the next caller's random() was the predictable %v", leak, predicted)
				}
			}
		}
	})
}

// TestSQLiteFileReplacedOrDeletedIsNotServed replaces the database file
// under a pooled connection (a new copy renamed over it, as a restore or
// deployment does) and then deletes it: no call may read the old file.
func TestSQLiteFileReplacedOrDeletedIsNotServed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "swap.db")
	write := func(p, v string) {
		t.Helper()
		w, err := sql.Open("sqlite", p)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, err := w.Exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('" + v + "')"); err != nil {
			t.Fatal(err)
		}
	}
	write(path, "old")
	pool, d, err := openTarget("sqlite://" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pool.SetMaxOpenConns(1)
	pool.SetMaxIdleConns(1)
	s := serve(t, &backend{name: "sqlite", db: pool, d: d, transport: "inmemory"}, tools.Options{QueryTimeout: 5 * time.Second})
	const q = "SELECT v FROM t"
	if got := rowsOf(t, s, q); got != "[[old]]" {
		t.Fatalf("before the swap: %s", got)
	}

	write(path+".new", "new")
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	// The pooled connection still has the old inode open. Until the call
	// is retried transparently on ErrConnectionStale, the first call may
	// fail; it must not answer from the old file, and the next must read
	// the new one.
	res := s.call("query", map[string]any{"sql": q})
	switch got := fmt.Sprint(res.Rows()); {
	case !res.IsError && got != "[[new]]":
		t.Fatalf("first call after the swap read %s, want [[new]] or an error", got)
	case res.IsError:
		t.Logf("first call after the swap: %s", res.Text)
	}
	if got := rowsOf(t, s, q); got != "[[new]]" {
		t.Fatalf("after the swap: %s, want [[new]]", got)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		res := s.call("query", map[string]any{"sql": q})
		if !res.IsError {
			t.Fatalf("call %d after the file was deleted read %s, want an error", i+1, fmt.Sprint(res.Rows()))
		}
		t.Logf("call %d after the delete: %s", i+1, res.Text)
	}
}
