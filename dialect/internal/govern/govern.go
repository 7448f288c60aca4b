// Package govern holds what the PostgreSQL and MySQL backends share in
// their access checks: reading a statement's names from its tokens (the
// tables of its FROM lists, its calls, operators and words), and the
// conservative rules for a table some of whose columns the access policy
// denies. It knows the policy's lexer and the access
// policy, nothing about drivers or MCP.
package govern

import (
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// The rules a backend's check applies whenever a policy is set, beside
// the policy's own (access.Denied.Rule: "… which this server's <rule>
// rule hides").
const (
	// RuleStatistics: planner statistics hold values of columns.
	RuleStatistics = "planner-statistics"
	// RuleFunctions: a function whose reads the check cannot see (user
	// code, SQL given as text, whole-table dumps).
	RuleFunctions = "opaque-function"
	// RuleUncheckable: an object or text the check cannot read, refused
	// rather than guessed at.
	RuleUncheckable = "uncheckable-read"
)

// Stmt is a statement's tokens, read for names.
type Stmt struct {
	toks []policy.Token
	// tablePos[i] is true when token i stands where a table is named (the
	// FROM list, after JOIN).
	tablePos []bool
}

// Parse lexes sql (a statement CheckReadOnly accepted) with flavor f.
func Parse(f policy.Flavor, sql string) (*Stmt, error) {
	toks, err := policy.Tokens(f, sql)
	if err != nil {
		return nil, err
	}
	if f == policy.MySQL {
		// "…" is a string by default and a name under sql_mode
		// ANSI_QUOTES, which the server's configuration may set: read it
		// as a name too, which errs on refusing ("email" is then a
		// denied column, FROM "employee" a denied table).
		for i, t := range toks {
			if t.Kind == policy.TokenString && len(t.Text) >= 2 && t.Text[0] == '"' {
				toks[i].Kind = policy.TokenIdent
				toks[i].Name = strings.ReplaceAll(t.Text[1:len(t.Text)-1], `""`, `"`)
			}
		}
	}
	s := &Stmt{toks: toks}
	s.markTablePositions()
	return s, nil
}

// Name is a dotted name of the statement: one to three parts, each a
// word or quoted identifier as written (Quoted tells which, per part).
type Name struct {
	Parts  []string
	Quoted []bool
	// Call is true when the name is followed by "(": a function.
	Call bool
	// Table is true when the name stands where a FROM list names a table.
	Table bool
	// Alias is true when the name is a select list's output alias
	// (count(*) AS customer, c.name customer), which names nothing.
	Alias bool
}

// Names returns every dotted name of the statement, keywords included
// (callers resolve them against the catalog, where a keyword names
// nothing).
func (s *Stmt) Names() []Name {
	var out []Name
	for i := 0; i < len(s.toks); i++ {
		if !s.isName(i) || (i > 0 && s.isOp(i-1, ".")) {
			continue
		}
		n := Name{}
		j := i
		for {
			n.Parts = append(n.Parts, s.toks[j].Name)
			n.Quoted = append(n.Quoted, s.toks[j].Kind == policy.TokenIdent)
			if s.isOp(j+1, ".") && s.isName(j+2) {
				j += 2
				continue
			}
			break
		}
		n.Call = s.kind(j+1) == policy.TokenLParen && !(len(n.Parts) == 1 && !n.Quoted[0] && parenKeyword[strings.ToUpper(n.Parts[0])])
		n.Table = s.tablePos[j]
		n.Alias = i == j && s.outputAlias(i)
		if len(n.Parts) <= 3 {
			out = append(out, n)
		}
		i = j
	}
	return out
}

// parenKeyword are keywords a "(" may follow that are no function call.
var parenKeyword = map[string]bool{
	"IN": true, "EXISTS": true, "ANY": true, "ALL": true, "SOME": true, "VALUES": true, "USING": true, "ON": true,
	"AS": true, "FROM": true, "JOIN": true, "WHERE": true, "AND": true, "OR": true, "NOT": true, "SELECT": true,
	"LATERAL": true, "OVER": true, "FILTER": true, "WITHIN": true, "ROW": true, "ARRAY": true, "WITH": true,
	"UNION": true, "EXCEPT": true, "INTERSECT": true, "HAVING": true, "BY": true, "WHEN": true, "THEN": true,
	"ELSE": true, "CASE": true, "IS": true, "LIKE": true, "BETWEEN": true, "DISTINCT": true, "TABLE": true,
}

// outputAlias tells whether the name at i is an output column's alias:
// after AS (outside a FROM list, where it is a table's), or, without AS,
// right after a qualified column, a literal or ")" and before "," FROM
// or the end. Such a name is never a value.
func (s *Stmt) outputAlias(i int) bool {
	if !s.isName(i) || s.tablePos[i] {
		return false
	}
	if s.isWord(i-1, "AS") {
		return true
	}
	if !(s.isOp(i+1, ",") || s.isWord(i+1, "FROM") || i+1 == len(s.toks)) {
		return false
	}
	switch s.kind(i - 1) {
	case policy.TokenRParen, policy.TokenNumber, policy.TokenString:
		return true
	case policy.TokenWord, policy.TokenIdent:
		return s.isOp(i-2, ".")
	}
	return false
}

// Operators returns the operators of the statement written with more
// than one character or with characters PostgreSQL's built-in arithmetic
// does not use, as PostgreSQL reads them (adjacent operator characters),
// for a lookup of user-defined operators.
func (s *Stmt) Operators() []string {
	const opChars = "+-*/<>=~!@#%^&|`?"
	var out []string
	for i := 0; i < len(s.toks); i++ {
		if !s.isOpChars(i, opChars) {
			continue
		}
		j := i
		for j+1 < len(s.toks) && s.isOpChars(j+1, opChars) && s.toks[j+1].Start == s.toks[j].End {
			j++
		}
		var b strings.Builder
		for k := i; k <= j; k++ {
			b.WriteString(s.toks[k].Text)
		}
		out = append(out, b.String())
		i = j
	}
	return out
}

func (s *Stmt) isOpChars(i int, chars string) bool {
	if s.kind(i) != policy.TokenOp {
		return false
	}
	for _, c := range s.toks[i].Text {
		if !strings.ContainsRune(chars, c) {
			return false
		}
	}
	return true
}

// CastTypes returns the names that may be the type of a cast: those
// after "::" or AS, and every part of a qualified one.
func (s *Stmt) CastTypes() []string {
	var out []string
	for i := 0; i < len(s.toks); i++ {
		if !(s.isOp(i-1, ":") && s.isOp(i-2, ":") || s.isWord(i-1, "AS")) {
			continue
		}
		for s.isName(i) {
			out = append(out, s.toks[i].Name)
			if !s.isOp(i+1, ".") {
				break
			}
			i += 2
		}
	}
	return out
}

// Escaped reports whether the statement spells an identifier with
// escapes (U&"…"), which name checks cannot read.
func (s *Stmt) Escaped() bool {
	for _, t := range s.toks {
		if t.Escaped {
			return true
		}
	}
	return false
}

// NamesTable reports whether a FROM list of the statement names table
// (case-insensitively, with any qualifier).
func (s *Stmt) NamesTable(table string) bool {
	for i, t := range s.toks {
		if s.tablePos[i] && strings.EqualFold(t.Name, table) {
			return true
		}
	}
	return false
}

// Mentions reports whether some identifier of the statement spells name
// (case-insensitively: a policy errs on refusing).
func (s *Stmt) Mentions(name string) bool {
	for _, t := range s.toks {
		if t.Name != "" && strings.EqualFold(t.Name, name) {
			return true
		}
	}
	return false
}

func (s *Stmt) kind(i int) policy.TokenKind {
	if i < 0 || i >= len(s.toks) {
		return 0
	}
	return s.toks[i].Kind
}

func (s *Stmt) isName(i int) bool {
	k := s.kind(i)
	return (k == policy.TokenWord || k == policy.TokenIdent) && s.toks[i].Name != ""
}

func (s *Stmt) isOp(i int, op string) bool {
	return s.kind(i) == policy.TokenOp && s.toks[i].Text == op
}

func (s *Stmt) isWord(i int, words ...string) bool {
	if s.kind(i) != policy.TokenWord {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(s.toks[i].Text, w) {
			return true
		}
	}
	return false
}

// clauseEnd are the words that end a FROM list.
var clauseEnd = []string{"WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "FETCH", "WINDOW", "UNION",
	"EXCEPT", "INTERSECT", "MINUS", "FOR", "QUALIFY", "SELECT", "RETURNING", "INTO", "PROCEDURE", "LOCK"}

// ambiguousAlias are words of clauseEnd that PostgreSQL or MariaDB also
// take as a table's alias (QUALIFY and MINUS are no keyword of either,
// LOCK and PROCEDURE are not reserved in PostgreSQL): after a table they
// are read as its alias, which errs on refusing.
var ambiguousAlias = []string{"QUALIFY", "MINUS", "LOCK", "PROCEDURE"}

// hardKeywords may follow a table in a FROM list and are no alias in
// PostgreSQL or MariaDB (reserved in both, or parsed as the clause).
var hardKeywords = []string{"JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "OUTER", "ON", "USING", "AS", "WITH",
	"AND", "OR", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "FETCH", "WINDOW", "UNION", "EXCEPT", "INTERSECT",
	"FOR", "SELECT", "INTO", "RETURNING"}

// mayBeAlias tells whether the word at j, right after a table of a FROM
// list (or a parenthesised item), may be its alias in some backend: any
// name but the hard keywords, and the words of a clause or hint only
// when what follows makes them one (USE INDEX, PARTITION (p),
// TABLESAMPLE method, LATERAL (…), STRAIGHT_JOIN t, …). PostgreSQL takes
// FORCE, PARTITION or USE for an alias, MariaDB LATERAL or TABLESAMPLE:
// the check errs on taking a word for an alias.
func (s *Stmt) mayBeAlias(j int) bool {
	if s.kind(j) == policy.TokenIdent {
		return true
	}
	if s.isWord(j, hardKeywords...) {
		return false
	}
	next := j + 1
	switch {
	case s.isWord(j, "USE", "FORCE", "IGNORE"):
		return !s.isWord(next, "INDEX", "KEY")
	case s.isWord(j, "PARTITION"):
		return s.kind(next) != policy.TokenLParen
	case s.isWord(j, "LATERAL", "STRAIGHT_JOIN", "TABLESAMPLE", "PROCEDURE", "MINUS"):
		return !(s.isName(next) && !s.isWord(next, hardKeywords...) || s.kind(next) == policy.TokenLParen)
	case s.isWord(j, "LOCK"):
		return !s.isWord(next, "IN")
	}
	return true
}

// markTablePositions finds the tokens that stand where a FROM list names
// a table: after FROM, JOIN, a comma of the list, LATERAL or ONLY, and
// the last part of a qualified name there. Parentheses open a new frame:
// a subquery, a parenthesised join (which continues the list) or an
// expression (never a FROM list, so that EXTRACT(x FROM y) is not one).
func (s *Stmt) markTablePositions() {
	s.tablePos = make([]bool, len(s.toks))
	const (
		stNone = iota
		stFrom
		stOn
	)
	type frame struct {
		query bool
		state int
	}
	stack := []frame{{query: true}}
	top := func() *frame { return &stack[len(stack)-1] }
	selectish := func(i int) bool { return s.isWord(i, "SELECT", "WITH", "VALUES", "TABLE") }
	afterListStart := func(i int) bool {
		return s.isWord(i, "FROM", "JOIN", "LATERAL", "ONLY", "STRAIGHT_JOIN", "OJ") || s.isOp(i, ",") || s.isOp(i, "{") ||
			s.kind(i) == policy.TokenLParen
	}
	for i := 0; i < len(s.toks); i++ {
		f := top()
		switch {
		case s.kind(i) == policy.TokenLParen:
			inList := f.state == stFrom && afterListStart(i-1)
			nf := frame{query: selectish(i+1) || inList}
			if inList && !selectish(i+1) {
				nf.state = stFrom
			}
			stack = append(stack, nf)
			continue
		case s.kind(i) == policy.TokenRParen:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if !f.query {
			continue
		}
		switch {
		case s.isWord(i, "FROM") && !s.isWord(i-1, "DISTINCT"):
			f.state = stFrom
		case s.isWord(i, "JOIN", "STRAIGHT_JOIN"):
			f.state = stFrom
		case s.isWord(i, "ON", "USING"):
			if f.state != stNone {
				f.state = stOn
			}
		case s.isOp(i, ",") && f.state == stOn:
			f.state = stFrom
		case f.state != stNone && s.isWord(i, "USE", "FORCE", "IGNORE") && s.isWord(i+1, "INDEX", "KEY"):
			// MySQL's index hint, USE INDEX [FOR JOIN | FOR ORDER BY |
			// FOR GROUP BY] (list): its words end no FROM list.
			j := i + 2
			if s.isWord(j, "FOR") {
				j++
				if s.isWord(j, "ORDER", "GROUP") && s.isWord(j+1, "BY") {
					j++
				}
				j++
			}
			if k := s.closing(j); k > 0 {
				i = k
			}
		case s.isWord(i, "FOR") && f.state != stNone && !s.isWord(i+1, "UPDATE", "SHARE", "NO", "KEY"):
			// MariaDB's FOR SYSTEM_TIME … and FOR PORTION OF … qualify a
			// table of the list; only a locking clause ends it.
		case f.state == stFrom && s.isWord(i, ambiguousAlias...) &&
			(s.tablePos[i-1] || s.isWord(i-1, "AS") || s.kind(i-1) == policy.TokenRParen):
			// an alias (FROM orders qualify, customer): the list goes on
		case s.isWord(i, clauseEnd...):
			f.state = stNone
		case s.isName(i) && s.isOp(i-1, ".") && i >= 2 && s.tablePos[i-2]:
			s.tablePos[i] = true // the next part of a qualified table name
		case s.isName(i) && s.isWord(i-1, "TABLE"):
			s.tablePos[i] = true // TABLE t, SHOW CREATE TABLE t
		case f.state == stFrom && s.isName(i) && !(s.isWord(i, "OJ") && s.isOp(i-1, "{")):
			if afterListStart(i-1) || s.isOp(i-1, ".") && s.tablePos[i-2] {
				s.tablePos[i] = true
			}
		}
	}
}

// closing returns the index of the ")" matching the "(" at i, or -1.
func (s *Stmt) closing(i int) int {
	if s.kind(i) != policy.TokenLParen {
		return -1
	}
	depth := 0
	for j := i; j < len(s.toks); j++ {
		switch s.kind(j) {
		case policy.TokenLParen:
			depth++
		case policy.TokenRParen:
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// operandEnd tells whether token i can end an operand of a binary
// operator: a literal, a name that is not a keyword of the select list,
// or a closing parenthesis.
func (s *Stmt) operandEnd(i int) bool {
	switch s.kind(i) {
	case policy.TokenNumber, policy.TokenString, policy.TokenParam, policy.TokenIdent, policy.TokenRParen:
		return true
	case policy.TokenWord:
		return !s.isWord(i, "SELECT", "DISTINCT", "ALL", "ON", "BY", "AS")
	}
	return false
}

// operandStart tells whether token i can start an operand: a literal, a
// name that does not end the select list, "(" or a unary operator.
func (s *Stmt) operandStart(i int) bool {
	switch s.kind(i) {
	case policy.TokenNumber, policy.TokenString, policy.TokenParam, policy.TokenIdent, policy.TokenLParen:
		return true
	case policy.TokenWord:
		return !s.isWord(i, clauseEnd...) && !s.isWord(i, "FROM", "AS")
	case policy.TokenOp:
		return s.isOp(i, "-") || s.isOp(i, "+") || s.isOp(i, "~") || s.isOp(i, "!")
	}
	return false
}

// ColumnRule names the first deny_columns rule that applies to a column
// of schema.table, for a refusal's message.
func ColumnRule(p *access.Policy, schema, table string) string {
	for _, r := range p.ColumnRules() {
		if (r[0] == "" || globEq(r[0], schema)) && globEq(r[1], table) {
			return "deny_columns " + ruleText(r)
		}
	}
	return "deny_columns"
}

func ruleText(r [3]string) string {
	if r[0] == "" {
		return r[1] + "." + r[2]
	}
	return r[0] + "." + r[1] + "." + r[2]
}

// globEq matches name against one pattern part with the policy's own
// matcher (a one-rule policy); only refusals' messages use it.
func globEq(pattern, name string) bool {
	p, err := access.Compile(access.Rules{Schemas: []string{pattern}})
	return err == nil && p.SchemaVisible(name)
}

// CheckColumns applies the conservative rules for schema.table, which the
// statement reads and on which some deny_columns rule applies (HasColumnRules).
// It is allowed only when the statement names the table itself, never
// reads it whole (*, t.*, NATURAL JOIN, the table or its alias as a
// value, column aliases in FROM) and no identifier spells a denied column.
func (s *Stmt) CheckColumns(p *access.Policy, schema, table string) *access.Denied {
	object := table
	if schema != "" {
		object = schema + "." + table
	}
	deny := func(detail string) *access.Denied {
		return &access.Denied{Rule: ColumnRule(p, schema, table), Object: object, Detail: detail}
	}
	if s.Escaped() {
		return deny("an identifier written with escapes (U&\"…\") cannot be checked")
	}
	// Denied columns by name, wherever they appear.
	for _, t := range s.toks {
		if t.Name == "" {
			continue
		}
		if r := p.ColumnDenied(schema, table, t.Name); r != "" {
			return &access.Denied{Rule: r, Object: object + "." + t.Name}
		}
	}
	// The table's names in the statement: itself, its aliases, and the
	// aliases of the parenthesised FROM items (joins, subqueries) that
	// hold it, whose whole row holds its columns.
	names := map[string]bool{strings.ToLower(table): true}
	aliasDef := make([]bool, len(s.toks))
	named := false
	// alias records the alias after token i (a table name or a ")"), if any.
	alias := func(i int) *access.Denied {
		j := i + 1
		if s.isOp(j, "*") {
			j++ // FROM t * (PostgreSQL's old spelling of "with descendants")
		}
		as := s.isWord(j, "AS")
		if as {
			j++
		}
		// After AS any name is the alias; without it, a word that may
		// also end the FROM list is taken as one when it may be one.
		if s.isName(j) && (as || s.mayBeAlias(j)) {
			names[strings.ToLower(s.toks[j].Name)] = true
			aliasDef[j] = true
			if s.kind(j+1) == policy.TokenLParen {
				return deny("column aliases in FROM rename its columns by position")
			}
		}
		return nil
	}
	// A parenthesised query (a subquery, a derived table, a CTE's body)
	// answers only the columns its own select list names, which this
	// check reads on its own: its alias is no name of the table. A
	// parenthesised join's alias is. query[i] is the "(" of the query
	// (-1 for the statement) token i belongs to, and direct holds the
	// queries whose own FROM list reads the table, where * reads it.
	// Each arm of a set operation (UNION, EXCEPT, INTERSECT) is a query
	// of its own: arm[i] numbers token i's arm within its query.
	type armKey struct{ query, arm int }
	query := make([]int, len(s.toks))
	arm := make([]int, len(s.toks))
	arms := map[int]int{}
	direct := map[armKey]bool{}
	qstack := []int{-1}
	var opens []int
	holds := make([]bool, 0, 8) // per open parenthesis: it holds the table
	for i := range s.toks {
		query[i] = qstack[len(qstack)-1]
		if s.isWord(i, "UNION", "EXCEPT", "INTERSECT") {
			arms[query[i]]++
		}
		arm[i] = arms[query[i]]
		switch s.kind(i) {
		case policy.TokenLParen:
			opens = append(opens, i)
			holds = append(holds, false)
			if s.isWord(i+1, "SELECT", "WITH", "VALUES", "TABLE") {
				qstack = append(qstack, i)
			}
			continue
		case policy.TokenRParen:
			if n := len(opens); n > 0 {
				held := holds[n-1]
				isQuery := len(qstack) > 1 && qstack[len(qstack)-1] == opens[n-1]
				if isQuery {
					qstack = qstack[:len(qstack)-1]
				}
				opens, holds = opens[:n-1], holds[:n-1]
				if held && !isQuery {
					if len(holds) > 0 {
						holds[len(holds)-1] = true
					}
					if d := alias(i); d != nil {
						return d
					}
				}
			}
			continue
		}
		if !s.tablePos[i] || !strings.EqualFold(s.toks[i].Name, table) {
			continue
		}
		named = true
		direct[armKey{query[i], arm[i]}] = true
		if len(holds) > 0 {
			holds[len(holds)-1] = true
		}
		if d := alias(i); d != nil {
			return d
		}
	}
	if !named {
		return deny("it is reached through a view, a function or a name the check cannot follow, and some of its columns are denied")
	}
	for i, t := range s.toks {
		switch {
		case t.Kind == policy.TokenOp && t.Text == "*":
			switch {
			case s.isOp(i-1, "."):
				if s.toks[i-2].Name == "" || names[strings.ToLower(s.toks[i-2].Name)] {
					return deny(s.toks[i-2].Text + ".* reads every column")
				}
			case s.kind(i-1) == policy.TokenLParen && s.kind(i+1) == policy.TokenRParen:
				// count(*): no column
			case s.isWord(i-1, "SELECT") && s.kind(i-2) == policy.TokenLParen && s.isWord(i-3, "EXISTS"):
				// EXISTS (SELECT * …) reads no column
			case s.tablePos[i-1] || aliasDef[i-1]:
				// FROM t *: PostgreSQL's "with descendants"
			case s.operandEnd(i-1) && s.operandStart(i+1):
				// multiplication
			case !direct[armKey{query[i], arm[i]}]:
				// * of a query whose FROM list does not read the table
				// (SELECT * FROM orders WHERE customer_id IN (SELECT id
				// FROM customer), SELECT * FROM (SELECT id FROM customer) t)
			default:
				return deny("SELECT * reads every column; name the allowed columns")
			}
		case s.isWord(i, "NATURAL"):
			return deny("NATURAL JOIN compares every column of the same name")
		case s.isWord(i, "TABLE") && s.isName(i+1):
			j := i + 1
			for s.isOp(j+1, ".") && s.isName(j+2) {
				j += 2
			}
			if names[strings.ToLower(s.toks[j].Name)] {
				return deny("TABLE reads every column")
			}
		case t.Name != "" && names[strings.ToLower(t.Name)] && !s.tablePos[i] && !aliasDef[i] && !s.isOp(i+1, ".") && !s.isWord(i-1, "TABLE") &&
			!s.outputAlias(i):
			return deny("the table's row is used as a value (" + t.Text + "); name the allowed columns")
		}
	}
	return nil
}
