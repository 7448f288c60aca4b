package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// TestGrantsScriptMakesLeastPrivilegeStart: on PostgreSQL and MariaDB,
// the script `sqlmcp grants` prints, applied to a fresh role, lets sqlmcp
// start as that role with --require-least-privilege; a role with broader
// grants (it can read the denied table and column) is refused.
func TestGrantsScriptMakesLeastPrivilegeStart(t *testing.T) {
	var b [4]byte
	rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	for _, tc := range []struct {
		name string
		// driver and admin DSN to set up with; the sqlmcp DSN of the
		// admin and of a role.
		driver, admin string
		sqlmcpAdmin   string
		roleDSN       func(role string) string
		setup         []string
		grantWide     func(role string) []string
		createRole    func(role string) string
		teardown      []string
		dropRole      func(role string) string
		policy        string
	}{
		{
			name:        "postgres",
			driver:      "postgres",
			admin:       pgDSN,
			sqlmcpAdmin: pgDSN,
			roleDSN: func(role string) string {
				return "postgres://" + role + "@127.0.0.1:5432/test?sslmode=disable"
			},
			setup: []string{
				"CREATE SCHEMA g_" + suffix,
				"CREATE TABLE g_" + suffix + ".shop (id int PRIMARY KEY, name text)",
				"CREATE TABLE g_" + suffix + ".secret (id int PRIMARY KEY, v text)",
				"CREATE TABLE g_" + suffix + ".customer (id int PRIMARY KEY, name text, email text)",
			},
			createRole: func(role string) string { return "CREATE ROLE " + role + " LOGIN" },
			grantWide: func(role string) []string {
				return []string{"GRANT USAGE ON SCHEMA g_" + suffix + " TO " + role, "GRANT SELECT ON ALL TABLES IN SCHEMA g_" + suffix + " TO " + role}
			},
			teardown: []string{"DROP SCHEMA g_" + suffix + " CASCADE"},
			dropRole: func(role string) string {
				return "DROP OWNED BY " + role + "; DROP ROLE " + role
			},
			policy: `schemas = ["g_` + suffix + `"]`,
		},
		{
			name:        "mariadb",
			driver:      "mysql",
			admin:       "root@tcp(127.0.0.1:3306)/test?multiStatements=true",
			sqlmcpAdmin: "mysql://root@127.0.0.1:3306/g_" + suffix,
			roleDSN: func(role string) string {
				return "mysql://" + role + "@127.0.0.1:3306/g_" + suffix
			},
			setup: []string{
				"CREATE DATABASE g_" + suffix,
				"CREATE TABLE g_" + suffix + ".shop (id int PRIMARY KEY, name text)",
				"CREATE TABLE g_" + suffix + ".secret (id int PRIMARY KEY, v text)",
				"CREATE TABLE g_" + suffix + ".customer (id int PRIMARY KEY, name text, email text)",
			},
			createRole: func(role string) string { return "CREATE USER '" + role + "'@'%'" },
			grantWide: func(role string) []string {
				return []string{"GRANT SELECT ON g_" + suffix + ".* TO '" + role + "'@'%'"}
			},
			teardown: []string{"DROP DATABASE g_" + suffix},
			dropRole: func(role string) string { return "DROP USER '" + role + "'@'%'" },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			admin, err := sql.Open(tc.driver, tc.admin)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { admin.Close() }) // after the teardown below (cleanups run last-in first-out)
			if err := admin.PingContext(ctx); err != nil {
				t.Skipf("%s not reachable: %v", tc.name, err)
			}
			if target, err := dialect.ParseDSN(tc.sqlmcpAdmin); err != nil {
				t.Fatal(err)
			} else if _, ok := target.Backend.(dialect.Governor); !ok {
				t.Skipf("%s does not implement dialect.Governor yet", tc.name)
			}
			exec := func(stmts ...string) {
				t.Helper()
				for _, s := range stmts {
					if _, err := admin.ExecContext(ctx, s); err != nil {
						t.Fatalf("%s: %v", s, err)
					}
				}
			}
			narrow, wide := "g_ro_"+suffix, "g_wide_"+suffix
			t.Cleanup(func() {
				for _, s := range append(tc.teardown, tc.dropRole(narrow), tc.dropRole(wide)) {
					admin.ExecContext(ctx, s)
				}
			})
			exec(tc.setup...)
			exec(tc.createRole(narrow), tc.createRole(wide))
			exec(tc.grantWide(wide)...)

			policy := tc.policy + "\ndeny_tables = [\"secret\"]\ndeny_columns = [\"customer.email\"]\n"
			roleCfg := func(role string) string {
				return writeConfig(t, fmt.Sprintf("[[database]]\nname = \"shop\"\ndsn = %q\n%s", tc.roleDSN(role), policy))
			}
			// The file's DSN is the role sqlmcp runs as (the script's
			// role by default); --dsn reads the catalog as the admin.
			code, script, stderr := runCmd(t, []string{"grants", "--config", roleCfg(narrow), "--database", "shop", "--dsn", tc.sqlmcpAdmin}, nil, nil)
			if code != 0 || !strings.Contains(strings.ToUpper(script), "GRANT") || !strings.Contains(script, narrow) {
				t.Fatalf("grants: exit %d, stderr %s, script:\n%s", code, stderr, script)
			}
			if _, err := admin.ExecContext(ctx, script); err != nil {
				t.Fatalf("applying the script: %v\n%s", err, script)
			}

			for _, role := range []struct {
				name string
				ok   bool
			}{{narrow, true}, {wide, false}} {
				code, _, stderr := runCmd(t, []string{"--config", roleCfg(role.name), "--require-least-privilege"}, nil, nil)
				if role.ok && code != 0 {
					t.Errorf("role with the script's grants: exit %d, want 0 (it starts); stderr:\n%s", code, stderr)
				}
				if !role.ok && (code != 2 || !strings.Contains(stderr, "access policy denies")) {
					t.Errorf("role with broader grants: exit %d, want 2 naming the policy; stderr:\n%s", code, stderr)
				}
				if !role.ok && (!strings.Contains(stderr, "secret") || !strings.Contains(stderr, "email")) {
					t.Errorf("the refusal does not name what is exposed: %s", stderr)
				}
			}
		})
	}
}
