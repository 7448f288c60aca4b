// Package memory bounds what large query results cost the process beyond
// their own bytes: the drivers' garbage while a result is read, and the
// heap the runtime keeps once it is written. The query tool and the
// transports that write its answers both report to it.
package memory

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Memory of large results. A result's two forms (the rows' JSON and the
// text) are held once each until written; what else a large result costs
// is the drivers' garbage (each row arrives in fresh memory, lib/pq's
// twice: the message and a string copied from it) and the heap the
// runtime keeps afterwards. Both are bounded here.

// CollectFrom is the result cap from which reading a result collects
// garbage as it goes: below it, a result's garbage is small beside the
// process's own heap and the runtime's pacing is left alone.
const CollectFrom = 8 << 20

// collectEvery is how many bytes calls with a cap of maxBytes may read
// from the drivers, process-wide, between two collections. The runtime's
// heap goal, raised by the results' own buffers, would let a large
// result's garbage pile up to once or twice the cap before collecting;
// collecting every eighth of the cap keeps it to about a quarter. The
// buffers are pointer-free, so a collection costs little.
func collectEvery(maxBytes int) int64 {
	return int64(max(4<<20, maxBytes/8))
}

// sinceCollect counts the bytes read since the last collection.
var sinceCollect atomic.Int64

// NoteRead accounts n bytes read from a driver for a call whose cap is
// maxBytes, collecting when enough garbage may have piled up.
func NoteRead(n, maxBytes int) {
	if maxBytes < CollectFrom {
		return
	}
	if sinceCollect.Add(int64(n)) >= collectEvery(maxBytes) {
		sinceCollect.Store(0)
		runtime.GC()
	}
}

// releaseAfter is how long after the last large result the heap is
// given back: long enough for the answers to have been written (the
// writers stream them), short enough that a burst's memory does not
// linger. releaseFrom is how many result bytes since the last release
// make one worth its full collection.
const (
	releaseAfter = time.Second
	releaseFrom  = 8 << 20
)

var release struct {
	mu      sync.Mutex
	timer   *time.Timer
	last    time.Time
	pending int
}

// ReleaseSoon notes a result of n bytes produced or written and,
// once results have stopped for releaseAfter and they added up to
// releaseFrom, returns the
// heap's free memory to the operating system. The Go runtime would keep
// it (its scavenger returns memory slowly, and only down to the heap
// goal the burst raised): RSS would stay at the burst's peak. Under a
// steady stream of results nothing is released until it pauses, and a
// release (debug.FreeOSMemory, a full collection) runs at most once per
// releaseAfter.
func ReleaseSoon(n int) {
	release.mu.Lock()
	defer release.mu.Unlock()
	release.last = time.Now()
	release.pending += n
	if release.timer != nil || release.pending < releaseFrom {
		return
	}
	var fire func()
	fire = func() {
		release.mu.Lock()
		if wait := releaseAfter - time.Since(release.last); wait > 0 {
			release.timer = time.AfterFunc(wait, fire)
			release.mu.Unlock()
			return
		}
		release.timer = nil
		release.pending = 0
		release.mu.Unlock()
		debug.FreeOSMemory()
	}
	release.timer = time.AfterFunc(releaseAfter, fire)
}
