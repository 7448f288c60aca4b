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
	Schema   string `json:"schema,omitempty" jsonschema:"only this schema (PostgreSQL schema, MySQL database, SQLite attached database); default all"`
}

// ListTablesOutput is list_tables' structured result.
type ListTablesOutput struct {
	Tables []TableEntry `json:"tables"`
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

func (t *Tools) listTablesTool(dbs []*database) *mcp.Tool {
	in := schemaFor[ListTablesInput]()
	databaseArg(in, dbs)
	in.AdditionalProperties = falseSchema()
	return &mcp.Tool{
		Name: "list_tables",
		Description: "List every table and view the connected user can see, with its kind and row count " +
			"(exact for small tables, the database's estimate for large ones, marked by rows_exact). Start here.",
		InputSchema:  in,
		OutputSchema: schemaFor[ListTablesOutput](),
		Annotations:  readOnlyAnnotations("List tables and views"),
	}
}

func (t *Tools) listTables(ctx context.Context, db *database, raw json.RawMessage, rec *Record) (result, error) {
	var in ListTablesInput
	if err := decodeArgs(raw, &in, "schema (string, optional)"+t.argNote()); err != nil {
		return result{}, err
	}
	rec.Schema = in.Schema
	ctx, cancel := db.callContext(ctx)
	defer cancel()
	sess, release, err := db.session(ctx, 0)
	if err != nil {
		return result{}, err
	}
	defer release()
	tables, err := db.listTables(ctx, sess, in.Schema)
	if err != nil {
		return result{}, err
	}
	out := ListTablesOutput{Tables: make([]TableEntry, len(tables))}
	for i, tb := range tables {
		out.Tables[i] = TableEntry{Schema: tb.Schema, Name: tb.Name, Kind: tb.Kind, Rows: tb.Rows, RowsExact: tb.RowsExact, Comment: tb.Comment}
	}
	rec.Rows = len(out.Tables)
	if len(tables) == 0 && in.Schema != "" {
		return result{}, validationf("no tables or views in schema %q visible to this user; call list_tables without schema to see all", in.Schema)
	}

	var b strings.Builder
	rows := make([][]any, len(out.Tables))
	for i, e := range out.Tables {
		count := "NULL"
		if e.Rows != nil {
			count = strconv.FormatInt(*e.Rows, 10)
			if !e.RowsExact {
				count = "~" + count
			}
		}
		rows[i] = []any{e.Schema, e.Name, e.Kind, json.Number(count), e.Comment}
		if e.Rows == nil {
			rows[i][3] = nil
		}
	}
	renderTSV(&b, []string{"schema", "name", "kind", "rows", "comment"}, rows)
	return result{structured: out, text: b.String()}, nil
}

// DescribeTableInput is describe_table's arguments.
type DescribeTableInput struct {
	Database  string `json:"database,omitempty"` // described per server: see databaseArg
	TableName string `json:"table_name" jsonschema:"table or view: name, schema.name, or quoted as the database quotes (\"Mixed Case\")"`
}

// DescribeTableOutput is describe_table's structured result.
type DescribeTableOutput struct {
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
	in.AdditionalProperties = falseSchema()
	return &mcp.Tool{
		Name: "describe_table",
		Description: "Describe one table or view: columns (type, nullable, default, primary-key position), primary key, " +
			"unique constraints, foreign keys, check constraints, indexes and comments. Accepts name, schema.name " +
			"and quoted names.",
		InputSchema:  in,
		OutputSchema: schemaFor[DescribeTableOutput](),
		Annotations:  readOnlyAnnotations("Describe a table"),
	}
}

func (t *Tools) describeTable(ctx context.Context, db *database, raw json.RawMessage, rec *Record) (result, error) {
	var in DescribeTableInput
	if err := decodeArgs(raw, &in, "table_name (string, required)"+t.argNote()); err != nil {
		return result{}, err
	}
	rec.Table = in.TableName
	if strings.TrimSpace(in.TableName) == "" {
		return result{}, validationf("argument table_name is required; call list_tables to see the tables")
	}
	ref, err := db.Backend.ParseTableName(in.TableName)
	if err != nil {
		return result{}, validationf("cannot read table_name %q: %v. Write name, schema.name, or quote as the database quotes", in.TableName, err)
	}
	ctx, cancel := db.callContext(ctx)
	defer cancel()
	sess, release, err := db.session(ctx, 0)
	if err != nil {
		return result{}, err
	}
	defer release()
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
				return result{}, err
			}
		}
	}
	if errors.Is(err, dialect.ErrTableNotFound) {
		return result{}, db.notFound(ctx, sess, in.TableName, ref)
	}
	if err != nil {
		return result{}, err
	}
	out := describeOutput(hideDenied(pol, info))
	rec.Rows = len(out.Columns)
	return result{structured: out, text: renderDescribe(out)}, nil
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
// hides: denied tables, and the tables of schemas it does not list.
func (db *database) listTables(ctx context.Context, q dialect.Queryer, schema string) ([]dialect.Table, error) {
	tables, err := db.Backend.ListTables(ctx, q, schema)
	if err != nil || db.Access.Empty() {
		return tables, err
	}
	anc, err := db.ancestors(ctx, q)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(tables, func(tb dialect.Table) bool {
		return db.Access.TableDenied(tb.Schema, tb.Name) != "" || ancestorDenied(db.Access, anc[dialect.TableRef{Schema: tb.Schema, Name: tb.Name}])
	}), nil
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
	out := DescribeTableOutput{
		Schema: info.Schema, Name: info.Name, Kind: info.Kind, Comment: info.Comment,
		Columns:     make([]ColumnInfo, len(info.Columns)),
		PrimaryKey:  nonNil(info.PrimaryKey),
		Uniques:     []UniqueInfo{},
		ForeignKeys: []ForeignKey{},
		Checks:      []CheckInfo{},
		Indexes:     []IndexInfo{},
	}
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
