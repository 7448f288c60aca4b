package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "2add8f90c642d5a1b0f4e3c2a1b0f4e3c2a1b0f4"
	for _, tc := range []struct {
		name     string
		ldflags  string
		main     string
		settings []debug.BuildSetting
		want     string
	}{
		{"make build (git describe)", "v0.1.0-3-g2add8f9", "(devel)", nil, "sqlmcp v0.1.0-3-g2add8f9"},
		{"make build with stamped VCS", "v0.1.0", "v0.1.0", vcs(rev, "false"), "sqlmcp v0.1.0 (rev 2add8f90c642)"},
		{"plain go build in a checkout", "dev", "v0.0.0-20261202193146-2add8f90c642+dirty", vcs(rev, "true"), "sqlmcp v0.0.0-20261202193146-2add8f90c642+dirty (rev 2add8f90c642, modified)"},
		{"go install module@version", "dev", "v0.2.0", nil, "sqlmcp v0.2.0"},
		{"no VCS, no module version", "dev", "(devel)", nil, "sqlmcp dev"},
		{"revision without a module version", "dev", "(devel)", vcs(rev, "false"), "sqlmcp dev (rev 2add8f90c642)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/sqlmcp/sqlmcp", Version: tc.main}, Settings: tc.settings}
			v, detail := fromBuildInfo(tc.ldflags, info)
			got := "sqlmcp " + v
			if detail != "" {
				got += " (" + detail + ")"
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVersionOfPlainBuild builds the binary as `go build` does from a git
// checkout, without make's ldflags, and expects --version to name the
// checkout's revision rather than "dev".
func TestVersionOfPlainBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git checkout (git rev-parse: %v): the go command has no revision to stamp", err)
	}
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
		t.Skip("a linked git worktree (.git is a file): the go command stamps VCS information only in a checkout with a .git directory")
	}
	short, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		t.Skipf("git rev-parse --short HEAD: %v", err)
	}
	rev := strings.TrimSpace(string(short))

	bin := filepath.Join(t.TempDir(), "sqlmcp")
	// -buildvcs=auto is the go command's default; it is spelt out because a
	// GOFLAGS=-buildvcs=false in the environment or go env would turn it off.
	if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("--version: %v", err)
	}
	line := strings.TrimSpace(string(out))
	if !strings.HasPrefix(line, "sqlmcp ") || strings.Contains(line, " dev") || !strings.Contains(line, "rev "+rev) {
		t.Errorf("--version = %q, want the module version and the revision %s", line, rev)
	}
}
