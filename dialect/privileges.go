package dialect

import (
	"context"

	"github.com/sqlmcp/sqlmcp/dialect/access"
)

// PrivilegeChecker is implemented by dialects that can tell what the
// connected role could do beyond reading. sqlmcp's read-only layers do not
// depend on it; it is the start-up check that the least-privilege layer,
// the one that does not depend on sqlmcp, is in place.
type PrivilegeChecker interface {
	// Privileges returns one human-readable finding per power the
	// connected role has beyond reading ("role app is a superuser", "can
	// write 12 tables, e.g. public.track (INSERT, UPDATE, DELETE)"); none
	// means a least-privilege role.
	Privileges(ctx context.Context, q Queryer) ([]string, error)
}

// ConnectionLimiter is implemented by dialects that can read how many
// connections the server lets the connected role open, so that start-up
// can warn when the pool may open more: the calls beyond the limit would
// fail (too many connections) while the pool looks healthy.
type ConnectionLimiter interface {
	// ConnectionLimit returns the smallest limit on the role's concurrent
	// connections and where it comes from; limit 0 means none applies.
	ConnectionLimit(ctx context.Context, q Queryer) (limit int, source string, err error)
}

// Governor is a Backend whose database can enforce an access policy with
// its own grants, the sound layer where the backend's plan-level check in
// Session.Query is not (PostgreSQL, MySQL/MariaDB). SQLite's sessions
// enforce a policy soundly themselves (its authorizer sees every read)
// and it does not implement Governor.
type Governor interface {
	// GrantScript returns SQL that makes role able to read exactly what p
	// allows of the database q is connected to: the tables of the visible
	// schemas minus the denied ones, and of a table with denied columns
	// only its other columns. It starts by revoking what the role may
	// hold there, so that applying it to a broader role narrows it.
	GrantScript(ctx context.Context, q Queryer, p *access.Policy, role string) (string, error)
	// Exposed lists what the connected role can read that p denies
	// ("public.employee", "public.customer.email", and statistics that
	// hold values of denied columns): empty when the grants alone
	// enforce p.
	Exposed(ctx context.Context, q Queryer, p *access.Policy) ([]string, error)
}

// Inheritor is implemented by a backend whose tables may hold other
// tables' rows under names of their own (PostgreSQL's partitions and
// inheritance children): the access policy's rules of a table apply to
// the tables that descend from it, and the catalog tools hide them alike.
type Inheritor interface {
	// Ancestors maps each table that is a partition or an inheritance
	// child to the tables it descends from.
	Ancestors(ctx context.Context, q Queryer) (map[TableRef][]TableRef, error)
}
