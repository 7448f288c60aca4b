package tools

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestSplicerRoundTrip: what the SDK encodes after the middleware, once
// expanded, is the JSON the SDK would have written for the result as the
// tool returned it; values that must not or need not be parked stay.
func TestSplicerRoundTrip(t *testing.T) {
	long := strings.Repeat("a\tb \"c\" \\ <d> & \u2028 é \x01\n", 40)
	structured := `{"columns":[{"name":"x","type":"TEXT"}],"rows":[` + strings.Repeat(`["<v>",1,null],`, 60) + `[true,-1.5e-7,"\u0000"]]}`
	cases := map[string]func() *mcp.CallToolResult{
		"large": func() *mcp.CallToolResult {
			return &mcp.CallToolResult{
				Content:           []mcp.Content{&mcp.TextContent{Text: long}, &mcp.TextContent{Text: "small"}},
				StructuredContent: json.RawMessage(structured),
			}
		},
		"invalid UTF-8 text": func() *mcp.CallToolResult {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: long + "\xff"}}}
		},
		"tool error": func() *mcp.CallToolResult {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: long}}}
		},
		"structured as a Go value": func() *mcp.CallToolResult {
			return &mcp.CallToolResult{StructuredContent: map[string]any{"k": long, "n": []int{1, 2}}, Content: []mcp.Content{}}
		},
		"structured that cannot be encoded": func() *mcp.CallToolResult {
			return &mcp.CallToolResult{StructuredContent: map[string]any{"k": long, "f": func() {}}}
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			want, wantErr := json.Marshal(mk())
			sp := NewSplicer()
			h := sp.Middleware(func(context.Context, string, mcp.Request) (mcp.Result, error) { return mk(), nil })
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
			got := sp.Expand([]byte("prefix:"), small)
			if !strings.HasPrefix(string(got), "prefix:") {
				t.Fatalf("Expand dropped what dst held: %.40q", got)
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
			if (name == "large" || name == "structured as a Go value") && len(small) > 400 {
				t.Errorf("the SDK still encodes %d bytes: %s", len(small), small)
			}
		})
	}
}

// TestSplicerIgnoresForeignMarkers: only this Splicer's markers, with a
// parked id, are replaced; anything else passes through unchanged.
func TestSplicerIgnoresForeignMarkers(t *testing.T) {
	sp := NewSplicer()
	other := NewSplicer()
	m := string(other.put([]byte(`"x"`)))
	mine := string(sp.marker)
	for _, in := range []string{
		`{"a":` + m + `}`,
		`{"a":` + mine + `12x"}`,
		`{"a":` + mine + `}`,
		`{"a":` + mine,
		`{"a":"sqlmcp-splice-"}`,
	} {
		if got := string(sp.Expand(nil, []byte(in))); got != in {
			t.Errorf("Expand(%s) = %s", in, got)
		}
	}
	// A parked id expanded twice (cannot happen with one writer) yields
	// valid JSON, not the marker.
	id := string(sp.put([]byte(`[1]`)))
	sp.Expand(nil, []byte(id))
	if got := string(sp.Expand(nil, []byte(`{"a":`+id+`}`))); got != `{"a":null}` {
		t.Errorf("second Expand = %s", got)
	}
}

// TestSplicerDropsUnwrittenValues: a value whose answer is never written
// (an HTTP client that went away) is released after parkTTL, so such
// values cannot pile up in a long-running server.
func TestSplicerDropsUnwrittenValues(t *testing.T) {
	sp := NewSplicer()
	stale := sp.put([]byte(`"old"`))
	for _, v := range sp.parked {
		v.at = v.at.Add(-2 * parkTTL)
		sp.parked[1] = v
	}
	var fresh [][]byte
	for range 300 {
		fresh = append(fresh, sp.put([]byte(`"new"`)))
	}
	if n := sp.Pending(); n != 300 {
		t.Errorf("%d values parked, want the 300 fresh ones", n)
	}
	if got := string(sp.Expand(nil, stale)); got != "null" {
		t.Errorf("expired value expanded to %s", got)
	}
	if got := string(sp.Expand(nil, fresh[0])); got != `"new"` {
		t.Errorf("fresh value expanded to %s", got)
	}
}
