package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os/exec"
	"strings"
	"testing"
)

// TestStartupWarnsWhenPoolExceedsRoleLimit runs the built binary as a
// role whose connection limit is below the pool: start-up must say so,
// naming the numbers and the fix, instead of letting calls fail later
// with too_many_connections.
func TestStartupWarnsWhenPoolExceedsRoleLimit(t *testing.T) {
	for _, b := range memBackends(t) {
		if b.name == "sqlite" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			var rb [4]byte
			_, _ = rand.Read(rb[:])
			role := "sqlmcp_lim_" + hex.EncodeToString(rb[:])
			driver, adminDSN := "postgres", b.dsn
			create := []string{"CREATE ROLE " + role + " LOGIN CONNECTION LIMIT 3"}
			drop := "DROP ROLE IF EXISTS " + role
			if b.name == "mysql" {
				u, _ := url.Parse(b.dsn)
				driver, adminDSN = "mysql", u.User.Username()+"@tcp("+u.Host+")"+u.Path
				create = []string{"CREATE USER '" + role + "'@'%' WITH MAX_USER_CONNECTIONS 3",
					"GRANT SELECT ON *.* TO '" + role + "'@'%'"}
				drop = "DROP USER IF EXISTS '" + role + "'@'%'"
			}
			admin, err := sql.Open(driver, adminDSN)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			for _, q := range create {
				if _, err := admin.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			t.Cleanup(func() { admin.Exec(drop) })

			u, _ := url.Parse(b.dsn)
			u.User = url.User(role)
			cmd := exec.Command(builtBinary(t), "--dsn", u.String(), "--max-open-conns", "10")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			// stdin is empty: the server starts, reads EOF and exits.
			if err := cmd.Run(); err != nil {
				t.Fatalf("exit: %v\n%s", err, stderr.String())
			}
			log := stderr.String()
			if !strings.Contains(log, "may open more connections than the database allows the role") ||
				!strings.Contains(log, "limit=3") || !strings.Contains(log, "connections=12") {
				t.Errorf("no start-up warning naming the pool (12) and the role's limit (3):\n%s", log)
			}
		})
	}
}
