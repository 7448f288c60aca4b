// Package integration_test is one behaviour suite run against every
// backend for real: SQLite always, PostgreSQL and MySQL/MariaDB when
// reachable (SQLMCP_TEST_POSTGRES, SQLMCP_TEST_MYSQL; SQLMCP_REQUIRE_BACKENDS
// turns a skip into a failure). The same assertions hold on each.
package integration_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/integration/fixture"
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// transports are the ways the suite reaches the tools: the same
// behaviour must hold over each.
var transports = []string{"inmemory", "http"}

// forEach runs f as a subtest per available backend and transport
// (TestX/sqlite/http).
func forEach(t *testing.T, f func(t *testing.T, b *backend)) {
	for _, b := range allBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, tr := range transports {
				bt := *b
				bt.transport = tr
				t.Run(tr, func(t *testing.T) { f(t, &bt) })
			}
		})
	}
}

func serve(t *testing.T, b *backend, opts tools.Options) *toolstestSession {
	t.Helper()
	tl := tools.New(b.db, b.d, opts)
	if b.transport == "http" {
		return &toolstestSession{t: t, cs: toolstest.ConnectHTTP(t, tl)}
	}
	return &toolstestSession{t: t, cs: toolstest.Connect(t, tl)}
}

type toolstestSession struct {
	t  *testing.T
	cs *mcp.ClientSession
}

func (s *toolstestSession) call(tool string, args map[string]any) toolstest.Result {
	s.t.Helper()
	return toolstest.Call(s.t, s.cs, tool, args)
}

func TestListTablesCountsEveryChinookTable(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		s := serve(t, b, tools.Options{})
		res := s.call("list_tables", nil)
		if res.IsError {
			t.Fatal(res.Text)
		}
		want, err := fixture.ExpectedRowCounts(b.name)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, e := range res.Structured["tables"].([]any) {
			m := e.(map[string]any)
			name := m["name"].(string)
			if _, ok := want[name]; !ok {
				continue
			}
			if m["rows_exact"] != true || m["kind"] != "table" {
				t.Errorf("%s: kind %v exact %v, want an exactly counted table", name, m["kind"], m["rows_exact"])
			}
			if n, ok := m["rows"].(float64); ok {
				got[name] = int64(n)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("row counts (-want +got):\n%s", diff)
		}
		if !strings.Contains(res.Text, "track\ttable\t3503") {
			t.Errorf("text rendering lacks the track row:\n%s", res.Text)
		}
	})
}

func TestDescribeTrack(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		s := serve(t, b, tools.Options{})
		for _, name := range []string{"track", b.d.QuoteIdent("track"), qualify(b, "track")} {
			res := s.call("describe_table", map[string]any{"table_name": name})
			if res.IsError {
				t.Fatalf("describe %s: %s", name, res.Text)
			}
			var cols []string
			for _, c := range res.Structured["columns"].([]any) {
				cols = append(cols, c.(map[string]any)["name"].(string))
			}
			wantCols := []string{"track_id", "name", "album_id", "media_type_id", "genre_id", "composer", "milliseconds", "bytes", "unit_price"}
			if diff := cmp.Diff(wantCols, cols); diff != "" {
				t.Errorf("describe %s columns (-want +got):\n%s", name, diff)
			}
			first := res.Structured["columns"].([]any)[0].(map[string]any)
			if first["primary_key_position"] != 1.0 || first["nullable"] != false {
				t.Errorf("track_id = %v, want primary key position 1, not nullable", first)
			}
			if diff := cmp.Diff([]any{"track_id"}, res.Structured["primary_key"]); diff != "" {
				t.Errorf("primary key (-want +got):\n%s", diff)
			}
			var fks []string
			for _, f := range res.Structured["foreign_keys"].([]any) {
				m := f.(map[string]any)
				fks = append(fks, fmt.Sprintf("%v->%s%v", m["columns"], m["referenced_table"], m["referenced_columns"]))
			}
			sort.Strings(fks)
			wantFKs := []string{"[album_id]->album[album_id]", "[genre_id]->genre[genre_id]", "[media_type_id]->media_type[media_type_id]"}
			if diff := cmp.Diff(wantFKs, fks); diff != "" {
				t.Errorf("foreign keys (-want +got):\n%s", diff)
			}
			if len(res.Structured["indexes"].([]any)) < 3 {
				t.Errorf("indexes = %v, want the Chinook FK indexes", res.Structured["indexes"])
			}
		}
		res := s.call("describe_table", map[string]any{"table_name": "trak"})
		if !res.IsError || !strings.Contains(res.Text, "track") || !strings.HasPrefix(res.Text, "validation error") {
			t.Errorf("unknown table: %q, want a validation error suggesting track", res.Text)
		}
	})
}

