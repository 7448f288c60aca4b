// Package jsonstr encodes text as a JSON string exactly as the go-sdk's
// encoder does (control characters and U+2028/U+2029 escaped, <, > and &
// left alone): the query tool's result writer and the transports that
// splice its answers into the SDK's messages must agree byte for byte.
package jsonstr

const hexDigits = "0123456789abcdef"

// Append appends s as a JSON string. s is valid UTF-8. Like
// encoding/json it escapes control characters and U+2028/U+2029 (which
// break JavaScript parsers); unlike it, it leaves <, > and & alone, as the
// SDK's own encoder does.
func Append[S string | []byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		if c < 0x80 {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
		if c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && s[i+2]&^1 == 0xA8 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[s[i+2]&0xf])
			i += 3
			start = i
			continue
		}
		i++
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Len is len(Append(nil, s)) without building it.
func Len[S string | []byte](s S) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n++
		case c < 0x20:
			n += 5
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && s[i+2]&^1 == 0xA8:
			n += 3 // 3 bytes become \u202x
			i += 2
		}
	}
	return n
}
