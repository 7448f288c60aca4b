package tools

import (
	"database/sql"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/access"
)

// Database is one named database the tools serve (issue 13): its own
// pool, control pool, limits and access policy.
type Database struct {
	// Name is what the model passes as the `database` argument:
	// [a-z0-9_-]{1,32}, unique. New names its one database "default".
	Name string
	// Description is shown to the model beside the name.
	Description string
	// Backend is the database's backend; it is set even when the database
	// is unavailable (its name and statements are still described).
	Backend dialect.Backend
	// DB is the query pool; nil when Unavailable is set.
	DB *sql.DB
	// Control is the pool for out-of-band cancels (see Options.Control).
	Control *sql.DB
	// MaxRows, QueryTimeout and MaxResultBytes override Options' defaults
	// for this database when not zero.
	MaxRows        int
	QueryTimeout   time.Duration
	MaxResultBytes int
	// Access is what the model may not see or read here (nil: nothing).
	Access *access.Policy
	// Unavailable, when not nil, is why the database cannot be used (it
	// was unreachable at start-up, say): every call naming it answers
	// `unavailable` with this reason. It must carry no secret.
	Unavailable error
}

// NewSet returns the tools for several databases; opts are the
// server-wide defaults (a Database's own limits override them). It fails
// on no database, a bad or duplicate name.
func NewSet(dbs []Database, opts Options) (*Tools, error) {
	panic("tools.NewSet: not implemented yet (issue 13)")
}

// Databases returns the databases served now, in order.
func (t *Tools) Databases() []Database {
	panic("tools.Databases: not implemented yet (issue 13)")
}

// SetDatabases replaces the databases served (a reload): new calls see
// the new set at once, and the tools of every server made by NewServer
// and NewServerFor are updated (their `database` enums and
// descriptions). It returns the databases no longer served, or whose
// pools were replaced; the caller closes their pools once Retired says
// their calls have ended.
func (t *Tools) SetDatabases(dbs []Database) (retired []Database, err error) {
	panic("tools.SetDatabases: not implemented yet (issue 13)")
}

// NewServerFor is NewServer for a caller allowed only the databases
// named (an HTTP token's): its tools' `database` enum lists those that
// exist, and a call naming another is a validation error listing the
// allowed ones. A nil names means all.
func (t *Tools) NewServerFor(version string, names []string) *mcp.Server {
	panic("tools.NewServerFor: not implemented yet (issue 13)")
}
