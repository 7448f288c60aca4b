-- MySQL / MariaDB reads. Format: ../README.md.
-- ----
SHOW TABLES
-- ----
SHOW FULL TABLES
-- ----
SHOW CREATE TABLE track
-- ----
SHOW COLUMNS FROM track
-- ----
SHOW INDEX FROM track
-- ----
SHOW VARIABLES LIKE 'max_statement_time'
-- ----
SELECT * FROM information_schema.USER_PRIVILEGES
-- ----
DESCRIBE track
-- ----
DESC invoice
-- ----
EXPLAIN track
-- ----
SELECT 1 # a comment; DROP TABLE track
-- ----
SELECT 1 -- ; DROP TABLE track
-- ----
SELECT 1- -1
-- ----
SELECT `update`, `delete`, `into` FROM (SELECT 1 AS `update`, 2 AS `delete`, 3 AS `into`) t
-- ----
SELECT "double-quoted string", 'single ''quoted''', "say ""hi"""
-- ----
SELECT 'a\\b', 'x\_y' LIKE 'x\_%'
-- ----
-- why: JSON
SELECT JSON_EXTRACT('{"a": 1}', '$.a'), JSON_UNQUOTE(JSON_EXTRACT('{"b": "x"}', '$.b'))
-- ----
SELECT JSON_OBJECT('id', track_id, 'name', name) FROM track LIMIT 3
-- ----
SELECT JSON_ARRAYAGG(name) FROM genre
-- ----
SELECT JSON_VALUE(j, '$.name'), JSON_QUERY(j, '$') FROM (SELECT JSON_OBJECT('name', name) AS j FROM genre) g
-- ----
-- why: MySQL functions
SELECT GROUP_CONCAT(name ORDER BY name SEPARATOR ', ') FROM genre
-- ----
SELECT DATE_FORMAT(invoice_date, '%Y-%m') AS month, SUM(total) FROM invoice GROUP BY month ORDER BY month
-- ----
SELECT YEAR(invoice_date), COUNT(*) FROM invoice GROUP BY YEAR(invoice_date) WITH ROLLUP
-- ----
SELECT IF(milliseconds > 300000, 'long', 'short'), COUNT(*) FROM track GROUP BY 1
-- ----
SELECT CONCAT(first_name, ' ', last_name), IFNULL(company, '-') FROM customer LIMIT 5
-- ----
SELECT INSERT('Quadratic', 3, 4, 'What'), REPLACE('a', 'a', 'b'), LAST_INSERT_ID(), IS_FREE_LOCK('sqlmcp_attack'), IS_USED_LOCK('sqlmcp_attack')
-- ----
SELECT @@session.sql_mode, @@max_statement_time, @@version, DATABASE(), CURRENT_USER()
-- ----
SELECT {d '2024-01-01'} AS d
-- ----
SELECT name FROM track WHERE name REGEXP '^Love' ORDER BY name
-- ----
SELECT SQL_NO_CACHE COUNT(*) FROM track
-- ----
SELECT STRAIGHT_JOIN t.name, g.name FROM track t JOIN genre g ON g.genre_id = t.genre_id LIMIT 3
-- ----
SELECT t.name FROM track t FORCE INDEX (PRIMARY) WHERE t.track_id < 5
-- ----
SELECT PREVIOUS VALUE FOR attack_seq
-- ----
SELECT * FROM attack_seq
-- ----
-- why: EXPLAIN forms
EXPLAIN FORMAT=JSON SELECT * FROM track
-- ----
EXPLAIN EXTENDED SELECT * FROM track WHERE genre_id = 1
-- ----
-- why: catalog queries
SELECT table_name, table_rows FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name
-- ----
SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'track' ORDER BY ordinal_position
-- ----
SELECT * FROM information_schema.KEY_COLUMN_USAGE WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL
-- ----
SELECT COUNT(*) FROM information_schema.PROCESSLIST
-- ----
-- why: other sessions and engine status stay visible, as pg_stat_activity does
SHOW FULL PROCESSLIST
-- ----
SHOW ENGINE INNODB STATUS
-- ----
-- why: large-operand string functions that stay allowed (see README: not interruptible on the server)
SELECT LOCATE('AC', name), INSTR(name, 'DC'), POSITION('x' IN name), REPLACE(name, 'a', 'b') FROM artist
-- ----
SELECT sys.format_statement('SELECT 1') AS f
