package tools

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/access"
)

// DefaultName is the name New gives its one database. A server whose only
// database is named so serves tools without a `database` argument, as a
// single-database sqlmcp always has.
const DefaultName = "default"

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

	retired <-chan struct{}
}

// Retired is, for a database SetDatabases returned as retired, a channel
// closed once no call runs on it any more (abandoned work included): its
// pools may then be closed. It is nil for any other Database.
func (d Database) Retired() <-chan struct{} { return d.retired }

var nameRE = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// database is a Database being served: its limits with the defaults
// applied, and what its calls share.
type database struct {
	Database
	backend string
	logger  *slog.Logger
	// abandoned counts statements of finished calls that still run on
	// the server (see admit). A database reloaded onto the same pool
	// keeps its predecessor's count.
	abandoned *atomic.Int64

	mu      sync.Mutex
	calls   int // calls (and abandoned work) running on it
	retired bool
	done    chan struct{} // closed when retired and calls is 0
}

// enter counts a call starting on db; false once db is retired (the
// caller resolves the name again, in the new set).
func (db *database) enter() bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.retired {
		return false
	}
	db.calls++
	return true
}

// hold counts more work of a call already entered.
func (db *database) hold() {
	db.mu.Lock()
	db.calls++
	db.mu.Unlock()
}

func (db *database) exit() {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.calls--
	if db.retired && db.calls == 0 {
		close(db.done)
	}
}

func (db *database) retire() {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.retired = true
	if db.calls == 0 {
		close(db.done)
	}
}

func (db *database) unavailable() error {
	return &toolError{cat: catDatabase, code: "unavailable", wrapped: errUnavailableDB, msg: fmt.Sprintf(
		"database %q is unavailable: %v. The other databases are not affected", db.Name, db.Unavailable)}
}

// dbSet is the databases served at one time; a reload swaps it whole.
type dbSet struct {
	list   []*database
	byName map[string]*database
}

// newSet builds a set from dbs, with t's defaults; a database that keeps
// its pools from prev keeps its abandoned-statement count.
func (t *Tools) newSet(dbs []Database, prev *dbSet) *dbSet {
	set := &dbSet{byName: map[string]*database{}}
	multi := !(len(dbs) == 1 && dbs[0].Name == DefaultName)
	for _, d := range dbs {
		db := &database{Database: d, backend: d.Backend.Name(), logger: t.opts.Logger, done: make(chan struct{})}
		db.Database.retired = nil
		if db.MaxRows <= 0 {
			db.MaxRows = t.opts.MaxRows
		}
		db.MaxRows = min(db.MaxRows, HardMaxRows)
		db.QueryTimeout = cmp.Or(max(db.QueryTimeout, 0), t.opts.QueryTimeout)
		db.MaxResultBytes = cmp.Or(max(db.MaxResultBytes, 0), t.opts.MaxResultBytes)
		if multi {
			db.logger = t.opts.Logger.With("database", d.Name)
		}
		db.abandoned = new(atomic.Int64)
		if prev != nil {
			if old := prev.byName[d.Name]; old != nil && samePools(old.Database, d) {
				db.abandoned = old.abandoned
			}
		}
		set.list = append(set.list, db)
		set.byName[d.Name] = db
	}
	return set
}

func samePools(a, b Database) bool {
	return a.DB == b.DB && a.Control == b.Control && a.DB != nil
}

// checkDatabases reports the first thing wrong with dbs, as a caller
// configuring them should hear it.
func checkDatabases(dbs []Database) error {
	if len(dbs) == 0 {
		return fmt.Errorf("no database to serve")
	}
	seen := map[string]bool{}
	for i, d := range dbs {
		if !nameRE.MatchString(d.Name) {
			return fmt.Errorf("database %d: name %q: want 1 to 32 of a-z, 0-9, _ and -", i+1, d.Name)
		}
		if seen[d.Name] {
			return fmt.Errorf("database %q: named twice", d.Name)
		}
		seen[d.Name] = true
		if d.Backend == nil {
			return fmt.Errorf("database %q: no backend", d.Name)
		}
		if d.DB == nil && d.Unavailable == nil {
			return fmt.Errorf("database %q: no pool, and no reason why it is unavailable", d.Name)
		}
		if d.MaxRows > HardMaxRows {
			return fmt.Errorf("database %q: max_rows %d is above the ceiling %d", d.Name, d.MaxRows, HardMaxRows)
		}
	}
	return nil
}

// NewSet returns the tools for several databases; opts are the
// server-wide defaults (a Database's own limits override them), and
// opts.Control and opts.Access are not used (each Database has its own).
// It fails on no database, a bad or duplicate name, a database with
// neither a pool nor a reason for having none.
func NewSet(dbs []Database, opts Options) (*Tools, error) {
	if err := checkDatabases(dbs); err != nil {
		return nil, err
	}
	opts.Control, opts.Access = nil, nil
	t := &Tools{opts: opts.withDefaults()}
	t.state.Store(t.newSet(dbs, nil))
	return t, nil
}

