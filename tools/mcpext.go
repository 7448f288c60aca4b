package tools

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// The rest of MCP (issue 15): a resource per table, paged through by
// resources/list and read as describe_table's text; completions of
// database, schema and table names; and the explore and ask prompts.
// Like the tools, each shows only the databases a caller may use and
// nothing their access policies hide.

// ResourceTemplate is the URI template of a table's resource. Each part
// is percent-encoded as a URI path segment.
const ResourceTemplate = "sqlmcp://{database}/{schema}/{table}"

// ResourcePageSize is how many tables one resources/list page holds.
const ResourcePageSize = 100

// MaxCompletions is the most values a completion returns (MCP's cap).
const MaxCompletions = 100

// TableURI is the resource URI of a table.
func TableURI(database, schema, table string) string {
	return "sqlmcp://" + url.PathEscape(database) + "/" + url.PathEscape(schema) + "/" + url.PathEscape(table)
}

// parseTableURI splits a table's resource URI into its parts.
func parseTableURI(uri string) (database, schema, table string, ok bool) {
	rest, found := strings.CutPrefix(uri, "sqlmcp://")
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return "", "", "", false
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil || u == "" {
			return "", "", "", false
		}
		parts[i] = u
	}
	return parts[0], parts[1], parts[2], true
}

// addExtras registers the resource template, the prompts and the paging
// of resources/list on s, for the databases names allows (nil: all).
func (t *Tools) addExtras(s *mcp.Server, names []string) {
	s.AddResourceTemplate(&mcp.ResourceTemplate{
		Name:        "table",
		Title:       "Table or view",
		URITemplate: ResourceTemplate,
		Description: "A table's or view's columns, keys, checks and indexes, as describe_table gives them.",
		MIMEType:    "text/plain",
	}, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return t.readTable(ctx, names, req.Params.URI)
	})
	s.AddPrompt(&mcp.Prompt{
		Name:        "explore",
		Title:       "Explore a database",
		Description: "An overview of a database: its tables, what they hold and how they relate.",
		Arguments: []*mcp.PromptArgument{
			{Name: "database", Description: "the database (default: the only one)"},
			{Name: "schema", Description: "only this schema"},
		},
	}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return t.explorePrompt(names, req.Params.Arguments)
	})
	s.AddPrompt(&mcp.Prompt{
		Name:        "ask",
		Title:       "Ask a question of the data",
		Description: "Answer a question in plain language with one read-only query.",
		Arguments: []*mcp.PromptArgument{
			{Name: "question", Description: "the question, in plain language", Required: true},
			{Name: "database", Description: "the database (default: the only one)"},
		},
	}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return t.askPrompt(names, req.Params.Arguments)
	})
	s.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method != "resources/list" {
				return next(ctx, method, req)
			}
			cur := ""
			if r, ok := req.(*mcp.ListResourcesRequest); ok && r.Params != nil {
				cur = r.Params.Cursor
			}
			return t.listResources(ctx, names, cur)
		}
	})
}

// catalogCall runs f on the database named, among those names allows, as
// a tool call runs: counted in flight (drain, reload), on a read-only
// session bounded by the database's timeout.
func (t *Tools) catalogCall(ctx context.Context, names []string, dbName string, f func(ctx context.Context, db *database, q dialect.Queryer) error) error {
	var db *database
	for {
		for _, d := range t.state.Load().visible(names) {
			if d.Name == dbName {
				db = d
			}
		}
		if db == nil {
			return errUnknownDB
		}
		if db.enter() {
			break
		}
		db = nil // retired by a reload meanwhile: look again
	}
	defer db.exit()
	if !t.enter() {
		return errors.New("the server is shutting down")
	}
	defer t.wg.Done()
	if db.Unavailable != nil {
		return db.unavailable()
	}
	ctx, cancel := db.callContext(ctx)
	defer cancel()
	sess, release, err := db.session(ctx, 0)
	if err != nil {
		return t.shown(ctx, db, err)
	}
	defer release()
	if err := f(ctx, db, sess); err != nil {
		return t.shown(ctx, db, err)
	}
	return nil
}

var errUnknownDB = errors.New("unknown database")

// shown is err as the client may read it: categorize's message, the
// details (if any) logged.
func (t *Tools) shown(ctx context.Context, db *database, err error) error {
	var te *toolError
	if errors.As(err, &te) && te.cat == catValidation {
		return err
	}
	rec := &Record{Tool: "catalog", RequestID: newID()}
	return t.categorize(ctx, db, err, rec)
}

