// Package policy is sqlmcp's statement policy: the first two layers of the
// read-only guarantee. It decides, from the SQL text alone, whether a
// statement is exactly one read of an allowed kind with no known side
// effect, and explains a refusal in words a language model can act on.
//
// It knows SQL lexing for PostgreSQL, MySQL/MariaDB and SQLite, and nothing
// about drivers, connections or MCP. It is not a parser: it refuses what it
// cannot read with certainty. The database's read-only transaction (layer 3,
// in the dialects) must still hold on its own.
//
// It assumes what the servers do by default and the dialects keep: on
// PostgreSQL standard_conforming_strings is on; on MySQL the connection
// character set is utf8mb4. MySQL text is accepted only when it reads the
// same with or without NO_BACKSLASH_ESCAPES and ANSI_QUOTES.
package policy

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Flavor is the SQL dialect whose lexing and rules apply. Each has its
// rules in rules.go; Check refuses a Flavor without them.
type Flavor int

const (
	Postgres Flavor = iota + 1 // PostgreSQL
	MySQL                      // MySQL and MariaDB
	SQLite                     // SQLite

	// endFlavors follows the last flavor, for Flavors: add a new flavor
	// above it, then its rules (rulesFor) and its name (String); the tests
	// fail until each rule is chosen.
	endFlavors
)

func (f Flavor) String() string {
	switch f {
	case Postgres:
		return "PostgreSQL"
	case MySQL:
		return "MySQL"
	case SQLite:
		return "SQLite"
	}
	return fmt.Sprintf("Flavor(%d)", int(f))
}

// StatementKind is the kind of an accepted statement.
type StatementKind int

const (
	Select  StatementKind = iota + 1 // SELECT, WITH … SELECT, VALUES, TABLE, parenthesised selects
	Explain                          // EXPLAIN without ANALYZE
	Show                             // MySQL SHOW / DESCRIBE / DESC / EXPLAIN <table>
)

func (k StatementKind) String() string {
	switch k {
	case Select:
		return "Select"
	case Explain:
		return "Explain"
	case Show:
		return "Show"
	}
	return fmt.Sprintf("StatementKind(%d)", int(k))
}

// Statement is an accepted statement.
type Statement struct {
	Kind StatementKind
	// Body is the statement text with leading/trailing whitespace and any
	// trailing semicolon(s) removed, comments kept; if the text ends in a
	// line comment ("-- x" with no newline), Body ends with "\n" so
	// callers may safely append text after it.
	Body string
}

// Violation is a refusal.
type Violation struct {
	// Reason says what was refused and, where it helps, what to do instead.
	Reason string
	Flavor Flavor
}

// Error names what the flavor accepts, so that the model's next try is
// one that can succeed.
func (v *Violation) Error() string {
	allowed := v.Flavor.Statements()
	if allowed == "" {
		return "not allowed: " + v.Reason
	}
	return "not allowed: " + v.Reason + ". Only one read-only statement is allowed: " + allowed
}

// Check applies the policy to sql. The error is always a *Violation.
func Check(f Flavor, sql string) (Statement, error) {
	st, v := check(f, sql)
	if v != nil {
		return Statement{}, v
	}
	return st, nil
}

// tokenPool recycles token slices: checking is on every query's path and
// should not make garbage in proportion to the query's length.
var tokenPool = sync.Pool{New: func() any {
	s := make([]token, 0, 128)
	return &s
}}

// maxPooledTokens keeps one huge query from pinning its slice in the pool.
const maxPooledTokens = 1 << 14

