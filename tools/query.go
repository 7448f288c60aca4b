package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// QueryInput is the query tool's arguments.
type QueryInput struct {
	SQL   string `json:"sql" jsonschema:"one read-only SQL statement: SELECT, WITH … SELECT, VALUES, TABLE or EXPLAIN (without ANALYZE)"`
	Limit *int   `json:"limit,omitempty" jsonschema:"the most rows to return"`
}

// QueryOutput is the query tool's structured result.
type QueryOutput struct {
	Columns []ResultColumn `json:"columns" jsonschema:"the result columns in order, with their database types"`
	// Rows are arrays in column order. Values are JSON-safe and exact:
	// NULL is null, integers beyond ±2^53 and decimals are strings,
	// timestamps RFC 3339 strings, binary {type, base64}.
	Rows      [][]any `json:"rows" jsonschema:"the rows, each an array of values in column order"`
	RowCount  int     `json:"row_count" jsonschema:"the number of rows returned"`
	Truncated bool    `json:"truncated" jsonschema:"true when more rows existed than were returned"`
	// TruncatedReason is "row_limit" or "byte_limit" when Truncated.
	TruncatedReason string  `json:"truncated_reason,omitempty" jsonschema:"why the result was cut: row_limit or byte_limit"`
	ElapsedMS       float64 `json:"elapsed_ms" jsonschema:"time spent in the database, in milliseconds"`
}

// ResultColumn is one column of a query result.
type ResultColumn struct {
	Name string `json:"name"`
	Type string `json:"type" jsonschema:"the database type name, empty when the database does not report one"`
}

func (t *Tools) queryTool() *mcp.Tool {
	in := schemaFor[QueryInput]()
	lim := in.Properties["limit"]
	lim.Type = "integer"
	lim.Types = nil
	lim.AnyOf = nil // not null either
	lim.Minimum = ptr(1.0)
	lim.Maximum = ptr(float64(t.opts.MaxRows))
	lim.Default = json.RawMessage(fmt.Sprint(t.opts.MaxRows))
	lim.Description = fmt.Sprintf("the most rows to return, 1 to %d (default %d); truncated tells whether more existed", t.opts.MaxRows, t.opts.MaxRows)
	in.AdditionalProperties = falseSchema()
	return &mcp.Tool{
		Name: "query",
		Description: "Run one read-only SQL statement (SELECT, WITH … SELECT, VALUES, TABLE, EXPLAIN without ANALYZE" +
			t.showClause() + ") and return its rows. Writes, DDL, SET, transaction control, SELECT … INTO, locking clauses " +
			"and side-effecting functions are refused. Rows are capped by limit; write ORDER BY for a stable order.",
		InputSchema:  in,
		OutputSchema: schemaFor[QueryOutput](),
		Annotations:  readOnlyAnnotations("Run a read-only SQL query"),
	}
}

func (t *Tools) showClause() string {
	if t.backend == "mysql" {
		return ", SHOW, DESCRIBE"
	}
	return ""
}

const queryArgs = `sql (string, required), limit (integer)`

