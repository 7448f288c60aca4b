package tools

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/tools/internal/jsonstr"
	"github.com/sqlmcp/sqlmcp/tools/internal/memory"
)

// resultWriter writes a query result in its two forms at once — the
// structured result (QueryOutput, as JSON in its field order) and the TSV
// text the model reads — and keeps the result within the byte cap: header
// once, row for each row while it returns true, finish once.
//
// Both forms are appended to buffers with strconv, never built as a
// [][]any that the SDK would marshal by reflection; values follow exactly
// the rules of encodeValue (see appendCell). The cap holds for the larger
// of the two forms as they go on the wire: the rows' JSON, and the text as
// a JSON string.
type resultWriter struct {
	json []byte
	tsv  []byte

	kinds    []kindOf
	limit    int // rows asked for
	maxRows  int // the server's largest limit
	maxBytes int // the byte cap
	rows     int // rows written
	bytes    int // what they cost against maxBytes
}

func newResultWriter(limit, maxRows, maxBytes int) *resultWriter {
	return &resultWriter{json: make([]byte, 0, 4096), tsv: make([]byte, 0, 4096),
		limit: limit, maxRows: maxRows, maxBytes: maxBytes}
}

// header writes the columns; valueKind tells how the values of a database
// type are encoded (the dialect's ValueKind).
func (w *resultWriter) header(cols []ResultColumn, valueKind func(dbType string) dialect.Kind) {
	w.json = append(w.json, `{"columns":[`...)
	w.kinds = make([]kindOf, len(cols))
	for i, c := range cols {
		if i > 0 {
			w.json = append(w.json, ',')
			w.tsv = append(w.tsv, '\t')
		}
		w.json = append(w.json, `{"name":`...)
		w.json = jsonstr.Append(w.json, c.Name)
		w.json = append(w.json, `,"type":`...)
		w.json = jsonstr.Append(w.json, c.Type)
		w.json = append(w.json, '}')
		w.tsv = appendTSVEscaped(w.tsv, c.Name)
		w.kinds[i] = kindOf{kind: valueKind(c.Type), dbType: c.Type}
	}
	w.json = append(w.json, `],"rows":[`...)
	w.tsv = append(w.tsv, '\n')
}

// full reports whether the rows asked for are written.
func (w *resultWriter) full() bool { return w.rows == w.limit }

// row writes one row, cells in column order, unless it would take the
// result past the byte cap: then it writes nothing and returns false.
func (w *resultWriter) row(cells []rawCell) bool {
	// Neither encoding of a value is smaller than the value: a row whose
	// raw size alone passes what is left of the cap is refused before it
	// costs an encoding.
	raw := 2
	for i := range cells {
		raw += cells[i].size(w.kinds[i].kind) + 1
	}
	if w.bytes+raw > w.maxBytes {
		return false
	}
	memory.NoteRead(raw, w.maxBytes)
	jsonMark, tsvMark := len(w.json), len(w.tsv)
	if w.rows > 0 {
		w.json = append(w.json, ',')
	}
	w.json = append(w.json, '[')
	for i := range cells {
		if i > 0 {
			w.json = append(w.json, ',')
			w.tsv = append(w.tsv, '\t')
		}
		w.appendCell(cells[i].v, w.kinds[i].kind, w.kinds[i].dbType)
	}
	w.json = append(w.json, ']')
	w.tsv = append(w.tsv, '\n')
	rowBytes := max(len(w.json)-jsonMark, jsonstr.Len(w.tsv[tsvMark:])-2)
	if w.bytes+rowBytes > w.maxBytes {
		w.json, w.tsv = w.json[:jsonMark], w.tsv[:tsvMark]
		return false
	}
	w.bytes += rowBytes
	w.rows++
	if w.rows == 1 && w.limit > 1 {
		// Size the buffers for the page from its first row, up to the
		// cap (and room for the trailer): neither form grows past it,
		// so neither is copied to grow.
		w.json = slices.Grow(w.json, min((len(w.json)-jsonMark)*(w.limit-1), w.maxBytes-w.bytes)+512)
		w.tsv = slices.Grow(w.tsv, min((len(w.tsv)-tsvMark)*(w.limit-1), w.maxBytes-w.bytes)+512)
	}
	return true
}

// finish writes the trailer and returns the result. reason is why rows
// were left out ("row_limit" or "byte_limit"), empty when none were.
// elapsed is the time spent in the database. The writer is done with:
// the text shares its buffer.
func (w *resultWriter) finish(reason string, elapsed time.Duration) result {
	truncated := reason != ""
	w.json = append(w.json, `],"row_count":`...)
	w.json = strconv.AppendInt(w.json, int64(w.rows), 10)
	w.json = append(w.json, `,"truncated":`...)
	w.json = strconv.AppendBool(w.json, truncated)
	if truncated {
		w.json = append(w.json, `,"truncated_reason":`...)
		w.json = jsonstr.Append(w.json, reason)
		w.tsv = append(w.tsv, truncationNote(reason, w.limit, w.maxRows, w.maxBytes)...)
	}
	w.json = append(w.json, `,"elapsed_ms":`...)
	w.json = strconv.AppendFloat(w.json, float64(elapsed.Microseconds())/1000, 'f', -1, 64)
	w.json = append(w.json, '}')
	memory.ReleaseSoon(len(w.json) + len(w.tsv))
	// The text shares the buffer (never written again) rather than
	// copying what may be most of the cap.
	return result{structured: json.RawMessage(w.json), text: unsafe.String(unsafe.SliceData(w.tsv), len(w.tsv))}
}

// rawCell receives a value as the driver returned it (database/sql passes
// it to Scan without a copy): valid until the next Next.
type rawCell struct{ v any }

func (c *rawCell) Scan(src any) error {
	c.v = src
	return nil
}

// scanTargets returns n cells and the Scan destinations that fill them:
// values are scanned as the driver hands them over, without the copy Scan
// makes of a []byte for a *any, and are encoded before the next row
// replaces them.
func scanTargets(n int) ([]rawCell, []any) {
	cells := make([]rawCell, n)
	dest := make([]any, n)
	for i := range cells {
		dest[i] = &cells[i]
	}
	return cells, dest
}

// size is a lower bound of the bytes either encoding of the value takes
// in a column of this kind: text and binary values are at least as long
// as they are, while numbers and booleans written as text may be
// reformatted shorter (1.50 is 1.5).
func (c *rawCell) size(kind dialect.Kind) int {
	n := 1
	switch x := c.v.(type) {
	case nil:
		return 4
	case string:
		n = len(x)
	case []byte:
		n = len(x)
	}
	switch kind {
	case dialect.KindInteger, dialect.KindFloat, dialect.KindBool:
		return 1
	}
	return max(n, 1)
}

type kindOf struct {
	kind   dialect.Kind
	dbType string
}
