package policy

import "strings"

// This file is the one place where the flavors differ. The lexer and the
// checker never compare flavors: they read the rules of the flavor they
// were given, and a flavor without rules is refused outright. A rule that
// defaults to "like some other backend" is how a read-only policy fails
// open, so each flavor's rules are written out in full, and the tests
// refuse a flavor that leaves any rule unchosen (see choice).

// choice is a yes-or-no rule. Its zero value means "not chosen", which the
// tests refuse: a flavor says no as deliberately as it says yes.
type choice uint8

const (
	no choice = iota + 1
	yes
)

// byteSet is a set of ASCII bytes.
type byteSet [2]uint64

// bytesOf returns the set of the bytes in s, all of them ASCII.
func bytesOf(s string) byteSet {
	var set byteSet
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			panic("policy: non-ASCII byte in a byte set")
		}
		set[c>>6] |= 1 << (c & 63)
	}
	return set
}

func (s *byteSet) has(c byte) bool {
	return c < 0x80 && s[c>>6]&(1<<(c&63)) != 0
}

// statementForm is a form of statement a flavor may admit, told apart by
// its leading keyword.
type statementForm uint8

const (
	formSelect   statementForm = iota + 1 // SELECT …
	formWith                              // WITH … SELECT
	formValues                            // VALUES (…)
	formTable                             // TABLE name
	formExplain                           // EXPLAIN statement, in the flavor's explainGrammar
	formShow                              // SHOW …
	formDescribe                          // DESCRIBE or DESC: a table's structure, or an EXPLAIN
)

// admitted is a statement form a flavor accepts, and how the model is told
// about it.
type admitted struct {
	form statementForm
	name string
}

// explainGrammar is how a flavor writes the options between EXPLAIN and the
// statement it explains.
type explainGrammar uint8

const (
	// explainOptionList: EXPLAIN [(option [value], …)] [VERBOSE] statement,
	// where an ANALYZE option anywhere executes the statement (PostgreSQL).
	explainOptionList explainGrammar = iota + 1
	// explainQueryPlan: EXPLAIN [QUERY PLAN] statement; neither executes it
	// (SQLite).
	explainQueryPlan
	// explainKeywordOptions: EXPLAIN [EXTENDED | PARTITIONS | FORMAT[=]name |
	// FOR SCHEMA name] statement, where ANALYZE executes it and FOR
	// CONNECTION inspects another session; EXPLAIN or DESCRIBE followed by a
	// name shows a table's structure (MySQL, MariaDB).
	explainKeywordOptions
)

