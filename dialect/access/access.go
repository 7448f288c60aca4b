// Package access is a database's access policy: the schemas the model may
// see and the tables and columns it may not read (the config file's
// schemas, deny_tables and deny_columns). It only matches names; each
// backend enforces a Policy in its sessions (dialect.SessionOptions) and
// the tools hide what it denies from the catalog.
//
// Patterns are dot-separated name parts, matched case-insensitively part
// by part, with `*` (any run of characters, possibly empty) and `?` (one
// character) as wildcards:
//
//	deny_tables:  "employee" (any schema), "public.employee", "*.audit_*"
//	deny_columns: "customer.email" (any schema), "public.customer.email", "*.password_hash"
//
// A name part may be double-quoted to hold a dot ("my.schema".t); quoting
// does not make the match case-sensitive: a policy errs on hiding more.
package access

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Rules are a policy as written in the configuration.
type Rules struct {
	// Schemas, if not empty, are the only schemas whose tables the model
	// sees (patterns of one part).
	Schemas []string
	// DenyTables are hidden and unreadable: [schema.]table.
	DenyTables []string
	// DenyColumns are hidden and unreadable: [schema.]table.column.
	DenyColumns []string
}

// Policy is a compiled Rules. A nil *Policy allows everything.
type Policy struct {
	rules   Rules
	schemas []pattern
	tables  []namePattern
	columns []namePattern
}

// pattern is one lower-cased name part; glob reports whether it holds a
// wildcard.
type pattern struct {
	text string
	glob bool
}

func (p pattern) match(name string) bool {
	name = strings.ToLower(name)
	if !p.glob {
		return p.text == name
	}
	return globMatch(p.text, name)
}

// namePattern is a rule of deny_tables (schema, table) or deny_columns
// (schema, table, column); a missing schema matches any.
type namePattern struct {
	source string // as written, for messages
	schema *pattern
	table  pattern
	column pattern
}

// Compile checks and compiles r. Its error names the key, the index and
// the pattern at fault.
func Compile(r Rules) (*Policy, error) {
	p := &Policy{rules: r}
	for i, s := range r.Schemas {
		parts, err := splitPattern(s)
		if err == nil && len(parts) != 1 {
			err = fmt.Errorf("a schema is one name, without dots (got %d parts)", len(parts))
		}
		if err != nil {
			return nil, fmt.Errorf("schemas[%d] %q: %v", i, s, err)
		}
		p.schemas = append(p.schemas, parts[0])
	}
	for i, s := range r.DenyTables {
		parts, err := splitPattern(s)
		if err == nil && len(parts) > 2 {
			err = fmt.Errorf("a table is [schema.]table (got %d parts)", len(parts))
		}
		if err != nil {
			return nil, fmt.Errorf("deny_tables[%d] %q: %v", i, s, err)
		}
		np := namePattern{source: s, table: parts[len(parts)-1]}
		if len(parts) == 2 {
			np.schema = &parts[0]
		}
		p.tables = append(p.tables, np)
	}
	for i, s := range r.DenyColumns {
		parts, err := splitPattern(s)
		if err == nil && (len(parts) < 2 || len(parts) > 3) {
			err = fmt.Errorf("a column is [schema.]table.column (got %d parts)", len(parts))
		}
		if err != nil {
			return nil, fmt.Errorf("deny_columns[%d] %q: %v", i, s, err)
		}
		np := namePattern{source: s, table: parts[len(parts)-2], column: parts[len(parts)-1]}
		if len(parts) == 3 {
			np.schema = &parts[0]
		}
		p.columns = append(p.columns, np)
	}
	return p, nil
}

// MustCompile is Compile for tests and literals: it panics on a bad rule.
func MustCompile(r Rules) *Policy {
	p, err := Compile(r)
	if err != nil {
		panic(err)
	}
	return p
}

// splitPattern splits a pattern into lower-cased parts on dots outside
// double quotes.
func splitPattern(s string) ([]pattern, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("not valid UTF-8")
	}
	var parts []pattern
	var cur strings.Builder
	quoted, wasQuoted := false, false
	flush := func() error {
		if cur.Len() == 0 {
			return fmt.Errorf("an empty name part")
		}
		t := strings.ToLower(cur.String())
		parts = append(parts, pattern{text: t, glob: strings.ContainsAny(t, "*?")})
		cur.Reset()
		wasQuoted = false
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '"' && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			if !quoted && cur.Len() > 0 {
				return nil, fmt.Errorf("a quote in the middle of a name part")
			}
			quoted = !quoted
			wasQuoted = true
		case c == '.' && !quoted:
			if err := flush(); err != nil {
				return nil, err
			}
		case !quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return nil, fmt.Errorf("white space outside quotes")
		default:
			if wasQuoted && !quoted {
				return nil, fmt.Errorf("text after a closing quote")
			}
			cur.WriteByte(c)
		}
	}
	if quoted {
		return nil, fmt.Errorf("an unclosed quote")
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return parts, nil
}