func qualify(b *backend, table string) string {
	switch b.name {
	case "postgres":
		return "public." + table
	case "mysql":
		return b.dbName + "." + table
	}
	return "main." + table
}

// TestQueryMatchesTheDatabase compares the tool's rows with what the admin
// connection reads directly: the data, not literals, is the expectation.
func TestQueryMatchesTheDatabase(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		s := serve(t, b, tools.Options{})
		const q = "SELECT track_id, name, composer FROM track WHERE genre_id = 1 ORDER BY track_id"
		res := s.call("query", map[string]any{"sql": q, "limit": 50})
		if res.IsError {
			t.Fatal(res.Text)
		}
		rows, err := b.admin.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var want []any
		for rows.Next() && len(want) < 50 {
			var id int64
			var name string
			var composer *string
			if err := rows.Scan(&id, &name, &composer); err != nil {
				t.Fatal(err)
			}
			var c any
			if composer != nil {
				c = *composer
			}
			want = append(want, []any{float64(id), name, c})
		}
		if diff := cmp.Diff(want, res.Rows()); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		if res.Structured["truncated"] != true || res.Structured["row_count"] != 50.0 {
			t.Errorf("truncated=%v row_count=%v, want true 50 (genre 1 has more than 50 tracks)", res.Structured["truncated"], res.Structured["row_count"])
		}
		cols := res.Structured["columns"].([]any)
		if cols[0].(map[string]any)["name"] != "track_id" || cols[1].(map[string]any)["type"] == "" && b.name != "sqlite" {
			t.Errorf("columns = %v, want names and database types", cols)
		}
	})
}

func TestDecimalsAndTimestampsAreExact(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		s := serve(t, b, tools.Options{})
		res := s.call("query", map[string]any{"sql": "SELECT invoice_date, total FROM invoice WHERE invoice_id = 1"})
		if res.IsError {
			t.Fatal(res.Text)
		}
		var date string
		var total string
		if err := b.admin.QueryRow("SELECT invoice_date, CAST(total AS CHAR(20)) FROM invoice WHERE invoice_id = 1").Scan(&date, &total); err != nil {
			// PostgreSQL has no CHAR(20) cast of the same meaning; fall back.
			if err := b.admin.QueryRow("SELECT CAST(invoice_date AS TEXT), CAST(total AS TEXT) FROM invoice WHERE invoice_id = 1").Scan(&date, &total); err != nil {
				t.Fatal(err)
			}
		}
		row := res.Rows()[0].([]any)
		gotDate, ok := row[0].(string)
		if !ok {
			t.Fatalf("invoice_date = %#v, want an RFC 3339 string", row[0])
		}
		// invoice_date has no time zone on any backend (timestamp,
		// DATETIME, SQLite text): RFC 3339's date-time without the offset.
		if _, err := time.Parse("2006-01-02T15:04:05.999999999", gotDate); err != nil {
			t.Errorf("invoice_date %q is not an RFC 3339 local date-time: %v", gotDate, err)
		}
		if !strings.HasPrefix(gotDate, date[:10]) {
			t.Errorf("invoice_date %q, database says %q", gotDate, date)
		}
		total = strings.TrimSpace(total)
		switch v := row[1].(type) {
		case string: // exact decimal
			if strings.TrimRight(strings.TrimRight(v, "0"), ".") != strings.TrimRight(strings.TrimRight(total, "0"), ".") {
				t.Errorf("total %q, database says %q", v, total)
			}
		case float64: // SQLite stores NUMERIC as REAL: the value is what it holds
			if fmt.Sprint(v) != strings.TrimRight(strings.TrimRight(total, "0"), ".") {
				t.Errorf("total %v, database says %q", v, total)
			}
		default:
			t.Errorf("total = %#v, want a decimal string", v)
		}
	})
}

