package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/sqlmcp/sqlmcp/tools"
)

// sqliteRecord is SQLite's conformance record: see conformance. SQLite is
// a file in a temporary directory, so it is always available.
var sqliteRecord = conformance{
	name: "sqlite",
	newDatabase: func(ctx context.Context, r *conformance) (*backend, string, error) {
		dir, err := os.MkdirTemp("", "sqlmcp-it-")
		if err != nil {
			return nil, "", err
		}
		addCleanup(func() { os.RemoveAll(dir) })
		path := filepath.Join(dir, "chinook.db")
		admin, err := sql.Open("sqlite", path)
		if err != nil {
			return nil, "", err
		}
		admin.SetMaxOpenConns(1)
		return &backend{url: "sqlite://" + path, admin: admin, dbName: path}, "", nil
	},
	createBig: func(ctx context.Context, admin *sql.DB, rows int) error {
		_, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE big AS WITH RECURSIVE c(n) AS
		(SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n < %d) SELECT n, 'row ' || n AS label FROM c`, rows))
		return err
	},
	qualify: func(_ *backend, table string) string { return "main." + table },
	valuesSQL: `SELECT 9007199254740993 AS big, 42 AS small, '12345678901234567890.12345' AS exact_dec,
				NULL AS nul, x'00ff10' AS bin, 'Ünïcode ✓' AS txt, 1 AS flag, 1.5 AS f,
				'2009-01-01T10:20:30Z' AS ts, '2009-01-01' AS d`,
	reads: []string{
		"EXPLAIN QUERY PLAN SELECT * FROM track WHERE genre_id = 1",
		"SELECT name FROM sqlite_master WHERE type = 'table'",
		"SELECT json_extract('{\"a\": 1}', '$.a')",
	},
	attacks: func(file, dbFile, _ string) []string {
		return []string{
			"ATTACH DATABASE '" + dbFile + "' AS pwned",
			"VACUUM INTO '" + dbFile + "'",
			"PRAGMA query_only = 0",
			"PRAGMA writable_schema = 1",
			"SELECT load_extension('/tmp/x')",
			"SELECT writefile('" + file + "', 'x')",
			"DETACH DATABASE main",
			"REINDEX",
			"ANALYZE",
			"REPLACE INTO genre VALUES (1, 'x')",
		}
	},
	runaway: []string{
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10000000000) SELECT count(*) FROM r",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
	},
	hugeValues: []string{
		"SELECT randomblob(1000000000)",
		"SELECT zeroblob(1000000000)",
		"SELECT printf('%.*c', 1000000000, 'x')",
	},
	snapshotTablesSQL: "SELECT name FROM sqlite_master WHERE type = 'table'",
	snapshotExtra: func(_ *testing.T, sn *snapshotter, _ []string) {
		// The file is the database: its bytes are the strongest checksum.
		for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
			sn.st.Extra["file"+suffix] = fileDigest(sn.b.dbName + suffix)
		}
	},
	poolState: func(ctx context.Context, conn *sql.Conn, probe func(k, q string), out map[string]string) {
		// temp first: reading it creates the temp schema, which then lists.
		probe("temp", "SELECT count(*) FROM temp.sqlite_master")
		probe("databases", "SELECT group_concat(name) FROM pragma_database_list")
		// The guards are still on: a write on this very connection fails.
		if _, err := conn.ExecContext(ctx, "INSERT INTO genre (genre_id, name) VALUES (-1, 'probe')"); err == nil {
			out["write_probe"] = "a write succeeded on the pooled connection"
		} else {
			out["write_probe"] = "refused"
		}
	},
	corpus: "sqlite",
	corpusObjects: []string{
		`CREATE TABLE attack_target (id INTEGER PRIMARY KEY, v TEXT)`,
		`INSERT INTO attack_target VALUES (1, 'row 1'), (2, 'row 2'), (3, 'row 3')`,
		// The corpus's range read on big is meant to be cheap, as it
		// is on MySQL (primary key) and PostgreSQL (a fast scan):
		// without an index, SQLite under -race scanned 300,000 rows
		// for 1.5 s on a quiet machine and hit the timeout on a busy
		// one.
		`CREATE INDEX IF NOT EXISTS big_n ON big (n)`,
	},
	multipleStatements: func(err error) bool {
		return errors.Is(err, errSQLiteTail) || strings.Contains(err.Error(), "multiple statements")
	},
	fuzzFlavor:     2,
	noSessionState: "SQLite: the authorizer refuses every statement that could set session state (pragmas, ATTACH, temp objects)",
	catalog:        sqliteCatalog,
}

var errSQLiteTail = errors.New("sqlite: trailing statement")

// sqliteCatalog: a database file of its own, written with a plain
// writable connection, then served as sqlmcp opens it (read-only).
var sqliteCatalog = catalogFacts{
	scratch: func(t *testing.T, _ *backend) (string, string, *sql.DB) {
		path := filepath.Join(t.TempDir(), "meta.db")
		w, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		return "sqlite://" + path, "main", w
	},
	fixture: []string{`
CREATE TABLE parent (
	region TEXT NOT NULL,
	id INTEGER NOT NULL,
	name VARCHAR(160) NOT NULL DEFAULT 'unnamed',
	price NUMERIC(10,2) CONSTRAINT parent_price_positive CHECK (price > 0),
	code TEXT CONSTRAINT parent_code_key UNIQUE,
	PRIMARY KEY (region, id)
);
CREATE TABLE child (
	child_id INTEGER PRIMARY KEY,
	parent_region TEXT NOT NULL,
	parent_id INTEGER NOT NULL,
	created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
	CONSTRAINT child_parent_fk FOREIGN KEY (parent_region, parent_id)
		REFERENCES parent (region, id) ON DELETE CASCADE
);
CREATE INDEX child_created_idx ON child (created, parent_id);
CREATE INDEX "child (lower, region)" ON child (lower(parent_region), "parent_id" DESC) WHERE parent_id > 0;
CREATE VIEW parent_names AS SELECT region, id, name FROM parent;
CREATE TABLE "Mixed Case" ("Some Col" INTEGER);
CREATE TABLE "Ünïcode Täble" ("naïve" TEXT);
CREATE TABLE keyed (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
CREATE TABLE loose (k TEXT PRIMARY KEY, child INTEGER REFERENCES child);
CREATE VIRTUAL TABLE docs USING fts5(body);
INSERT INTO parent VALUES ('eu', 1, 'a', 1.5, 'A'), ('eu', 2, 'b', 2, 'B'), ('us', 1, 'c', 3, NULL);
INSERT INTO child (child_id, parent_region, parent_id) VALUES (10, 'eu', 1), (11, 'eu', 1), (12, 'us', 1);
INSERT INTO "Mixed Case" VALUES (1), (2);
INSERT INTO docs VALUES ('hello');
`},
	listSchemas: []string{"", "main"},
	// FTS5's shadow tables (docs_data, ...) and sqlite_* are not listed.
	tables: []tools.TableEntry{
		listed("Mixed Case", "table", ptr[int64](2), true, ""),
		listed("child", "table", ptr[int64](3), true, ""),
		listed("docs", "virtual table", nil, false, ""),
		listed("keyed", "table", ptr[int64](0), true, ""),
		listed("loose", "table", ptr[int64](0), true, ""),
		listed("parent", "table", ptr[int64](3), true, ""),
		listed("parent_names", "view", nil, false, ""),
		listed("Ünïcode Täble", "table", ptr[int64](0), true, ""),
	},
	parent: tools.TableDescription{
		Name: "parent", Kind: "table",
		Columns: []tools.ColumnInfo{
			{Name: "region", Type: "TEXT", PrimaryKeyPosition: 1},
			{Name: "id", Type: "INTEGER", PrimaryKeyPosition: 2},
			{Name: "name", Type: "VARCHAR(160)", Default: ptr("'unnamed'")},
			{Name: "price", Type: "NUMERIC(10,2)", Nullable: true},
			{Name: "code", Type: "TEXT", Nullable: true},
		},
		PrimaryKey: []string{"region", "id"},
		// SQLite names a UNIQUE constraint's index itself.
		Uniques: []tools.UniqueInfo{{Name: "sqlite_autoindex_parent_1", Columns: []string{"code"}}},
		Indexes: []tools.IndexInfo{
			{Name: "sqlite_autoindex_parent_1", Columns: []string{"code"}, Unique: true, Method: "btree"},
			{Name: "sqlite_autoindex_parent_2", Columns: []string{"region", "id"}, Unique: true, Primary: true, Method: "btree"},
		},
	},
	child: tools.TableDescription{
		Name: "child", Kind: "table",
		Columns: []tools.ColumnInfo{
			// INTEGER PRIMARY KEY is the rowid: never NULL.
			{Name: "child_id", Type: "INTEGER", PrimaryKeyPosition: 1},
			{Name: "parent_region", Type: "TEXT"},
			{Name: "parent_id", Type: "INTEGER"},
			{Name: "created", Type: "TEXT", Default: ptr("CURRENT_TIMESTAMP")},
		},
		PrimaryKey: []string{"child_id"},
		ForeignKeys: []tools.ForeignKey{{
			Columns:         []string{"parent_region", "parent_id"},
			ReferencedTable: "parent", ReferencedColumns: []string{"region", "id"},
			OnUpdate: "NO ACTION", OnDelete: "CASCADE",
		}},
		Indexes: []tools.IndexInfo{
			{Name: "child (lower, region)", Columns: []string{"lower(parent_region)", "parent_id"}, Method: "btree"},
			{Name: "child_created_idx", Columns: []string{"created", "parent_id"}, Method: "btree"},
		},
	},
	resolve: []resolveCase{
		{`"Mixed Case"`, "Mixed Case", "table"},
		{`[Mixed Case]`, "Mixed Case", "table"},
		{"`Mixed Case`", "Mixed Case", "table"},
		{`main."Mixed Case"`, "Mixed Case", "table"},
		{`mixed case`, "Mixed Case", "table"},
		{`"Ünïcode Täble"`, "Ünïcode Täble", "table"},
		{`main.[Ünïcode Täble]`, "Ünïcode Täble", "table"},
		{`MAIN.PARENT`, "parent", "table"},
		{`parent_names`, "parent_names", "view"},
		{`docs`, "docs", "virtual table"},
	},
	notFound: []string{
		"no_such_table", "main.no_such_table", "no_such_schema.parent",
		"docs_data", // an FTS shadow table is not a table of the user's
	},
	more: func(t *testing.T, s *toolstestSession, _ string) {
		if res := s.call("list_tables", map[string]any{"schema": "no_such_schema"}); !res.IsError || !strings.Contains(res.Text, "no tables or views in schema") {
			t.Errorf("list_tables(no_such_schema) = %.300s, want a validation error saying it has no tables", res.Text)
		}
		keyed := decode[tools.DescribeTableOutput](t, s.call("describe_table", map[string]any{"table_name": "keyed"}))
		loose := decode[tools.DescribeTableOutput](t, s.call("describe_table", map[string]any{"table_name": "loose"}))
		got := []any{keyed.Columns, loose.Columns, loose.ForeignKeys}
		want := []any{
			// WITHOUT ROWID enforces NOT NULL on the key ...
			[]tools.ColumnInfo{{Name: "k", Type: "TEXT", PrimaryKeyPosition: 1}, {Name: "v", Nullable: true}},
			// ... a rowid table's TEXT PRIMARY KEY accepts NULL.
			[]tools.ColumnInfo{{Name: "k", Type: "TEXT", Nullable: true, PrimaryKeyPosition: 1}, {Name: "child", Type: "INTEGER", Nullable: true}},
			// REFERENCES child with no columns means child's primary key.
			[]tools.ForeignKey{{Columns: []string{"child"}, ReferencedSchema: "main", ReferencedTable: "child",
				ReferencedColumns: []string{"child_id"}, OnUpdate: "NO ACTION", OnDelete: "NO ACTION"}},
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("keyed/loose mismatch (-want +got):\n%s", diff)
		}
	},
	// 300 tables, ANALYZEd: SQLite counts up to 200 tables a call, a
	// whole page: every table of both pages is counted.
	boundFixture: func() []string {
		stmts := []string{"BEGIN"}
		for i := range 300 {
			stmts = append(stmts, fmt.Sprintf("CREATE TABLE t_%03d (id INTEGER)", i))
			for j := range i % 4 {
				stmts = append(stmts, fmt.Sprintf("INSERT INTO t_%03d VALUES (%d)", i, j))
			}
		}
		return append(stmts, "COMMIT", "ANALYZE")
	},
	exactCap: 200,
}

// TestSQLitePrivilegeCheckReportsAWritableFile: SQLite's privilege check
// is about the file: a writable one is reported; a 0400 one is not,
// except to root, who may write it anyway (and access(2) says so).
func TestSQLitePrivilegeCheckReportsAWritableFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if f := privileges(t, "sqlite://"+path); len(f) != 1 || !strings.Contains(f[0], "is writable") {
		t.Errorf("writable file: findings %q, want one saying it is writable", f)
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	f := privileges(t, "sqlite://"+path)
	if wantFinding := os.Geteuid() == 0; (len(f) > 0) != wantFinding {
		t.Errorf("chmod 0400 (euid %d): findings %q", os.Geteuid(), f)
	}
}

// TestSQLiteFileReplacedOrDeletedIsNotServed replaces the database file
// under a pooled connection (a new copy renamed over it, as a restore or
// deployment does) and then deletes it: no call may read the old file.
func TestSQLiteFileReplacedOrDeletedIsNotServed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "swap.db")
	write := func(p, v string) {
		t.Helper()
		w, err := sql.Open("sqlite", p)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, err := w.Exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('" + v + "')"); err != nil {
			t.Fatal(err)
		}
	}
	write(path, "old")
	pool, d, err := openTarget("sqlite://" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pool.SetMaxOpenConns(1)
	pool.SetMaxIdleConns(1)
	s := serve(t, &backend{rec: &sqliteRecord, name: sqliteRecord.name, db: pool, d: d, transport: "inmemory"}, tools.Options{QueryTimeout: 5 * time.Second})
	const q = "SELECT v FROM t"
	if got := rowsOf(t, s, q); got != "[[old]]" {
		t.Fatalf("before the swap: %s", got)
	}

	write(path+".new", "new")
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	// The pooled connection still has the old inode open. Until the call
	// is retried transparently on ErrConnectionStale, the first call may
	// fail; it must not answer from the old file, and the next must read
	// the new one.
	res := s.call("query", map[string]any{"sql": q})
	switch got := fmt.Sprint(res.Rows()); {
	case !res.IsError && got != "[[new]]":
		t.Fatalf("first call after the swap read %s, want [[new]] or an error", got)
	case res.IsError:
		t.Logf("first call after the swap: %s", res.Text)
	}
	if got := rowsOf(t, s, q); got != "[[new]]" {
		t.Fatalf("after the swap: %s, want [[new]]", got)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		res := s.call("query", map[string]any{"sql": q})
		if !res.IsError {
			t.Fatalf("call %d after the file was deleted read %s, want an error", i+1, fmt.Sprint(res.Rows()))
		}
		t.Logf("call %d after the delete: %s", i+1, res.Text)
	}
}
