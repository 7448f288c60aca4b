package postgres_test

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/dialecttest"
)

// metaPostgres creates a fresh schema and returns a pool whose
// search_path is that schema (so unqualified names resolve there).
func metaPostgres(t *testing.T) (db *sql.DB, schema string) {
	t.Helper()
	dsn := dialecttest.Env("SQLMCP_TEST_POSTGRES", dialecttest.DefaultPostgres)
	admin := dialecttest.Open(t, "postgres", dsn)
	schema = dialecttest.Name("sqlmcp_meta_")
	dialecttest.Exec(t, admin, "CREATE SCHEMA "+schema)
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop fixture schema: %v", err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema) // lib/pq sends unknown keys as run-time parameters
	u.RawQuery = q.Encode()
	return dialecttest.Open(t, "postgres", u.String()), schema
}

const pgMetaFixture = `
CREATE TABLE parent (
	region text NOT NULL,
	id integer NOT NULL,
	name varchar(160) NOT NULL DEFAULT 'unnamed',
	price numeric(10,2) CONSTRAINT parent_price_positive CHECK (price > 0),
	code text CONSTRAINT parent_code_key UNIQUE,
	PRIMARY KEY (region, id)
);
COMMENT ON TABLE parent IS 'Things that have children';
COMMENT ON COLUMN parent.name IS 'Display name';
CREATE TABLE child (
	child_id bigint PRIMARY KEY,
	parent_region text NOT NULL,
	parent_id integer NOT NULL,
	created timestamp with time zone NOT NULL DEFAULT now(),
	CONSTRAINT child_parent_fk FOREIGN KEY (parent_region, parent_id)
		REFERENCES parent (region, id) ON DELETE CASCADE
);
CREATE INDEX child_created_idx ON child (created, parent_id);
CREATE INDEX child_lower_region_idx ON child (lower(parent_region));
CREATE VIEW parent_names AS SELECT region, id, name FROM parent;
CREATE MATERIALIZED VIEW parent_counts AS SELECT region, count(*) AS n FROM parent GROUP BY region;
CREATE TABLE "Mixed Case" ("Some Col" integer);
CREATE TABLE "Ünïcode Täble" ("naïve" text);
CREATE TABLE events (id integer, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE big (id integer);
CREATE TABLE unanalyzed (id integer) WITH (autovacuum_enabled = false);
INSERT INTO parent VALUES ('eu', 1, 'a', 1.5, 'A'), ('eu', 2, 'b', 2, 'B'), ('us', 1, 'c', 3, NULL);
INSERT INTO child VALUES (10, 'eu', 1), (11, 'eu', 1), (12, 'us', 1);
INSERT INTO "Mixed Case" VALUES (1), (2);
INSERT INTO events VALUES (1, '2024-05-01');
INSERT INTO big SELECT g FROM generate_series(1, 20000) g;
INSERT INTO unanalyzed SELECT g FROM generate_series(1, 50000) g;
ANALYZE big;
REFRESH MATERIALIZED VIEW parent_counts;
`