func TestBigTableLimitAndOrder(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		s := serve(t, b, tools.Options{})
		res := s.call("query", map[string]any{"sql": "SELECT n, label FROM big ORDER BY n DESC", "limit": 100})
		if res.IsError {
			t.Fatal(res.Text)
		}
		rows := res.Rows()
		if len(rows) != 100 || res.Structured["truncated"] != true {
			t.Fatalf("got %d rows truncated=%v, want 100 true", len(rows), res.Structured["truncated"])
		}
		for i, r := range rows {
			if want := float64(b.bigRows - int64(i)); r.([]any)[0] != want {
				t.Fatalf("row %d = %v, want n=%v: ORDER BY not preserved", i, r, want)
			}
		}
		// Without ORDER BY the database picks the rows; the count still holds.
		res = s.call("query", map[string]any{"sql": "select * from big", "limit": 7})
		if len(res.Rows()) != 7 || res.Structured["truncated"] != true {
			t.Errorf("got %d rows truncated=%v, want 7 true", len(res.Rows()), res.Structured["truncated"])
		}
	})
}

func TestTimeoutIsEnforcedAndPoolRecovers(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		audit := &toolstest.AuditLog{}
		s := serve(t, b, tools.Options{QueryTimeout: time.Second, Audit: audit})
		start := time.Now()
		res := s.call("query", map[string]any{"sql": "SELECT count(*) FROM big a CROSS JOIN big b"})
		if !res.IsError || !strings.HasPrefix(res.Text, "database error") || !strings.Contains(res.Text, "timeout is 1s") {
			t.Errorf("slow query: %q, want a database error naming the timeout", res.Text)
		}
		if got := audit.Last().Outcome; got != tools.OutcomeTimeout {
			t.Errorf("audited outcome %s, want timeout", got)
		}
		if el := time.Since(start); el > 15*time.Second {
			t.Errorf("the timeout took %s to stop the statement", el)
		}
		for i := 0; i < 6; i++ { // more calls than pooled connections
			if res := s.call("query", map[string]any{"sql": "SELECT count(*) FROM genre"}); res.IsError {
				t.Fatalf("call %d after the timeout failed: %s", i, res.Text)
			}
		}
	})
}

