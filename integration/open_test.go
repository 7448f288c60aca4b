package integration_test

// This file is the suite's only contact with package dialect (and
// dialect/policy): how sqlmcp parses a DSN, opens its pool, and the few
// optional abilities the suite calls directly. When that API changes, this
// is the one place to adapt; everything else reaches the database through
// the tools, or through plain database/sql on an admin pool.

import (
	"context"
	"database/sql"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/all" // every backend the suite runs
	"github.com/sqlmcp/sqlmcp/tools"
)

// sqlmcpDialect is what tools.New takes beside the pool.
type sqlmcpDialect = dialect.Backend

// openSQLMCP opens rawURL as cmd/sqlmcp does: sqlmcp's own DSN parsing and
// driver options, with the guard against oversized rows when guarded (the
// query pool) and without it otherwise (the control pool). The caller
// sizes and closes the pool.
func openSQLMCP(rawURL string, guarded bool) (*sql.DB, sqlmcpDialect, error) {
	tg, err := dialect.ParseDSN(rawURL)
	if err != nil {
		return nil, nil, err
	}
	var opts dialect.OpenOptions
	if guarded {
		opts.MaxMessageBytes = dialect.MessageLimit(1 << 20)
	}
	db, err := tg.Backend.Open(tg, opts)
	if err != nil {
		return nil, nil, err
	}
	return db, tg.Backend, nil
}

// openAdmin opens rawURL with the backend's driver and none of sqlmcp's
// session layers (no read-only transaction, no policy):
// the writable connection that sets fixtures up and watches the server.
// redacted is the DSN fit for a message.
func openAdmin(rawURL string) (db *sql.DB, redacted string, err error) {
	tg, err := dialect.ParseDSN(rawURL)
	if err != nil {
		return nil, "", err
	}
	db, err = tg.Backend.Open(tg, dialect.OpenOptions{})
	return db, tg.Redacted, err
}

// privilegeFindings runs the start-up privilege check; ok is false when
// the backend has none.
func privilegeFindings(ctx context.Context, d sqlmcpDialect, db *sql.DB) (findings []string, ok bool, err error) {
	pc, ok := d.(dialect.PrivilegeChecker)
	if !ok {
		return nil, false, nil
	}
	findings, err = pc.Privileges(ctx, db)
	return findings, true, err
}

// connectionLimit reads the role's connection limit as start-up does.
func connectionLimit(ctx context.Context, d sqlmcpDialect, db *sql.DB) (limit int, source string, err error) {
	return d.(dialect.ConnectionLimiter).ConnectionLimit(ctx, db)
}

// readinessPing is the /readyz ping.
func readinessPing(ctx context.Context, db *sql.DB) error { return dialect.Ping(ctx, db) }

// acceptedByPolicy reports whether the read-only policy accepts text.
func acceptedByPolicy(d sqlmcpDialect, text string) bool {
	_, err := d.CheckReadOnly(text)
	return err == nil
}

// belowPolicy is what the database made of a statement run below the
// policy: err is nil when it ran; denied, code and message are the
// dialect's classification of err when classified.
type belowPolicy struct {
	err        error
	classified bool
	denied     bool
	code, msg  string
}

// runBelowPolicy runs a statement the policy accepted through the
// dialect's session on a connection of b's pool, as the query tool does,
// and reads its rows.
func runBelowPolicy(ctx context.Context, b *backend, text string) belowPolicy {
	st, err := b.d.CheckReadOnly(text)
	if err != nil {
		return belowPolicy{err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return belowPolicy{err: err}
	}
	defer conn.Close()
	sess, err := b.d.Begin(ctx, conn, dialect.SessionOptions{Timeout: 2 * time.Second, MaxRows: 5})
	if err != nil {
		return belowPolicy{err: err}
	}
	defer sess.Close()
	rows, err := sess.Query(ctx, st)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err == nil {
		return belowPolicy{}
	}
	dbe, ok := b.d.ClassifyError(err)
	return belowPolicy{err: err, classified: ok, denied: dbe.Denied, code: dbe.Code, msg: dbe.Message}
}

// catalogUnderRowCap lists the tables of schema and describes
// schema.table straight through the dialect, in a session whose row cap
// (3) is smaller than the catalog. The tools never introspect under a
// cap; this checks that a cap could not leak into introspection, which
// would show as fewer tables or columns than the tools report.
func catalogUnderRowCap(ctx context.Context, b *backend, schema, table string) (tables []tools.TableEntry, columns, foreignKeys, indexes int, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	defer conn.Close()
	sess, err := b.d.Begin(ctx, conn, dialect.SessionOptions{Timeout: 30 * time.Second, MaxRows: 3})
	if err != nil {
		return nil, 0, 0, 0, err
	}
	defer sess.Close()
	ts, err := b.d.ListTables(ctx, sess, schema)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	for _, t := range ts {
		tables = append(tables, tools.TableEntry{Schema: t.Schema, Name: t.Name, Kind: t.Kind, Rows: t.Rows, RowsExact: t.RowsExact, Comment: t.Comment})
	}
	info, err := b.d.DescribeTable(ctx, sess, dialect.TableRef{Schema: schema, Name: table})
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return tables, len(info.Columns), len(info.ForeignKeys), len(info.Indexes), sess.Close()
}
