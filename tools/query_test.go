package tools

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// queryFixture is a SQLite database with values that exercise every path
// of the result writer: escapes in both forms, NULL, blobs, numbers beyond
// 2^53, and a column of short integers whose rows' sizes are known.
func queryFixture(t *testing.T, opts Options) *Tools {
	t.Helper()
	path := filepath.Join(t.TempDir(), "q.db")
	w, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`CREATE TABLE v (id INTEGER PRIMARY KEY, txt TEXT, price DECIMAL(10,2), data BLOB, f REAL)`,
		`INSERT INTO v VALUES (1, 'tab' || char(9) || 'nl' || char(10) || 'cr' || char(13) || 'q"b\' || char(8232) || 'ü', 9.99, x'00ff10', 1.5),
			(2, NULL, NULL, NULL, NULL), (3, '', 0, x'', -0.25)`,
		`CREATE TABLE n (n INTEGER)`,
		`INSERT INTO n VALUES (1), (2), (3)`,
	} {
		if _, err := w.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	w.Close()
	target, err := dialect.ParseDSN(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := target.Backend.Open(target, dialect.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db, target.Backend, opts)
}

// pad is the 200-digit value of printf('%0200d', n).
func pad(n int) string { return fmt.Sprintf("%0200d", n) }

var elapsedRE = regexp.MustCompile(`"elapsed_ms":[0-9.e+-]+`)

// TestQueryResultBytes pins the exact bytes of both forms of a query
// result, the structured JSON (elapsed time aside) and the text, at the
// edges of the byte cap: a result that fills it exactly is whole, one
// byte less cuts the last row. (The SQLite session's own bounds, derived
// from the cap, refuse smaller caps than these; see TestResultWriter.)
func TestQueryResultBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		args string
		json string
		text string
	}{
		{
			name: "values",
			args: `{"sql":"SELECT id, txt, price, data, f, 9007199254740993 AS big FROM v ORDER BY id"}`,
			json: `{"columns":[{"name":"id","type":"INTEGER"},{"name":"txt","type":"TEXT"},{"name":"price","type":"DECIMAL(10,2)"},{"name":"data","type":"BLOB"},{"name":"f","type":"REAL"},{"name":"big","type":""}],"rows":[[1,"tab\tnl\ncr\rq\"b\\\u2028ü",9.99,{"type":"blob","base64":"AP8Q"},1.5,"9007199254740993"],[2,null,null,null,null,"9007199254740993"],[3,"",0,"",-0.25,"9007199254740993"]],"row_count":3,"truncated":false,"elapsed_ms":0}`,
			text: "id\ttxt\tprice\tdata\tf\tbig\n1\ttab\\tnl\\ncr\\rq\"b\\\\\u2028ü\t9.99\tbase64:AP8Q\t1.5\t9007199254740993\n2\tNULL\tNULL\tNULL\tNULL\t9007199254740993\n3\t\t0\t\t-0.25\t9007199254740993\n",
		},
		{
			name: "zero rows",
			args: `{"sql":"SELECT n FROM n WHERE n < 0"}`,
			json: `{"columns":[{"name":"n","type":"INTEGER"}],"rows":[],"row_count":0,"truncated":false,"elapsed_ms":0}`,
			text: "n\n",
		},
		{
			name: "row limit below the maximum",
			args: `{"sql":"SELECT n FROM n ORDER BY n","limit":2}`,
			json: `{"columns":[{"name":"n","type":"INTEGER"}],"rows":[[1],[2]],"row_count":2,"truncated":true,"truncated_reason":"row_limit","elapsed_ms":0}`,
			text: "n\n1\n2\n-- truncated: more rows exist beyond limit 2 (max 100); narrow with WHERE or raise limit\n",
		},
		{
			name: "row limit at the maximum",
			opts: Options{MaxRows: 2},
			args: `{"sql":"SELECT n FROM n ORDER BY n"}`,
			json: `{"columns":[{"name":"n","type":"INTEGER"}],"rows":[[1],[2]],"row_count":2,"truncated":true,"truncated_reason":"row_limit","elapsed_ms":0}`,
			text: "n\n1\n2\n-- truncated: more rows exist beyond 2; narrow with WHERE, aggregate, or page with ORDER BY\n",
		},
		{
			name: "byte cap exactly met",
			opts: Options{MaxResultBytes: 620},
			args: `{"sql":"SELECT n, printf('%0200d', n) AS pad FROM n ORDER BY n"}`,
			json: `{"columns":[{"name":"n","type":"INTEGER"},{"name":"pad","type":""}],"rows":[[1,"` + pad(1) + `"],[2,"` + pad(2) + `"],[3,"` + pad(3) + `"]],"row_count":3,"truncated":false,"elapsed_ms":0}`,
			text: "n\tpad\n1\t" + pad(1) + "\n2\t" + pad(2) + "\n3\t" + pad(3) + "\n",
		},
		{
			name: "byte cap one short",
			opts: Options{MaxResultBytes: 619},
			args: `{"sql":"SELECT n, printf('%0200d', n) AS pad FROM n ORDER BY n"}`,
			json: `{"columns":[{"name":"n","type":"INTEGER"},{"name":"pad","type":""}],"rows":[[1,"` + pad(1) + `"],[2,"` + pad(2) + `"]],"row_count":2,"truncated":true,"truncated_reason":"byte_limit","elapsed_ms":0}`,
			text: "n\tpad\n1\t" + pad(1) + "\n2\t" + pad(2) + "\n-- truncated: the result passed the 619-byte cap; select fewer or narrower columns\n",
		},
		{
			name: "first row over the cap once encoded",
			opts: Options{MaxResultBytes: 300},
			args: `{"sql":"SELECT replace(printf('%0200d', 0), '0', char(9)) AS tabs"}`,
			json: `{"columns":[{"name":"tabs","type":""}],"rows":[],"row_count":0,"truncated":true,"truncated_reason":"byte_limit","elapsed_ms":0}`,
			text: "tabs\n-- truncated: the result passed the 300-byte cap; select fewer or narrower columns\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := queryFixture(t, tc.opts)
			res, err := tl.query(context.Background(), tl.only(), json.RawMessage(tc.args), &Record{})
			if err != nil {
				t.Fatal(err)
			}
			got := elapsedRE.ReplaceAllString(string(res.structured.(json.RawMessage)), `"elapsed_ms":0`)
			if got != tc.json {
				t.Errorf("structured:\n got %s\nwant %s", got, tc.json)
			}
			if res.text != tc.text {
				t.Errorf("text:\n got %q\nwant %q", res.text, tc.text)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("structured is not JSON: %s", got)
			}
		})
	}
}

