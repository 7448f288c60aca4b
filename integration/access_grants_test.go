package integration_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/tools"
)

// accessRoles says how a server backend creates and drops a login role
// for the grant tests, and grants it everything (the broad role).
type accessRoles struct {
	create, drop func(role, db string) []string
	grantAll     func(role, db string) []string
	// asRole is the backend's DSN for the same database as role.
	asRole func(base, role string) string
}

var accessRoleFacts = map[*conformance]accessRoles{
	&postgresRecord: {
		create: func(role, _ string) []string { return []string{`CREATE ROLE ` + role + ` LOGIN`} },
		drop:   func(role, _ string) []string { return []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} },
		grantAll: func(role, _ string) []string {
			return []string{`GRANT USAGE ON SCHEMA public, hidden TO ` + role,
				`GRANT SELECT ON ALL TABLES IN SCHEMA public, hidden TO ` + role, `GRANT pg_read_all_data TO ` + role}
		},
		asRole: func(base, role string) string {
			u, _ := url.Parse(base)
			u.User = url.User(role)
			return u.String()
		},
	},
	&mysqlRecord: {
		create: func(role, _ string) []string { return []string{`CREATE USER '` + role + `'@'%'`} },
		drop:   func(role, _ string) []string { return []string{`DROP USER IF EXISTS '` + role + `'@'%'`} },
		grantAll: func(role, db string) []string {
			return []string{"GRANT SELECT ON `" + db + "`.* TO '" + role + "'@'%'", "GRANT SELECT ON mysql.column_stats TO '" + role + "'@'%'",
				"GRANT SELECT ON *.* TO '" + role + "'@'%'"}
		},
		asRole: func(base, role string) string {
			u, _ := url.Parse(base)
			u.User = url.User(role)
			return u.String()
		},
	},
}

// TestAccessGrants applies the grant script a Governor prints to a fresh
// role and checks the database then enforces the policy on its own: the
// start-up check (Exposed) finds nothing, the allowed reads work, and a
// denied read fails in the database even without sqlmcp's check. A role
// with broader grants has the denied objects listed.
func TestAccessGrants(t *testing.T) {
	for r, facts := range accessRoleFacts {
		t.Run(r.name, func(t *testing.T) {
			if backendOf(t, r) == nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			fx := accessFixtures[r]
			b := newAccessBackend(t, r, fx)
			p := access.MustCompile(expandRules(fx.rules, b.dbName))
			gov, ok := b.d.(dialect.Governor)
			if !ok {
				t.Fatalf("%s does not implement dialect.Governor", r.name)
			}

			exposed, err := gov.Exposed(ctx, b.db, p)
			if err != nil {
				t.Fatal(err)
			}
			if !containsAll(exposed, "employee", "customer.email", "account.password_hash", "v_contact") {
				t.Errorf("the suite's superuser should be exposed to every denied object; Exposed says %q", exposed)
			}

			narrow := randName("sqlmcp_acc_")
			broad := randName("sqlmcp_accb_")
			for _, role := range []string{narrow, broad} {
				if err := execAll(ctx, b.admin, facts.create(role, b.dbName)...); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					for _, s := range facts.drop(role, b.dbName) {
						b.admin.Exec(s)
					}
				})
			}

			script, err := gov.GrantScript(ctx, b.db, p, narrow)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("grant script:\n%s", script)
			for _, s := range scriptStatements(script) {
				if _, err := b.admin.ExecContext(ctx, s); err != nil {
					t.Fatalf("applying the grant script: %s: %v", s, err)
				}
			}
			rdb := openAs(t, facts.asRole(b.url, narrow))
			if exposed, err := gov.Exposed(ctx, rdb, p); err != nil || len(exposed) > 0 {
				t.Errorf("after the grant script, Exposed = %q, %v; want nothing", exposed, err)
			}
			rb := *b
			rb.db = rdb
			s := serve(t, &rb, tools.Options{Access: p})
			for _, q := range []string{"SELECT id, name FROM customer", "SELECT * FROM orders", "SELECT id, login FROM account", "SELECT * FROM v_orders",
				"SELECT * FROM v_customer_names", "SELECT n FROM v_order_count"} {
				if res := s.call("query", map[string]any{"sql": q}); res.IsError {
					t.Errorf("the narrowed role cannot run an allowed read %q: %s", q, res.Text)
				}
			}
			// Without sqlmcp's check, the database itself refuses.
			open := serve(t, &rb, tools.Options{})
			for _, q := range []string{"SELECT secret FROM employee", "SELECT email FROM customer", "SELECT contact FROM v_contact", "SELECT * FROM audit_log",
				"SELECT contact FROM v_v_contact",
				// PostgreSQL's fixture: a child of employee, of customer, a
				// partition of audit_part (elsewhere: no such table).
				"SELECT secret FROM employee_2", "SELECT email FROM customer_vip", "SELECT * FROM ap_1",
				"SELECT * FROM mv_deep_0"} {
				res := open.call("query", map[string]any{"sql": q})
				if !res.IsError || !strings.HasPrefix(res.Text, "database error") {
					t.Errorf("the narrowed role read %q: %.200s", q, res.Text)
				}
			}

			// Applying the script to a broad role narrows it too; before,
			// Exposed lists what it can read that the policy denies.
			if err := execAll(ctx, b.admin, facts.grantAll(broad, b.dbName)...); err != nil {
				t.Fatal(err)
			}
			bdb := openAs(t, facts.asRole(b.url, broad))
			exposed, err = gov.Exposed(ctx, bdb, p)
			if err != nil {
				t.Fatal(err)
			}
			if !containsAll(exposed, "employee", "customer.email", "account.password_hash", "audit_log", "v_contact", "v_employee") {
				t.Errorf("a role with SELECT on every table: Exposed = %q; want the denied objects", exposed)
			}
			// (The fixture's own orders: a role with SELECT on *.* also
			// reads other databases' tables, which schemas rightly hides.)
			if containsAll(exposed, expandRules(fx.rules, b.dbName).Schemas[0]+".orders ") {
				t.Errorf("Exposed lists an allowed table: %q", exposed)
			}
			script, err = gov.GrantScript(ctx, b.db, p, broad)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range scriptStatements(script) {
				if _, err := b.admin.ExecContext(ctx, s); err != nil {
					t.Fatalf("applying the grant script to the broad role: %s: %v", s, err)
				}
			}
			bdb2 := openAs(t, facts.asRole(b.url, broad))
			if exposed, err := gov.Exposed(ctx, bdb2, p); err != nil || len(exposed) > 0 {
				t.Errorf("after the grant script, the broad role's Exposed = %q, %v; want nothing", exposed, err)
			}
		})
	}
}

func openAs(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, _, err := openTarget(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// containsAll reports whether each want is a substring of some entry.
func containsAll(list []string, wants ...string) bool {
	for _, w := range wants {
		found := false
		for _, l := range list {
			if strings.Contains(l, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// scriptStatements splits a grant script into its statements: one per
// line, comments dropped.
func scriptStatements(script string) []string {
	var out []string
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		out = append(out, strings.TrimSuffix(line, ";"))
	}
	return out
}
