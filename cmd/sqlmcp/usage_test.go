package main

import (
	"os"
	"strings"
	"testing"
)

func TestHelpSpellsFlagsWithTwoDashes(t *testing.T) {
	code, _, stderr := runCmd(t, []string{"--help"}, nil, nil)
	if code != 0 {
		t.Fatalf("--help: exit code %d", code)
	}
	flags := 0
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "  -") {
			continue
		}
		flags++
		if !strings.HasPrefix(line, "  --") {
			t.Errorf("flag spelt with one dash: %q", line)
		}
	}
	if flags < 20 || !strings.Contains(stderr, "\n  --dsn string\n") || !strings.Contains(stderr, `(default "127.0.0.1:8080")`) {
		t.Errorf("--help lists %d flags; want every flag with its type and default:\n%s", flags, stderr)
	}
}

// TestNoTerminalHintOffATerminal: a service or script that starts sqlmcp
// with stdin on /dev/null or a pipe gets no "is an MCP server" text on
// stderr (/dev/null is a character device, but not a terminal).
func TestNoTerminalHintOffATerminal(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	for name, stdin := range map[string]*os.File{"/dev/null": devNull, "pipe": r} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCmd(t, []string{"--demo"}, nil, stdin)
			if code != 0 {
				t.Errorf("exit code %d at EOF, want 0; stderr:\n%s", code, stderr)
			}
			if strings.Contains(stderr, "is an MCP server") {
				t.Errorf("terminal hint printed with stdin on %s:\n%s", name, stderr)
			}
		})
	}
}
