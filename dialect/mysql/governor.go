package mysql

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

var _ dialect.Governor = (*mysql)(nil)

// myGovRel is a table or view of a database, judged against a policy.
type myGovRel struct {
	schema, name string
	view         bool
	cols         []string
	// why is the reason the policy denies the whole relation ("" if it
	// does not).
	why        string
	deniedCols map[string]bool
}

// myQuote quotes an identifier with backticks.
func myQuote(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// myString quotes a string literal for MySQL in either quoting mode.
func myString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// myAccount turns "name" or "name@host" into 'name'@'host' (host % by
// default).
func myAccount(role string) (user, host, quoted string) {
	user, host = role, "%"
	if i := strings.LastIndexByte(role, '@'); i > 0 {
		user, host = role[:i], role[i+1:]
	}
	user = strings.Trim(user, "'`\"")
	host = strings.Trim(host, "'`\"")
	return user, host, myString(user) + "@" + myString(host)
}

// myGovern reads the relations of the schemas the policy concerns that q
// can see (information_schema shows only those the connected account has
// a privilege on) and judges each: a view is denied when the access
// check refuses reading it whole.
func myGovern(ctx context.Context, q dialect.Queryer, p *access.Policy, onlyDB string) ([]*myGovRel, error) {
	query := `SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_TYPE = 'VIEW', c.COLUMN_NAME
		FROM information_schema.TABLES t LEFT JOIN information_schema.COLUMNS c
		ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
		WHERE t.TABLE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')`
	var args []any
	if onlyDB != "" {
		query += " AND t.TABLE_SCHEMA = ?"
		args = append(args, onlyDB)
	}
	query += " ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME, c.ORDINAL_POSITION"
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read tables: %w", err)
	}
	var rels []*myGovRel
	var cur *myGovRel
	for rows.Next() {
		var schema, name string
		var view bool
		var col *string
		if err := rows.Scan(&schema, &name, &view, &col); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read tables: %w", err)
		}
		if cur == nil || cur.schema != schema || cur.name != name {
			cur = &myGovRel{schema: schema, name: name, view: view, deniedCols: map[string]bool{}}
			cur.why = p.TableDenied(schema, name)
			rels = append(rels, cur)
		}
		if col != nil {
			cur.cols = append(cur.cols, *col)
			if p.ColumnDenied(schema, name, *col) != "" {
				cur.deniedCols[*col] = true
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tables: %w", err)
	}
	for _, r := range rels {
		if !r.view || r.why != "" {
			continue
		}
		st := policy.Statement{Kind: policy.Select, Body: "SELECT * FROM " + myQuote(r.schema) + "." + myQuote(r.name)}
		var d *access.Denied
		switch err := mysqlAccessCheck(ctx, q, p, r.schema, st); {
		case errors.As(err, &d):
			r.why = "derives from denied data: " + strings.TrimPrefix(d.Error(), "refused by the access policy: ")
			if i := strings.Index(r.why, "; query only"); i > 0 {
				r.why = r.why[:i]
			}
		case err != nil:
			return nil, fmt.Errorf("check view %s.%s: %w", r.schema, r.name, err)
		}
	}
	return rels, nil
}

// GrantScript: see dialect.Governor. It revokes what the account holds on
// the connected database (read from mysql.db, tables_priv and
// columns_priv, so that every REVOKE names a grant that exists), then
// grants SELECT on the allowed tables, SELECT and SHOW VIEW on the allowed
// views (the access check reads a view's definition), and SELECT on the
// allowed columns of a table with denied ones. A view that reads denied
// data is not granted: it reads with its definer's rights. Privileges
// granted ON *.* are not changed; Exposed reports what they expose.
func (*mysql) GrantScript(ctx context.Context, q dialect.Queryer, p *access.Policy, role string) (string, error) {
	if strings.TrimSpace(role) == "" {
		return "", fmt.Errorf("grant script: an account name is required")
	}
	var db string
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(DATABASE(), '')").Scan(&db); err != nil {
		return "", fmt.Errorf("grant script: %w", err)
	}
	if db == "" {
		return "", fmt.Errorf("grant script: the DSN names no database")
	}
	user, host, account := myAccount(role)
	rels, err := myGovern(ctx, q, p, db)
	if err != nil {
		return "", fmt.Errorf("grant script: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- sqlmcp: grants that make %s read exactly what the access policy allows of database %s.\n", account, db)
	b.WriteString("-- Generated from the catalog as it is now: run it again after tables change. Privileges ON *.* are not changed.\n")
	revokes, err := myExistingGrants(ctx, q, db, user, host)
	if err != nil {
		fmt.Fprintf(&b, "-- could not read the account's existing grants (%v): revoke them by hand first\n", err)
	}
	for _, r := range revokes {
		fmt.Fprintf(&b, "REVOKE ALL PRIVILEGES ON %s FROM %s;\n", r, account)
	}
	// SELECT ON *.* reads every table of this database whatever the
	// grants below say.
	var global int
	if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ? AND Select_priv = 'Y'", user, host).Scan(&global); err == nil && global > 0 {
		b.WriteString("-- the account holds SELECT ON *.*, which reads every table of every database:\n")
		fmt.Fprintf(&b, "REVOKE SELECT ON *.* FROM %s;\n", account)
	}
	var skipped []string
	for _, r := range rels {
		name := myQuote(r.schema) + "." + myQuote(r.name)
		switch {
		case r.why != "":
			skipped = append(skipped, fmt.Sprintf("-- not granted: %s.%s: %s", r.schema, r.name, r.why))
		case r.view:
			fmt.Fprintf(&b, "GRANT SELECT, SHOW VIEW ON %s TO %s;\n", name, account)
		case len(r.deniedCols) > 0:
			var cols []string
			for _, c := range r.cols {
				if !r.deniedCols[c] {
					cols = append(cols, myQuote(c))
				}
			}
			if len(cols) == 0 {
				skipped = append(skipped, fmt.Sprintf("-- not granted: %s.%s: every column is denied", r.schema, r.name))
				continue
			}
			fmt.Fprintf(&b, "GRANT SELECT (%s) ON %s TO %s;\n", strings.Join(cols, ", "), name, account)
		default:
			fmt.Fprintf(&b, "GRANT SELECT ON %s TO %s;\n", name, account)
		}
	}
	for _, s := range skipped {
		b.WriteString(s + "\n")
	}
	return b.String(), nil
}

