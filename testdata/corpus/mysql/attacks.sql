-- MySQL / MariaDB attacks. Format: ../README.md.
-- ----
-- why: "--" without a space is two minus signs in MySQL, not a comment
SELECT 1 --; DELETE FROM track
-- ----
SELECT 1--1; DELETE FROM track
-- ----
-- why: # comments end at the newline
SELECT 1 # comment
; DELETE FROM track
-- ----
-- why: executable comments are code to MySQL
SELECT 1 /*! ; DELETE FROM track */
-- ----
/*!50000 DELETE FROM track */
-- ----
/*! DELETE FROM track */ SELECT 1
-- ----
SELECT /*!99999 1 */ 1
-- ----
/*M!100000 DELETE FROM track */
-- ----
SELECT 1 /*M! , SLEEP(5) */
-- ----
-- why: backslash escapes depend on sql_mode; the policy refuses the ambiguity
SELECT '\''; DELETE FROM track; -- '
-- ----
SELECT "a\"; DELETE FROM track; -- "
-- ----
SELECT 'it\'s'
-- ----
-- why: optimizer hints lift the time limit
SELECT /*+ MAX_EXECUTION_TIME(0) */ 1
-- ----
SELECT /*+ SET_VAR(max_statement_time = 0) */ count(*) FROM big a, big b
-- ----
SELECT /*+ SET_VAR(sql_select_limit = 18446744073709551615) */ * FROM big
-- ----
-- why: SET STATEMENT … FOR lifts the timeout for one statement
SET STATEMENT max_statement_time = 0 FOR SELECT count(*) FROM big a, big b
-- ----
SET STATEMENT sql_select_limit = 1000000 FOR SELECT * FROM big
-- ----
SET SESSION max_statement_time = 0
-- ----
SET @@session.transaction_read_only = 0
-- ----
SET NAMES gbk
-- ----
SET @a = 1
-- ----
-- why: files on the server
SELECT * FROM track INTO OUTFILE '{{dir}}/pwned'
-- ----
SELECT 1 INTO DUMPFILE '{{dir}}/pwned'
-- ----
SELECT 1 FROM track LIMIT 1 INTO OUTFILE '{{dir}}/pwned' FIELDS TERMINATED BY ','
-- ----
SELECT LOAD_FILE('/etc/passwd')
-- ----
SELECT load_file('/etc/passwd')
-- ----
SELECT `load_file`('/etc/passwd')
-- ----
SELECT LOAD_FILE /* c */ ('/etc/passwd')
-- ----
LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE genre
-- ----
LOAD DATA INFILE '/etc/passwd' INTO TABLE genre
-- ----
LOAD XML INFILE '/etc/passwd' INTO TABLE genre
-- ----
-- why: variables: assignment and INTO
SELECT @a := 1
-- ----
SELECT @a:=track_id FROM track
-- ----
SELECT 1 INTO @x
-- ----
SELECT @a. INTO @x
-- ----
SELECT track_id FROM track LIMIT 1 INTO @x
-- ----
SELECT LAST_INSERT_ID(5)
-- ----
-- why: named locks outlive the call
SELECT GET_LOCK('sqlmcp_attack', 0)
-- ----
SELECT get_lock ('sqlmcp_attack', 0)
-- ----
SELECT `GET_LOCK`('sqlmcp_attack', 0)
-- ----
SELECT "get_lock"('sqlmcp_attack', 0)
-- ----
SELECT RELEASE_ALL_LOCKS()
-- ----
-- why: waits and CPU burn
SELECT SLEEP(10)
-- ----
SELECT * FROM track WHERE SLEEP(1)
-- ----
SELECT BENCHMARK(100000000, MD5('x'))
-- ----
SELECT MASTER_POS_WAIT('f', 4)
-- ----
SELECT MASTER_GTID_WAIT('0-1-100', 10)
-- ----
-- why: sequences (MariaDB)
SELECT NEXTVAL(attack_seq)
-- ----
SELECT NEXT VALUE FOR attack_seq
-- ----
SELECT SETVAL(attack_seq, 1000)
-- ----
-- why: a stored function that writes: the read-only transaction stops it
SELECT attack_write()
-- ----
-- why: locking reads
SELECT * FROM track LOCK IN SHARE MODE
-- ----
SELECT * FROM track FOR SHARE
-- ----
SELECT * FROM track FOR UPDATE SKIP LOCKED
-- ----
SELECT * FROM track FOR UPDATE WAIT 1
-- ----
-- why: MySQL-only statements
RENAME TABLE track TO pwned
-- ----
LOCK TABLES track WRITE
-- ----
UNLOCK TABLES
-- ----
HANDLER track OPEN
-- ----
REPLACE INTO genre VALUES (1, 'x')
-- ----
INSERT IGNORE INTO genre VALUES (1, 'x')
-- ----
INSERT INTO genre VALUES (1, 'x') ON DUPLICATE KEY UPDATE name = 'x'
-- ----
UPDATE track t JOIN album a USING (album_id) SET t.name = 'x'
-- ----
DELETE t FROM track t
-- ----
DO SLEEP(10)
-- ----
DO GET_LOCK('sqlmcp_attack', 0)
-- ----
USE mysql
-- ----
CALL attack_proc()
-- ----
PREPARE s FROM 'DELETE FROM track'
-- ----
EXECUTE s
-- ----
XA START 'x'
-- ----
START TRANSACTION READ WRITE
-- ----
FLUSH TABLES
-- ----
FLUSH PRIVILEGES
-- ----
KILL CONNECTION_ID()
-- ----
OPTIMIZE TABLE track
-- ----
REPAIR TABLE track
-- ----
ANALYZE TABLE track
-- ----
ANALYZE FORMAT=JSON SELECT * FROM track
-- ----
CREATE USER pwned IDENTIFIED BY 'x'
-- ----
GRANT ALL ON *.* TO 'pwned'@'%'
-- ----
INSTALL SONAME 'ha_connect'
-- ----
CREATE FUNCTION sys_exec RETURNS INT SONAME 'lib_mysqludf_sys.so'
-- ----
-- why: EXPLAIN that executes or inspects another session
EXPLAIN ANALYZE SELECT * FROM track
-- ----
EXPLAIN FORMAT=TREE ANALYZE SELECT 1
-- ----
EXPLAIN FOR CONNECTION 1
-- ----
EXPLAIN INSERT INTO genre VALUES (999, 'x')
-- ----
DESCRIBE DELETE FROM track
-- ----
-- why: SHOW with a side-effecting predicate
SHOW TABLES WHERE SLEEP(1)
-- ----
SHOW TABLES WHERE GET_LOCK('sqlmcp_attack', 0)
-- ----
-- why: password hashes, remote-server passwords, the statement log
SELECT user, host, authentication_string FROM mysql.user
-- ----
SELECT * FROM `mysql`.`global_priv`
-- ----
SELECT * FROM mysql . user
-- ----
SELECT Server_name, Password FROM mysql.servers
-- ----
SELECT argument FROM mysql.general_log
-- ----
SHOW DATABASES WHERE (SELECT COUNT(*) FROM mysql.user WHERE authentication_string LIKE '*%') > 0
-- ----
-- why: MariaDB SHOW GRANTS prints the account's password hash
SHOW GRANTS
-- ----
SHOW GRANTS FOR CURRENT_USER
-- ----
SHOW CREATE USER CURRENT_USER
-- ----
-- why: another session's running statement, the replication log
SHOW EXPLAIN FOR 1
-- ----
SHOW ANALYZE FOR 1
-- ----
SHOW BINLOG EVENTS