func TestLegitimateReadsAreAccepted(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		s := serve(t, b, tools.Options{})
		q := b.d.QuoteIdent
		reads := []string{
			"SELECT 1",
			"select name from genre order by genre_id",
			"SELECT 1;",
			"  SELECT 1 ;  ",
			"-- leading comment\nSELECT 1",
			"/* block comment */ SELECT 1",
			"SELECT 'DROP TABLE track; DELETE FROM album' AS s",
			"SELECT 1 AS x -- DROP TABLE track",
			"SELECT 1 /* ; DELETE FROM track */",
			"SELECT 1 AS " + q("update") + ", 2 AS " + q("delete"),
			"SELECT 'it''s' AS quote",
			"WITH g AS (SELECT genre_id, count(*) AS n FROM track GROUP BY genre_id) SELECT * FROM g ORDER BY n DESC",
			"WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10) SELECT sum(n) FROM c",
			"SELECT track_id, row_number() OVER (PARTITION BY album_id ORDER BY milliseconds DESC) AS r FROM track",
			"SELECT a.title, ar.name FROM album a JOIN artist ar ON ar.artist_id = a.artist_id WHERE ar.name LIKE 'A%'",
			"SELECT genre_id FROM track UNION SELECT genre_id FROM genre",
			"SELECT * FROM (SELECT customer_id, sum(total) AS t FROM invoice GROUP BY customer_id) x WHERE t > 40",
			"SELECT c.country, count(*) FROM customer c GROUP BY c.country HAVING count(*) > 2",
			"SELECT EXISTS (SELECT 1 FROM track WHERE genre_id = 1)",
			"SELECT CASE WHEN milliseconds > 300000 THEN 'long' ELSE 'short' END FROM track",
			"EXPLAIN SELECT * FROM track WHERE genre_id = 1",
			"VALUES (1, 'a'), (2, 'b')",
			"SELECT updated FROM (SELECT 1 AS updated) u",
		}
		switch b.name {
		case "postgres":
			reads = append(reads,
				"TABLE genre",
				"SELECT $$ ; DROP TABLE track; $$",
				"SELECT E'\\' ; DROP TABLE track'",
				"/* nested /* comment */ ; DROP TABLE track */ SELECT 1",
				"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY milliseconds) FROM track",
				"SELECT count(*) FILTER (WHERE genre_id = 1) FROM track",
				"SELECT '{\"a\": 1}'::jsonb -> 'a', '{\"a\": {\"b\": 2}}'::jsonb #> '{a,b}'",
				"EXPLAIN (FORMAT JSON) SELECT * FROM track",
				"SELECT relname FROM pg_class WHERE relkind = 'r' LIMIT 5",
				"SELECT substring(name FROM 1 FOR 3) FROM genre",
			)
		case "mysql":
			reads = append(reads,
				"SHOW TABLES",
				"DESCRIBE track",
				"SELECT 1 # a comment; DROP TABLE track",
				"SELECT JSON_EXTRACT('{\"a\": 1}', '$.a')",
				"EXPLAIN FORMAT=JSON SELECT * FROM track",
				"SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
			)
		case "sqlite":
			reads = append(reads,
				"EXPLAIN QUERY PLAN SELECT * FROM track WHERE genre_id = 1",
				"SELECT name FROM sqlite_master WHERE type = 'table'",
				"SELECT json_extract('{\"a\": 1}', '$.a')",
			)
		}
		for _, r := range reads {
			if res := s.call("query", map[string]any{"sql": r}); res.IsError {
				t.Errorf("legitimate read refused:\n  %s\n  -> %s", r, res.Text)
			}
		}
	})
}

