package dialect

import "errors"

// ErrConnectionStale marks a failure of a pooled connection that happened
// before the caller's statement reached the database: a connection the
// server dropped while it sat idle (a restart, pg_terminate_backend, a
// network cut), or a SQLite connection whose file was replaced or deleted
// under it. The connection has been discarded, nothing of the caller's ran,
// and the call may be retried once on a fresh connection.
var ErrConnectionStale = errors.New("stale database connection")