// rules are everything the lexer and the checker decide differently for
// one flavor. Every field must be set in every flavor's literal; the tests
// fail on a field left at its zero value.
type rules struct {
	// Lexing: where strings, comments and quoted identifiers begin and end.

	// verticalTabIsSpace: '\v' is whitespace. If not, it is refused as a
	// control character (PostgreSQL before 16 rejects it, 16 treats it
	// differently inside string continuations).
	verticalTabIsSpace choice
	// dollarStartsIdent: '$' may begin a bare identifier ($a) as well as
	// continue one (a$b), so '$' never starts a dollar quote or parameter.
	dollarStartsIdent choice
	// hashComments: '#' starts a line comment.
	hashComments choice
	// dashDashNeedsSpace: "--" starts a comment only when whitespace, a
	// control character or the end follows; otherwise it is two minus
	// signs, which every other SQL reader would take for a comment, so it
	// is refused. If not, "--" always starts a comment.
	dashDashNeedsSpace choice
	// crEndsLineComment: a carriage return ends a "--" comment as a newline
	// does. If not, only '\n' does.
	crEndsLineComment choice
	// nestedBlockComments: "/*" inside a block comment opens a nested one,
	// which needs its own "*/".
	nestedBlockComments choice
	// executableComments: the server runs "/*! … */" and "/*M! … */" as
	// code and reads "/*+ … */" as optimizer hints (which can lift the time
	// limit); both are refused. If not, they are plain comments.
	executableComments choice
	// doubleQuotedStrings: "…" is a string by default (an identifier under
	// ANSI_QUOTES). If not, "…" is a quoted identifier.
	doubleQuotedStrings choice
	// backtickIdents: `…` is a quoted identifier.
	backtickIdents choice
	// bracketIdents: […] is a quoted identifier.
	bracketIdents choice
	// backslashEscapes: a backslash may escape a quote inside a string,
	// depending on the session's sql_mode (NO_BACKSLASH_ESCAPES); strings
	// whose end depends on it are refused. If not, a backslash is an
	// ordinary character in a plain string.
	backslashEscapes choice
	// stringContinuation: 'a'<newline>'b' is one literal, 'ab'.
	stringContinuation choice
	// prefixedStrings: E'…' (with backslash escapes), B'…', X'…' and N'…'
	// are single literals that continue like plain strings.
	prefixedStrings choice
	// unicodeEscapes: U&'…' and U&"…" spell text with escapes, and a
	// following UESCAPE '…' chooses the escape character.
	unicodeEscapes choice
	// dollarQuotes: $$…$$ and $tag$…$tag$ are strings.
	dollarQuotes choice
	// dollarParams: $1 is a positional parameter. If not, "$" followed by a
	// digit is refused as a parameter sqlmcp would never bind.
	dollarParams choice
	// questionParams: '?' is a parameter placeholder, refused because
	// sqlmcp binds no parameters. If not, '?' is whatever operators says.
	questionParams choice
	// colonAssign: ":=" is one token, assignment to a user variable, and
	// is refused because it changes session state.
	colonAssign choice
	// operators is the punctuation accepted as operators outside strings.
	// Anything not listed here, and not read by another rule, is refused.
	operators byteSet

	// Checking: which statements, clauses and calls are allowed.

	// statements are the statement forms admitted, in the order the model
	// is told about them (Flavor.Statements). Nothing else is admitted.
	statements []admitted
	// unadmitted says why a statement keyword the flavor does not admit is
	// refused, and what to write instead, keyed by its uppercase spelling.
	// It is consulted for SHOW, DESCRIBE and DESC at the start of the
	// statement and for a query keyword (TABLE …) not admitted; a keyword
	// not listed gets the generic reason (statementReasons).
	unadmitted map[string]string
	// explain is the grammar of EXPLAIN's options.
	explain explainGrammar
	// refuseXMLCasts: a cast of text to xml (x::xml, CAST(x AS xml),
	// xml '…') is refused, because it parses the text in libxml2, which the
	// statement timeout cannot interrupt.
	refuseXMLCasts choice
	// aliasAfterAS: a word right after AS is a column alias, never a
	// keyword (SELECT 1 AS delete). If not, only a word right after
	// "name." is known to be a name.
	aliasAfterAS choice
	// refuseNextValueFor: NEXT VALUE FOR seq advances a sequence and is
	// refused.
	refuseNextValueFor choice
	// insertFunction: INSERT followed by "(" is the string function
	// INSERT(str, pos, len, newstr), not a write.
	insertFunction choice
	// functions are the functions and relations the flavor refuses by name.
	functions *functionLists
}

// admits tells whether the flavor accepts statements of the form.
func (r *rules) admits(form statementForm) bool {
	for _, a := range r.statements {
		if a.form == form {
			return true
		}
	}
	return false
}

// rulesFor returns the rules of f. There is no default: a flavor without
// rules is refused, never given another flavor's.
func rulesFor(f Flavor) (*rules, bool) {
	switch f {
	case Postgres:
		return &postgresRules, true
	case MySQL:
		return &mysqlRules, true
	case SQLite:
		return &sqliteRules, true
	}
	return nil, false
}

// Flavors returns every flavor the policy knows, in order.
func Flavors() []Flavor {
	fs := make([]Flavor, 0, int(endFlavors)-1)
	for f := Postgres; f < endFlavors; f++ {
		fs = append(fs, f)
	}
	return fs
}

