package sqlkit

import (
	"context"
	"database/sql"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// Each runs query and calls scan once per row, in order. It returns the
// query's error, the first error scan returns (which stops it), or
// rows.Err, each as it is: the caller says what was being done. The rows
// are closed before Each returns, however it returns, so the caller may
// run its next query at once on a Queryer that holds one connection.
func Each(ctx context.Context, q dialect.Queryer, scan func(*sql.Rows) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	return EachRow(rows, scan)
}

// EachRow is Each for rows the caller opened itself, because the query's
// own error needs handling of its own (a fallback query, another
// message). It closes rows.
func EachRow(rows *sql.Rows, scan func(*sql.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Collect is Each keeping one value per row. Like an append loop, it
// gives a nil slice when there are no rows; it gives nil on error too.
func Collect[T any](ctx context.Context, q dialect.Queryer, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := Each(ctx, q, func(rows *sql.Rows) error {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Strings is Collect for a query of one text column.
func Strings(ctx context.Context, q dialect.Queryer, query string, args ...any) ([]string, error) {
	return Collect(ctx, q, func(rows *sql.Rows) (s string, err error) {
		err = rows.Scan(&s)
		return s, err
	}, query, args...)
}