func (t *Tools) query(ctx context.Context, raw json.RawMessage, rec *Record) (result, error) {
	var in QueryInput
	if err := decodeArgs(raw, &in, queryArgs); err != nil {
		return result{}, err
	}
	rec.SQL = in.SQL
	if strings.TrimSpace(in.SQL) == "" {
		return result{}, validationf("argument sql is required: one read-only statement such as SELECT * FROM some_table")
	}
	limit := t.opts.MaxRows
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > t.opts.MaxRows {
			return result{}, validationf("limit must be between 1 and %d (got %d); page with WHERE/ORDER BY for more", t.opts.MaxRows, *in.Limit)
		}
		limit = *in.Limit
	}
	st, err := t.d.CheckReadOnly(in.SQL)
	if err != nil {
		return result{}, err
	}
	if err := t.admit(); err != nil {
		return result{}, err
	}

	ctx, cancel := t.callContext(ctx)
	defer cancel()
	start := time.Now()
	sess, release, err := t.session(ctx, limit)
	if err != nil {
		return result{}, err
	}
	defer release()
	rows, err := sess.Query(ctx, st)
	if err != nil {
		return result{}, err
	}
	defer rows.Close()

	cts, err := rows.ColumnTypes()
	if err != nil {
		return result{}, fmt.Errorf("read result columns: %w", err)
	}
	// The structured result is QueryOutput, written directly as JSON (in
	// its field order) beside the TSV text: see rowWriter.
	w := rowWriter{json: make([]byte, 0, 4096), tsv: make([]byte, 0, 4096)}
	w.json = append(w.json, `{"columns":[`...)
	kinds := make([]kindOf, len(cts))
	for i, ct := range cts {
		if i > 0 {
			w.json = append(w.json, ',')
			w.tsv = append(w.tsv, '\t')
		}
		w.json = append(w.json, `{"name":`...)
		w.json = appendJSONString(w.json, ct.Name())
		w.json = append(w.json, `,"type":`...)
		w.json = appendJSONString(w.json, ct.DatabaseTypeName())
		w.json = append(w.json, '}')
		w.tsv = appendTSVEscaped(w.tsv, ct.Name())
		kinds[i] = kindOf{kind: t.d.ValueKind(ct.DatabaseTypeName()), dbType: ct.DatabaseTypeName()}
	}
	w.json = append(w.json, `],"rows":[`...)
	w.tsv = append(w.tsv, '\n')
	// Values are scanned as the driver hands them over, without the copy
	// Scan makes of a []byte for a *any: they are encoded before the
	// next row replaces them.
	cells := make([]rawCell, len(cts))
	ptrs := make([]any, len(cts))
	for i := range cells {
		ptrs[i] = &cells[i]
	}
	var rowCount int
	var truncated bool
	var reason string
	bytes := 0
	maxBytes := t.opts.MaxResultBytes
	for rows.Next() {
		if rowCount == limit {
			truncated, reason = true, "row_limit"
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return result{}, fmt.Errorf("read row: %w", err)
		}
		// Neither encoding of a value is smaller than the value: a row
		// whose raw size alone passes what is left of the cap is
		// refused before it costs an encoding.
		raw := 2
		for i := range cells {
			raw += cells[i].size(kinds[i].kind) + 1
		}
		if bytes+raw > maxBytes {
			truncated, reason = true, "byte_limit"
			break
		}
		noteRead(raw, maxBytes)
		jsonMark, tsvMark := len(w.json), len(w.tsv)
		if rowCount > 0 {
			w.json = append(w.json, ',')
		}
		w.json = append(w.json, '[')
		for i := range cells {
			if i > 0 {
				w.json = append(w.json, ',')
				w.tsv = append(w.tsv, '\t')
			}
			w.appendCell(cells[i].v, kinds[i].kind, kinds[i].dbType)
		}
		w.json = append(w.json, ']')
		w.tsv = append(w.tsv, '\n')
		// The cap holds for the larger of the two forms as they go on
		// the wire: the rows' JSON, and the text as a JSON string.
		rowBytes := max(len(w.json)-jsonMark, jsonStringLen(w.tsv[tsvMark:])-2)
		if bytes+rowBytes > maxBytes {
			w.json, w.tsv = w.json[:jsonMark], w.tsv[:tsvMark]
			truncated, reason = true, "byte_limit"
			break
		}
		bytes += rowBytes
		rowCount++
		if rowCount == 1 && limit > 1 {
			// Size the buffers for the page from its first row, up to
			// the cap (and room for the trailer): neither form grows
			// past it, so neither is copied to grow.
			w.json = slices.Grow(w.json, min((len(w.json)-jsonMark)*(limit-1), maxBytes-bytes)+512)
			w.tsv = slices.Grow(w.tsv, min((len(w.tsv)-tsvMark)*(limit-1), maxBytes-bytes)+512)
		}
	}
	if err := rows.Err(); err != nil {
		return result{}, err
	}
	abandoned := false
	if truncated && rows.Next() {
		// Rows beyond what the session asked the database for: it is not
		// bounding this result (a LIMIT in the statement overrides MySQL's
		// sql_select_limit), and closing would read all of it.
		if a, ok := sess.(dialect.Abandoner); ok {
			a.Abandon()
			abandoned = true
		} else if _, early := sess.(dialect.EarlyCloser); !early && maxBytes >= collectFrom {
			// Closing reads the rest of the page (lib/pq), in rows
			// as large as the ones that passed the cap: read it here,
			// up to the page, so that its garbage is collected as it
			// goes rather than piling up to many times the cap.
			for n := rowCount + 1; n <= limit; n++ {
				if err := rows.Scan(ptrs...); err != nil {
					break
				}
				raw := 0
				for i := range cells {
					raw += cells[i].size(dialect.KindUnknown)
				}
				noteRead(raw, maxBytes)
				if !rows.Next() {
					break
				}
			}
		}
	}
	if err := rows.Close(); err != nil && !abandoned {
		return result{}, err
	}
	elapsed := float64(time.Since(start).Microseconds()) / 1000
	rec.Rows, rec.Truncated = rowCount, truncated

	w.json = append(w.json, `],"row_count":`...)
	w.json = strconv.AppendInt(w.json, int64(rowCount), 10)
	w.json = append(w.json, `,"truncated":`...)
	w.json = strconv.AppendBool(w.json, truncated)
	if truncated {
		w.json = append(w.json, `,"truncated_reason":`...)
		w.json = appendJSONString(w.json, reason)
		w.tsv = append(w.tsv, truncationNote(reason, limit, t.opts.MaxRows, t.opts.MaxResultBytes)...)
	}
	w.json = append(w.json, `,"elapsed_ms":`...)
	w.json = strconv.AppendFloat(w.json, elapsed, 'f', -1, 64)
	w.json = append(w.json, '}')
	releaseMemorySoon(len(w.json) + len(w.tsv))
	// The text shares the buffer (never written again) rather than
	// copying what may be most of the cap.
	return result{structured: json.RawMessage(w.json), text: unsafe.String(unsafe.SliceData(w.tsv), len(w.tsv))}, nil
}

// rawCell receives a value as the driver returned it (database/sql passes
// it to Scan without a copy): valid until the next Next.
type rawCell struct{ v any }

func (c *rawCell) Scan(src any) error {
	c.v = src
	return nil
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

func truncationNote(reason string, limit, maxRows, maxBytes int) string {
	if reason == "byte_limit" {
		return fmt.Sprintf("-- truncated: the result passed the %d-byte cap; select fewer or narrower columns\n", maxBytes)
	}
	if limit < maxRows {
		return fmt.Sprintf("-- truncated: more rows exist beyond limit %d (max %d); narrow with WHERE or raise limit\n", limit, maxRows)
	}
	return fmt.Sprintf("-- truncated: more rows exist beyond %d; narrow with WHERE, aggregate, or page with ORDER BY\n", limit)
}
