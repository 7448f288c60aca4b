package integration_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// TestSeveralDatabasesInOneServer serves a database server's Chinook
// (PostgreSQL, then MariaDB/MySQL) and SQLite's in one server, over
// sqlmcp's stdio path, with a third database whose server cannot be
// reached: the model is told of all three with their backends; each call
// runs on the database it names, with that database's row cap and in its
// dialect; the unreachable one answers unavailable while the others
// serve; the audit names the database of every call.
func TestSeveralDatabasesInOneServer(t *testing.T) {
	lite := backendOf(t, &sqliteRecord)
	for _, r := range []*conformance{&postgresRecord, &mysqlRecord} {
		t.Run(r.name+"+sqlite", func(t *testing.T) {
			srv := backendOf(t, r)
			if srv == nil {
				t.Skipf("%s unavailable", r.name)
			}
			u, err := url.Parse(srv.url)
			if err != nil {
				t.Fatal(err)
			}
			u.Host = "127.0.0.1:1" // nothing listens there
			downDB, downD, err := openSQLMCP(u.String(), true)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { downDB.Close() })

			audit := &toolstest.AuditLog{}
			tl, err := tools.NewSet([]tools.Database{
				{Name: "server", Description: "Chinook on a server", Backend: srv.d, DB: srv.db, MaxRows: 7},
				{Name: "lite", Description: "Chinook in a file", Backend: lite.d, DB: lite.db, MaxRows: 3},
				{Name: "down", Backend: downD, DB: downDB},
			}, tools.Options{Audit: audit})
			if err != nil {
				t.Fatal(err)
			}
			cs := toolstest.Connect(t, tl)
			s := &toolstestSession{t: t, cs: cs}

			res, err := cs.ListTools(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tool := range res.Tools {
				var in struct {
					Properties map[string]struct {
						Enum        []string `json:"enum"`
						Description string   `json:"description"`
					} `json:"properties"`
				}
				b, _ := json.Marshal(tool.InputSchema)
				if err := json.Unmarshal(b, &in); err != nil {
					t.Fatal(err)
				}
				arg := in.Properties["database"]
				if diff := cmp.Diff([]string{"server", "lite", "down"}, arg.Enum); diff != "" {
					t.Errorf("%s: database enum (-want +got):\n%s", tool.Name, diff)
				}
				for _, want := range []string{"server — Chinook on a server (" + srv.d.Name() + ")", "lite — Chinook in a file (sqlite)"} {
					if !strings.Contains(arg.Description, want) {
						t.Errorf("%s: database description %q lacks %q", tool.Name, arg.Description, want)
					}
				}
			}

			// Each database's own row cap, on the same statement.
			const q = "SELECT track_id, name FROM track WHERE genre_id = 1 ORDER BY track_id"
			for db, n := range map[string]int{"server": 7, "lite": 3} {
				res := s.call("query", map[string]any{"database": db, "sql": q})
				if res.IsError || len(res.Rows()) != n || res.Structured["truncated"] != true {
					t.Errorf("%s: %d rows, want %d (its max_rows), truncated: %s", db, len(res.Rows()), n, res.Text)
				}
				if rec := audit.Last(); rec.Database != db || rec.Outcome != tools.OutcomeOK {
					t.Errorf("audit record %+v, want an ok call on %s", rec, db)
				}
			}
			// Each call runs on its own database, in its dialect.
			if res := s.call("query", map[string]any{"database": "lite", "sql": "SELECT sqlite_version() AS v"}); res.IsError {
				t.Errorf("sqlite_version() on lite: %s", res.Text)
			}
			if res := s.call("query", map[string]any{"database": "server", "sql": "SELECT sqlite_version() AS v"}); !res.IsError || !strings.HasPrefix(res.Text, "database error") {
				t.Errorf("sqlite_version() on the %s database = %q, want its own error", r.name, res.Text)
			}
			for _, db := range []string{"server", "lite"} {
				res := s.call("describe_table", map[string]any{"database": db, "table_name": "track"})
				if res.IsError || len(res.Structured["columns"].([]any)) != 9 {
					t.Errorf("describe track on %s: %s", db, res.Text)
				}
			}

			// The unreachable one answers unavailable; the others go on.
			for tool, args := range map[string]map[string]any{
				"query":          {"database": "down", "sql": "SELECT 1"},
				"list_tables":    {"database": "down"},
				"describe_table": {"database": "down", "table_name": "track"},
			} {
				res := s.call(tool, args)
				if !res.IsError || !strings.HasPrefix(res.Text, "database error unavailable: the database cannot be reached") {
					t.Errorf("%s on down = %q, want unavailable", tool, res.Text)
				}
				if rec := audit.Last(); rec.Database != "down" || rec.Error != "unreachable" {
					t.Errorf("audit record %+v, want unreachable on down", rec)
				}
			}
			if res := s.call("list_tables", map[string]any{"database": "server"}); res.IsError || !strings.Contains(res.Text, "track\ttable\t3503") {
				t.Errorf("list_tables on server after down failed: %s", res.Text)
			}
		})
	}
}
