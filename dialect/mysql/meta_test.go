package mysql_test

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/dialecttest"
)

// metaMySQL creates a fresh database and returns a pool whose current
// database it is (so unqualified names resolve there).
func metaMySQL(t *testing.T) (db *sql.DB, schema string) {
	t.Helper()
	dsn := dialecttest.Env("SQLMCP_TEST_MYSQL", dialecttest.DefaultMySQL)
	admin := dialecttest.Open(t, "mysql", dsn)
	schema = dialecttest.Name("sqlmcp_meta_")
	dialecttest.Exec(t, admin, "CREATE DATABASE "+schema+" CHARACTER SET utf8mb4")
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + schema); err != nil {
			t.Errorf("drop fixture database: %v", err)
		}
	})
	db = dialecttest.Open(t, "mysql", dialecttest.WithPath(t, dsn, schema, nil))
	return db, schema
}

var mysqlMetaFixture = []string{
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
}

func TestMetaMySQL(t *testing.T) {
	db, schema := metaMySQL(t)
	dialecttest.Exec(t, db, mysqlMetaFixture...)
	d := dialecttest.Backend(t, "mysql")
	ctx := dialecttest.Ctx(t)

	t.Run("ListTables", func(t *testing.T) {
		for _, arg := range []string{schema, ""} { // "" is the current database
			got, err := d.ListTables(ctx, db, arg)
			if err != nil {
				t.Fatal(err)
			}
			// InnoDB's estimate of big is a sample: check it is labelled
			// and plausible, then compare the rest exactly.
			for i, tb := range got {
				if tb.Name != "big" {
					continue
				}
				if tb.RowsExact || tb.Rows == nil || *tb.Rows < 10_000 || *tb.Rows > 40_000 {
					t.Errorf("big: Rows=%v exact=%v, want an estimate near 20000", tb.Rows, tb.RowsExact)
				}
				got[i].Rows = dialecttest.Ptr[int64](20000)
			}
			tb := func(name, kind string, rows *int64, exact bool, comment string) dialect.Table {
				return dialect.Table{Schema: schema, Name: name, Kind: kind, Rows: rows, RowsExact: exact, Comment: comment}
			}
			want := []dialect.Table{
				tb("Mixed Case", "table", dialecttest.Ptr[int64](2), true, ""),
				tb("big", "table", dialecttest.Ptr[int64](20000), false, ""),
				tb("child", "table", dialecttest.Ptr[int64](3), true, ""),
				tb("parent", "table", dialecttest.Ptr[int64](3), true, "Things that have children"),
				tb("parent_names", "view", nil, false, ""),
				tb("Ünïcode Täble", "table", dialecttest.Ptr[int64](0), true, ""),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ListTables(%q) mismatch (-want +got):\n%s", arg, diff)
			}
		}
	})

	t.Run("DescribeParent", func(t *testing.T) {
		got, err := d.DescribeTable(ctx, db, dialect.TableRef{Name: "parent"})
		if err != nil {
			t.Fatal(err)
		}
		want := &dialect.TableInfo{
			Schema: schema, Name: "parent", Kind: "table", Comment: "Things that have children",
			Columns: []dialect.Column{
				{Name: "region", Type: "varchar(8)", PrimaryKeyPosition: 1},
				{Name: "id", Type: "int(11)", PrimaryKeyPosition: 2},
				{Name: "name", Type: "varchar(160)", Default: dialecttest.Ptr("'unnamed'"), Comment: "Display name"},
				{Name: "price", Type: "decimal(10,2)", Nullable: true},
				{Name: "code", Type: "varchar(20)", Nullable: true},
			},
			PrimaryKey: []string{"region", "id"},
			Uniques:    []dialect.Constraint{{Name: "parent_code_key", Columns: []string{"code"}}},
			Checks:     []dialect.Check{{Name: "parent_price_positive", Expression: "`price` > 0"}},
			Indexes: []dialect.Index{
				{Name: "PRIMARY", Columns: []string{"region", "id"}, Unique: true, Primary: true, Method: "btree"},
				{Name: "parent_code_key", Columns: []string{"code"}, Unique: true, Method: "btree"},
			},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DescribeTable(parent) mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("DescribeChild", func(t *testing.T) {
		got, err := d.DescribeTable(ctx, db, dialect.TableRef{Schema: schema, Name: "child"})
		if err != nil {
			t.Fatal(err)
		}
		want := &dialect.TableInfo{
			Schema: schema, Name: "child", Kind: "table",
			Columns: []dialect.Column{
				{Name: "child_id", Type: "bigint(20)", PrimaryKeyPosition: 1},
				{Name: "parent_region", Type: "varchar(8)"},
				{Name: "parent_id", Type: "int(11)"},
				{Name: "created", Type: "timestamp", Default: dialecttest.Ptr("current_timestamp()")},
				{Name: "note", Type: "text", Nullable: true},
			},
			PrimaryKey: []string{"child_id"},
			ForeignKeys: []dialect.ForeignKey{{
				Name: "child_parent_fk", Columns: []string{"parent_region", "parent_id"},
				ReferencedSchema: schema, ReferencedTable: "parent", ReferencedColumns: []string{"region", "id"},
				OnUpdate: "RESTRICT", OnDelete: "CASCADE",
			}},
			Indexes: []dialect.Index{
				{Name: "PRIMARY", Columns: []string{"child_id"}, Unique: true, Primary: true, Method: "btree"},
				{Name: "child_created_idx", Columns: []string{"created", "parent_id"}, Method: "btree"},
				{Name: "child_note_prefix", Columns: []string{"note(10)"}, Method: "btree"},
				// InnoDB indexes a foreign key's columns; the primary key
				// of parent is not a prefix here, so it made one.
				{Name: "child_parent_fk", Columns: []string{"parent_region", "parent_id"}, Method: "btree"},
			},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DescribeTable(child) mismatch (-want +got):\n%s", diff)
		}
	})

	for _, tc := range []struct {
		input    string
		wantName string
		wantKind string
	}{
		{"`Mixed Case`", "Mixed Case", "table"},
		{schema + ".`Mixed Case`", "Mixed Case", "table"},
		{`"Mixed Case"`, "Mixed Case", "table"},
		{`mixed case`, "Mixed Case", "table"}, // case-insensitive retry
		{"`Ünïcode Täble`", "Ünïcode Täble", "table"},
		{schema + ".`Ünïcode Täble`", "Ünïcode Täble", "table"},
		{`parent_names`, "parent_names", "view"},
		{`PARENT`, "parent", "table"},
	} {
		t.Run("Resolve/"+tc.input, func(t *testing.T) {
			ref, err := d.ParseTableName(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.DescribeTable(ctx, db, ref)
			if err != nil {
				t.Fatalf("DescribeTable(%s): %v", tc.input, err)
			}
			if got.Schema != schema || got.Name != tc.wantName || got.Kind != tc.wantKind {
				t.Errorf("DescribeTable(%s) = %s.%s (%s), want %s.%s (%s)", tc.input, got.Schema, got.Name, got.Kind, schema, tc.wantName, tc.wantKind)
			}
		})
	}

	for _, ref := range []dialect.TableRef{
		{Name: "no_such_table"},
		{Schema: schema, Name: "no_such_table"},
		{Schema: "no_such_schema", Name: "parent"},
		{Name: "'; DROP TABLE parent; --"},
	} {
		t.Run("NotFound/"+ref.String(), func(t *testing.T) {
			_, err := d.DescribeTable(ctx, db, ref)
			if !errors.Is(err, dialect.ErrTableNotFound) {
				t.Errorf("DescribeTable(%s) error = %v, want ErrTableNotFound", ref, err)
			}
		})
	}

	t.Run("ThroughSession", func(t *testing.T) {
		direct, err := d.ListTables(ctx, db, schema)
		if err != nil {
			t.Fatal(err)
		}
		dialecttest.Session(t, d, db, func(q dialect.Queryer) {
			// The session's sql_select_limit is 4 rows: the catalog
			// queries must not be cut by it.
			got, err := d.ListTables(ctx, q, schema)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(dialecttest.TableNames(direct), dialecttest.TableNames(got)); diff != "" {
				t.Errorf("ListTables in a session differs (-direct +session):\n%s", diff)
			}
			info, err := d.DescribeTable(ctx, q, dialect.TableRef{Schema: schema, Name: "child"})
			if err != nil {
				t.Fatal(err)
			}
			if len(info.Columns) != 5 || len(info.Indexes) != 4 {
				t.Errorf("DescribeTable in a session: %d columns, %d indexes, want 5 and 4", len(info.Columns), len(info.Indexes))
			}
		})
	})
}

// TestMetaMySQLListTablesBound: 300 fresh tables (MyISAM, which creates
// and drops far faster than InnoDB). All are listed, only the cap is
// counted, the rest are labelled estimates.
func TestMetaMySQLListTablesBound(t *testing.T) {
	db, schema := metaMySQL(t)
	var stmts []string
	for i := range 300 {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE t_%03d (id int) ENGINE=MyISAM", i))
		if n := i % 4; n > 0 {
			stmts = append(stmts, fmt.Sprintf("INSERT INTO t_%03d SELECT seq FROM seq_1_to_%d", i, n))
		}
	}
	dialecttest.Exec(t, db, stmts...)
	d := dialecttest.Backend(t, "mysql")
	got, err := d.ListTables(dialecttest.Ctx(t), db, schema)
	if err != nil {
		t.Fatal(err)
	}
	dialecttest.CheckBound(t, got, 300, 50, func(name string) int64 {
		var i int
		fmt.Sscanf(strings.TrimPrefix(name, "t_"), "%d", &i)
		return int64(i % 4)
	})
	if !got[0].RowsExact || got[299].RowsExact {
		t.Errorf("the first tables in (schema, name) order are counted: t_000 exact=%v, t_299 exact=%v", got[0].RowsExact, got[299].RowsExact)
	}
}