// check keeps the typed nil out of the error interface.
func check(f Flavor, sql string) (Statement, *Violation) {
	r, ok := rulesFor(f)
	if !ok {
		return Statement{}, &Violation{Reason: fmt.Sprintf("unknown SQL flavor %d", int(f)), Flavor: f}
	}
	if i := strings.IndexByte(sql, 0); i >= 0 {
		return Statement{}, &Violation{Reason: fmt.Sprintf("NUL byte at offset %d", i), Flavor: f}
	}
	if !utf8.ValidString(sql) {
		// Servers and this lexer could disagree on where a broken
		// multibyte character ends, and so on where a string ends.
		return Statement{}, &Violation{Reason: "the text is not valid UTF-8", Flavor: f}
	}
	bufp := tokenPool.Get().(*[]token)
	lx, v := lex(f, r, sql, (*bufp)[:0])
	defer func() {
		if cap(lx.toks) <= maxPooledTokens {
			*bufp = lx.toks[:0]
			tokenPool.Put(bufp)
		}
	}()
	if v != nil {
		return Statement{}, v
	}
	c := checker{f: f, r: r, src: sql, toks: lx.toks}
	kind, v := c.statement()
	if v != nil {
		return Statement{}, v
	}
	if v := c.scan(); v != nil {
		return Statement{}, v
	}
	body := sql[lx.bodyStart:lx.bodyEnd]
	if lx.bodyLineComment {
		body += "\n"
	}
	return Statement{Kind: kind, Body: body}, nil
}

// checker judges the tokens of one statement. It reads only the flavor's
// rules; f is there to be named in a refusal.
type checker struct {
	f    Flavor
	r    *rules
	src  string
	toks []token
	// explained is the index of the first token of the statement an
	// EXPLAIN explains (set by explain).
	explained int
}

func (c *checker) refuse(format string, args ...any) *Violation {
	return &Violation{Reason: fmt.Sprintf(format, args...), Flavor: c.f}
}

func (c *checker) kind(i int) tokenKind {
	if i < 0 || i >= len(c.toks) {
		return 0
	}
	return c.toks[i].kind
}

func (c *checker) text(i int) string {
	t := c.toks[i]
	return c.src[t.start:t.end]
}

func (c *checker) isWord(i int, kw string) bool {
	return c.kind(i) == tokWord && equalFold(c.text(i), kw)
}

func (c *checker) isOp(i int, op string) bool {
	return c.kind(i) == tokOp && c.text(i) == op
}

// offset is where token i starts, or the end of the text past the last.
func (c *checker) offset(i int) int {
	if i < len(c.toks) {
		return c.toks[i].start
	}
	return len(c.src)
}

// statement classifies the whole statement by its leading keywords.
func (c *checker) statement() (StatementKind, *Violation) {
	describe := c.isWord(0, "DESCRIBE") || c.isWord(0, "DESC")
	switch {
	case c.isWord(0, "EXPLAIN") && c.r.admits(formExplain):
		return c.explain(1)
	case describe && c.r.admits(formDescribe):
		return c.explain(1)
	case c.isWord(0, "SHOW") && c.r.admits(formShow):
		return c.show(1)
	case describe, c.isWord(0, "SHOW"):
		return 0, c.refuseUnadmitted(0)
	}
	if v := c.read(0); v != nil {
		return 0, v
	}
	return Select, nil
}

// show refuses the SHOW forms that expose secrets, server logs or other
// sessions; every other SHOW reads metadata.
func (c *checker) show(i int) (StatementKind, *Violation) {
	switch {
	case c.isWord(i, "GRANTS"):
		// MariaDB prints the account's password hash in its GRANT lines.
		return 0, c.refuse("SHOW GRANTS shows password hashes; read information_schema.USER_PRIVILEGES, SCHEMA_PRIVILEGES and TABLE_PRIVILEGES instead")
	case c.isWord(i, "CREATE") && c.isWord(i+1, "USER"):
		return 0, c.refuse("SHOW CREATE USER shows a password hash")
	case c.isWord(i, "EXPLAIN"), c.isWord(i, "ANALYZE"):
		return 0, c.refuse("SHOW %s FOR inspects another session; explain your own SELECT instead", strings.ToUpper(c.text(i)))
	case (c.isWord(i, "BINLOG") || c.isWord(i, "RELAYLOG")) && c.isWord(i+1, "EVENTS"):
		return 0, c.refuse("SHOW %s EVENTS reads the server's replication log, which holds password hashes and every database's changes", strings.ToUpper(c.text(i)))
	}
	return Show, nil
}

