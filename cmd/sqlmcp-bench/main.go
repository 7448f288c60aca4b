// Command sqlmcp-bench measures what a tool call costs: it starts the built
// sqlmcp binary over stdio (or streamable HTTP with -transport http), drives
// it with a minimal JSON-RPC client, and runs the same statements through
// bare database/sql on the same driver in its own process, so that every
// figure has its baseline from the same run.
//
// It creates the data it needs (a sqlmcp_bench database per backend with
// Chinook, a 2,000,000-row pgbench-like table and 1000 small tables) and
// reuses it on later runs. Results are a Markdown table on stdout; progress
// goes to stderr. See BENCHMARKS.md.
//
// With -compare (on by default for -compare-case small) it also measures,
// in -rounds interleaved rounds on the same query case, a minimal floor
// server (./floor) and the seed lesson's TypeScript server (./tsserver,
// PostgreSQL only), and prints sqlmcp's ratios to them: see compare.go.
//
//	go run ./cmd/sqlmcp-bench -backend postgres -case small,big
//	go run ./cmd/sqlmcp-bench -backend postgres -case small -compare floor,ts -rounds 3
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/dialect"
)

type config struct {
	bin       string
	backends  []string
	cases     []string
	pg        string
	mysql     string
	sqliteDir string
	duration  time.Duration
	conc      int
	transport string

	// The comparison (compare.go).
	compare      []string // floor, ts
	compareCases []string
	rounds       int
	floorBin     string
	cache        string
}

func main() {
	var cfg config
	var backends, cases string
	flag.StringVar(&cfg.bin, "bin", "bin/sqlmcp", "the sqlmcp binary to measure (make build)")
	flag.StringVar(&backends, "backend", "postgres,mysql,sqlite", "backends to measure, comma-separated")
	flag.StringVar(&cases, "case", "small,big,page,list,describe", "cases to run, comma-separated: "+caseNames())
	flag.StringVar(&cfg.pg, "pg", "postgres://postgres@127.0.0.1:5432/sqlmcp_bench", "PostgreSQL database to create and use")
	flag.StringVar(&cfg.mysql, "mysql", "mysql://root@127.0.0.1:3306/sqlmcp_bench", "MySQL/MariaDB database to create and use")
	flag.StringVar(&cfg.sqliteDir, "sqlite-dir", "bin/bench", "directory for the SQLite benchmark files")
	flag.DurationVar(&cfg.duration, "duration", 2*time.Second, "measuring time per phase (1 in flight, N in flight), per case, for the server and for the bare baseline")
	flag.IntVar(&cfg.conc, "concurrency", 8, "calls in flight in the concurrent phase")
	flag.StringVar(&cfg.transport, "transport", "stdio", "stdio, or http: the server started with --transport http on a free loopback port, driven over POST /mcp; http-stateless: the same with --stateless")
	var compare, compareCases string
	flag.StringVar(&compare, "compare", "floor,ts", "also measure these servers beside sqlmcp, interleaved (stdio only; \"\" for none): floor (cmd/sqlmcp-bench/floor, every backend), ts (the seed lesson's TypeScript server, PostgreSQL, needs Node >= 22 or npm)")
	flag.StringVar(&compareCases, "compare-case", "small", "query cases to run the comparison on, comma-separated")
	flag.IntVar(&cfg.rounds, "rounds", 3, "interleaved rounds of the comparison")
	flag.StringVar(&cfg.floorBin, "floor-bin", "", "a built floor server (default: go build ./cmd/sqlmcp-bench/floor next to -bin)")
	flag.StringVar(&cfg.cache, "cache", os.Getenv("SQLMCP_BENCH_CACHE"), "where the TypeScript server and its packages (and Node 22, if needed) are installed (default $SQLMCP_BENCH_CACHE or ~/.cache/sqlmcp-bench)")
	flag.Parse()
	cfg.backends = strings.Split(backends, ",")
	cfg.cases = strings.Split(cases, ",")
	for _, c := range cfg.cases {
		if findCase(c) == nil {
			log.Fatalf("sqlmcp-bench: unknown case %q (want %s)", c, caseNames())
		}
	}
	if cfg.transport != "stdio" && cfg.transport != "http" && cfg.transport != "http-stateless" {
		log.Fatalf("sqlmcp-bench: unknown transport %q (want stdio, http or http-stateless)", cfg.transport)
	}
	if compare != "" && compare != "none" && cfg.transport != "stdio" {
		log.Printf("sqlmcp-bench: the comparison (-compare) runs over stdio only: not with -transport %s", cfg.transport)
	} else if compare != "" && compare != "none" {
		cfg.compare = strings.Split(compare, ",")
		cfg.compareCases = strings.Split(compareCases, ",")
		for _, c := range cfg.compareCases {
			if bc := findCase(c); bc == nil || bc.tool != "query" {
				log.Fatalf("sqlmcp-bench: -compare-case %q is not a query case", c)
			}
		}
		if cfg.rounds < 1 {
			log.Fatalf("sqlmcp-bench: -rounds must be at least 1")
		}
	}
	log.SetFlags(0)
	log.SetPrefix("sqlmcp-bench: ")
	if err := run(cfg); err != nil {
		log.Fatal(err)
	}
}

