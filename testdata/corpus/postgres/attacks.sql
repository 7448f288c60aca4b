-- PostgreSQL attacks. Format: ../README.md.
-- ----
-- why: E-string: \' is a quote inside the string, so the ; is code
SELECT E'\''; DELETE FROM track; --'
-- ----
-- why: E-string continued on the next line keeps its escapes
SELECT E'x'
'\' ' ; DELETE FROM track; -- '
-- ----
-- why: a standard string ends at the backslash's quote
SELECT '\'; DELETE FROM track; --'
-- ----
-- why: dollar quote closed before the separator
SELECT $$a$$; DELETE FROM track
-- ----
SELECT $tag$ $$ $tag$; DELETE FROM track
-- ----
-- why: nested comments: only PostgreSQL nests, the write is after the outer */
/* /* */ ; DELETE FROM track; */ DELETE FROM track
-- ----
/* a /* b */ c */ ; DELETE FROM track
-- ----
-- why: U& identifiers and strings around a separator
SELECT U&"d\0061ta"; DELETE FROM track
-- ----
SELECT U&'\0027'; DELETE FROM track
-- ----
-- why: a carriage return ends a line comment in PostgreSQL
SELECT 1 -- x
; DELETE FROM track
-- ----
-- why: function names written with Unicode escapes
SELECT U&"pg\005fsleep"(1)
-- ----
SELECT U&"pg_read_fil!0065" UESCAPE '!' ('/etc/passwd')
-- ----
SELECT U&"pg_read_file" UESCAPE '!' ('/etc/hostname')
-- ----
SELECT pg_catalog.U&"set_config" UESCAPE '#' ('statement_timeout', '0', false)
-- ----
-- why: advisory locks outlive the call, however the name is spelled
SELECT pg_advisory_lock(1)
-- ----
SELECT pg_catalog.pg_advisory_lock(1)
-- ----
SELECT "pg_advisory_lock"(1)
-- ----
SELECT pg_catalog."pg_advisory_lock"(1)
-- ----
SELECT PG_ADVISORY_LOCK /* x */ (1)
-- ----
SELECT pg_advisory_lock
  -- comment
  (1)
