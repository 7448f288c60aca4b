-- SQLite attacks. Format: ../README.md.
-- ----
-- why: ATTACH creates a file even on a read-only connection
ATTACH DATABASE '{{dir}}/pwned.db' AS pwned
-- ----
ATTACH '{{dir}}/pwned.db' AS pwned
-- ----
attach database 'file:{{dir}}/pwned.db?mode=rwc' as pwned
-- ----
DETACH DATABASE main
-- ----
-- why: VACUUM INTO writes a copy of the database anywhere
VACUUM INTO '{{dir}}/pwned.db'
-- ----
VACUUM main INTO '{{dir}}/pwned.db'
-- ----
VACUUM
-- ----
-- why: pragmas that set
PRAGMA query_only = 0
-- ----
PRAGMA query_only = false
-- ----
PRAGMA writable_schema = 1
-- ----
PRAGMA journal_mode = WAL
-- ----
PRAGMA main.user_version = 42
-- ----
PRAGMA trusted_schema = 1
-- ----
PRAGMA foreign_keys = OFF
-- ----
PRAGMA temp_store_directory = '{{dir}}'
-- ----
PRAGMA wal_checkpoint(TRUNCATE)
-- ----
PRAGMA optimize
-- ----
PRAGMA incremental_vacuum
-- ----
-- why: pragma table-valued functions that would set something; SQLite itself
-- why: refuses the argument (the table-valued form never sets)
-- expect: error
SELECT * FROM pragma_query_only(0)
-- ----
-- expect: error
SELECT * FROM pragma_user_version(42)
-- ----
-- expect: error
SELECT * FROM pragma_journal_mode('wal')
-- ----
-- why: native code and files
SELECT load_extension('{{dir}}/x')
-- ----
SELECT [load_extension]('{{dir}}/x')
-- ----
SELECT "load_extension"('{{dir}}/x', 'init')
-- ----
SELECT writefile('{{dir}}/pwned', 'x')
-- ----
SELECT readfile('/etc/passwd')
-- ----
SELECT * FROM fsdir('/')
-- ----
SELECT fts3_tokenizer('simple', x'00')
-- ----
-- why: SQLite's parameters are never bound; the TCL form swallows quotes
SELECT $a(';DELETE FROM track;')
-- ----
SELECT :a; DELETE FROM track
-- ----
-- why: SQLite-only writes and schema changes
REPLACE INTO genre VALUES (1, 'x')
-- ----
INSERT OR REPLACE INTO genre VALUES (1, 'x')
-- ----
UPSERT INTO genre VALUES (1, 'x')
-- ----
INSERT INTO genre VALUES (1, 'x') ON CONFLICT DO NOTHING
-- ----
WITH x AS (SELECT 1) REPLACE INTO genre SELECT 1, 'x' FROM x
-- ----
CREATE TRIGGER pwned AFTER INSERT ON genre BEGIN DELETE FROM track; END
-- ----
CREATE VIRTUAL TABLE pwned USING fts5(x)
-- ----
CREATE TEMP VIEW pwned AS SELECT 1
-- ----
REINDEX
-- ----
ANALYZE
-- ----
BEGIN IMMEDIATE
-- ----
BEGIN EXCLUSIVE TRANSACTION
-- ----
END TRANSACTION
-- ----
-- why: raw page writes
UPDATE sqlite_dbpage SET data = zeroblob(4096) WHERE pgno = 1
-- ----
UPDATE sqlite_master SET sql = 'x'
-- ----
-- why: EXPLAIN QUERY PLAN of a write; EXPLAIN of a write
EXPLAIN QUERY PLAN DELETE FROM track
-- ----
EXPLAIN INSERT INTO genre VALUES (1, 'x')
-- ----
-- why: MySQL/PostgreSQL-only syntax SQLite would read differently
SELECT 1 #; DELETE FROM track
-- ----
-- why: raw pages of the file, deleted rows included
SELECT data FROM sqlite_dbpage WHERE pgno = 1
-- ----
SELECT count(*) FROM sqlite_dbpage('main')
-- ----
-- why: a LIKE/GLOB pattern long enough to make one comparison run for seconds
-- expect: error
SELECT count(*) FROM track WHERE name LIKE '%' || printf('%.300c', 'a') || 'b'
