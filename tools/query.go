package tools

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/tools/internal/memory"
)

// QueryInput is the query tool's arguments.
type QueryInput struct {
	// Database is described per server: see databaseArg.
	Database string `json:"database,omitempty"`
	SQL      string `json:"sql"` // described per backend: see queryTool
	Limit    *int   `json:"limit,omitempty" jsonschema:"the most rows to return"`
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

func (t *Tools) queryTool(dbs []*database) *mcp.Tool {
	in := schemaFor[QueryInput]()
	databaseArg(in, dbs)
	statements := statementsOf(dbs)
	in.Properties["sql"].Description = "one read-only SQL statement"
	maxRows, same := 1, true
	for _, db := range dbs {
		maxRows = max(maxRows, db.MaxRows)
		same = same && db.MaxRows == dbs[0].MaxRows
	}
	lim := in.Properties["limit"]
	lim.Type = "integer"
	lim.Types = nil
	lim.AnyOf = nil // not null either
	lim.Minimum = ptr(1.0)
	lim.Maximum = ptr(float64(maxRows))
	if same {
		lim.Default = json.RawMessage(fmt.Sprint(maxRows))
		lim.Description = fmt.Sprintf("rows to return, 1-%d; truncated says if more existed", maxRows)
	} else {
		lim.Description = fmt.Sprintf("the most rows to return, 1 to the database's cap (%s; the default is the cap); "+
			"truncated tells whether more existed", rowCaps(dbs))
	}
	in.AdditionalProperties = falseSchema()
	return &mcp.Tool{
		Name: "query",
		Description: "Run one read-only SQL statement: " + statements + ". Writes, DDL, SET, locking and " +
			"side-effecting functions are refused. Rows are capped by limit; use ORDER BY.",
		InputSchema:  in,
		OutputSchema: schemaFor[QueryOutput](),
		Annotations:  readOnlyAnnotations("Run a read-only SQL query"),
	}
}

// statements names the statements the query tool admits, as the policy's
// refusals name them (the backend's Traits.Statements, which is its policy
// flavor's Statements()): the tool's description, its input schema's sql
// argument and the server instructions all say it from here, so that no
// client is told of a statement its backend refuses.
func (db *database) statements() string { return db.Backend.Traits().Statements }

const queryArgs = `sql (string, required), limit (integer)`

func (t *Tools) query(ctx context.Context, db *database, raw json.RawMessage, rec *Record) (result, error) {
	var in QueryInput
	if err := decodeArgs(raw, &in, queryArgs+t.argNote()); err != nil {
		return result{}, err
	}
	rec.SQL = in.SQL
	if strings.TrimSpace(in.SQL) == "" {
		return result{}, validationf("argument sql is required: one read-only statement such as SELECT * FROM some_table")
	}
	limit := db.MaxRows
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > db.MaxRows {
			return result{}, validationf("limit must be between 1 and %d (got %d); page with WHERE/ORDER BY for more", db.MaxRows, *in.Limit)
		}
		limit = *in.Limit
	}
	st, err := db.Backend.CheckReadOnly(in.SQL)
	if err != nil {
		return result{}, err
	}
	if err := db.admit(); err != nil {
		return result{}, err
	}

	ctx, cancel := db.callContext(ctx)
	defer cancel()
	start := time.Now()
	sess, release, err := db.session(ctx, limit)
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
	cols := make([]ResultColumn, len(cts))
	for i, ct := range cts {
		cols[i] = ResultColumn{Name: ct.Name(), Type: ct.DatabaseTypeName()}
	}
	w := newResultWriter(limit, db.MaxRows, db.MaxResultBytes)
	w.header(cols, db.Backend.ValueKind)
	cells, dest := scanTargets(len(cols))
	var reason string // why rows were left out
	for rows.Next() {
		if w.full() {
			reason = "row_limit"
			break
		}
		if err := rows.Scan(dest...); err != nil {
			return result{}, fmt.Errorf("read row: %w", err)
		}
		if !w.row(cells) {
			reason = "byte_limit"
			break
		}
	}
	if err := rows.Err(); err != nil {
		return result{}, err
	}
	if err := db.closeRows(sess, rows, reason != "", w.rows, limit, cells, dest); err != nil {
		return result{}, err
	}
	rec.Rows, rec.Truncated = w.rows, reason != ""
	return w.finish(reason, time.Since(start)), nil
}

// closeRows closes the rows of a result whose first n rows were read. Of a
// truncated result, the rows the session asked the database for past
// those are not read by Close where that can be avoided.
func (db *database) closeRows(sess dialect.Session, rows *sql.Rows, truncated bool, n, limit int, cells []rawCell, dest []any) error {
	abandoned := false
	if truncated && rows.Next() {
		// Rows beyond what the session asked the database for: it is not
		// bounding this result (a LIMIT in the statement overrides MySQL's
		// sql_select_limit), and closing would read all of it.
		if a, ok := sess.(dialect.Abandoner); ok {
			a.Abandon()
			abandoned = true
		} else if _, early := sess.(dialect.EarlyCloser); !early && db.MaxResultBytes >= memory.CollectFrom {
			// Closing reads the rest of the page (lib/pq), in rows
			// as large as the ones that passed the cap: read it here,
			// up to the page, so that its garbage is collected as it
			// goes rather than piling up to many times the cap.
			for n++; n <= limit; n++ {
				if err := rows.Scan(dest...); err != nil {
					break
				}
				raw := 0
				for i := range cells {
					raw += cells[i].size(dialect.KindUnknown)
				}
				memory.NoteRead(raw, db.MaxResultBytes)
				if !rows.Next() {
					break
				}
			}
		}
	}
	if err := rows.Close(); err != nil && !abandoned {
		return err
	}
	return nil
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
