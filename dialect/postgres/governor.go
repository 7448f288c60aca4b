package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/lib/pq"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/access"
)

var _ dialect.Governor = postgres{}

// pgRelations lists the database's own relations (tables, views,
// materialized views, foreign and partitioned tables) with their
// columns and what the connected role may read of them.
const pgRelations = `SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text,
  ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
  ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    AND pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT') ORDER BY a.attnum),
  pg_catalog.has_any_column_privilege(c.oid, 'SELECT'),
  ARRAY(WITH RECURSIVE up(oid) AS (
      SELECT i.inhparent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid
      UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.oid)
    SELECT u.v FROM up JOIN pg_catalog.pg_class ac ON ac.oid = up.oid JOIN pg_catalog.pg_namespace an ON an.oid = ac.relnamespace
    CROSS JOIN LATERAL unnest(ARRAY[an.nspname::text, ac.relname::text]) WITH ORDINALITY AS u(v, k) ORDER BY up.oid, u.k)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
ORDER BY 2, 3`

// pgViewDeps lists, for every view and materialized view, the columns
// (or whole relations, column ”) its definition reads, recursively
// through the views it reads.
const pgViewDeps = `WITH RECURSIVE deps(root, oid, attnum, depth) AS (
  SELECT w.ev_class, d.refobjid, d.refobjsubid, 1
  FROM pg_catalog.pg_rewrite w JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
   AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> w.ev_class
  UNION
  SELECT deps.root, d.refobjid, d.refobjsubid, deps.depth + 1
  FROM deps JOIN pg_catalog.pg_rewrite w ON w.ev_class = deps.oid
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
   AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> w.ev_class
  WHERE deps.depth < 16
)
SELECT DISTINCT deps.root, n.nspname::text, c.relname::text, COALESCE(a.attname::text, ''),
  deps.depth >= 16 AND c.relkind IN ('v', 'm')
FROM deps JOIN pg_catalog.pg_class c ON c.oid = deps.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = deps.oid AND a.attnum = deps.attnum AND deps.attnum > 0`

type pgGovRel struct {
	oid                uint32
	schema, name, kind string
	cols, readable     []string
	anyRead            bool
	// why is the reason the policy denies the whole relation ("" if it
	// does not): its rule, or the denied data a view derives from.
	why string
	// deniedCols are its denied columns.
	deniedCols map[string]bool
}

// pgGovern reads the database's relations and judges each against p.
func pgGovern(ctx context.Context, q dialect.Queryer, p *access.Policy) ([]*pgGovRel, error) {
	rows, err := q.QueryContext(ctx, pgRelations)
	if err != nil {
		return nil, fmt.Errorf("read relations: %w", err)
	}
	var rels []*pgGovRel
	byOID := map[uint32]*pgGovRel{}
	byName := map[string]*pgGovRel{}
	for rows.Next() {
		r := &pgGovRel{deniedCols: map[string]bool{}}
		var anc []string
		if err := rows.Scan(&r.oid, &r.schema, &r.name, &r.kind, pq.Array(&r.cols), pq.Array(&r.readable), &r.anyRead, pq.Array(&anc)); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read relations: %w", err)
		}
		if rule := p.TableDenied(r.schema, r.name); rule != "" {
			r.why = rule
		}
		// A partition or inheritance child holds its ancestors' rows:
		// their rules apply to it.
		for i := 0; i+1 < len(anc) && r.why == ""; i += 2 {
			if rule := p.TableDenied(anc[i], anc[i+1]); rule != "" && rule != "schemas" {
				r.why = "a partition or child table of " + anc[i] + "." + anc[i+1] + " (" + rule + ")"
			}
		}
		for _, c := range r.cols {
			if p.ColumnDenied(r.schema, r.name, c) != "" {
				r.deniedCols[c] = true
			}
			for i := 0; i+1 < len(anc); i += 2 {
				if p.ColumnDenied(anc[i], anc[i+1], c) != "" {
					r.deniedCols[c] = true
				}
			}
		}
		rels = append(rels, r)
		byOID[r.oid] = r
		byName[r.schema+"."+r.name] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read relations: %w", err)
	}
	deps, err := q.QueryContext(ctx, pgViewDeps)
	if err != nil {
		return nil, fmt.Errorf("read view dependencies: %w", err)
	}
	defer deps.Close()
	for deps.Next() {
		var root uint32
		var schema, name, col string
		var deep bool
		if err := deps.Scan(&root, &schema, &name, &col, &deep); err != nil {
			return nil, fmt.Errorf("read view dependencies: %w", err)
		}
		v := byOID[root]
		if v == nil || v.why != "" {
			continue
		}
		d := pgRelationDenied(p, &pgRel{schema: schema, name: name})
		switch {
		case deep:
			v.why = "derives from " + schema + "." + name + ", whose views are nested too deeply to follow (16 levels)"
		case d != nil:
			v.why = "derives from " + d.Object + " (" + d.Rule + ")"
		case col != "" && p.ColumnDenied(schema, name, col) != "":
			v.why = "derives from " + schema + "." + name + "." + col + " (" + p.ColumnDenied(schema, name, col) + ")"
		case col == "" && byName[schema+"."+name] != nil && len(byName[schema+"."+name].deniedCols) > 0,
			col == "" && byName[schema+"."+name] == nil && p.HasColumnRules(schema, name):
			// A whole-row or column-less use of a table with column rules.
			v.why = "derives from " + schema + "." + name + " as a whole, which has denied columns"
		}
	}
	return rels, deps.Err()
}