func TestAttacksAreRefusedAndChangeNothing(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		audit := &toolstest.AuditLog{}
		s := serve(t, b, tools.Options{QueryTimeout: 5 * time.Second, Audit: audit})
		dir := t.TempDir()
		file := filepath.Join(dir, "pwned")
		files := []string{file, file + ".db", "/tmp/sqlmcp_pwned_" + b.dbName}
		before := snapshot(t, b, files)
		attacks := []string{
			"DELETE FROM track",
			"delete from track where 1=1",
			"UPDATE track SET name = 'x'",
			"INSERT INTO genre VALUES (999, 'x')",
			"DROP TABLE track",
			"CREATE TABLE pwned (i int)",
			"ALTER TABLE track ADD COLUMN x int",
			"TRUNCATE track",
			"COMMIT; CREATE TABLE pwned (i int)",
			"ROLLBACK; DELETE FROM track",
			"SELECT 1; DELETE FROM track",
			"SELECT 1;DELETE FROM track;",
			"SELECT 1 /* ; */ ; DELETE FROM track",
			"SELECT 'a'; DELETE FROM track; --'",
			"/* x */ DELETE FROM track",
			"BEGIN; DELETE FROM track; COMMIT",
			"SELECT * FROM track FOR UPDATE",
			"SELECT * INTO pwned FROM track",
			"WITH d AS (DELETE FROM track RETURNING *) SELECT * FROM d",
			"EXPLAIN ANALYZE DELETE FROM track",
			"SET autocommit = 1",
			"CREATE TEMP TABLE pwned AS SELECT 1",
		}
		switch b.name {
		case "postgres":
			attacks = append(attacks,
				"SELECT pg_advisory_lock(1)",
				"SELECT pg_catalog.pg_advisory_lock(1)",
				"SELECT \"pg_advisory_lock\"(1)",
				"SELECT PG_ADVISORY_LOCK /* x */ (1)",
				"SELECT set_config('statement_timeout', '0', false)",
				"SELECT pg_terminate_backend(pg_backend_pid())",
				"SELECT lo_import('/etc/passwd')",
				"SELECT lo_create(0)",
				"SELECT pg_read_file('/etc/passwd')",
				"SELECT nextval('x')",
				"COPY track TO PROGRAM 'touch "+file+"'",
				"COPY (SELECT 1) TO '"+file+"'",
				"DO $$ BEGIN DELETE FROM track; END $$",
				"LOCK TABLE track",
				"NOTIFY x",
				"SET statement_timeout = 0",
				"SELECT E'\\''; DELETE FROM track; --'",
				"SELECT $$a$$; DELETE FROM track",
				"/* /* */ ; DELETE FROM track; */ DELETE FROM track",
				"EXPLAIN (ANALYZE) DELETE FROM track",
				"EXPLAIN ANALYSE SELECT 1",
				"PREPARE p AS DELETE FROM track",
				"CALL x()",
				"SELECT * FROM dblink('dbname=test', 'DELETE FROM track') AS t(i int)",
				"SELECT query_to_xml('DELETE FROM track RETURNING 1', true, true, '')",
			)
		case "mysql":
			attacks = append(attacks,
				"SELECT * FROM track INTO OUTFILE '"+files[2]+"'",
				"SELECT 1 INTO DUMPFILE '"+files[2]+"'",
				"SELECT LOAD_FILE('/etc/passwd')",
				"SELECT GET_LOCK('sqlmcp_attack', 0)",
				"SELECT 1 --; DELETE FROM track",
				"SELECT 1 /*! ; DELETE FROM track */",
				"/*!50000 DELETE FROM track */",
				"SELECT @a := 1",
				"SELECT /*+ MAX_EXECUTION_TIME(0) */ 1",
				"SET STATEMENT max_statement_time = 0 FOR SELECT 1",
				"SELECT '\\''; DELETE FROM track; -- '",
				"RENAME TABLE track TO pwned",
				"LOCK TABLES track WRITE",
				"HANDLER track OPEN",
				"LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE genre",
				"SELECT SLEEP(10)",
				"SELECT BENCHMARK(100000000, MD5('x'))",
				"REPLACE INTO genre VALUES (1, 'x')",
				"USE mysql",
			)
		case "sqlite":
			attacks = append(attacks,
				"ATTACH DATABASE '"+files[1]+"' AS pwned",
				"VACUUM INTO '"+files[1]+"'",
				"PRAGMA query_only = 0",
				"PRAGMA writable_schema = 1",
				"SELECT load_extension('/tmp/x')",
				"SELECT writefile('"+file+"', 'x')",
				"DETACH DATABASE main",
				"REINDEX",
				"ANALYZE",
				"REPLACE INTO genre VALUES (1, 'x')",
			)
		}
		for _, a := range attacks {
			res := s.call("query", map[string]any{"sql": a})
			if !res.IsError || !strings.Contains(res.Text, "not allowed") {
				t.Errorf("attack not refused with \"not allowed\":\n  %s\n  -> %s", a, res.Text)
			}
			if got := audit.Last().Outcome; got != tools.OutcomeDenied {
				t.Errorf("attack %q audited as %s, want denied", a, got)
			}
		}
		after := snapshot(t, b, files)
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("the database changed under attack (-before +after):\n%s", diff)
		}
	})
}
