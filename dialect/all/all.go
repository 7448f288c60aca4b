// Package all registers every backend sqlmcp ships: import it for its
// side effect, as cmd/sqlmcp does. A new backend adds its line here.
package all

import (
	_ "github.com/sqlmcp/sqlmcp/dialect/mysql"
	_ "github.com/sqlmcp/sqlmcp/dialect/postgres"
	_ "github.com/sqlmcp/sqlmcp/dialect/sqlite"
)