// Databases returns the databases served now, in order, with the
// defaults applied to their limits.
func (t *Tools) Databases() []Database {
	set := t.state.Load()
	out := make([]Database, len(set.list))
	for i, db := range set.list {
		out[i] = db.Database
	}
	return out
}

// SetDatabases replaces the databases served (a reload): new calls see
// the new set at once, and the tools of every server made by NewServer,
// NewServerFor and Register are updated (their `database` enums and
// descriptions). Calls already running finish on the database they
// started on. It returns the databases no longer served, or whose pools
// were replaced; the caller closes their pools once their Retired
// channel is closed. An invalid set is refused and the old one stays.
func (t *Tools) SetDatabases(dbs []Database) (retired []Database, err error) {
	if err := checkDatabases(dbs); err != nil {
		return nil, err
	}
	t.smu.Lock()
	defer t.smu.Unlock()
	prev := t.state.Load()
	next := t.newSet(dbs, prev)
	t.state.Store(next)
	for _, old := range prev.list {
		if nu := next.byName[old.Name]; nu == nil || !samePools(old.Database, nu.Database) {
			d := old.Database
			d.retired = old.done
			retired = append(retired, d)
		}
		old.retire()
	}
	live := t.servers[:0]
	for _, sv := range t.servers {
		if s := sv.server.Value(); s != nil {
			t.addTools(s, sv.names)
			live = append(live, sv)
		}
	}
	clear(t.servers[len(live):])
	t.servers = live
	return retired, nil
}

// served is a server whose tools SetDatabases keeps up to date. It is
// held weakly: a server no client uses any more (an HTTP session's) is
// collected, and dropped from the list.
type served struct {
	server weak.Pointer[mcp.Server]
	names  []string // nil: all
}

// NewServerFor is NewServer for a caller allowed only the databases
// named (an HTTP token's): its tools' `database` enum lists those that
// exist, and a call naming another is a validation error listing the
// allowed ones. A nil names means all.
func (t *Tools) NewServerFor(version string, names []string) *mcp.Server {
	if names != nil {
		names = slices.Clone(names)
	}
	t.smu.Lock()
	defer t.smu.Unlock()
	s := mcp.NewServer(&mcp.Implementation{Name: "sqlmcp", Title: "sqlmcp: read-only SQL", Version: version}, &mcp.ServerOptions{
		Instructions: t.instructions(t.state.Load().visible(names)),
		// The SDK logs each session start at info; only its warnings
		// and errors belong in our log.
		Logger: slog.New(MinLevel(t.opts.Logger.Handler(), slog.LevelWarn)),
		CompletionHandler: func(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
			return t.complete(ctx, names, req)
		},
	})
	t.register(s, names)
	t.addExtras(s, names)
	// Innermost of the receiving middleware: added before any transport
	// adds its own.
	s.AddReceivingMiddleware(t.auditMiddleware)
	return s
}

// register adds the tools to s for the databases named (nil: all) and
// keeps s to update. t.smu is held.
func (t *Tools) register(s *mcp.Server, names []string) {
	t.addTools(s, names)
	live := t.servers[:0]
	for _, sv := range t.servers {
		if sv.server.Value() != nil {
			live = append(live, sv)
		}
	}
	clear(t.servers[len(live):])
	t.servers = append(live, served{server: weak.Make(s), names: names})
}

func (t *Tools) addTools(s *mcp.Server, names []string) {
	dbs := t.state.Load().visible(names)
	s.AddTool(t.queryTool(dbs), t.handlerFor("query", names, t.bounded(t.query)))
	s.AddTool(t.listTablesTool(dbs), t.handlerFor("list_tables", names, t.bounded(t.listTables)))
	s.AddTool(t.describeTableTool(dbs), t.handlerFor("describe_table", names, t.bounded(t.describeTable)))
	s.AddTool(t.searchTool(dbs), t.handlerFor("search", names, t.bounded(t.search)))
}

// visible returns the databases of set that names allows (nil: all), in
// the set's order.
func (set *dbSet) visible(names []string) []*database {
	if names == nil {
		return set.list
	}
	var out []*database
	for _, db := range set.list {
		if slices.Contains(names, db.Name) {
			out = append(out, db)
		}
	}
	return out
}

// legacy reports whether dbs is a single-database server's (New's): its
// tools take no `database` argument, and read as they always have.
func legacy(dbs []*database) bool { return len(dbs) == 1 && dbs[0].Name == DefaultName }

