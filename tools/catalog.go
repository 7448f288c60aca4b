package tools

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/access"
)

// ListTablesInput is list_tables' arguments.
type ListTablesInput struct {
	Database string `json:"database,omitempty"` // described per server: see databaseArg
	Schema   string `json:"schema,omitempty" jsonschema:"only this schema"`
	Pattern  string `json:"pattern,omitempty" jsonschema:"cust*, *_log, sales.* (schema.table); any case; no wildcard: contains"`
	Cursor   string `json:"cursor,omitempty" jsonschema:"next_cursor of the last page"`
}

// ListTablesOutput is list_tables' structured result.
type ListTablesOutput struct {
	Tables []TableEntry `json:"tables"`
	// Total is how many tables and views match, on every page.
	Total int `json:"total" jsonschema:"how many tables match in all"`
	// NextCursor continues the listing; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty" jsonschema:"pass as cursor for the next page"`
}

// TableEntry is one table or view.
type TableEntry struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Kind   string `json:"kind" jsonschema:"table, view, materialized view, partitioned table, foreign table, ..."`
	Rows   *int64 `json:"rows" jsonschema:"row count; null when unknown (views)"`
	// RowsExact is false when Rows is the database's statistics estimate.
	RowsExact bool   `json:"rows_exact" jsonschema:"true when rows was counted, false when it is the database's estimate"`
	Comment   string `json:"comment,omitempty"`
}

// PageSize is how many tables one list_tables page holds: on a thousand
// short names, about 7 KB of text.
const PageSize = 200

func (t *Tools) listTablesTool(dbs []*database) *mcp.Tool {
	in := schemaFor[ListTablesInput]()
	databaseArg(in, dbs)
	in.AdditionalProperties = falseSchema()
	return &mcp.Tool{
		Name:         "list_tables",
		Description:  fmt.Sprintf("List tables and views (%d a page) with kind and rows (~ estimate). Start here.", PageSize),
		InputSchema:  in,
		OutputSchema: schemaFor[ListTablesOutput](),
		Annotations:  readOnlyAnnotations("List tables and views"),
	}
}

func (t *Tools) listTables(ctx context.Context, db *database, raw json.RawMessage, rec *Record) (result, error) {
	var in ListTablesInput
	if err := decodeArgs(raw, &in, "schema, pattern, cursor (strings, optional)"+t.argNote()); err != nil {
		return result{}, err
	}
	rec.Schema = in.Schema
	f, err := tableFilter(in.Schema, in.Pattern)
	if err != nil {
		return result{}, err
	}
	if in.Cursor != "" {
		c, err := decodeCursor(in.Cursor, "list", db.Name)
		if err != nil {
			return result{}, err
		}
		f.After = &dialect.TableRef{Schema: c.Schema, Name: c.Name}
	}
	ctx, cancel := db.callContext(ctx)
	defer cancel()
	sess, release, err := db.session(ctx, 0)
	if err != nil {
		return result{}, err
	}
	defer release()
	cat := db.Backend.(dialect.Cataloger)
	tables, next, err := db.pageTables(ctx, sess, f, PageSize, cat.ListTablesPage)
	if err != nil {
		return result{}, err
	}
	total, err := db.countTables(ctx, sess, f)
	if err != nil {
		return result{}, err
	}
	out := ListTablesOutput{Tables: make([]TableEntry, len(tables)), Total: total}
	for i, tb := range tables {
		out.Tables[i] = TableEntry{Schema: tb.Schema, Name: tb.Name, Kind: tb.Kind, Rows: tb.Rows, RowsExact: tb.RowsExact, Comment: tb.Comment}
	}
	if next != nil {
		out.NextCursor = encodeCursor(cursor{Kind: "list", Database: db.Name, Schema: next.Schema, Name: next.Name})
	}
	rec.Rows = len(out.Tables)
	if total == 0 && in.Schema != "" && in.Pattern == "" {
		return result{}, validationf("no tables or views in schema %q visible to this user; call list_tables without schema to see all", in.Schema)
	}

	var b strings.Builder
	what := "tables and views"
	if in.Pattern != "" {
		what += fmt.Sprintf(" match %q", in.Pattern)
	}
	switch {
	case len(tables) == total && next == nil:
		fmt.Fprintf(&b, "%d %s; all shown.\n", total, what)
	case out.NextCursor != "":
		fmt.Fprintf(&b, "%d %s; %d shown; next_cursor: %s\n", total, what, len(tables), out.NextCursor)
	default:
		fmt.Fprintf(&b, "%d %s; %d shown (the last page).\n", total, what, len(tables))
	}
	if len(tables) == 0 {
		return result{structured: out, text: b.String()}, nil
	}
	comments := slices.ContainsFunc(out.Tables, func(e TableEntry) bool { return e.Comment != "" })
	header := []string{"schema", "name", "kind", "rows"}
	if comments {
		header = append(header, "comment")
	}
	rows := make([][]any, len(out.Tables))
	for i, e := range out.Tables {
		var count any
		if e.Rows != nil {
			c := strconv.FormatInt(*e.Rows, 10)
			if !e.RowsExact {
				c = "~" + c
			}
			count = json.Number(c)
		}
		rows[i] = []any{e.Schema, e.Name, e.Kind, count}
		if comments {
			rows[i] = append(rows[i], e.Comment)
		}
	}
	renderTSV(&b, header, rows)
	return result{structured: out, text: b.String()}, nil
}

