package jsonstr

import "testing"

// TestLen: the query tool's byte cap counts the text by Len, which must
// be the length Append writes.
func TestLen(t *testing.T) {
	for _, s := range []string{"", "plain", "tab\tnl\ncr\r", `quote" back\`, "\x00\x01\x1f\x7f", "é€😀", "\u2028\u2029", "\xe2\x80", "x\xe2\x80\xa8y\xe2\x80\xaa"} {
		if got, want := Len(s), len(Append(nil, s)); got != want {
			t.Errorf("Len(%q) = %d, want %d", s, got, want)
		}
	}
}
