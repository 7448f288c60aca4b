package policy

import (
	"fmt"
	"strings"
)

// tokenKind classifies the significant tokens of a statement. Comments and
// whitespace produce no token; the policy never needs them.
type tokenKind uint8

const (
	tokWord   tokenKind = iota + 1 // bare identifier or keyword
	tokIdent                       // quoted identifier: "x", `x`, [x], U&"x"
	tokString                      // string literal of any form
	tokNumber                      // numeric literal (letters after digits start a new word)
	tokParam                       // $1 (rules.dollarParams)
	tokOp                          // operator or punctuation, one byte except ":=" (rules.colonAssign)
	tokLParen                      // (
	tokRParen                      // )
)

// flagUnicode marks a U&"..." identifier (rules.unicodeEscapes): its text may spell a
// name with escapes, so the policy cannot read it as written.
const flagUnicode = 1

type token struct {
	kind  tokenKind
	flags uint8
	start int
	end   int
}

// lexed is the first statement of the input as the lexer saw it.
type lexed struct {
	toks []token
	// bodyStart and bodyEnd delimit the statement text, comments included,
	// without surrounding whitespace and without the terminating ";".
	bodyStart, bodyEnd int
	// bodyLineComment is true when the body ends inside a line comment,
	// which then has no newline of its own in the body.
	bodyLineComment bool
}

// lexer splits SQL into tokens the way the server's own lexer would, for
// the single question the policy asks of it: where strings, comments and
// quoted identifiers begin and end, and therefore which ";" and which
// words are code. Whatever it is not sure of, it refuses. It reads only
// the flavor's rules; f is there to be named in a refusal.
type lexer struct {
	f    Flavor
	r    *rules
	src  string
	pos  int
	out  lexed
	semi int // offset of the last ";" seen, -1 before the first
}

// lex returns the tokens of the only statement in src, appending them to
// toks (which callers pass with spare capacity to avoid allocating).
func lex(f Flavor, r *rules, src string, toks []token) (lexed, *Violation) {
	l := lexer{f: f, r: r, src: src, semi: -1}
	l.out.toks = toks
	l.out.bodyStart = -1
	for l.pos < len(src) {
		if v := l.next(); v != nil {
			return l.out, v
		}
	}
	if len(l.out.toks) == 0 {
		return l.out, l.refuse("empty statement (the text holds only whitespace or comments); send one SELECT")
	}
	return l.out, nil
}

func (l *lexer) refuse(format string, args ...any) *Violation {
	return &Violation{Reason: fmt.Sprintf(format, args...), Flavor: l.f}
}

// content records text that belongs to the statement body, so that the
// body can keep its comments.
func (l *lexer) content(start, end int, lineComment bool) {
	if l.semi >= 0 {
		return
	}
	if l.out.bodyStart < 0 {
		l.out.bodyStart = start
	}
	l.out.bodyEnd = end
	l.out.bodyLineComment = lineComment
}

// emit records a significant token. After the first ";" only further ";"
// may follow: anything else is a second statement.
func (l *lexer) emit(kind tokenKind, flags uint8, start, end int) *Violation {
	if l.semi >= 0 {
		return l.refuse("multiple statements (found a second statement after \";\" at offset %d); send one statement at a time", l.semi)
	}
	l.out.toks = append(l.out.toks, token{kind: kind, flags: flags, start: start, end: end})
	l.content(start, end, false)
	l.pos = end
	return nil
}

func (l *lexer) peek(i int) byte {
	if i < len(l.src) {
		return l.src[i]
	}
	return 0
}

func isSpace(r *rules, c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f':
		return true
	case '\v':
		return r.verticalTabIsSpace == yes
	}
	return false
}

func isIdentStart(r *rules, c byte) bool {
	return isLetter(c) || c == '$' && r.dollarStartsIdent == yes
}