// DescribeTableInput is describe_table's arguments.
type DescribeTableInput struct {
	Database  string   `json:"database,omitempty"` // described per server: see databaseArg
	TableName string   `json:"table_name,omitempty" jsonschema:"name, schema.name or quoted (\"Mixed Case\")"`
	Tables    []string `json:"tables,omitempty" jsonschema:"several at once"`
}

// MaxDescribe is how many tables one describe_table call describes.
const MaxDescribe = 10

// DescribeTableOutput is describe_table's structured result: the (first)
// table's description, and each table's when several were asked for.
type DescribeTableOutput struct {
	TableDescription
	// Tables, when several were asked for, describes each of them in
	// order; the fields above are then the first one's.
	Tables []TableDescription `json:"tables,omitempty"`
}

// TableDescription is one table's description.
type TableDescription struct {
	Schema      string       `json:"schema"`
	Name        string       `json:"name"`
	Kind        string       `json:"kind"`
	Comment     string       `json:"comment,omitempty"`
	Columns     []ColumnInfo `json:"columns"`
	PrimaryKey  []string     `json:"primary_key"`
	Uniques     []UniqueInfo `json:"unique_constraints"`
	ForeignKeys []ForeignKey `json:"foreign_keys"`
	Checks      []CheckInfo  `json:"check_constraints"`
	Indexes     []IndexInfo  `json:"indexes"`
}

// ColumnInfo is one column.
type ColumnInfo struct {
	Name     string  `json:"name"`
	Type     string  `json:"type" jsonschema:"the type as the database spells it"`
	Nullable bool    `json:"nullable"`
	Default  *string `json:"default" jsonschema:"the default expression, null when none"`
	// PrimaryKeyPosition is 1-based; 0 when not in the primary key.
	PrimaryKeyPosition int    `json:"primary_key_position" jsonschema:"1-based position in the primary key, 0 when not part of it"`
	Comment            string `json:"comment,omitempty"`
}

// UniqueInfo is a unique constraint.
type UniqueInfo struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
}

// ForeignKey maps columns to another table's columns.
type ForeignKey struct {
	Name              string   `json:"name"`
	Columns           []string `json:"columns"`
	ReferencedSchema  string   `json:"referenced_schema"`
	ReferencedTable   string   `json:"referenced_table"`
	ReferencedColumns []string `json:"referenced_columns"`
	OnUpdate          string   `json:"on_update,omitempty"`
	OnDelete          string   `json:"on_delete,omitempty"`
}

// CheckInfo is a check constraint.
type CheckInfo struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
}

// IndexInfo is an index.
type IndexInfo struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns" jsonschema:"columns or expressions, in index order"`
	Unique  bool     `json:"unique"`
	Primary bool     `json:"primary"`
	Method  string   `json:"method,omitempty"`
}

func (t *Tools) describeTableTool(dbs []*database) *mcp.Tool {
	in := schemaFor[DescribeTableInput]()
	databaseArg(in, dbs)
	in.Properties["tables"].MaxItems = ptr(MaxDescribe)
	in.AdditionalProperties = falseSchema()
	return &mcp.Tool{
		Name:         "describe_table",
		Description:  "Columns, keys, checks, indexes and comments of tables or views.",
		InputSchema:  in,
		OutputSchema: schemaFor[DescribeTableOutput](),
		Annotations:  readOnlyAnnotations("Describe a table"),
	}
}

