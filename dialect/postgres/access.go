package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lib/pq"

	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/dialect/internal/govern"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

// The plan-level access check (SessionOptions.Access), PostgreSQL's second
// layer: the role's grants are the sound one (GrantScript, Exposed). Before
// the statement runs, in its transaction:
//
//  1. Its names are read from its tokens. Functions that run SQL from text
//     or dump whole tables are refused by name. One catalog query then
//     looks up the relations it names in FROM lists and everything their
//     view and materialized-view definitions read (pg_rewrite/pg_depend,
//     recursively), with their columns and definitions, and the functions
//     that are not PostgreSQL's own behind its calls, its operators and its
//     casts (an extension's operators and casts excepted). Those are
//     refused before EXPLAIN: planning may run them (constant folding), and
//     no plan shows what a function body reads.
//  2. EXPLAIN (VERBOSE, FORMAT JSON) lists every relation the planner will
//     scan: views expanded, CTEs, subqueries, search-path-resolved names.
//     A relation of the plan the first query did not see is looked up the
//     same way; one the catalog does not show fails closed.
//  3. A denied table (or one outside schemas, or pg_toast, or planner
//     statistics) is refused. A table with denied columns is allowed only
//     when every text that reads it passes govern.Stmt.CheckColumns: the
//     statement, if it names the table, and the canonical definition
//     (pg_get_viewdef) of each view that reads it.
//
// Neither step runs the statement, and EXPLAIN's own errors (syntax,
// unknown names, a constant that does not cast) hold only the statement's
// text: nothing has read a table yet.

// pgStatRelations hold values of columns: planner statistics.
var pgStatRelations = map[string]bool{
	"pg_stats": true, "pg_stats_ext": true, "pg_stats_ext_exprs": true, "pg_statistic": true,
	"pg_statistic_ext_data": true,
}

// pgSQLFunctionPrefixes name PostgreSQL's functions that run SQL given
// as text or dump whole tables (query_to_xml, table_to_xml, ts_stat,
// dblink, …): the plan shows the call, never what it reads.
// Extensions' functions of the kind (tablefunc's crosstab and connectby,
// pageinspect's get_raw_page, pgrowlocks) are listed too: an extension
// installed into pg_catalog passes for PostgreSQL's own.
var pgSQLFunctionPrefixes = []string{"query_to_", "table_to_", "cursor_to_", "schema_to_", "database_to_", "dblink", "ts_stat",
	"crosstab", "connectby", "get_raw_page", "pgrowlocks"}