// read checks that the statement starting at token i is a query: SELECT,
// VALUES, TABLE or WITH … followed by one of those, possibly in parentheses.
func (c *checker) read(i int) *Violation {
	for c.kind(i) == tokLParen {
		i++
	}
	if c.kind(i) != tokWord {
		if i >= len(c.toks) {
			return c.refuse("the statement ends before its first keyword")
		}
		return c.refuse("the statement must start with a keyword such as SELECT (found %q at offset %d)", c.text(i), c.offset(i))
	}
	var form statementForm
	switch {
	case c.isWord(i, "SELECT"):
		form = formSelect
	case c.isWord(i, "VALUES"):
		form = formValues
	case c.isWord(i, "TABLE"):
		form = formTable
	case c.isWord(i, "WITH"):
		form = formWith
	default:
		return c.refuseStatement(i)
	}
	if !c.r.admits(form) {
		return c.refuseUnadmitted(i)
	}
	if form == formWith {
		return c.with(i + 1)
	}
	return nil
}

// refuseUnadmitted refuses the statement keyword at token i, which the
// flavor does not admit, with the flavor's reason if it has one.
func (c *checker) refuseUnadmitted(i int) *Violation {
	if why, ok := c.r.unadmitted[strings.ToUpper(c.text(i))]; ok {
		return c.refuse("%s", why)
	}
	return c.refuseStatement(i)
}

// refuseStatement refuses the statement keyword at token i.
func (c *checker) refuseStatement(i int) *Violation {
	var up [16]byte
	w := c.text(i)
	if len(w) <= len(up) {
		for j := 0; j < len(w); j++ {
			up[j] = upper(w[j])
		}
		if why, ok := statementReasons[string(up[:len(w)])]; ok {
			return c.refuse("%s", why)
		}
	}
	return c.refuse("%s is not a read-only query", strings.ToUpper(w))
}

func upper(b byte) byte {
	if b >= 'a' && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b - 'A' + 'a'
	}
	return b
}

// with checks a WITH clause starting after the WITH keyword at i: every
// common table expression must be a query, and so must the main statement.
func (c *checker) with(i int) *Violation {
	if c.isWord(i, "RECURSIVE") {
		i++
	}
	for {
		next, body, ok := c.cte(i)
		if !ok {
			return c.refuse("could not read the WITH clause at offset %d; write WITH name AS (SELECT …) SELECT …", c.offset(i))
		}
		if v := c.read(body); v != nil {
			return c.refuse("WITH may only define queries: %s", v.Reason)
		}
		i = next
		// Skip SEARCH/CYCLE clauses (PostgreSQL, MariaDB) up to the next
		// definition or the main statement.
	clauses:
		for {
			switch c.kind(i) {
			case 0:
				return c.refuse("WITH has no main SELECT after its definitions")
			case tokLParen:
				return c.read(i)
			case tokWord:
				if c.startsStatement(i) {
					return c.read(i)
				}
			case tokOp:
				if c.isOp(i, ",") {
					if _, _, ok := c.cte(i + 1); ok {
						i++
						break clauses
					}
				}
			}
			i++
		}
	}
}

// startsStatement tells whether the word at i can begin the main statement
// of a WITH.
func (c *checker) startsStatement(i int) bool {
	for _, kw := range [...]string{"SELECT", "VALUES", "TABLE", "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE"} {
		if c.isWord(i, kw) {
			return true
		}
	}
	return false
}

// cte reads `name [(columns)] AS [[NOT] MATERIALIZED] (query)` at i. It
// returns the index after it and the index of the query's first token.
func (c *checker) cte(i int) (next, body int, ok bool) {
	if k := c.kind(i); k != tokWord && k != tokIdent {
		return 0, 0, false
	}
	i++
	if c.kind(i) == tokLParen {
		if i = c.skipParens(i); i < 0 {
			return 0, 0, false
		}
	}
	if !c.isWord(i, "AS") {
		return 0, 0, false
	}
	i++
	if c.isWord(i, "NOT") {
		i++
		if !c.isWord(i, "MATERIALIZED") {
			return 0, 0, false
		}
	}
	if c.isWord(i, "MATERIALIZED") {
		i++
	}
	if c.kind(i) != tokLParen {
		return 0, 0, false
	}
	end := c.skipParens(i)
	if end < 0 {
		return 0, 0, false
	}
	return end, i + 1, true
}