func (t *Tools) describeTable(ctx context.Context, db *database, raw json.RawMessage, rec *Record) (result, error) {
	var in DescribeTableInput
	if err := decodeArgs(raw, &in, "table_name (string) or tables (array of strings)"+t.argNote()); err != nil {
		return result{}, err
	}
	names := in.Tables
	switch {
	case in.TableName != "" && len(in.Tables) > 0:
		return result{}, validationf("give table_name or tables, not both")
	case in.TableName != "" || len(in.Tables) == 0:
		names = []string{in.TableName}
	case len(in.Tables) > MaxDescribe:
		return result{}, validationf("tables names %d tables; at most %d a call", len(in.Tables), MaxDescribe)
	}
	rec.Table = strings.Join(names, ", ")
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			return result{}, validationf("argument table_name is required; call list_tables to see the tables")
		}
	}
	ctx, cancel := db.callContext(ctx)
	defer cancel()
	sess, release, err := db.session(ctx, 0)
	if err != nil {
		return result{}, err
	}
	defer release()
	var out DescribeTableOutput
	var text strings.Builder
	for i, name := range names {
		o, err := db.describe(ctx, sess, name)
		if err != nil {
			if len(names) > 1 {
				var te *toolError
				if errors.As(err, &te) && te.cat == catValidation {
					te.msg = fmt.Sprintf("tables[%d]: %s", i, te.msg)
				}
			}
			return result{}, err
		}
		if i == 0 {
			out = o
		}
		if len(names) > 1 {
			out.Tables = append(out.Tables, o.TableDescription)
			if i > 0 {
				text.WriteByte('\n')
			}
		}
		rec.Rows += len(o.Columns)
		text.WriteString(renderDescribe(o))
	}
	return result{structured: out, text: text.String()}, nil
}

// describe describes one table as the model named it, with what the
// access policy hides left out; a hidden table is not found.
func (db *database) describe(ctx context.Context, sess dialect.Queryer, name string) (DescribeTableOutput, error) {
	ref, err := db.Backend.ParseTableName(name)
	if err != nil {
		return DescribeTableOutput{}, validationf("cannot read table_name %q: %v. Write name, schema.name, or quote as the database quotes", name, err)
	}
	return db.describeRef(ctx, sess, ref, name)
}

// describeRef is describe for a parsed name; name is as asked.
func (db *database) describeRef(ctx context.Context, sess dialect.Queryer, ref dialect.TableRef, name string) (DescribeTableOutput, error) {
	var err error
	var info *dialect.TableInfo
	var denied *access.Denied
	switch {
	case ref.Schema != "" && db.Access.TableDenied(ref.Schema, ref.Name) != "":
		err = dialect.ErrTableNotFound
	default:
		info, err = db.Backend.DescribeTable(ctx, sess, ref)
	}
	if (err == nil && db.Access.TableDenied(info.Schema, info.Name) != "") || errors.As(err, &denied) {
		// Hidden: answered exactly as a table that does not exist.
		err = dialect.ErrTableNotFound
	}
	pol := db.Access
	if err == nil {
		var anc map[dialect.TableRef][]dialect.TableRef
		if anc, err = db.ancestors(ctx, sess); err == nil {
			ancs := anc[dialect.TableRef{Schema: info.Schema, Name: info.Name}]
			if ancestorDenied(db.Access, ancs) {
				err = dialect.ErrTableNotFound
			} else if pol, err = inheritedPolicy(db.Access, info, ancs); err != nil {
				return DescribeTableOutput{}, err
			}
		}
	}
	if errors.Is(err, dialect.ErrTableNotFound) {
		return DescribeTableOutput{}, db.notFound(ctx, sess, name, ref)
	}
	if err != nil {
		return DescribeTableOutput{}, err
	}
	return describeOutput(hideDenied(pol, info)), nil
}

// notFound builds the "did you mean" error for an unknown table.
func (db *database) notFound(ctx context.Context, q dialect.Queryer, asked string, ref dialect.TableRef) error {
	tables, err := db.listTables(ctx, q, "")
	if err != nil {
		return validationf("table %q not found; call list_tables to see the tables", asked)
	}
	matches := closeMatches(ref, tables, 5)
	if len(matches) == 0 {
		return validationf("table %q not found; call list_tables to see the tables", asked)
	}
	return validationf("table %q not found. Close matches: %s. Call list_tables to see every table", asked, strings.Join(matches, ", "))
}

