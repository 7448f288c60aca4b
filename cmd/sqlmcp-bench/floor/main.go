// Command floor is a measuring instrument for sqlmcp-bench, not a product:
// the least an MCP server with a query tool can do per call, so that the
// harness can say how far sqlmcp is from it. It ships in no binary.
//
// No SDK: newline-delimited JSON-RPC on stdin and stdout; initialize,
// ping, tools/list (one query tool) and tools/call query. Read-only and
// the statement timeout are set once per connection (PostgreSQL startup
// parameters, MySQL/MariaDB session variables at connect, SQLite mode=ro
// and query_only), so a call is one round trip: `SELECT * FROM (<sql>) q
// LIMIT $1` through lib/pq with binary_parameters=yes (Parse/Bind/Execute/
// Sync in one exchange), go-sql-driver with interpolateParams (one
// COM_QUERY), or modernc in-process. Values are scanned into sql.RawBytes
// and the answer (TSV text and structuredContent {columns, rows,
// row_count}) is written straight into reused buffers, one write per answer.
//
//	floor -dsn postgres://... | mysql://... | sqlite:///path
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"
)

var (
	db       *sql.DB
	wrap     string        // the statement around the tool's SQL; %s is the SQL
	timeout  time.Duration // SQLite only: the others enforce it server-side
	outMu    sync.Mutex
	bufs     = sync.Pool{New: func() any { return &answer{out: make([]byte, 0, 64<<10), sc: make([]byte, 0, 64<<10)} }}
	maxLimit = 1000
)

type answer struct{ out, sc []byte }

func main() {
	dsn := flag.String("dsn", "", "postgres://, mysql:// or sqlite:// DSN")
	flag.DurationVar(&timeout, "timeout", 30*time.Second, "statement timeout")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("floor: ")
	var err error
	if db, err = open(*dsn); err != nil {
		log.Fatal(err)
	}
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			handle(line)
		}
		if err != nil {
			return
		}
	}
}

func open(dsn string) (*sql.DB, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	driver, driverDSN, pool := "", "", 10
	switch u.Scheme {
	case "postgres", "postgresql":
		q := u.Query()
		q.Set("binary_parameters", "yes")
		q.Set("options", fmt.Sprintf("-c default_transaction_read_only=on -c statement_timeout=%d", timeout.Milliseconds()))
		if q.Get("sslmode") == "" {
			q.Set("sslmode", "disable")
		}
		u.RawQuery = q.Encode()
		driver, driverDSN, wrap = "postgres", u.String(), "SELECT * FROM (%s) q LIMIT $1"
	case "mysql":
		cfg := mysql.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
		cfg.InterpolateParams = true
		// MariaDB and MySQL name the two session variables differently.
		probe, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return nil, err
		}
		var version string
		err = probe.QueryRow("SELECT VERSION()").Scan(&version)
		probe.Close()
		if err != nil {
			return nil, err
		}
		if strings.Contains(strings.ToLower(version), "mariadb") {
			cfg.Params = map[string]string{"tx_read_only": "1", "max_statement_time": fmt.Sprintf("%.3f", timeout.Seconds())}
		} else {
			cfg.Params = map[string]string{"transaction_read_only": "1", "max_execution_time": strconv.FormatInt(timeout.Milliseconds(), 10)}
		}
		driver, driverDSN, wrap = "mysql", cfg.FormatDSN(), "SELECT * FROM (%s) q LIMIT ?"
	case "sqlite":
		path := u.Path
		if u.Host != "" {
			path = u.Host + path
		}
		driverDSN = "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(5000)"
		driver, wrap = "sqlite", "SELECT * FROM (%s) q LIMIT ?"
		pool = min(10, max(2, runtime.GOMAXPROCS(0))) // as sqlmcp's SQLite pool
	default:
		return nil, fmt.Errorf("unknown DSN scheme %q", u.Scheme)
	}
	d, err := sql.Open(driver, driverDSN)
	if err != nil {
		return nil, err
	}
	d.SetMaxOpenConns(pool)
	d.SetMaxIdleConns(pool)
	if driver != "sqlite" {
		timeout = 0
	}
	return d, d.Ping()
}

type request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		ProtocolVersion string `json:"protocolVersion"`
		Name            string `json:"name"`
		Arguments       struct {
			SQL   string `json:"sql"`
			Limit int    `json:"limit"`
		} `json:"arguments"`
	} `json:"params"`
}

const toolList = `{"tools":[{"name":"query","description":"Run one read-only SELECT; rows as TSV and as JSON.",` +
	`"inputSchema":{"type":"object","properties":{"sql":{"type":"string"},"limit":{"type":"integer","minimum":1,"maximum":1000}},"required":["sql"]}}]}`

func handle(line []byte) {
	var req request
	if err := json.Unmarshal(line, &req); err != nil || len(req.ID) == 0 {
		return // a notification (notifications/initialized) or garbage: no answer
	}
	switch req.Method {
	case "initialize":
		v := req.Params.ProtocolVersion
		if v == "" {
			v = "2025-06-18"
		}
		reply(req.ID, `{"protocolVersion":`+strconv.Quote(v)+`,"capabilities":{"tools":{}},"serverInfo":{"name":"sqlmcp-floor","version":"0"}}`)
	case "ping":
		reply(req.ID, `{}`)
	case "tools/list":
		reply(req.ID, toolList)
	case "tools/call":
		go call(&req)
	default:
		write(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"method not found"}}`+"\n", req.ID))
	}
}

func reply(id json.RawMessage, result string) {
	write(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":%s}`+"\n", id, result))
}

