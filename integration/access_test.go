package integration_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/tools"
)

// accessFixture is what the access-policy corpus needs of a backend: the
// objects it aims at (created in a database of their own, so the other
// tests' catalogs are untouched) and the policy it runs under. {db} in
// the statements and rules is the database's name.
type accessFixture struct {
	setup []string
	rules access.Rules
}

// accessFixtures are keyed by conformance record. The secrets the corpus
// must never see in a refusal are in accessSecrets.
var accessFixtures = map[*conformance]accessFixture{
	&postgresRecord: {
		setup: append(append(accessCommonSetup("text"),
			`CREATE MATERIALIZED VIEW mv_employee AS SELECT * FROM employee`,
			`CREATE VIEW v_mv AS SELECT name FROM mv_employee`,
			`CREATE SCHEMA hidden`,
			`CREATE TABLE hidden.t (x text)`,
			`INSERT INTO hidden.t VALUES ('s3cr3t-hidden')`,
			// Unqualified names resolve through hidden too: the plan's
			// resolved schema is what the schemas rule judges.
			`ALTER DATABASE {db} SET search_path = public, hidden`,
			`CREATE FUNCTION leak() RETURNS text LANGUAGE sql AS $$SELECT secret FROM employee LIMIT 1$$`,
			`CREATE VIEW v_leak AS SELECT leak() AS x`,
			`CREATE VIEW v_cust_json AS SELECT to_jsonb(c) AS j FROM customer c`,
			`CREATE VIEW v_cust_star AS SELECT c.* FROM customer c`,
			`CREATE MATERIALIZED VIEW mv_contact AS SELECT id, email FROM customer`,
			`CREATE MATERIALIZED VIEW mv_names AS SELECT id, name FROM customer`,
			`CREATE VIEW v_xml AS SELECT query_to_xml('SELECT email FROM customer', true, true, '') AS x`,
			`CREATE FUNCTION leak_op(int, int) RETURNS text LANGUAGE sql AS $$SELECT secret FROM employee LIMIT 1$$`,
			`CREATE OPERATOR ### (LEFTARG = int, RIGHTARG = int, FUNCTION = leak_op)`,
			`CREATE TYPE leaky AS (x text)`,
			`CREATE FUNCTION leak_cast(int) RETURNS leaky LANGUAGE sql AS $$SELECT ROW(secret)::leaky FROM employee LIMIT 1$$`,
			`CREATE CAST (int AS leaky) WITH FUNCTION leak_cast(int)`,
			// Partitions and inheritance children hold their parent's
			// rows under names of their own.
			`CREATE TABLE employee_2 () INHERITS (employee)`,
			`INSERT INTO employee_2 VALUES (2, 'Eli', 's3cr3t-child')`,
			`CREATE TABLE customer_vip (tier int) INHERITS (customer)`,
			`INSERT INTO customer_vip VALUES (3, 'Vic', 'vic@secret.example', 1)`,
			`CREATE TABLE audit_part (id int, event text) PARTITION BY RANGE (id)`,
			`CREATE TABLE ap_1 PARTITION OF audit_part FOR VALUES FROM (0) TO (100)`,
			`INSERT INTO audit_part VALUES (1, 's3cr3t-partition')`,
		), append(nestedMatviews("mv_deep_", 18, "SELECT secret FROM employee"), `ANALYZE`)...),
		rules: access.Rules{Schemas: []string{"public"}, DenyTables: []string{"employee", "*.audit_*"},
			DenyColumns: []string{"customer.email", "*.password_hash"}},
	},
	&mysqlRecord: {
		setup: append(accessCommonSetup("varchar(100)"),
			`CREATE FUNCTION leak() RETURNS varchar(100) READS SQL DATA RETURN (SELECT secret FROM employee LIMIT 1)`,
			`CREATE VIEW v_v_employee AS SELECT name FROM v_employee`,
			`ANALYZE TABLE customer PERSISTENT FOR ALL`,
		),
		rules: access.Rules{Schemas: []string{"{db}"}, DenyTables: []string{"employee", "*.audit_*"},
			DenyColumns: []string{"customer.email", "*.password_hash"}},
	},
	&sqliteRecord: {
		setup: append(accessCommonSetup("text"),
			`CREATE VIEW v_v_employee AS SELECT name FROM v_employee`,
			// Virtual tables keep their values in shadow tables of their
			// own names.
			`CREATE VIRTUAL TABLE secrets_fts USING fts5(login, password_hash)`,
			`INSERT INTO secrets_fts VALUES ('ann', '$2b$12$ftsftsftsfts')`,
			`ANALYZE`,
		),
		rules: access.Rules{Schemas: []string{"main"}, DenyTables: []string{"employee", "*.audit_*"},
			DenyColumns: []string{"customer.email", "*.password_hash"}},
	},
}

