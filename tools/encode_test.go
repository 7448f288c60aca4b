package tools

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// TestEncodeValue covers the encoding rules per Go type and column kind,
// including the []byte forms drivers use for text-protocol values.
func TestEncodeValue(t *testing.T) {
	ts := time.Date(2009, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, tc := range []struct {
		name   string
		v      any
		kind   dialect.Kind
		dbType string
		want   string // the JSON encoding
	}{
		{"null", nil, dialect.KindText, "TEXT", `null`},
		{"small int", int64(42), dialect.KindInteger, "INT8", `42`},
		{"2^53 stays a number", int64(1 << 53), dialect.KindInteger, "INT8", `9007199254740992`},
		{"beyond 2^53", int64(1<<53 + 1), dialect.KindInteger, "INT8", `"9007199254740993"`},
		{"below -2^53", int64(-(1<<53 + 1)), dialect.KindInteger, "INT8", `"-9007199254740993"`},
		{"big unsigned", uint64(math.MaxUint64), dialect.KindInteger, "BIGINT", `"18446744073709551615"`},
		{"float", 1.5, dialect.KindFloat, "FLOAT8", `1.5`},
		{"NaN", math.NaN(), dialect.KindFloat, "FLOAT8", `"NaN"`},
		{"Inf", math.Inf(1), dialect.KindFloat, "FLOAT8", `"+Inf"`},
		{"decimal bytes", []byte("12345678901234567890.12345"), dialect.KindDecimal, "NUMERIC", `"12345678901234567890.12345"`},
		{"mysql int as bytes", []byte("7"), dialect.KindInteger, "INT", `7`},
		{"mysql big int as bytes", []byte("9007199254740993"), dialect.KindInteger, "BIGINT", `"9007199254740993"`},
		{"mysql double as bytes", []byte("0.25"), dialect.KindFloat, "DOUBLE", `0.25`},
		{"pg bool text", []byte("t"), dialect.KindBool, "BOOL", `true`},
		{"timestamp", ts, dialect.KindTimestamp, "TIMESTAMPTZ", `"2009-01-02T03:04:05.0000006Z"`},
		{"date", ts, dialect.KindDate, "DATE", `"2009-01-02"`},
		{"timestamp without zone", ts, dialect.KindLocalTimestamp, "TIMESTAMP", `"2009-01-02T03:04:05.0000006"`},
		{"timestamp without zone, offset written", ts.In(time.FixedZone("", 7200)), dialect.KindLocalTimestamp, "DATETIME", `"2009-01-02T05:04:05.0000006+02:00"`},
		{"mysql zero date", time.Time{}, dialect.KindDate, "DATE", `"0000-00-00"`},
		{"mysql zero datetime", time.Time{}, dialect.KindLocalTimestamp, "DATETIME", `"0000-00-00T00:00:00"`},
		{"bytea", []byte{0, 255, 16}, dialect.KindBinary, "BYTEA", `{"type":"bytea","base64":"AP8Q"}`},
		{"sqlite blob", []byte{0, 255}, dialect.KindUnknown, "", `{"type":"blob","base64":"AP8="}`},
		{"text", "Ünïcode ✓", dialect.KindText, "TEXT", `"Ünïcode ✓"`},
		{"invalid utf-8 text is shown as bytes", "\xff\xfe", dialect.KindText, "TEXT", `{"type":"text","base64":"//4="}`},
		{"json column as text", []byte(`{"a":1}`), dialect.KindJSON, "JSONB", `"{\"a\":1}"`},
	} {
		v, n := encodeValue(tc.v, tc.kind, tc.dbType)
		b, err := json.Marshal(v)
		if err != nil {
			t.Errorf("%s: marshal: %v", tc.name, err)
			continue
		}
		if string(b) != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, b, tc.want)
		}
		if n < len(b)/2 {
			t.Errorf("%s: accounted %d bytes for %d encoded: the byte cap would under-count", tc.name, n, len(b))
		}
	}
}

func TestRenderTSVEscapesAndMarksNull(t *testing.T) {
	var b strings.Builder
	renderTSV(&b, []string{"a", "b\tc"}, [][]any{{"x\ty\nz\\", nil}, {json.Number("1"), Binary{Type: "blob", Base64: "AA=="}}})
	want := "a\tb\\tc\nx\\ty\\nz\\\\\tNULL\n1\tbase64:AA==\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
