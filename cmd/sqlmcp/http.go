package main

import (
	"context"
	"database/sql"
	"io"
	"log/slog"

	"github.com/sqlmcp/sqlmcp/tools"
)

// checkHTTP validates the HTTP transport flags. TEMPORARY: issue 3 fills it.
func (c *config) checkHTTP() error {
	if c.Transport == "http" {
		return usagef("--transport http is not available yet")
	}
	return nil
}

// serveHTTP serves MCP streamable HTTP. TEMPORARY: issue 3 fills it.
func serveHTTP(ctx context.Context, cfg config, t *tools.Tools, db *sql.DB, logger *slog.Logger, stderr io.Writer) int {
	return 2
}