// benchCase is one sub-benchmark: a tool call, and the same statements
// through bare database/sql.
type benchCase struct {
	name    string
	title   string
	maxRows int  // the server's --max-rows; 0 for its default (100)
	wide    bool // runs against the 1000-table schema
	tool    string
	args    func(t *target) map[string]any
	rows    int // rows (or tables, or columns) a correct answer holds
	bare    func(ctx context.Context, t *target) (int, error)
}

const smallSQL = "SELECT * FROM track WHERE genre_id = 1"

var cases = []*benchCase{
	{
		name: "small", title: "query: Chinook track, 100 rows", tool: "query", rows: 100,
		args: func(*target) map[string]any { return map[string]any{"sql": smallSQL, "limit": 100} },
		bare: func(ctx context.Context, t *target) (int, error) { return bareQuery(ctx, t, smallSQL+" LIMIT 100") },
	},
	{
		name: "big", title: "query: 100 rows of 2M", tool: "query", rows: 100,
		args: func(*target) map[string]any { return map[string]any{"sql": "SELECT * FROM " + bigTable, "limit": 100} },
		bare: func(ctx context.Context, t *target) (int, error) {
			return bareQuery(ctx, t, "SELECT * FROM "+bigTable+" LIMIT 100")
		},
	},
	{
		name: "page", title: "query: 1000-row page", tool: "query", rows: 1000, maxRows: 1000,
		args: func(*target) map[string]any { return map[string]any{"sql": smallSQL, "limit": 1000} },
		bare: func(ctx context.Context, t *target) (int, error) { return bareQuery(ctx, t, smallSQL+" LIMIT 1000") },
	},
	{
		name: "list", title: "list_tables: 1000 tables", tool: "list_tables", rows: wideTables, wide: true,
		args: func(t *target) map[string]any {
			if t.wide == "" {
				return map[string]any{}
			}
			return map[string]any{"schema": t.wide}
		},
		bare: func(ctx context.Context, t *target) (int, error) {
			tables, err := t.d.ListTables(ctx, t.wideDB, t.wide)
			return len(tables), err
		},
	},
	{
		name: "describe", title: "describe_table: track", tool: "describe_table", rows: 9,
		args: func(*target) map[string]any { return map[string]any{"table_name": "track"} },
		bare: func(ctx context.Context, t *target) (int, error) {
			info, err := t.d.DescribeTable(ctx, t.db, dialect.TableRef{Name: "track"})
			if err != nil {
				return 0, err
			}
			return len(info.Columns), nil
		},
	},
}

func findCase(name string) *benchCase {
	for _, c := range cases {
		if c.name == name {
			return c
		}
	}
	return nil
}

