package sqlite

import (
	"context"
	"fmt"

	"github.com/sqlmcp/sqlmcp/dialect"
)

var _ dialect.PrivilegeChecker = sqlite{}

// Privileges reports a database file this process could write: mode=ro
// and the authorizer hold, but a read-only file is the layer that does not
// depend on sqlmcp. The check asks the operating system (access(2) where
// there is one) and never opens the file for writing, which would drop
// SQLite's POSIX locks on close.
func (sqlite) Privileges(ctx context.Context, q dialect.Queryer) ([]string, error) {
	var path string
	if err := q.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path); err != nil {
		return nil, fmt.Errorf("read database file name: %w", err)
	}
	if path == "" {
		return nil, nil
	}
	ok, err := writable(path)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", path, err)
	}
	if ok {
		return []string{fmt.Sprintf("database file %s is writable by this process (chmod a-w it, or use a read-only mount)", path)}, nil
	}
	return nil, nil
}
