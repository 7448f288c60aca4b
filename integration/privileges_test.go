package integration_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/tools"
)

func privileges(t *testing.T, rawURL string) []string {
	t.Helper()
	db, d, err := openTarget(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, ok, err := privilegeFindings(ctx, d, db)
	if !ok {
		t.Fatalf("%s: no privilege check", d.Name())
	}
	if err != nil {
		t.Fatalf("Privileges: %v", err)
	}
	return f
}

// TestPrivilegeCheckAndREADMERecipes: the suite's superuser is reported;
// a role made with the README's least-privilege recipe is not, and sqlmcp
// serves through it. (A file-based backend's check is about the file:
// see its own test.)
func TestPrivilegeCheckAndREADMERecipes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		if b.rec.readerRole == nil {
			t.Skipf("%s has no roles: its privilege check is about the file", b.name)
		}
		f := privileges(t, b.url)
		t.Logf("superuser findings: %q", f)
		b.rec.superuserFindings(t, f)
		role := randName("sqlmcp_reader_")
		ctx := context.Background()
		setup, teardown := b.rec.readerRole(role, b.dbName)
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