// listTables is the backend's ListTables without what the access policy
// hides: denied tables, their partitions and children, and the tables of
// schemas it does not list.
func (db *database) listTables(ctx context.Context, q dialect.Queryer, schema string) ([]dialect.Table, error) {
	tables, err := db.Backend.ListTables(ctx, q, schema)
	if err != nil || db.Access.Empty() {
		return tables, err
	}
	v, err := db.visibility(ctx, q)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(tables, func(tb dialect.Table) bool { return v.tableHidden(tb.Schema, tb.Name) }), nil
}

// visibility is the access policy as it applies to the tables of one
// catalog read: a partition or inheritance child (dialect.Inheritor) holds
// its ancestors' rows, so their rules apply to it too.
type visibility struct {
	p   *access.Policy
	anc map[dialect.TableRef][]dialect.TableRef
}

// visibility reads the ancestors once for a catalog read (none when no
// policy is set or the backend has no inheritance).
func (db *database) visibility(ctx context.Context, q dialect.Queryer) (visibility, error) {
	anc, err := db.ancestors(ctx, q)
	return visibility{p: db.Access, anc: anc}, err
}

func (v visibility) tableHidden(schema, name string) bool {
	return v.p.TableDenied(schema, name) != "" || ancestorDenied(v.p, v.anc[dialect.TableRef{Schema: schema, Name: name}])
}

func (v visibility) columnHidden(schema, table, column string) bool {
	if v.p.ColumnDenied(schema, table, column) != "" {
		return true
	}
	for _, a := range v.anc[dialect.TableRef{Schema: schema, Name: table}] {
		if v.p.ColumnDenied(a.Schema, a.Name, column) != "" {
			return true
		}
	}
	return false
}

func (v visibility) hasColumnRules(schema, table string) bool {
	if v.p.HasColumnRules(schema, table) {
		return true
	}
	for _, a := range v.anc[dialect.TableRef{Schema: schema, Name: table}] {
		if v.p.HasColumnRules(a.Schema, a.Name) {
			return true
		}
	}
	return false
}

// ancestors maps the backend's partitions and inheritance children to
// the tables they descend from, whose rules apply to them (nil when the
// backend has none, or no policy is set).
func (db *database) ancestors(ctx context.Context, q dialect.Queryer) (map[dialect.TableRef][]dialect.TableRef, error) {
	inh, ok := db.Backend.(dialect.Inheritor)
	if !ok || db.Access.Empty() {
		return nil, nil
	}
	return inh.Ancestors(ctx, q)
}

// ancestorDenied reports whether a deny_tables rule hides one of ancs
// (the tables a partition or child descends from: it holds their rows).
func ancestorDenied(p *access.Policy, ancs []dialect.TableRef) bool {
	for _, a := range ancs {
		if rule := p.TableDenied(a.Schema, a.Name); rule != "" && rule != "schemas" {
			return true
		}
	}
	return false
}

// inheritedPolicy is p with the deny_columns rules of ancs (the tables
// info descends from) written for info's own columns.
func inheritedPolicy(p *access.Policy, info *dialect.TableInfo, ancs []dialect.TableRef) (*access.Policy, error) {
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	var extra []string
	for _, c := range info.Columns {
		for _, a := range ancs {
			if p.ColumnDenied(a.Schema, a.Name, c.Name) != "" {
				extra = append(extra, quote(info.Schema)+"."+quote(info.Name)+"."+quote(c.Name))
			}
		}
	}
	if len(extra) == 0 {
		return p, nil
	}
	rules := p.Rules()
	rules.DenyColumns = append(append([]string{}, rules.DenyColumns...), extra...)
	return access.Compile(rules)
}

