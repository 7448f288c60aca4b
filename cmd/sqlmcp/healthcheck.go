package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// healthcheckTimeout bounds one probe: a HEALTHCHECK that hangs tells the
// orchestrator nothing, and /readyz itself answers within a second.
const healthcheckTimeout = 5 * time.Second

// healthcheck is `sqlmcp --healthcheck URL`: GET the URL (normally
// http://127.0.0.1:8080/readyz) and exit 0 on 200, 1 otherwise, with one
// line on stdout saying why. It exists for images without curl or wget
// (the FROM scratch container image's HEALTHCHECK).
func healthcheck(ctx context.Context, rawURL string, stdout io.Writer) int {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stdout, "unhealthy: --healthcheck needs an http:// or https:// URL (got %q)\n", rawURL)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		fmt.Fprintf(stdout, "unhealthy: %v\n", err)
		return 1
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		fmt.Fprintf(stdout, "unhealthy: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	reason := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stdout, "unhealthy: %s: %s\n", resp.Status, reason)
		return 1
	}
	fmt.Fprintf(stdout, "healthy: %s: %s\n", resp.Status, reason)
	return 0
}
