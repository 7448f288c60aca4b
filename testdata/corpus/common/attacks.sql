-- Attacks every backend must refuse. Format: ../README.md.
-- ----
-- why: plain write
DELETE FROM track
-- ----
delete from track where 1=1
-- ----
UPDATE track SET name = 'x'
-- ----
INSERT INTO genre (genre_id, name) VALUES (999, 'x')
-- ----
INSERT INTO attack_target SELECT * FROM attack_target
-- ----
DROP TABLE track
-- ----
CREATE TABLE pwned (i int)
-- ----
CREATE VIEW pwned AS SELECT 1 AS a
-- ----
CREATE INDEX pwned ON track (name)
-- ----
ALTER TABLE track ADD COLUMN x int
-- ----
-- why: temp tables are session state that outlives the call
CREATE TEMP TABLE pwned AS SELECT 1 AS a
-- ----
CREATE TEMPORARY TABLE pwned (i int)
-- ----
-- why: the reference server-postgres escape: end our transaction, then write
COMMIT; CREATE TABLE pwned (i int)
-- ----
ROLLBACK; DELETE FROM track
-- ----
END; DELETE FROM track
-- ----
BEGIN; DELETE FROM track; COMMIT
-- ----
-- why: stacked statement after a read
SELECT 1; DELETE FROM track
-- ----
SELECT 1;DELETE FROM track;
-- ----
SELECT 1
;
DELETE FROM track
-- ----
-- why: a semicolon in a comment is not the separator, the second one is
SELECT 1 /* ; */ ; DELETE FROM track
-- ----
-- why: the first string ends before the separator
SELECT 'a'; DELETE FROM track; --'
-- ----
SELECT 'it''s'; DELETE FROM track
-- ----
-- why: a comment before the write
/* x */ DELETE FROM track
-- ----
-- why: a line comment before the write
-- just a read
DELETE FROM track
-- ----
-- why: stacked statement hidden after a line comment's end
SELECT 1 -- comment
; DELETE FROM track
-- ----
-- why: transaction control
COMMIT
-- ----
ROLLBACK
-- ----
SAVEPOINT a
-- ----
RELEASE SAVEPOINT a
-- ----
BEGIN
-- ----
-- why: writable CTE
WITH d AS (DELETE FROM track RETURNING *) SELECT * FROM d
-- ----
WITH x AS (SELECT 1 AS a) DELETE FROM attack_target
-- ----
WITH x AS (SELECT 1 AS a) UPDATE attack_target SET v = 'x'
-- ----
WITH x AS (SELECT 1 AS a) INSERT INTO attack_target SELECT * FROM attack_target
-- ----
-- why: a write inside a subquery
SELECT * FROM (WITH d AS (DELETE FROM track RETURNING *) SELECT * FROM d) s
-- ----
-- why: SELECT … INTO creates a table (PostgreSQL) or assigns variables/files (MySQL)
SELECT * INTO pwned FROM track
-- ----
(SELECT 1) INTO pwned
-- ----
-- why: locking clauses
SELECT * FROM track FOR UPDATE
-- ----
select * from track for update nowait
-- ----
SELECT * FROM (SELECT * FROM track FOR UPDATE) s
-- ----
SELECT * FROM track /* x */ FOR /* y */ UPDATE
-- ----
-- why: EXPLAIN that executes or explains a write
EXPLAIN ANALYZE DELETE FROM track
-- ----
EXPLAIN DELETE FROM track
-- ----
EXPLAIN UPDATE track SET name = 'x'
-- ----
-- why: session settings
SET autocommit = 1
-- ----
ANALYZE track
-- ----
EXPLAIN
