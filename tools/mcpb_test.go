package tools_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// TestMCPBManifestMatchesServer checks the Claude Desktop extension manifest
// (mcpb/manifest.json, packed by `make mcpb`) against the server: it lists
// exactly the tools a client gets, the database URL is a required secret
// the launcher passes in the environment (not on the command line, where
// ps shows it), and the max_rows bound is the server's. No npm needed.
func TestMCPBManifestMatchesServer(t *testing.T) {
	b, err := os.ReadFile("../mcpb/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	type launch struct {
		Command string            `json:"command"`
		Args    []string          `json:"args"`
		Env     map[string]string `json:"env"`
	}
	var m struct {
		Server struct {
			Type       string `json:"type"`
			EntryPoint string `json:"entry_point"`
			MCPConfig  struct {
				launch
				PlatformOverrides map[string]launch `json:"platform_overrides"`
			} `json:"mcp_config"`
		} `json:"server"`
		Tools []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"tools"`
		License    string `json:"license"`
		UserConfig map[string]struct {
			Type      string   `json:"type"`
			Required  bool     `json:"required"`
			Sensitive bool     `json:"sensitive"`
			Max       *float64 `json:"max"`
		} `json:"user_config"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("mcpb/manifest.json: %v", err)
	}

	db, d := newSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{}))
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var served, listed []string
	for _, tl := range res.Tools {
		served = append(served, tl.Name)
	}
	for _, tl := range m.Tools {
		listed = append(listed, tl.Name)
		if tl.Description == "" {
			t.Errorf("manifest tool %s has no description", tl.Name)
		}
	}
	slices.Sort(served)
	slices.Sort(listed)
	if !slices.Equal(served, listed) {
		t.Errorf("manifest lists tools %q, the server serves %q", listed, served)
	}

	dsn, ok := m.UserConfig["dsn"]
	if !ok || dsn.Type != "string" || !dsn.Required || !dsn.Sensitive {
		t.Errorf("user_config.dsn = %+v (present %v), want a required, sensitive string", dsn, ok)
	}
	if mr := m.UserConfig["max_rows"]; mr.Max == nil || int(*mr.Max) != tools.HardMaxRows {
		t.Errorf("user_config.max_rows.max = %v, want tools.HardMaxRows (%d)", mr.Max, tools.HardMaxRows)
	}
	if m.Server.Type != "binary" || m.License != "Apache-2.0" {
		t.Errorf("server.type %q, license %q; want binary, Apache-2.0", m.Server.Type, m.License)
	}
	if _, err := os.Stat("../mcpb/" + strings.TrimPrefix(m.Server.EntryPoint, "server/")); err != nil {
		t.Errorf("entry point %s: %v", m.Server.EntryPoint, err)
	}
	configs := map[string]launch{"default": m.Server.MCPConfig.launch}
	for p, l := range m.Server.MCPConfig.PlatformOverrides {
		configs[p] = l
	}
	for p, l := range configs {
		if l.Env["SQLMCP_DSN"] != "${user_config.dsn}" {
			t.Errorf("%s: env SQLMCP_DSN = %q, want ${user_config.dsn}", p, l.Env["SQLMCP_DSN"])
		}
		if slices.ContainsFunc(l.Args, func(a string) bool { return strings.Contains(a, "user_config.dsn") }) {
			t.Errorf("%s: the DSN is in args %q (visible to ps)", p, l.Args)
		}
	}
}
