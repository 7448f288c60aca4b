// Command sqlmcp-demo is a scripted MCP client: it starts `sqlmcp --demo`
// over stdio, exactly as Claude Desktop or Cursor would, and shows what a
// model sees from each tool — including a write it refuses.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	server := flag.String("server", "bin/sqlmcp", "the sqlmcp binary to start")
	flag.Parse()
	if err := run(*server, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "sqlmcp-demo:", err)
		os.Exit(1)
	}
}

func run(server string, extra []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append([]string{"--demo", "--log-level", "warn"}, extra...)
	cmd := exec.Command(server, args...)
	cmd.Stderr = os.Stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "sqlmcp-demo", Version: "1"}, nil)
	start := time.Now()
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		return fmt.Errorf("start %s: %w (run `make build` first)", server, err)
	}
	defer cs.Close()
	init := cs.InitializeResult()
	fmt.Printf("Connected to %s %s over stdio in %s.\n\n", init.ServerInfo.Name, init.ServerInfo.Version, time.Since(start).Round(time.Millisecond))

	tl, err := cs.ListTools(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Println("== tools/list")
	for _, t := range tl.Tools {
		fmt.Printf("  %-15s readOnlyHint=%v  %s\n", t.Name, t.Annotations.ReadOnlyHint, firstSentence(t.Description))
	}
	fmt.Println()

	steps := []struct {
		tool string
		args map[string]any
	}{
		{"list_tables", map[string]any{}},
		{"describe_table", map[string]any{"table_name": "track"}},
		{"query", map[string]any{"sql": `SELECT g.name AS genre, count(*) AS tracks, round(sum(t.milliseconds) / 3600000.0, 1) AS hours
FROM track t JOIN genre g ON g.genre_id = t.genre_id
GROUP BY g.name ORDER BY tracks DESC`, "limit": 5}},
		{"query", map[string]any{"sql": "SELECT 1; DELETE FROM track"}},
		{"describe_table", map[string]any{"table_name": "trak"}},
	}
	for _, s := range steps {
		fmt.Printf("== tools/call %s %s\n", s.tool, compact(s.args))
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: s.tool, Arguments: s.args})
		if err != nil {
			return err
		}
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				fmt.Print(indent(tc.Text))
			}
		}
		if res.IsError {
			fmt.Println("   (isError: true — the model reads this and corrects itself)")
		}
		fmt.Println()
	}
	return nil
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

func compact(m map[string]any) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%q", k, strings.Join(strings.Fields(fmt.Sprint(v)), " ")))
	}
	return strings.Join(parts, " ")
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "   " + strings.ReplaceAll(s, "\n", "\n   ") + "\n"
}
