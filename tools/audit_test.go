package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// smallFS mounts a 64 KiB tmpfs (root only) and returns a directory on it.
func smallFS(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// On a full file system every record is either whole or absent (never
// torn), each failed write is counted, the failure is logged at ERROR
// (rate-limited), and with AuditRequired calls are refused: unavailable,
// no statement run.
func TestAuditFileFullFileSystem(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(t *testing.T) string
	}{
		{"tmpfs 64k", func(t *testing.T) string { return filepath.Join(smallFS(t), "audit.jsonl") }},
		{"/dev/full", func(t *testing.T) string {
			if _, err := os.Stat("/dev/full"); err != nil {
				t.Skip("no /dev/full")
			}
			return "/dev/full"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			var logs lockedBuffer
			f, err := tools.OpenAuditFile(path, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			aud := tools.NewFileAuditor(f)
			// Records of odd sizes, so that one ends up cut by the
			// full file system.
			failed := 0
			for i := 0; i < 200; i++ {
				err := aud.Audit(&tools.Record{Tool: "query", RequestID: "r", Outcome: tools.OutcomeOK,
					SQL: "SELECT " + strings.Repeat("x", 100+i*37%3000)})
				if err != nil {
					failed++
				}
			}
			if failed == 0 {
				t.Fatal("no write failed on a full file system")
			}
			if got := f.WriteErrors(); got != uint64(failed) {
				t.Errorf("WriteErrors = %d, want %d (one per failed record)", got, failed)
			}
			if n := strings.Count(logs.String(), "level=ERROR"); n < 1 || n > 2 {
				t.Errorf("%d ERROR lines for %d failures, want 1 (rate-limited):\n%s", n, failed, logs.String())
			}
			if err := aud.(tools.AuditReadiness).Ready(); err == nil {
				t.Error("Ready() = nil after failed writes")
			}
			if path != "/dev/full" {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
				for i, l := range lines {
					var m map[string]any
					if err := json.Unmarshal([]byte(l), &m); err != nil {
						t.Fatalf("line %d of %d is torn: %.80q…", i+1, len(lines), l)
					}
				}
				if len(lines)+failed != 200 {
					t.Errorf("%d records written + %d failed, want 200", len(lines), failed)
				}
				if !bytes.HasSuffix(b, []byte("\n")) {
					t.Error("the file does not end with a whole line")
				}
			}

			// Through the tool path: refused, audited as such if it can be.
			db, d := newSQLite(t)
			tl := tools.New(db, d, tools.Options{Audit: aud, AuditRequired: true})
			cs := toolstest.Connect(t, tl)
			r := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS one"})
			if !r.IsError || !strings.HasPrefix(r.Text, "unavailable: the audit log cannot be written") {
				t.Errorf("with --audit-required on a full file system: %+v", r)
			}
		})
	}
}

// A record that fails after the statement ran withholds the result.
type failingAuditor struct{ n int }

func (a *failingAuditor) Audit(*tools.Record) error { a.n++; return errors.New("disk on fire") }

func TestAuditRequiredWithholdsAnUnauditedResult(t *testing.T) {
	db, d := newSQLite(t)
	for _, required := range []bool{false, true} {
		aud := &failingAuditor{}
		cs := toolstest.Connect(t, tools.New(db, d, tools.Options{Audit: aud, AuditRequired: required}))
		r := toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS one"})
		if r.IsError != required {
			t.Errorf("required=%v: result %+v", required, r)
		}
		if aud.n != 1 {
			t.Errorf("required=%v: %d audit attempts, want 1", required, aud.n)
		}
	}
}

// Every tools/call that reaches the server leaves exactly one record, also
// when the handler never runs.
func TestOneAuditRecordPerCall(t *testing.T) {
	db, d := newSQLite(t)
	log := &toolstest.AuditLog{}
	tl := tools.New(db, d, tools.Options{Audit: log})
	cs := toolstest.Connect(t, tl)
	ctx := context.Background()
	toolstest.Call(t, cs, "query", map[string]any{"sql": "SELECT 1 AS one"})
	toolstest.Call(t, cs, "query", map[string]any{"sql": "DROP TABLE big"})
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "drop_database", Arguments: map[string]any{"sql": "x"}}); err == nil {
		t.Error("unknown tool: no error")
	}
	recs := log.All()
	if len(recs) != 3 {
		t.Fatalf("%d records for 3 calls: %+v", len(recs), recs)
	}
	if got := recs[2]; got.Tool != "drop_database" || got.Outcome != tools.OutcomeDenied || got.Error != "unknown_tool" || got.SQL != "x" {
		t.Errorf("unknown tool's record = %+v", got)
	}
}
