package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/internal/faultproxy"
	"github.com/sqlmcp/sqlmcp/tools"
)

// TestReadyzUnderDatabaseFaults: /readyz keeps its one-second limit while
// the database stalls (it accepts TCP and stops answering), and reflects
// the database within one probe after a restart left every pooled
// connection stale.
func TestReadyzUnderDatabaseFaults(t *testing.T) {
	for _, s := range []struct{ name, env, def string }{
		{"postgres", "SQLMCP_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"},
		{"mysql", "SQLMCP_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test"},
	} {
		t.Run(s.name, func(t *testing.T) {
			direct := os.Getenv(s.env)
			if direct == "" {
				direct = s.def
			}
			u, err := url.Parse(direct)
			if err != nil {
				t.Fatal(err)
			}
			p, err := faultproxy.New(u.Host)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			u.Host = p.Addr()
			db, d, _, err := openDatabase(context.Background(), u.String(), 4, dialect.OpenOptions{})
			if err != nil {
				if strings.Contains(os.Getenv("SQLMCP_REQUIRE_BACKENDS"), s.name) {
					t.Fatal(err)
				}
				t.Skipf("%s unreachable: %v", s.name, err)
			}
			t.Cleanup(func() { db.Close() })
			svc := newHTTPService(httpOptions{Tools: tools.New(db, d, tools.Options{}), DB: db, DSN: u.String(),
				Logger: slog.New(slog.DiscardHandler)})
			ts := httptest.NewServer(svc)
			t.Cleanup(ts.Close)
			probe := func() (int, string, time.Duration) {
				start := time.Now()
				code, body := get(t, ts.URL+"/readyz")
				return code, body, time.Since(start)
			}
			fill := func() { // every pooled connection open and idle
				var conns []interface{ Close() error }
				for range 4 {
					c, err := db.Conn(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					conns = append(conns, c)
				}
				for _, c := range conns {
					c.Close()
				}
			}

			fill()
			p.Stall()
			code, body, took := probe()
			p.Resume()
			if code != http.StatusServiceUnavailable || took > 4*time.Second {
				t.Errorf("/readyz during a stall = %d %q after %s, want 503 within about 1s", code, body, took)
			}
			fill()
			p.Cut()
			if code, body, took := probe(); code != http.StatusOK {
				t.Errorf("first /readyz after every pooled connection was cut = %d %q (after %s), want 200", code, body, took)
			}
		})
	}
}
