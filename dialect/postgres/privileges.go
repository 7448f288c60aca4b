package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
)

var _ dialect.PrivilegeChecker = postgres{}

// Privileges reports superuser and role attributes, membership in the
// predefined roles that reach the server's files and programs, write
// privileges on any table, CREATE on the database or a schema, and
// installed extensions that reach outside the database.
func (postgres) Privileges(ctx context.Context, q dialect.Queryer) ([]string, error) {
	var out []string
	var user string
	var super, createRole, createDB, replication, bypassRLS bool
	err := q.QueryRowContext(ctx, `SELECT current_user, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
		FROM pg_roles WHERE rolname = current_user`).Scan(&user, &super, &createRole, &createDB, &replication, &bypassRLS)
	if err != nil {
		return nil, fmt.Errorf("read role attributes: %w", err)
	}
	if super {
		out = append(out, fmt.Sprintf("role %s is a superuser: it can read server files, run programs and write everything", user))
	}
	for _, a := range []struct {
		has  bool
		what string
	}{{createRole, "CREATEROLE"}, {createDB, "CREATEDB"}, {replication, "REPLICATION"}, {bypassRLS, "BYPASSRLS"}} {
		if a.has && !super {
			out = append(out, fmt.Sprintf("role %s has %s", user, a.what))
		}
	}
	roles, err := sqlkit.Strings(ctx, q, `SELECT rolname FROM pg_roles
		WHERE rolname IN ('pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', 'pg_write_all_data', 'pg_signal_backend', 'pg_checkpoint')
		AND pg_has_role(current_user, oid, 'MEMBER') ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("read role memberships: %w", err)
	}
	if len(roles) > 0 && !super {
		out = append(out, fmt.Sprintf("role %s is a member of %s", user, strings.Join(roles, ", ")))
	}
	rows, err := q.QueryContext(ctx, `SELECT n.nspname || '.' || c.relname,
			has_any_column_privilege(c.oid, 'INSERT'), has_any_column_privilege(c.oid, 'UPDATE'),
			has_table_privilege(c.oid, 'DELETE'), has_table_privilege(c.oid, 'TRUNCATE')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
		AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
		-- has_any_column_privilege also sees column-level grants
		-- (GRANT UPDATE (b) ON t), which has_table_privilege misses.
		AND (has_any_column_privilege(c.oid, 'INSERT') OR has_any_column_privilege(c.oid, 'UPDATE')
			OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'))
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("read table privileges: %w", err)
	}
	var tables []string
	privs := map[string][]string{}
	err = sqlkit.EachRow(rows, func(rows *sql.Rows) error {
		var name string
		var ins, upd, del, trunc bool
		if err := rows.Scan(&name, &ins, &upd, &del, &trunc); err != nil {
			return err
		}
		tables = append(tables, name)
		for _, p := range []struct {
			ok   bool
			name string
		}{{ins, "INSERT"}, {upd, "UPDATE"}, {del, "DELETE"}, {trunc, "TRUNCATE"}} {
			if p.ok {
				privs[name] = append(privs[name], p.name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(tables) > 0 {
		out = append(out, sqlkit.Summarize("can write", tables, privs))
	}
	schemas, err := sqlkit.Strings(ctx, q, `SELECT nspname FROM pg_namespace
		WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_%'
		AND has_schema_privilege(oid, 'CREATE') ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("read schema privileges: %w", err)
	}
	if len(schemas) > 0 {
		out = append(out, fmt.Sprintf("can create objects in schema %s", strings.Join(schemas, ", ")))
	}
	exts, err := sqlkit.Strings(ctx, q, `SELECT extname FROM pg_extension
		WHERE extname IN ('dblink', 'postgres_fdw', 'file_fdw', 'adminpack', 'plpython3u', 'plperlu', 'pltclu', 'http', 'pg_net', 'aws_s3', 'pg_background')
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("read extensions: %w", err)
	}
	for _, e := range exts {
		out = append(out, fmt.Sprintf("extension %s is installed: its functions reach outside the database", e))
	}
	return out, nil
}

var _ dialect.ConnectionLimiter = postgres{}

// ConnectionLimit is the smallest of the role's CONNECTION LIMIT, the
// database's and the server's max_connections (less the slots reserved
// for superusers, unless the role is one). Superusers are not held to the
// role and database limits.
func (postgres) ConnectionLimit(ctx context.Context, q dialect.Queryer) (int, string, error) {
	var role, db, maxConns, reserved int
	var super bool
	err := q.QueryRowContext(ctx, `SELECT r.rolconnlimit, d.datconnlimit, r.rolsuper,
		current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int
		FROM pg_catalog.pg_roles r, pg_catalog.pg_database d
		WHERE r.rolname = current_user AND d.datname = current_database()`).Scan(&role, &db, &super, &maxConns, &reserved)
	if err != nil {
		return 0, "", fmt.Errorf("read connection limits: %w", err)
	}
	limit, source := maxConns, "the server's max_connections"
	if !super {
		limit -= reserved
		if role >= 0 && role < limit {
			limit, source = role, "the role's CONNECTION LIMIT"
		}
		if db >= 0 && db < limit {
			limit, source = db, "the database's CONNECTION LIMIT"
		}
	}
	return limit, source, nil
}
