package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// imageVersion is what the test builds the image as: --version and the
// version label must both say it.
const imageVersion = "v0.0.0-imagetest"

// skipImage skips loudly, or fails when SQLMCP_REQUIRE_IMAGE is set (a CI
// that installs buildah must not lose the test to a silent skip).
func skipImage(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := "container image NOT tested: " + fmt.Sprintf(format, args...)
	if os.Getenv("SQLMCP_REQUIRE_IMAGE") != "" {
		t.Fatal(msg + " (SQLMCP_REQUIRE_IMAGE is set)")
	}
	t.Skip(msg)
}

// buildah runs buildah with a bound; it returns stdout, and stderr in err.
func buildah(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "buildah", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("buildah %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// TestContainerImage builds the image with `make image` (buildah) and runs
// it: the configuration says user 65532, the entrypoint, port 8080, the
// health check and the OCI labels; the files are a static binary, a CA
// bundle that parses and a 1777 /tmp; in the image --version names the
// version, a --demo stdio session lists the tools and answers a query, the
// process cannot write to / (it is not root), and over HTTP the image's own
// HEALTHCHECK command reports the server healthy. Skipped (loudly) where
// buildah is missing or cannot run; it needs root, as buildah does here.
func TestContainerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image")
	}
	if _, err := exec.LookPath("buildah"); err != nil {
		skipImage(t, "buildah is not installed (Debian: apt-get install buildah)")
	}
	if _, err := exec.LookPath("make"); err != nil {
		skipImage(t, "make is not installed")
	}
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err != nil {
		skipImage(t, "no CA bundle to put in the image (apt-get install ca-certificates): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	probe, err := buildah(ctx, "", "from", "scratch")
	if err != nil {
		skipImage(t, "buildah cannot run here: %v", err)
	}
	buildah(ctx, "", "rm", strings.TrimSpace(probe))

	tmp := t.TempDir()
	tag := fmt.Sprintf("localhost/sqlmcp-imagetest:%d", time.Now().UnixNano())
	mk := exec.CommandContext(ctx, "make", "-C", "../..", "image", "VERSION="+imageVersion,
		"BIN="+filepath.Join(tmp, "sqlmcp"), "IMAGE_CONTEXT="+filepath.Join(tmp, "context"), "IMAGE="+tag)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Cleanup(func() { buildah(context.Background(), "", "rmi", "-f", tag) })
	if size, err := buildah(ctx, "", "images", "--format", "{{.Size}}", tag); err == nil {
		t.Logf("image %s: %s", tag, strings.TrimSpace(size))
	}

	// The configuration.
	raw, err := buildah(ctx, "", "inspect", "--type", "image", tag)
	if err != nil {
		t.Fatal(err)
	}
	var inspect struct {
		Docker struct {
			Config json.RawMessage `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(raw), &inspect); err != nil {
		t.Fatalf("buildah inspect: %v\n%s", err, raw)
	}
	var cfg struct {
		User         string
		Entrypoint   []string
		Cmd          []string
		ExposedPorts map[string]any
		Labels       map[string]string
		Healthcheck  struct{ Test []string }
	}
	if err := json.Unmarshal(inspect.Docker.Config, &cfg); err != nil {
		t.Fatalf("image config %q: %v", raw, err)
	}
	if cfg.User != "65532:65532" {
		t.Errorf("User = %q, want 65532:65532 (numeric, non-root)", cfg.User)
	}
	if !slices.Equal(cfg.Entrypoint, []string{"/sqlmcp"}) || len(cfg.Cmd) != 0 {
		t.Errorf("Entrypoint %q Cmd %q, want [/sqlmcp] and none", cfg.Entrypoint, cfg.Cmd)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("ExposedPorts = %v, want 8080/tcp", cfg.ExposedPorts)
	}
	wantCheck := []string{"CMD", "/sqlmcp", "--healthcheck", "http://127.0.0.1:8080/readyz"}
	if !slices.Equal(cfg.Healthcheck.Test, wantCheck) {
		t.Errorf("Healthcheck = %q, want %q", cfg.Healthcheck.Test, wantCheck)
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.version":  imageVersion,
		"org.opencontainers.image.source":   "https://github.com/sqlmcp/sqlmcp",
	} {
		if cfg.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cfg.Labels[k], v)
		}
	}

	ctr, err := buildah(ctx, "", "from", tag)
	if err != nil {
		t.Fatal(err)
	}
	ctr = strings.TrimSpace(ctr)
	t.Cleanup(func() { buildah(context.Background(), "", "rm", ctr) })

	// The files.
	mnt, err := buildah(ctx, "", "mount", ctr)
	if err != nil {
		t.Fatal(err)
	}
	root := strings.TrimSpace(mnt)
	pem, err := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"))
	if err != nil || !x509.NewCertPool().AppendCertsFromPEM(pem) {
		t.Errorf("CA bundle in the image: %v, %d bytes, no certificate parsed", err, len(pem))
	}
	if fi, err := os.Stat(filepath.Join(root, "tmp")); err != nil || fi.Mode()&(os.ModePerm|os.ModeSticky) != os.ModePerm|os.ModeSticky {
		t.Errorf("/tmp: %v, want a 1777 directory (the --demo database is written there)", fi)
	}
	if f, err := elf.Open(filepath.Join(root, "sqlmcp")); err != nil {
		t.Errorf("/sqlmcp: %v", err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("/sqlmcp is dynamically linked: it cannot run on an empty base")
			}
		}
		f.Close()
	}
	if _, err := buildah(ctx, "", "umount", ctr); err != nil {
		t.Error(err)
	}

	run := func(stdin string, args ...string) (string, error) {
		return buildah(ctx, stdin, append([]string{"run", "--isolation", "chroot", ctr, "--", "/sqlmcp"}, args...)...)
	}

	// --version.
	out, err := run("", "--version")
	if err != nil || !strings.HasPrefix(out, "sqlmcp "+imageVersion) {
		t.Errorf("--version = %q, %v; want sqlmcp %s", out, err, imageVersion)
	}

	// A --demo session over stdio.
	out, err = run(strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT count(*) AS n FROM track"}}}`,
	}, "\n")+"\n", "--demo")
	if err != nil {
		t.Fatalf("--demo over stdio: %v", err)
	}
	answers := map[float64]map[string]any{}
	for sc := bufio.NewScanner(strings.NewReader(out)); sc.Scan(); {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m["jsonrpc"] != "2.0" {
			t.Fatalf("stdout line is not a JSON-RPC message: %q", sc.Text())
		}
		id, _ := m["id"].(float64)
		res, _ := m["result"].(map[string]any)
		answers[id] = res
	}
	if info, _ := answers[1]["serverInfo"].(map[string]any); info == nil || info["version"] != imageVersion {
		t.Errorf("initialize: %v; want serverInfo.version %s", answers[1], imageVersion)
	}
	var names []string
	toolList, _ := answers[2]["tools"].([]any)
	for _, tl := range toolList {
		names = append(names, tl.(map[string]any)["name"].(string))
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"describe_table", "list_tables", "query", "search"}) {
		t.Errorf("tools/list names %q, want describe_table, list_tables, query, search", names)
	}
	if sc, _ := answers[3]["structuredContent"].(map[string]any); sc == nil || fmt.Sprint(sc["rows"]) != "[[3503]]" {
		t.Errorf("count(*) of track: %v, want [[3503]]", answers[3])
	}

	// Not root: it cannot create a file in the root-owned /.
	if _, err := run("", "--demo", "--audit-log", "/audit.jsonl"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("--audit-log /audit.jsonl: %v; want permission denied (the process must not run as root)", err)
	}

	// HTTP, probed by the image's own HEALTHCHECK command (on our port:
	// buildah run shares the host's network).
	addr := freePort(t)
	srv := exec.Command("buildah", "run", "--isolation", "chroot", ctr, "--",
		"/sqlmcp", "--demo", "--transport", "http", "--listen", addr)
	var srvErr syncBuffer
	srv.Stderr = &srvErr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- srv.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			srv.Process.Kill()
			t.Errorf("the HTTP server in the image did not stop on SIGTERM; stderr:\n%s", srvErr.String())
		}
	}()
	check := slices.Clone(wantCheck[2:])
	check[1] = strings.Replace(check[1], "127.0.0.1:8080", addr, 1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := run("", check...)
		if err == nil && strings.HasPrefix(out, "healthy: 200") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("--healthcheck against the image's HTTP server: %q, %v; server stderr:\n%s", out, err, srvErr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
