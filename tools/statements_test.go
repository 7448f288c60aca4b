package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/all"
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// TestStatementsAdvertisedAreThePolicys: the query tool's description, the
// input schema of its sql argument and the server instructions name the
// statements the backend's policy admits, in the words its refusals use
// (no TABLE for SQLite, SHOW and DESCRIBE for MySQL only).
func TestStatementsAdvertisedAreThePolicys(t *testing.T) {
	for _, d := range dialect.Backends() {
		t.Run(d.Name(), func(t *testing.T) {
			cs := toolstest.Connect(t, tools.New(nil, d, tools.Options{})) // nothing here reaches the database
			refusal := toolstest.Call(t, cs, "query", map[string]any{"sql": "DELETE FROM t"})
			_, list, ok := strings.Cut(refusal.Text, "Only one read-only statement is allowed: ")
			if !refusal.IsError || !ok || list == "" {
				t.Fatalf("refusal %q does not list the allowed statements", refusal.Text)
			}
			res, err := cs.ListTools(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tl := range res.Tools {
				if tl.Name != "query" {
					continue
				}
				if !strings.Contains(tl.Description, ": "+list+".") {
					t.Errorf("description %q does not name %q", tl.Description, list)
				}
				var in struct {
					Properties map[string]struct {
						Description string `json:"description"`
					} `json:"properties"`
				}
				b, _ := json.Marshal(tl.InputSchema)
				if err := json.Unmarshal(b, &in); err != nil {
					t.Fatal(err)
				}
				// The list is in the description; the argument does not
				// repeat it (the tool list's budget, issue 15).
				if got, want := in.Properties["sql"].Description, "one read-only SQL statement"; got != want {
					t.Errorf("sql argument: %q, want %q", got, want)
				}
			}
			if ins := cs.InitializeResult().Instructions; !strings.Contains(ins, ": "+list+".") {
				t.Errorf("instructions %q do not name %q", ins, list)
			}
		})
	}
}