// globMatch matches a lower-cased name against a pattern with * and ?.
func globMatch(pat, name string) bool {
	// Iterative matching with one backtrack point: linear in practice,
	// never exponential.
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		if p < len(pat) {
			r, size := utf8.DecodeRuneInString(pat[p:])
			switch r {
			case '*':
				star, mark = p, n
				p += size
				continue
			case '?':
				_, nsize := utf8.DecodeRuneInString(name[n:])
				p, n = p+size, n+nsize
				continue
			default:
				nr, nsize := utf8.DecodeRuneInString(name[n:])
				if nr == r {
					p, n = p+size, n+nsize
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		_, nsize := utf8.DecodeRuneInString(name[mark:])
		mark += nsize
		p, n = star+1, mark
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// Rules returns the rules p was compiled from.
func (p *Policy) Rules() Rules {
	if p == nil {
		return Rules{}
	}
	return p.rules
}

// Empty reports whether p allows everything.
func (p *Policy) Empty() bool {
	return p == nil || (len(p.schemas) == 0 && len(p.tables) == 0 && len(p.columns) == 0)
}

// SchemaVisible reports whether tables of schema may be seen. Without a
// schemas list every schema is visible.
func (p *Policy) SchemaVisible(schema string) bool {
	if p == nil || len(p.schemas) == 0 {
		return true
	}
	for _, s := range p.schemas {
		if s.match(schema) {
			return true
		}
	}
	return false
}

// TableDenied returns the rule that hides schema.table ("" if none): a
// deny_tables pattern, or "schemas" when the schema is not listed.
func (p *Policy) TableDenied(schema, table string) string {
	if p == nil {
		return ""
	}
	if !p.SchemaVisible(schema) {
		return "schemas"
	}
	for _, t := range p.tables {
		if (t.schema == nil || t.schema.match(schema)) && t.table.match(table) {
			return "deny_tables " + t.source
		}
	}
	return ""
}

// ColumnDenied returns the deny_columns rule that hides
// schema.table.column ("" if none). It does not repeat TableDenied.
func (p *Policy) ColumnDenied(schema, table, column string) string {
	if p == nil {
		return ""
	}
	for _, c := range p.columns {
		if (c.schema == nil || c.schema.match(schema)) && c.table.match(table) && c.column.match(column) {
			return "deny_columns " + c.source
		}
	}
	return ""
}

// HasColumnRules reports whether some deny_columns rule may apply to a
// column of schema.table: such a table cannot be read whole (SELECT *,
// a whole-row value) and its columns are checked one by one.
func (p *Policy) HasColumnRules(schema, table string) bool {
	if p == nil {
		return false
	}
	for _, c := range p.columns {
		if (c.schema == nil || c.schema.match(schema)) && c.table.match(table) {
			return true
		}
	}
	return false
}

// ColumnRules are the deny_columns patterns as (schema, table, column)
// parts, lower-cased, schema "" when the rule names none: for backends
// that must look for a denied column's name in a statement's text.
func (p *Policy) ColumnRules() [][3]string {
	if p == nil {
		return nil
	}
	out := make([][3]string, 0, len(p.columns))
	for _, c := range p.columns {
		s := ""
		if c.schema != nil {
			s = c.schema.text
		}
		out = append(out, [3]string{s, c.table.text, c.column.text})
	}
	return out
}

// Denied is a statement refused because it would read what the policy
// hides. Its message names the rule, never data.
type Denied struct {
	// Rule is the rule that applies, e.g. `deny_tables *.audit_*`.
	Rule string
	// Object is what the statement would read, as the model named it or
	// the database resolved it, e.g. "public.employee".
	Object string
	// Detail, if set, says how the read was found (e.g. "through view v").
	Detail string
}

func (e *Denied) Error() string {
	msg := fmt.Sprintf("refused by the access policy: the statement reads %s, which this server's %s rule hides", e.Object, e.Rule)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg + "; query only the tables and columns list_tables and describe_table show"
}