func write(b []byte) {
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.Write(b)
}

// call answers tools/call query: TSV text first, then structuredContent,
// both built during the one pass over the rows.
func call(req *request) {
	a := bufs.Get().(*answer)
	defer bufs.Put(a)
	out := append(a.out[:0], `{"jsonrpc":"2.0","id":`...)
	out = append(out, req.ID...)
	out = append(out, `,"result":{"content":[{"type":"text","text":"`...)
	out, err := query(out, a, req)
	if err != nil {
		out = append(a.out[:0], `{"jsonrpc":"2.0","id":`...)
		out = append(out, req.ID...)
		out = append(out, `,"result":{"isError":true,"content":[{"type":"text","text":"`...)
		out = appendText(out, []byte(err.Error()), false)
		out = append(out, "\"}]}}\n"...)
	}
	a.out = out
	write(out)
}

func query(out []byte, a *answer, req *request) ([]byte, error) {
	args := req.Params.Arguments
	if req.Params.Name != "query" || args.SQL == "" {
		return out, fmt.Errorf("unknown tool %q or no sql", req.Params.Name)
	}
	limit := args.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, maxLimit)
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf(wrap, args.SQL), limit)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return out, err
	}
	kinds := make([]byte, len(cts)) // 'n' number, 'b' PostgreSQL boolean, 's' string
	sc := append(a.sc[:0], `{"columns":[`...)
	for i, ct := range cts {
		if i > 0 {
			sc = append(sc, ',')
			out = append(out, `\t`...)
		}
		typ := ct.DatabaseTypeName()
		kinds[i] = kind(typ)
		sc = append(sc, `{"name":"`...)
		sc = appendText(sc, []byte(ct.Name()), false)
		sc = append(sc, `","type":"`...)
		sc = appendText(sc, []byte(typ), false)
		sc = append(sc, `"}`...)
		out = appendText(out, []byte(ct.Name()), true)
	}
	out = append(out, `\n`...)
	sc = append(sc, `],"rows":[`...)
	vals := make([]sql.RawBytes, len(cts))
	ptrs := make([]any, len(cts))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return out, err
		}
		if n > 0 {
			sc = append(sc, ',')
		}
		sc = append(sc, '[')
		for i, v := range vals {
			if i > 0 {
				sc = append(sc, ',')
				out = append(out, `\t`...)
			}
			out = appendText(out, v, true)
			switch {
			case v == nil:
				sc = append(sc, "null"...)
			case kinds[i] == 'n' && isNumber(v):
				sc = append(sc, v...)
			case kinds[i] == 'b' && len(v) > 0: // lib/pq gives Go bools: "true", "false"
				if v[0] == 't' {
					sc = append(sc, "true"...)
				} else {
					sc = append(sc, "false"...)
				}
			default:
				sc = append(sc, '"')
				sc = appendText(sc, v, false)
				sc = append(sc, '"')
			}
		}
		sc = append(sc, ']')
		out = append(out, `\n`...)
		n++
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	sc = strconv.AppendInt(append(sc, `],"row_count":`...), int64(n), 10)
	sc = append(sc, '}')
	a.sc = sc
	out = append(out, `"}],"structuredContent":`...)
	out = append(out, sc...)
	return append(out, "}}\n"...), nil
}

func kind(typ string) byte {
	if i := strings.IndexByte(typ, '('); i >= 0 {
		typ = typ[:i]
	}
	switch strings.TrimPrefix(strings.ToUpper(typ), "UNSIGNED ") {
	case "INT2", "INT4", "INT8", "OID", "FLOAT4", "FLOAT8", "NUMERIC", "DECIMAL", "INT", "INTEGER",
		"SMALLINT", "TINYINT", "MEDIUMINT", "BIGINT", "FLOAT", "DOUBLE", "REAL":
		return 'n'
	case "BOOL":
		return 'b'
	}
	return 's'
}

// isNumber is a cheap test that a numeric column's text is a JSON number
// (not NaN or Infinity).
func isNumber(v []byte) bool {
	return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') && v[len(v)-1] >= '0' && v[len(v)-1] <= '9'
}

// appendText appends v escaped for a JSON string; with tsv, first escaped
// for a TSV cell (tab, newline, carriage return and backslash as \t, \n,
// \r, \\).
func appendText(b, v []byte, tsv bool) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i, c := range v {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, v[start:i]...)
		start = i + 1
		switch {
		case tsv && c == '\t':
			b = append(b, `\\t`...)
		case tsv && c == '\n':
			b = append(b, `\\n`...)
		case tsv && c == '\r':
			b = append(b, `\\r`...)
		case tsv && c == '\\':
			b = append(b, `\\\\`...)
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\t':
			b = append(b, `\t`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
	}
	return append(b, v[start:]...)
}
