package transport

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestSplicerRoundTrip: what the SDK encodes after the middleware, once
// expanded, is the JSON the SDK would have written for the result as the
// tool returned it; values that must not or need not be parked stay.
func TestSplicerRoundTrip(t *testing.T) {
	long := strings.Repeat("a\tb \"c\" \\ <d> & \u2028 é \x01\n", 40)
	structured := `{"columns":[{"name":"x","type":"TEXT"}],"rows":[` + strings.Repeat(`["<v>",1,null],`, 60) + `[true,-1.5e-7,"\u0000"]]}`
	cases := map[string]struct {
		mk     func() *mcp.CallToolResult
		parked bool
	}{
		"large": {func() *mcp.CallToolResult {
			return &mcp.CallToolResult{
				Content:           []mcp.Content{&mcp.TextContent{Text: long}, &mcp.TextContent{Text: "small"}},
				StructuredContent: json.RawMessage(structured),
			}
		}, true},
		"structured as a Go value": {func() *mcp.CallToolResult {
			return &mcp.CallToolResult{StructuredContent: map[string]any{"k": long, "n": []int{1, 2}}, Content: []mcp.Content{}}
		}, true},
		"invalid UTF-8 text": {func() *mcp.CallToolResult {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: long + "\xff"}}}
		}, false},
		"tool error": {func() *mcp.CallToolResult {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: long}}}
		}, false},
		"small": {func() *mcp.CallToolResult {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "n\n1\n"}}, StructuredContent: json.RawMessage(`{"n":1}`)}
		}, false},
		"structured that cannot be encoded": {func() *mcp.CallToolResult {
			return &mcp.CallToolResult{StructuredContent: map[string]any{"k": long, "f": func() {}}}
		}, false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			want, wantErr := json.Marshal(c.mk())
			sp := newSplicer(0)
			h := sp.Middleware(func(context.Context, string, mcp.Request) (mcp.Result, error) { return c.mk(), nil })
			res, err := h(context.Background(), "tools/call", nil)
			if err != nil {
				t.Fatal(err)
			}
			small, err := json.Marshal(res)
			if wantErr != nil {
				// The SDK reports the error as it would have.
				if err == nil || err.Error() != wantErr.Error() {
					t.Fatalf("encoding error: got %v, want %v", err, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sp.Contains(small); got != c.parked {
				t.Errorf("parked: %v, want %v: %.200s", got, c.parked, small)
			}
			got, lost := sp.Expand([]byte("prefix:"), small)
			if lost || !strings.HasPrefix(string(got), "prefix:") {
				t.Fatalf("Expand: lost %v, or dropped what dst held: %.40q", lost, got)
			}
			got = got[len("prefix:"):]
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("expanded result is not JSON: %v\n%s", err, got)
			}
			json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("expanded:\n%s\nwant:\n%s", got, want)
			}
			if n := sp.Pending(); n != 0 {
				t.Errorf("%d values still parked after Expand", n)
			}
			if c.parked && len(small) > 400 {
				t.Errorf("the SDK still encodes %d bytes: %s", len(small), small)
			}
		})
	}
}

