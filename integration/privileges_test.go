package integration_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/tools"
)

func privileges(t *testing.T, rawURL string) []string {
	t.Helper()
	db, d, err := openTarget(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pc, ok := d.(dialect.PrivilegeChecker)
	if !ok {
		t.Fatalf("%s: no privilege check", d.Name())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := pc.Privileges(ctx, db)
	if err != nil {
		t.Fatalf("Privileges: %v", err)
	}
	return f
}

// TestPrivilegeCheckAndREADMERecipes: the suite's superuser is reported;
// a role made with the README's least-privilege recipe is not, and sqlmcp
// serves through it.
func TestPrivilegeCheckAndREADMERecipes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		switch b.name {
		case "sqlite":
			dir := t.TempDir()
			path := filepath.Join(dir, "p.db")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if f := privileges(t, "sqlite://"+path); len(f) != 1 || !strings.Contains(f[0], "is writable") {
				t.Errorf("writable file: findings %q, want one saying it is writable", f)
			}
			if err := os.Chmod(path, 0o400); err != nil {
				t.Fatal(err)
			}
			// root may write a 0400 file, and access(2) says so.
			f := privileges(t, "sqlite://"+path)
			if wantFinding := os.Geteuid() == 0; (len(f) > 0) != wantFinding {
				t.Errorf("chmod 0400 (euid %d): findings %q", os.Geteuid(), f)
			}
			return
		case "postgres":
			f := privileges(t, b.url)
			t.Logf("superuser findings: %q", f)
			if len(f) == 0 || !strings.Contains(f[0], "is a superuser") {
				t.Errorf("superuser: findings %q, want it named a superuser first", f)
			}
		case "mysql":
			f := privileges(t, b.url)
			t.Logf("root findings: %q", f)
			if len(f) == 0 || !strings.Contains(strings.Join(f, "\n"), "FILE") {
				t.Errorf("root: findings %q, want global FILE among them", f)
			}
		}
		role := randName("sqlmcp_reader_")
		ctx := context.Background()
		var setup, teardown []string
		switch b.name {
		case "postgres": // README, "Least-privilege roles", PostgreSQL
			setup = []string{
				`CREATE ROLE ` + role + ` LOGIN PASSWORD 'change-me' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 20`,
				`ALTER ROLE ` + role + ` SET default_transaction_read_only = on`,
				`ALTER ROLE ` + role + ` SET statement_timeout = '30s'`,
				`GRANT CONNECT ON DATABASE ` + b.dbName + ` TO ` + role,
				`GRANT USAGE ON SCHEMA public TO ` + role,
				`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ` + role,
				`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ` + role,
				`REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
			}
			teardown = []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role}
		case "mysql": // README, "Least-privilege roles", MySQL / MariaDB
			setup = []string{
				`CREATE USER '` + role + `'@'%' IDENTIFIED BY 'change-me' WITH MAX_USER_CONNECTIONS 20`,
				`GRANT SELECT, SHOW VIEW ON ` + b.dbName + `.* TO '` + role + `'@'%'`,
			}
			teardown = []string{`DROP USER '` + role + `'@'%'`}
		}
		t.Cleanup(func() {
			for _, s := range teardown {
				if _, err := b.admin.ExecContext(ctx, s); err != nil {
					t.Errorf("%s: %v", s, err)
				}
			}
		})
		for _, s := range setup {
			if _, err := b.admin.ExecContext(ctx, s); err != nil {
				t.Fatalf("README recipe: %s: %v", s, err)
			}
		}
		u, _ := url.Parse(b.url)
		u.User = url.UserPassword(role, "change-me")
		if f := privileges(t, u.String()); len(f) != 0 {
			t.Errorf("the README's least-privilege role has findings %q, want none", f)
		}
		db, d, err := openTarget(u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		bb := *b
		bb.db, bb.d = db, d
		s := serve(t, &bb, tools.Options{})
		if res := s.call("query", map[string]any{"sql": "SELECT count(*) FROM track"}); res.IsError {
			t.Errorf("query as the least-privilege role: %s", res.Text)
		}
		if res := s.call("list_tables", nil); res.IsError || !strings.Contains(res.Text, "track") {
			t.Errorf("list_tables as the least-privilege role: %.300s", res.Text)
		}
		if res := s.call("describe_table", map[string]any{"table_name": "track"}); res.IsError {
			t.Errorf("describe_table as the least-privilege role: %.300s", res.Text)
		}
	})
}