// accessSecrets are values of denied tables and columns: no answer to a
// refused statement may hold one.
var accessSecrets = []string{"secret.example", "s3cr3t", "$2b$"}

// nestedMatviews is a chain of n materialized views, prefix0 reading
// prefix1 … reading base (deeper than a check may follow).
func nestedMatviews(prefix string, n int, base string) []string {
	out := []string{"CREATE MATERIALIZED VIEW " + prefix + strconv.Itoa(n-1) + " AS " + base}
	for i := n - 2; i >= 0; i-- {
		out = append(out, "CREATE MATERIALIZED VIEW "+prefix+strconv.Itoa(i)+" AS SELECT * FROM "+prefix+strconv.Itoa(i+1))
	}
	return out
}

func accessCommonSetup(text string) []string {
	return []string{
		`CREATE TABLE customer (id int PRIMARY KEY, name ` + text + `, email ` + text + `)`,
		`INSERT INTO customer VALUES (1, 'Ann', 'ann@secret.example'), (2, 'Bob', 'bob@secret.example')`,
		`CREATE INDEX customer_email ON customer (email)`,
		`CREATE TABLE employee (id int PRIMARY KEY, name ` + text + `, secret ` + text + `)`,
		`INSERT INTO employee VALUES (1, 'Eve', 's3cr3t-salary')`,
		`CREATE TABLE audit_log (id int, event ` + text + `)`,
		`INSERT INTO audit_log VALUES (1, 's3cr3t-audit')`,
		`CREATE TABLE account (id int, login ` + text + `, password_hash ` + text + `)`,
		`INSERT INTO account VALUES (1, 'ann', '$2b$12$abcdefghijkl')`,
		`CREATE TABLE orders (id int, customer_id int, amount int)`,
		`INSERT INTO orders VALUES (1, 1, 10), (2, 2, 20), (3, 1, 30)`,
		`CREATE VIEW v_employee AS SELECT name, secret FROM employee`,
		`CREATE VIEW v_contact AS SELECT id, email AS contact FROM customer`,
		`CREATE VIEW v_orders AS SELECT id, amount FROM orders`,
		`CREATE VIEW v_customer_names AS SELECT id, name FROM customer`,
		`CREATE VIEW v_v_contact AS SELECT contact FROM v_contact`,
		`CREATE VIEW v_order_count AS SELECT count(*) AS n FROM orders`,
	}
}

// accessCase is one line of testdata/access/<file>.txt: "deny <SQL>"
// (refused as access_denied, no secret in the answer), "refuse <SQL>"
// (refused by the read-only policy before the access policy looks, no
// secret in the answer) or "allow <SQL>" (answers).
type accessCase struct {
	file string
	line int
	verb string
	sql  string
}

