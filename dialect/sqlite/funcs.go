package sqlite

import (
	"bytes"
	"database/sql/driver"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite's instr(), replace() and the two-argument trim(), ltrim() and
// rtrim() compare their operands position by position: O(n·m) inside a
// single VDBE opcode, where sqlite3_interrupt is never looked at. On
// values of a few hundred KiB one call runs for seconds to hours, pinning a
// CPU of sqlmcp itself after the call has timed out. sqlmcp replaces them,
// on each connection it opens, with linear-time versions of the same
// semantics (NULLs, BLOB/TEXT handling, character counting, byte-exact
// comparison, SQLITE_LIMIT_LENGTH), checked against the built-ins in
// dialect's tests.
//
// They are registered through the C API rather than modernc's
// RegisterFunction because they must be SQLITE_INNOCUOUS: the DSN turns
// trusted_schema off, and a non-innocuous function used by a view, a
// generated column or an index makes SQLite refuse the whole schema.
// Argument and result conversions are SQLite's own (sqlite3_value_text),
// so a number or a BLOB reads exactly as the built-in reads it.
//
// LIKE and GLOB stay built in (overriding like() would disable the LIKE
// index optimisation); SQLITE_LIMIT_LIKE_PATTERN_LENGTH bounds them
// instead (Begin).

// sqliteOverride is one function installed on every connection.
type sqliteOverride struct {
	name string
	nArg int32
	fn   func(tls *libc.TLS, ctx uintptr, argc int32, argv uintptr)
}

var sqliteOverrides = []sqliteOverride{
	{"instr", 2, sqliteInstr},
	{"replace", 3, sqliteReplace},
	{"trim", 2, sqliteTrim},
	{"ltrim", 2, sqliteLTrim},
	{"rtrim", 2, sqliteRTrim},
}

// sqliteOverrideC holds what SQLite keeps pointers to for the life of the
// process: the C names and the function pointers.
var sqliteOverrideC = sync.OnceValues(func() ([]uintptr, error) {
	var out []uintptr
	for _, o := range sqliteOverrides {
		name, err := libc.CString(o.name)
		if err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, nil
})

// cFuncPointer is how modernc passes a Go function where C expects a
// function pointer (https://golang.org/s/go11func); f must be a top-level
// function.
func cFuncPointer(f func(*libc.TLS, uintptr, int32, uintptr)) uintptr {
	return *(*uintptr)(unsafe.Pointer(&struct {
		f func(*libc.TLS, uintptr, int32, uintptr)
	}{f}))
}

// installSQLiteFunctions registers sqliteOverrides on a connection modernc
// has just opened and no one else uses yet. It reads the connection's
// sqlite3 handle and TLS from modernc's unexported fields (pinned by
// go.mod; TestSQLiteFunctionsAreOverridden fails if they move).
func installSQLiteFunctions(dc driver.Conn) error {
	v := reflect.ValueOf(dc)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("sqlite driver connection %T is not the expected type", dc)
	}
	dbField, tlsField := v.Elem().FieldByName("db"), v.Elem().FieldByName("tls")
	if dbField.Kind() != reflect.Uintptr || tlsField.Kind() != reflect.Pointer || tlsField.Type() != reflect.TypeFor[*libc.TLS]() {
		return fmt.Errorf("sqlite driver connection %T has no db/tls fields of the expected types", dc)
	}
	db := uintptr(dbField.Uint())
	tls := (*libc.TLS)(tlsField.UnsafePointer())
	if db == 0 || tls == nil {
		return fmt.Errorf("sqlite driver connection is not open")
	}
	names, err := sqliteOverrideC()
	if err != nil {
		return err
	}
	for i, o := range sqliteOverrides {
		rc := sqlite3.Xsqlite3_create_function(tls, db, names[i], o.nArg,
			sqlite3.SQLITE_UTF8|sqlite3.SQLITE_DETERMINISTIC|sqlite3.SQLITE_INNOCUOUS, 0, cFuncPointer(o.fn), 0, 0)
		if rc != sqlite3.SQLITE_OK {
			return fmt.Errorf("register %s(): sqlite error %d", o.name, rc)
		}
	}
	return nil
}

// cPointer turns an address in SQLite's (modernc libc's) memory, which the
// Go garbage collector does not manage, into a pointer.
func cPointer(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

// sqliteArg is argument i of argv.
func sqliteArg(argv uintptr, i int) uintptr {
	return *(*uintptr)(cPointer(argv + uintptr(i)*unsafe.Sizeof(uintptr(0))))
}

// sqliteBytes views n bytes at p, SQLite-owned memory valid until the
// value changes: only within the function call.
func sqliteBytes(p uintptr, n int32) []byte {
	if p == 0 || n <= 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(cPointer(p)), int(n))
}

// sqliteText is sqlite3_value_text and _bytes: the value as SQLite's own
// text conversion renders it. p is 0 for NULL (or out of memory).
func sqliteText(tls *libc.TLS, v uintptr) (b []byte, p uintptr) {
	p = sqlite3.Xsqlite3_value_text(tls, v)
	n := sqlite3.Xsqlite3_value_bytes(tls, v)
	return sqliteBytes(p, n), p
}

// sqliteResultText sets a text result built in Go. SQLite must not be
// handed Go memory (checkptr refuses it, and the garbage collector does not
// know SQLite holds it), so the bytes go through a buffer of SQLite's own;
// SQLite copies them (SQLITE_TRANSIENT) and enforces SQLITE_LIMIT_LENGTH.
func sqliteResultText(tls *libc.TLS, ctx uintptr, b []byte) {
	p := sqlite3.Xsqlite3_malloc64(tls, uint64(max(len(b), 1)))
	if p == 0 {
		sqlite3.Xsqlite3_result_error_nomem(tls, ctx)
		return
	}
	defer sqlite3.Xsqlite3_free(tls, p)
	copy(sqliteBytes(p, int32(len(b))), b)
	sqlite3.Xsqlite3_result_text64(tls, ctx, p, uint64(len(b)), sqlite3.SQLITE_TRANSIENT, sqlite3.SQLITE_UTF8)
}

// isContinuation tells a UTF-8 continuation byte, which SQLite's character
// counting skips.
func isContinuation(b byte) bool { return b&0xc0 == 0x80 }

// sqliteInstr is instr(X, Y): the 1-based character (BLOBs: byte) position
// of the first Y in X, 0 if none, 1 for an empty Y, NULL if either is NULL.
// Two BLOBs compare as bytes; otherwise both are read as text. As in
// SQLite, positions are the bytes that are not UTF-8 continuation bytes,
// and the first byte.
func sqliteInstr(tls *libc.TLS, ctx uintptr, _ int32, argv uintptr) {
	h, n := sqliteArg(argv, 0), sqliteArg(argv, 1)
	th, tn := sqlite3.Xsqlite3_value_type(tls, h), sqlite3.Xsqlite3_value_type(tls, n)
	if th == sqlite3.SQLITE_NULL || tn == sqlite3.SQLITE_NULL {
		return
	}
	var hay, needle []byte
	isText := true
	if th == sqlite3.SQLITE_BLOB && tn == sqlite3.SQLITE_BLOB {
		hay = sqliteBytes(sqlite3.Xsqlite3_value_blob(tls, h), sqlite3.Xsqlite3_value_bytes(tls, h))
		needle = sqliteBytes(sqlite3.Xsqlite3_value_blob(tls, n), sqlite3.Xsqlite3_value_bytes(tls, n))
		isText = false
	} else {
		if th == sqlite3.SQLITE_BLOB || tn == sqlite3.SQLITE_BLOB {
			// One BLOB, one not: both read as text, on copies, as SQLite
			// does, so that the caller's values keep their type.
			h, n = sqlite3.Xsqlite3_value_dup(tls, h), sqlite3.Xsqlite3_value_dup(tls, n)
			defer sqlite3.Xsqlite3_value_free(tls, h)
			defer sqlite3.Xsqlite3_value_free(tls, n)
		}
		var hp, np uintptr
		hay, hp = sqliteText(tls, h)
		needle, np = sqliteText(tls, n)
		if hp == 0 || np == 0 {
			sqlite3.Xsqlite3_result_error_nomem(tls, ctx)
			return
		}
	}
	sqlite3.Xsqlite3_result_int64(tls, ctx, instrPosition(hay, needle, isText))
}

// instrPosition is the search of sqliteInstr, in linear time.
func instrPosition(hay, needle []byte, isText bool) int64 {
	if len(needle) == 0 {
		return 1
	}
	if isText && isContinuation(needle[0]) {
		// Only the first position can start with a continuation byte.
		if bytes.HasPrefix(hay, needle) {
			return 1
		}
		return 0
	}
	j := bytes.Index(hay, needle)
	if j < 0 {
		return 0
	}
	if !isText {
		return int64(j) + 1
	}
	pos := int64(1)
	for _, b := range hay[1 : j+1] {
		if !isContinuation(b) {
			pos++
		}
	}
	return pos
}

// sqliteReplace is replace(X, Y, Z): X with every non-overlapping Y, left
// to right, replaced by Z, as text. NULL if any is NULL; X unchanged when
// Y is empty or starts with a NUL byte (SQLite reads Y as a C string for
// that test).
func sqliteReplace(tls *libc.TLS, ctx uintptr, _ int32, argv uintptr) {
	s, sp := sqliteText(tls, sqliteArg(argv, 0))
	if sp == 0 {
		return
	}
	pat, pp := sqliteText(tls, sqliteArg(argv, 1))
	if pp == 0 {
		return
	}
	if len(pat) == 0 || pat[0] == 0 {
		sqlite3.Xsqlite3_result_text64(tls, ctx, sp, uint64(len(s)), sqlite3.SQLITE_TRANSIENT, sqlite3.SQLITE_UTF8)
		return
	}
	rep, rp := sqliteText(tls, sqliteArg(argv, 2))
	if rp == 0 {
		return
	}
	count := bytes.Count(s, pat)
	if count == 0 {
		sqlite3.Xsqlite3_result_text64(tls, ctx, sp, uint64(len(s)), sqlite3.SQLITE_TRANSIENT, sqlite3.SQLITE_UTF8)
		return
	}
	// Refuse before allocating what SQLite would refuse anyway.
	limit := int64(sqlite3.Xsqlite3_limit(tls, sqlite3.Xsqlite3_context_db_handle(tls, ctx), sqlite3.SQLITE_LIMIT_LENGTH, -1))
	if int64(len(s))+int64(count)*(int64(len(rep))-int64(len(pat))) > limit {
		sqlite3.Xsqlite3_result_error_toobig(tls, ctx)
		return
	}
	sqliteResultText(tls, ctx, bytes.ReplaceAll(s, pat, rep))
}

func sqliteTrim(tls *libc.TLS, ctx uintptr, _ int32, argv uintptr) {
	trimSet(tls, ctx, argv, true, true)
}

func sqliteLTrim(tls *libc.TLS, ctx uintptr, _ int32, argv uintptr) {
	trimSet(tls, ctx, argv, true, false)
}

func sqliteRTrim(tls *libc.TLS, ctx uintptr, _ int32, argv uintptr) {
	trimSet(tls, ctx, argv, false, true)
}

// errTrimTooComplex is the message when a character set of invalid UTF-8
// would make trimming super-linear (see trimSet).
var errTrimTooComplex = sync.OnceValue(func() uintptr {
	p, err := libc.CString("trim(): the character set is too complex (long invalid UTF-8 sequences)")
	if err != nil {
		panic(err) // out of memory at the first use
	}
	return p
})

// trimSet is trim/ltrim/rtrim(X, Y): X without the leading and/or trailing
// characters that appear in Y. NULL if either is NULL. As in SQLite, Y is
// read up to its first NUL byte and split into characters as a lead byte
// ≥ 0xC0 with the continuation bytes after it, or any other single byte;
// at each step the first character of Y, in Y's order, that X starts (ends)
// with is removed, comparing only the low 8 bits' worth of its length.
// Characters are looked up by length in hash maps, so a step costs the
// number of distinct character lengths in Y (at most 4 for valid UTF-8).
func trimSet(tls *libc.TLS, ctx uintptr, argv uintptr, left, right bool) {
	a := sqliteArg(argv, 0)
	if sqlite3.Xsqlite3_value_type(tls, a) == sqlite3.SQLITE_NULL {
		return
	}
	in, ip := sqliteText(tls, a)
	if ip == 0 {
		return
	}
	set, cp := sqliteText(tls, sqliteArg(argv, 1))
	if cp == 0 {
		return
	}
	out, ok := trimBytes(in, set, left, right)
	if !ok {
		sqlite3.Xsqlite3_result_error(tls, ctx, errTrimTooComplex(), -1)
		return
	}
	// out is a slice of SQLite's own text of X: point SQLite at it.
	p := ip + uintptr(trimOffset(in, out))
	sqlite3.Xsqlite3_result_text64(tls, ctx, p, uint64(len(out)), sqlite3.SQLITE_TRANSIENT, sqlite3.SQLITE_UTF8)
}

// trimOffset is where out, a subslice of in, starts in it.
func trimOffset(in, out []byte) int {
	if len(out) == 0 {
		return 0
	}
	return int(uintptr(unsafe.Pointer(&out[0])) - uintptr(unsafe.Pointer(&in[0])))
}

// trimBytes is the search of trimSet on Go bytes. ok is false when the
// work would exceed a linear budget, which only a character set holding
// long invalid UTF-8 sequences of many distinct lengths can cause.
func trimBytes(in, set []byte, left, right bool) (out []byte, ok bool) {
	if i := bytes.IndexByte(set, 0); i >= 0 {
		set = set[:i]
	}
	// byLen[l] maps each character of effective length l to the index of
	// its first occurrence in set.
	byLen := map[int]map[string]int{}
	var lens []int
	for idx, z := 0, 0; z < len(set); idx++ {
		start := z
		z++
		if set[start] >= 0xc0 {
			for z < len(set) && isContinuation(set[z]) {
				z++
			}
		}
		l := (z - start) & 0xff // SQLite keeps the length in a u8
		m := byLen[l]
		if m == nil {
			m = map[string]int{}
			byLen[l] = m
			lens = append(lens, l)
		}
		if _, seen := m[string(set[start:start+l])]; !seen {
			m[string(set[start:start+l])] = idx
		}
	}
	if len(lens) == 0 {
		return in, true
	}
	budget := 64*(len(in)+len(set)) + 4096
	// match returns the length of the character of set, first in set's
	// order, found at the start (or end) of s, or -1.
	match := func(s []byte, atEnd bool) int {
		best, bestLen := -1, -1
		for _, l := range lens {
			if l > len(s) {
				continue
			}
			budget -= l + 1
			part := s[:l]
			if atEnd {
				part = s[len(s)-l:]
			}
			if idx, ok := byLen[l][string(part)]; ok && (best < 0 || idx < best) {
				best, bestLen = idx, l
			}
		}
		return bestLen
	}
	if left {
		for len(in) > 0 && budget > 0 {
			l := match(in, false)
			if l <= 0 {
				// None, or a character whose kept length is 0: SQLite
				// would loop on it forever; stop instead.
				break
			}
			in = in[l:]
		}
	}
	if right {
		for len(in) > 0 && budget > 0 {
			l := match(in, true)
			if l <= 0 {
				break
			}
			in = in[:len(in)-l]
		}
	}
	if budget <= 0 {
		return nil, false
	}
	return in, true
}
