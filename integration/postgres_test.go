package integration_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sqlmcp/sqlmcp/tools"
)

// postgresRecord is PostgreSQL's conformance record: see conformance.
var postgresRecord = conformance{
	name:       "postgres",
	env:        "SQLMCP_TEST_POSTGRES",
	defaultDSN: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
	newDatabase: func(ctx context.Context, r *conformance) (*backend, string, error) {
		return newServerDatabase(ctx, r, "CREATE DATABASE %s", "DROP DATABASE IF EXISTS %s WITH (FORCE)")
	},
	createBig: func(ctx context.Context, admin *sql.DB, rows int) error {
		_, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE big AS SELECT n, 'row ' || n AS label FROM generate_series(1, %d) n;
		ANALYZE`, rows))
		return err
	},
	qualify:     func(_ *backend, table string) string { return "public." + table },
	columnTypes: true,
	valuesSQL: `SELECT 9007199254740993::bigint AS big, 42::int AS small, 12345678901234567890.12345::numeric AS exact_dec,
				NULL::text AS nul, '\x00ff10'::bytea AS bin, 'Ünïcode ✓' AS txt, true AS flag, 1.5::float8 AS f,
				'2009-01-01 10:20:30+00'::timestamptz AS ts, '2009-01-01'::date AS d`,
	reads: []string{
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
	},
	attacks: func(file, _, _ string) []string {
		return []string{
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
			"COPY track TO PROGRAM 'touch " + file + "'",
			"COPY (SELECT 1) TO '" + file + "'",
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
		}
	},
	runaway: []string{
		"SELECT count(*) FROM generate_series(1, 10000000000)",
		"SELECT count(*) FROM generate_series(1, 1e10::bigint) g CROSS JOIN big",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10000000000) SELECT count(*) FROM r",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
	},
	hugeValues: []string{
		// Building 1 GB takes this server longer than the timeout;
		// once sent, the guard below lib/pq refuses its header.
		"SELECT repeat('x', 1000000000)",
		"SELECT repeat('x', 40000000) AS a, repeat('y', 40000000) AS b",
		"SELECT decode(repeat('ab', 30000000), 'hex')",
	},
	runningSQL:        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()",
	snapshotTablesSQL: "SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema')",
	tableChecksum: func(table string) string {
		if table == "big" {
			return "coalesce(sum(n), 0)::text" // 300,000 rows: cheap enough to run after every attack
		}
		return "coalesce(sum(hashtextextended(t::text, 0)), 0)::text"
	},
	snapshotExtra: func(t *testing.T, sn *snapshotter, _ []string) {
		sn.extra("advisory_locks", "SELECT count(*)::text FROM pg_locks WHERE locktype = 'advisory'")
		sn.extra("large_objects", "SELECT count(*)::text FROM pg_largeobject_metadata")
		sn.extra("sequences", "SELECT coalesce(string_agg(schemaname || '.' || sequencename || '=' || coalesce(last_value::text, 'unused'), ',' ORDER BY 1), '') FROM pg_sequences")
		// Scoped to this database and the names the corpus uses: other
		// test runs share the server.
		sn.extra("sessions_in_transaction", "SELECT count(*)::text FROM pg_stat_activity WHERE application_name = 'sqlmcp' AND datname = current_database() AND state LIKE 'idle in transaction%'")
		sn.extra("catalog", `SELECT (SELECT count(*) FROM pg_class) || ' relations, ' || (SELECT count(*) FROM pg_proc) || ' functions, ' ||
			(SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pwned%') || ' roles, ' || (SELECT count(*) FROM pg_database WHERE datname LIKE 'pwned%') || ' databases, ' ||
			(SELECT count(*) FROM pg_extension) || ' extensions, ' || (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pwned%') || ' slots, ' ||
			(SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()) || ' prepared xacts, ' || (SELECT count(*) FROM pg_file_settings) || ' file settings'`)
	},
	poolState: func(_ context.Context, _ *sql.Conn, probe func(k, q string), _ map[string]string) {
		probe("backend", "SELECT pg_backend_pid()::text")
		probe("settings", `SELECT concat_ws(' ', current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout'),
			current_setting('search_path'), current_setting('standard_conforming_strings'), current_setting('transaction_read_only'),
			current_setting('default_transaction_read_only'), current_setting('role'), current_user, current_setting('application_name'))`)
		probe("transaction", "SELECT coalesce(txid_current_if_assigned()::text, 'none') || ' ' || (now() = statement_timestamp())::text")
		probe("state", `SELECT (SELECT count(*) FROM pg_prepared_statements) || ' prepared, ' || (SELECT count(*) FROM pg_cursors) || ' cursors, ' ||
			(SELECT count(*) FROM pg_listening_channels()) || ' listening, ' ||
			(SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory') || ' advisory locks, ' ||
			(SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()) || ' temp relations'`)
	},
	corpus: "postgres",
	corpusObjects: []string{
		`CREATE TABLE attack_target (id int PRIMARY KEY, v text, tags int[])`,
		`INSERT INTO attack_target SELECT i, 'row ' || i, ARRAY[i] FROM generate_series(1, 200) i`,
		`CREATE INDEX attack_target_brin ON attack_target USING brin (id) WITH (pages_per_range = 1)`,
		`CREATE INDEX attack_target_gin ON attack_target USING gin (tags) WITH (fastupdate = on)`,
		`CREATE SEQUENCE attack_seq`,
		`SELECT nextval('attack_seq')`,
		`CREATE FUNCTION attack_write() RETURNS int LANGUAGE sql AS $$ INSERT INTO attack_target VALUES (-1, 'pwned') RETURNING id $$`,
		`CREATE PROCEDURE attack_proc() LANGUAGE sql AS $$ DELETE FROM attack_target $$`,
	},
	multipleStatements: func(err error) bool {
		return strings.Contains(err.Error(), "cannot insert multiple commands")
	},
	fuzzFlavor: 0,
	// leak_seed() calls setseed(0.5): random() is then predictable for
	// the rest of the session; leak_seed_view runs it when read.
	stateRoutines: []string{
		"DROP VIEW IF EXISTS leak_seed_view",
		"DROP FUNCTION IF EXISTS leak_seed()",
		"CREATE FUNCTION leak_seed() RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT setseed(0.5); SELECT 1 $$",
		"CREATE VIEW leak_seed_view AS SELECT leak_seed() AS r",
	},
	sessionLeaks: postgresSessionLeaks,
	superuserFindings: func(t *testing.T, f []string) {
		if len(f) == 0 || !strings.Contains(f[0], "is a superuser") {
			t.Errorf("superuser: findings %q, want it named a superuser first", f)
		}
	},
	// README, "Least-privilege roles", PostgreSQL.
	readerRole: func(role, db string) (setup, teardown []string) {
		return []string{
				`CREATE ROLE ` + role + ` LOGIN PASSWORD 'change-me' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 20`,
				`ALTER ROLE ` + role + ` SET default_transaction_read_only = on`,
				`ALTER ROLE ` + role + ` SET statement_timeout = '30s'`,
				`GRANT CONNECT ON DATABASE ` + db + ` TO ` + role,
				`GRANT USAGE ON SCHEMA public TO ` + role,
				`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ` + role,
				`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ` + role,
				`REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
			},
			[]string{`DROP OWNED BY ` + role, `DROP ROLE ` + role}
	},
	catalog: postgresCatalog,
	faults: &faultFacts{
		slowSQL:      "SELECT count(*) AS %s FROM generate_series(1, 200000000)",
		sessionOfSQL: "SELECT pid FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid() AND state = 'active'",
		killSQL:      "SELECT pg_terminate_backend($1)",
		abandonedSQL: "SELECT repeat('x', 1000000) AS %s FROM %s, generate_series(1, 100)",
		lockSQL:      "BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE",
		unlockSQL:    "COMMIT",
		quadraticSQL: "SELECT strpos(repeat('a', 240000), 'b' || repeat('a', 120000)) AS %s",
		oversizedSQL: "SELECT repeat('x', 12000000) AS big",
		heavySQL:     "SELECT count(*) AS n FROM generate_series(1, 200000)",
		tlsSQL:       "SELECT ssl AS warm FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
		withTLS:      func(u *url.URL) { q := u.Query(); q.Set("sslmode", "require"); u.RawQuery = q.Encode() },
		limitedRole: func(role string) (create []string, drop string) {
			return []string{"CREATE ROLE " + role + " LOGIN CONNECTION LIMIT 1"}, "DROP ROLE IF EXISTS " + role
		},
		killSessions: func(t *testing.T, admin *sql.DB, ports []string) int {
			var n int
			_ = admin.QueryRow("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE client_port IN (" +
				strings.Join(ports, ",") + ")").Scan(&n)
			return n
		},
	},
}

// postgresSessionLeaks: after setseed(0.5), directly or from inside a
// function or a view, the next caller's random() is not the predictable
// value.
func postgresSessionLeaks(t *testing.T, b *backend, s *toolstestSession) {
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

// TestPostgresListTablesSurvivesAnUncountableTable: a table that cannot
// be counted right now (an unpopulated materialized view, PostgreSQL's
// alone) must not hide the others.
func TestPostgresListTablesSurvivesAnUncountableTable(t *testing.T) {
	forEachOf(t, &postgresRecord, func(t *testing.T, b *backend) {
		if _, err := b.admin.Exec("CREATE MATERIALIZED VIEW IF NOT EXISTS mv_unpopulated AS SELECT 1 AS x WITH NO DATA"); err != nil {
			t.Fatal(err)
		}
		defer b.admin.Exec("DROP MATERIALIZED VIEW IF EXISTS mv_unpopulated")
		s := serve(t, b, tools.Options{})
		res := s.call("list_tables", nil)
		if res.IsError {
			t.Fatalf("list_tables failed because of one unpopulated view: %s", res.Text)
		}
		for _, want := range []string{"mv_unpopulated\tmaterialized view", "track\ttable\t3503"} {
			if !strings.Contains(res.Text, want) {
				t.Errorf("list_tables lacks %q:\n%s", want, res.Text)
			}
		}
	})
}

// postgresCatalog: a schema of its own in the test database, reached
// through search_path so that unqualified names resolve there.
var postgresCatalog = catalogFacts{
	scratch: func(t *testing.T, b *backend) (string, string, *sql.DB) {
		schema := randName("sqlmcp_meta_")
		if _, err := b.admin.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := b.admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
				t.Errorf("drop fixture schema: %v", err)
			}
		})
		u, _ := url.Parse(b.url)
		q := u.Query()
		q.Set("search_path", schema) // lib/pq sends unknown keys as run-time parameters
		u.RawQuery = q.Encode()
		return u.String(), schema, nil
	},
	fixture: []string{`
CREATE TABLE parent (
	region text NOT NULL,
	id integer NOT NULL,
	name varchar(160) NOT NULL DEFAULT 'unnamed',
	price numeric(10,2) CONSTRAINT parent_price_positive CHECK (price > 0),
	code text CONSTRAINT parent_code_key UNIQUE,
	PRIMARY KEY (region, id)
);
COMMENT ON TABLE parent IS 'Things that have children';
COMMENT ON COLUMN parent.name IS 'Display name';
CREATE TABLE child (
	child_id bigint PRIMARY KEY,
	parent_region text NOT NULL,
	parent_id integer NOT NULL,
	created timestamp with time zone NOT NULL DEFAULT now(),
	CONSTRAINT child_parent_fk FOREIGN KEY (parent_region, parent_id)
		REFERENCES parent (region, id) ON DELETE CASCADE
);
CREATE INDEX child_created_idx ON child (created, parent_id);
CREATE INDEX child_lower_region_idx ON child (lower(parent_region));
CREATE VIEW parent_names AS SELECT region, id, name FROM parent;
CREATE MATERIALIZED VIEW parent_counts AS SELECT region, count(*) AS n FROM parent GROUP BY region;
CREATE TABLE "Mixed Case" ("Some Col" integer);
CREATE TABLE "Ünïcode Täble" ("naïve" text);
CREATE TABLE events (id integer, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE big (id integer);
CREATE TABLE unanalyzed (id integer) WITH (autovacuum_enabled = false);
INSERT INTO parent VALUES ('eu', 1, 'a', 1.5, 'A'), ('eu', 2, 'b', 2, 'B'), ('us', 1, 'c', 3, NULL);
INSERT INTO child VALUES (10, 'eu', 1), (11, 'eu', 1), (12, 'us', 1);
INSERT INTO "Mixed Case" VALUES (1), (2);
INSERT INTO events VALUES (1, '2024-05-01');
INSERT INTO big SELECT g FROM generate_series(1, 20000) g;
INSERT INTO unanalyzed SELECT g FROM generate_series(1, 50000) g;
ANALYZE big;
REFRESH MATERIALIZED VIEW parent_counts;
`},
	listSchemas: []string{"{{schema}}"},
	tables: []tools.TableEntry{
		listed("Mixed Case", "table", ptr[int64](2), true, ""),
		// ANALYZE put 20000 in the statistics: above the threshold, so
		// the estimate is reported, labelled as such.
		listed("big", "table", ptr[int64](20000), false, ""),
		listed("child", "table", ptr[int64](3), true, ""),
		listed("events", "partitioned table", ptr[int64](1), true, ""),
		listed("events_2024", "table", ptr[int64](1), true, ""),
		listed("parent", "table", ptr[int64](3), true, "Things that have children"),
		listed("parent_counts", "materialized view", ptr[int64](2), true, ""),
		listed("parent_names", "view", nil, false, ""),
		// Never analyzed and bigger than 1 MiB: not counted, and
		// PostgreSQL has no estimate to offer.
		listed("unanalyzed", "table", nil, false, ""),
		listed("Ünïcode Täble", "table", ptr[int64](0), true, ""),
	},
	parent: tools.TableDescription{
		Name: "parent", Kind: "table", Comment: "Things that have children",
		Columns: []tools.ColumnInfo{
			{Name: "region", Type: "text", PrimaryKeyPosition: 1},
			{Name: "id", Type: "integer", PrimaryKeyPosition: 2},
			{Name: "name", Type: "character varying(160)", Default: ptr("'unnamed'::character varying"), Comment: "Display name"},
			{Name: "price", Type: "numeric(10,2)", Nullable: true},
			{Name: "code", Type: "text", Nullable: true},
		},
		PrimaryKey: []string{"region", "id"},
		Uniques:    []tools.UniqueInfo{{Name: "parent_code_key", Columns: []string{"code"}}},
		Checks:     []tools.CheckInfo{{Name: "parent_price_positive", Expression: "(price > 0::numeric)"}},
		Indexes: []tools.IndexInfo{
			{Name: "parent_code_key", Columns: []string{"code"}, Unique: true, Method: "btree"},
			{Name: "parent_pkey", Columns: []string{"region", "id"}, Unique: true, Primary: true, Method: "btree"},
		},
	},
	child: tools.TableDescription{
		Name: "child", Kind: "table",
		Columns: []tools.ColumnInfo{
			{Name: "child_id", Type: "bigint", PrimaryKeyPosition: 1},
			{Name: "parent_region", Type: "text"},
			{Name: "parent_id", Type: "integer"},
			{Name: "created", Type: "timestamp with time zone", Default: ptr("now()")},
		},
		PrimaryKey: []string{"child_id"},
		ForeignKeys: []tools.ForeignKey{{
			Name: "child_parent_fk", Columns: []string{"parent_region", "parent_id"},
			ReferencedTable: "parent", ReferencedColumns: []string{"region", "id"},
			OnUpdate: "NO ACTION", OnDelete: "CASCADE",
		}},
		Indexes: []tools.IndexInfo{
			{Name: "child_created_idx", Columns: []string{"created", "parent_id"}, Method: "btree"},
			{Name: "child_lower_region_idx", Columns: []string{"lower(parent_region)"}, Method: "btree"},
			{Name: "child_pkey", Columns: []string{"child_id"}, Unique: true, Primary: true, Method: "btree"},
		},
	},
	// The names a model writes.
	resolve: []resolveCase{
		{`"Mixed Case"`, "Mixed Case", "table"},
		{`{{schema}}."Mixed Case"`, "Mixed Case", "table"},
		{`mixed case`, "Mixed Case", "table"}, // folded, then the case-insensitive retry
		{`Mixed Case`, "Mixed Case", "table"},
		{`"Ünïcode Täble"`, "Ünïcode Täble", "table"},
		{`{{schema}}."Ünïcode Täble"`, "Ünïcode Täble", "table"},
		{`PARENT_NAMES`, "parent_names", "view"},
		{`parent_counts`, "parent_counts", "materialized view"},
		{`events`, "events", "partitioned table"},
		{`{{SCHEMA}}.Child`, "child", "table"},
	},
	notFound: []string{"no_such_table", "{{schema}}.no_such_table", "no_such_schema.parent"},
	more: func(t *testing.T, s *toolstestSession, schema string) {
		// Every page of the listing: the shared database may hold more
		// than one page of other tests' tables.
		var all []tools.TableEntry
		args := map[string]any{}
		for range 100 {
			out := decode[tools.ListTablesOutput](t, s.call("list_tables", args))
			all = append(all, out.Tables...)
			if out.NextCursor == "" {
				break
			}
			args["cursor"] = out.NextCursor
		}
		n := 0
		for _, tb := range all {
			if tb.Schema == schema {
				n++
			}
			if tb.Schema == "pg_catalog" || tb.Schema == "information_schema" || strings.HasPrefix(tb.Schema, "pg_toast") {
				t.Fatalf("list_tables without a schema lists system relation %s.%s", tb.Schema, tb.Name)
			}
		}
		if n != 10 {
			t.Errorf("list_tables without a schema has %d tables of %s, want 10", n, schema)
		}
		res := s.call("describe_table", map[string]any{"table_name": `"Ünïcode Täble"`})
		if res.IsError {
			t.Fatal(res.Text)
		}
		want := []tools.ColumnInfo{{Name: "naïve", Type: "text", Nullable: true}}
		if diff := cmp.Diff(want, decode[tools.DescribeTableOutput](t, res).Columns); diff != "" {
			t.Errorf("columns of Ünïcode Täble (-want +got):\n%s", diff)
		}
	},
	// 300 fresh tables, none analyzed.
	boundFixture: func() []string {
		var b strings.Builder
		b.WriteString("BEGIN;\n")
		for i := range 300 {
			fmt.Fprintf(&b, "CREATE TABLE t_%03d (id integer);\n", i)
			if n := i % 4; n > 0 {
				fmt.Fprintf(&b, "INSERT INTO t_%03d SELECT generate_series(1, %d);\n", i, n)
			}
		}
		b.WriteString("COMMIT;\n")
		return []string{b.String()}
	},
	exactCap: 50,
	checkUncounted: func(t *testing.T, last tools.TableEntry) {
		if last.Rows != nil {
			t.Errorf("never-analyzed uncounted table has Rows %d, want nil (unknown)", *last.Rows)
		}
	},
}