// Statements names the statements f admits, for the model: for example
// "SELECT, WITH … SELECT, VALUES, TABLE or EXPLAIN (without ANALYZE)".
// It is derived from the same rules Check applies, so a tool description
// built from it advertises exactly what Check accepts. It is empty for an
// unknown flavor, which admits nothing.
func (f Flavor) Statements() string {
	r, ok := rulesFor(f)
	if !ok {
		return ""
	}
	var b strings.Builder
	for i, a := range r.statements {
		switch {
		case i == 0:
		case i == len(r.statements)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(a.name)
	}
	return b.String()
}

// The common part of every flavor's operators.
const commonOperators = ",.+-*/%<>=!~&|"

var postgresRules = rules{
	verticalTabIsSpace:  no,
	dollarStartsIdent:   no,
	hashComments:        no,
	dashDashNeedsSpace:  no,
	crEndsLineComment:   yes,
	nestedBlockComments: yes,
	executableComments:  no, // /*+ … */ is pg_hint_plan's, and only a comment to the server
	doubleQuotedStrings: no,
	backtickIdents:      no,
	bracketIdents:       no,
	backslashEscapes:    no, // standard_conforming_strings is on
	stringContinuation:  yes,
	prefixedStrings:     yes,
	unicodeEscapes:      yes,
	dollarQuotes:        yes,
	dollarParams:        yes,
	questionParams:      no, // ?, ?| and ?& are jsonb operators
	colonAssign:         no,
	operators:           bytesOf(commonOperators + "[]^@:#`?"),

	statements: []admitted{
		{formSelect, "SELECT"},
		{formWith, "WITH … SELECT"},
		{formValues, "VALUES"},
		{formTable, "TABLE"},
		{formExplain, "EXPLAIN (without ANALYZE)"},
	},
	unadmitted: map[string]string{
		"SHOW":     "SHOW is not supported here; read a setting with SELECT current_setting('name')",
		"DESCRIBE": "DESCRIBE is a MySQL statement; query the catalog with SELECT instead",
		"DESC":     "DESC is a MySQL statement; query the catalog with SELECT instead",
	},
	explain:            explainOptionList,
	refuseXMLCasts:     yes,
	aliasAfterAS:       yes,
	refuseNextValueFor: no, // not PostgreSQL syntax; nextval() is refused by name
	insertFunction:     no,
	functions:          &postgresFunctions,
}

var mysqlRules = rules{
	verticalTabIsSpace:  yes,
	dollarStartsIdent:   yes,
	hashComments:        yes,
	dashDashNeedsSpace:  yes,
	crEndsLineComment:   no,
	nestedBlockComments: no,
	executableComments:  yes,
	doubleQuotedStrings: yes,
	backtickIdents:      yes,
	bracketIdents:       no,
	backslashEscapes:    yes,
	stringContinuation:  no,
	prefixedStrings:     no, // X'…', B'…', N'…' lex as a word and a string, which reads the same
	unicodeEscapes:      no,
	dollarQuotes:        no, // '$' starts an identifier (dollarStartsIdent)
	dollarParams:        no, // likewise
	questionParams:      yes,
	colonAssign:         yes,
	operators:           bytesOf(commonOperators + "^@:{}"), // {}: ODBC escapes such as {d '2024-01-01'}

	statements: []admitted{
		{formSelect, "SELECT"},
		{formWith, "WITH … SELECT"},
		{formValues, "VALUES"},
		{formTable, "TABLE"},
		{formExplain, "EXPLAIN (without ANALYZE)"},
		{formShow, "SHOW"},
		{formDescribe, "DESCRIBE"},
	},
	unadmitted:         map[string]string{}, // it admits every statement keyword the checker singles out
	explain:            explainKeywordOptions,
	refuseXMLCasts:     no,
	aliasAfterAS:       no,
	refuseNextValueFor: yes, // MariaDB sequences
	insertFunction:     yes,
	functions:          &mysqlFunctions,
}

var sqliteRules = rules{
	verticalTabIsSpace:  yes,
	dollarStartsIdent:   no,
	hashComments:        no,
	dashDashNeedsSpace:  no,
	crEndsLineComment:   no,
	nestedBlockComments: no,
	executableComments:  no,
	doubleQuotedStrings: no,
	backtickIdents:      yes,
	bracketIdents:       yes,
	backslashEscapes:    no,
	stringContinuation:  no,
	prefixedStrings:     no, // X'…' lexes as a word and a string, which reads the same
	unicodeEscapes:      no,
	dollarQuotes:        no,
	dollarParams:        no, // $1 and $name are named parameters, refused
	questionParams:      yes,
	colonAssign:         no,
	operators:           bytesOf(commonOperators), // @, :, # and $ start named parameters, refused

	statements: []admitted{
		{formSelect, "SELECT"},
		{formWith, "WITH … SELECT"},
		{formValues, "VALUES"},
		{formExplain, "EXPLAIN [QUERY PLAN]"},
	},
	unadmitted: map[string]string{
		"SHOW":     "SHOW is a MySQL statement; query the catalog with SELECT instead",
		"DESCRIBE": "DESCRIBE is a MySQL statement; query the catalog with SELECT instead",
		"DESC":     "DESC is a MySQL statement; query the catalog with SELECT instead",
		"TABLE":    "SQLite has no TABLE statement; write SELECT * FROM name",
	},
	explain:            explainQueryPlan,
	refuseXMLCasts:     no,
	aliasAfterAS:       no,
	refuseNextValueFor: no,
	insertFunction:     no,
	functions:          &sqliteFunctions,
}
