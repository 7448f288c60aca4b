package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// flavors are every flavor the policy knows: a flavor added later runs
// the cases marked all as soon as it exists.
var flavors = policy.Flavors()

const (
	pg = 1 << iota
	my
	lite
	all = -1 // every flavor, including one added later
)

func has(set int, f policy.Flavor) bool { return set&(1<<(int(f)-1)) != 0 }

// acceptCases are legitimate reads that must pass on the flavors named.
var acceptCases = []struct {
	on   int
	sql  string
	kind policy.StatementKind
}{
	// Plain reads, in any case and layout.
	{all, "SELECT 1", policy.Select},
	{all, "select 1", policy.Select},
	{all, "  \n\tSELECT 1\n", policy.Select},
	{all, "SELECT * FROM t WHERE a = 1 ORDER BY b DESC LIMIT 10", policy.Select},
	{all, "VALUES (1, 'a'), (2, 'b')", policy.Select},
	{pg | my, "TABLE t", policy.Select},
	{all, "(SELECT 1) UNION (SELECT 2)", policy.Select},
	{all, "((SELECT 1))", policy.Select},
	{all, "SELECT (SELECT max(a) FROM t) AS m", policy.Select},
	// Comments and semicolons.
	{all, "-- hi\nSELECT 1", policy.Select},
	{all, "/* x */ select 1", policy.Select},
	{all, "SELECT 1;", policy.Select},
	{all, "SELECT 1 ; -- done", policy.Select},
	{all, "SELECT 1;;  ; \n", policy.Select},
	{all, "SELECT 1; /* trailing */", policy.Select},
	{all, "SELECT 1 /* ; */", policy.Select},
	{all, "SELECT 1 -- ; DROP TABLE t", policy.Select},
	{my, "SELECT 1 #; DROP TABLE t", policy.Select},
	{my, "SELECT 1 -- ; DROP TABLE t", policy.Select},
	{my, "SELECT 1- -1", policy.Select},
	{pg, "/* /* */ ; DROP TABLE t; */ SELECT 1", policy.Select},
	// Strings, quoted identifiers and words that only look dangerous.
	{all, "SELECT 'DROP TABLE t; DELETE FROM t; INSERT INTO x; FOR UPDATE'", policy.Select},
	{all, "SELECT 'it''s'", policy.Select},
	{pg | lite, `SELECT "update", "delete", "into" FROM t`, policy.Select},
	{my | lite, "SELECT `update`, `delete`, `into`, `for` FROM t", policy.Select},
	{lite, "SELECT [update], [delete] FROM [into]", policy.Select},
	{all, "SELECT for_update_at, updated_at, sleep_hours, get_lock_count, into_x, deleted FROM t", policy.Select},
	{all, "SELECT t.update, t.delete, t.into FROM t", policy.Select},
	{pg, "SELECT 1 AS delete, 2 AS update, 3 AS into", policy.Select},
	{pg, "SELECT '\\''; DROP TABLE t; --'", policy.Select},
	{pg, "SELECT E'\\'' AS q", policy.Select},
	{pg, "SELECT E'a\\\\' AS b", policy.Select},
	{pg, "SELECT U&'d\\0061t\\+000061' , U&\"d\\0061t\"", policy.Select},
	{pg, "SELECT B'101', X'1F', N'x'", policy.Select},
	{pg, "SELECT $$;DROP TABLE t;$$", policy.Select},
	{pg, "SELECT $a$ $$ ; $a$", policy.Select},
	{pg, "SELECT $body$ it's ; $body$ AS x", policy.Select},
	{pg, "SELECT a$b FROM t", policy.Select},
	{pg, "SELECT 'a'\n'b'", policy.Select},
	{my, "SELECT 'a\\\\', \"c\\\\\"", policy.Select},
	{my, `SELECT 'a\\b', 'x\_y' LIKE 'x\_%'`, policy.Select},
	{my, `SELECT "say ""hi"""`, policy.Select},
	{my, "SELECT `a``b` FROM t", policy.Select},
	{lite, `SELECT "a""b" FROM t`, policy.Select},
	// CTEs, windows and other query syntax.
	{all, "WITH x AS (SELECT 1 AS a) SELECT a FROM x", policy.Select},
	{all, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n FROM r", policy.Select},
	{all, "with a as (select 1), b as (select 2) select * from a, b", policy.Select},
	{pg | lite, "WITH x AS MATERIALIZED (SELECT 1), y AS NOT MATERIALIZED (SELECT 2) SELECT * FROM x, y", policy.Select},
	{pg, "WITH RECURSIVE t(id, p) AS (SELECT 1, 0 UNION ALL SELECT id + 1, id FROM t) SEARCH DEPTH FIRST BY id, p SET ord CYCLE id, p SET c USING path SELECT * FROM t", policy.Select},
	{all, "WITH x AS (SELECT 1) (SELECT * FROM x)", policy.Select},
	{all, "WITH x AS (VALUES (1)) SELECT * FROM x", policy.Select},
	{all, "SELECT a, row_number() OVER (PARTITION BY b ORDER BY c) FROM t", policy.Select},
	{pg | lite, "SELECT count(*) FILTER (WHERE a > 1) FROM t", policy.Select},
	{pg, "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a) FROM t", policy.Select},
	{pg, "SELECT substring(s FROM 1 FOR 2), overlay(s PLACING 'x' FROM 1 FOR 1) FROM t", policy.Select},
	{pg, "SELECT j->'a', j->>'b', j#>'{a,b}', j#>>'{a}', j ? 'k', j ?| array['a'], j ?& array['b'], j @> '{}', '{}' <@ j FROM t", policy.Select},
	{pg, "SELECT 1::int, '{1,2}'::int[], a[1], $1, x # 3 FROM t", policy.Select},
	{pg, "SELECT * FROM t FOR READ ONLY", policy.Select},
	{pg, "SELECT 1 FROM t FETCH FIRST 1 ROWS ONLY", policy.Select},
	{pg, "SELECT make_interval(days := 1)", policy.Select},
	{pg, "SELECT currval('s'), lastval(), pg_database_size(current_database())", policy.Select},
	{pg, "SELECT * FROM generate_series(1, 3) g, table_to_xml('t', true, true, '')", policy.Select},
	{pg, "SELECT table_to_xml('public.genre'::regclass, true, false, ''), table_to_xml_and_xmlschema('\"Genre\"', true, true, ''), schema_to_xml('public', true, false, '')", policy.Select},
	{pg, "SELECT 1.5e3, .5, 1_000", policy.Select},
	{pg, "SELECT 1 /*+ SeqScan(t) */", policy.Select},
	{my, "SELECT a->'$.x', a->>'$.y' FROM t", policy.Select},
	{my, "SELECT INSERT('Quadratic', 3, 4, 'What'), REPLACE('a', 'a', 'b')", policy.Select},
	{my, "SELECT LAST_INSERT_ID(), IS_FREE_LOCK('x'), UUID_SHORT(), @a, @@session.sql_mode", policy.Select},
	{my, "SELECT {d '2024-01-01'}", policy.Select},
	{my, "SELECT @a.into, @b.update", policy.Select},
	{my, "TABLE t ORDER BY a LIMIT 2", policy.Select},
	{my, "VALUES ROW(1, 2), ROW(3, 4)", policy.Select},
	{lite, "SELECT * FROM pragma_table_info('t')", policy.Select},
	{lite, "SELECT json_extract(j, '$.a'), j -> '$.b' FROM t", policy.Select},
	{lite, "SELECT replace(a, 'x', 'y') FROM t", policy.Select},
	// EXPLAIN without ANALYZE.
	{all, "EXPLAIN SELECT 1", policy.Explain},
	{pg, "EXPLAIN (FORMAT JSON) SELECT 1", policy.Explain},
	{pg, "EXPLAIN (VERBOSE, COSTS OFF) WITH x AS (SELECT 1) SELECT * FROM x", policy.Explain},
	{pg, "EXPLAIN VERBOSE SELECT 1", policy.Explain},
	{pg, "EXPLAIN (SELECT 1)", policy.Explain},
	{pg | my, "EXPLAIN TABLE t", policy.Explain},
	{my, "EXPLAIN FORMAT=JSON SELECT 1", policy.Explain},
	{my, "EXPLAIN FORMAT = TREE SELECT * FROM t", policy.Explain},
	{my, "EXPLAIN EXTENDED SELECT 1", policy.Explain},
	{my, "DESCRIBE SELECT 1", policy.Explain},
	{lite, "EXPLAIN QUERY PLAN SELECT * FROM t", policy.Explain},
	// MySQL SHOW and DESCRIBE.
	{my, "SHOW TABLES", policy.Show},
	{my, "SHOW CREATE TABLE t", policy.Show},
	{my, "SHOW PROCESSLIST", policy.Show},
	{my, "SHOW FULL PROCESSLIST", policy.Show},
	{my, "SHOW ENGINE INNODB STATUS", policy.Show},
	{my, "DESCRIBE user", policy.Show},
	// Reads of catalog views that stay allowed, and names that only look
	// like the refused ones.
	{pg, "SELECT pid, state, query FROM pg_stat_activity", policy.Select},
	{pg, "SELECT rolname, rolpassword FROM pg_roles", policy.Select},
	{pg, "SELECT * FROM pg_user, pg_settings, pg_stat_subscription, pg_stat_wal_receiver", policy.Select},
	{pg, "SELECT setseed(0.5), random()", policy.Select},
	{pg, "SELECT xmlelement(name a, 'x'), xmlforest(1 AS c), table_to_xml('t', true, true, ''), x::text, CAST(x AS text) FROM t", policy.Select},
	{pg, "SELECT doc AS xml, 1 AS xml_count, xml_col, t.xml FROM t", policy.Select},
	{pg, "SELECT 'pg_authid', \"pg_authid_x\" FROM t", policy.Select},
	{pg, "SELECT * FROM U&\"d\\0061t\"", policy.Select},
	{my, "SELECT * FROM user, servers, general_log, t.user", policy.Select},
	{my, "SELECT * FROM information_schema.USER_PRIVILEGES, information_schema.PROCESSLIST", policy.Select},
	{my, "SELECT LOCATE('a', s), INSTR(s, 'a'), POSITION('a' IN s) FROM t", policy.Select},
	{lite, "SELECT name, sum(pgsize) FROM dbstat GROUP BY name", policy.Select},
	{lite, "SELECT instr(a, 'x'), trim(a, 'xy'), a LIKE 'x%' FROM t", policy.Select},
	{my, "DESCRIBE t", policy.Show},
	{my, "DESC `db`.`t`", policy.Show},
	{my, "EXPLAIN t", policy.Show},
}

func TestCheckAccepts(t *testing.T) {
	for _, tc := range acceptCases {
		for _, f := range flavors {
			if !has(tc.on, f) {
				continue
			}
			t.Run(f.String()+"/"+tc.sql, func(t *testing.T) {
				st, err := policy.Check(f, tc.sql)
				if err != nil {
					t.Fatalf("Check(%q) refused a read: %v", tc.sql, err)
				}
				if st.Kind != tc.kind {
					t.Errorf("Check(%q).Kind = %v, want %v", tc.sql, st.Kind, tc.kind)
				}
			})
		}
	}
}

// refuseCases must be refused on the flavors named, with a reason that
// contains want.
var refuseCases = []struct {
	on   int
	sql  string
	want string
}{
	// Empty input.
	{all, "", "empty statement"},
	{all, "  \n ", "empty statement"},
	{all, "-- only a comment", "empty statement"},
	{all, "/* x */ ;", "empty statement"},
	{all, ";SELECT 1", "empty statement"},
	// More than one statement.
	{all, "SELECT 1; DROP TABLE t", `multiple statements (found a second statement after ";" at offset 8)`},
	{all, "COMMIT; CREATE TABLE x(i int)", "multiple statements"},
	{all, "COMMIT", "COMMIT controls transactions"},
	{all, "SELECT 1 /* ; */ ; DROP TABLE t", "multiple statements"},
	{all, "SELECT 1;; SELECT 2", "multiple statements"},
	{all, "SELECT 1; -- x\nSELECT 2", "multiple statements"},
	{my | lite, "/* /* */ ; DROP TABLE t; */ SELECT 1", "empty statement"},
	{pg, "SELECT E'\\''; DROP TABLE t; --'", "multiple statements"},
	{pg, "SELECT E'x'\n'\\' ' ; DROP TABLE t; -- '", "multiple statements"},
	{pg, "SELECT E'x' -- c\n  '\\' ' ; DROP TABLE t; -- '", "multiple statements"},
	{my, "SELECT '\\''; DROP TABLE t; --'", "sql_mode"},
	{my | lite, "SELECT $$;DROP TABLE t;$$", ""},
	{my, "SELECT 1 --; DROP TABLE t", `"--" at offset 9 is not a comment in MySQL`},
	{my, "SELECT 1--1", "not a comment in MySQL"},
	{pg, "SELECT 1 #; DROP TABLE t", "multiple statements"},
	{lite, "SELECT 1 #; DROP TABLE t", "named parameter"},
	{pg, "SELECT 1 -- x\r; DROP TABLE t", "multiple statements"},
	// Text the lexer cannot be sure of.
	{all, "SELECT 'abc", "unterminated string"},
	{all, "SELECT 1 /* x", "unterminated /* comment"},
	{pg | lite, `SELECT "abc`, "unterminated quoted identifier"},
	{my | lite, "SELECT `abc", "unterminated quoted identifier"},
	{lite, "SELECT [abc", "unterminated [identifier]"},
	{pg, "SELECT $a$ x $b$", "unterminated dollar-quoted string"},
	{pg, "SELECT /* /* */ 1", "unterminated /* comment"},
	{pg, "SELECT $ 1", "unexpected character '$'"},
	{all, "SELECT 1\x00; DROP TABLE t", "NUL byte"},
	{all, "SELECT '\xff'", "not valid UTF-8"},
	{all, "SELECT 1 \x01", "control character"},
	{pg | my, "SELECT 1 \\ 2", "unexpected character"},
	{my, `SELECT 'it\'s'`, "sql_mode"},
	{my, `SELECT "a\"; DROP TABLE t; --"`, "sql_mode"},
	{lite, "SELECT :a, @b, $c", "named parameter"},
	{my | lite, "SELECT ?, ?1 FROM t", "parameter placeholder"},
	{my | lite, "SELECT 1 WHERE 1 = ?", "parameter placeholder"},
	{lite, "SELECT $a(';DROP TABLE t;')", "named parameter"},
	{all, "SELECT (1", "unbalanced parentheses"},
	{all, "SELECT 1)", "unbalanced parentheses"},
	// MySQL executable comments and hints.
	{my, "/*! DROP TABLE t */ SELECT 1", "executable comment"},
	{my, "SELECT /*!50001 1 */", "executable comment"},
	{my, "SELECT /*M!100101 1 */", "executable comment"},
	{my, "SELECT /*+ MAX_EXECUTION_TIME(0) */ 1", "optimizer hint"},
	{my, "SELECT /*+ SET_VAR(sort_buffer_size = 16M) */ 1", "optimizer hint"},
	// Statements that are not reads.
	{all, "INSERT INTO t VALUES (1)", "INSERT statements modify data"},
	{all, "UPDATE t SET a = 1", "UPDATE statements modify data"},
	{all, "delete from t", "DELETE statements modify data"},
	{pg, "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "MERGE statements modify data"},
	{my | lite, "REPLACE INTO t VALUES (1)", "REPLACE statements modify data"},
	{all, "CREATE TABLE x (i int)", "CREATE changes the schema"},
	{all, "DROP TABLE t", "DROP changes the schema"},
	{all, "ALTER TABLE t ADD c int", "ALTER changes the schema"},
	{pg | my, "TRUNCATE t", "TRUNCATE removes data"},
	{pg | my, "GRANT SELECT ON t TO u", "GRANT changes privileges"},
	{pg, "COPY t TO '/tmp/x'", "COPY"},
	{pg, "DO $$ BEGIN PERFORM 1; END $$", "DO runs code"},
	{pg | my, "CALL p()", "CALL runs a procedure"},
	{pg | my, "LOCK TABLE t", "LOCK takes table locks"},
	{pg | my, "SET search_path = x", "SET changes session settings"},
	{pg, "RESET ALL", "RESET"},
	{all, "BEGIN", "BEGIN controls transactions"},
	{pg | my, "START TRANSACTION", "START TRANSACTION"},
	{all, "ROLLBACK", "ROLLBACK"},
	{all, "SAVEPOINT a", "SAVEPOINT"},
	{all, "RELEASE SAVEPOINT a", "RELEASE"},
	{pg | my, "PREPARE p AS SELECT 1", "PREPARE"},
	{pg | my, "EXECUTE p", "EXECUTE"},
	{pg | my, "DEALLOCATE p", "DEALLOCATE"},
	{pg, "LISTEN c", "LISTEN"},
	{pg, "NOTIFY c", "NOTIFY"},
	{pg, "UNLISTEN c", "UNLISTEN"},
	{pg | lite, "VACUUM", "VACUUM"},
	{all, "ANALYZE t", "ANALYZE"},
	{pg | lite, "REINDEX t", "REINDEX"},
	{pg, "CLUSTER t", "CLUSTER"},
	{pg, "REFRESH MATERIALIZED VIEW v", "REFRESH"},
	{pg, "DISCARD ALL", "DISCARD"},
	{pg, "LOAD 'x'", "LOAD"},
	{my, "LOAD DATA INFILE '/etc/passwd' INTO TABLE t", "LOAD"},
	{my, "HANDLER t OPEN", "HANDLER"},
	{my, "USE db", "USE"},
	{my, "FLUSH TABLES", "FLUSH"},
	{my, "KILL 1", "KILL"},
	{lite, "ATTACH DATABASE '/tmp/x.db' AS x", "ATTACH"},
	{lite, "DETACH x", "DETACH"},
	{lite, "PRAGMA query_only=0", "PRAGMA"},
	{lite, "VACUUM INTO '/tmp/x'", "VACUUM"},
	{my, "SET STATEMENT max_statement_time=0 FOR SELECT 1", "SET"},
	{pg, "SHOW search_path", "current_setting"},
	{lite, "SHOW TABLES", "MySQL statement"},
	{lite, "TABLE t", "SQLite has no TABLE"},
	{all, "'SELECT 1'", "must start with a keyword"},
	{all, "(", "ends before its first keyword"},
	// Writes and locks inside a query.
	{all, "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "WITH may only define queries: DELETE"},
	{pg, "WITH d AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM d", "INSERT"},
	{pg, "WITH x AS (SELECT 1) UPDATE t SET a = 1", "UPDATE"},
	{pg, "WITH x AS (SELECT 1) DELETE FROM t", "DELETE"},
	{pg, "WITH x AS (SELECT 1) MERGE INTO t USING x ON true WHEN MATCHED THEN DELETE", "MERGE"},
	{lite, "WITH x AS (SELECT 1) REPLACE INTO t SELECT * FROM x", "REPLACE"},
	{all, "SELECT * FROM (WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d) s", "DELETE modifies data"},
	{all, "WITH x AS (SELECT 1)", "no main SELECT"},
	{all, "WITH x (SELECT 1) SELECT 1", "could not read the WITH clause"},
	{all, "SELECT * INTO new FROM t", "SELECT … INTO writes data; remove INTO"},
	{my, "SELECT * FROM t INTO OUTFILE '/tmp/x'", "INTO"},
	{my, "SELECT 1 INTO DUMPFILE '/tmp/x'", "INTO"},
	{my, "SELECT 1 INTO @x", "INTO"},
	{my, "SELECT @a. INTO @x", "INTO"},
	{my, "SELECT @a./**/INTO OUTFILE '/tmp/x'", "INTO"},
	{pg, "SELECT 1 AS x INTO t", "INTO"},
	{pg, "SELECT 1.into x", "INTO"},
	{pg, "SELECT 1into x", "INTO"},
	{my, "TABLE t INTO @x", "INTO"},
	{all, "(SELECT 1) INTO x", "INTO"},
	{all, "SELECT * FROM t FOR UPDATE", "locking clause FOR UPDATE"},
	{pg | my, "SELECT * FROM t FOR UPDATE NOWAIT", "locking clause FOR UPDATE"},
	{pg | my, "SELECT * FROM t FOR UPDATE SKIP LOCKED", "locking clause FOR UPDATE"},
	{pg | my, "select * from t for share", "locking clause FOR SHARE"},
	{pg, "SELECT * FROM t FOR NO KEY UPDATE", "locking clause FOR NO KEY UPDATE"},
	{pg, "SELECT * FROM t FOR KEY SHARE", "locking clause FOR KEY SHARE"},
	{pg, "SELECT * FROM (SELECT * FROM t FOR UPDATE) s", "locking clause FOR UPDATE"},
	{my, "SELECT * FROM t LOCK IN SHARE MODE", "LOCK IN SHARE MODE"},
	{my, "SELECT @a := 1", "assigning a user variable"},
	{my, "SELECT @a:=1", "assigning a user variable"},
	{my, "SELECT NEXT VALUE FOR s", "advances a sequence"},
	// Functions with side effects, however they are spelled.
	{pg, "SELECT pg_advisory_lock(1)", "function pg_advisory_lock has side effects"},
	{pg, "SELECT pg_catalog.pg_advisory_lock(1)", "function pg_advisory_lock"},
	{pg, `SELECT "pg_advisory_lock"(1)`, "function pg_advisory_lock"},
	{pg, `SELECT pg_catalog."pg_advisory_lock"(1)`, "function pg_advisory_lock"},
	{pg, "SELECT PG_ADVISORY_LOCK (1)", "function pg_advisory_lock"},
	{pg, "SELECT pg_advisory_lock/**/(1)", "function pg_advisory_lock"},
	{pg, "SELECT pg_advisory_lock -- c\n (1)", "function pg_advisory_lock"},
	{pg, `SELECT U&"pg\005fsleep"(1)`, "Unicode escapes"},
	{pg, `SELECT U&"pg_read_fil!0065" UESCAPE '!' ('/etc/passwd')`, "Unicode escapes"},
	{pg, `SELECT U&"pg_read_file" UESCAPE '!' ('/etc/passwd')`, "Unicode escapes"},
	{pg, `SELECT pg_catalog.U&"pg_sleep" UESCAPE '#' /* c */ (1)`, "Unicode escapes"},
	{pg, "SELECT brin_desummarize_range('i', 0)", "writes an index"},
	{pg, "SELECT pg_catalog.gin_clean_pending_list('i')", "writes an index"},
	{pg, "SELECT heap_force_kill('t', ARRAY['(0,1)']::tid[])", "rewrites table pages"},
	{pg, "SELECT pg_nextoid('pg_class', 'oid', 'pg_class_oid_index')", "OID"},
	{pg, "SELECT pg_try_advisory_xact_lock_shared(1)", "advisory lock"},
	{pg, "SELECT pg_advisory_unlock_all()", "advisory lock"},
	{pg, "SELECT pg_sleep(10)", "pg_sleep"},
	{pg, "SELECT pg_sleep_for('1 minute')", "pg_sleep_for"},
	{pg, "SELECT set_config('statement_timeout', '0', false)", "set_config"},
	{pg, "SELECT pg_terminate_backend(1)", "pg_terminate_backend"},
	{pg, "SELECT pg_cancel_backend(1)", "pg_cancel_backend"},
	{pg, "SELECT pg_reload_conf()", "pg_reload_conf"},
	{pg, "SELECT pg_create_logical_replication_slot('s', 'p')", "pg_create_logical_replication_slot"},
	{pg, "SELECT pg_drop_replication_slot('s')", "pg_drop_replication_slot"},
	{pg, "SELECT pg_logical_emit_message(true, 'a', 'b')", "pg_logical_emit_message"},
	{pg, "SELECT pg_read_file('/etc/passwd')", "pg_read_file"},
	{pg, "SELECT * FROM pg_ls_dir('.')", "pg_ls_dir"},
	{pg, "SELECT lo_import('/etc/passwd')", "lo_import"},
	{pg, "SELECT lo_export(1, '/tmp/x')", "lo_export"},
	{pg, "SELECT * FROM dblink('host=x', 'DELETE FROM t') AS r(a int)", "dblink"},
	{pg, "SELECT txid_current()", "txid_current"},
	{pg, "SELECT nextval('s')", "nextval"},
	{pg, "SELECT setval('s', 1)", "setval"},
	{pg, "SELECT pg_notify('c', 'x')", "pg_notify"},
	{pg, "SELECT query_to_xml('DELETE FROM t RETURNING 1', true, true, '')", "query_to_xml"},
	{pg, "SELECT pg_stat_reset()", "pg_stat_reset"},
	{pg, "SELECT (SELECT pg_sleep(1))", "pg_sleep"},
	{pg, "SELECT * FROM t WHERE pg_sleep(1) IS NULL", "pg_sleep"},
	{my, "SELECT SLEEP(10)", "function sleep"},
	{my, "SELECT sleep (10)", "function sleep"},
	{my, "SELECT `sleep`(10)", "function sleep"},
	{my, `SELECT "sleep"(10)`, "function sleep"},
	{my, "SELECT BENCHMARK(1000000, MD5('a'))", "benchmark"},
	{my, "SELECT GET_LOCK('a', 10)", "get_lock"},
	{my, "SELECT RELEASE_LOCK('a')", "release_lock"},
	{my, "SELECT LOAD_FILE('/etc/passwd')", "load_file"},
	{my, "SELECT sys_exec('id')", "sys_exec"},
	{my, "SELECT LAST_INSERT_ID(5)", "last_insert_id"},
	{my, "SELECT NEXTVAL(s)", "nextval"},
	{my, "SELECT MASTER_POS_WAIT('f', 4)", "master_pos_wait"},
	{lite, "SELECT load_extension('x')", "load_extension"},
	{lite, "SELECT writefile('/tmp/x', 'y')", "writefile"},
	{lite, "SELECT readfile('/etc/passwd')", "readfile"},
	{lite, "SELECT * FROM fsdir('/')", "fsdir"},
	{lite, "SELECT fts3_tokenizer('x')", "fts3_tokenizer"},
	{lite, "SELECT [load_extension]('x')", "load_extension"},
	// Server files, secrets and other sessions.
	{pg, "SELECT * FROM pg_file_settings", "configuration files"},
	{pg, "SELECT * FROM pg_catalog.pg_show_all_file_settings()", "configuration files"},
	{pg, "SELECT * FROM pg_hba_file_rules", "pg_hba.conf"},
	{pg, "SELECT * FROM pg_hba_file_rules()", "pg_hba.conf"},
	{pg, "SELECT * FROM pg_ident_file_mappings", "pg_ident.conf"},
	{pg, "SELECT rolpassword FROM pg_authid", "password hashes"},
	// Functions that read the relation their argument names.
	{pg, "SELECT table_to_xml('pg_authid', true, false, '')", "password hashes"},
	{pg, "SELECT table_to_xml('pg_catalog.PG_SHADOW'::regclass, true, false, '')", "password hashes"},
	{pg, "SELECT table_to_xml_and_xmlschema('\"pg_file_settings\"', true, false, '')", "configuration files"},
	{pg, "SELECT table_to_xml(1260, true, false, '')", "plain string literal"},
	{pg, "SELECT table_to_xml('pg_' 'authid', true, false, '')", "plain string literal"},
	{pg, "SELECT table_to_xml(E'pg_authid', true, false, '')", "plain string literal"},
	{pg, "SELECT table_to_xml(relname::regclass, true, false, '') FROM pg_class", "plain string literal"},
	{pg, "SELECT schema_to_xml('pg_catalog', true, false, '')", "system schema"},
	{pg, "SELECT schema_to_xml_and_xmlschema('information_schema', true, false, '')", "system schema"},
	{pg, `SELECT rolpassword FROM "pg_catalog"."pg_authid"`, "password hashes"},
	{pg, `SELECT * FROM U&"pg_aut\0068id"`, "password hashes"},
	{pg, `SELECT * FROM U&"pg_aut!0068id" UESCAPE '!'`, "password hashes"},
	{pg, `SELECT * FROM U&"pg_aut\zzzzid"`, "Unicode escapes"},
	{pg, "SELECT passwd FROM pg_shadow", "password hashes"},
	{pg, "SELECT umoptions FROM pg_user_mappings", "foreign servers"},
	{pg, "SELECT * FROM information_schema.user_mapping_options", "foreign servers"},
	{pg, "SELECT subconninfo FROM pg_subscription", "connection string"},
	{pg, "SELECT (SELECT count(*) FROM pg_authid WHERE rolpassword LIKE 'SCRAM%')", "password hashes"},
	{pg, "SELECT xpath('/a', '<a/>'::xml)", "libxml2"},
	{pg, "SELECT xpath_exists('/a', '<a/>'::xml)", "libxml2"},
	{pg, "SELECT XMLEXISTS('//a' PASSING BY REF '<a/>'::xml)", "libxml2"},
	{pg, "SELECT * FROM XMLTABLE('/r' PASSING '<r/>'::xml COLUMNS a int)", "libxml2"},
	{pg, "SELECT pg_catalog.xpath('/a', x) FROM t", "libxml2"},
	{pg, "SELECT xmlparse(document '<a/>')", "parses XML"},
	{pg, "SELECT xml_is_well_formed_document(doc) FROM t", "parses XML"},
	{pg, "SELECT doc::xml FROM t", "casting text to xml"},
	{pg, "SELECT doc :: pg_catalog.xml FROM t", "casting text to xml"},
	{pg, `SELECT doc::"xml"[] FROM t`, "casting text to xml"},
	{pg, "SELECT CAST(doc AS xml) FROM t", "casting text to xml"},
	{pg, "SELECT CAST(doc AS XML)::text FROM t", "casting text to xml"},
	{pg, "SELECT xml '<a/>'", "casting text to xml"},
	{my, "SELECT authentication_string FROM mysql.user", "mysql.user holds password hashes"},
	{my, "SELECT * FROM `mysql`.`user`", "password hashes"},
	{my, "SELECT * FROM mysql . global_priv", "password hashes"},
	{my, "SELECT Password FROM mysql.servers", "remote servers"},
	{my, "SELECT argument FROM mysql.general_log", "passwords included"},
	{my, "SHOW DATABASES WHERE (SELECT count(*) FROM mysql.user) > 0", "password hashes"},
	{my, "SHOW GRANTS", "password hashes"},
	{my, "SHOW GRANTS FOR CURRENT_USER", "USER_PRIVILEGES"},
	{my, "show create user root", "password hash"},
	{my, "SHOW EXPLAIN FOR 5", "another session"},
	{my, "SHOW EXPLAIN FORMAT=JSON FOR 5", "another session"},
	{my, "SHOW ANALYZE FOR 5", "another session"},
	{my, "SHOW BINLOG EVENTS", "replication log"},
	{my, "SHOW RELAYLOG EVENTS", "replication log"},
	{lite, "SELECT * FROM sqlite_dbpage", "raw database pages"},
	{lite, "SELECT data FROM sqlite_dbpage('main') WHERE pgno = 2", "raw database pages"},
	// EXPLAIN that executes, or explains a write.
	{pg, "EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE executes the statement"},
	{pg, "EXPLAIN ANALYSE SELECT 1", "EXPLAIN ANALYZE executes the statement"},
	{pg, "EXPLAIN VERBOSE ANALYZE SELECT 1", "EXPLAIN ANALYZE"},
	{pg, "EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN ANALYZE"},
	{pg, "EXPLAIN (ANALYZE) SELECT 1", "EXPLAIN ANALYZE"},
	{pg, "EXPLAIN (ANALYZE true) SELECT 1", "EXPLAIN ANALYZE"},
	{pg, "EXPLAIN (FORMAT JSON, analyze) SELECT 1", "EXPLAIN ANALYZE"},
	{pg, `EXPLAIN (FORMAT JSON, "analyze") SELECT 1`, "EXPLAIN ANALYZE"},
	{pg, `EXPLAIN (FORMAT JSON, U&"\0061nalyze") SELECT 1`, "EXPLAIN ANALYZE"},
	{all, "EXPLAIN DELETE FROM t", "only read statements may be explained: DELETE statements modify data"},
	{all, "EXPLAIN UPDATE t SET a = 1", "only read statements may be explained"},
	{pg, "EXPLAIN CREATE TABLE x AS SELECT 1", "CREATE"},
	{pg, "EXPLAIN EXECUTE p", "EXECUTE"},
	{all, "EXPLAIN", "EXPLAIN needs a statement"},
	{all, "EXPLAIN SELECT pg_advisory_lock(1) FOR UPDATE", ""},
	{my, "EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE"},
	{my, "EXPLAIN FORMAT=TREE ANALYZE SELECT 1", "EXPLAIN ANALYZE"},
	{my, "EXPLAIN FOR CONNECTION 5", "another session"},
	{my, "EXPLAIN INSERT INTO t VALUES (1)", "INSERT"},
	{my, "DESCRIBE DELETE FROM t", "DELETE"},
	{lite, "EXPLAIN QUERY PLAN DELETE FROM t", "DELETE"},
	{lite, "EXPLAIN QUERY DELETE FROM t", "EXPLAIN QUERY PLAN"},
}

func TestCheckRefuses(t *testing.T) {
	for _, tc := range refuseCases {
		for _, f := range flavors {
			if !has(tc.on, f) {
				continue
			}
			t.Run(f.String()+"/"+tc.sql, func(t *testing.T) {
				st, err := policy.Check(f, tc.sql)
				if err == nil {
					t.Fatalf("Check(%q) accepted %+v, want a refusal", tc.sql, st)
				}
				var v *policy.Violation
				if !errors.As(err, &v) {
					t.Fatalf("Check(%q) error is %T, want *policy.Violation", tc.sql, err)
				}
				if v.Flavor != f {
					t.Errorf("Violation.Flavor = %v, want %v", v.Flavor, f)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Check(%q) = %q, want it to contain %q", tc.sql, err, tc.want)
				}
				if st != (policy.Statement{}) {
					t.Errorf("Check(%q) returned a statement with its refusal: %+v", tc.sql, st)
				}
			})
		}
	}
}

func TestViolationMessage(t *testing.T) {
	tests := []struct {
		f    policy.Flavor
		want string
	}{
		{policy.Postgres, `not allowed: multiple statements (found a second statement after ";" at offset 8); send one statement at a time. Only one read-only statement is allowed: SELECT, WITH … SELECT, VALUES, TABLE or EXPLAIN (without ANALYZE)`},
		{policy.MySQL, `not allowed: multiple statements (found a second statement after ";" at offset 8); send one statement at a time. Only one read-only statement is allowed: SELECT, WITH … SELECT, VALUES, TABLE, EXPLAIN (without ANALYZE), SHOW or DESCRIBE`},
		{policy.SQLite, `not allowed: multiple statements (found a second statement after ";" at offset 8); send one statement at a time. Only one read-only statement is allowed: SELECT, WITH … SELECT, VALUES or EXPLAIN [QUERY PLAN]`},
	}
	for _, tc := range tests {
		_, err := policy.Check(tc.f, "SELECT 1; DROP TABLE t")
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v\nwant %s", tc.f, err, tc.want)
		}
	}
	if _, err := policy.Check(policy.Flavor(0), "SELECT 1"); err == nil {
		t.Error("Check with an unknown flavor accepted the statement")
	}
}

func TestCheckBody(t *testing.T) {
	tests := []struct {
		on       int
		sql      string
		wantBody string
	}{
		{all, "SELECT 1", "SELECT 1"},
		{all, "  SELECT 1  \n", "SELECT 1"},
		{all, "SELECT 1;", "SELECT 1"},
		{all, "SELECT 1 ;;; ", "SELECT 1"},
		{all, "SELECT 1 ; -- done", "SELECT 1"},
		{all, "SELECT 1; /* done */", "SELECT 1"},
		{all, "-- hi\nSELECT 1", "-- hi\nSELECT 1"},
		{all, "/* a */ SELECT 1 /* b */ ;", "/* a */ SELECT 1 /* b */"},
		{all, "SELECT 1 -- x", "SELECT 1 -- x\n"},
		{all, "SELECT 1 -- x\n", "SELECT 1 -- x\n"},
		{all, "SELECT 1 -- x\n;", "SELECT 1 -- x\n"},
		{my, "SELECT 1 # x", "SELECT 1 # x\n"},
		{pg, "SELECT $$a;$$;", "SELECT $$a;$$"},
	}
	for _, tc := range tests {
		for _, f := range flavors {
			if !has(tc.on, f) {
				continue
			}
			st, err := policy.Check(f, tc.sql)
			if err != nil {
				t.Errorf("%v: Check(%q): %v", f, tc.sql, err)
				continue
			}
			if st.Body != tc.wantBody {
				t.Errorf("%v: Check(%q).Body = %q, want %q", f, tc.sql, st.Body, tc.wantBody)
			}
			// What callers do with Body: wrap or extend it. Appended text
			// must stay code, not become part of a comment.
			if _, err := policy.Check(f, st.Body+"; DROP TABLE t"); err == nil {
				t.Errorf("%v: Body %q with a second statement appended was accepted", f, st.Body)
			}
		}
	}
}

// BenchmarkCheck measures a typical analytic query: a CTE, a join, an
// aggregate and a window function.
func BenchmarkCheck(b *testing.B) {
	const q = `WITH monthly AS (
  SELECT c.region, date_trunc('month', o.created_at) AS month, sum(o.total) AS revenue
  FROM orders o JOIN customers c ON c.id = o.customer_id
  WHERE o.created_at >= now() - interval '1 year' AND o.status <> 'cancelled'
  GROUP BY 1, 2
)
SELECT region, month, revenue,
       rank() OVER (PARTITION BY month ORDER BY revenue DESC) AS rnk
FROM monthly ORDER BY month, rnk LIMIT 100;`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := policy.Check(policy.Postgres, q); err != nil {
			b.Fatal(err)
		}
	}
}
