package access

import (
	"strings"
	"testing"
)

func TestPolicyMatchesNamesCaseInsensitivelyWithWildcards(t *testing.T) {
	p := MustCompile(Rules{
		Schemas:     []string{"public", "sales_*"},
		DenyTables:  []string{"public.employee", "*.audit_*", `"odd.name"`},
		DenyColumns: []string{"customer.email", "*.password_hash", "sales_eu.orders.card_?"},
	})
	tables := []struct {
		schema, table, rule string
	}{
		{"public", "employee", "deny_tables public.employee"},
		{"PUBLIC", "Employee", "deny_tables public.employee"},
		{"sales_eu", "employee", ""},
		{"sales_eu", "audit_log", "deny_tables *.audit_*"},
		{"public", "audit_", "deny_tables *.audit_*"},
		{"public", "audit", ""},
		{"public", "odd.name", `deny_tables "odd.name"`},
		{"private", "track", "schemas"},
		{"public", "track", ""},
	}
	for _, c := range tables {
		if got := p.TableDenied(c.schema, c.table); got != c.rule {
			t.Errorf("TableDenied(%q, %q) = %q, want %q", c.schema, c.table, got, c.rule)
		}
	}
	columns := []struct {
		schema, table, column, rule string
	}{
		{"public", "customer", "email", "deny_columns customer.email"},
		{"sales_x", "CUSTOMER", "EMAIL", "deny_columns customer.email"},
		{"public", "customer", "emails", ""},
		{"public", "users", "password_hash", "deny_columns *.password_hash"},
		{"sales_eu", "orders", "card_1", "deny_columns sales_eu.orders.card_?"},
		{"sales_eu", "orders", "card_12", ""},
		{"sales_us", "orders", "card_1", ""},
	}
	for _, c := range columns {
		if got := p.ColumnDenied(c.schema, c.table, c.column); got != c.rule {
			t.Errorf("ColumnDenied(%q, %q, %q) = %q, want %q", c.schema, c.table, c.column, got, c.rule)
		}
	}
	if !p.HasColumnRules("public", "customer") {
		t.Error("HasColumnRules(public, customer) = false, want true")
	}
	if !p.HasColumnRules("any", "anything") { // *.password_hash applies to every table
		t.Error("HasColumnRules: *.password_hash applies to every table")
	}
}

func TestNilAndEmptyPoliciesAllowEverything(t *testing.T) {
	for _, p := range []*Policy{nil, MustCompile(Rules{})} {
		if !p.Empty() || p.TableDenied("s", "t") != "" || p.ColumnDenied("s", "t", "c") != "" || !p.SchemaVisible("x") {
			t.Errorf("%v denies something", p)
		}
	}
}

func TestBadPatternsAreRefusedWithTheirKey(t *testing.T) {
	for _, c := range []struct {
		rules Rules
		want  string
	}{
		{Rules{DenyTables: []string{"a.b.c"}}, `deny_tables[0] "a.b.c"`},
		{Rules{DenyTables: []string{"ok", "a..b"}}, `deny_tables[1] "a..b": an empty name part`},
		{Rules{DenyColumns: []string{"email"}}, `deny_columns[0] "email": a column is [schema.]table.column`},
		{Rules{Schemas: []string{"a.b"}}, `schemas[0] "a.b"`},
		{Rules{DenyTables: []string{`"open`}}, "unclosed quote"},
		{Rules{DenyTables: []string{"two words"}}, "white space"},
		{Rules{DenyTables: []string{""}}, "empty name part"},
	} {
		_, err := Compile(c.rules)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compile(%+v) = %v, want an error containing %q", c.rules, err, c.want)
		}
	}
}

func TestGlobMatchIsLinear(t *testing.T) {
	name := strings.Repeat("a", 10000)
	if globMatch(strings.Repeat("*a", 50)+"b", name) {
		t.Fatal("matched")
	}
}