func caseNames() string {
	var s []string
	for _, c := range cases {
		s = append(s, c.name)
	}
	return strings.Join(s, ", ")
}

// bareQuery is the baseline of the query tool: the statement with its LIMIT,
// every value scanned, on a pooled connection, no transaction.
func bareQuery(ctx context.Context, t *target, query string) (int, error) {
	rows, err := t.db.QueryContext(ctx, query)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// result is one line of the table.
type result struct {
	backend, title string
	mcp, bare      stats
	bytes          int
	cpuPerCall     time.Duration // the server's CPU time per call, both phases
	startup        time.Duration
	peakRSS        int64
}

func run(cfg config) error {
	ctx := context.Background()
	var results []result
	var skipped []string
	var cs []contender
	var cmps []comparison
	var notes []string
	if len(cfg.compare) > 0 {
		var err error
		if cs, notes, err = contenders(ctx, cfg); err != nil {
			return err
		}
		if len(cs) < 2 { // sqlmcp alone: nothing to compare with
			cfg.compareCases = nil
		}
	}
	for _, backend := range cfg.backends {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		t, err := prepare(pctx, backend, cfg)
		cancel()
		if errors.Is(err, errUnreachable) {
			log.Printf("SKIPPING %s: %v", backend, err)
			skipped = append(skipped, fmt.Sprintf("%s (%v)", backend, err))
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: preparing data: %w", backend, err)
		}
		for _, name := range cfg.cases {
			c := findCase(name)
			log.Printf("%s: %s", backend, c.title)
			r, err := runCase(ctx, cfg, t, c)
			if err != nil {
				t.close()
				return fmt.Errorf("%s %s: %w", backend, c.name, err)
			}
			results = append(results, r)
		}
		for _, name := range cfg.compareCases {
			c := findCase(name)
			log.Printf("%s: %s: comparison", backend, c.title)
			cmp, err := compareCase(ctx, cfg, t, c, cs)
			if err != nil {
				t.close()
				return fmt.Errorf("%s %s: comparison: %w", backend, c.name, err)
			}
			cmps = append(cmps, cmp)
		}
		t.close()
	}
	printTable(os.Stdout, cfg, results, skipped)
	printComparisons(os.Stdout, cfg, cmps, notes)
	return nil
}

func runCase(ctx context.Context, cfg config, t *target, c *benchCase) (result, error) {
	r := result{backend: t.backend, title: c.title}
	dsn := t.dsn
	if c.wide && t.wideDSN != "" {
		dsn = t.wideDSN
	}
	args := []string{"--dsn", dsn}
	if c.maxRows > 0 {
		args = append(args, "--max-rows", fmt.Sprint(c.maxRows))
	}
	srv, err := startServer(ctx, cfg, args)
	if err != nil {
		return r, err
	}
	defer srv.close()
	r.startup = srv.startup

	toolArgs := c.args(t)
	first, err := srv.callTool(ctx, c.tool, toolArgs)
	if err != nil {
		return r, err
	}
	if err := verify(first, c); err != nil {
		return r, err
	}
	r.bytes = len(first)
	cpu0, err := srv.cpuTime()
	if err != nil {
		return r, err
	}
	r.mcp, err = measure(ctx, cfg, func(ctx context.Context) error {
		_, err := srv.callTool(ctx, c.tool, toolArgs)
		return err
	})
	if err != nil {
		return r, err
	}
	cpu1, err := srv.cpuTime()
	if err != nil {
		return r, err
	}
	r.cpuPerCall = (cpu1 - cpu0) / time.Duration(max(1, r.mcp.calls))
	if r.peakRSS, err = srv.peakRSS(); err != nil {
		return r, err
	}
	// Spot-check an answer after the load: still correct.
	last, err := srv.callTool(ctx, c.tool, toolArgs)
	if err != nil {
		return r, err
	}
	if err := verify(last, c); err != nil {
		return r, err
	}

	if n, err := c.bare(ctx, t); err != nil {
		return r, fmt.Errorf("bare: %w", err)
	} else if n != c.rows {
		return r, fmt.Errorf("bare: got %d rows, want %d", n, c.rows)
	}
	r.bare, err = measure(ctx, cfg, func(ctx context.Context) error {
		_, err := c.bare(ctx, t)
		return err
	})
	return r, err
}

// verify decodes an answer and checks it has the rows the case expects.
func verify(line []byte, c *benchCase) error {
	res, err := check(line)
	if err != nil {
		return err
	}
	var n int
	switch c.tool {
	case "query":
		var out struct {
			RowCount int `json:"row_count"`
		}
		err = json.Unmarshal(res.Result.StructuredContent, &out)
		n = out.RowCount
	case "list_tables":
		var out struct{ Tables []struct{} }
		err = json.Unmarshal(res.Result.StructuredContent, &out)
		n = len(out.Tables)
	case "describe_table":
		var out struct{ Columns []struct{} }
		err = json.Unmarshal(res.Result.StructuredContent, &out)
		n = len(out.Columns)
	}
	if err != nil {
		return err
	}
	if n != c.rows {
		return fmt.Errorf("%s answered %d rows, want %d", c.tool, n, c.rows)
	}
	return nil
}

// stats are one measured side (server or bare).
type stats struct {
	p50, p90, p99 time.Duration
	rate1, rateN  float64
	calls         int
}

// measure warms up, then calls f one at a time for cfg.duration (latency
// percentiles and calls/s), then from cfg.conc goroutines for cfg.duration
// (calls/s).
func measure(ctx context.Context, cfg config, f func(context.Context) error) (stats, error) {
	var s stats
	warm := time.Now().Add(cfg.duration / 10)
	for time.Now().Before(warm) {
		if err := f(ctx); err != nil {
			return s, err
		}
	}
	var lat []time.Duration
	start := time.Now()
	end := start.Add(cfg.duration)
	for {
		t0 := time.Now()
		if !t0.Before(end) {
			break
		}
		if err := f(ctx); err != nil {
			return s, err
		}
		lat = append(lat, time.Since(t0))
	}
	s.rate1 = float64(len(lat)) / time.Since(start).Seconds()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	s.p50, s.p90, s.p99 = pct(0.50), pct(0.90), pct(0.99)

	var calls atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start = time.Now()
	end = start.Add(cfg.duration)
	for range cfg.conc {
		wg.Go(func() {
			for time.Now().Before(end) {
				if err := f(ctx); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				calls.Add(1)
			}
		})
	}
	wg.Wait()
	s.rateN = float64(calls.Load()) / time.Since(start).Seconds()
	s.calls = len(lat) + int(calls.Load())
	return s, firstErr
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Microseconds())/1000) }

func printTable(w *os.File, cfg config, rs []result, skipped []string) {
	fmt.Fprintf(w, "| backend | case | p50 ms (bare) | ×bare | p90 ms | p99 ms | calls/s @1 (bare) | calls/s @%d (bare) | server CPU ms/call | bytes/result | start-up ms | peak RSS MB |\n", cfg.conc)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %s | %s (%s) | %.1f | %s | %s | %.0f (%.0f) | %.0f (%.0f) | %s | %d | %.0f | %.1f |\n",
			r.backend, r.title, ms(r.mcp.p50), ms(r.bare.p50), float64(r.mcp.p50)/float64(r.bare.p50),
			ms(r.mcp.p90), ms(r.mcp.p99), r.mcp.rate1, r.bare.rate1, r.mcp.rateN, r.bare.rateN,
			ms(r.cpuPerCall), r.bytes, float64(r.startup.Microseconds())/1000, float64(r.peakRSS)/(1<<20))
	}
	for _, s := range skipped {
		fmt.Fprintf(w, "\nSkipped: %s\n", s)
	}
}