// myExistingGrants lists the objects ("`db`.*", "`db`.`t`") on which the
// account holds privileges in db, and the statistics tables of mysql it
// may read (they hold values of every analysed column).
func myExistingGrants(ctx context.Context, q dialect.Queryer, db, user, host string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT '' FROM mysql.db WHERE Db = ? AND User = ? AND Host = ?
		UNION SELECT Table_name FROM mysql.tables_priv WHERE Db = ? AND User = ? AND Host = ?
		UNION SELECT Table_name FROM mysql.columns_priv WHERE Db = ? AND User = ? AND Host = ?
		UNION SELECT CONCAT('mysql.', Table_name) FROM mysql.tables_priv WHERE Db = 'mysql' AND User = ? AND Host = ?
			AND Table_name IN ('column_stats', 'table_stats', 'index_stats')`,
		db, user, host, db, user, host, db, user, host, user, host)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		switch {
		case t == "":
			out = append(out, myQuote(db)+".*")
		case strings.HasPrefix(t, "mysql."):
			out = append(out, "`mysql`."+myQuote(strings.TrimPrefix(t, "mysql.")))
		default:
			out = append(out, myQuote(db)+"."+myQuote(t))
		}
	}
	return out, rows.Err()
}

// myStatTables hold column values; an account that can read them sees
// values of every analysed column.
var myStatTables = []string{"mysql.column_stats", "information_schema.COLUMN_STATISTICS"}

// Exposed: see dialect.Governor. information_schema lists only what the
// account holds a privilege on; each denied table, column and view found
// there is probed with SELECT … LIMIT 0, which fails without the SELECT
// privilege and returns no row. (EXPLAIN would not do: it also needs
// SHOW VIEW on a view.)
func (*mysql) Exposed(ctx context.Context, q dialect.Queryer, p *access.Policy) ([]string, error) {
	rels, err := myGovern(ctx, q, p, "")
	if err != nil {
		return nil, fmt.Errorf("check exposure: %w", err)
	}
	probe := func(sel string) (bool, error) {
		rows, err := q.QueryContext(ctx, sel+" LIMIT 0")
		if err != nil {
			if _, ok := (&mysql{}).ClassifyError(err); ok {
				return false, nil // no privilege (1142, 1143), or no such table
			}
			return false, err
		}
		rows.Close()
		return true, nil
	}
	var out []string
	for _, r := range rels {
		obj := r.schema + "." + r.name
		name := myQuote(r.schema) + "." + myQuote(r.name)
		if r.why != "" {
			ok, err := probe("SELECT 1 FROM " + name)
			if err != nil {
				return nil, fmt.Errorf("check exposure of %s: %w", obj, err)
			}
			if ok {
				out = append(out, obj+" ("+r.why+")")
			}
			continue
		}
		for _, c := range r.cols {
			if !r.deniedCols[c] {
				continue
			}
			ok, err := probe("SELECT " + myQuote(c) + " FROM " + name)
			if err != nil {
				return nil, fmt.Errorf("check exposure of %s.%s: %w", obj, c, err)
			}
			if ok {
				out = append(out, obj+"."+c+" ("+p.ColumnDenied(r.schema, r.name, c)+")")
			}
		}
	}
	for _, t := range myStatTables {
		schema, table, _ := strings.Cut(t, ".")
		ok, err := probe("SELECT 1 FROM " + myQuote(schema) + "." + myQuote(table))
		if err != nil {
			return nil, fmt.Errorf("check exposure of %s: %w", t, err)
		}
		if ok {
			out = append(out, t+" (statistics hold column values)")
		}
	}
	sort.Strings(out)
	return out, nil
}
