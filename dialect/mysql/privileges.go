package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
)

var _ dialect.PrivilegeChecker = (*mysql)(nil)

// mysqlDangerous are privileges beyond reading. SELECT, SHOW VIEW, SHOW
// DATABASES, USAGE and the like are not listed.
var mysqlDangerous = map[string]bool{
	"INSERT": true, "UPDATE": true, "DELETE": true, "CREATE": true, "DROP": true, "ALTER": true,
	"INDEX": true, "REFERENCES": false, "CREATE TEMPORARY TABLES": true, "LOCK TABLES": true,
	"CREATE VIEW": true, "CREATE ROUTINE": true, "ALTER ROUTINE": true, "EXECUTE": true, "EVENT": true,
	"TRIGGER": true, "DELETE HISTORY": true, "CREATE TABLESPACE": true,
	"FILE": true, "SUPER": true, "PROCESS": true, "RELOAD": true, "SHUTDOWN": true, "CREATE USER": true,
	"GRANT OPTION": true, "REPLICATION SLAVE": true, "REPLICATION CLIENT": true, "BINLOG ADMIN": true,
	"CONNECTION ADMIN": true, "READ_ONLY ADMIN": true, "SET USER": true, "FEDERATED ADMIN": true,
	"SLAVE MONITOR": true, "REPLICA MONITOR": true, "BINLOG MONITOR": true, "BINLOG REPLAY": true,
	"REPLICATION MASTER ADMIN": true, "REPLICATION SLAVE ADMIN": true,
}

// Privileges reads the grants of the current account from
// information_schema (global, schema and table level): FILE, SUPER and
// other server powers, and any write privilege.
func (*mysql) Privileges(ctx context.Context, q dialect.Queryer) ([]string, error) {
	var account, grantee string
	if err := q.QueryRowContext(ctx, `SELECT CURRENT_USER(),
		CONCAT("'", SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "'@'", SUBSTRING_INDEX(CURRENT_USER(), '@', -1), "'")`).Scan(&account, &grantee); err != nil {
		return nil, fmt.Errorf("read current account: %w", err)
	}
	var out []string
	global, err := mysqlGrants(ctx, q, `SELECT '*', PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?`, grantee)
	if err != nil {
		return nil, err
	}
	if p := global["*"]; len(p) > 0 {
		out = append(out, fmt.Sprintf("account %s has global %s", account, strings.Join(p, ", ")))
	}
	for _, level := range []struct{ verb, query string }{
		{"can write schema", `SELECT TABLE_SCHEMA, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?`},
		{"can write", `SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME), PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?`},
	} {
		byObj, err := mysqlGrants(ctx, q, level.query, grantee)
		if err != nil {
			return nil, err
		}
		var objs []string
		for o := range byObj {
			objs = append(objs, o)
		}
		sort.Strings(objs)
		if len(objs) > 0 {
			out = append(out, sqlkit.Summarize(level.verb, objs, byObj))
		}
	}
	return out, nil
}

// mysqlGrants returns the dangerous privileges per object of a grant query
// (object, privilege, grantable).
func mysqlGrants(ctx context.Context, q dialect.Queryer, query, grantee string) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx, query, grantee)
	if err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	out := map[string][]string{}
	err = sqlkit.EachRow(rows, func(rows *sql.Rows) error {
		var obj, priv, grantable string
		if err := rows.Scan(&obj, &priv, &grantable); err != nil {
			return err
		}
		if mysqlDangerous[priv] {
			out[obj] = append(out[obj], priv)
		}
		if grantable == "YES" && !slices.Contains(out[obj], "GRANT OPTION") {
			out[obj] = append(out[obj], "GRANT OPTION")
		}
		return nil
	})
	return out, err
}

var _ dialect.ConnectionLimiter = (*mysql)(nil)

// ConnectionLimit is the smaller of max_user_connections (whose session
// value is the account's MAX_USER_CONNECTIONS when it has one) and the
// server's max_connections.
func (*mysql) ConnectionLimit(ctx context.Context, q dialect.Queryer) (int, string, error) {
	var user, server int
	if err := q.QueryRowContext(ctx, "SELECT @@max_user_connections, @@max_connections").Scan(&user, &server); err != nil {
		return 0, "", fmt.Errorf("read connection limits: %w", err)
	}
	if user > 0 && user < server {
		return user, "the account's max_user_connections", nil
	}
	return server, "the server's max_connections", nil
}
