// Package demo carries the Chinook sample database inside the binary, so
// `sqlmcp --demo` works with nothing but the executable: a music store's
// artists, albums, tracks, customers and invoices on SQLite, with the same
// table and column names the integration suite uses on every backend.
//
// It only hands out a file. Opening it (read-only, like any SQLite DSN) is
// the caller's job; it knows nothing about drivers or MCP.
package demo

import (
	_ "embed"
	"fmt"
	"os"
)

//go:generate go run gen/main.go

// chinook.db is generated from testdata/chinook/Chinook_Sqlite.sql by
// gen/main.go and committed, so building needs neither the script nor cgo.
// Chinook is MIT-licensed: see LICENSE-chinook.md.
//
//go:embed chinook.db
var chinook []byte

// WriteTemp writes the demo database to a new read-only file in the
// system's temporary directory. SQLite needs a real file to open; cleanup
// removes it.
func WriteTemp() (path string, cleanup func(), err error) {
	f, err := os.CreateTemp("", "sqlmcp-demo-*.db")
	if err != nil {
		return "", nil, fmt.Errorf("write demo database: %w", err)
	}
	path = f.Name()
	cleanup = func() { os.Remove(path) }
	_, err = f.Write(chinook)
	if err == nil {
		// Read-only on disk too: the demo must not become writable just
		// because someone opens the file with another tool.
		err = f.Chmod(0o400)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("write demo database: %w", err)
	}
	return path, cleanup, nil
}
