package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestHealthcheckProbesReadyz: `sqlmcp --healthcheck URL` (the container
// image's HEALTHCHECK) exits 0 against a live server's /readyz and 1 when
// the server is draining, answers an error, hangs or is not there, without
// needing a database or a DSN of its own.
func TestHealthcheckProbesReadyz(t *testing.T) {
	base, stop, _ := startHTTP(t, "--demo")
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * healthcheckTimeout):
		}
	}))
	defer hung.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	closed := "http://" + freePort(t) + "/readyz"

	for _, tc := range []struct {
		name, url string
		code      int
		out       string
	}{
		{"live server", base + "/readyz", 0, "healthy: 200 OK: ok"},
		{"503", failing.URL + "/readyz", 1, "unhealthy: 503 Service Unavailable: database unreachable"},
		{"nothing listening", closed, 1, "unhealthy:"},
		{"not a URL", "127.0.0.1:8080/readyz", 1, "needs an http:// or https:// URL"},
		{"hangs", hung.URL + "/readyz", 1, "unhealthy:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			code, stdout, stderr := runCmd(t, []string{"--healthcheck", tc.url}, nil, nil)
			if code != tc.code || !strings.Contains(stdout, tc.out) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout, stderr, tc.code, tc.out)
			}
			if took := time.Since(start); took > healthcheckTimeout+5*time.Second {
				t.Errorf("took %s, want within %s + grace", took, healthcheckTimeout)
			}
		})
	}

	// A server that has stopped is not healthy.
	stop()
	if code, stdout, _ := runCmd(t, []string{"--healthcheck", base + "/readyz"}, nil, nil); code != 1 {
		t.Errorf("after shutdown: exit %d, stdout %q; want 1", code, stdout)
	}
}
