package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/toolstest"
)

// The positions and keywords of MCP Inspector 2.x's tool-schema portability
// check (--strict), which clients that map schemas onto one type per field
// (OpenAPI-style function declarations) also need.
var (
	singleSubschema = []string{"items", "contains", "not", "propertyNames", "if", "then", "else",
		"additionalProperties", "unevaluatedProperties", "additionalItems", "unevaluatedItems", "contentSchema"}
	arraySubschemas = []string{"allOf", "anyOf", "oneOf", "prefixItems"}
	mapSubschemas   = []string{"properties", "patternProperties", "dependentSchemas", "dependencies", "$defs", "definitions"}
	// A boolean is a portable value only for these keywords.
	booleanKeywords = []string{"additionalProperties", "unevaluatedProperties", "additionalItems", "unevaluatedItems"}
	constraining    = []string{"type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
		"exclusiveMinimum", "maxLength", "minLength", "pattern", "format", "contentMediaType", "contentEncoding",
		"contentSchema", "maxItems", "minItems", "uniqueItems", "maxContains", "minContains", "maxProperties",
		"minProperties", "required", "dependentRequired", "allOf", "anyOf", "oneOf", "not", "items", "prefixItems",
		"contains", "additionalItems", "unevaluatedItems", "properties", "patternProperties", "additionalProperties",
		"unevaluatedProperties", "propertyNames", "dependentSchemas", "dependencies", "$ref", "$dynamicRef", "$recursiveRef"}
)

// unportable lists what in schema (decoded JSON) a single-type client
// rejects: a bare boolean schema, a `type` array, a schema that constrains
// nothing.
func unportable(node any, path, keyword string) []string {
	switch n := node.(type) {
	case bool:
		if slices.Contains(booleanKeywords, keyword) {
			return nil
		}
		return []string{fmt.Sprintf("%s: bare %v schema", path, n)}
	case map[string]any:
		var found []string
		if _, ok := n["type"].([]any); ok {
			found = append(found, fmt.Sprintf("%s: type is an array %v", path, n["type"]))
		}
		if keyword != "not" && !slices.ContainsFunc(constraining, func(k string) bool { _, ok := n[k]; return ok }) {
			found = append(found, fmt.Sprintf("%s: a schema that constrains nothing", path))
		}
		for _, k := range singleSubschema {
			if c, ok := n[k]; ok {
				found = append(found, unportable(c, path+"."+k, k)...)
			}
		}
		for _, k := range arraySubschemas {
			list, _ := n[k].([]any)
			for i, c := range list {
				found = append(found, unportable(c, fmt.Sprintf("%s.%s[%d]", path, k, i), k)...)
			}
		}
		for _, k := range mapSubschemas {
			m, _ := n[k].(map[string]any)
			for name, c := range m {
				found = append(found, unportable(c, path+"."+k+"."+name, k)...)
			}
		}
		return found
	}
	return nil
}

func toJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestToolSchemasArePortable lists the tools as a client does and walks
// every input and output schema: no bare boolean schema, no type array,
// nothing that constrains nothing (what MCP Inspector --strict reports).
func TestToolSchemasArePortable(t *testing.T) {
	db, d := newSQLite(t)
	set, err := tools.NewSet(musicAndDemo(t), tools.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, cs := range map[string]*mcp.ClientSession{
		"one database":              toolstest.Connect(t, tools.New(db, d, tools.Options{MaxRows: 50})),
		"two databases":             toolstest.Connect(t, set),
		"two databases, one caller": toolstest.ConnectFor(t, set, []string{"demo"}, nil),
		"two databases, no caller":  toolstest.ConnectFor(t, set, []string{}, nil),
	} {
		res, err := cs.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Tools) != 4 {
			t.Fatalf("%s: %d tools, want 4", name, len(res.Tools))
		}
		for _, tl := range res.Tools {
			for kind, s := range map[string]any{"inputSchema": tl.InputSchema, "outputSchema": tl.OutputSchema} {
				if found := unportable(toJSONValue(t, s), tl.Name+"."+kind, ""); len(found) > 0 {
					t.Errorf("%s: unportable schema:\n  %s", name, strings.Join(found, "\n  "))
				}
			}
		}
	}
}

// TestToolResultsMatchOutputSchemas validates what each tool returns,
// every kind of value included, against the output schema it declares,
// as a client that checks structuredContent does.
func TestToolResultsMatchOutputSchemas(t *testing.T) {
	db, d := newSQLite(t)
	cs := toolstest.Connect(t, tools.New(db, d, tools.Options{MaxRows: 50}))
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string]*jsonschema.Resolved{}
	for _, tl := range res.Tools {
		b, err := json.Marshal(tl.OutputSchema)
		if err != nil {
			t.Fatal(err)
		}
		var s jsonschema.Schema
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		rs, err := s.Resolve(nil)
		if err != nil {
			t.Fatalf("%s: resolve output schema: %v", tl.Name, err)
		}
		schemas[tl.Name] = rs
	}
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"query", map[string]any{"sql": "SELECT * FROM album ORDER BY album_id"}}, // text, decimal, blob, NULL
		{"query", map[string]any{"sql": "SELECT 1 = 1 AS b, 9007199254740993 AS big, 1.5 AS f, NULL AS n, x'00ff' AS bin, 'x' AS s"}},
		{"query", map[string]any{"sql": "SELECT n FROM big WHERE n < 0"}}, // no rows
		{"query", map[string]any{"sql": "SELECT n FROM big", "limit": 3}}, // truncated
		{"list_tables", map[string]any{}},
		{"describe_table", map[string]any{"table_name": "album"}}, // primary and foreign keys
		{"describe_table", map[string]any{"table_name": "big"}},   // no keys, no indexes
	} {
		t.Run(fmt.Sprintf("%s %v", tc.tool, tc.args), func(t *testing.T) {
			r := toolstest.Call(t, cs, tc.tool, tc.args)
			if r.IsError {
				t.Fatalf("error: %s", r.Text)
			}
			if err := schemas[tc.tool].Validate(r.Structured); err != nil {
				t.Errorf("structuredContent does not match the output schema: %v\n%v", err, r.Structured)
			}
		})
	}
}
