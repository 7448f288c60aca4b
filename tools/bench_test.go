package tools

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	_ "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// trackRow is a Chinook track row as lib/pq scans it: integers as int64,
// text as string, numeric as []byte.
var trackRow = []any{int64(1), "For Those About To Rock (We Salute You)", int64(1), int64(1), int64(1),
	"Angus Young, Malcolm Young, Brian Johnson", int64(343719), int64(11170334), []byte("0.99")}

var trackKinds = []kindOf{
	{dialect.KindInteger, "INT4"}, {dialect.KindText, "VARCHAR"}, {dialect.KindInteger, "INT4"},
	{dialect.KindInteger, "INT4"}, {dialect.KindInteger, "INT4"}, {dialect.KindText, "VARCHAR"},
	{dialect.KindInteger, "INT4"}, {dialect.KindInteger, "INT4"}, {dialect.KindDecimal, "NUMERIC"},
}

// BenchmarkEncodeRow is the query tool's per-row work: one typical row into
// both the JSON and the TSV form.
func BenchmarkEncodeRow(b *testing.B) {
	w := resultWriter{json: make([]byte, 0, 1<<16), tsv: make([]byte, 0, 1<<16)}
	b.ReportAllocs()
	for b.Loop() {
		w.json, w.tsv = w.json[:0], w.tsv[:0]
		for i, v := range trackRow {
			w.appendCell(v, trackKinds[i].kind, trackKinds[i].dbType)
		}
	}
}

// BenchmarkEncodeValueRow is the same row through encodeValue and
// encoding/json, the path resultWriter replaced (and still takes for the
// uncommon forms).
func BenchmarkEncodeValueRow(b *testing.B) {
	row := make([]any, len(trackRow))
	b.ReportAllocs()
	for b.Loop() {
		for i, v := range trackRow {
			row[i], _ = encodeValue(v, trackKinds[i].kind, trackKinds[i].dbType)
		}
		if _, err := json.Marshal(row); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderTSV renders 100 encoded rows as list_tables does.
func BenchmarkRenderTSV(b *testing.B) {
	header := []string{"track_id", "name", "album_id", "media_type_id", "genre_id", "composer", "milliseconds", "bytes", "unit_price"}
	rows := make([][]any, 100)
	for r := range rows {
		rows[r] = make([]any, len(trackRow))
		for i, v := range trackRow {
			rows[r][i], _ = encodeValue(v, trackKinds[i].kind, trackKinds[i].dbType)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		var sb strings.Builder
		renderTSV(&sb, header, rows)
	}
}

// BenchmarkQueryTool is one whole query call, 100 rows, through a real
// go-sdk client over in-memory transports, on the embedded Chinook SQLite
// database: everything but the network and a server-class database.
func BenchmarkQueryTool(b *testing.B) {
	benchmarkTool(b, "query", map[string]any{"sql": "SELECT * FROM track WHERE genre_id = 1", "limit": 100})
}

// BenchmarkDescribeTool is describe_table on Chinook's track.
func BenchmarkDescribeTool(b *testing.B) {
	benchmarkTool(b, "describe_table", map[string]any{"table_name": "track"})
}

func benchmarkTool(b *testing.B, tool string, args map[string]any) {
	path, err := filepath.Abs("../cmd/sqlmcp/demo/chinook.db")
	if err != nil {
		b.Fatal(err)
	}
	target, err := dialect.ParseDSN("sqlite://" + path)
	if err != nil {
		b.Fatal(err)
	}
	db, err := target.Backend.Open(target, dialect.OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	d := target.Backend
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := New(db, d, Options{}).NewServer("bench").Connect(ctx, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	params := &mcp.CallToolParams{Name: tool, Arguments: args}
	b.ReportAllocs()
	for b.Loop() {
		res, err := cs.CallTool(ctx, params)
		if err != nil || res.IsError {
			b.Fatalf("%s: %v %v", tool, err, res)
		}
	}
}

// BenchmarkResultWriter is the query tool's encoding of a 100-row page of
// Chinook track rows, both forms and the byte cap: header, rows, finish.
func BenchmarkResultWriter(b *testing.B) {
	cols := make([]ResultColumn, len(trackKinds))
	kinds := map[string]dialect.Kind{}
	for i, k := range trackKinds {
		cols[i] = ResultColumn{Name: "c", Type: k.dbType}
		kinds[k.dbType] = k.kind
	}
	valueKind := func(dbType string) dialect.Kind { return kinds[dbType] }
	cells := make([]rawCell, len(trackRow))
	for i, v := range trackRow {
		cells[i].v = v
	}
	b.ReportAllocs()
	for b.Loop() {
		w := newResultWriter(100, 100, 1<<20)
		w.header(cols, valueKind)
		for range 100 {
			if !w.row(cells) {
				b.Fatal("row refused")
			}
		}
		w.finish("", 0)
	}
}
