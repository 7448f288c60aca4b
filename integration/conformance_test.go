// Package integration_test is one behaviour suite run against every
// backend for real: SQLite always, PostgreSQL and MySQL/MariaDB when
// reachable (SQLMCP_TEST_POSTGRES, SQLMCP_TEST_MYSQL; SQLMCP_REQUIRE_BACKENDS
// turns a skip into a failure). The same assertions hold on each; what
// differs between backends is data in each backend's conformance record
// (backends_test.go, <backend>_test.go), never a switch in a test.
package integration_test

import (
	"context"
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
		t.Run(b.name, func(t *testing.T) { overTransports(t, b, f) })
	}
}

// forEachOf is forEach for one backend's own tests: it runs f per
// transport when r's backend is available.
func forEachOf(t *testing.T, r *conformance, f func(t *testing.T, b *backend)) {
	if b := backendOf(t, r); b != nil {
		overTransports(t, b, f)
	}
}

func overTransports(t *testing.T, b *backend, f func(t *testing.T, b *backend)) {
	for _, tr := range transports {
		bt := *b
		bt.transport = tr
		t.Run(tr, func(t *testing.T) { f(t, &bt) })
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

// serve connects a client to the tools over b's pool and transport.
func serve(t *testing.T, b *backend, opts tools.Options) *toolstestSession {
	t.Helper()
	return &toolstestSession{t: t, cs: connectTools(t, tools.New(b.db, b.d, opts), b.transport)}
}

// connectTools connects a client to tl over transport ("inmemory" or
// "http"). Every test reaches the tools through here.
func connectTools(t *testing.T, tl *tools.Tools, transport string) *mcp.ClientSession {
	t.Helper()
	if transport == "http" {
		return toolstest.ConnectHTTP(t, tl)
	}
	return toolstest.Connect(t, tl)
}

type toolstestSession struct {
	t  *testing.T
	cs *mcp.ClientSession
}

func (s *toolstestSession) call(tool string, args map[string]any) toolstest.Result {
	s.t.Helper()
	return toolstest.Call(s.t, s.cs, tool, args)
}

// callAdmitted is call for a test whose earlier statement may have been
// abandoned (it ignored its timeout inside one expression, which on a busy
// machine can outlast the call's grace): while that statement still runs,
// queries are refused by admission, which is not what the test is about,
// so the call is retried until it is admitted.
func (s *toolstestSession) callAdmitted(tool string, args map[string]any) toolstest.Result {
	s.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := s.call(tool, args)
		if !r.IsError || !strings.Contains(r.Text, "still running on the database server") || time.Now().After(deadline) {
			return r
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestConformance is the behaviour every backend must show, over every
// transport: a new backend is done when its record makes this pass.
func TestConformance(t *testing.T) {
	forEach(t, runConformance)
}

// runConformance runs the conformance tests on one backend over one
// transport.
func runConformance(t *testing.T, b *backend) {
	for _, c := range []struct {
		name string
		f    func(t *testing.T, b *backend)
	}{
		{"ListTablesCountsEveryChinookTable", listTablesCountsEveryChinookTable},
		{"DescribeTrack", describeTrack},
		{"QueryMatchesTheDatabase", queryMatchesTheDatabase},
		{"DecimalsAndTimestampsAreExact", decimalsAndTimestampsAreExact},
		{"ValuesAreJSONSafeAndExact", valuesAreJSONSafeAndExact},
		{"BigTableLimitAndOrder", bigTableLimitAndOrder},
		{"LimitInTheStatementStillBoundsTheTransfer", limitInTheStatementStillBoundsTheTransfer},
		{"TimeoutIsEnforcedAndPoolRecovers", timeoutIsEnforcedAndPoolRecovers},
		{"CancelStopsTheStatementOnTheServer", cancelStopsTheStatementOnTheServer},
		{"LegitimateReadsAreAccepted", legitimateReadsAreAccepted},
		{"AttacksAreRefusedAndChangeNothing", attacksAreRefusedAndChangeNothing},
		{"DescribeQuotedMixedCaseAndUnicodeNames", describeQuotedMixedCaseAndUnicodeNames},
		{"Catalog", catalogMatchesTheFixture},
		{"ListTablesBoundsTheCounting", listTablesBoundsTheCounting},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, b) })
	}
}

func listTablesCountsEveryChinookTable(t *testing.T, b *backend) {
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
}

func describeTrack(t *testing.T, b *backend) {
	s := serve(t, b, tools.Options{})
	for _, name := range []string{"track", b.d.QuoteIdent("track"), b.rec.qualify(b, "track")} {
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
}

// QueryMatchesTheDatabase compares the tool's rows with what the admin
// connection reads directly: the data, not literals, is the expectation.
func queryMatchesTheDatabase(t *testing.T, b *backend) {
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
	if cols[0].(map[string]any)["name"] != "track_id" || cols[1].(map[string]any)["type"] == "" && b.rec.columnTypes {
		t.Errorf("columns = %v, want names and database types", cols)
	}
}

func decimalsAndTimestampsAreExact(t *testing.T, b *backend) {
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
}

func bigTableLimitAndOrder(t *testing.T, b *backend) {
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
}

func timeoutIsEnforcedAndPoolRecovers(t *testing.T, b *backend) {
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
}

func legitimateReadsAreAccepted(t *testing.T, b *backend) {
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
	reads = append(reads, b.rec.reads...)
	for _, r := range reads {
		if res := s.call("query", map[string]any{"sql": r}); res.IsError {
			t.Errorf("legitimate read refused:\n  %s\n  -> %s", r, res.Text)
		}
	}
}

func attacksAreRefusedAndChangeNothing(t *testing.T, b *backend) {
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
	attacks = append(attacks, b.rec.attacks(file, files[1], files[2])...)
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
}

// ValuesAreJSONSafeAndExact checks the encoding rules on each backend
// with the backend's own spelling of the same values.
func valuesAreJSONSafeAndExact(t *testing.T, b *backend) {
	s := serve(t, b, tools.Options{})
	res := s.call("query", map[string]any{"sql": b.rec.valuesSQL})
	if res.IsError {
		t.Fatal(res.Text)
	}
	row := res.Rows()[0].([]any)
	got := map[string]any{}
	for i, c := range res.Structured["columns"].([]any) {
		got[c.(map[string]any)["name"].(string)] = row[i]
	}
	if got["big"] != "9007199254740993" {
		t.Errorf("big = %#v, want the string \"9007199254740993\" (beyond 2^53)", got["big"])
	}
	if got["small"] != 42.0 {
		t.Errorf("small = %#v, want the number 42", got["small"])
	}
	if got["exact_dec"] != "12345678901234567890.12345" {
		t.Errorf("exact_dec = %#v, want the exact decimal string", got["exact_dec"])
	}
	if got["nul"] != nil {
		t.Errorf("nul = %#v, want null", got["nul"])
	}
	bin, _ := got["bin"].(map[string]any)
	if bin["base64"] != "AP8Q" || bin["type"] == "" {
		t.Errorf("bin = %#v, want {type, base64: AP8Q}", got["bin"])
	}
	if got["txt"] != "Ünïcode ✓" {
		t.Errorf("txt = %#v", got["txt"])
	}
	if got["f"] != 1.5 {
		t.Errorf("f = %#v, want 1.5", got["f"])
	}
	if ts, _ := got["ts"].(string); !strings.HasPrefix(ts, "2009-01-01T10:20:30") {
		t.Errorf("ts = %#v, want RFC 3339", got["ts"])
	}
	if got["d"] != "2009-01-01" {
		t.Errorf("d = %#v, want 2009-01-01", got["d"])
	}
	if !strings.Contains(res.Text, "base64:AP8Q") {
		t.Errorf("text rendering lacks the binary value:\n%s", res.Text)
	}
}

// DescribeQuotedMixedCaseAndUnicodeNames creates tables whose names
// need quoting and describes them the ways a model would write them.
func describeQuotedMixedCaseAndUnicodeNames(t *testing.T, b *backend) {
	q := b.d.QuoteIdent
	for _, name := range []string{"Mixed Case", "Ünïcode Täble"} {
		stmt := "CREATE TABLE IF NOT EXISTS " + q(name) + " (" + q("Id") + " INTEGER PRIMARY KEY, " + q("Wert ✓") + " VARCHAR(10))"
		if _, err := b.admin.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	s := serve(t, b, tools.Options{})
	for _, tc := range []struct{ arg, want string }{
		{q("Mixed Case"), "Mixed Case"},
		{b.rec.qualify(b, q("Mixed Case")), "Mixed Case"},
		{q("Ünïcode Täble"), "Ünïcode Täble"},
	} {
		res := s.call("describe_table", map[string]any{"table_name": tc.arg})
		if res.IsError {
			t.Errorf("describe %s: %s", tc.arg, res.Text)
			continue
		}
		var cols []string
		for _, c := range res.Structured["columns"].([]any) {
			cols = append(cols, c.(map[string]any)["name"].(string))
		}
		if res.Structured["name"] != tc.want || !cmp.Equal(cols, []string{"Id", "Wert ✓"}) {
			t.Errorf("describe %s = %v %v, want %s [Id Wert ✓]", tc.arg, res.Structured["name"], cols, tc.want)
		}
	}
	res := s.call("query", map[string]any{"sql": "SELECT " + q("Wert ✓") + " FROM " + q("Ünïcode Täble")})
	if res.IsError {
		t.Errorf("query of a unicode table: %s", res.Text)
	}
}

// LimitInTheStatementStillBoundsTheTransfer: a LIMIT written in the
// SQL must not make the server send (and us read) everything up to it,
// nor turn a good first page into a timeout.
func limitInTheStatementStillBoundsTheTransfer(t *testing.T, b *backend) {
	s := serve(t, b, tools.Options{QueryTimeout: 5 * time.Second})
	res := s.call("query", map[string]any{"sql": "SELECT a.n, b.n FROM big a CROSS JOIN big b LIMIT 100000000", "limit": 3})
	if res.IsError {
		t.Fatalf("a 3-row page of a huge LIMIT failed: %s", res.Text)
	}
	if len(res.Rows()) != 3 || res.Structured["truncated"] != true {
		t.Errorf("got %d rows truncated=%v, want 3 true", len(res.Rows()), res.Structured["truncated"])
	}
	if res := s.call("query", map[string]any{"sql": "SELECT count(*) FROM genre"}); res.IsError {
		t.Fatalf("the next call failed: %s", res.Text)
	}
}

// CancelStopsTheStatementOnTheServer: when the client gives up on a
// call — notifications/cancelled in-memory, a dropped request over HTTP —
// the statement must stop running on the database server, not linger
// until its timeout.
func cancelStopsTheStatementOnTheServer(t *testing.T, b *backend) {
	audit := &toolstest.AuditLog{}
	s := serve(t, b, tools.Options{QueryTimeout: time.Minute, Audit: audit})
	marker := randName("cancel_")
	sql := fmt.Sprintf("SELECT count(*) AS %s FROM big a CROSS JOIN big b", marker)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.cs.CallTool(ctx, &mcp.CallToolParams{Name: "query", Arguments: map[string]any{"sql": sql}})
		done <- err
	}()
	if b.rec.runningSQL != "" {
		waitFor(t, 10*time.Second, "the statement to start on the server", func() bool { return running(t, b, marker) })
	} else {
		time.Sleep(300 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("CallTool did not return after its context was cancelled")
	}
	if b.rec.runningSQL != "" {
		waitFor(t, 5*time.Second, "the statement to stop on the server", func() bool { return !running(t, b, marker) })
	}
	// The call ended on the server side too, and was audited as such.
	waitFor(t, 5*time.Second, "the call to be audited as cancelled", func() bool {
		return audit.Last().Outcome == tools.OutcomeCancelled
	})
	if res := s.call("query", map[string]any{"sql": "SELECT count(*) FROM genre"}); res.IsError {
		t.Fatalf("the next call failed: %s", res.Text)
	}
}

// running reports whether a statement containing marker runs on the server.
func running(t *testing.T, b *backend, marker string) bool {
	t.Helper()
	var n int
	if err := b.admin.QueryRow(b.rec.runningSQL, marker).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