func pgSQLFunction(name string) bool {
	n := strings.ToLower(name)
	for _, p := range pgSQLFunctionPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// pgActivity are PostgreSQL's view and functions that show other
// sessions' statements, with the values they wrote or compare with
// (pg_stat_activity.query, pg_stat_get_backend_activity): the plan shows
// a function scan, never whose text it returns.
// (pg_stat_statements keeps statements' texts too, wherever its
// extension is installed.)
var pgActivity = map[string]bool{"pg_stat_activity": true, "pg_stat_get_activity": true, "pg_stat_get_backend_activity": true,
	"pg_stat_statements": true}

const pgActivityDetail = "it shows other sessions' statements, with the values they hold"

func pgSystemSchema(s string) bool { return s == "pg_catalog" || s == "information_schema" }

// pgReach (pgReachParts) finds, for the relations named (to_regclass texts), each
// relation and every relation their views and materialized views read,
// recursively (kind 'rel': schema, name, relkind, the view it was reached
// through, its columns, a view's definition); the functions those
// definitions call that are not pinned (kind 'func': PostgreSQL records no
// dependency on its built-in functions, so the definitions' text is read
// for those); and (kind 'udf') the functions called by name that are not
// PostgreSQL's own, and those behind the operators used and the casts to
// the types named that are neither PostgreSQL's nor an extension's.
//
// Each branch runs only when it has names to look up ({x} stands for its
// array parameter): a smaller query plans faster, and planning is most of
// its cost.
var pgReachParts = [4]string{
	// relations (to_regclass texts) and what their definitions read
	`WITH RECURSIVE reach(oid, via, depth) AS (
  SELECT c.oid::oid, ''::text, 0 FROM unnest({rels}) AS n(name) CROSS JOIN LATERAL pg_catalog.to_regclass(n.name) AS c(oid)
  WHERE c.oid IS NOT NULL
  UNION
  SELECT d.refobjid, (SELECT vn.nspname || '.' || vc.relname FROM pg_catalog.pg_class vc
    JOIN pg_catalog.pg_namespace vn ON vn.oid = vc.relnamespace WHERE vc.oid = r.ev_class)::text COLLATE "default", reach.depth + 1
  FROM reach JOIN pg_catalog.pg_rewrite r ON r.ev_class = reach.oid
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
   AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class
  WHERE reach.depth < 16
)
SELECT CASE WHEN reach.depth >= 16 AND c.relkind IN ('v', 'm') THEN 'deep' ELSE 'rel' END,
  n.nspname::text, c.relname::text, c.relkind::text, reach.via,
  ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END,
  ARRAY(WITH RECURSIVE up(oid) AS (
      SELECT i.inhparent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid
      UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.oid)
    SELECT u.v FROM up JOIN pg_catalog.pg_class ac ON ac.oid = up.oid JOIN pg_catalog.pg_namespace an ON an.oid = ac.relnamespace
    CROSS JOIN LATERAL unnest(ARRAY[an.nspname::text, ac.relname::text]) WITH ORDINALITY AS u(v, k) ORDER BY up.oid, u.k)
FROM reach JOIN pg_catalog.pg_class c ON c.oid = reach.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT 'func', n.nspname::text, p.proname::text, '', r.ev_class::regclass::text, NULL, NULL, NULL
FROM reach JOIN pg_catalog.pg_rewrite r ON r.ev_class = reach.oid
JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_catalog.pg_proc'::regclass
JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace`,
	// calls
	`SELECT 'udf', n.nspname::text, p.proname::text, '', '', NULL, NULL, NULL
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = ANY({calls}) AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
	// operators
	`SELECT 'udf', n.nspname::text, p.proname::text, '', 'operator ' || o.oprname, NULL, NULL, NULL
FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE o.oprname = ANY({ops}) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`,
	// words: the types of casts
	`SELECT 'udf', n.nspname::text, p.proname::text, '', 'cast to ' || t.typname, NULL, NULL, NULL
FROM pg_catalog.pg_cast c JOIN pg_catalog.pg_type t ON t.oid = c.casttarget
JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE t.typname = ANY({words}) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`,
}

// pgReachQuery composes pgReach from the branches that have names to look
// up, numbering their parameters. args are calls, relations, operators
// and words; the relations' branch goes first, for its WITH clause.
func pgReachQuery(args [4][]string) (string, []any) {
	branches := [4]struct {
		arg         int
		placeholder string
	}{{1, "{rels}"}, {0, "{calls}"}, {2, "{ops}"}, {3, "{words}"}}
	var parts []string
	var params []any
	for i, b := range branches {
		if len(args[b.arg]) == 0 {
			continue
		}
		params = append(params, pq.Array(args[b.arg]))
		parts = append(parts, strings.ReplaceAll(pgReachParts[i], b.placeholder, fmt.Sprintf("$%d::text[]", len(params))))
	}
	return strings.Join(parts, "\nUNION ALL\n"), params
}

type pgRel struct {
	schema, name, kind string
	// direct is true when the statement names the relation; vias are
	// the views (schema.name) whose definitions read it.
	direct bool
	vias   []string
	// denied is true when some column of the relation is denied.
	denied bool
	// def is a view's or materialized view's definition.
	def string
	// ancestors are the tables it is a partition or an inheritance child
	// of (schema, name), whose rows it holds: their rules apply to it.
	ancestors [][2]string
	// policy, if set, is the session's policy with the deny_columns
	// rules of the ancestors written for this relation.
	policy *access.Policy
}

// accessCheck refuses st with an *access.Denied when it would read what
// the session's policy denies.
func (s *pgSession) accessCheck(ctx context.Context, st policy.Statement) error {
	p := s.opts.Access
	target := st.Body
	if st.Kind == policy.Explain {
		inner, ok := policy.Explained(policy.Postgres, st.Body)
		if !ok {
			return &access.Denied{Rule: govern.RuleUncheckable, Object: "an EXPLAIN", Detail: "its statement could not be read"}
		}
		target = inner
	}
	stmt, err := govern.Parse(policy.Postgres, target)
	if err != nil {
		return err
	}
	var calls, rels []string
	for _, n := range stmt.Names() {
		last := pgFold(n, len(n.Parts)-1)
		switch {
		case n.Call:
			if pgSQLFunction(last) {
				return &access.Denied{Rule: govern.RuleFunctions, Object: "function " + strings.Join(n.Parts, "."),
					Detail: "it runs SQL given as text or reads whole tables, which the check cannot follow"}
			}
			if pgActivity[last] {
				return &access.Denied{Rule: govern.RuleUncheckable, Object: "function " + strings.Join(n.Parts, "."), Detail: pgActivityDetail}
			}
			calls = append(calls, last)
		case n.Table:
			parts := n.Parts
			q := make([]string, 0, 2)
			for i := max(0, len(parts)-2); i < len(parts); i++ {
				q = append(q, pq.QuoteIdentifier(pgFold(n, i)))
			}
			rels = append(rels, strings.Join(q, "."))
		}
	}
	seen := map[string]*pgRel{}
	// Types of casts: after :: and AS, and a call's name (int4(x) is a
	// cast when no function has that name).
	words := stmt.CastTypes()
	for i, w := range words {
		words[i] = strings.ToLower(w)
	}
	words = append(words, calls...)
	if err := s.reach(ctx, p, stmt, [4][]string{calls, rels, stmt.Operators(), words}, seen); err != nil {
		return err
	}
	plan, err := s.planRelations(ctx, target)
	if err != nil {
		return err
	}
	var more []string
	for _, r := range plan {
		if seen[r[0]+"."+r[1]] == nil {
			more = append(more, pq.QuoteIdentifier(r[0])+"."+pq.QuoteIdentifier(r[1]))
		}
	}
	if len(more) > 0 {
		if err := s.reach(ctx, p, stmt, [4][]string{nil, more, nil, nil}, seen); err != nil {
			return err
		}
		for _, r := range plan {
			if seen[r[0]+"."+r[1]] == nil {
				// Fail closed: a relation the check could not judge.
				return &access.Denied{Rule: govern.RuleUncheckable, Object: r[0] + "." + r[1], Detail: "the plan reads it and the catalog does not show it"}
			}
		}
	}
	// Every relation of the plan with denied columns passes the column
	// rules (those reach found are judged again: cheap, and the same).
	for _, r := range plan {
		if d := pgColumnsDenied(p, stmt, seen[r[0]+"."+r[1]], seen); d != nil {
			return d
		}
	}
	return nil
}

// pgFold is part i of n as PostgreSQL reads it: a bare word folded to
// lower case, a quoted identifier as is.
func pgFold(n govern.Name, i int) string {
	if n.Quoted[i] {
		return n.Parts[i]
	}
	return strings.ToLower(n.Parts[i])
}

// reach runs pgReach and judges what it finds, adding the relations to seen.
// args are pgReach's: calls, relations, operators, words.
func (s *pgSession) reach(ctx context.Context, p *access.Policy, stmt *govern.Stmt, args [4][]string, seen map[string]*pgRel) error {
	if len(args[0]) == 0 && len(args[1]) == 0 && len(args[2]) == 0 && len(args[3]) == 0 {
		return nil
	}
	query, params := pgReachQuery(args)
	rows, err := s.conn.QueryContext(ctx, query, params...)
	if err != nil {
		return fmt.Errorf("access check: %w", err)
	}
	defer rows.Close()
	var denied *access.Denied
	var found []*pgRel
	for rows.Next() {
		var kind, schema, name, relkind, via string
		var cols, anc []string
		var def *string
		if err := rows.Scan(&kind, &schema, &name, &relkind, &via, pq.Array(&cols), &def, pq.Array(&anc)); err != nil {
			return fmt.Errorf("access check: %w", err)
		}
		if denied != nil {
			continue
		}
		switch kind {
		case "udf":
			detail := "a function that is not PostgreSQL's own may read anything, and the plan does not show its body"
			if via != "" {
				detail = "behind " + via + "; " + detail
			}
			denied = &access.Denied{Rule: govern.RuleFunctions, Object: "function " + schema + "." + name, Detail: detail}
		case "deep":
			// Views nested beyond the recursion's depth: what this one
			// reads was not looked up (the plan does not show what a
			// materialized view reads either).
			denied = &access.Denied{Rule: govern.RuleUncheckable, Object: schema + "." + name, Detail: "views nested too deeply to follow (16 levels)"}
		case "func":
			if pgActivity[name] {
				denied = &access.Denied{Rule: govern.RuleUncheckable, Object: "function " + schema + "." + name,
					Detail: "called by " + via + "; " + pgActivityDetail}
			} else if !pgSystemSchema(schema) || pgSQLFunction(name) {
				denied = &access.Denied{Rule: govern.RuleFunctions, Object: "function " + schema + "." + name,
					Detail: "called by " + via + "; the plan does not show what it reads"}
			}
		case "rel":
			key := schema + "." + name
			r := seen[key]
			if r == nil {
				r = &pgRel{schema: schema, name: name, kind: relkind}
				for i := 0; i+1 < len(anc); i += 2 {
					r.ancestors = append(r.ancestors, [2]string{anc[i], anc[i+1]})
				}
				var inherited []string
				for _, c := range cols {
					if p.ColumnDenied(schema, name, c) != "" {
						r.denied = true
					}
					for _, a := range r.ancestors {
						if p.ColumnDenied(a[0], a[1], c) != "" {
							inherited = append(inherited, pgPatternPart(schema)+"."+pgPatternPart(name)+"."+pgPatternPart(c))
							r.denied = true
						}
					}
				}
				if len(inherited) > 0 {
					rules := p.Rules()
					rules.DenyColumns = append(append([]string{}, rules.DenyColumns...), inherited...)
					if r.policy, err = access.Compile(rules); err != nil {
						return fmt.Errorf("access check: the rules of %s's ancestors: %w", key, err)
					}
				}
				seen[key] = r
				found = append(found, r)
			}
			if def != nil {
				r.def = *def
				if denied == nil {
					denied = pgDefinitionDenied(key, *def)
				}
			}
			if via != "" {
				r.vias = append(r.vias, via)
			} else {
				r.direct = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("access check: %w", err)
	}
	if denied != nil {
		return denied
	}
	for _, r := range found {
		if d := pgRelationDenied(p, r); d != nil {
			return d
		}
	}
	for _, r := range found {
		if d := pgColumnsDenied(p, stmt, r, seen); d != nil {
			return d
		}
	}
	return nil
}

// pgColumnsDenied applies the column rules to a relation with denied
// columns: the text that reads it, the statement or the definition of
// each view that reads it (PostgreSQL's canonical text: names qualified,
// * expanded), must pass govern.Stmt.CheckColumns. A relation the
// statement neither names nor reaches through a view is refused.
func pgColumnsDenied(p *access.Policy, stmt *govern.Stmt, r *pgRel, seen map[string]*pgRel) *access.Denied {
	if r == nil {
		return &access.Denied{Rule: govern.RuleUncheckable, Object: "a relation of the plan", Detail: "the catalog does not show it"}
	}
	if !r.denied {
		return nil
	}
	if r.policy != nil {
		p = r.policy
	}
	// A partition or child that the plan scans for an ancestor (which
	// the statement or a view names), and that the statement does not
	// name itself, is judged with that ancestor: its rules are the
	// child's, and the text reads the child through the ancestor's name.
	throughAncestor := false
	for _, a := range r.ancestors {
		if seen[a[0]+"."+a[1]] != nil && !stmt.NamesTable(r.name) {
			throughAncestor = true
		}
	}
	if (r.direct || len(r.vias) == 0) && !throughAncestor {
		if d := stmt.CheckColumns(p, r.schema, r.name); d != nil {
			return d
		}
	}
	for _, v := range r.vias {
		vr := seen[v]
		if vr == nil || vr.def == "" {
			return &access.Denied{Rule: govern.RuleUncheckable, Object: r.schema + "." + r.name,
				Detail: "through " + v + ", whose definition the check cannot read"}
		}
		def, err := govern.Parse(policy.Postgres, vr.def)
		if err != nil {
			return &access.Denied{Rule: govern.RuleUncheckable, Object: r.schema + "." + r.name,
				Detail: "through " + v + ", whose definition the check cannot read"}
		}
		if d := def.CheckColumns(p, r.schema, r.name); d != nil {
			d.Detail = strings.TrimPrefix(d.Detail+"; ", "; ") + "through view " + v
			return d
		}
	}
	return nil
}

// pgRelationDenied judges one relation the statement reads.
func pgRelationDenied(p *access.Policy, r *pgRel) *access.Denied {
	detail := ""
	if len(r.vias) > 0 {
		detail = "through " + r.vias[0]
	}
	obj := r.schema + "." + r.name
	switch {
	case r.schema == "pg_catalog" && pgStatRelations[r.name]:
		return &access.Denied{Rule: govern.RuleStatistics, Object: obj, Detail: "planner statistics hold column values"}
	case (r.schema == "pg_catalog" || r.name == "pg_stat_statements") && pgActivity[r.name]:
		return &access.Denied{Rule: govern.RuleUncheckable, Object: obj, Detail: strings.TrimPrefix(detail+"; ", "; ") + pgActivityDetail}
	case r.schema == "pg_toast" || strings.HasPrefix(r.schema, "pg_toast_temp"):
		return &access.Denied{Rule: govern.RuleUncheckable, Object: obj, Detail: "TOAST tables hold other tables' values"}
	}
	rule := p.TableDenied(r.schema, r.name)
	if rule == "schemas" && pgSystemSchema(r.schema) {
		rule = ""
	}
	if rule != "" {
		return &access.Denied{Rule: rule, Object: obj, Detail: detail}
	}
	for _, a := range r.ancestors {
		if rule := p.TableDenied(a[0], a[1]); rule != "" && rule != "schemas" {
			return &access.Denied{Rule: rule, Object: obj, Detail: strings.TrimPrefix(detail+"; ", "; ") +
				"a partition or child table of " + a[0] + "." + a[1] + ", whose rows it holds"}
		}
	}
	return nil
}

// pgPatternPart quotes a name as one part of an access pattern.
func pgPatternPart(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// pgDefinitionDenied reads a view's definition for calls of the functions
// that run SQL from text, which pg_depend does not record (built-ins).
func pgDefinitionDenied(view, def string) *access.Denied {
	stmt, err := govern.Parse(policy.Postgres, def)
	if err != nil {
		return &access.Denied{Rule: govern.RuleUncheckable, Object: "view " + view, Detail: "its definition could not be read"}
	}
	for _, n := range stmt.Names() {
		switch last := n.Parts[len(n.Parts)-1]; {
		case !n.Call:
		case pgSQLFunction(last):
			return &access.Denied{Rule: govern.RuleFunctions, Object: "function " + strings.Join(n.Parts, "."),
				Detail: "called by " + view + "; it runs SQL given as text or reads whole tables"}
		case pgActivity[strings.ToLower(last)]:
			return &access.Denied{Rule: govern.RuleUncheckable, Object: "function " + strings.Join(n.Parts, "."),
				Detail: "called by " + view + "; " + pgActivityDetail}
		}
	}
	return nil
}

// planRelations explains target and returns the (schema, name) of every
// relation its plan scans.
func (s *pgSession) planRelations(ctx context.Context, target string) ([][2]string, error) {
	// Wrapped as Query wraps a SELECT (every statement an EXPLAIN may
	// explain is a query that can be a subquery): the argument keeps
	// lib/pq on the extended protocol, which runs one statement only, in
	// one round trip; the page scans the same relations.
	const explain = "EXPLAIN (VERBOSE, FORMAT JSON) " + pagePrefix
	var doc []byte
	if err := s.conn.QueryRowContext(ctx, explain+target+pageSuffix, max(s.opts.MaxRows, 0)+1).Scan(&doc); err != nil {
		return nil, unwrapPosition(err, len(explain))
	}
	var plan any
	if err := json.Unmarshal(doc, &plan); err != nil {
		return nil, fmt.Errorf("access check: read the plan: %w", err)
	}
	var out [][2]string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if name, ok := v["Relation Name"].(string); ok {
				schema, _ := v["Schema"].(string)
				out = append(out, [2]string{schema, name})
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(plan)
	return out, nil
}