-- ----
SELECT pg_try_advisory_lock(42)
-- ----
SELECT pg_advisory_xact_lock(1)
-- ----
SELECT pg_advisory_lock_shared(1)
-- ----
SELECT * FROM track WHERE pg_try_advisory_lock(track_id)
-- ----
-- why: settings, signals and server control
SELECT set_config('statement_timeout', '0', false)
-- ----
SELECT pg_catalog.set_config('default_transaction_read_only', 'off', false)
-- ----
SELECT pg_terminate_backend(pg_backend_pid())
-- ----
SELECT pg_cancel_backend(pid) FROM pg_stat_activity
-- ----
SELECT pg_reload_conf()
-- ----
SELECT pg_rotate_logfile()
-- ----
SELECT pg_switch_wal()
-- ----
SELECT pg_create_restore_point('x')
-- ----
SELECT pg_stat_reset()
-- ----
SELECT pg_create_logical_replication_slot('pwned', 'pgoutput')
-- ----
SELECT pg_logical_emit_message(true, 'x', 'y')
-- ----
SELECT pg_notify('c', 'x')
-- ----
-- why: sleeping holds a connection; the timeout would stop it, the policy does first
SELECT pg_sleep(10)
-- ----
SELECT (SELECT pg_sleep_for('1 minute'))
-- ----
-- why: server files
SELECT pg_read_file('/etc/passwd')
-- ----
SELECT pg_catalog.pg_read_binary_file('/etc/passwd')
-- ----
SELECT * FROM pg_ls_dir('.')
-- ----
SELECT pg_stat_file('postgresql.conf')
-- ----
-- why: large objects read and write server files
SELECT lo_import('/etc/passwd')
-- ----
SELECT lo_create(0)
-- ----
SELECT lo_from_bytea(0, 'x')
-- ----
SELECT lo_export(1, '{{dir}}/pwned')
-- ----
-- why: sequences
SELECT nextval('attack_seq')
-- ----
SELECT setval('attack_seq', 100)
-- ----
SELECT txid_current()
-- ----
SELECT pg_current_xact_id()
-- ----
-- why: index maintenance writes even inside a READ ONLY transaction
SELECT brin_desummarize_range('attack_target_brin', 0)
-- ----
SELECT brin_summarize_new_values('attack_target_brin')
-- ----
SELECT gin_clean_pending_list('attack_target_gin')
-- ----
SELECT pg_nextoid('pg_class', 'oid', 'pg_class_oid_index')
-- ----
-- why: functions that run SQL text the policy cannot see
SELECT query_to_xml('DELETE FROM attack_target RETURNING 1', true, true, '')
-- ----
SELECT * FROM dblink('dbname={{db}}', 'DELETE FROM track') AS t(i int)
-- ----
SELECT dblink_exec('dbname={{db}}', 'DELETE FROM track')
-- ----
-- why: a user function that writes: the read-only transaction stops it
SELECT attack_write()
-- ----
SELECT * FROM track WHERE attack_write() IS NOT NULL
-- ----
-- why: COPY reads and writes files and runs programs
COPY track TO PROGRAM 'touch {{dir}}/pwned'
-- ----
COPY (SELECT 1) TO '{{dir}}/pwned'
-- ----
COPY genre FROM '/etc/passwd'
-- ----
-- why: code blocks, procedures, cursors, prepared statements
DO $$ BEGIN DELETE FROM track; END $$
-- ----
CALL attack_proc()
-- ----
PREPARE p AS DELETE FROM track
-- ----
EXECUTE p
-- ----
DECLARE c CURSOR WITH HOLD FOR SELECT * FROM track
-- ----
-- why: locks, notifications, session state
LOCK TABLE track
-- ----
LOCK TABLE track IN ACCESS EXCLUSIVE MODE
-- ----
NOTIFY x
-- ----
LISTEN x
-- ----
SET statement_timeout = 0
-- ----
SET LOCAL statement_timeout = 0
-- ----
SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE
-- ----
SET TRANSACTION READ WRITE
-- ----
SET ROLE postgres
-- ----
SET standard_conforming_strings = off
-- ----
RESET ALL
-- ----
DISCARD ALL
-- ----
SHOW search_path
-- ----
-- why: two-phase commit
PREPARE TRANSACTION 'x'
-- ----
COMMIT PREPARED 'x'
-- ----
-- why: locking clauses in every form
SELECT * FROM track FOR SHARE
-- ----
SELECT * FROM track FOR NO KEY UPDATE
-- ----
SELECT * FROM track FOR KEY SHARE
-- ----
SELECT * FROM track t JOIN album a USING (album_id) FOR UPDATE OF t SKIP LOCKED
-- ----
-- why: EXPLAIN ANALYZE in every spelling
EXPLAIN ANALYSE SELECT 1
-- ----
EXPLAIN (ANALYZE) DELETE FROM track
-- ----
EXPLAIN (ANALYZE true, FORMAT JSON) DELETE FROM track
-- ----
EXPLAIN (FORMAT JSON, "analyze") DELETE FROM track
-- ----
EXPLAIN (FORMAT JSON, U&"\0061nalyze") DELETE FROM track
-- ----
EXPLAIN VERBOSE ANALYZE DELETE FROM track
-- ----
EXPLAIN CREATE TABLE pwned AS SELECT 1
-- ----
-- why: SELECT … INTO creates a table; number-adjacent INTO
SELECT 1 AS x INTO pwned
-- ----
SELECT 1into pwned
-- ----
SELECT 1.into pwned
-- ----
-- why: writable CTEs with MERGE and nested data modification
WITH x AS (SELECT 1) MERGE INTO attack_target t USING x ON true WHEN MATCHED THEN DELETE
-- ----
WITH a AS (SELECT 1), d AS (UPDATE attack_target SET v = 'x' RETURNING *) SELECT * FROM d
-- ----
WITH RECURSIVE r AS (SELECT 1) , d AS MATERIALIZED (DELETE FROM attack_target RETURNING *) SELECT * FROM d
-- ----
-- why: statements that rewrite storage or the schema
VACUUM track
-- ----
REINDEX TABLE track
-- ----
CLUSTER track
-- ----
TRUNCATE track
-- ----
REFRESH MATERIALIZED VIEW pwned
-- ----
COMMENT ON TABLE track IS 'pwned'
-- ----
GRANT ALL ON track TO PUBLIC
-- ----
CREATE ROLE pwned SUPERUSER LOGIN
-- ----
ALTER SYSTEM SET statement_timeout = 0
-- ----
CREATE EXTENSION dblink
-- ----
LOAD 'auto_explain'
-- ----
CHECKPOINT
-- ----
SECURITY LABEL ON TABLE track IS 'x'
-- ----
-- why: server files through catalog views and functions, as pg_read_file would read them
SELECT * FROM pg_file_settings
-- ----
SELECT * FROM pg_catalog.pg_show_all_file_settings()
-- ----
SELECT * FROM pg_hba_file_rules
-- ----
SELECT * FROM pg_ident_file_mappings
-- ----
-- why: password hashes and foreign-server passwords
SELECT rolname, rolpassword FROM pg_authid
-- ----
SELECT usename, passwd FROM "pg_catalog"."pg_shadow"
-- ----
SELECT * FROM U&"pg_aut\0068id"
-- ----
SELECT count(*) FROM pg_roles WHERE EXISTS (SELECT 1 FROM pg_authid WHERE rolpassword LIKE 'SCRAM%')
-- ----
SELECT srvname, umoptions FROM pg_user_mappings
-- ----
SELECT * FROM information_schema.user_mapping_options
-- ----
SELECT subname, subconninfo FROM pg_subscription
-- ----
-- why: XPath runs in libxml2, which ignores the statement timeout and cancel
SELECT xpath('//a', ('<r>' || repeat('<a>x</a>', 100) || '</r>')::xml)
-- ----
SELECT xpath_exists('//a', '<a/>'::xml)
-- ----
SELECT XMLEXISTS('//a' PASSING BY REF '<a/>'::xml)
-- ----
SELECT * FROM XMLTABLE('/r/a' PASSING '<r><a>1</a></r>'::xml COLUMNS v int PATH '.')
-- ----
-- why: parsing text as XML is just as deaf to the timeout
SELECT xmlparse(document '<r>' || repeat('<a>x</a>', 1000) || '</r>')
-- ----
SELECT xml_is_well_formed_document(name) FROM track
-- ----
SELECT CAST(name AS xml) FROM genre
-- ----
SELECT name::pg_catalog.xml FROM genre
-- ----
-- why: table_to_xml and schema_to_xml read the relation their argument names, at run time
SELECT table_to_xml('pg_authid', true, false, '')
-- ----
SELECT table_to_xml_and_xmlschema('pg_catalog.pg_file_settings'::regclass, true, false, '')
-- ----
SELECT table_to_xml(1260, true, false, '')
-- ----
SELECT schema_to_xml('pg_catalog', true, false, '')
