package sqlite

import (
	"sync"

	"github.com/sqlmcp/sqlmcp/dialect"
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite runs in this process: a result row is built in SQLite's own heap
// before the driver copies it into Go, value by value. SQLITE_LIMIT_LENGTH
// (see Begin) bounds each value, not the row: a SELECT of 2000 columns of
// randomblob(1e6) — SQLite allows 2000 — built 2 GB in SQLite's heap, and
// the driver copied all of it, before the result's byte cap could look at
// the row. database/sql gives no way to see a row's size before the copy
// (modernc steps and copies in one Next), so the bound is set where the row
// is built: SQLite's hard heap limit, for all of SQLite's memory in the
// process. A statement that would pass it fails with SQLITE_NOMEM before
// its row exists; what the driver can copy is then bounded too.
//
// The limit needs SQLite's memory statistics, which modernc's build turns
// off by default and which can only be turned on before SQLite initialises
// (at the first connection): hence init. They cost a mutex per allocation.

// sqliteHeapFloor is the least hard heap limit: far above what SQLite's
// page caches (2 MB per connection by default), schemas and statements
// take for a pool of dozens of connections, so that no legitimate read
// meets it. Sorts, DISTINCT and recursive CTEs spill to temporary files.
const sqliteHeapFloor = 128 << 20

var sqliteHeap struct {
	mu      sync.Mutex
	enabled bool  // memory statistics are on: the limit works
	limit   int64 // the hard limit set so far, 0 for none
}

func init() {
	tls := libc.NewTLS()
	defer tls.Close()
	va := libc.Xmalloc(tls, 8)
	if va == 0 {
		return
	}
	defer libc.Xfree(tls, va)
	rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_MEMSTATUS, libc.VaList(va, 1))
	sqliteHeap.enabled = rc == sqlite3.SQLITE_OK
}

// HeapLimit is the hard heap limit that goes with a bound on one
// value (SessionOptions.MaxValueBytes): room for four rows of the largest
// size the PostgreSQL and MySQL wire guard admits (MessageLimit), and at
// least sqliteHeapFloor.
func HeapLimit(maxValueBytes int) int64 {
	return max(sqliteHeapFloor, 4*int64(dialect.MessageLimit(maxValueBytes)))
}

// boundSQLiteHeap makes sure SQLite's hard heap limit is in force, at
// least HeapLimit(maxValueBytes). The limit is process-wide; it is
// only ever raised, so that pools with different caps in one process do
// not take room from each other. It reports whether a limit is in force.
func boundSQLiteHeap(maxValueBytes int) bool {
	want := HeapLimit(maxValueBytes)
	sqliteHeap.mu.Lock()
	defer sqliteHeap.mu.Unlock()
	if !sqliteHeap.enabled {
		return false
	}
	if want > sqliteHeap.limit {
		tls := libc.NewTLS()
		sqlite3.Xsqlite3_hard_heap_limit64(tls, want)
		tls.Close()
		sqliteHeap.limit = want
	}
	return true
}

var _ dialect.EarlyCloser = (*sqliteSession)(nil)

// ClosesEarly: closing SQLite rows finalizes the statement.
func (*sqliteSession) ClosesEarly() {}
