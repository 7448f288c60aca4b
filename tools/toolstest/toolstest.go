// Package toolstest drives the tools through a real go-sdk client over
// sqlmcp's own stdio transport or streamable HTTP, for the tests of this
// module: results reach the client through the code that writes them in
// production (tools/transport).
// It holds no assertions of its own beyond "the protocol worked".
package toolstest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/transport"
)

// Connect serves tl as sqlmcp serves stdio — the same server, the same
// transport (transport.NewStdio, which writes answers through the
// Splicer) — over in-process pipes, and returns a connected client
// session, closed when the test ends. What a client reads is what
// sqlmcp's stdio writes.
func Connect(t testing.TB, tl *tools.Tools) *mcp.ClientSession {
	t.Helper()
	return ConnectFor(t, tl, nil, nil)
}

// ConnectFor is Connect for a caller allowed only the databases named
// (tools.NewServerFor; nil: all), with the client options given (nil:
// none), e.g. to hear of tool list changes.
func ConnectFor(t testing.TB, tl *tools.Tools, names []string, copts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	server := tl.NewServerFor("test", names)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	tr := transport.NewStdio(server, inR, outW, tl.Options().MaxResultBytes)
	tr.Audit = tl.AuditUnhandled
	ss, err := server.Connect(ctx, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "toolstest"}, copts).Connect(ctx,
		&mcp.IOTransport{Reader: outR, Writer: inW, MaxLineLength: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// ConnectSDK serves tl over the go-sdk's own in-memory transports, without
// sqlmcp's transport and Splicer: the SDK's encoding of every answer, the
// reference the production path (Connect, ConnectHTTP) is compared to.
func ConnectSDK(t testing.TB, tl *tools.Tools) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := tl.NewServer("test").Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "toolstest"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// ConnectHTTP serves tl over MCP streamable HTTP on a loopback test server
// and returns a connected client session, closed (with the server) when
// the test ends. Answers are written as sqlmcp writes them (the SDK's
// handler, the Splicer's writer, the early-error fix), without sqlmcp's
// own HTTP layer (auth, Origin check, session limits, drain, metrics,
// the cancelling of a dropped POST's call), which lives in cmd/sqlmcp.
func ConnectHTTP(t testing.TB, tl *tools.Tools) *mcp.ClientSession {
	t.Helper()
	server := tl.NewServer("test")
	splicer := transport.Splice(server, tl.CallBound()+time.Minute, tl.Options().MaxResultBytes)
	sdk := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ew, r := transport.WithEarlyErrors(w, r, 1<<20, tl.AuditUnhandled)
		sdk.ServeHTTP(splicer.HTTPWriter(ew, nil), r)
	}))
	t.Cleanup(ts.Close)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "toolstest"}, nil).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: ts.URL, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// Result is a tool result as a client sees it.
type Result struct {
	IsError bool
	Text    string
	// Structured is structuredContent decoded into generic JSON values
	// (numbers are float64, as a JSON client would see them).
	Structured map[string]any
}

// Call calls a tool; a protocol-level failure fails the test.
func Call(t testing.TB, cs *mcp.ClientSession, tool string, args map[string]any) Result {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error: %v", tool, err)
	}
	var r Result
	r.IsError = res.IsError
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	r.Text = b.String()
	if res.StructuredContent != nil {
		raw, err := json.Marshal(res.StructuredContent)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &r.Structured); err != nil {
			t.Fatalf("%s: structuredContent is not an object: %v", tool, err)
		}
	}
	return r
}

// Rows returns the rows of a query result.
func (r Result) Rows() []any {
	rows, _ := r.Structured["rows"].([]any)
	return rows
}

// AuditLog is a tools.Auditor that keeps the records of a test's calls.
type AuditLog struct {
	mu   sync.Mutex
	recs []tools.Record
}

// Audit implements tools.Auditor.
func (a *AuditLog) Audit(r *tools.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, *r)
	return nil
}

// Last is the latest record, or the zero Record when there is none.
func (a *AuditLog) Last() tools.Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.recs) == 0 {
		return tools.Record{}
	}
	return a.recs[len(a.recs)-1]
}

// All is every record so far, oldest first.
func (a *AuditLog) All() []tools.Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]tools.Record(nil), a.recs...)
}
