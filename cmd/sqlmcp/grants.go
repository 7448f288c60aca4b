package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/sqlmcp/sqlmcp/dialect"
)

const grantsUsage = `Usage: sqlmcp grants --config FILE [--database NAME] [--role ROLE] [--dsn ADMIN_URL]

Prints to stdout the GRANT/REVOKE script that makes ROLE able to read exactly
what the access policy (schemas, deny_tables, deny_columns) of the config
file's database NAME allows, and nothing else there: on PostgreSQL and
MySQL/MariaDB the database's own grants are the sound enforcement of the
policy. Review the script, then apply it as an administrator, e.g.
  sqlmcp grants --config sqlmcp.toml --database music --dsn postgres://postgres@db/music | psql -U postgres music
Start sqlmcp with --require-least-privilege to refuse a role broader than that.

ROLE defaults to the user of the database's DSN in the file: the role sqlmcp
connects as. The catalog is read with that DSN, or with --dsn (an
administrator's URL): a fresh role may not see the tables it is to be granted
(MySQL shows an account only what it holds privileges on). The script names
the database's tables as they are now: run it again after adding tables.
SQLite needs no grants: sqlmcp's authorizer enforces the policy.

Flags:
`

// runGrants is the `sqlmcp grants` subcommand.
func runGrants(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, stderr io.Writer) int {
	fs := flag.NewFlagSet("sqlmcp grants", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configFile := fs.String("config", getenv("SQLMCP_CONFIG"), "the TOML config `FILE` [SQLMCP_CONFIG]")
	name := fs.String("database", "", "the [[database]] `NAME` whose policy to grant (default: the file's only one)")
	role := fs.String("role", "", "the `ROLE` to grant to (default: the user of the database's DSN in the file)")
	adminDSN := fs.String("dsn", "", "connect with this `URL` (an administrator's) to read the catalog, instead of the database's DSN in the file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, grantsUsage)
			fs.VisitAll(func(f *flag.Flag) {
				typ, usage := flag.UnquoteUsage(f)
				fmt.Fprintf(stderr, "  --%s %s\n    \t%s\n", f.Name, typ, usage)
			})
			return 0
		}
		fmt.Fprintf(stderr, "sqlmcp grants: %v (see sqlmcp grants --help)\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sqlmcp grants: unexpected argument %q (see sqlmcp grants --help)\n", fs.Arg(0))
		return 2
	}
	if *configFile == "" {
		fmt.Fprintln(stderr, "sqlmcp grants: --config FILE is required: the policy is the [[database]]'s schemas, deny_tables and deny_columns")
		return 2
	}
	cf, err := loadConfigFile(*configFile, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "sqlmcp grants: %v\n", err)
		return 2
	}
	var dc *dbConfig
	var names []string
	for i := range cf.databases {
		names = append(names, cf.databases[i].Name)
		if cf.databases[i].Name == *name {
			dc = &cf.databases[i]
		}
	}
	switch {
	case *name == "" && len(cf.databases) == 1:
		dc = &cf.databases[0]
	case *name == "":
		fmt.Fprintf(stderr, "sqlmcp grants: --database NAME is required: the file has %s\n", strings.Join(names, ", "))
		return 2
	case dc == nil:
		fmt.Fprintf(stderr, "sqlmcp grants: %s has no database %q: it has %s\n", *configFile, *name, strings.Join(names, ", "))
		return 2
	}
	target, err := dialect.ParseDSN(dc.DSN)
	if err != nil {
		fmt.Fprintf(stderr, "sqlmcp grants: %s\n", dialect.Scrub(err.Error(), dc.DSN))
		return 2
	}
	gov, ok := target.Backend.(dialect.Governor)
	if !ok {
		fmt.Fprintf(stderr, "sqlmcp grants: database %s is %s: no grants apply: sqlmcp enforces its access policy itself, soundly "+
			"(SQLite's authorizer sees every table and column a statement reads)\n", dc.Name, target.Backend.Traits().Title)
		return 0
	}
	r := *role
	if r == "" {
		if u, err := url.Parse(dc.DSN); err == nil && u.User != nil {
			r = u.User.Username()
		}
		if r == "" {
			fmt.Fprintf(stderr, "sqlmcp grants: database %s's DSN names no user: pass --role ROLE\n", dc.Name)
			return 2
		}
	}
	connDSN := dc.DSN
	if *adminDSN != "" {
		connDSN = *adminDSN
		t, err := dialect.ParseDSN(connDSN)
		if err != nil {
			fmt.Fprintf(stderr, "sqlmcp grants: --dsn: %s\n", dialect.Scrub(err.Error(), connDSN))
			return 2
		}
		if t.Backend.Name() != target.Backend.Name() {
			fmt.Fprintf(stderr, "sqlmcp grants: --dsn is %s but database %s is %s\n", t.Backend.Traits().Title, dc.Name, target.Backend.Traits().Title)
			return 2
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	db, _, err := dialect.Connect(ctx, connDSN, 1, dialect.OpenOptions{Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "sqlmcp grants: %s\n", dialect.Scrub(dialect.Scrub(err.Error(), connDSN), dc.DSN))
		return 1
	}
	defer db.Close()
	var script string
	err = dialect.WithConn(ctx, db, func(c *sql.Conn) (err error) {
		script, err = gov.GrantScript(ctx, c, dc.Policy, r)
		return err
	})
	if err != nil {
		fmt.Fprintf(stderr, "sqlmcp grants: database %s: %s\n", dc.Name, dialect.Scrub(dialect.Scrub(err.Error(), connDSN), dc.DSN))
		return 1
	}
	io.WriteString(stdout, script)
	if !strings.HasSuffix(script, "\n") {
		io.WriteString(stdout, "\n")
	}
	return 0
}
