package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// inspectorPackage is the MCP Inspector the test runs with npx; the
// newest needs Node >= 22, this one runs on Node 20. SQLMCP_INSPECTOR
// names another.
const inspectorPackage = "@modelcontextprotocol/inspector@0.15.0"

// TestInspectorCLIResourcesAndPrompts drives the built binary (--demo,
// stdio) with the MCP Inspector's CLI, as the README shows: it lists the
// resource templates and the resources, reads a table's resource, lists
// the prompts and gets one. The Inspector's CLI has no completion method
// (its web UI completes as one types): completion/complete is checked
// with a plain JSON-RPC exchange on the binary's stdin. Skipped without
// npx, or when npx cannot fetch the Inspector.
func TestInspectorCLIResourcesAndPrompts(t *testing.T) {
	bin := builtBinary(t)
	npx, err := exec.LookPath("npx")
	if err != nil {
		t.Skip("npx not found: the Inspector CLI needs Node")
	}
	pkg := inspectorPackage
	if p := os.Getenv("SQLMCP_INSPECTOR"); p != "" {
		pkg = p
	}
	inspect := func(args ...string) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute) // the first run fetches the package
		defer cancel()
		cmd := exec.CommandContext(ctx, npx, append([]string{"-y", pkg, "--cli", bin, "--demo"}, args...)...)
		cmd.Dir = t.TempDir()
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			if strings.Contains(stderr, "npm error") || strings.Contains(stderr, "ENOTFOUND") || strings.Contains(stderr, "EAI_AGAIN") {
				t.Skipf("npx cannot fetch %s: %.300s", pkg, stderr)
			}
			t.Fatalf("inspector %v: %v\n%s\n%s", args, err, out, stderr)
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("inspector %v: %v in %s", args, err, out)
		}
		return v
	}
	if tpl := inspect("--method", "resources/templates/list"); !strings.Contains(inspectorJSON(tpl), `"uriTemplate":"sqlmcp://{database}/{schema}/{table}"`) {
		t.Errorf("resources/templates/list: %s", inspectorJSON(tpl))
	}
	list := inspect("--method", "resources/list")
	if res, _ := list["resources"].([]any); len(res) != 11 || !strings.Contains(inspectorJSON(list), `"uri":"sqlmcp://default/main/track"`) {
		t.Errorf("resources/list: %d resources, want Chinook's 11 with track: %.500s", len(res), inspectorJSON(list))
	}
	read := inspect("--method", "resources/read", "--uri", "sqlmcp://default/main/track")
	if text := inspectorJSON(read); !strings.Contains(text, `table main.track\ncolumn\ttype`) || !strings.Contains(text, "unit_price") {
		t.Errorf("resources/read track: %.500s", text)
	}
	if prompts := inspectorJSON(inspect("--method", "prompts/list")); !strings.Contains(prompts, `"name":"ask"`) || !strings.Contains(prompts, `"name":"explore"`) {
		t.Errorf("prompts/list: %s", prompts)
	}
	got := inspectorJSON(inspect("--method", "prompts/get", "--prompt-name", "ask", "--prompt-args", "question=Which genre sells best?"))
	if !strings.Contains(got, "Which genre sells best?") || !strings.Contains(got, "describe_table") {
		t.Errorf("prompts/get ask: %s", got)
	}

	cmd := exec.Command(bin, "--demo")
	cmd.Stdin = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sh","version":"0"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"sqlmcp://{database}/{schema}/{table}"},"argument":{"name":"table","value":"inv"},"context":{"arguments":{"database":"default","schema":"main"}}}}
`)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("completion exchange: %v", err)
	}
	if !strings.Contains(string(out), `{"jsonrpc":"2.0","id":2,"result":{"completion":{"values":["invoice","invoice_line"]}}}`) {
		t.Errorf("completion/complete of table inv: %s", out)
	}
}

func inspectorJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