func readAccessCorpus(t *testing.T, names ...string) []accessCase {
	t.Helper()
	var out []accessCase
	for _, name := range names {
		path := filepath.Join("..", "testdata", "access", name+".txt")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			verb, sql, _ := strings.Cut(line, " ")
			if verb != "deny" && verb != "refuse" && verb != "allow" {
				t.Fatalf("%s:%d: a case starts with deny, refuse or allow", path, n)
			}
			out = append(out, accessCase{file: name, line: n, verb: verb, sql: strings.TrimSpace(sql)})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// newAccessBackend creates a database of its own with fx's objects and
// opens sqlmcp's pool on it.
func newAccessBackend(t *testing.T, r *conformance, fx accessFixture) *backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, skip, err := r.newDatabase(ctx, r)
	if err != nil || b == nil {
		t.Fatalf("create the access database: %v %s", err, skip)
	}
	b.rec, b.name, b.transport = r, r.name, "inmemory"
	for _, s := range fx.setup {
		if _, err := b.admin.ExecContext(ctx, strings.ReplaceAll(s, "{db}", b.dbName)); err != nil {
			t.Fatalf("fixture: %s: %v", s, err)
		}
	}
	if b.db, b.d, err = openTarget(b.url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.db.Close(); b.admin.Close() })
	return b
}

func expandRules(r access.Rules, db string) access.Rules {
	sub := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = strings.ReplaceAll(s, "{db}", db)
		}
		return out
	}
	return access.Rules{Schemas: sub(r.Schemas), DenyTables: sub(r.DenyTables), DenyColumns: sub(r.DenyColumns)}
}

// TestAccessPolicyCorpus runs the denial corpus on every backend through
// the query tool: each way around the policy (views, materialized views,
// aliases, CTEs, subqueries, *, t.*, whole-row values, quoted, folded and
// qualified names, functions that run SQL from text, planner statistics,
// EXPLAIN, errors that echo values) is refused with access_denied and no
// denied value in the answer, and each legitimate read still answers.
func TestAccessPolicyCorpus(t *testing.T) {
	for _, r := range records {
		t.Run(r.name, func(t *testing.T) {
			if backendOf(t, r) == nil {
				return
			}
			fx := accessFixtures[r]
			b := newAccessBackend(t, r, fx)
			// One connection: the session without a policy at the end
			// reuses the connection the policy's sessions used.
			b.db.SetMaxOpenConns(1)
			p := access.MustCompile(expandRules(fx.rules, b.dbName))
			s := serve(t, b, tools.Options{Access: p})
			for _, c := range readAccessCorpus(t, "common", r.name) {
				sql := strings.ReplaceAll(c.sql, "{db}", b.dbName)
				res := s.call("query", map[string]any{"sql": sql})
				where := c.file + ".txt:" + strconv.Itoa(c.line)
				switch c.verb {
				case "allow":
					if res.IsError {
						t.Errorf("%s: legitimate read refused: %s\n  -> %s", where, sql, res.Text)
					}
					continue
				case "deny":
					if !res.IsError || !strings.HasPrefix(res.Text, "validation error access_denied: ") {
						t.Errorf("%s: not refused by the access policy: %s\n  -> %.300s", where, sql, res.Text)
					}
				case "refuse":
					if !res.IsError || !strings.HasPrefix(res.Text, "validation error: not allowed: ") {
						t.Errorf("%s: not refused by the read-only policy: %s\n  -> %.300s", where, sql, res.Text)
					}
				}
				for _, secret := range accessSecrets {
					if strings.Contains(res.Text, secret) {
						t.Errorf("%s: the answer holds a denied value (%s): %s\n  -> %.300s", where, secret, sql, res.Text)
					}
				}
			}
			// Without a policy the same database, on the same pooled
			// connection, answers everything: the refusals above are the
			// policy's, not the fixture's, and no session leaves its policy
			// behind (SQLite's authorizer is per connection).
			open := serve(t, b, tools.Options{})
			for _, q := range []string{"SELECT secret FROM employee", "SELECT email FROM customer", "SELECT * FROM v_contact"} {
				if res := open.call("query", map[string]any{"sql": q}); res.IsError {
					t.Errorf("without a policy, %s failed: %s", q, res.Text)
				}
			}
		})
	}
}

