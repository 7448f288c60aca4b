package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"

	sqlitedrv "modernc.org/sqlite"

	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/dialect/internal/govern"
)

// accessGuard enforces an access policy with SQLite's authorizer, which
// SQLite consults for every column of every table a statement reads while
// compiling it: through views (expanded to their base tables' columns),
// subqueries, CTEs, triggers' bodies and SELECT * (one read per column).
// A table read without any column (SELECT count(*) FROM t) is a read with
// an empty column name. This is the sound layer on SQLite: nothing reads
// a table's values without an authorized SQLITE_READ.
type accessGuard struct {
	policy *access.Policy
	// enforce is set by the first Query: the catalog tools' own SQL,
	// which runs in sessions that never call Query, reads sqlite_stat1
	// for row counts and pragmas of every table.
	enforce atomic.Bool
	// denied is the rule that made the authorizer refuse the statement
	// being compiled: the callback runs on the goroutine of Query.
	denied *access.Denied
	// shadows maps the shadow tables of virtual tables (an FTS5 table's
	// _content and _data, an R*Tree's _node, …), lower-cased schema.name,
	// to their virtual table: they hold its values under their own names.
	shadows map[string]string
	// named holds the names (lower-cased) the statement being compiled
	// spells: a shadow table it does not name is read by its virtual
	// table's module, for a read the authorizer judged on the table.
	named map[string]bool
}

// sqliteShadowTables lists every shadow table with the virtual table it
// belongs to (its name is the virtual table's and a suffix).
const sqliteShadowTables = `SELECT t.schema, t.name, v.name FROM pragma_table_list t JOIN pragma_table_list v
  ON v.type = 'virtual' AND v.schema = t.schema AND substr(t.name, 1, length(v.name) + 1) = v.name || '_'
WHERE t.type = 'shadow'`

// loadShadows reads the shadow tables (before enforcing: the catalog is
// the session's own reading).
func (g *accessGuard) loadShadows(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) error {
	rows, err := q.QueryContext(ctx, sqliteShadowTables)
	if err != nil {
		return fmt.Errorf("access check: read the shadow tables: %w", err)
	}
	defer rows.Close()
	g.shadows = map[string]string{}
	for rows.Next() {
		var schema, name, owner string
		if err := rows.Scan(&schema, &name, &owner); err != nil {
			return fmt.Errorf("access check: read the shadow tables: %w", err)
		}
		key := strings.ToLower(schema + "." + name)
		// The longest virtual table name that prefixes it owns it.
		if len(owner) > len(g.shadows[key]) {
			g.shadows[key] = owner
		}
	}
	return rows.Err()
}

// sqliteStatTables hold the planner's statistics; sqlite_stat4 (and the
// older sqlite_stat3) keep sample rows' values of indexed columns, and
// sqlite_stat1 is refused with them so that no statistics table needs a
// rule of its own.
var sqliteStatTables = map[string]bool{"sqlite_stat1": true, "sqlite_stat2": true, "sqlite_stat3": true, "sqlite_stat4": true}

// sqliteSystemTable tells whether a table is SQLite's own catalog, which
// the schemas rule does not hide (it holds definitions, not values).
func sqliteSystemTable(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "sqlite_") || strings.HasPrefix(n, "pragma_")
}

func (g *accessGuard) authorize(action sqlitedrv.AuthorizerActionCode, arg1, arg2, arg3, arg4 string) sqlitedrv.AuthorizerReturnCode {
	if action == sqlitedrv.AuthRead && g.enforce.Load() {
		if d := g.readDenied(arg3, arg1, arg2, arg4); d != nil {
			if g.denied == nil {
				g.denied = d
			}
			return sqlitedrv.AuthorizerDeny
		}
	}
	return sqliteAuthorizer(action, arg1, arg2, arg3, arg4)
}

// readDenied judges one SQLITE_READ of schema.table.column, inside view
// (the innermost view or trigger, "" for the statement itself).
func (g *accessGuard) readDenied(schema, table, column, view string) *access.Denied {
	p := g.policy
	if schema == "" {
		// SQLite names no database for the read of a table none of whose
		// columns is used (SELECT count(*) FROM t); the session can only
		// have main (and temp, which nothing may create).
		schema = "main"
	}
	detail := ""
	if view != "" {
		detail = "through " + view
	}
	if sqliteStatTables[strings.ToLower(table)] {
		return &access.Denied{Rule: govern.RuleStatistics, Object: schema + "." + table,
			Detail: strings.TrimPrefix(detail+"; ", "; ") + "planner statistics hold column values"}
	}
	if rule := p.TableDenied(schema, table); rule != "" && !(rule == "schemas" && sqliteSystemTable(table)) {
		return &access.Denied{Rule: rule, Object: schema + "." + table, Detail: detail}
	}
	if owner, ok := g.shadows[strings.ToLower(schema+"."+table)]; ok && (view != "" || g.named[strings.ToLower(table)]) {
		// A shadow table the statement (or a view) names itself: its
		// columns are the virtual table's by position (c0, c1, …) or
		// encoded, so one of a table some column rule applies to is
		// refused whole. (The module's own reads, for a read of the virtual
		// table, were judged on the virtual table.)
		shadow := strings.TrimPrefix(detail+"; ", "; ") + "a shadow table of virtual table " + schema + "." + owner + ", whose values it holds"
		if rule := p.TableDenied(schema, owner); rule != "" {
			return &access.Denied{Rule: rule, Object: schema + "." + table, Detail: shadow}
		}
		if p.HasColumnRules(schema, owner) {
			return &access.Denied{Rule: govern.ColumnRule(p, schema, owner), Object: schema + "." + table, Detail: shadow}
		}
	}
	if column != "" {
		if rule := p.ColumnDenied(schema, table, column); rule != "" {
			return &access.Denied{Rule: rule, Object: schema + "." + table + "." + column, Detail: detail}
		}
	}
	return nil
}
