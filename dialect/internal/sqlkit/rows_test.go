package sqlkit_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
	_ "modernc.org/sqlite"
)

// upTo5 yields 1..5 one row at a time; with overflowAt3 the third row
// fails while it is being stepped, after two rows were delivered, which is
// how a statement that breaks half way reaches rows.Err.
const (
	upTo5       = `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5) SELECT x FROM n`
	overflowAt3 = `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5)
		SELECT CASE WHEN x = 3 THEN abs(-9223372036854775808) ELSE x END FROM n`
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// assertReleased fails when rows were left open: their connection would
// still be in use, and with one connection the next query would wait.
func assertReleased(t *testing.T, db *sql.DB) {
	t.Helper()
	if n := db.Stats().InUse; n != 0 {
		t.Errorf("%d connection(s) still in use: rows not closed", n)
	}
}

func TestEach(t *testing.T) {
	errStop := errors.New("stop here")
	for _, tc := range []struct {
		name    string
		query   string
		stopAt  int64 // the scan function fails on this value
		want    []int64
		wantErr string // substring; "" means no error
		stopErr bool   // the error is the scan function's own
	}{
		{name: "all rows in order", query: upTo5, want: []int64{1, 2, 3, 4, 5}},
		{name: "no rows", query: upTo5 + ` WHERE x > 9`, want: nil},
		{name: "scan error stops", query: upTo5, stopAt: 2, want: []int64{1, 2}, wantErr: "stop here", stopErr: true},
		{name: "error while stepping", query: overflowAt3, want: []int64{1, 2}, wantErr: "overflow"},
		{name: "query error", query: `SELECT x FROM no_such_table`, want: nil, wantErr: "no_such_table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			var got []int64
			err := sqlkit.Each(context.Background(), db, func(rows *sql.Rows) error {
				var x int64
				if err := rows.Scan(&x); err != nil {
					return err
				}
				got = append(got, x)
				if x == tc.stopAt {
					return errStop
				}
				return nil
			}, tc.query)
			checkErr(t, err, tc.wantErr)
			if errors.Is(err, errStop) != tc.stopErr {
				t.Errorf("errors.Is(%v, errStop) = %v, want %v", err, !tc.stopErr, tc.stopErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("rows visited (-want +got):\n%s", diff)
			}
			assertReleased(t, db)
		})
	}
}

func TestEachRowClosesRowsOnScanError(t *testing.T) {
	db := openDB(t)
	rows, err := db.QueryContext(context.Background(), `SELECT 'not a number' UNION ALL SELECT 'nor this'`)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	err = sqlkit.EachRow(rows, func(rows *sql.Rows) error {
		calls++
		var x int64
		return rows.Scan(&x)
	})
	checkErr(t, err, "converting")
	if calls != 1 {
		t.Errorf("scan called %d times, want 1: the first error must stop the loop", calls)
	}
	assertReleased(t, db)
}

func TestCollectAndStrings(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	got, err := sqlkit.Strings(ctx, db, `SELECT 'row ' || x FROM (`+upTo5+`) WHERE x <> ?1`, 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"row 1", "row 2", "row 4", "row 5"}, got); diff != "" {
		t.Errorf("Strings (-want +got):\n%s", diff)
	}
	// No rows: nil, as an append loop gives, so a description's absent
	// list stays absent rather than becoming [].
	got, err = sqlkit.Strings(ctx, db, `SELECT 'x' WHERE 0`)
	if err != nil || got != nil {
		t.Errorf("Strings of no rows = %#v, %v; want nil, nil", got, err)
	}
	// An error half way gives no partial list.
	sums, err := sqlkit.Collect(ctx, db, func(rows *sql.Rows) (x int64, err error) {
		err = rows.Scan(&x)
		return x, err
	}, overflowAt3)
	checkErr(t, err, "overflow")
	if sums != nil {
		t.Errorf("Collect returned %v with its error, want nil", sums)
	}
	assertReleased(t, db)
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q does not contain %q", err, want)
	}
}