func (t *Tools) readTable(ctx context.Context, names []string, uri string) (*mcp.ReadResourceResult, error) {
	dbName, schema, table, ok := parseTableURI(uri)
	if !ok {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	var text string
	err := t.catalogCall(ctx, names, dbName, func(ctx context.Context, db *database, q dialect.Queryer) error {
		o, err := db.describeRef(ctx, q, dialect.TableRef{Schema: schema, Name: table}, qualified(schema, table))
		text = renderDescribe(o)
		return err
	})
	var te *toolError
	switch {
	case errors.Is(err, errUnknownDB), errors.As(err, &te) && te.cat == catValidation:
		// Unknown, hidden or gone: all read the same.
		return nil, mcp.ResourceNotFoundError(uri)
	case err != nil:
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "text/plain", Text: text}}}, nil
}

// listResources is a resources/list page: the tables of each database in
// turn, ResourcePageSize at a time.
func (t *Tools) listResources(ctx context.Context, names []string, cur string) (*mcp.ListResourcesResult, error) {
	dbs := t.state.Load().visible(names)
	var after *dialect.TableRef
	start := 0
	if cur != "" {
		c, err := decodeCursor(cur, "resources", "")
		i := slices.IndexFunc(dbs, func(d *database) bool { return d.Name == c.Database })
		if err != nil || i < 0 {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "invalid cursor: not a nextCursor of resources/list (or its database is gone); list again from the start"}
		}
		start, after = i, &dialect.TableRef{Schema: c.Schema, Name: c.Name}
	}
	res := &mcp.ListResourcesResult{Resources: []*mcp.Resource{}}
	for _, d := range dbs[start:] {
		if d.Unavailable != nil {
			after = nil
			continue
		}
		var page []dialect.Table
		var next *dialect.TableRef
		err := t.catalogCall(ctx, names, d.Name, func(ctx context.Context, db *database, q dialect.Queryer) (err error) {
			cat := db.Backend.(dialect.Cataloger)
			page, next, err = db.pageTables(ctx, q, dialect.TableFilter{After: after}, ResourcePageSize-len(res.Resources), cat.TableNames)
			return err
		})
		if err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("database %s: %v", d.Name, err)}
		}
		for _, tb := range page {
			res.Resources = append(res.Resources, &mcp.Resource{
				URI:         TableURI(d.Name, tb.Schema, tb.Name),
				Name:        d.Name + "/" + tb.Schema + "." + tb.Name,
				Title:       tb.Schema + "." + tb.Name,
				Description: tb.Kind + " in database " + d.Name,
				MIMEType:    "text/plain",
			})
		}
		if next != nil {
			res.NextCursor = encodeCursor(cursor{Kind: "resources", Database: d.Name, Schema: next.Schema, Name: next.Name})
			return res, nil
		}
		after = nil
		if len(res.Resources) == ResourcePageSize {
			// The page is full at the end of this database: the next
			// starts with the next database, if any.
			if i := slices.Index(dbs, d); i+1 < len(dbs) {
				res.NextCursor = encodeCursor(cursor{Kind: "resources", Database: dbs[i+1].Name})
			}
			return res, nil
		}
	}
	return res, nil
}

// complete answers completion/complete for the template's and the
// prompts' database, schema and table arguments, prefix-matched,
// case-insensitively, at most MaxCompletions values.
func (t *Tools) complete(ctx context.Context, names []string, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	p := req.Params
	if p == nil || p.Ref == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "completion/complete needs ref and argument"}
	}
	switch {
	case p.Ref.Type == "ref/resource" && p.Ref.URI == ResourceTemplate:
	case p.Ref.Type == "ref/prompt" && (p.Ref.Name == "explore" || p.Ref.Name == "ask"):
	default:
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("nothing to complete for %s %s%s: this server completes the arguments of %s and of the explore and ask prompts", p.Ref.Type, p.Ref.URI, p.Ref.Name, ResourceTemplate)}
	}
	var given map[string]string
	if p.Context != nil {
		given = p.Context.Arguments
	}
	dbs := t.state.Load().visible(names)
	prefix := p.Argument.Value
	var values []string
	more := false
	switch p.Argument.Name {
	case "database":
		for _, d := range dbs {
			if strings.HasPrefix(strings.ToLower(d.Name), strings.ToLower(prefix)) {
				values = append(values, d.Name)
			}
		}
	case "schema", "table":
		if p.Ref.Type == "ref/prompt" && p.Argument.Name == "table" {
			break
		}
		dbName := given["database"]
		if dbName == "" && len(dbs) == 1 {
			dbName = dbs[0].Name
		}
		var err error
		if p.Argument.Name == "schema" {
			values, more, err = t.completeSchemas(ctx, names, dbName, prefix)
		} else {
			values, more, err = t.completeTables(ctx, names, dbName, given["schema"], prefix)
		}
		if errors.Is(err, errUnknownDB) {
			values, more, err = nil, false, nil // nothing to offer until the database is known
		}
		if err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
		}
	}
	if values == nil {
		values = []string{}
	}
	return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: values, HasMore: more}}, nil
}

// likePrefix is a LIKE pattern for lower-cased names starting with p.
func likePrefix(p string) string {
	return dialect.Like(strings.NewReplacer("*", "", "?", "").Replace(p) + "*")
}

