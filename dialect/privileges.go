package dialect

import (
	"context"
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
