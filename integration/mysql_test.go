package integration_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/tools"
)

// mysqlRecord is MySQL/MariaDB's conformance record: see conformance.
var mysqlRecord = conformance{
	name:       "mysql",
	env:        "SQLMCP_TEST_MYSQL",
	defaultDSN: "mysql://root@127.0.0.1:3306/test",
	newDatabase: func(ctx context.Context, r *conformance) (*backend, string, error) {
		b, skip, err := newServerDatabase(ctx, r, "CREATE DATABASE %s CHARACTER SET utf8mb4", "DROP DATABASE IF EXISTS %s")
		if b != nil {
			// One connection: the loader's session settings must hold for
			// every statement it runs.
			b.admin.SetMaxOpenConns(1)
		}
		return b, skip, err
	},
	createBig: func(ctx context.Context, admin *sql.DB, rows int) error {
		for _, s := range []string{
			`CREATE TABLE big (n INT PRIMARY KEY, label VARCHAR(20))`,
			`SET SESSION cte_max_recursion_depth = 1000000`,
			`SET SESSION max_recursive_iterations = 1000000`,
			fmt.Sprintf(`INSERT INTO big WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n < %d)
			SELECT n, CONCAT('row ', n) FROM c`, rows),
			`ANALYZE TABLE big`,
		} {
			if _, err := admin.ExecContext(ctx, s); err != nil {
				if strings.HasPrefix(s, "SET SESSION") {
					continue // each server knows only one of the two recursion limits
				}
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	},
	qualify:     func(b *backend, table string) string { return b.dbName + "." + table },
	columnTypes: true,
	valuesSQL: `SELECT CAST(9007199254740993 AS SIGNED) AS big, 42 AS small, CAST('12345678901234567890.12345' AS DECIMAL(30,5)) AS exact_dec,
				NULL AS nul, X'00FF10' AS bin, 'Ünïcode ✓' AS txt, TRUE AS flag, CAST(1.5 AS DOUBLE) AS f,
				TIMESTAMP('2009-01-01 10:20:30') AS ts, DATE('2009-01-01') AS d`,
	reads: []string{
		"SHOW TABLES",
		"DESCRIBE track",
		"SELECT 1 # a comment; DROP TABLE track",
		"SELECT JSON_EXTRACT('{\"a\": 1}', '$.a')",
		"EXPLAIN FORMAT=JSON SELECT * FROM track",
		"SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
	},
	attacks: func(_, _, outFile string) []string {
		return []string{
			"SELECT * FROM track INTO OUTFILE '" + outFile + "'",
			"SELECT 1 INTO DUMPFILE '" + outFile + "'",
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
		}
	},
	// MariaDB also stops recursion itself at max_recursive_iterations
	// (1000 by default), so a deep recursive CTE is not a runaway there.
	runaway: []string{"SELECT count(*) FROM big a, big b WHERE a.label LIKE CONCAT('%', b.n, '%')"},
	hugeValues: []string{
		// MariaDB: NULL with a warning past max_allowed_packet.
		"SELECT repeat('x', 1000000000)",
		// Columns each under max_allowed_packet, 120 MB together.
		"SELECT " + strings.Repeat("repeat('x', 15000000), ", 7) + "repeat('x', 15000000)",
	},
	runningSQL:        "SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('%', ?, '%') AND ID <> CONNECTION_ID()",
	snapshotTablesSQL: "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
	snapshotExtra:     mysqlSnapshotExtra,
	poolState: func(_ context.Context, _ *sql.Conn, probe func(k, q string), _ map[string]string) {
		// The connection id is part of it: a call ends by resetting its
		// connection (COM_RESET_CONNECTION), so a changed id shows a
		// discarded one rather than hiding leaked state.
		probe("backend", "SELECT CONNECTION_ID()")
		probe("settings", `SELECT CONCAT_WS(' ', @@in_transaction, @@session.autocommit, @@session.sql_mode, @@session.max_statement_time,
			@@session.sql_select_limit, @@session.tx_read_only, @@session.character_set_client, @@session.character_set_connection)`)
		probe("variables", "SELECT CONCAT_WS(',', @a, @x, @leaked_var, @`sys.statement_truncate_len`, LAST_INSERT_ID(), @@session.time_zone, @@session.div_precision_increment)")
		probe("named_lock", "SELECT IS_USED_LOCK('sqlmcp_attack') <=> CONNECTION_ID()")
		probe("temp_table", "SELECT count(*) FROM pwned")
		probe("transaction", "SELECT count(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = CONNECTION_ID()")
	},
	corpus: "mysql",
	corpusObjects: []string{
		`CREATE TABLE attack_target (id INT PRIMARY KEY, v VARCHAR(20))`,
		`INSERT INTO attack_target VALUES (1, 'row 1'), (2, 'row 2'), (3, 'row 3')`,
		`CREATE SEQUENCE attack_seq`,
		`CREATE FUNCTION attack_write() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO attack_target VALUES (-1, 'pwned'); RETURN 1; END`,
		`CREATE PROCEDURE attack_proc() DELETE FROM attack_target`,
	},
	multipleStatements: func(err error) bool {
		// With multiStatements off the server stops at the ";" with a
		// syntax error that quotes the rest of the text from it.
		msg := err.Error()
		return strings.Contains(msg, "1064") && strings.Contains(msg, "near ';")
	},
	fuzzFlavor: 1,
	// leak_state() sets the user variable @leaked_var, the session
	// variables time_zone and div_precision_increment and takes the named
	// lock mysqlStateLock; reading leak_view runs it.
	stateRoutines: []string{
		"DROP VIEW IF EXISTS leak_view",
		"DROP FUNCTION IF EXISTS leak_state",
		`CREATE FUNCTION leak_state() RETURNS INT NOT DETERMINISTIC NO SQL BEGIN
				SET @leaked_var = 'secret';
				SET SESSION time_zone = '+05:00';
				SET SESSION div_precision_increment = 12;
				DO GET_LOCK(` + mysqlStateLock + `, 0);
				RETURN 1;
			END`,
		"CREATE VIEW leak_view AS SELECT leak_state() AS v",
	},
	sessionLeaks: mysqlSessionLeaks,
	superuserFindings: func(t *testing.T, f []string) {
		if len(f) == 0 || !strings.Contains(strings.Join(f, "\n"), "FILE") {
			t.Errorf("root: findings %q, want global FILE among them", f)
		}
	},
	// README, "Least-privilege roles", MySQL / MariaDB.
	readerRole: func(role, db string) (setup, teardown []string) {
		return []string{
				`CREATE USER '` + role + `'@'%' IDENTIFIED BY 'change-me' WITH MAX_USER_CONNECTIONS 20`,
				`GRANT SELECT, SHOW VIEW ON ` + db + `.* TO '` + role + `'@'%'`,
			},
			[]string{`DROP USER '` + role + `'@'%'`}
	},
	catalog: mysqlCatalog,
	faults: &faultFacts{
		slowSQL:      "SELECT SUM(a.seq + b.seq) AS %s FROM seq_1_to_100000 a, seq_1_to_2000 b",
		sessionOfSQL: "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('%', ?, '%') AND ID <> CONNECTION_ID()",
		killSQL:      "KILL CONNECTION ?",
		abandonedSQL: "SELECT REPEAT('x', 1000000) AS %s FROM %s, seq_1_to_100",
		lockSQL:      "LOCK TABLES %s WRITE",
		unlockSQL:    "UNLOCK TABLES",
		quadraticSQL: "SELECT LOCATE(CONCAT(REPEAT('a', 80000), 'b'), REPEAT('a', 160000)) AS %s",
		oversizedSQL: "SELECT REPEAT('x', 12000000) AS big",
		heavySQL:     "SELECT SUM(seq) AS n FROM seq_1_to_200000",
		limitedRole: func(role string) (create []string, drop string) {
			return []string{"CREATE USER '" + role + "'@'%' WITH MAX_USER_CONNECTIONS 1",
				"GRANT SELECT ON *.* TO '" + role + "'@'%'"}, "DROP USER IF EXISTS '" + role + "'@'%'"
		},
		killSessions: func(t *testing.T, admin *sql.DB, ports []string) int {
			rows, err := admin.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE SUBSTRING_INDEX(HOST, ':', -1) IN ('" +
				strings.Join(ports, "','") + "')")
			if err != nil {
				t.Error(err)
				return 0
			}
			var ids []int64
			for rows.Next() {
				var id int64
				rows.Scan(&id)
				ids = append(ids, id)
			}
			rows.Close()
			for _, id := range ids {
				admin.Exec(fmt.Sprintf("KILL CONNECTION %d", id))
			}
			return len(ids)
		},
	},
}

// mysqlStateLock is the named lock the state routines take, per database
// so that concurrent test runs on one server do not meet.
const mysqlStateLock = "CONCAT('sqlmcp_leak_', DATABASE())"

func mysqlSnapshotExtra(t *testing.T, sn *snapshotter, names []string) {
	b := sn.b
	sn.extra("named_lock", "SELECT COALESCE(IS_USED_LOCK('sqlmcp_attack'), 0)")
	// Scoped to this database and the names the corpus uses: other
	// test runs share the server.
	sn.extra("catalog", `SELECT CONCAT((SELECT count(*) FROM information_schema.tables WHERE table_schema IN (DATABASE(), 'mysql', 'pwned')), ' tables, ',
			(SELECT count(*) FROM information_schema.routines WHERE routine_schema = DATABASE()), ' routines, ',
			(SELECT count(*) FROM mysql.user WHERE user LIKE 'pwned%'), ' users')`)
	sn.extra("transactions", `SELECT count(*) FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
			WHERE p.DB = DATABASE() AND p.ID <> CONNECTION_ID()`)
	if len(names) > 0 {
		var quoted []string
		for _, n := range names {
			if n != "big" { // 300,000 rows: summed below instead
				quoted = append(quoted, b.d.QuoteIdent(n))
			}
		}
		sn.extra("sum big", "SELECT CAST(COALESCE(SUM(n), 0) AS CHAR) FROM big")
		rows, err := b.admin.QueryContext(sn.ctx, "CHECKSUM TABLE "+strings.Join(quoted, ", "))
		if err != nil {
			t.Fatalf("snapshot checksums: %v", err)
		}
		for rows.Next() {
			var n string
			var sum sql.NullString
			if err := rows.Scan(&n, &sum); err != nil {
				t.Fatal(err)
			}
			sn.st.Extra["checksum "+n] = sum.String
		}
		rows.Close()
	}
	if seq := queryStrings(t, b.admin, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'SEQUENCE'"); len(seq) > 0 {
		for _, s := range seq {
			sn.extra("sequence "+s, "SELECT CAST(next_not_cached_value AS CHAR) FROM "+b.d.QuoteIdent(s))
		}
	}
}

// mysqlSessionLeaks: after a stored function, a view over it or MariaDB's
// sys.* functions set user and session variables or took a named lock,
// the next call on the same pool finds none of it.
func mysqlSessionLeaks(t *testing.T, _ *backend, s *toolstestSession) {
	probe := "SELECT @leaked_var AS v, @`sys.statement_truncate_len` AS s, @@session.time_zone AS tz, " +
		"@@session.div_precision_increment AS dpi, IS_USED_LOCK(" + mysqlStateLock + ") AS lock_holder"
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
}

// mysqlCatalog: a database of its own on the server.
var mysqlCatalog = catalogFacts{
	scratch: func(t *testing.T, b *backend) (string, string, *sql.DB) {
		schema := randName("sqlmcp_meta_")
		if _, err := b.admin.Exec("CREATE DATABASE " + schema + " CHARACTER SET utf8mb4"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := b.admin.Exec("DROP DATABASE " + schema); err != nil {
				t.Errorf("drop fixture database: %v", err)
			}
		})
		u, _ := url.Parse(b.url)
		u.Path = "/" + schema
		return u.String(), schema, nil
	},
	fixture: []string{
		`CREATE TABLE parent (
		region varchar(8) NOT NULL,
		id int NOT NULL,
		name varchar(160) NOT NULL DEFAULT 'unnamed' COMMENT 'Display name',
		price decimal(10,2) NULL,
		code varchar(20) NULL,
		PRIMARY KEY (region, id),
		CONSTRAINT parent_code_key UNIQUE (code),
		CONSTRAINT parent_price_positive CHECK (price > 0)
	) COMMENT 'Things that have children'`,
		`CREATE TABLE child (
		child_id bigint NOT NULL PRIMARY KEY,
		parent_region varchar(8) NOT NULL,
		parent_id int NOT NULL,
		created timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
		note text,
		KEY child_created_idx (created, parent_id),
		KEY child_note_prefix (note(10)),
		CONSTRAINT child_parent_fk FOREIGN KEY (parent_region, parent_id)
			REFERENCES parent (region, id) ON DELETE CASCADE
	)`,
		`CREATE VIEW parent_names AS SELECT region, id, name FROM parent`,
		"CREATE TABLE `Mixed Case` (`Some Col` int)",
		"CREATE TABLE `Ünïcode Täble` (`naïve` text)",
		`CREATE TABLE big (id int NOT NULL PRIMARY KEY)`,
		`INSERT INTO parent VALUES ('eu', 1, 'a', 1.5, 'A'), ('eu', 2, 'b', 2, 'B'), ('us', 1, 'c', 3, NULL)`,
		`INSERT INTO child (child_id, parent_region, parent_id) VALUES (10, 'eu', 1), (11, 'eu', 1), (12, 'us', 1)`,
		"INSERT INTO `Mixed Case` VALUES (1), (2)",
		`INSERT INTO big SELECT seq FROM seq_1_to_20000`,
		`ANALYZE TABLE big`,
	},
	listSchemas: []string{"{{schema}}", ""}, // "" is the current database
	tables: []tools.TableEntry{
		listed("Mixed Case", "table", ptr[int64](2), true, ""),
		listed("big", "table", ptr[int64](20000), false, ""),
		listed("child", "table", ptr[int64](3), true, ""),
		listed("parent", "table", ptr[int64](3), true, "Things that have children"),
		listed("parent_names", "view", nil, false, ""),
		listed("Ünïcode Täble", "table", ptr[int64](0), true, ""),
	},
	// InnoDB's estimate of big is a sample: labelled and plausible.
	estimates: map[string][2]int64{"big": {10_000, 40_000}},
	parent: tools.TableDescription{
		Name: "parent", Kind: "table", Comment: "Things that have children",
		Columns: []tools.ColumnInfo{
			{Name: "region", Type: "varchar(8)", PrimaryKeyPosition: 1},
			{Name: "id", Type: "int(11)", PrimaryKeyPosition: 2},
			{Name: "name", Type: "varchar(160)", Default: ptr("'unnamed'"), Comment: "Display name"},
			{Name: "price", Type: "decimal(10,2)", Nullable: true},
			{Name: "code", Type: "varchar(20)", Nullable: true},
		},
		PrimaryKey: []string{"region", "id"},
		Uniques:    []tools.UniqueInfo{{Name: "parent_code_key", Columns: []string{"code"}}},
		Checks:     []tools.CheckInfo{{Name: "parent_price_positive", Expression: "`price` > 0"}},
		Indexes: []tools.IndexInfo{
			{Name: "PRIMARY", Columns: []string{"region", "id"}, Unique: true, Primary: true, Method: "btree"},
			{Name: "parent_code_key", Columns: []string{"code"}, Unique: true, Method: "btree"},
		},
	},
	child: tools.TableDescription{
		Name: "child", Kind: "table",
		Columns: []tools.ColumnInfo{
			{Name: "child_id", Type: "bigint(20)", PrimaryKeyPosition: 1},
			{Name: "parent_region", Type: "varchar(8)"},
			{Name: "parent_id", Type: "int(11)"},
			{Name: "created", Type: "timestamp", Default: ptr("current_timestamp()")},
			{Name: "note", Type: "text", Nullable: true},
		},
		PrimaryKey: []string{"child_id"},
		ForeignKeys: []tools.ForeignKey{{
			Name: "child_parent_fk", Columns: []string{"parent_region", "parent_id"},
			ReferencedTable: "parent", ReferencedColumns: []string{"region", "id"},
			OnUpdate: "RESTRICT", OnDelete: "CASCADE",
		}},
		Indexes: []tools.IndexInfo{
			{Name: "PRIMARY", Columns: []string{"child_id"}, Unique: true, Primary: true, Method: "btree"},
			{Name: "child_created_idx", Columns: []string{"created", "parent_id"}, Method: "btree"},
			{Name: "child_note_prefix", Columns: []string{"note(10)"}, Method: "btree"},
			// InnoDB indexes a foreign key's columns; the primary key
			// of parent is not a prefix here, so it made one.
			{Name: "child_parent_fk", Columns: []string{"parent_region", "parent_id"}, Method: "btree"},
		},
	},
	resolve: []resolveCase{
		{"`Mixed Case`", "Mixed Case", "table"},
		{"{{schema}}.`Mixed Case`", "Mixed Case", "table"},
		{`"Mixed Case"`, "Mixed Case", "table"},
		{`mixed case`, "Mixed Case", "table"}, // case-insensitive retry
		{"`Ünïcode Täble`", "Ünïcode Täble", "table"},
		{"{{schema}}.`Ünïcode Täble`", "Ünïcode Täble", "table"},
		{`parent_names`, "parent_names", "view"},
		{`PARENT`, "parent", "table"},
	},
	notFound: []string{"no_such_table", "{{schema}}.no_such_table", "no_such_schema.parent"},
	// 300 fresh tables (MyISAM, which creates and drops far faster than
	// InnoDB).
	boundFixture: func() []string {
		var stmts []string
		for i := range 300 {
			stmts = append(stmts, fmt.Sprintf("CREATE TABLE t_%03d (id int) ENGINE=MyISAM", i))
			if n := i % 4; n > 0 {
				stmts = append(stmts, fmt.Sprintf("INSERT INTO t_%03d SELECT seq FROM seq_1_to_%d", i, n))
			}
		}
		return stmts
	},
	exactCap: 50,
}
