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
		var s string
		if kind == dialect.KindDate {
			s = x.Format(time.DateOnly)
		} else {
			s = x.Format(time.RFC3339Nano)
		}
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
	case dialect.KindTimestamp, dialect.KindDate:
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
	case *int64:
		if x == nil {
			b.WriteString("NULL")
		} else {
			b.WriteString(strconv.FormatInt(*x, 10))
		}
	default:
		writeEscaped(b, stringify(v))
	}
}

func writeEscaped(b *strings.Builder, s string) {
	if !strings.ContainsAny(s, "\t\n\r\\") {
		b.WriteString(s)
		return
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteByte(c)
		}
	}
}