// TestAccessPolicyWithoutSchemas: with deny rules only (no schemas
// rule to hide the system schemas), what shows other sessions'
// statements, and the values they hold, is still refused.
func TestAccessPolicyWithoutSchemas(t *testing.T) {
	cases := map[*conformance][]string{
		&postgresRecord: {"SELECT query FROM pg_stat_activity", "SELECT pg_stat_get_backend_activity(1)"},
		&mysqlRecord: {"SELECT SQL_TEXT FROM performance_schema.events_statements_history",
			"SELECT PROCESSLIST_INFO FROM performance_schema.threads", "SELECT current_statement FROM sys.processlist",
			"SELECT trx_query FROM information_schema.INNODB_TRX", "SELECT INFO FROM information_schema.PROCESSLIST",
			"SHOW FULL PROCESSLIST"},
	}
	for _, r := range records {
		if cases[r] == nil {
			continue
		}
		t.Run(r.name, func(t *testing.T) {
			if backendOf(t, r) == nil {
				return
			}
			fx := accessFixtures[r]
			b := newAccessBackend(t, r, fx)
			rules := expandRules(fx.rules, b.dbName)
			rules.Schemas = nil
			s := serve(t, b, tools.Options{Access: access.MustCompile(rules)})
			for _, sql := range cases[r] {
				if res := s.call("query", map[string]any{"sql": sql}); !res.IsError || !strings.HasPrefix(res.Text, "validation error access_denied: ") {
					t.Errorf("not refused by the access policy: %s\n  -> %.300s", sql, res.Text)
				}
			}
		})
	}
}

// TestAccessCatalogHidesDescendants: on PostgreSQL a partition or an
// inheritance child holds its parent's rows under a name of its own; the
// catalog tools hide it with a denied parent, and hide the columns its
// parent's deny_columns rules hide.
func TestAccessCatalogHidesDescendants(t *testing.T) {
	r := &postgresRecord
	if backendOf(t, r) == nil {
		return
	}
	fx := accessFixtures[r]
	b := newAccessBackend(t, r, fx)
	s := serve(t, b, tools.Options{Access: access.MustCompile(expandRules(fx.rules, b.dbName))})
	res := s.call("list_tables", map[string]any{})
	if res.IsError {
		t.Fatalf("list_tables: %s", res.Text)
	}
	for _, hidden := range []string{"employee_2", "ap_1", "audit_part"} {
		if strings.Contains(res.Text, hidden) {
			t.Errorf("list_tables shows %s:\n%s", hidden, res.Text)
		}
	}
	if !strings.Contains(res.Text, "customer_vip") {
		t.Errorf("list_tables hides customer_vip, whose allowed columns are readable:\n%s", res.Text)
	}
	for _, name := range []string{"employee_2", "public.ap_1"} {
		if res := s.call("describe_table", map[string]any{"table_name": name}); !res.IsError || !strings.Contains(res.Text, "not found") {
			t.Errorf("describe_table %s: %s", name, res.Text)
		}
	}
	res = s.call("describe_table", map[string]any{"table_name": "customer_vip"})
	if res.IsError || strings.Contains(res.Text, "email") || !strings.Contains(res.Text, "tier") {
		t.Errorf("describe_table customer_vip shows email or fails:\n%s", res.Text)
	}
	// search, and the completions that page through the same catalog
	// reads, apply the ancestors' rules too.
	res = s.call("search", map[string]any{"pattern": "*", "in": []any{"tables", "columns"}})
	if res.IsError || strings.Contains(res.Text, "employee_2") || strings.Contains(res.Text, "ap_1") ||
		strings.Contains(res.Text, "customer_vip.email") || !strings.Contains(res.Text, "customer_vip.tier") {
		t.Errorf("search shows a descendant's hidden table or column, or not its allowed one:\n%s", res.Text)
	}
}
