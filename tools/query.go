package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

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
	out := QueryOutput{Columns: make([]ResultColumn, len(cts)), Rows: [][]any{}}
	header := make([]string, len(cts))
	kinds := make([]kindOf, len(cts))
	for i, ct := range cts {
		out.Columns[i] = ResultColumn{Name: ct.Name(), Type: ct.DatabaseTypeName()}
		header[i] = ct.Name()
		kinds[i] = kindOf{kind: t.d.ValueKind(ct.DatabaseTypeName()), dbType: ct.DatabaseTypeName()}
	}
	scan := make([]any, len(cts))
	ptrs := make([]any, len(cts))
	for i := range scan {
		ptrs[i] = &scan[i]
	}
	bytes := 0
	for rows.Next() {
		if len(out.Rows) == limit {
			out.Truncated, out.TruncatedReason = true, "row_limit"
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return result{}, fmt.Errorf("read row: %w", err)
		}
		row := make([]any, len(scan))
		rowBytes := 2
		for i, v := range scan {
			var n int
			row[i], n = encodeValue(v, kinds[i].kind, kinds[i].dbType)
			rowBytes += n + 1
		}
		if bytes+rowBytes > t.opts.MaxResultBytes {
			out.Truncated, out.TruncatedReason = true, "byte_limit"
			break
		}
		bytes += rowBytes
		out.Rows = append(out.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return result{}, err
	}
	if err := rows.Close(); err != nil {
		return result{}, err
	}
	out.ElapsedMS = float64(time.Since(start).Microseconds()) / 1000
	out.RowCount = len(out.Rows)
	rec.Rows, rec.Truncated = out.RowCount, out.Truncated

	var b strings.Builder
	renderTSV(&b, header, out.Rows)
	if out.Truncated {
		b.WriteString(truncationNote(out.TruncatedReason, limit, t.opts.MaxRows, t.opts.MaxResultBytes))
	}
	return result{structured: out, text: b.String()}, nil
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