// TestResultWriter: the byte cap is met exactly or the row is left out
// whole, whether the row's raw size or its encoding passes the cap; a
// result of no rows or no columns is still well-formed.
func TestResultWriter(t *testing.T) {
	textKind := func(string) dialect.Kind { return dialect.KindText }
	col := []ResultColumn{{Name: "c", Type: "TEXT"}}
	tab := []rawCell{{v: "a\tb"}} // raw size 6; 8 bytes as JSON (`["a\tb"]`), 7 as text
	for _, tc := range []struct {
		name     string
		maxBytes int
		cols     []ResultColumn
		rows     [][]rawCell
		written  int // rows row accepts
		json     string
		text     string
	}{
		{"zero rows", 100, col, nil, 0,
			`{"columns":[{"name":"c","type":"TEXT"}],"rows":[],"row_count":0,"truncated":false,"elapsed_ms":1.5}`,
			"c\n"},
		{"zero columns", 5, nil, [][]rawCell{nil, nil, nil}, 2,
			`{"columns":[],"rows":[[],[]],"row_count":2,"truncated":true,"truncated_reason":"byte_limit","elapsed_ms":1.5}`,
			"\n\n\n-- truncated: the result passed the 5-byte cap; select fewer or narrower columns\n"},
		{"one row exactly at the cap", 8, col, [][]rawCell{tab}, 1,
			`{"columns":[{"name":"c","type":"TEXT"}],"rows":[["a\tb"]],"row_count":1,"truncated":false,"elapsed_ms":1.5}`,
			"c\na\\tb\n"},
		{"second row exactly at the cap", 17, col, [][]rawCell{tab, tab}, 2,
			`{"columns":[{"name":"c","type":"TEXT"}],"rows":[["a\tb"],["a\tb"]],"row_count":2,"truncated":false,"elapsed_ms":1.5}`,
			"c\na\\tb\na\\tb\n"},
		{"second row a byte over the cap", 16, col, [][]rawCell{tab, tab}, 1,
			`{"columns":[{"name":"c","type":"TEXT"}],"rows":[["a\tb"]],"row_count":1,"truncated":true,"truncated_reason":"byte_limit","elapsed_ms":1.5}`,
			"c\na\\tb\n-- truncated: the result passed the 16-byte cap; select fewer or narrower columns\n"},
		{"encoding over the cap", 7, col, [][]rawCell{tab}, 0,
			`{"columns":[{"name":"c","type":"TEXT"}],"rows":[],"row_count":0,"truncated":true,"truncated_reason":"byte_limit","elapsed_ms":1.5}`,
			"c\n-- truncated: the result passed the 7-byte cap; select fewer or narrower columns\n"},
		{"raw size over the cap", 5, col, [][]rawCell{tab}, 0,
			`{"columns":[{"name":"c","type":"TEXT"}],"rows":[],"row_count":0,"truncated":true,"truncated_reason":"byte_limit","elapsed_ms":1.5}`,
			"c\n-- truncated: the result passed the 5-byte cap; select fewer or narrower columns\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newResultWriter(10, 100, tc.maxBytes)
			w.header(tc.cols, textKind)
			reason := ""
			for _, r := range tc.rows {
				if !w.row(r) {
					reason = "byte_limit"
					break
				}
			}
			if w.rows != tc.written {
				t.Errorf("%d rows written, want %d", w.rows, tc.written)
			}
			res := w.finish(reason, 1500*time.Microsecond)
			if got := string(res.structured.(json.RawMessage)); got != tc.json {
				t.Errorf("structured:\n got %s\nwant %s", got, tc.json)
			}
			if res.text != tc.text {
				t.Errorf("text:\n got %q\nwant %q", res.text, tc.text)
			}
		})
	}
}
