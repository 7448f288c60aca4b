package sqlkit

import (
	"fmt"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// QuoteStyle is one way a backend lets a user quote an identifier part.
type QuoteStyle struct {
	open, close byte
	// doubled means a doubled close character inside stands for one
	// ("" in "a""b"); SQLite's [brackets] have no escape at all.
	doubled bool
}

// The identifier quotings the backends use.
var (
	DoubleQuote = QuoteStyle{open: '"', close: '"', doubled: true} // "a""b"
	Backtick    = QuoteStyle{open: '`', close: '`', doubled: true} // `a``b`
	Brackets    = QuoteStyle{open: '[', close: ']'}                // [a b], no escape
)

// NameSyntax is how one backend writes a possibly qualified table name.
type NameSyntax struct {
	Quotes []QuoteStyle
	// Fold is applied to unquoted parts (PostgreSQL lower-cases them);
	// nil keeps them as written.
	Fold func(string) string
}

// Parse splits "t", "s.t", `"My Table"`, `s."T"` into schema and name.
//
// Unquoted parts are taken as written, spaces inside included, so that a
// model writing `My Table` without quotes still gets a name the catalog
// lookup can try; only the dots separate parts. Three-part names are
// refused rather than guessed at: no backend here lets a connection read
// another catalog.
func (s NameSyntax) Parse(name string) (dialect.TableRef, error) {
	parts, err := s.split(name)
	if err != nil {
		return dialect.TableRef{}, fmt.Errorf("table name %q: %w", name, err)
	}
	switch len(parts) {
	case 1:
		return dialect.TableRef{Name: parts[0]}, nil
	case 2:
		return dialect.TableRef{Schema: parts[0], Name: parts[1]}, nil
	}
	return dialect.TableRef{}, fmt.Errorf("table name %q has %d parts: %w; write table or schema.table", name, len(parts), dialect.ErrBadTableName)
}

func (s NameSyntax) split(name string) ([]string, error) {
	var parts []string
	i, n := 0, len(name)
	for {
		for i < n && isSpace(name[i]) {
			i++
		}
		if i == n {
			return nil, fmt.Errorf("%w: empty part", dialect.ErrBadTableName)
		}
		part, next, err := s.part(name, i)
		if err != nil {
			return nil, err
		}
		if part == "" {
			return nil, fmt.Errorf("%w: empty part", dialect.ErrBadTableName)
		}
		parts = append(parts, part)
		i = next
		for i < n && isSpace(name[i]) {
			i++
		}
		if i == n {
			return parts, nil
		}
		if name[i] != '.' {
			return nil, fmt.Errorf("%w: unexpected %q after %q", dialect.ErrBadTableName, name[i:], part)
		}
		i++
	}
}

// part reads one identifier part starting at i and returns it with the
// index just after it.
func (s NameSyntax) part(name string, i int) (string, int, error) {
	for _, q := range s.Quotes {
		if name[i] != q.open {
			continue
		}
		var b strings.Builder
		for j := i + 1; j < len(name); j++ {
			c := name[j]
			if c != q.close {
				b.WriteByte(c)
				continue
			}
			if q.doubled && j+1 < len(name) && name[j+1] == q.close {
				b.WriteByte(c)
				j++
				continue
			}
			return b.String(), j + 1, nil
		}
		return "", 0, fmt.Errorf("%w: unterminated %c", dialect.ErrBadTableName, q.open)
	}
	j := i
	for j < len(name) && name[j] != '.' && !s.isOpenQuote(name[j]) {
		j++
	}
	part := strings.TrimRight(name[i:j], " \t\r\n")
	if s.Fold != nil {
		part = s.Fold(part)
	}
	return part, j, nil
}

func (s NameSyntax) isOpenQuote(c byte) bool {
	for _, q := range s.Quotes {
		if c == q.open {
			return true
		}
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// FoldASCIILower is PostgreSQL's folding of unquoted identifiers in a
// UTF-8 database: only A-Z are lowered, so `Ünïcode` keeps its Ü.
func FoldASCIILower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// QuoteWith wraps name in q, doubling any q inside.
func QuoteWith(name string, q byte) string {
	s := string(q)
	return s + strings.ReplaceAll(name, s, s+s) + s
}
