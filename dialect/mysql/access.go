package mysql

import (
	"context"
	"fmt"
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/dialect/internal/govern"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// The access check (SessionOptions.Access) on MySQL and MariaDB, the
// second layer: the role's grants are the sound one (GrantScript,
// Exposed). It reads the statement, not its plan: MySQL's and MariaDB's
// EXPLAIN is no safe preview, since the optimizer runs uncorrelated
// subqueries and reads const tables while explaining (a value can come
// back in an error), and their JSON plans name tables by alias only.
// Instead, before the statement runs:
//
//   - every name in a FROM list (and every name of SHOW, DESCRIBE and
//     EXPLAIN <table>) is judged as a table of its qualifier or of the
//     current database, case-insensitively: a denied table, one outside
//     schemas, or a statistics table holding values is refused;
//   - a view among them is read through its stored definition, which
//     MySQL keeps with every name qualified and * expanded, and that text
//     is checked the same way, recursively;
//   - a table with denied columns must pass govern.Stmt.CheckColumns in
//     the text that names it (the statement or a view's definition);
//   - a call of a stored function (not in a system schema) is refused:
//     its body can read anything.
//
// It costs one catalog query for a statement that reads no view, and two
// more for each level of views it reads (their definitions, then theirs).

// mysqlStatTables hold column values (MariaDB's engine-independent
// statistics, MySQL's histograms) and are refused whenever a policy is set.
var mysqlStatTables = map[string]bool{
	"information_schema.column_statistics": true, "mysql.column_stats": true,
	"mysql.table_stats": true, "mysql.index_stats": true,
}

// mysqlLogTables hold other sessions' statements with the values they
// wrote (when the server logs to tables) and are refused whenever a
// policy is set.
var mysqlLogTables = map[string]bool{"mysql.general_log": true, "mysql.slow_log": true,
	// other sessions' statements as they run (INNODB_TRX.trx_query), the
	// key values of locked records (INNODB_LOCKS.lock_data), the words of
	// a table's full-text index (INNODB_FT_INDEX_*)
	"information_schema.processlist": true, "information_schema.innodb_trx": true, "information_schema.innodb_locks": true,
	"information_schema.innodb_ft_index_table": true, "information_schema.innodb_ft_index_cache": true,
	// the query cache plugin's statements (other sessions', with their values)
	"information_schema.query_cache_info": true,
	// sys functions that return other sessions' statements
	"sys.ps_thread_stack": true, "sys.ps_thread_trx_info": true}

var mysqlRoutineSystemSchemas = map[string]bool{"mysql": true, "sys": true, "information_schema": true, "performance_schema": true}

// mysqlText is one text to check: the statement or a view's definition,
// with the database its unqualified names resolve in ("" for the
// session's current database).
type mysqlText struct {
	sql, db, via string
}

// mysqlRef is a table a text reads.
type mysqlRef struct {
	schema, table string
	text          mysqlText
	stmt          *govern.Stmt
	// suspect, if set, is the rule (deny_tables, schemas, statistics) of
	// a name found outside a FROM list: refused if such a table exists.
	suspect string
	// columns is set for a name found outside a FROM list that may be a
	// table with denied columns: if it is one, the text must pass
	// govern.Stmt.CheckColumns (which refuses a table the text reads
	// where the FROM-list reading cannot see it).
	columns bool
}

// mysqlCandidates are the tables a name outside a FROM list could be:
// t, t.column, db.t.column, or db.t.
func mysqlCandidates(parts []string, db string) [][2]string {
	switch len(parts) {
	case 1:
		return [][2]string{{db, parts[0]}}
	case 2:
		return [][2]string{{db, parts[0]}, {parts[0], parts[1]}}
	case 3:
		return [][2]string{{parts[0], parts[1]}}
	}
	return nil
}

func (s *mysqlSession) accessCheck(ctx context.Context, st policy.Statement) error {
	return mysqlAccessCheck(ctx, s.conn, s.access, s.database, st)
}

// mysqlAccessCheck checks st, run in database db, against p, reading the
// catalog through q.
func mysqlAccessCheck(ctx context.Context, q dialect.Queryer, p *access.Policy, db string, st policy.Statement) error {
	if st.Kind == policy.Show {
		if d := mysqlShowDenied(st.Body); d != nil {
			return d
		}
	}
	queue := []mysqlText{{sql: st.Body, db: db}}
	seen := map[string]bool{}
	for depth := 0; len(queue) > 0; depth++ {
		if depth > 16 {
			return &access.Denied{Rule: govern.RuleUncheckable, Object: "views nested too deeply", Detail: "the check stops at 16 levels"}
		}
		var refs []mysqlRef
		var calls []string
		for _, t := range queue {
			stmt, err := govern.Parse(policy.MySQL, t.sql)
			if err != nil {
				if t.via != "" {
					return &access.Denied{Rule: govern.RuleUncheckable, Object: "view " + t.via, Detail: "its definition could not be read"}
				}
				return err
			}
			all := st.Kind == policy.Show && t.via == ""
			for _, n := range stmt.Names() {
				if n.Call {
					if len(n.Parts) == 2 && mysqlLogTables[strings.ToLower(n.Parts[0]+"."+n.Parts[1])] {
						return &access.Denied{Rule: govern.RuleUncheckable, Object: "function " + n.Parts[0] + "." + n.Parts[1],
							Detail: "it returns other sessions' statements, with the values they hold"}
					}
					if len(n.Parts) == 2 && mysqlRoutineSystemSchemas[strings.ToLower(n.Parts[0])] {
						continue
					}
					calls = append(calls, strings.ToLower(n.Parts[len(n.Parts)-1]))
					continue
				}
				if n.Alias && !all {
					continue // an output column's alias names nothing
				}
				if !n.Table && !all {
					// A name outside a FROM list is a column, an alias, or
					// a table where the lexer-level reading missed a FROM
					// list (FROM orders minus, customer c): a name of a
					// table that exists there and that the policy hides
					// (denied, in another database, statistics) is
					// refused, and one with denied columns is checked
					// as if it were read.
					for i, c := range mysqlCandidates(n.Parts, t.db) {
						if d := mysqlTableDenied(p, c[0], c[1], ""); d != nil && (d.Rule != "schemas" || i > 0 || len(n.Parts) == 3) {
							refs = append(refs, mysqlRef{schema: c[0], table: c[1], text: t, stmt: stmt, suspect: d.Rule})
						} else if d == nil && p.HasColumnRules(c[0], c[1]) {
							refs = append(refs, mysqlRef{schema: c[0], table: c[1], text: t, stmt: stmt, columns: true})
						}
					}
					continue
				}
				if len(n.Parts) > 2 {
					continue
				}
				schema, table := t.db, n.Parts[len(n.Parts)-1]
				if len(n.Parts) == 2 {
					schema = n.Parts[0]
				}
				if d := mysqlTableDenied(p, schema, table, t.via); d != nil {
					return d
				}
				refs = append(refs, mysqlRef{schema: schema, table: table, text: t, stmt: stmt})
			}
		}
		found, err := mysqlLookUp(ctx, q, p, refs, calls, seen)
		if err != nil {
			return err
		}
		for _, r := range refs {
			key := strings.ToLower(r.schema + "." + r.table)
			if r.suspect != "" {
				if found.exists[key] {
					return &access.Denied{Rule: r.suspect, Object: r.schema + "." + r.table, Detail: "named outside a FROM list the check can read"}
				}
				continue
			}
			if !found.denied[key] || r.columns && !found.exists[key] {
				continue
			}
			if st.Kind == policy.Show && r.text.via == "" {
				return &access.Denied{Rule: govern.ColumnRule(p, r.schema, r.table), Object: r.schema + "." + r.table,
					Detail: "it has hidden columns; use describe_table"}
			}
			if d := r.stmt.CheckColumns(p, r.schema, r.table); d != nil {
				if r.text.via != "" && !strings.Contains(d.Detail, "through") {
					d.Detail = strings.TrimPrefix(d.Detail+"; ", "; ") + "through view " + r.text.via
				}
				return d
			}
		}
		queue = found.views
	}
	return nil
}

// mysqlTableDenied judges one table a text reads.
func mysqlTableDenied(p *access.Policy, schema, table, via string) *access.Denied {
	detail := ""
	if via != "" {
		detail = "through view " + via
	}
	obj := schema + "." + table
	if mysqlStatTables[strings.ToLower(obj)] {
		return &access.Denied{Rule: govern.RuleStatistics, Object: obj, Detail: "statistics hold column values"}
	}
	if strings.EqualFold(schema, "performance_schema") {
		// Statements' texts with their values (events_statements_*,
		// threads.PROCESSLIST_INFO, prepared_statements_instances), locked
		// records' keys (data_locks): refused whatever schemas says.
		return &access.Denied{Rule: govern.RuleUncheckable, Object: obj, Detail: "performance_schema holds other sessions' statements and the values they hold"}
	}
	if mysqlLogTables[strings.ToLower(obj)] {
		return &access.Denied{Rule: govern.RuleUncheckable, Object: obj, Detail: "the server's log holds other sessions' statements and their values"}
	}
	rule := p.TableDenied(schema, table)
	if rule == "schemas" && strings.EqualFold(schema, "information_schema") {
		rule = ""
	}
	if rule != "" {
		return &access.Denied{Rule: rule, Object: obj, Detail: detail}
	}
	return nil
}

// mysqlFound is what lookUp found: the definitions of views to check
// next, and the tables (schema.table, lower case) with a denied column.
type mysqlFound struct {
	views  []mysqlText
	denied map[string]bool
	// exists holds the relations found (schema.name, lower case).
	exists map[string]bool
}

// lookUp reads, in one catalog query, the definitions of the views among
// refs (not seen before), the columns of those on which a deny_columns
// rule may apply, and the stored functions among calls (a refusal).
func mysqlLookUp(ctx context.Context, q dialect.Queryer, p *access.Policy, refs []mysqlRef, calls []string, seen map[string]bool) (mysqlFound, error) {
	found := mysqlFound{denied: map[string]bool{}, exists: map[string]bool{}}
	var text strings.Builder
	var args []any
	// Every relation among refs with its type; the views' definitions
	// are read next (information_schema.VIEWS is slow to scan, and most
	// statements read no view). Names are compared as written and in
	// lower case (lower_case_table_names), by equality, which
	// information_schema answers without opening every table.
	text.WriteString("SELECT 'rel', TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, NULL FROM information_schema.TABLES WHERE 1 = 0")
	cols := false
	// read are the relations a FROM list names, first seen here (views
	// among them are read next); the others are only looked up.
	read := map[string]bool{}
	looked := map[string]bool{}
	for _, r := range refs {
		key := strings.ToLower(r.schema + "." + r.table)
		if r.suspect != "" || r.columns {
			if !looked[key] {
				looked[key] = true
				args = mysqlNameMatch(&text, args, r.schema, r.table)
			}
			cols = cols || r.columns
			continue
		}
		if !seen[key] {
			read[key] = true
			seen[key] = true
			args = mysqlNameMatch(&text, args, r.schema, r.table)
		}
		cols = cols || p.HasColumnRules(r.schema, r.table)
	}
	if cols {
		text.WriteString(" UNION ALL SELECT 'column', TABLE_SCHEMA, TABLE_NAME, '', COLUMN_NAME FROM information_schema.COLUMNS WHERE 1 = 0")
		for _, r := range refs {
			if r.suspect == "" && p.HasColumnRules(r.schema, r.table) {
				// (a FROM-list relation and a name outside it alike)
				args = mysqlNameMatch(&text, args, r.schema, r.table)
			}
		}
	}
	if len(calls) > 0 {
		text.WriteString(" UNION ALL SELECT 'routine', ROUTINE_SCHEMA, ROUTINE_NAME, '', '' FROM information_schema.ROUTINES" +
			" WHERE ROUTINE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema') AND LOWER(ROUTINE_NAME) IN (?")
		text.WriteString(strings.Repeat(", ?", len(calls)-1))
		text.WriteString(")")
		for _, c := range calls {
			args = append(args, c)
		}
	}
	if len(args) == 0 {
		return found, nil
	}
	rows, err := q.QueryContext(ctx, text.String(), args...)
	if err != nil {
		return found, fmt.Errorf("access check: %w", err)
	}
	defer rows.Close()
	var denied *access.Denied
	var views [][2]string
	queued := map[string]bool{}
	for rows.Next() {
		var kind, schema, name, typ string
		var def *string
		if err := rows.Scan(&kind, &schema, &name, &typ, &def); err != nil {
			return found, fmt.Errorf("access check: %w", err)
		}
		switch {
		case denied != nil:
		case kind == "routine":
			denied = &access.Denied{Rule: govern.RuleFunctions, Object: "function " + schema + "." + name,
				Detail: "a stored function may read anything, and the check cannot see its body"}
		case kind == "column":
			if def != nil && p.ColumnDenied(schema, name, *def) != "" {
				found.denied[strings.ToLower(schema+"."+name)] = true
			}
		case kind == "rel":
			key := strings.ToLower(schema + "." + name)
			found.exists[key] = true
			if typ == "VIEW" && read[key] && !queued[key] {
				queued[key] = true
				views = append(views, [2]string{schema, name})
			}
		}
	}
	if err := rows.Err(); err != nil {
		return found, fmt.Errorf("access check: %w", err)
	}
	if denied != nil {
		return found, denied
	}
	if len(views) == 0 {
		return found, nil
	}
	return found, mysqlViewDefinitions(ctx, q, views, &found)
}

// mysqlNameMatch appends " OR (TABLE_SCHEMA … AND TABLE_NAME …)" for
// schema.table, as written and in lower case.
func mysqlNameMatch(text *strings.Builder, args []any, schema, table string) []any {
	text.WriteString(" OR (")
	for i, v := range []string{schema, table} {
		col := "TABLE_SCHEMA"
		if i == 1 {
			text.WriteString(" AND ")
			col = "TABLE_NAME"
		}
		if lv := strings.ToLower(v); lv != v {
			text.WriteString(col + " IN (?, ?)")
			args = append(args, v, lv)
		} else {
			text.WriteString(col + " = ?")
			args = append(args, v)
		}
	}
	text.WriteString(")")
	return args
}

// mysqlViewDefinitions reads the definitions of views (schema, name as
// the catalog spells them) into found. A view whose definition the
// account cannot read (no SHOW VIEW) is refused, never taken for a table.
func mysqlViewDefinitions(ctx context.Context, q dialect.Queryer, views [][2]string, found *mysqlFound) error {
	var text strings.Builder
	var args []any
	text.WriteString("SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE 1 = 0")
	for _, v := range views {
		text.WriteString(" OR (TABLE_SCHEMA = ? AND TABLE_NAME = ?)")
		args = append(args, v[0], v[1])
	}
	rows, err := q.QueryContext(ctx, text.String(), args...)
	if err != nil {
		return fmt.Errorf("access check: %w", err)
	}
	defer rows.Close()
	defs := map[[2]string]string{}
	for rows.Next() {
		var schema, name string
		var def *string
		if err := rows.Scan(&schema, &name, &def); err != nil {
			return fmt.Errorf("access check: %w", err)
		}
		if def != nil {
			defs[[2]string{schema, name}] = *def
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("access check: %w", err)
	}
	for _, v := range views {
		def := defs[v]
		if strings.TrimSpace(def) == "" {
			return &access.Denied{Rule: govern.RuleUncheckable, Object: "view " + v[0] + "." + v[1],
				Detail: "the connected account cannot read its definition (SHOW VIEW), so what it reads cannot be checked"}
		}
		found.views = append(found.views, mysqlText{sql: def, db: v[0], via: v[0] + "." + v[1]})
	}
	return nil
}

// mysqlShowDenied refuses the SHOW statements that print other sessions'
// statements (SHOW [FULL] PROCESSLIST; SHOW ENGINE … STATUS, whose
// InnoDB report holds the statements of the last deadlock and the values
// of locked records), which no table name reveals.
func mysqlShowDenied(body string) *access.Denied {
	toks, err := policy.Tokens(policy.MySQL, body)
	if err != nil || len(toks) < 2 {
		return nil
	}
	i := 1
	if strings.EqualFold(toks[i].Text, "FULL") && len(toks) > 2 {
		i++
	}
	switch w := strings.ToUpper(toks[i].Text); w {
	case "PROCESSLIST", "ENGINE", "ENGINES":
		if w == "ENGINES" {
			return nil
		}
		return &access.Denied{Rule: govern.RuleUncheckable, Object: "SHOW " + w,
			Detail: "it shows other sessions' statements, with the values they hold"}
	}
	return nil
}
