package policy

import "strings"

// TokenKind classifies a Token.
type TokenKind uint8

const (
	TokenWord   TokenKind = TokenKind(tokWord)   // bare identifier or keyword
	TokenIdent  TokenKind = TokenKind(tokIdent)  // quoted identifier
	TokenString TokenKind = TokenKind(tokString) // string literal
	TokenNumber TokenKind = TokenKind(tokNumber) // numeric literal
	TokenParam  TokenKind = TokenKind(tokParam)  // $1
	TokenOp     TokenKind = TokenKind(tokOp)     // operator or punctuation
	TokenLParen TokenKind = TokenKind(tokLParen) // (
	TokenRParen TokenKind = TokenKind(tokRParen) // )
)

// Token is one significant token of a statement as the policy's lexer
// reads it, for checks that look for names in the text (the access
// policy's plan-level check). Comments and whitespace make no token.
type Token struct {
	Kind TokenKind
	// Text is the token as written.
	Text string
	// Name is the identifier a word or quoted identifier spells: a word
	// as written, a quoted identifier unquoted. Empty for other kinds.
	Name string
	// Escaped is true for an identifier written with escapes (U&"…"),
	// whose Name cannot be read as written.
	Escaped bool
	// Start and End are the token's byte offsets in the text.
	Start, End int
}

// Tokens lexes sql, one statement CheckReadOnly accepted, into its tokens.
func Tokens(f Flavor, sql string) ([]Token, error) {
	r, ok := rulesFor(f)
	if !ok {
		return nil, &Violation{Reason: "unknown SQL flavor", Flavor: f}
	}
	lx, v := lex(f, r, sql, nil)
	if v != nil {
		return nil, v
	}
	out := make([]Token, len(lx.toks))
	for i, t := range lx.toks {
		text := sql[t.start:t.end]
		tok := Token{Kind: TokenKind(t.kind), Text: text, Start: t.start, End: t.end}
		switch t.kind {
		case tokWord:
			tok.Name = text
		case tokIdent:
			if t.flags&flagUnicode != 0 {
				tok.Escaped = true
				break
			}
			tok.Name = unquoteIdent(text)
		}
		out[i] = tok
	}
	return out, nil
}

// unquoteIdent strips the quotes of "x", `x` or [x], undoubling inner ones.
func unquoteIdent(s string) string {
	if len(s) < 2 {
		return s
	}
	q := s[0]
	inner := s[1 : len(s)-1]
	switch q {
	case '"', '`':
		return strings.ReplaceAll(inner, string([]byte{q, q}), string(q))
	}
	return inner
}

// Explained returns the statement an EXPLAIN statement explains (body is
// a Statement of Kind Explain); ok is false for any other statement.
func Explained(f Flavor, body string) (inner string, ok bool) {
	r, ok := rulesFor(f)
	if !ok {
		return "", false
	}
	lx, v := lex(f, r, body, nil)
	if v != nil {
		return "", false
	}
	c := checker{f: f, r: r, src: body, toks: lx.toks}
	kind, v := c.statement()
	if v != nil || kind != Explain || c.explained >= len(lx.toks) {
		return "", false
	}
	inner = body[lx.toks[c.explained].start:lx.bodyEnd]
	if lx.bodyLineComment {
		inner += "\n"
	}
	return inner, true
}
