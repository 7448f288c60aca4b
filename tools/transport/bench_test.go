package transport

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkEncodeResult is what happens to a 100-row query result after
// the handler returns, as the SDK's jsonrpc2 layer encodes it (a
// json.Encoder without HTML escaping over the CallToolResult): "sdk" as it
// is, "spliced" with the Splicer's middleware, the small encoding and
// Expand, as sqlmcp's stdio and HTTP writers do. The rows are a Chinook
// track row as the query tool writes it (17 KB in all).
func BenchmarkEncodeResult(b *testing.B) {
	const jsonRow = `[1,"For Those About To Rock (We Salute You)",1,1,1,"Angus Young, Malcolm Young, Brian Johnson",343719,11170334,"0.99"]`
	const tsvRow = "1\tFor Those About To Rock (We Salute You)\t1\t1\t1\tAngus Young, Malcolm Young, Brian Johnson\t343719\t11170334\t0.99\n"
	structured := `{"columns":[],"rows":[` + strings.Repeat(jsonRow+",", 99) + jsonRow + `],"row_count":100,"truncated":false}`
	text := strings.Repeat(tsvRow, 100)
	result := func() *mcp.CallToolResult {
		return &mcp.CallToolResult{
			Content:           []mcp.Content{&mcp.TextContent{Text: text}},
			StructuredContent: json.RawMessage(structured),
		}
	}
	encode := func(v any) []byte {
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			b.Fatal(err)
		}
		return []byte(buf.String())
	}
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encode(result())
		}
	})
	b.Run("spliced", func(b *testing.B) {
		sp := newSplicer(0)
		h := sp.Middleware(func(context.Context, string, mcp.Request) (mcp.Result, error) { return result(), nil })
		var out []byte
		b.ReportAllocs()
		for b.Loop() {
			res, _ := h(context.Background(), "tools/call", nil)
			out, _ = sp.Expand(out[:0], encode(res))
		}
	})
}