// skipParens returns the index after the ")" matching the "(" at i, or -1.
func (c *checker) skipParens(i int) int {
	depth := 0
	for ; i < len(c.toks); i++ {
		switch c.toks[i].kind {
		case tokLParen:
			depth++
		case tokRParen:
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// explain checks the statement after EXPLAIN (or MySQL DESCRIBE/DESC).
func (c *checker) explain(i int) (StatementKind, *Violation) {
	analyze := func(i int) bool { return c.isWord(i, "ANALYZE") || c.isWord(i, "ANALYSE") }
	switch c.r.explain {
	case explainOptionList:
		if c.kind(i) == tokLParen && c.kind(i+1) == tokWord && !c.startsStatement(i+1) && !c.isWord(i+1, "WITH") {
			end := c.skipParens(i)
			if end < 0 {
				return 0, c.refuse("unbalanced parentheses in the EXPLAIN options")
			}
			for j := i + 1; j < end; j++ {
				// Option names may be quoted: ("analyze") is ANALYZE too.
				if analyze(j) || c.kind(j) == tokIdent && (c.toks[j].flags&flagUnicode != 0 || quotedAnalyze(c.text(j))) {
					return 0, c.refuse("EXPLAIN ANALYZE executes the statement; use EXPLAIN without ANALYZE")
				}
			}
			i = end
		}
		for ; c.isWord(i, "VERBOSE") || analyze(i); i++ {
			if analyze(i) {
				return 0, c.refuse("EXPLAIN ANALYZE executes the statement; use EXPLAIN without ANALYZE")
			}
		}
	case explainQueryPlan:
		if c.isWord(i, "QUERY") {
			if !c.isWord(i+1, "PLAN") {
				return 0, c.refuse("expected EXPLAIN QUERY PLAN at offset %d", c.offset(i))
			}
			i += 2
		}
	case explainKeywordOptions:
	options:
		for {
			switch {
			case analyze(i):
				return 0, c.refuse("EXPLAIN ANALYZE executes the statement; use EXPLAIN without ANALYZE")
			case c.isWord(i, "EXTENDED"), c.isWord(i, "PARTITIONS"):
				i++
			case c.isWord(i, "FORMAT"):
				i++
				if c.isOp(i, "=") {
					i++
				}
				if k := c.kind(i); k != tokWord && k != tokString {
					return 0, c.refuse("expected a format name after EXPLAIN FORMAT= at offset %d", c.offset(i))
				}
				i++
			case c.isWord(i, "FOR"):
				if c.isWord(i+1, "SCHEMA") || c.isWord(i+1, "DATABASE") {
					i += 3
					continue
				}
				return 0, c.refuse("EXPLAIN FOR CONNECTION inspects another session; explain your own SELECT instead")
			default:
				break options
			}
		}
		if c.kind(i) == tokWord && !c.startsStatement(i) && !c.isWord(i, "WITH") || c.kind(i) == tokIdent {
			// DESCRIBE t [column]: a table's structure.
			return Show, nil
		}
	default:
		return 0, c.refuse("EXPLAIN is not supported for %v", c.f)
	}
	if i >= len(c.toks) {
		return 0, c.refuse("EXPLAIN needs a statement to explain, such as EXPLAIN SELECT …")
	}
	if v := c.read(i); v != nil {
		return 0, c.refuse("only read statements may be explained: %s", v.Reason)
	}
	c.explained = i
	return Explain, nil
}

func quotedAnalyze(s string) bool {
	s = s[1 : len(s)-1]
	return equalFold(s, "analyze") || equalFold(s, "analyse")
}

// equalFold compares ASCII case-insensitively, as the servers match
// keywords; Unicode folding would make "ſelect" a SELECT.
func equalFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != lower(t[i]) {
			return false
		}
	}
	return true
}

// scan looks through every token of an accepted statement, at any depth,
// for clauses and calls with side effects.
func (c *checker) scan() *Violation {
	depth := 0
	for i, t := range c.toks {
		switch t.kind {
		case tokLParen:
			depth++
		case tokRParen:
			if depth--; depth < 0 {
				return c.refuse("unbalanced parentheses: \")\" at offset %d has no \"(\"", t.start)
			}
		case tokOp:
			if c.r.colonAssign == yes && c.text(i) == ":=" {
				return c.refuse("assigning a user variable (:=) at offset %d changes session state", t.start)
			}
		case tokWord:
			if v := c.keyword(i); v != nil {
				return v
			}
		}
		if c.r.refuseXMLCasts == yes {
			if v := c.xmlCast(i); v != nil {
				return v
			}
		}
		if t.kind == tokWord || t.kind == tokIdent || t.kind == tokString {
			if v := c.relation(i); v != nil {
				return v
			}
			if c.kind(i+1) == tokLParen {
				if v := c.call(i); v != nil {
					return v
				}
			}
		}
	}
	if depth != 0 {
		return c.refuse("unbalanced parentheses: %d \"(\" not closed", depth)
	}
	return nil
}

// keyword refuses the word at i if it starts a write or locking clause.
func (c *checker) keyword(i int) *Violation {
	w := c.text(i)
	if len(w) < 3 || len(w) > 6 {
		// Fast path: every keyword below has 3 to 6 letters.
		return nil
	}
	if c.isName(i) {
		return nil
	}
	switch {
	case equalFold(w, "INTO"):
		return c.refuse("SELECT … INTO writes data; remove INTO (offset %d)", c.offset(i))
	case equalFold(w, "FOR"):
		var clause string
		switch {
		case c.isWord(i+1, "UPDATE"):
			clause = "FOR UPDATE"
		case c.isWord(i+1, "SHARE"):
			clause = "FOR SHARE"
		case c.isWord(i+1, "NO") && c.isWord(i+2, "KEY") && c.isWord(i+3, "UPDATE"):
			clause = "FOR NO KEY UPDATE"
		case c.isWord(i+1, "KEY") && c.isWord(i+2, "SHARE"):
			clause = "FOR KEY SHARE"
		default:
			return nil
		}
		return c.refuse("locking clause %s locks rows; remove it", clause)
	case equalFold(w, "LOCK"):
		if c.isWord(i+1, "IN") && c.isWord(i+2, "SHARE") && c.isWord(i+3, "MODE") {
			return c.refuse("locking clause LOCK IN SHARE MODE locks rows; remove it")
		}
	case equalFold(w, "NEXT"):
		if c.r.refuseNextValueFor == yes && c.isWord(i+1, "VALUE") && c.isWord(i+2, "FOR") {
			return c.refuse("NEXT VALUE FOR advances a sequence")
		}
	case equalFold(w, "INSERT"):
		if c.r.insertFunction == yes && c.kind(i+1) == tokLParen {
			return nil // the INSERT(str, pos, len, newstr) string function
		}
		fallthrough
	case equalFold(w, "UPDATE"), equalFold(w, "DELETE"), equalFold(w, "MERGE"):
		return c.refuse("%s modifies data; a query may contain only reads", strings.ToUpper(w))
	}
	return nil
}

// isName tells whether the word at i is used as a name where the server
// would never read it as a keyword: after a qualifier dot (t.update) or,
// under rules.aliasAfterAS, as an AS column alias (SELECT 1 AS delete).
func (c *checker) isName(i int) bool {
	if c.isOp(i-1, ".") {
		// Only right after "name.": PostgreSQL reads "1.into" as "1." INTO,
		// and MySQL reads "@v. INTO" as the variable "v." then INTO.
		k := c.kind(i - 2)
		return (k == tokWord || k == tokIdent) && c.toks[i-1].end == c.toks[i].start
	}
	return c.r.aliasAfterAS == yes && c.isWord(i-1, "AS")
}

// xmlCast refuses a cast to xml starting at i (rules.refuseXMLCasts):
// x::xml, CAST(x AS xml) and the typed literal xml '…'. A cast parses the text in
// libxml2, which never looks at the statement timeout or a cancel request:
// an 8 MB document parsed for 4.5–6 s against a 500 ms timeout. Reading an
// xml column does not parse it and stays allowed.
func (c *checker) xmlCast(i int) *Violation {
	switch {
	case c.isOp(i, ":") && c.isOp(i+1, ":"):
		if _, ok := c.xmlType(i + 2); !ok {
			return nil
		}
	case c.isWord(i, "AS"):
		end, ok := c.xmlType(i + 1)
		if !ok || c.kind(end) != tokRParen {
			return nil // an alias named xml, not CAST(… AS xml)
		}
	case c.isWord(i, "XML") && c.kind(i+1) == tokString:
	default:
		return nil
	}
	return c.refuse("casting text to xml (offset %d) parses it in libxml2, which the statement timeout cannot interrupt; "+
		"read xml columns as they are, or cast them to text", c.offset(i))
}

// xmlType tells whether the tokens at i name the type xml (xml, "xml",
// pg_catalog.xml), and where that name ends.
func (c *checker) xmlType(i int) (end int, ok bool) {
	if i >= len(c.toks) {
		return 0, false
	}
	var buf [96]byte
	n, ok := c.name(i, &buf)
	if !ok {
		return 0, false
	}
	switch string(n) {
	case "xml":
		return i + 1, true
	case "pg_catalog":
		if c.isOp(i+1, ".") && i+2 < len(c.toks) {
			if m, ok := c.name(i+2, &buf); ok && string(m) == "xml" {
				return i + 3, true
			}
		}
	}
	return 0, false
}

// relation refuses the name at i if it is a relation the flavor may not
// read (functionLists.relations).
func (c *checker) relation(i int) *Violation {
	rels := c.r.functions.relations
	if len(rels) == 0 {
		return nil
	}
	var buf [96]byte
	name, ok := c.name(i, &buf)
	if !ok {
		if c.toks[i].flags&flagUnicode != 0 {
			return c.refuse("could not read the name written with Unicode escapes (U&\"…\") at offset %d; write the name plainly", c.toks[i].start)
		}
		return nil
	}
	rule, ok := rels[string(name)]
	if !ok {
		return nil
	}
	if rule.schema != "" {
		var qbuf [96]byte
		if !c.isOp(i-1, ".") || i < 2 {
			return nil
		}
		if q, ok := c.name(i-2, &qbuf); !ok || string(q) != rule.schema {
			return nil
		}
		return c.refuse("%s.%s %s", rule.schema, string(name), rule.why)
	}
	return c.refuse("%s %s", string(name), rule.why)
}

// name returns the name the word, quoted identifier or double-quoted
// string (rules.doubleQuotedStrings) at i spells, lowercased and unquoted
// into buf, cut at len(buf). ok is false for tokens that cannot name
// anything, and for a U&"…" name whose escapes do not decode.
func (c *checker) name(i int, buf *[96]byte) ([]byte, bool) {
	t := c.toks[i]
	s := c.src[t.start:t.end]
	switch {
	case t.flags&flagUnicode != 0:
		return c.unicodeName(i, buf)
	case t.kind == tokWord:
	case t.kind == tokIdent, t.kind == tokString && c.r.doubleQuotedStrings == yes && s[0] == '"':
		q := s[0]
		if q != '"' && q != '`' && q != '[' {
			return nil, false
		}
		s = s[1 : len(s)-1]
	default:
		return nil, false
	}
	n := 0
	for j := 0; j < len(s) && n < len(buf); j++ {
		b := s[j]
		if t.kind != tokWord && j+1 < len(s) && b == s[j+1] && (b == '"' || b == '`') {
			j++
		}
		buf[n] = lower(b)
		n++
	}
	return buf[:n], true
}

// unicodeName decodes the U&"…" identifier at i, with the
// escape character of a following UESCAPE '…' or a backslash, lowercased
// into buf as name does.
func (c *checker) unicodeName(i int, buf *[96]byte) ([]byte, bool) {
	t := c.toks[i]
	s := c.src[t.start+3 : t.end-1] // U&" … "
	esc := byte('\\')
	if c.isWord(i+1, "UESCAPE") && c.kind(i+2) == tokString {
		e := c.text(i + 2)
		if len(e) != 3 || e[0] != '\'' {
			return nil, false
		}
		esc = e[1]
	}
	var out []byte
	for j := 0; j < len(s); j++ {
		b := s[j]
		switch {
		case b == '"' && j+1 < len(s) && s[j+1] == '"':
			j++
		case b == esc && j+1 < len(s) && s[j+1] == esc:
			j++
		case b == esc:
			n := 4
			if j+1 < len(s) && s[j+1] == '+' {
				n, j = 6, j+1
			}
			if j+n >= len(s) {
				return nil, false
			}
			r, err := strconv.ParseUint(s[j+1:j+1+n], 16, 32)
			if err != nil || r > utf8.MaxRune {
				return nil, false
			}
			out = utf8.AppendRune(out, rune(r))
			j += n
			continue
		}
		out = append(out, b)
	}
	n := copy(buf[:], out)
	for k := 0; k < n; k++ {
		buf[k] = lower(buf[k])
	}
	return buf[:n], true
}

// call refuses a call of a known side-effecting function: the name at i is
// followed by "(".
func (c *checker) call(i int) *Violation {
	t := c.toks[i]
	name := c.src[t.start:t.end]
	if t.flags&flagUnicode != 0 || t.kind == tokString && c.r.unicodeEscapes == yes && c.isWord(i-1, "UESCAPE") {
		// U&"pg_read_fil!0065" UESCAPE '!' (…) is a call of pg_read_file:
		// the "(" follows the escape character's literal, not the name.
		return c.refuse("a function name written with Unicode escapes (U&\"…\") at offset %d; write the name plainly", t.start)
	}
	if t.kind != tokWord {
		q := name[0]
		if q != '"' && q != '`' && q != '[' && q != '\'' {
			return nil // E'…', $$…$$ and the like cannot name a function
		}
		name = name[1 : len(name)-1]
	}
	// Lowercase, and undo quote doubling, into a stack buffer. Longer names
	// are cut: PostgreSQL truncates identifiers at 63 bytes and prefixes
	// are shorter than that.
	var buf [96]byte
	n := 0
	for j := 0; j < len(name) && n < len(buf); j++ {
		b := name[j]
		if t.kind != tokWord && j+1 < len(name) && b == name[j+1] && (b == '"' || b == '`' || b == '\'') {
			j++
		}
		buf[n] = lower(b)
		n++
	}
	lists := c.r.functions
	lname := buf[:n]
	if why, ok := lists.exact[string(lname)]; ok {
		return c.refuse("function %s has side effects (%s)", string(lname), why)
	}
	for _, p := range lists.prefixes {
		if len(lname) >= len(p.prefix) && string(lname[:len(p.prefix)]) == p.prefix {
			return c.refuse("function %s has side effects (%s)", string(lname), p.why)
		}
	}
	for _, arg := range lists.relationArgs {
		if string(lname) == arg.name {
			if v := c.relationArg(i, arg); v != nil {
				return v
			}
		}
	}
	for _, w := range lists.withArgument {
		if string(lname) == w.name && c.kind(i+2) != tokRParen {
			return c.refuse("function %s with an argument %s", w.name, w.why)
		}
	}
	return nil
}

// relationArg checks a call of a function that reads the relation (or
// every relation of the schema) its first argument names, at run time
// (functionLists.relationArgs): table_to_xml('pg_authid', …) or
// schema_to_xml('pg_catalog', …) would read what relation() refuses by
// name. The argument must be a plain string literal, which is checked as
// the name it spells; anything else (an oid, an expression) could name any
// relation and is refused.
func (c *checker) relationArg(i int, arg relationArg) *Violation {
	fname, schema := arg.name, arg.schema
	a := i + 2 // the first argument, after "("
	lit := c.kind(a) == tokString && c.text(a)[0] == '\''
	next := a + 1
	if lit && !schema && c.isOp(next, ":") && c.isOp(next+1, ":") && c.isWord(next+2, "regclass") {
		next += 3
	}
	if !lit || !(c.isOp(next, ",") || c.kind(next) == tokRParen) {
		return c.refuse("%s reads the relation its first argument names when it runs: name it with a plain string literal ('schema.table')", fname)
	}
	// The name as regclass and name read it, folded the safe way: quotes
	// dropped and everything lowercased (a quoted mixed-case name is then
	// checked as its lowercase spelling, which can only refuse more).
	text := c.text(a)
	name := strings.ToLower(strings.NewReplacer("\"", "", " ", "", "\t", "", "\n", "", "\r", "").Replace(strings.ReplaceAll(text[1:len(text)-1], "''", "'")))
	if schema {
		if isSystemSchema(name) {
			return c.refuse("%s over the system schema %s reads catalog relations that expose server files or secrets", fname, name)
		}
		return nil
	}
	rel := name[strings.LastIndexByte(name, '.')+1:]
	if rule, ok := c.r.functions.relations[rel]; ok {
		return c.refuse("%s('%s') reads %s, which %s", fname, rel, rel, rule.why)
	}
	return nil
}
