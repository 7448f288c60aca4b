package policy_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// TestEveryFlavorChoosesEveryRule makes adding a flavor, or a rule, fail
// until each rule is chosen for each flavor: a rule left at its zero value
// ("not chosen") is how a new flavor would silently inherit behaviour
// nobody decided on. Saying no is written as deliberately as saying yes
// (the rules' choice type), and an empty list as an empty literal.
func TestEveryFlavorChoosesEveryRule(t *testing.T) {
	for _, f := range policy.Flavors() {
		unchosen, ok := policy.UnchosenRules(f)
		if !ok {
			t.Errorf("%v has no rules: give it a case in rulesFor", f)
			continue
		}
		if len(unchosen) > 0 {
			t.Errorf("%v leaves rules unchosen: %s", f, strings.Join(unchosen, ", "))
		}
		if strings.HasPrefix(f.String(), "Flavor(") {
			t.Errorf("flavor %d has no name: give it a case in Flavor.String", int(f))
		}
	}
}

// TestUnchosenRulesSeesEveryRule shows the test above is not vacuous: with
// nothing set, every rule is reported unchosen.
func TestUnchosenRulesSeesEveryRule(t *testing.T) {
	all, empty := policy.RuleNames(), policy.EmptyRulesUnchosen()
	if len(all) < 20 || !slices.Equal(all, empty) {
		t.Errorf("rules with nothing set report %d unchosen rules, want all %d:\n got  %v\n want %v", len(empty), len(all), empty, all)
	}
}

func TestFlavors(t *testing.T) {
	want := []policy.Flavor{policy.Postgres, policy.MySQL, policy.SQLite}
	if got := policy.Flavors(); !slices.Equal(got, want) {
		t.Errorf("Flavors() = %v, want %v", got, want)
	}
}

// TestUnknownFlavorIsRefused: a flavor without rules gets none borrowed
// from another flavor; it accepts nothing and advertises nothing.
func TestUnknownFlavorIsRefused(t *testing.T) {
	for _, f := range []policy.Flavor{0, -1, policy.Flavor(len(policy.Flavors()) + 1), 99} {
		for _, sql := range []string{"SELECT 1", "VALUES (1)", "EXPLAIN SELECT 1"} {
			st, err := policy.Check(f, sql)
			var v *policy.Violation
			if !errors.As(err, &v) {
				t.Errorf("Check(%v, %q) = %+v, %v; want a *Violation", f, sql, st, err)
				continue
			}
			if v.Flavor != f || !strings.Contains(v.Reason, "unknown SQL flavor") {
				t.Errorf("Check(%v, %q) refused with %+v, want an unknown SQL flavor", f, sql, v)
			}
			if strings.Contains(err.Error(), "Only one read-only statement is allowed") {
				t.Errorf("Check(%v, %q) = %q advertises statements for a flavor that admits none", f, sql, err)
			}
		}
		if s := f.Statements(); s != "" {
			t.Errorf("%v.Statements() = %q, want none", f, s)
		}
	}
}

func TestStatements(t *testing.T) {
	want := map[policy.Flavor]string{
		policy.Postgres: "SELECT, WITH … SELECT, VALUES, TABLE or EXPLAIN (without ANALYZE)",
		policy.MySQL:    "SELECT, WITH … SELECT, VALUES, TABLE, EXPLAIN (without ANALYZE), SHOW or DESCRIBE",
		policy.SQLite:   "SELECT, WITH … SELECT, VALUES or EXPLAIN [QUERY PLAN]",
	}
	for _, f := range policy.Flavors() {
		if got := f.Statements(); got != want[f] {
			t.Errorf("%v.Statements() = %q, want %q", f, got, want[f])
		}
	}
}

// TestStatementsMatchCheck: what Statements advertises to the model is
// exactly what Check accepts, statement form by statement form, for every
// flavor (a tool description built from it cannot offer TABLE to SQLite).
func TestStatementsMatchCheck(t *testing.T) {
	forms := []struct{ keyword, sql string }{
		{"SELECT", "SELECT 1"},
		{"WITH", "WITH x AS (SELECT 1 AS a) SELECT a FROM x"},
		{"VALUES", "VALUES (1)"},
		{"TABLE", "TABLE t"},
		{"EXPLAIN", "EXPLAIN SELECT 1"},
		{"SHOW", "SHOW TABLES"},
		{"DESCRIBE", "DESCRIBE t"},
	}
	for _, f := range policy.Flavors() {
		advertised := map[string]bool{}
		for item := range strings.SplitSeq(strings.ReplaceAll(f.Statements(), " or ", ", "), ", ") {
			if words := strings.Fields(item); len(words) > 0 {
				advertised[words[0]] = true
			}
		}
		for _, form := range forms {
			_, err := policy.Check(f, form.sql)
			if accepted := err == nil; accepted != advertised[form.keyword] {
				t.Errorf("%v: Statements() = %q, but Check(%q) = %v", f, f.Statements(), form.sql, err)
			}
		}
	}
}
