package integration_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// TestCancelStopsTheStatementOnTheServer: when the client gives up on a
// call — notifications/cancelled in-memory, a dropped request over HTTP —
// the statement must stop running on the database server, not linger
// until its timeout.
func TestCancelStopsTheStatementOnTheServer(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		audit := &toolstest.AuditLog{}
		s := serve(t, b, tools.Options{QueryTimeout: time.Minute, Audit: audit})
		marker := randName("cancel_")
		sql := fmt.Sprintf("SELECT count(*) AS %s FROM big a CROSS JOIN big b", marker)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := s.cs.CallTool(ctx, &mcp.CallToolParams{Name: "query", Arguments: map[string]any{"sql": sql}})
			done <- err
		}()
		if b.name != "sqlite" {
			waitFor(t, 10*time.Second, "the statement to start on the server", func() bool { return running(t, b, marker) })
		} else {
			time.Sleep(300 * time.Millisecond)
		}
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("CallTool did not return after its context was cancelled")
		}
		if b.name != "sqlite" {
			waitFor(t, 5*time.Second, "the statement to stop on the server", func() bool { return !running(t, b, marker) })
		}
		// The call ended on the server side too, and was audited as such.
		waitFor(t, 5*time.Second, "the call to be audited as cancelled", func() bool {
			return audit.Last().Outcome == tools.OutcomeCancelled
		})
		if res := s.call("query", map[string]any{"sql": "SELECT count(*) FROM genre"}); res.IsError {
			t.Fatalf("the next call failed: %s", res.Text)
		}
	})
}

// running reports whether a statement containing marker runs on the server.
func running(t *testing.T, b *backend, marker string) bool {
	t.Helper()
	var q string
	switch b.name {
	case "postgres":
		q = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()"
	case "mysql":
		q = "SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('%', ?, '%') AND ID <> CONNECTION_ID()"
	}
	var n int
	if err := b.admin.QueryRow(q, marker).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
