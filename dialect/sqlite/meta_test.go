package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/dialecttest"
)

// metaSQLite writes a database file with a plain writable connection, then
// opens it the way sqlmcp does: read-only, through ParseDSN.
func metaSQLite(t *testing.T, fixture ...string) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meta.db")
	w, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	dialecttest.Exec(t, w, fixture...)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dialecttest.Open(t, "sqlite", path)
}

const sqliteMetaFixture = `
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
`

func TestMetaSQLite(t *testing.T) {
	db := metaSQLite(t, sqliteMetaFixture)
	d := dialecttest.Backend(t, "sqlite")
	ctx := dialecttest.Ctx(t)

	t.Run("ListTables", func(t *testing.T) {
		for _, schema := range []string{"", "main"} {
			got, err := d.ListTables(ctx, db, schema)
			if err != nil {
				t.Fatal(err)
			}
			tb := func(name, kind string, rows *int64, exact bool) dialect.Table {
				return dialect.Table{Schema: "main", Name: name, Kind: kind, Rows: rows, RowsExact: exact}
			}
			// FTS5's shadow tables (docs_data, ...) and sqlite_* are not listed.
			want := []dialect.Table{
				tb("Mixed Case", "table", dialecttest.Ptr[int64](2), true),
				tb("child", "table", dialecttest.Ptr[int64](3), true),
				tb("docs", "virtual table", nil, false),
				tb("keyed", "table", dialecttest.Ptr[int64](0), true),
				tb("loose", "table", dialecttest.Ptr[int64](0), true),
				tb("parent", "table", dialecttest.Ptr[int64](3), true),
				tb("parent_names", "view", nil, false),
				tb("Ünïcode Täble", "table", dialecttest.Ptr[int64](0), true),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ListTables(%q) mismatch (-want +got):\n%s", schema, diff)
			}
		}
		got, err := d.ListTables(ctx, db, "no_such_schema")
		if err != nil || len(got) != 0 {
			t.Errorf("ListTables(no_such_schema) = %v, %v; want nothing", got, err)
		}
	})

	t.Run("DescribeParent", func(t *testing.T) {
		got, err := d.DescribeTable(ctx, db, dialect.TableRef{Name: "parent"})
		if err != nil {
			t.Fatal(err)
		}
		want := &dialect.TableInfo{
			Schema: "main", Name: "parent", Kind: "table",
			Columns: []dialect.Column{
				{Name: "region", Type: "TEXT", PrimaryKeyPosition: 1},
				{Name: "id", Type: "INTEGER", PrimaryKeyPosition: 2},
				{Name: "name", Type: "VARCHAR(160)", Default: dialecttest.Ptr("'unnamed'")},
				{Name: "price", Type: "NUMERIC(10,2)", Nullable: true},
				{Name: "code", Type: "TEXT", Nullable: true},
			},
			PrimaryKey: []string{"region", "id"},
			// SQLite names a UNIQUE constraint's index itself.
			Uniques: []dialect.Constraint{{Name: "sqlite_autoindex_parent_1", Columns: []string{"code"}}},
			Indexes: []dialect.Index{
				{Name: "sqlite_autoindex_parent_1", Columns: []string{"code"}, Unique: true, Method: "btree"},
				{Name: "sqlite_autoindex_parent_2", Columns: []string{"region", "id"}, Unique: true, Primary: true, Method: "btree"},
			},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DescribeTable(parent) mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("DescribeChild", func(t *testing.T) {
		got, err := d.DescribeTable(ctx, db, dialect.TableRef{Schema: "main", Name: "child"})
		if err != nil {
			t.Fatal(err)
		}
		want := &dialect.TableInfo{
			Schema: "main", Name: "child", Kind: "table",
			Columns: []dialect.Column{
				// INTEGER PRIMARY KEY is the rowid: never NULL.
				{Name: "child_id", Type: "INTEGER", PrimaryKeyPosition: 1},
				{Name: "parent_region", Type: "TEXT"},
				{Name: "parent_id", Type: "INTEGER"},
				{Name: "created", Type: "TEXT", Default: dialecttest.Ptr("CURRENT_TIMESTAMP")},
			},
			PrimaryKey: []string{"child_id"},
			ForeignKeys: []dialect.ForeignKey{{
				Columns:          []string{"parent_region", "parent_id"},
				ReferencedSchema: "main", ReferencedTable: "parent", ReferencedColumns: []string{"region", "id"},
				OnUpdate: "NO ACTION", OnDelete: "CASCADE",
			}},
			Indexes: []dialect.Index{
				{Name: "child (lower, region)", Columns: []string{"lower(parent_region)", "parent_id"}, Method: "btree"},
				{Name: "child_created_idx", Columns: []string{"created", "parent_id"}, Method: "btree"},
			},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DescribeTable(child) mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("DescribeKeyQuirks", func(t *testing.T) {
		keyed, err := d.DescribeTable(ctx, db, dialect.TableRef{Name: "keyed"})
		if err != nil {
			t.Fatal(err)
		}
		loose, err := d.DescribeTable(ctx, db, dialect.TableRef{Name: "loose"})
		if err != nil {
			t.Fatal(err)
		}
		got := []any{keyed.Columns, loose.Columns, loose.ForeignKeys}
		want := []any{
			// WITHOUT ROWID enforces NOT NULL on the key ...
			[]dialect.Column{{Name: "k", Type: "TEXT", PrimaryKeyPosition: 1}, {Name: "v", Nullable: true}},
			// ... a rowid table's TEXT PRIMARY KEY accepts NULL.
			[]dialect.Column{{Name: "k", Type: "TEXT", Nullable: true, PrimaryKeyPosition: 1}, {Name: "child", Type: "INTEGER", Nullable: true}},
			// REFERENCES child with no columns means child's primary key.
			[]dialect.ForeignKey{{Columns: []string{"child"}, ReferencedSchema: "main", ReferencedTable: "child",
				ReferencedColumns: []string{"child_id"}, OnUpdate: "NO ACTION", OnDelete: "NO ACTION"}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("keyed/loose mismatch (-want +got):\n%s", diff)
		}
	})

	for _, tc := range []struct {
		input    string
		wantName string
		wantKind string
	}{
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
			if got.Schema != "main" || got.Name != tc.wantName || got.Kind != tc.wantKind {
				t.Errorf("DescribeTable(%s) = %s.%s (%s), want main.%s (%s)", tc.input, got.Schema, got.Name, got.Kind, tc.wantName, tc.wantKind)
			}
		})
	}

	for _, ref := range []dialect.TableRef{
		{Name: "no_such_table"},
		{Schema: "main", Name: "no_such_table"},
		{Schema: "no_such_schema", Name: "parent"},
		{Name: "docs_data"}, // an FTS shadow table is not a table of the user's
		{Name: "'); DROP TABLE parent; --"},
	} {
		t.Run("NotFound/"+ref.String(), func(t *testing.T) {
			_, err := d.DescribeTable(ctx, db, ref)
			if !errors.Is(err, dialect.ErrTableNotFound) {
				t.Errorf("DescribeTable(%s) error = %v, want ErrTableNotFound", ref, err)
			}
		})
	}

	// Through a session, the read-only authorizer is installed: every
	// pragma and catalog read introspection uses must pass it.
	t.Run("ThroughSession", func(t *testing.T) {
		direct, err := d.ListTables(ctx, db, "")
		if err != nil {
			t.Fatal(err)
		}
		dialecttest.Session(t, d, db, func(q dialect.Queryer) {
			got, err := d.ListTables(ctx, q, "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(direct, got); diff != "" {
				t.Errorf("ListTables in a session differs (-direct +session):\n%s", diff)
			}
			for _, name := range []string{"child", "loose"} {
				info, err := d.DescribeTable(ctx, q, dialect.TableRef{Name: name})
				if err != nil {
					t.Fatal(err)
				}
				if len(info.Columns) == 0 || len(info.ForeignKeys) != 1 {
					t.Errorf("DescribeTable(%s) in a session: %d columns, %d foreign keys, want some and 1", name, len(info.Columns), len(info.ForeignKeys))
				}
			}
		})
	})
}

// TestMetaSQLiteListTablesBound: 300 tables, ANALYZEd. The first 200 are
// counted; the rest carry sqlite_stat1's figure, labelled an estimate.
func TestMetaSQLiteListTablesBound(t *testing.T) {
	var fixture []string
	fixture = append(fixture, "BEGIN")
	for i := range 300 {
		fixture = append(fixture, fmt.Sprintf("CREATE TABLE t_%03d (id INTEGER)", i))
		for j := range i % 4 {
			fixture = append(fixture, fmt.Sprintf("INSERT INTO t_%03d VALUES (%d)", i, j))
		}
	}
	fixture = append(fixture, "COMMIT", "ANALYZE")
	db := metaSQLite(t, fixture...)
	d := dialecttest.Backend(t, "sqlite")
	got, err := d.ListTables(dialecttest.Ctx(t), db, "")
	if err != nil {
		t.Fatal(err)
	}
	rows := func(name string) int64 {
		var i int
		fmt.Sscanf(name, "t_%d", &i)
		return int64(i % 4)
	}
	dialecttest.CheckBound(t, got, 300, 200, rows)
	last := got[299]
	if last.Name != "t_299" || last.RowsExact || last.Rows == nil || *last.Rows != 3 {
		t.Errorf("last table = %s Rows=%v exact=%v, want t_299 with the stat1 estimate 3", last.Name, last.Rows, last.RowsExact)
	}
}
