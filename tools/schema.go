package tools

import (
	"encoding/json"
	"slices"

	"github.com/google/jsonschema-go/jsonschema"
)

// portable rewrites a schema jsonschema-go inferred from a Go type into one
// with one `type` per node and no bare boolean schema, which clients that
// map tool schemas onto a single-type dialect (OpenAPI-style function
// declarations) accept, and the MCP Inspector's --strict finds clean. The
// values it admits are the ones the tools send:
//   - a Go slice is inferred as ["null", "array"]; every slice a tool
//     returns is made, never nil (the JSON is written or built so), so
//     it is "array";
//   - a pointer (["null", T]) can be null: anyOf {"type": T}, {"type": "null"};
//   - an `any` is inferred as the empty schema, which marshals as a bare
//     `true`: spelt out as anyOf the six JSON types.
func portable(s *jsonschema.Schema) *jsonschema.Schema {
	walkSchema(s)
	return s
}

func walkSchema(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if isEmptySchema(s) {
		*s = *anyJSONValue()
		return
	}
	if len(s.Types) == 2 && slices.Contains(s.Types, "null") {
		other := s.Types[0]
		if other == "null" {
			other = s.Types[1]
		}
		s.Types = nil
		if other == "array" {
			s.Type = "array"
		} else {
			s.AnyOf = append(s.AnyOf, &jsonschema.Schema{Type: other}, &jsonschema.Schema{Type: "null"})
		}
	}
	for _, c := range s.Properties {
		walkSchema(c)
	}
	for _, c := range s.Defs {
		walkSchema(c)
	}
	walkSchema(s.Items)
	for _, list := range [][]*jsonschema.Schema{s.PrefixItems, s.AnyOf, s.OneOf, s.AllOf} {
		for _, c := range list {
			walkSchema(c)
		}
	}
}

// isEmptySchema reports whether s admits every value with no keyword at
// all (jsonschema-go writes it as `true`).
func isEmptySchema(s *jsonschema.Schema) bool {
	b, err := json.Marshal(s)
	return err == nil && string(b) == "true"
}

// anyJSONValue admits any JSON value, one type per branch. A result cell
// is in fact null, a boolean, a number, a string (big integers, decimals,
// times) or a {type, base64} object for binary; the schema does not
// narrow it further, so that a value a new database type brings is not a
// schema violation.
func anyJSONValue() *jsonschema.Schema {
	var branches []*jsonschema.Schema
	for _, t := range []string{"null", "boolean", "number", "string", "object", "array"} {
		branches = append(branches, &jsonschema.Schema{Type: t})
	}
	return &jsonschema.Schema{
		Description: "a value: null, boolean, number, string, or {type, base64} for binary",
		AnyOf:       branches,
	}
}
