package govern_test

import (
	"strings"
	"testing"

	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/dialect/internal/govern"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// TestCheckColumns: a table with a denied column is readable only by
// naming its other columns, in a statement that names the table itself.
func TestCheckColumns(t *testing.T) {
	p := access.MustCompile(access.Rules{DenyColumns: []string{"customer.email"}})
	cases := []struct {
		sql  string
		deny string // a fragment of the refusal's detail or object; "" to allow
	}{
		{"SELECT id, name FROM customer", ""},
		{"SELECT c.id, c.name FROM customer c", ""},
		{"SELECT c.id FROM public.customer AS c WHERE c.id = 1", ""},
		{"SELECT count(*) FROM customer", ""},
		{"SELECT o.*, c.name FROM orders o JOIN customer c ON c.id = o.customer_id", ""},
		{"SELECT name FROM customer WHERE EXISTS (SELECT * FROM orders o WHERE o.cid = customer.id)", ""},
		{"SELECT extract(year FROM c.created) FROM customer c", ""},
		{"SELECT substring(name FROM 1 FOR 2) FROM customer", ""},
		{"SELECT 2 * 3, id FROM customer", ""},
		{"SELECT email FROM customer", "customer.email"},
		{`SELECT "EMAIL" FROM customer`, "customer.EMAIL"},
		{"SELECT name FROM customer ORDER BY email", "customer.email"},
		{"SELECT * FROM customer", "SELECT *"},
		{"SELECT id, * FROM customer", "SELECT *"},
		{"SELECT c.* FROM customer c", "c.*"},
		{"SELECT ROW(c.*) FROM customer c", "c.*"},
		{"SELECT to_jsonb(c) FROM customer c", "as a value"},
		{"SELECT row_to_json(customer) FROM customer", "as a value"},
		{"SELECT c FROM customer c", "as a value"},
		{"SELECT c::text FROM customer AS c", "as a value"},
		{"SELECT trim(both FROM c::text) FROM customer c", "as a value"},
		{"SELECT * FROM customer c, LATERAL (SELECT to_jsonb(c)) j", "SELECT *"},
		{"SELECT j FROM customer c, LATERAL to_jsonb(c) j", "as a value"},
		{"SELECT x FROM customer c(i, n, x)", "column aliases"},
		{"SELECT x FROM customer AS c (i, n, x)", "column aliases"},
		{"SELECT name FROM customer NATURAL JOIN orders", "NATURAL"},
		{"TABLE customer", "TABLE"},
		{`SELECT U&"d\0061ta" FROM customer`, "escapes"},
		{"SELECT name FROM v_customer", "reached through"},
		{"SELECT DISTINCT ON (id) * FROM customer", "SELECT *"},
		{"SELECT SQL_NO_CACHE * FROM customer", "SELECT *"},
		{"SELECT id * 2, name FROM customer", ""},
		{"SELECT (id) * (2), name FROM customer WHERE id * -1 < 0", ""},
		{"WITH t(a, b, x) AS (TABLE customer) SELECT x FROM t", "TABLE"},
		{"SELECT x FROM (TABLE public.customer) AS t(a, b, x)", "TABLE"},
		{"SELECT t.x FROM (TABLE public.customer) AS t", "TABLE"},
		{"SELECT to_jsonb(c) FROM customer * c", "as a value"},
		{"SELECT to_jsonb(j) FROM (customer c JOIN orders o ON o.cid = c.id) AS j", "as a value"},
		{"SELECT x FROM (customer c JOIN orders o ON o.cid = c.id) AS j(a, b, x)", "column aliases"},
		// Each arm of a set operation is a query of its own.
		{"SELECT name FROM customer UNION SELECT * FROM orders", ""},
		{"SELECT * FROM orders UNION SELECT * FROM customer", "SELECT *"},
		{"SELECT * FROM orders minus, customer c", "SELECT *"},
		// An output column's alias is no value.
		{"SELECT c.name AS customer FROM customer c", ""},
		{"SELECT c.name customer, c.id FROM customer c", ""},
		{"SELECT count(*) customer FROM customer", ""},
		{"SELECT name customer FROM customer", "as a value"},
		{"SELECT c.id, customer FROM customer", "as a value"},
		{"SELECT c.id FROM customer c WHERE c IS NOT NULL", "as a value"},
		// A subquery's row is its select list, checked on its own.
		{"SELECT to_jsonb(t) FROM (SELECT id FROM customer) t", ""},
		{"SELECT * FROM (SELECT id, name FROM customer) t", ""},
		{"SELECT t.* FROM (SELECT id, name FROM customer) AS t(a, b)", ""},
		{"WITH t AS (SELECT id, name FROM customer) SELECT * FROM t", ""},
		{"SELECT * FROM orders WHERE cid IN (SELECT id FROM customer WHERE name = 'a')", ""},
		{"SELECT * FROM (SELECT * FROM customer) t", "SELECT *"},
		{"SELECT * FROM (SELECT c FROM customer c) t", "as a value"},
		{"SELECT * FROM (SELECT id FROM orders UNION TABLE customer) t", "TABLE"},
		{"SELECT * FROM orders o JOIN customer c ON c.id = o.cid", "SELECT *"},
		{"SELECT * FROM (customer c JOIN orders o ON c.id = o.cid)", "SELECT *"},
		{"SELECT j.* FROM ((SELECT id FROM orders) t JOIN customer c ON c.id = t.id) j", "j.*"},
		{"SELECT * FROM customer c, LATERAL (SELECT 1) x", "SELECT *"},
		{"SELECT to_jsonb(j) FROM (SELECT 1) t JOIN (customer c JOIN orders o ON true) j ON true", "as a value"},
		{"SELECT t.id FROM (SELECT id, name FROM customer) t", ""},
	}
	for _, c := range cases {
		s, err := govern.Parse(policy.Postgres, c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		d := s.CheckColumns(p, "public", "customer")
		switch {
		case c.deny == "" && d != nil:
			t.Errorf("%s: refused: %v", c.sql, d)
		case c.deny != "" && d == nil:
			t.Errorf("%s: allowed; want a refusal (%s)", c.sql, c.deny)
		case d != nil && !strings.Contains(d.Error(), c.deny):
			t.Errorf("%s: refusal %q does not say %q", c.sql, d.Error(), c.deny)
		}
	}
}

// TestNames: calls and the names of FROM lists, qualified and quoted.
func TestNames(t *testing.T) {
	s, err := govern.Parse(policy.MySQL, "SELECT f(a), `db`.g(b) FROM `s`.`t` AS x JOIN u ON u.id = x.id, (v) WHERE a IN (SELECT 1 FROM w)")
	if err != nil {
		t.Fatal(err)
	}
	var calls, tables []string
	for _, n := range s.Names() {
		switch {
		case n.Call:
			calls = append(calls, strings.Join(n.Parts, "."))
		case n.Table:
			tables = append(tables, strings.Join(n.Parts, "."))
		}
	}
	if got, want := strings.Join(calls, " "), "f db.g"; got != want {
		t.Errorf("calls = %q, want %q", got, want)
	}
	if got, want := strings.Join(tables, " "), "s.t u v w"; got != want {
		t.Errorf("tables = %q, want %q", got, want)
	}
}

// TestTableNames: the names in FROM lists however MySQL and MariaDB
// spell them; a missed name would be a table the check never judges.
func TestTableNames(t *testing.T) {
	cases := []struct{ sql, want string }{
		{"SELECT * FROM { OJ a LEFT OUTER JOIN b ON a.x = b.x }", "a b"},
		{"SELECT * FROM a FOR SYSTEM_TIME ALL, b", "a b"},
		{"SELECT * FROM a FOR SYSTEM_TIME AS OF TIMESTAMP '2020-01-01' JOIN b ON 1 = 1", "a b"},
		{"SELECT * FROM a USE INDEX FOR ORDER BY (i), b", "a b"},
		{"SELECT * FROM a FORCE KEY FOR JOIN (i) JOIN b USING (x), c", "a b c"},
		{"SELECT * FROM a IGNORE INDEX (i, j) AS x, b", "a b"},
		{"SELECT * FROM (a, b) JOIN (c JOIN d ON 1 = 1) ON 1 = 1", "a b c d"},
		{"SELECT * FROM a PARTITION (p0), b", "a b"},
		{"SELECT (SELECT x FROM a) FROM b WHERE y IN (SELECT z FROM c) AND EXISTS (SELECT 1 FROM d)", "a b c d"},
		{"SELECT * FROM a UNION SELECT * FROM b", "a b"},
		{"TABLE a", "a"},
	}
	for _, c := range cases {
		s, err := govern.Parse(policy.MySQL, c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		var got []string
		for _, n := range s.Names() {
			if n.Table {
				got = append(got, strings.Join(n.Parts, "."))
			}
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: tables %q, want %q", c.sql, got, c.want)
		}
	}
}
