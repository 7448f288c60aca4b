package policy_test

import (
	"testing"

	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

func TestTokens(t *testing.T) {
	toks, err := policy.Tokens(policy.Postgres, `SELECT "Mixed ""q""" , e.mail /* c */ FROM U&"x" WHERE a = 'str'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	escaped := 0
	for _, tk := range toks {
		if tk.Name != "" {
			names = append(names, tk.Name)
		}
		if tk.Escaped {
			escaped++
		}
	}
	want := []string{"SELECT", `Mixed "q"`, "e", "mail", "FROM", "WHERE", "a"}
	if len(names) != len(want) {
		t.Fatalf("names = %q, want %q", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("name %d = %q, want %q", i, names[i], want[i])
		}
	}
	if escaped != 1 {
		t.Errorf("escaped identifiers = %d, want 1 (U&\"x\")", escaped)
	}
	mt, err := policy.Tokens(policy.MySQL, "SELECT `a``b`, c FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if mt[1].Name != "a`b" {
		t.Errorf("backtick identifier = %q, want a`b", mt[1].Name)
	}
}

func TestExplained(t *testing.T) {
	cases := []struct {
		f    policy.Flavor
		in   string
		want string
	}{
		{policy.Postgres, "EXPLAIN SELECT 1", "SELECT 1"},
		{policy.Postgres, "EXPLAIN (FORMAT JSON, VERBOSE) WITH x AS (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT 1) SELECT * FROM x"},
		{policy.Postgres, "EXPLAIN VERBOSE SELECT 1 -- c", "SELECT 1 -- c\n"},
		{policy.MySQL, "EXPLAIN FORMAT=JSON SELECT a FROM t", "SELECT a FROM t"},
		{policy.SQLite, "EXPLAIN QUERY PLAN SELECT a FROM t", "SELECT a FROM t"},
	}
	for _, c := range cases {
		got, ok := policy.Explained(c.f, c.in)
		if !ok || got != c.want {
			t.Errorf("Explained(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
	if _, ok := policy.Explained(policy.Postgres, "SELECT 1"); ok {
		t.Error("Explained accepted a statement that is no EXPLAIN")
	}
}
