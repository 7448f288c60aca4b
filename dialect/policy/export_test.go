package policy

// LexedSemicolon exposes the lexer to the black-box tests: it reports
// whether s holds a ";" outside strings, comments and quoted identifiers,
// and any lexing refusal.
func LexedSemicolon(f Flavor, s string) (bool, error) {
	r, ok := rulesFor(f)
	if !ok {
		return false, &Violation{Reason: "unknown SQL flavor", Flavor: f}
	}
	l := lexer{f: f, r: r, src: s, semi: -1}
	l.out.bodyStart = -1
	for l.pos < len(s) {
		if v := l.next(); v != nil {
			return l.semi >= 0, v
		}
	}
	return l.semi >= 0, nil
}