func (t *Tools) completeTables(ctx context.Context, names []string, dbName, schema, prefix string) (values []string, more bool, err error) {
	err = t.catalogCall(ctx, names, dbName, func(ctx context.Context, db *database, q dialect.Queryer) error {
		cat := db.Backend.(dialect.Cataloger)
		page, next, err := db.pageTables(ctx, q, dialect.TableFilter{Schema: schema, NameLike: likePrefix(prefix)}, MaxCompletions, cat.TableNames)
		for _, tb := range page {
			if !slices.Contains(values, tb.Name) {
				values = append(values, tb.Name)
			}
		}
		more = next != nil
		return err
	})
	return values, more, err
}

// completeSchemas lists the schemas with a visible table, skipping each
// schema's other tables once one is found.
func (t *Tools) completeSchemas(ctx context.Context, names []string, dbName, prefix string) (values []string, more bool, err error) {
	err = t.catalogCall(ctx, names, dbName, func(ctx context.Context, db *database, q dialect.Queryer) error {
		cat := db.Backend.(dialect.Cataloger)
		f := dialect.TableFilter{SchemaLike: likePrefix(prefix), NameLike: "%"}
		for range 4 * pageRounds {
			page, next, err := db.pageTables(ctx, q, f, 50, cat.TableNames)
			if err != nil {
				return err
			}
			for _, tb := range page {
				if !slices.Contains(values, tb.Schema) {
					if len(values) == MaxCompletions {
						more = true
						return nil
					}
					values = append(values, tb.Schema)
				}
			}
			if next == nil {
				return nil
			}
			// Past every other table of the last schema seen: the
			// largest code point sorts after any name.
			f.After = &dialect.TableRef{Schema: next.Schema, Name: "\U0010FFFF"}
		}
		more = true
		return nil
	})
	return values, more, err
}

// promptDatabase resolves a prompt's database argument.
func (t *Tools) promptDatabase(names []string, asked string) (*database, error) {
	dbs := t.state.Load().visible(names)
	if asked == "" && len(dbs) == 1 {
		return dbs[0], nil
	}
	for _, d := range dbs {
		if d.Name == asked {
			return d, nil
		}
	}
	return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: unknownDatabase(asked, dbs).Error()}
}

func dbArg(db *database) string {
	if legacy([]*database{db}) {
		return ""
	}
	return fmt.Sprintf(" (database argument %q)", db.Name)
}

func (t *Tools) explorePrompt(names []string, args map[string]string) (*mcp.GetPromptResult, error) {
	db, err := t.promptDatabase(names, args["database"])
	if err != nil {
		return nil, err
	}
	scope := "the " + db.backend + " database" + dbArg(db)
	if s := args["schema"]; s != "" {
		scope = fmt.Sprintf("schema %q of %s", s, scope)
	}
	text := fmt.Sprintf("Give me an overview of %s.\n\n"+
		"1. Call list_tables%s to see the tables and views with their row counts; if it says more exist, page with "+
		"next_cursor, or narrow with pattern.\n"+
		"2. Call describe_table with tables=[...] (up to %d at once) for the largest and most connected tables, to see their "+
		"columns and foreign keys.\n"+
		"3. Summarize in a few paragraphs: what the data is about, the main tables and what one row of each means, how "+
		"they join, and three questions the data could answer. Run no query unless one is needed, and then with a small limit.",
		scope, schemaHint(args["schema"]), MaxDescribe)
	return &mcp.GetPromptResult{
		Description: "Overview of " + scope,
		Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}},
	}, nil
}

func schemaHint(schema string) string {
	if schema == "" {
		return ""
	}
	return fmt.Sprintf(" (schema %q)", schema)
}

func (t *Tools) askPrompt(names []string, args map[string]string) (*mcp.GetPromptResult, error) {
	q := strings.TrimSpace(args["question"])
	if q == "" {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "argument question is required: the question to answer, in plain language"}
	}
	db, err := t.promptDatabase(names, args["database"])
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf("Answer this question from the %s database%s:\n\n%s\n\n"+
		"1. Find the tables it concerns: call search with a key word of the question as pattern (it finds tables and "+
		"columns, e.g. pattern \"email\"), or list_tables with a pattern.\n"+
		"2. Check the columns, keys and joins: call describe_table with tables=[...] for the candidates, all in one call.\n"+
		"3. Write ONE read-only SELECT that answers it, with ORDER BY and a LIMIT (at most %d rows), and run it with the "+
		"query tool. If it fails, read the error, fix the statement and retry.\n"+
		"4. Answer from the rows, and show the SQL you ran.", db.backend, dbArg(db), q, db.MaxRows)
	return &mcp.GetPromptResult{
		Description: "Answer a question with one read-only query",
		Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}},
	}, nil
}
