package dialect

import (
	"context"
	"fmt"
	"strings"
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

// summarize turns a list of objects with the privileges held on each into
// one finding: the count and the first few, never a thousand names.
func summarize(verb string, objs []string, privs map[string][]string) string {
	const shown = 3
	var b strings.Builder
	if len(objs) == 1 {
		fmt.Fprintf(&b, "%s: ", verb)
	} else {
		fmt.Fprintf(&b, "%s %d objects, e.g. ", verb, len(objs))
	}
	for i, o := range objs {
		if i == shown {
			b.WriteString(", …")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", o, strings.Join(privs[o], ", "))
	}
	return b.String()
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
