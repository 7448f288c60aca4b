package tools_test

import (
	"runtime"
	"testing"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// TestOversizedRowCostsNoEncoding: a row whose raw values alone pass the
// byte cap is refused before any of it is encoded (base64, JSON, text:
// several times the row), and without the copy database/sql would make of
// each []byte; a row within the cap is returned whole.
func TestOversizedRowCostsNoEncoding(t *testing.T) {
	db, d := newSQLite(t)
	const capBytes = 4 << 20
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{MaxRows: 10, MaxResultBytes: capBytes}))
	const rowBytes = 6_000_000 // two 3 MB blobs: the driver's copy is all that may be allocated
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT randomblob(3000000) AS a, randomblob(3000000) AS b"})
	runtime.ReadMemStats(&after)
	if res.IsError || res.Structured["truncated_reason"] != "byte_limit" || res.Structured["row_count"] != 0.0 {
		t.Fatalf("oversized row: %v %v: %.200s; want no rows, truncated by byte_limit", res.IsError, res.Structured["truncated_reason"], res.Text)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("refusing a %d-byte row allocated %d bytes", rowBytes, alloc)
	if alloc > 3*rowBytes/2 {
		t.Errorf("refusing a %d-byte row allocated %d bytes; want little beyond the driver's copy", rowBytes, alloc)
	}

	res = toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT zeroblob(1000000) AS a, printf('%.*c', 1000000, 'x') AS b, 7 AS n"})
	rows := res.Rows()
	if res.IsError || len(rows) != 1 {
		t.Fatalf("row within the cap: %v %.200s", res.IsError, res.Text)
	}
	row := rows[0].([]any)
	if bin, ok := row[0].(map[string]any); !ok || len(bin["base64"].(string)) != 1333336 || len(row[1].(string)) != 1000000 || row[2] != 7.0 {
		t.Errorf("row within the cap came back altered: %.100v", row)
	}
}