// GrantScript: see dialect.Governor. The script revokes everything the
// role holds on the database's tables (column privileges go with the
// table's), then grants USAGE on the visible schemas, SELECT on the
// allowed relations, and SELECT on the allowed columns of a table with
// denied ones. A view or materialized view that reads denied data is not
// granted: a view reads with its owner's rights, so granting it would
// hand the data over.
func (postgres) GrantScript(ctx context.Context, q dialect.Queryer, p *access.Policy, role string) (string, error) {
	if strings.TrimSpace(role) == "" {
		return "", fmt.Errorf("grant script: a role name is required")
	}
	rels, err := pgGovern(ctx, q, p)
	if err != nil {
		return "", fmt.Errorf("grant script: %w", err)
	}
	var db string
	if err := q.QueryRowContext(ctx, "SELECT current_database()").Scan(&db); err != nil {
		return "", fmt.Errorf("grant script: %w", err)
	}
	r := pq.QuoteIdentifier(role)
	var b strings.Builder
	fmt.Fprintf(&b, "-- sqlmcp: grants that make role %s read exactly what the access policy allows of database %s.\n", role, db)
	b.WriteString("-- Generated from the catalog as it is now: run it again after tables change.\n")
	b.WriteString("BEGIN;\n")
	schemas := map[string]bool{}
	var order []string
	for _, rel := range rels {
		if _, ok := schemas[rel.schema]; !ok {
			schemas[rel.schema] = false
			order = append(order, rel.schema)
		}
	}
	for _, s := range order {
		fmt.Fprintf(&b, "REVOKE ALL ON ALL TABLES IN SCHEMA %s FROM %s;\n", pq.QuoteIdentifier(s), r)
	}
	// pg_read_all_data reads every table whatever the grants say.
	var readsAll bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_auth_members m
		JOIN pg_catalog.pg_roles g ON g.oid = m.roleid JOIN pg_catalog.pg_roles u ON u.oid = m.member
		WHERE g.rolname = 'pg_read_all_data' AND u.rolname = $1)`, role).Scan(&readsAll); err != nil {
		return "", fmt.Errorf("grant script: %w", err)
	}
	if readsAll {
		fmt.Fprintf(&b, "REVOKE pg_read_all_data FROM %s;\n", r)
	}
	var grants, skipped []string
	for _, rel := range rels {
		name := pq.QuoteIdentifier(rel.schema) + "." + pq.QuoteIdentifier(rel.name)
		switch {
		case rel.why != "":
			skipped = append(skipped, fmt.Sprintf("-- not granted: %s.%s: %s", rel.schema, rel.name, rel.why))
			continue
		case len(rel.deniedCols) > 0:
			var cols []string
			for _, c := range rel.cols {
				if !rel.deniedCols[c] {
					cols = append(cols, pq.QuoteIdentifier(c))
				}
			}
			if len(cols) == 0 {
				skipped = append(skipped, fmt.Sprintf("-- not granted: %s.%s: every column is denied", rel.schema, rel.name))
				continue
			}
			grants = append(grants, fmt.Sprintf("GRANT SELECT (%s) ON %s TO %s;", strings.Join(cols, ", "), name, r))
		default:
			grants = append(grants, fmt.Sprintf("GRANT SELECT ON %s TO %s;", name, r))
		}
		schemas[rel.schema] = true
	}
	for _, s := range order {
		if schemas[s] {
			fmt.Fprintf(&b, "GRANT USAGE ON SCHEMA %s TO %s;\n", pq.QuoteIdentifier(s), r)
		} else {
			fmt.Fprintf(&b, "REVOKE USAGE ON SCHEMA %s FROM %s;\n", pq.QuoteIdentifier(s), r)
		}
	}
	for _, g := range grants {
		b.WriteString(g + "\n")
	}
	for _, s := range skipped {
		b.WriteString(s + "\n")
	}
	b.WriteString("COMMIT;\n")
	return b.String(), nil
}

// pgStatCatalogs hold values of every column; reading them needs a
// superuser or an explicit grant. pg_stats shows only the columns the
// role can read, so it is covered by the column privileges.
var pgStatCatalogs = []string{"pg_catalog.pg_statistic", "pg_catalog.pg_statistic_ext_data"}

// Exposed: see dialect.Governor.
func (postgres) Exposed(ctx context.Context, q dialect.Queryer, p *access.Policy) ([]string, error) {
	rels, err := pgGovern(ctx, q, p)
	if err != nil {
		return nil, fmt.Errorf("check exposure: %w", err)
	}
	var out []string
	for _, rel := range rels {
		obj := rel.schema + "." + rel.name
		if rel.why != "" {
			if rel.anyRead {
				out = append(out, obj+" ("+rel.why+")")
			}
			continue
		}
		for _, c := range rel.readable {
			if rel.deniedCols[c] {
				rule := p.ColumnDenied(rel.schema, rel.name, c)
				if rule == "" {
					rule = "deny_columns of a table it is a partition or child of"
				}
				out = append(out, obj+"."+c+" ("+rule+")")
			}
		}
	}
	for _, cat := range pgStatCatalogs {
		var can bool
		if err := q.QueryRowContext(ctx, "SELECT pg_catalog.has_table_privilege($1, 'SELECT')", cat).Scan(&can); err != nil {
			return nil, fmt.Errorf("check exposure: %w", err)
		}
		if can {
			out = append(out, cat+" (planner statistics hold values of every column)")
		}
	}
	sort.Strings(out)
	return out, nil
}

var _ dialect.Inheritor = postgres{}

// pgAncestors lists every partition and inheritance child with each table
// it descends from.
const pgAncestors = `WITH RECURSIVE up(child, parent) AS (
  SELECT inhrelid, inhparent FROM pg_catalog.pg_inherits
  UNION SELECT up.child, i.inhparent FROM up JOIN pg_catalog.pg_inherits i ON i.inhrelid = up.parent)
SELECT cn.nspname::text, c.relname::text, pn.nspname::text, p.relname::text
FROM up JOIN pg_catalog.pg_class c ON c.oid = up.child JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
JOIN pg_catalog.pg_class p ON p.oid = up.parent JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace`

// Ancestors: see dialect.Inheritor.
func (postgres) Ancestors(ctx context.Context, q dialect.Queryer) (map[dialect.TableRef][]dialect.TableRef, error) {
	rows, err := q.QueryContext(ctx, pgAncestors)
	if err != nil {
		return nil, fmt.Errorf("read partitions and inheritance: %w", err)
	}
	defer rows.Close()
	out := map[dialect.TableRef][]dialect.TableRef{}
	for rows.Next() {
		var c, p dialect.TableRef
		if err := rows.Scan(&c.Schema, &c.Name, &p.Schema, &p.Name); err != nil {
			return nil, fmt.Errorf("read partitions and inheritance: %w", err)
		}
		out[c] = append(out[c], p)
	}
	return out, rows.Err()
}