// isLetter tells whether c may begin a name in every flavor.
func isLetter(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '$' || c >= 0x80
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// next consumes one token, comment or run of whitespace.
func (l *lexer) next() *Violation {
	src, i, r := l.src, l.pos, l.r
	c := src[i]
	switch {
	case isSpace(r, c):
		l.pos++
		return nil
	case c == '-' && l.peek(i+1) == '-' && (r.dashDashNeedsSpace == no || commentDashes(l.peek(i+2), i+2 >= len(src))):
		return l.lineComment(i)
	case c == '-' && l.peek(i+1) == '-':
		// Two minus signs to this server, a comment to every other SQL
		// reader, and a comment once anything appends a space: do not guess.
		return l.refuse("\"--\" at offset %d is not a comment in %v unless a space follows; write \"-- \" for a comment or \"- -\" for two minus signs", i, l.f)
	case c == '#' && r.hashComments == yes:
		return l.lineComment(i)
	case c == '/' && l.peek(i+1) == '*':
		return l.blockComment(i)
	case c == ';':
		if l.semi < 0 && len(l.out.toks) == 0 {
			return l.refuse("empty statement before \";\" at offset %d; send exactly one statement", i)
		}
		l.semi = i
		l.pos++
		return nil
	case c == '\'':
		return l.quoted(i, i, '\'', tokString, 0)
	case c == '"':
		if r.doubleQuotedStrings == yes {
			return l.quoted(i, i, '"', tokString, 0)
		}
		return l.quoted(i, i, '"', tokIdent, 0)
	case c == '`' && r.backtickIdents == yes:
		return l.quoted(i, i, '`', tokIdent, 0)
	case c == '[' && r.bracketIdents == yes:
		end := strings.IndexByte(src[i+1:], ']')
		if end < 0 {
			return l.refuse("unterminated [identifier] starting at offset %d", i)
		}
		return l.emit(tokIdent, 0, i, i+1+end+1)
	case isDigit(c) || c == '.' && isDigit(l.peek(i+1)):
		return l.number(i)
	case isIdentStart(r, c):
		return l.word(i)
	case c == '$':
		return l.dollar(i)
	case c == '(':
		return l.emit(tokLParen, 0, i, i+1)
	case c == ')':
		return l.emit(tokRParen, 0, i, i+1)
	case c == '?' && r.questionParams == yes:
		// sqlmcp binds no parameters: a placeholder could only fail, and
		// on SQLite it fails outside the database with no useful message.
		return l.refuse("parameter placeholder '?' at offset %d; write the value into the query instead", i)
	case c == ':' && r.colonAssign == yes && l.peek(i+1) == '=':
		return l.emit(tokOp, 0, i, i+2)
	case r.operators.has(c):
		return l.emit(tokOp, 0, i, i+1)
	case c == '@' || c == ':' || c == '#':
		// Named parameters (SQLite), which sqlmcp never binds; their TCL
		// form can even swallow quotes, so do not guess.
		return l.refuse("named parameter (%q at offset %d); write the value into the query instead", c, i)
	case c < 0x20 || c == 0x7f:
		return l.refuse("control character %q at offset %d", c, i)
	}
	return l.refuse("unexpected character %q at offset %d", c, i)
}

// commentDashes tells whether "--" followed by c starts a comment under
// rules.dashDashNeedsSpace: only when followed by whitespace, a control
// character or the end.
func commentDashes(c byte, atEnd bool) bool {
	return atEnd || c <= ' ' || c == 0x7f
}

func (l *lexer) lineComment(i int) *Violation {
	src := l.src
	j := i
	for j < len(src) && src[j] != '\n' && !(src[j] == '\r' && l.r.crEndsLineComment == yes) {
		j++
	}
	l.content(i, j, true)
	l.pos = j
	return nil
}

func (l *lexer) blockComment(i int) *Violation {
	src := l.src
	if l.r.executableComments == yes {
		switch {
		case l.peek(i+2) == '!' || (l.peek(i+2) == 'M' || l.peek(i+2) == 'm') && l.peek(i+3) == '!':
			// Executable comments are code the server runs; reading
			// them right means knowing the server version. Refuse.
			return l.refuse("executable comment /*! … */ at offset %d; write the SQL without it", i)
		case l.peek(i+2) == '+':
			// Hints can lift the time limit (MAX_EXECUTION_TIME, SET_VAR)
			// and have their own lexer; none is needed to read data.
			return l.refuse("optimizer hint /*+ … */ at offset %d; remove the hint", i)
		}
	}
	depth := 1
	j := i + 2
	for j < len(src) {
		switch {
		case src[j] == '*' && l.peek(j+1) == '/':
			depth--
			j += 2
			if depth == 0 {
				l.content(i, j, false)
				l.pos = j
				return nil
			}
		case src[j] == '/' && l.peek(j+1) == '*' && l.r.nestedBlockComments == yes:
			depth++
			j += 2
		default:
			j++
		}
	}
	return l.refuse("unterminated /* comment starting at offset %d", i)
}

// quoted scans a quoted string or identifier whose opening quote q is at
// open; start is where the token begins (before any prefix such as E).
func (l *lexer) quoted(start, open int, q byte, kind tokenKind, flags uint8) *Violation {
	escapes := l.r.backslashEscapes == yes && kind == tokString
	end, ok := l.quoteEnd(open, q, escapes)
	if !ok {
		return l.refuse("unterminated %s starting at offset %d", quotedName(kind, q), start)
	}
	if escapes && strings.IndexByte(l.src[open+1:end], '\\') >= 0 {
		// A backslash escapes the quote unless sql_mode has
		// NO_BACKSLASH_ESCAPES (or, for "…", ANSI_QUOTES). Accept only
		// text that ends in the same place either way.
		if alt, ok := l.quoteEnd(open, q, false); !ok || alt != end {
			return l.refuse("backslash before a quote in the %s at offset %d is read differently depending on sql_mode; double the quote (%c%c) instead", quotedName(kind, q), start, q, q)
		}
	}
	if l.r.stringContinuation == yes && q == '\'' {
		return l.continued(start, end, false)
	}
	return l.emit(kind, flags, start, end)
}

// continued handles string continuation (rules.stringContinuation): 'a'<newline>'b' is
// one literal, and the second part keeps the first part's escaping rules.
// end is just past the closing quote of the part before.
func (l *lexer) continued(start, end int, escapes bool) *Violation {
	for {
		next, ok := quoteContinues(l.src, end)
		if !ok {
			return l.emit(tokString, 0, start, end)
		}
		var closed bool
		end, closed = scanQuote(l.src, next-1, '\'', escapes)
		if !closed {
			return l.refuse("unterminated string starting at offset %d", start)
		}
	}
}

// quoteContinues reports whether a string literal ending at i continues:
// horizontal space or -- comments, a newline, any space or comment-lines,
// then a quote. It returns the offset after that quote.
func quoteContinues(src string, i int) (int, bool) {
	skipComment := func(j int) int {
		for j < len(src) && src[j] != '\n' && src[j] != '\r' {
			j++
		}
		return j
	}
	j := i
	for j < len(src) {
		if c := src[j]; c == ' ' || c == '\t' || c == '\f' {
			j++
		} else if c == '-' && j+1 < len(src) && src[j+1] == '-' {
			j = skipComment(j)
		} else {
			break
		}
	}
	if j >= len(src) || src[j] != '\n' && src[j] != '\r' {
		return 0, false
	}
	for j < len(src) {
		c := src[j]
		switch {
		case c == ' ' || c == '\t' || c == '\f' || c == '\n' || c == '\r':
			j++
			continue
		case c == '-' && j+1 < len(src) && src[j+1] == '-':
			k := skipComment(j)
			if k < len(src) {
				j = k
				continue
			}
		case c == '\'':
			return j + 1, true
		}
		return 0, false
	}
	return 0, false
}

// quoteEnd returns the offset just past the quote that closes the quoted
// text opening at open.
func (l *lexer) quoteEnd(open int, q byte, escapes bool) (int, bool) {
	return scanQuote(l.src, open, q, escapes)
}

// scanQuote finds the closing quote q for the text opening at open: a
// doubled quote stands for itself and, with escapes, a backslash takes the
// next byte literally.
func scanQuote(src string, open int, q byte, escapes bool) (int, bool) {
	for j := open + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			if escapes {
				j++
			}
		case q:
			if j+1 < len(src) && src[j+1] == q {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return 0, false
}

func quotedName(kind tokenKind, q byte) string {
	if kind == tokIdent {
		return "quoted identifier " + string(q) + "…" + closing(q)
	}
	return "string " + string(q) + "…" + string(q)
}

func closing(q byte) string {
	if q == '[' {
		return "]"
	}
	return string(q)
}

// number scans a numeric literal. Letters right after it start a new word
// (PostgreSQL before 15 reads 1into as 1 INTO), so words are never hidden.
func (l *lexer) number(i int) *Violation {
	src := l.src
	j := i
	for j < len(src) && (isDigit(src[j]) || src[j] == '_' && j+1 < len(src) && isDigit(src[j+1])) {
		j++
	}
	if j < len(src) && src[j] == '.' && l.peek(j+1) != '.' {
		j++
		for j < len(src) && isDigit(src[j]) {
			j++
		}
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && isDigit(src[k]) {
			for k < len(src) && isDigit(src[k]) {
				k++
			}
			j = k
		}
	}
	return l.emit(tokNumber, 0, i, j)
}

// word scans a bare identifier or keyword, or a literal with a letter
// prefix: E'…', B'…', X'…', N'…' (rules.prefixedStrings), U&'…', U&"…"
// (rules.unicodeEscapes).
func (l *lexer) word(i int) *Violation {
	src := l.src
	c, n := src[i]|0x20, l.peek(i+1)
	switch {
	case n == '\'' && c == 'e' && l.r.prefixedStrings == yes:
		return l.quotedPrefixed(i, i+1, true)
	case n == '\'' && (c == 'b' || c == 'x' || c == 'n') && l.r.prefixedStrings == yes:
		return l.quotedPrefixed(i, i+1, false)
	case n == '&' && c == 'u' && l.peek(i+2) == '\'' && l.r.unicodeEscapes == yes:
		return l.quotedPrefixed(i, i+2, false)
	case n == '&' && c == 'u' && l.peek(i+2) == '"' && l.r.unicodeEscapes == yes:
		return l.quoted(i, i+2, '"', tokIdent, flagUnicode)
	}
	j := i + 1
	for j < len(src) && isIdentCont(src[j]) {
		j++
	}
	return l.emit(tokWord, 0, i, j)
}

func (l *lexer) quotedPrefixed(start, open int, escapes bool) *Violation {
	end, ok := scanQuote(l.src, open, '\'', escapes)
	if !ok {
		return l.refuse("unterminated string starting at offset %d", start)
	}
	return l.continued(start, end, escapes)
}

// dollar scans what a "$" starts where it does not start an identifier:
// a parameter ($1, rules.dollarParams) or a dollar-quoted string ($$…$$,
// $tag$…$tag$, rules.dollarQuotes).
func (l *lexer) dollar(i int) *Violation {
	src := l.src
	if isDigit(l.peek(i + 1)) {
		j := i + 1
		for j < len(src) && isDigit(src[j]) {
			j++
		}
		if l.r.dollarParams != yes {
			return l.refuse("named parameter (%q at offset %d); write the value into the query instead", '$', i)
		}
		return l.emit(tokParam, 0, i, j)
	}
	if l.r.dollarQuotes != yes {
		return l.refuse("named parameter (%q at offset %d); write the value into the query instead", '$', i)
	}
	j := i + 1
	if c := l.peek(j); c != '$' && !isLetter(c) {
		return l.refuse("unexpected character '$' at offset %d", i)
	}
	for j < len(src) && src[j] != '$' && isIdentCont(src[j]) {
		j++
	}
	if j >= len(src) || src[j] != '$' {
		return l.refuse("unexpected character '$' at offset %d", i)
	}
	tag := src[i : j+1]
	end := strings.Index(src[j+1:], tag)
	if end < 0 {
		return l.refuse("unterminated dollar-quoted string %s…%s starting at offset %d", tag, tag, i)
	}
	return l.emit(tokString, 0, i, j+1+end+len(tag))
}