// hideDenied removes from a table's description what the access policy
// hides: its denied columns, and every key, constraint and index that
// names one (a foreign key also when it references a denied table or
// column). A primary key over a denied column is left out whole, and the
// columns' positions in it with it.
func hideDenied(p *access.Policy, info *dialect.TableInfo) *dialect.TableInfo {
	if p.Empty() {
		return info
	}
	denied := map[string]bool{} // lower-cased names of the denied columns
	out := *info
	out.Columns = nil
	for _, c := range info.Columns {
		if p.ColumnDenied(info.Schema, info.Name, c.Name) != "" {
			denied[strings.ToLower(c.Name)] = true
			continue
		}
		out.Columns = append(out.Columns, c)
	}
	if len(denied) == 0 && !fkHidden(p, info) {
		return info
	}
	names := func(cols []string) bool { // reports whether cols name a denied column
		for _, c := range cols {
			if mentions(c, denied) {
				return true
			}
		}
		return false
	}
	if names(info.PrimaryKey) {
		out.PrimaryKey = nil
		for i := range out.Columns {
			out.Columns[i].PrimaryKeyPosition = 0
		}
	}
	out.Uniques = nil
	for _, u := range info.Uniques {
		if !names(u.Columns) {
			out.Uniques = append(out.Uniques, u)
		}
	}
	out.ForeignKeys = nil
	for _, f := range info.ForeignKeys {
		if !names(f.Columns) && !fkDenied(p, info, f) {
			out.ForeignKeys = append(out.ForeignKeys, f)
		}
	}
	out.Checks = nil
	for _, c := range info.Checks {
		if !mentions(c.Expression, denied) {
			out.Checks = append(out.Checks, c)
		}
	}
	out.Indexes = nil
	for _, x := range info.Indexes {
		if !names(x.Columns) {
			out.Indexes = append(out.Indexes, x)
		}
	}
	return &out
}

// fkDenied reports whether foreign key f of info references a table or a
// column the policy hides.
func fkDenied(p *access.Policy, info *dialect.TableInfo, f dialect.ForeignKey) bool {
	schema := cmp.Or(f.ReferencedSchema, info.Schema)
	if p.TableDenied(schema, f.ReferencedTable) != "" {
		return true
	}
	for _, c := range f.ReferencedColumns {
		if p.ColumnDenied(schema, f.ReferencedTable, c) != "" {
			return true
		}
	}
	return false
}

func fkHidden(p *access.Policy, info *dialect.TableInfo) bool {
	return slices.ContainsFunc(info.ForeignKeys, func(f dialect.ForeignKey) bool { return fkDenied(p, info, f) })
}

// mentions reports whether text (a column name or an expression) names
// one of the denied columns as a word, case-insensitively: an expression
// index or a check constraint over a hidden column is hidden with it. It
// errs on hiding: a string literal holding the name counts.
func mentions(text string, denied map[string]bool) bool {
	if len(denied) == 0 {
		return false
	}
	text = strings.ToLower(text)
	if denied[text] {
		return true
	}
	words := strings.FieldsFunc(text, func(r rune) bool {
		return !(r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r))
	})
	for _, w := range words {
		if denied[w] {
			return true
		}
	}
	for name := range denied { // a name that is not one word ("Mixed Case", "a.b")
		if strings.IndexFunc(name, func(r rune) bool { return !(r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)) }) >= 0 &&
			strings.Contains(text, name) {
			return true
		}
	}
	return false
}