func TestMetaPostgres(t *testing.T) {
	db, schema := metaPostgres(t)
	dialecttest.Exec(t, db, pgMetaFixture)
	d := dialecttest.Backend(t, "postgres")
	ctx := dialecttest.Ctx(t)

	t.Run("ListTables", func(t *testing.T) {
		got, err := d.ListTables(ctx, db, schema)
		if err != nil {
			t.Fatal(err)
		}
		tb := func(name, kind string, rows *int64, exact bool, comment string) dialect.Table {
			return dialect.Table{Schema: schema, Name: name, Kind: kind, Rows: rows, RowsExact: exact, Comment: comment}
		}
		want := []dialect.Table{
			tb("Mixed Case", "table", dialecttest.Ptr[int64](2), true, ""),
			// ANALYZE put 20000 in the statistics: above the threshold, so
			// the estimate is reported, labelled as such.
			tb("big", "table", dialecttest.Ptr[int64](20000), false, ""),
			tb("child", "table", dialecttest.Ptr[int64](3), true, ""),
			tb("events", "partitioned table", dialecttest.Ptr[int64](1), true, ""),
			tb("events_2024", "table", dialecttest.Ptr[int64](1), true, ""),
			tb("parent", "table", dialecttest.Ptr[int64](3), true, "Things that have children"),
			tb("parent_counts", "materialized view", dialecttest.Ptr[int64](2), true, ""),
			tb("parent_names", "view", nil, false, ""),
			// Never analyzed and bigger than 1 MiB: not counted, and
			// PostgreSQL has no estimate to offer.
			tb("unanalyzed", "table", nil, false, ""),
			tb("Ünïcode Täble", "table", dialecttest.Ptr[int64](0), true, ""),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListTables(%q) mismatch (-want +got):\n%s", schema, diff)
		}
	})

	t.Run("ListTablesAllSchemas", func(t *testing.T) {
		got, err := d.ListTables(ctx, db, "")
		if err != nil {
			t.Fatal(err)
		}
		if n := len(dialecttest.OnlySchema(got, schema)); n != 10 {
			t.Errorf("ListTables(\"\") has %d tables of %s, want 10", n, schema)
		}
		for _, tb := range got {
			if tb.Schema == "pg_catalog" || tb.Schema == "information_schema" || strings.HasPrefix(tb.Schema, "pg_toast") {
				t.Fatalf("ListTables(\"\") lists system relation %s.%s", tb.Schema, tb.Name)
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
				{Name: "region", Type: "text", PrimaryKeyPosition: 1},
				{Name: "id", Type: "integer", PrimaryKeyPosition: 2},
				{Name: "name", Type: "character varying(160)", Default: dialecttest.Ptr("'unnamed'::character varying"), Comment: "Display name"},
				{Name: "price", Type: "numeric(10,2)", Nullable: true},
				{Name: "code", Type: "text", Nullable: true},
			},
			PrimaryKey: []string{"region", "id"},
			Uniques:    []dialect.Constraint{{Name: "parent_code_key", Columns: []string{"code"}}},
			Checks:     []dialect.Check{{Name: "parent_price_positive", Expression: "(price > 0::numeric)"}},
			Indexes: []dialect.Index{
				{Name: "parent_code_key", Columns: []string{"code"}, Unique: true, Method: "btree"},
				{Name: "parent_pkey", Columns: []string{"region", "id"}, Unique: true, Primary: true, Method: "btree"},
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
				{Name: "child_id", Type: "bigint", PrimaryKeyPosition: 1},
				{Name: "parent_region", Type: "text"},
				{Name: "parent_id", Type: "integer"},
				{Name: "created", Type: "timestamp with time zone", Default: dialecttest.Ptr("now()")},
			},
			PrimaryKey: []string{"child_id"},
			ForeignKeys: []dialect.ForeignKey{{
				Name: "child_parent_fk", Columns: []string{"parent_region", "parent_id"},
				ReferencedSchema: schema, ReferencedTable: "parent", ReferencedColumns: []string{"region", "id"},
				OnUpdate: "NO ACTION", OnDelete: "CASCADE",
			}},
			Indexes: []dialect.Index{
				{Name: "child_created_idx", Columns: []string{"created", "parent_id"}, Method: "btree"},
				{Name: "child_lower_region_idx", Columns: []string{"lower(parent_region)"}, Method: "btree"},
				{Name: "child_pkey", Columns: []string{"child_id"}, Unique: true, Primary: true, Method: "btree"},
			},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DescribeTable(child) mismatch (-want +got):\n%s", diff)
		}
	})

	// The names a model writes, parsed as the tool will, then described.
	for _, tc := range []struct {
		input    string
		wantName string
		wantKind string
	}{
		{`"Mixed Case"`, "Mixed Case", "table"},
		{schema + `."Mixed Case"`, "Mixed Case", "table"},
		{`mixed case`, "Mixed Case", "table"}, // folded, then the case-insensitive retry
		{`Mixed Case`, "Mixed Case", "table"},
		{`"Ünïcode Täble"`, "Ünïcode Täble", "table"},
		{schema + `."Ünïcode Täble"`, "Ünïcode Täble", "table"},
		{`PARENT_NAMES`, "parent_names", "view"},
		{`parent_counts`, "parent_counts", "materialized view"},
		{`events`, "events", "partitioned table"},
		{strings.ToUpper(schema) + `.Child`, "child", "table"},
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

	t.Run("DescribeUnicodeColumns", func(t *testing.T) {
		got, err := d.DescribeTable(ctx, db, dialect.TableRef{Name: "Ünïcode Täble"})
		if err != nil {
			t.Fatal(err)
		}
		want := []dialect.Column{{Name: "naïve", Type: "text", Nullable: true}}
		if diff := cmp.Diff(want, got.Columns); diff != "" {
			t.Errorf("columns mismatch (-want +got):\n%s", diff)
		}
	})

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
			got, err := d.ListTables(ctx, q, schema)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(direct, got); diff != "" {
				t.Errorf("ListTables in a session differs (-direct +session):\n%s", diff)
			}
			info, err := d.DescribeTable(ctx, q, dialect.TableRef{Schema: schema, Name: "child"})
			if err != nil {
				t.Fatal(err)
			}
			if len(info.Columns) != 4 || len(info.ForeignKeys) != 1 {
				t.Errorf("DescribeTable in a session: %d columns, %d foreign keys, want 4 and 1", len(info.Columns), len(info.ForeignKeys))
			}
		})
	})
}

// TestMetaPostgresListTablesBound: 300 fresh tables, none analyzed. All
// are listed, only the cap is counted, the rest are labelled estimates.
func TestMetaPostgresListTablesBound(t *testing.T) {
	db, schema := metaPostgres(t)
	var b strings.Builder
	b.WriteString("BEGIN;\n")
	for i := range 300 {
		fmt.Fprintf(&b, "CREATE TABLE t_%03d (id integer);\n", i)
		if n := i % 4; n > 0 {
			fmt.Fprintf(&b, "INSERT INTO t_%03d SELECT generate_series(1, %d);\n", i, n)
		}
	}
	b.WriteString("COMMIT;\n")
	dialecttest.Exec(t, db, b.String())
	d := dialecttest.Backend(t, "postgres")
	got, err := d.ListTables(dialecttest.Ctx(t), db, schema)
	if err != nil {
		t.Fatal(err)
	}
	dialecttest.CheckBound(t, got, 300, 50, func(name string) int64 {
		var i int
		fmt.Sscanf(name, "t_%d", &i)
		return int64(i % 4)
	})
	if !got[0].RowsExact || got[299].RowsExact {
		t.Errorf("the first tables in (schema, name) order are counted: t_000 exact=%v, t_299 exact=%v", got[0].RowsExact, got[299].RowsExact)
	}
	if got[299].Rows != nil {
		t.Errorf("never-analyzed uncounted table has Rows %d, want nil (unknown)", *got[299].Rows)
	}
}
