//go:build ignore

// Command gen rebuilds chinook.db, the demo database embedded by package
// demo, from testdata/chinook/Chinook_Sqlite.sql via fixture.LoadChinook.
// Run it with `go generate ./cmd/sqlmcp/demo`.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/integration/fixture"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	root, err := moduleRoot()
	if err != nil {
		log.Fatal(err)
	}
	out := filepath.Join(root, "cmd", "sqlmcp", "demo", "chinook.db")
	if err := generate(out); err != nil {
		log.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s (%d bytes)", out, fi.Size())
}

// generate builds the database beside out and renames it into place, so a
// failed run leaves the committed file alone.
func generate(out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmp := out + ".tmp"
	os.Remove(tmp)
	defer os.Remove(tmp)

	db, err := sql.Open("sqlite", "file:"+tmp+"?_pragma=foreign_keys(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	if err := fixture.LoadChinook(ctx, "sqlite", db); err != nil {
		return err
	}
	// No ANALYZE: its sqlite_stat1 table would show up among the demo's
	// tables.
	if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	if err := db.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
