package dialect

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadTableName is returned (wrapped) by ParseTableName when the text
// cannot name a table: empty parts, an unterminated quote, too many parts.
var ErrBadTableName = errors.New("invalid table name")

// quoteStyle is one way a backend lets a user quote an identifier part.
type quoteStyle struct {
	open, close byte
	// doubled means a doubled close character inside stands for one
	// ("" in "a""b"); SQLite's [brackets] have no escape at all.
	doubled bool
}

var (
	doubleQuote = quoteStyle{open: '"', close: '"', doubled: true}
	backtick    = quoteStyle{open: '`', close: '`', doubled: true}
	brackets    = quoteStyle{open: '[', close: ']'}
)

// nameSyntax is how one backend writes a possibly qualified table name.
type nameSyntax struct {
	quotes []quoteStyle
	// fold is applied to unquoted parts (PostgreSQL lower-cases them);
	// nil keeps them as written.
	fold func(string) string
}

// parse splits "t", "s.t", `"My Table"`, `s."T"` into schema and name.
//
// Unquoted parts are taken as written, spaces inside included, so that a
// model writing `My Table` without quotes still gets a name the catalog
// lookup can try; only the dots separate parts. Three-part names are
// refused rather than guessed at: no backend here lets a connection read
// another catalog.
func (s nameSyntax) parse(name string) (TableRef, error) {
	parts, err := s.split(name)
	if err != nil {
		return TableRef{}, fmt.Errorf("table name %q: %w", name, err)
	}
	switch len(parts) {
	case 1:
		return TableRef{Name: parts[0]}, nil
	case 2:
		return TableRef{Schema: parts[0], Name: parts[1]}, nil
	}
	return TableRef{}, fmt.Errorf("table name %q has %d parts: %w; write table or schema.table", name, len(parts), ErrBadTableName)
}

func (s nameSyntax) split(name string) ([]string, error) {
	var parts []string
	i, n := 0, len(name)
	for {
		for i < n && isSpace(name[i]) {
			i++
		}
		if i == n {
			return nil, fmt.Errorf("%w: empty part", ErrBadTableName)
		}
		part, next, err := s.part(name, i)
		if err != nil {
			return nil, err
		}
		if part == "" {
			return nil, fmt.Errorf("%w: empty part", ErrBadTableName)
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
			return nil, fmt.Errorf("%w: unexpected %q after %q", ErrBadTableName, name[i:], part)
		}
		i++
	}
}

// part reads one identifier part starting at i and returns it with the
// index just after it.
func (s nameSyntax) part(name string, i int) (string, int, error) {
	for _, q := range s.quotes {
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
		return "", 0, fmt.Errorf("%w: unterminated %c", ErrBadTableName, q.open)
	}
	j := i
	for j < len(name) && name[j] != '.' && !s.isOpenQuote(name[j]) {
		j++
	}
	part := strings.TrimRight(name[i:j], " \t\r\n")
	if s.fold != nil {
		part = s.fold(part)
	}
	return part, j, nil
}

func (s nameSyntax) isOpenQuote(c byte) bool {
	for _, q := range s.quotes {
		if c == q.open {
			return true
		}
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// foldASCIILower is PostgreSQL's folding of unquoted identifiers in a
// UTF-8 database: only A-Z are lowered, so `Ünïcode` keeps its Ü.
func foldASCIILower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// quoteWith wraps name in q, doubling any q inside.
func quoteWith(name string, q byte) string {
	s := string(q)
	return s + strings.ReplaceAll(name, s, s+s) + s
}

var (
	// PostgreSQL: "double quotes", unquoted parts fold to lower case.
	postgresNames = nameSyntax{quotes: []quoteStyle{doubleQuote}, fold: foldASCIILower}
	// MySQL/MariaDB: `backticks`; "double quotes" too, because in a tool
	// argument they can only mean a name (as under ANSI_QUOTES).
	mysqlNames = nameSyntax{quotes: []quoteStyle{backtick, doubleQuote}}
	// SQLite accepts all three identifier quotings.
	sqliteNames = nameSyntax{quotes: []quoteStyle{doubleQuote, brackets, backtick}}
)

// QuoteIdent quotes one identifier part: "a""b".
func (postgres) QuoteIdent(name string) string { return quoteWith(name, '"') }

// ParseTableName folds unquoted parts to lower case as PostgreSQL does.
// DescribeTable falls back to a case-insensitive match, so `MyTable`
// still finds a table created as "MyTable".
func (postgres) ParseTableName(name string) (TableRef, error) { return postgresNames.parse(name) }

// QuoteIdent quotes one identifier part in backticks, doubling any inside.
func (*mysql) QuoteIdent(name string) string { return quoteWith(name, '`') }

// ParseTableName keeps unquoted parts as written: MySQL table names are
// case-sensitive where the file system is (lower_case_table_names=0).
func (*mysql) ParseTableName(name string) (TableRef, error) { return mysqlNames.parse(name) }

// QuoteIdent quotes one identifier part: "a""b".
func (sqlite) QuoteIdent(name string) string { return quoteWith(name, '"') }

// ParseTableName keeps unquoted parts as written; SQLite itself matches
// table names case-insensitively (ASCII only).
func (sqlite) ParseTableName(name string) (TableRef, error) { return sqliteNames.parse(name) }