// resolve finds the database a call names, among those allowed, and
// enters it: the caller exits it when the call ends. A call may omit the
// name when one database is visible.
func (t *Tools) resolve(args json.RawMessage, allowed []string) (*database, error) {
	var a struct {
		Database *string `json:"database"`
	}
	var ute *json.UnmarshalTypeError
	if err := json.Unmarshal(args, &a); errors.As(err, &ute) && ute.Field == "database" {
		return nil, validationf("argument \"database\" must be a string, not %s", ute.Value)
	}
	// Other bad arguments, bad JSON included, are the body's to report.
	for {
		dbs := t.state.Load().visible(allowed)
		var db *database
		switch {
		case a.Database != nil:
			for _, d := range dbs {
				if d.Name == *a.Database {
					db = d
				}
			}
			if db == nil {
				return nil, unknownDatabase(*a.Database, dbs)
			}
		case len(dbs) == 1:
			db = dbs[0]
		default:
			return nil, unknownDatabase("", dbs)
		}
		if db.enter() {
			return db, nil
		}
		// Retired by a reload after the set was read: read it again.
	}
}

func unknownDatabase(asked string, dbs []*database) error {
	if len(dbs) == 0 {
		return validationf("no database is available to this client")
	}
	names := make([]string, len(dbs))
	for i, db := range dbs {
		names[i] = db.Name
	}
	valid := strings.Join(names, ", ")
	if asked == "" {
		return validationf("argument database is required: one of %s", valid)
	}
	if len(asked) > 64 {
		asked = asked[:64] + "…"
	}
	return validationf("unknown database %q: the databases are %s", asked, valid)
}

// describeDB is a database as the model reads it in the argument's
// description and the instructions: "music — Chinook record store
// (postgres)".
// errUnavailableDB marks a call naming a database that is unavailable.
var errUnavailableDB = errors.New("database unavailable")

// databaseArg sets the `database` property of a tool's input schema in,
// inferred from the Go type's Database field: an enum of dbs with their
// descriptions, required when there is more than one. A legacy server
// has no such property.
func databaseArg(in *jsonschema.Schema, dbs []*database) {
	if legacy(dbs) {
		delete(in.Properties, "database")
		in.PropertyOrder = slices.DeleteFunc(in.PropertyOrder, func(s string) bool { return s == "database" })
		in.Required = slices.DeleteFunc(in.Required, func(s string) bool { return s == "database" })
		return
	}
	p := &jsonschema.Schema{Type: "string"}
	switch len(dbs) {
	case 0:
		p.Description = "no database is available to this client"
	default:
		var b strings.Builder
		b.WriteString("the database to use: ")
		for i, db := range dbs {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(describeDB(db))
			p.Enum = append(p.Enum, db.Name)
		}
		if len(dbs) == 1 {
			b.WriteString(" (the default: the only one)")
			p.Default = json.RawMessage(strconv.Quote(dbs[0].Name))
		}
		p.Description = b.String()
	}
	in.Properties["database"] = p
	if len(dbs) != 1 && !slices.Contains(in.Required, "database") {
		in.Required = append([]string{"database"}, in.Required...)
	}
}

// argNote is what decode errors add to the arguments they list.
func (t *Tools) argNote() string {
	if legacy(t.state.Load().list) {
		return ""
	}
	return ", database (string)"
}

func describeDB(db *database) string {
	s := db.Name
	if db.Description != "" {
		s += " — " + db.Description
	}
	note := db.backend
	if db.Unavailable != nil {
		note += ", unavailable now"
	}
	return s + " (" + note + ")"
}

// statementsOf names the statements the query tool admits on dbs: one
// list when their backends agree, else per backend.
func statementsOf(dbs []*database) string {
	var backends []string
	byBackend := map[string]string{}
	for _, db := range dbs {
		if _, ok := byBackend[db.backend]; !ok {
			backends = append(backends, db.backend)
			byBackend[db.backend] = db.statements()
		}
	}
	if len(backends) == 1 {
		return byBackend[backends[0]]
	}
	parts := make([]string, len(backends))
	for i, b := range backends {
		parts[i] = "on " + b + " " + byBackend[b]
	}
	return strings.Join(parts, "; ")
}

// rowCaps says the row cap of dbs: "100 rows", or "200 rows on music,
// 100 on demo" when they differ.
func rowCaps(dbs []*database) string {
	same := true
	for _, db := range dbs {
		same = same && db.MaxRows == dbs[0].MaxRows
	}
	if same {
		return fmt.Sprintf("%d rows", dbs[0].MaxRows)
	}
	parts := make([]string, len(dbs))
	for i, db := range dbs {
		parts[i] = fmt.Sprintf("%d on %s", db.MaxRows, db.Name)
		if i == 0 {
			parts[i] = fmt.Sprintf("%d rows on %s", db.MaxRows, db.Name)
		}
	}
	return strings.Join(parts, ", ")
}
