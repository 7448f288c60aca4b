package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"runtime"
	"sync"

	"github.com/sqlmcp/sqlmcp/dialect"
	sqlitedrv "modernc.org/sqlite"
)

// A SQLite connection keeps the file it opened: replace the database file
// (a new copy moved over it, a restore) or delete it, and a pooled
// connection goes on serving the old inode, for as long as the pool keeps
// it. sqlmcp records which file each connection opened and, at every
// Begin, compares it with what the path names now: one stat per call.

// sqliteDriver is a modernc driver of sqlmcp's own, with nothing
// registered on it: what sqlmcp installs on a connection (sqlite_funcs.go)
// it installs in Connect, on its pools only.
var sqliteDriver = &sqlitedrv.Driver{}

// openSQLite opens t, recording the file each connection opened and
// installing the linear-time string functions on it.
func openSQLite(t dialect.Target) *sql.DB {
	return sql.OpenDB(sqliteConnector{d: sqliteDriver, dsn: t.DriverDSN, path: t.Path})
}

type sqliteConnector struct {
	d    *sqlitedrv.Driver
	dsn  string
	path string
}

// Connect stats the path before opening it: should the file be replaced in
// between, the connection is then seen as stale at its first Begin and
// reopened, rather than trusted with the wrong identity.
func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) {
	fi, err := os.Stat(c.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open SQLite database %s: the file does not exist (deleted or moved?)", c.path)
		}
		return nil, fmt.Errorf("open SQLite database: %w", err)
	}
	conn, err := c.d.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	if err := installSQLiteFunctions(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("open SQLite database: %w", err)
	}
	rememberSQLiteFile(conn, sqliteFile{path: c.path, info: fi})
	return conn, nil
}

func (c sqliteConnector) Driver() driver.Driver { return c.d }

// sqliteFile is the file a connection opened.
type sqliteFile struct {
	path string
	info fs.FileInfo
}

// sqliteFiles maps a driver connection's address to its *sqliteFile. The
// address does not keep the connection alive; a cleanup removes the entry
// once the connection is garbage, and removes only its own entry should the
// address have been reused by then.
var sqliteFiles sync.Map

func connKey(dc any) uintptr { return reflect.ValueOf(dc).Pointer() }

func rememberSQLiteFile(dc driver.Conn, f sqliteFile) {
	key := connKey(dc)
	v := &f
	sqliteFiles.Store(key, v)
	runtime.AddCleanup((*byte)(reflect.ValueOf(dc).UnsafePointer()), func(k uintptr) {
		sqliteFiles.CompareAndDelete(k, v)
	}, key)
}

// checkSQLiteFile reports, wrapping ErrConnectionStale, a connection whose
// file was replaced or deleted since it opened it. Connections not opened by
// openSQLite (tests opening the driver directly) are not checked.
func checkSQLiteFile(dc any) error {
	v, ok := sqliteFiles.Load(connKey(dc))
	if !ok {
		return nil
	}
	f := v.(*sqliteFile)
	now, err := os.Stat(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the SQLite database file %s was deleted or moved while sqlmcp had it open: %w", f.path, dialect.ErrConnectionStale)
	case err != nil:
		return fmt.Errorf("check the SQLite database file: %w", err)
	case !os.SameFile(f.info, now):
		return fmt.Errorf("the SQLite database file %s was replaced since this connection opened it: %w", f.path, dialect.ErrConnectionStale)
	}
	return nil
}
