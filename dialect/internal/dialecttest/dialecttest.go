// Package dialecttest holds what the dialect packages' tests share.
package dialecttest

import (
	"testing"

	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/all" // the backends under test
)

// Backend returns the backend registered as name, failing the test when
// there is none.
func Backend(t *testing.T, name string) dialect.Backend {
	t.Helper()
	b, ok := dialect.Lookup(name)
	if !ok {
		t.Fatalf("backend %q is not registered", name)
	}
	return b
}
