package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools"
)

// transcript runs a go-sdk server over transport t, sends each line of
// script (waiting for one answer line after each that has an "id"), and
// returns the answers and the error the session ended with.
//
// The echo tool answers with values large enough for a Splicer to park;
// when sp is set, the server uses its middleware.
func transcript(t *testing.T, mk func(io.ReadCloser, io.WriteCloser) mcp.Transport, sp *tools.Splicer, script []string) ([]string, string) {
	t.Helper()
	server := mcp.NewServer(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	if sp != nil {
		server.AddReceivingMiddleware(sp.Middleware)
	}
	server.AddTool(&mcp.Tool{Name: "echo", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{
				Content: []mcp.Content{
					&mcp.TextContent{Text: strings.Repeat("<a> & b\u2028c\té\t\"q\"\n1\t2\n\x00", 40)},
					&mcp.TextContent{Text: "short"},
				},
				// Not what our tools produce (theirs is already compact),
				// but the SDK compacts it before the transport sees it.
				StructuredContent: json.RawMessage(`{"columns": ["<x>", "y&z"], "rows": [` +
					strings.Repeat(`[1, "\u2028", null, 1.5e3], `, 30) + `[2, "", true, -0.0]]}`),
			}, nil
		})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ss, err := server.Connect(context.Background(), mk(inR, outW), nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewReader(outR)
	var got []string
	for _, l := range script {
		if _, err := io.WriteString(inW, l+"\n"); err != nil {
			break
		}
		if !strings.Contains(l, `"id"`) {
			continue
		}
		done := make(chan string, 1)
		go func() {
			s, _ := lines.ReadString('\n')
			done <- s
		}()
		select {
		case s := <-done:
			got = append(got, s)
		case <-time.After(500 * time.Millisecond):
			got = append(got, "(no answer)")
		}
	}
	inW.Close()
	werr := make(chan error, 1)
	go func() { werr <- ss.Wait() }()
	var endErr string
	select {
	case err := <-werr:
		if err != nil {
			endErr = err.Error()
		}
	case <-time.After(2 * time.Second):
		endErr = "(did not end)"
	}
	ss.Close()
	outR.Close()
	return got, endErr
}

func TestStdioTransportMatchesIOTransport(t *testing.T) {
	sdk := func(r io.ReadCloser, w io.WriteCloser) mcp.Transport { return &mcp.IOTransport{Reader: r, Writer: w} }
	ours := func(r io.ReadCloser, w io.WriteCloser) mcp.Transport { return &stdioTransport{Reader: r, Writer: w} }
	init := func(v string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + v + `","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`
	}
	const initialized = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	scripts := map[string][]string{
		"calls": {
			init("2025-06-18"), initialized,
			`{"jsonrpc":"2.0","id":"<s>&","method":"tools/list"}`,
			`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}}}`,
			`  {"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"nope","arguments":{}}}`,
			`{"jsonrpc":"2.0","id":5,"method":"no/such"}`,
			`{"jsonrpc":"2.0","id":6,"method":"ping"}`,
		},
		"batch on 2025-03-26": {
			init("2025-03-26"), initialized,
			`[{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo","arguments":{}}}]`,
			`{"jsonrpc":"2.0","id":9,"method":"ping"}`,
		},
		"batch refused on 2025-06-18": {
			init("2025-06-18"), initialized,
			`[{"jsonrpc":"2.0","id":7,"method":"ping"}]`,
		},
		"bad json":          {init("2025-06-18"), `{"jsonrpc":"2.0","id":2,"method":`, `}`},
		"trailing data":     {init("2025-06-18"), `{"jsonrpc":"2.0","id":2,"method":"ping"} x`},
		"wrong version":     {init("2025-06-18"), `{"jsonrpc":"1.0","id":2,"method":"ping"}`},
		"empty batch":       {init("2025-03-26"), `[]`},
		"before initialize": {`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`},
	}
	for name, script := range scripts {
		t.Run(name, func(t *testing.T) {
			want, wantErr := transcript(t, sdk, nil, script)
			got, gotErr := transcript(t, ours, nil, script)
			if len(got) != len(want) {
				t.Fatalf("answers: got %q, want %q", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("answer %d:\n got %s\nwant %s", i, got[i], want[i])
				}
			}
			if gotErr != wantErr {
				t.Errorf("session end: got %q, want %q", gotErr, wantErr)
			}

			// With a Splicer the large values skip the SDK's encoder:
			// the bytes differ (no HTML escaping), the JSON must not.
			sp := tools.NewSplicer(0)
			spliced, splicedErr := transcript(t, func(r io.ReadCloser, w io.WriteCloser) mcp.Transport {
				return &stdioTransport{Reader: r, Writer: w, Splicer: sp}
			}, sp, script)
			if len(spliced) != len(want) || splicedErr != wantErr {
				t.Fatalf("spliced: answers %q, end %q; want %q, %q", spliced, splicedErr, want, wantErr)
			}
			for i := range want {
				if strings.Contains(spliced[i], "sqlmcp-splice") {
					t.Errorf("answer %d: a marker reached the client: %s", i, spliced[i])
				}
				var g, w any
				if json.Unmarshal([]byte(want[i]), &w) != nil {
					if spliced[i] != want[i] {
						t.Errorf("spliced answer %d: got %q, want %q", i, spliced[i], want[i])
					}
					continue
				}
				if err := json.Unmarshal([]byte(spliced[i]), &g); err != nil {
					t.Errorf("answer %d is not JSON: %v: %s", i, err, spliced[i])
				} else if !reflect.DeepEqual(g, w) {
					t.Errorf("spliced answer %d:\n got %s\nwant %s", i, spliced[i], want[i])
				}
			}
		})
	}
}

func TestStdioTransportFrameLimit(t *testing.T) {
	mk := func(limit int) func(io.ReadCloser, io.WriteCloser) mcp.Transport {
		return func(r io.ReadCloser, w io.WriteCloser) mcp.Transport {
			return &stdioTransport{Reader: r, Writer: w, MaxLineLength: limit}
		}
	}
	big := `{"jsonrpc":"2.0","id":2,"method":"ping","params":{"x":"` + strings.Repeat("a", 4096) + `"}}`
	_, errText := transcript(t, mk(1024), nil, []string{big})
	if !strings.Contains(errText, "maximum line length") {
		t.Errorf("over the limit: session ended with %q", errText)
	}
	got, _ := transcript(t, mk(-1), nil, []string{big})
	if len(got) != 1 || !strings.Contains(got[0], `"id":2`) {
		t.Errorf("no limit: %q", got)
	}
}
