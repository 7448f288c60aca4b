package policy

import "reflect"

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

// UnchosenRules lists the fields of f's rules, and of the structs they
// point to (functions.exact, …), that are left at their zero value: a rule
// nobody chose. ok is false when f has no rules at all.
func UnchosenRules(f Flavor) (unchosen []string, ok bool) {
	r, ok := rulesFor(f)
	if !ok {
		return nil, false
	}
	return zeroFields(reflect.ValueOf(r).Elem(), ""), true
}

// RuleNames lists every field UnchosenRules looks at, so that a test can
// show it is not vacuous.
func RuleNames() []string {
	var names []string
	walkFields(reflect.ValueOf(&postgresRules).Elem(), "", func(name string, _ reflect.Value) {
		names = append(names, name)
	})
	return names
}

// EmptyRulesUnchosen is UnchosenRules for rules, and functions lists, with
// no field set: the tests check that it names every rule.
func EmptyRulesUnchosen() []string {
	unchosen := zeroFields(reflect.ValueOf(rules{}), "")
	return append(unchosen, zeroFields(reflect.ValueOf(functionLists{}), "functions.")...)
}

func zeroFields(v reflect.Value, prefix string) []string {
	var zero []string
	walkFields(v, prefix, func(name string, fv reflect.Value) {
		if fv.IsZero() {
			zero = append(zero, name)
		}
	})
	return zero
}

// walkFields calls visit for each field of the struct v and, through
// non-nil pointers, of the structs its fields point to.
func walkFields(v reflect.Value, prefix string, visit func(string, reflect.Value)) {
	for i := range v.NumField() {
		fv, name := v.Field(i), prefix+v.Type().Field(i).Name
		visit(name, fv)
		if fv.Kind() == reflect.Pointer && !fv.IsNil() && fv.Elem().Kind() == reflect.Struct {
			walkFields(fv.Elem(), name+".", visit)
		}
	}
}