// closeMatches ranks visible tables by edit distance of their names to the
// asked name, case-insensitively; qualified with the schema where it helps.
func closeMatches(ref dialect.TableRef, tables []dialect.Table, n int) []string {
	want := strings.ToLower(ref.Name)
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	for _, tb := range tables {
		got := strings.ToLower(tb.Name)
		d := levenshtein(want, got)
		if strings.Contains(got, want) || strings.Contains(want, got) {
			d = min(d, max(len(got), len(want))-min(len(got), len(want)))
		}
		if d > max(2, len(want)/2) {
			continue
		}
		name := tb.Name
		if tb.Schema != "" && tb.Schema != "main" && tb.Schema != "public" {
			name = tb.Schema + "." + tb.Name
		}
		cs = append(cs, cand{name, d})
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].dist != cs[j].dist {
			return cs[i].dist < cs[j].dist
		}
		return cs[i].name < cs[j].name
	})
	var out []string
	for _, c := range cs {
		if len(out) == n {
			break
		}
		out = append(out, c.name)
	}
	return out
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func describeOutput(info *dialect.TableInfo) DescribeTableOutput {
	out := DescribeTableOutput{TableDescription: TableDescription{
		Schema: info.Schema, Name: info.Name, Kind: info.Kind, Comment: info.Comment,
		Columns:     make([]ColumnInfo, len(info.Columns)),
		PrimaryKey:  nonNil(info.PrimaryKey),
		Uniques:     []UniqueInfo{},
		ForeignKeys: []ForeignKey{},
		Checks:      []CheckInfo{},
		Indexes:     []IndexInfo{},
	}}
	for i, c := range info.Columns {
		out.Columns[i] = ColumnInfo{Name: c.Name, Type: c.Type, Nullable: c.Nullable, Default: c.Default,
			PrimaryKeyPosition: c.PrimaryKeyPosition, Comment: c.Comment}
	}
	for _, u := range info.Uniques {
		out.Uniques = append(out.Uniques, UniqueInfo{Name: u.Name, Columns: nonNil(u.Columns)})
	}
	for _, f := range info.ForeignKeys {
		out.ForeignKeys = append(out.ForeignKeys, ForeignKey{Name: f.Name, Columns: nonNil(f.Columns),
			ReferencedSchema: f.ReferencedSchema, ReferencedTable: f.ReferencedTable,
			ReferencedColumns: nonNil(f.ReferencedColumns), OnUpdate: f.OnUpdate, OnDelete: f.OnDelete})
	}
	for _, c := range info.Checks {
		out.Checks = append(out.Checks, CheckInfo{Name: c.Name, Expression: c.Expression})
	}
	for _, x := range info.Indexes {
		out.Indexes = append(out.Indexes, IndexInfo{Name: x.Name, Columns: nonNil(x.Columns), Unique: x.Unique,
			Primary: x.Primary, Method: x.Method})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// renderDescribe is the compact text form: one line per column, then one
// line per key, constraint and index.
func renderDescribe(o DescribeTableOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", o.Kind, qualified(o.Schema, o.Name))
	if o.Comment != "" {
		fmt.Fprintf(&b, " -- %s", o.Comment)
	}
	b.WriteString("\ncolumn\ttype\tnullable\tdefault\tpk\n")
	for _, c := range o.Columns {
		def := "NULL"
		if c.Default != nil {
			def = *c.Default
		}
		pk := ""
		if c.PrimaryKeyPosition > 0 {
			pk = strconv.Itoa(c.PrimaryKeyPosition)
		}
		null := "NOT NULL"
		if c.Nullable {
			null = "NULL"
		}
		writeEscaped(&b, c.Name)
		b.WriteByte('\t')
		writeEscaped(&b, c.Type)
		fmt.Fprintf(&b, "\t%s\t", null)
		if c.Default == nil {
			b.WriteString("-")
		} else {
			writeEscaped(&b, def)
		}
		fmt.Fprintf(&b, "\t%s", pk)
		if c.Comment != "" {
			b.WriteString("\t-- ")
			writeEscaped(&b, c.Comment)
		}
		b.WriteByte('\n')
	}
	if len(o.PrimaryKey) > 0 {
		fmt.Fprintf(&b, "primary key (%s)\n", strings.Join(o.PrimaryKey, ", "))
	}
	for _, u := range o.Uniques {
		fmt.Fprintf(&b, "unique %s(%s)\n", nameSpace(u.Name), strings.Join(u.Columns, ", "))
	}
	for _, f := range o.ForeignKeys {
		refSchema := f.ReferencedSchema
		if refSchema == o.Schema {
			refSchema = ""
		}
		fmt.Fprintf(&b, "foreign key %s(%s) references %s (%s)", nameSpace(f.Name), strings.Join(f.Columns, ", "),
			qualified(refSchema, f.ReferencedTable), strings.Join(f.ReferencedColumns, ", "))
		if f.OnDelete != "" && f.OnDelete != "NO ACTION" {
			fmt.Fprintf(&b, " on delete %s", strings.ToLower(f.OnDelete))
		}
		b.WriteByte('\n')
	}
	for _, c := range o.Checks {
		fmt.Fprintf(&b, "check %s %s\n", c.Name, c.Expression)
	}
	for _, x := range o.Indexes {
		kind := "index"
		switch {
		case x.Primary:
			kind = "primary index"
		case x.Unique:
			kind = "unique index"
		}
		fmt.Fprintf(&b, "%s %s (%s)", kind, x.Name, strings.Join(x.Columns, ", "))
		if x.Method != "" {
			fmt.Fprintf(&b, " using %s", x.Method)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// nameSpace is a constraint name followed by a space, or nothing for an
// unnamed constraint (SQLite's are often unnamed).
func nameSpace(name string) string {
	if name == "" {
		return ""
	}
	return name + " "
}

func qualified(schema, name string) string {
	if schema == "" {
		return name
	}
	return schema + "." + name
}