// TestSplicerConcurrentCallsGetTheirOwnValues: many calls parking and
// expanding at once each get back exactly their own values.
func TestSplicerConcurrentCallsGetTheirOwnValues(t *testing.T) {
	sp := newSplicer(time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				text := fmt.Sprintf("call %d/%d ", g, i) + strings.Repeat("x", spliceMin)
				r := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
				sp.park(r)
				small, _ := json.Marshal(r)
				out, lost := sp.Expand(nil, small)
				var back mcp.CallToolResult
				if err := json.Unmarshal(out, &back); err != nil || lost || back.Content[0].(*mcp.TextContent).Text != text {
					errs <- fmt.Errorf("call %d/%d: lost %v, err %v, got %.40s", g, i, lost, err, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := sp.Pending(); n != 0 {
		t.Errorf("%d values still parked", n)
	}
}

// TestSplicerIgnoresForeignMarkers: only this Splicer's markers, with a
// parked id, are replaced; anything else passes through unchanged.
func TestSplicerIgnoresForeignMarkers(t *testing.T) {
	sp := newSplicer(0)
	other := newSplicer(0)
	m := string(other.put([]byte(`"x"`)))
	mine := string(sp.marker)
	for _, in := range []string{
		`{"a":` + m + `}`,
		`{"a":` + mine + `12x"}`,
		`{"a":` + mine + `}`,
		`{"a":` + mine,
		`{"a":"sqlmcp-splice-"}`,
	} {
		if got, lost := sp.Expand(nil, []byte(in)); string(got) != in || lost {
			t.Errorf("Expand(%s) = %s, lost %v", in, got, lost)
		}
	}
	// A parked id expanded twice (cannot happen with one writer) yields
	// an explanation the client can read, and says so.
	id := string(sp.put([]byte(`[1]`)))
	sp.Expand(nil, []byte(id))
	got, lost := sp.Expand(nil, []byte(`{"a":`+id+`}`))
	var v map[string]string
	if err := json.Unmarshal(got, &v); err != nil || !lost || !strings.Contains(v["a"], "call the tool again") {
		t.Errorf("second Expand = %s, lost %v", got, lost)
	}
}

// TestSplicerBoundsWhatItHolds: a value whose answer is never written (an
// HTTP client that went away) is released after the TTL, and past the
// byte budget results are left to the SDK, so unwritten answers cannot
// pile up in a long-running server.
func TestSplicerBoundsWhatItHolds(t *testing.T) {
	sp := newSplicer(time.Minute)
	stale := sp.put([]byte(`"old"`))
	for k, v := range sp.parked {
		v.at = v.at.Add(-2 * time.Minute)
		sp.parked[k] = v
	}
	sp.lastSweep = time.Time{}
	fresh := sp.put([]byte(`"new"`))
	if n := sp.Pending(); n != 1 {
		t.Errorf("%d values parked, want the fresh one", n)
	}
	if got, lost := sp.Expand(nil, stale); !lost {
		t.Errorf("expired value expanded to %s", got)
	}
	if got, _ := sp.Expand(nil, fresh); string(got) != `"new"` {
		t.Errorf("fresh value expanded to %s", got)
	}

	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = 'x'
	}
	big[0], big[len(big)-1] = '"', '"'
	n := 0
	for sp.put(big) != nil {
		n++
		if n > parkBudget>>20 {
			t.Fatalf("parked %d MiB, past the %d MiB budget", n, parkBudget>>20)
		}
	}
	if n*len(big) > parkBudget {
		t.Errorf("parked %d MiB, budget %d MiB", n, parkBudget>>20)
	}
	// A buffer sized for more than it holds is not held whole.
	sp.Reset()
	roomy := append(make([]byte, 0, 1<<20), `"v"`...)
	sp.put(roomy)
	if sp.bytes > 64 {
		t.Errorf("parking 3 bytes holds %d", sp.bytes)
	}
}

// TestSplicerHTTPWriterFlushes: the SDK flushes each SSE event through
// http.NewResponseController, which must reach the real writer.
func TestSplicerHTTPWriterFlushes(t *testing.T) {
	rec := httptest.NewRecorder()
	w := newSplicer(0).HTTPWriter(rec, nil)
	if err := http.NewResponseController(w).Flush(); err != nil || !rec.Flushed {
		t.Errorf("Flush through the wrapper: %v, flushed %v", err, rec.Flushed)
	}
}

// TestSplicerStreamsLargeTextExactly: a text spanning many write chunks,
// with multi-byte runes, U+2028 and escapes astride the chunk boundaries,
// is written by ExpandTo (in pieces, to a writer) byte for byte as the
// SDK's encoding would write it.
func TestSplicerStreamsLargeTextExactly(t *testing.T) {
	for _, shift := range []int{0, 1, 2, 3} {
		unit := strings.Repeat("x", shift) + "é\u2028\t\"\\\x01€😀"
		text := strings.Repeat(unit, 3*jsonChunk/len(unit)+7)
		res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
		want, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		sp := newSplicer(0)
		sp.park(res)
		small, _ := json.Marshal(res)
		var got strings.Builder
		w := &countingWriter{w: &got}
		lost, err := sp.ExpandTo(w, small)
		if err != nil || lost {
			t.Fatalf("ExpandTo: lost %v, err %v", lost, err)
		}
		var g, wv any
		if err := json.Unmarshal([]byte(got.String()), &g); err != nil {
			t.Fatalf("shift %d: streamed answer is not JSON: %v", shift, err)
		}
		json.Unmarshal(want, &wv)
		if !reflect.DeepEqual(g, wv) {
			t.Fatalf("shift %d: streamed answer differs from the SDK's encoding", shift)
		}
		if w.writes < 3 || w.max > 6*jsonChunk+2 { // an escape is at most 6 bytes
			t.Errorf("shift %d: %d writes, largest %d bytes: want the text in chunks of about %d", shift, w.writes, w.max, jsonChunk)
		}
	}
}

type countingWriter struct {
	w           *strings.Builder
	writes, max int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	c.max = max(c.max, len(p))
	return c.w.Write(p)
}
