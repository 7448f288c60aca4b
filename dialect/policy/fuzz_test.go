package policy_test

import (
	"errors"
	"testing"

	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// FuzzCheck looks for inputs on which the policy panics or accepts a
// statement whose body is not exactly one statement.
func FuzzCheck(f *testing.F) {
	for _, tc := range acceptCases {
		for fl := range len(flavors) {
			f.Add(uint8(fl), tc.sql)
		}
	}
	for _, tc := range refuseCases {
		for fl := range len(flavors) {
			f.Add(uint8(fl), tc.sql)
		}
	}
	f.Fuzz(func(t *testing.T, fl uint8, sql string) {
		flavor := flavors[int(fl)%len(flavors)]
		st, err := policy.Check(flavor, sql)
		if err != nil {
			var v *policy.Violation
			if !errors.As(err, &v) || v.Reason == "" || v.Flavor != flavor {
				t.Fatalf("Check(%v, %q) returned %#v, want a *Violation with a reason", flavor, sql, err)
			}
			return
		}
		if st.Body == "" {
			t.Fatalf("Check(%v, %q) accepted with an empty Body", flavor, sql)
		}
		// The body alone is the same statement.
		again, err := policy.Check(flavor, st.Body)
		if err != nil || again != st {
			t.Fatalf("Check(%v, %q) = %+v, but re-checking its Body gives %+v, %v", flavor, sql, st, again, err)
		}
		// The body holds no statement separator.
		if semi, err := policy.LexedSemicolon(flavor, st.Body); semi || err != nil {
			t.Fatalf("Check(%v, %q) accepted a Body %q with a top-level \";\" (lex error %v)", flavor, sql, st.Body, err)
		}
		// Nothing is left open at the end of the body: text appended
		// after it is code, so a second statement is seen and refused.
		for _, tail := range []string{"; SELECT 2", " ; SELECT 2", "\n; SELECT 2"} {
			if _, err := policy.Check(flavor, st.Body+tail); err == nil {
				t.Fatalf("Check(%v, %q): Body %q swallows the appended %q", flavor, sql, st.Body, tail)
			}
		}
		// A terminator on its own line changes nothing.
		if term, err := policy.Check(flavor, sql+"\n;"); err != nil || term != st {
			t.Fatalf("Check(%v, %q+\"\\n;\") = %+v, %v; want %+v", flavor, sql, term, err, st)
		}
	})
}
