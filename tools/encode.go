package tools

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/tools/internal/jsonstr"
)

// Binary is how a binary value appears in results: base64, with the
// database type beside it so the model knows it is not text.
type Binary struct {
	Type   string `json:"type"`
	Base64 string `json:"base64"`
}

// maxSafeInt is 2^53: integers beyond ±2^53 lose precision as JSON numbers
// in most clients (JavaScript, and Go's float64 decoding), so they are
// encoded as strings.
const maxSafeInt = 1 << 53

// encodeValue turns one scanned value into a JSON-safe, exact value:
// nil, bool, json.Number, string or Binary. It returns the value and the
// number of bytes it adds to the result, for the byte cap.
func encodeValue(v any, kind dialect.Kind, dbType string) (any, int) {
	switch x := v.(type) {
	case nil:
		return nil, 4
	case bool:
		return x, 5
	case int64:
		return encodeInt(x)
	case int32:
		return encodeInt(int64(x))
	case int:
		return encodeInt(int64(x))
	case uint64:
		if x > maxSafeInt {
			s := strconv.FormatUint(x, 10)
			return s, len(s) + 2
		}
		return json.Number(strconv.FormatUint(x, 10)), 20
	case float64:
		return encodeFloat(x, kind)
	case float32:
		return encodeFloat(float64(x), kind)
	case time.Time:
		s := formatTime(x, kind)
		return s, len(s) + 2
	case string:
		return encodeText(x, kind, dbType)
	case []byte:
		return encodeBytes(x, kind, dbType)
	}
	// A driver type we do not know: its text form, marked as such by the
	// column type. Never fail a whole result for one odd value.
	s := toValidUTF8(strings.TrimSpace(stringify(v)))
	return s, len(s) + 2
}

// formatTime renders dates as YYYY-MM-DD, zoned timestamps as RFC 3339,
// and timestamps without a zone without an offset: drivers hand those
// back in UTC, and a Z would claim a zone the value never had. MySQL's
// zero date comes back as Go's zero time and is shown as MySQL shows it.
func formatTime(t time.Time, kind dialect.Kind) string {
	switch {
	case t.IsZero() && kind == dialect.KindDate:
		return "0000-00-00"
	case t.IsZero():
		return "0000-00-00T00:00:00"
	case kind == dialect.KindDate:
		return t.Format(time.DateOnly)
	case kind == dialect.KindLocalTimestamp && zeroOffset(t):
		return t.Format("2006-01-02T15:04:05.999999999")
	}
	return t.Format(time.RFC3339Nano)
}

func zeroOffset(t time.Time) bool {
	_, off := t.Zone()
	return off == 0
}

func encodeInt(x int64) (any, int) {
	s := strconv.FormatInt(x, 10)
	if x > maxSafeInt || x < -maxSafeInt {
		return s, len(s) + 2
	}
	return json.Number(s), len(s)
}

func encodeFloat(x float64, kind dialect.Kind) (any, int) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		s := strconv.FormatFloat(x, 'g', -1, 64)
		return s, len(s) + 2
	}
	if kind == dialect.KindInteger && x == math.Trunc(x) && math.Abs(x) <= maxSafeInt {
		return encodeInt(int64(x))
	}
	s := strconv.FormatFloat(x, 'g', -1, 64)
	// json.Number must be valid JSON: 1e+06 is, Inf was handled above.
	return json.Number(s), len(s)
}

func encodeText(s string, kind dialect.Kind, dbType string) (any, int) {
	switch kind {
	case dialect.KindInteger:
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			return encodeInt(n)
		}
	case dialect.KindFloat:
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return encodeFloat(f, kind)
		}
	case dialect.KindBool:
		switch strings.ToLower(s) {
		case "t", "true", "1":
			return true, 4
		case "f", "false", "0":
			return false, 5
		}
	case dialect.KindBinary:
		return encodeBinary([]byte(s), dbType)
	}
	if !utf8.ValidString(s) {
		// Not text after all: show the bytes rather than mangle them.
		return encodeBinary([]byte(s), dbType)
	}
	return s, len(s) + 2
}

// encodeBytes handles []byte, which drivers return both for binary columns
// and for text-protocol values (MySQL, PostgreSQL numeric, arrays, JSON).
func encodeBytes(b []byte, kind dialect.Kind, dbType string) (any, int) {
	switch kind {
	case dialect.KindBinary:
		return encodeBinary(b, dbType)
	case dialect.KindUnknown:
		if !utf8.Valid(b) {
			return encodeBinary(b, dbType)
		}
		if dbType == "" {
			// SQLite hands blobs back as []byte and text as string.
			return encodeBinary(b, dbType)
		}
	case dialect.KindTimestamp, dialect.KindLocalTimestamp, dialect.KindDate:
		return encodeText(string(b), dialect.KindText, dbType)
	}
	return encodeText(string(b), kind, dbType)
}

func encodeBinary(b []byte, dbType string) (any, int) {
	t := strings.ToLower(dbType)
	if t == "" {
		t = "blob"
	}
	enc := base64.StdEncoding.EncodeToString(b)
	return Binary{Type: t, Base64: enc}, len(enc) + len(t) + 24
}

func toValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func stringify(v any) string {
	if s, ok := v.(interface{ String() string }); ok {
		return s.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// renderTSV renders columns and rows as a tab-separated table, the compact
// text the model reads: no larger than the TSV of the same rows by
// construction. Tabs, newlines and backslashes inside values are escaped so
// that rows stay one line each; NULL is shown as NULL.
func renderTSV(b *strings.Builder, header []string, rows [][]any) {
	for i, h := range header {
		if i > 0 {
			b.WriteByte('\t')
		}
		writeEscaped(b, h)
	}
	b.WriteByte('\n')
	for _, row := range rows {
		for i, v := range row {
			if i > 0 {
				b.WriteByte('\t')
			}
			writeCell(b, v)
		}
		b.WriteByte('\n')
	}
}

func writeCell(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("NULL")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(string(x))
	case string:
		writeEscaped(b, x)
	case Binary:
		b.WriteString("base64:")
		b.WriteString(x.Base64)
	default:
		writeEscaped(b, stringify(v))
	}
}

func writeEscaped(b *strings.Builder, s string) {
	if !strings.ContainsAny(s, "\t\n\r\\") {
		b.WriteString(s)
		return
	}
	b.Write(appendTSVEscaped(make([]byte, 0, len(s)+8), s))
}

// appendCell appends one value to the current row of both forms of a
// result (see resultWriter) and returns the bytes it adds to the result,
// as encodeValue counts them. Values follow exactly the rules of
// encodeValue; the common forms (NULL, integers, valid UTF-8 text as
// string or []byte) take a path that does not box them, the rest go
// through encodeValue.
func (w *resultWriter) appendCell(v any, kind dialect.Kind, dbType string) int {
	switch x := v.(type) {
	case nil:
		w.json = append(w.json, "null"...)
		w.tsv = append(w.tsv, "NULL"...)
		return 4
	case int64:
		return w.appendInt(x)
	case int32:
		return w.appendInt(int64(x))
	case float64:
		// encodeFloat's json.Number, formatted in place.
		if !math.IsNaN(x) && !math.IsInf(x, 0) &&
			(kind != dialect.KindInteger || x != math.Trunc(x) || math.Abs(x) > maxSafeInt) {
			start := len(w.tsv)
			w.tsv = strconv.AppendFloat(w.tsv, x, 'g', -1, 64)
			digits := w.tsv[start:]
			w.json = append(w.json, digits...)
			return len(digits)
		}
	case string:
		if textKind(kind) && utf8.ValidString(x) {
			w.json = jsonstr.Append(w.json, x)
			w.tsv = appendTSVEscaped(w.tsv, x)
			return len(x) + 2
		}
	case []byte:
		if (textKind(kind) || (kind == dialect.KindUnknown && dbType != "")) && utf8.Valid(x) {
			w.json = jsonstr.Append(w.json, x)
			w.tsv = appendTSVEscaped(w.tsv, x)
			return len(x) + 2
		}
	}
	e, n := encodeValue(v, kind, dbType)
	w.appendEncoded(e)
	return n
}

// textKind: kinds whose valid UTF-8 text encodeText passes through as a
// string (encodeBytes maps timestamps and dates to text first).
func textKind(k dialect.Kind) bool {
	switch k {
	case dialect.KindText, dialect.KindDecimal, dialect.KindJSON, dialect.KindTimestamp, dialect.KindDate:
		return true
	}
	return false
}

func (w *resultWriter) appendInt(x int64) int {
	start := len(w.tsv)
	w.tsv = strconv.AppendInt(w.tsv, x, 10)
	digits := w.tsv[start:]
	if x > maxSafeInt || x < -maxSafeInt {
		w.json = append(w.json, '"')
		w.json = append(w.json, digits...)
		w.json = append(w.json, '"')
		return len(digits) + 2
	}
	w.json = append(w.json, digits...)
	return len(digits)
}

// appendEncoded appends a value encodeValue returned.
func (w *resultWriter) appendEncoded(v any) {
	switch x := v.(type) {
	case nil:
		w.json = append(w.json, "null"...)
		w.tsv = append(w.tsv, "NULL"...)
	case bool:
		w.json = strconv.AppendBool(w.json, x)
		w.tsv = strconv.AppendBool(w.tsv, x)
	case json.Number:
		w.json = append(w.json, x...)
		w.tsv = append(w.tsv, x...)
	case string:
		w.json = jsonstr.Append(w.json, x)
		w.tsv = appendTSVEscaped(w.tsv, x)
	case Binary:
		w.json = append(w.json, `{"type":`...)
		w.json = jsonstr.Append(w.json, x.Type)
		w.json = append(w.json, `,"base64":"`...)
		w.json = append(w.json, x.Base64...)
		w.json = append(w.json, `"}`...)
		w.tsv = append(w.tsv, "base64:"...)
		w.tsv = append(w.tsv, x.Base64...)
	default:
		// encodeValue returns only the forms above; should that change,
		// stay correct rather than fast.
		b, err := json.Marshal(x)
		if err != nil {
			b = []byte("null")
		}
		w.json = append(w.json, b...)
		w.tsv = appendTSVEscaped(w.tsv, stringify(x))
	}
}

// appendTSVEscaped is writeEscaped for a byte slice.
func appendTSVEscaped[S string | []byte](dst []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '\t':
			esc = `\t`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		case '\\':
			esc = `\\`
		default:
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, esc...)
		start = i + 1
	}
	return append(dst, s[start:]...)
}
