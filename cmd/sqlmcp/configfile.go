package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/access"
	"github.com/sqlmcp/sqlmcp/tools"
)

// dbConfig is one named database: a [[database]] table of the config file
// or a --dsn NAME=URL flag.
type dbConfig struct {
	Name        string
	DSN         string // may hold a password: never log it
	Description string
	// Required databases must be reachable for /readyz to answer 200.
	Required bool
	// Limits; zero means the server-wide value.
	MaxRows        int
	QueryTimeout   time.Duration
	MaxResultBytes int
	MaxOpenConns   int
	Rules          access.Rules
	Policy         *access.Policy // nil without rules
}

// tokenConfig is a [[token]]: a bearer token allowed only some databases.
type tokenConfig struct {
	Name      string
	Digest    [sha256.Size]byte
	Databases []string
}

// dbNamePattern is what a database (and a token) may be called: it
// becomes the tools' `database` argument and a metrics label.
var dbNamePattern = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// fileSetting maps a top-level key of the config file to its flag and
// environment variable ("" if none): the file is below both.
type fileSetting struct {
	key, flag, env string
}

var fileSettings = []fileSetting{
	{"max_rows", "max-rows", "SQLMCP_MAX_ROWS"},
	{"query_timeout", "query-timeout", "SQLMCP_QUERY_TIMEOUT"},
	{"max_result_bytes", "max-result-bytes", "SQLMCP_MAX_RESULT_BYTES"},
	{"max_open_conns", "max-open-conns", "SQLMCP_MAX_OPEN_CONNS"},
	{"log_level", "log-level", "SQLMCP_LOG_LEVEL"},
	{"log_format", "log-format", "SQLMCP_LOG_FORMAT"},
	{"audit_log", "audit-log", "SQLMCP_AUDIT_LOG"},
	{"audit_required", "audit-required", "SQLMCP_AUDIT_REQUIRED"},
	{"require_least_privilege", "require-least-privilege", "SQLMCP_REQUIRE_LEAST_PRIVILEGE"},
	{"transport", "transport", "SQLMCP_TRANSPORT"},
	{"listen", "listen", "SQLMCP_LISTEN"},
	{"stateless", "stateless", ""},
	{"auth_token_file", "auth-token-file", "SQLMCP_AUTH_TOKEN_FILE"},
	{"insecure_no_auth", "insecure-no-auth", ""},
	{"tls_cert", "tls-cert", "SQLMCP_TLS_CERT"},
	{"tls_key", "tls-key", "SQLMCP_TLS_KEY"},
	{"max_sessions", "max-sessions", "SQLMCP_MAX_SESSIONS"},
	{"session_idle_timeout", "session-idle-timeout", "SQLMCP_SESSION_IDLE_TIMEOUT"},
}

// fileDoc is the config file as TOML. Pointers tell a key that is absent
// from one set to its zero value; durations are strings ("30s").
type fileDoc struct {
	MaxRows               *int    `toml:"max_rows"`
	QueryTimeout          *string `toml:"query_timeout"`
	MaxResultBytes        *int    `toml:"max_result_bytes"`
	MaxOpenConns          *int    `toml:"max_open_conns"`
	LogLevel              *string `toml:"log_level"`
	LogFormat             *string `toml:"log_format"`
	AuditLog              *string `toml:"audit_log"`
	AuditRequired         *bool   `toml:"audit_required"`
	RequireLeastPrivilege *bool   `toml:"require_least_privilege"`
	Transport             *string `toml:"transport"`
	Listen                *string `toml:"listen"`
	Stateless             *bool   `toml:"stateless"`
	AuthTokenFile         *string `toml:"auth_token_file"`
	InsecureNoAuth        *bool   `toml:"insecure_no_auth"`
	TLSCert               *string `toml:"tls_cert"`
	TLSKey                *string `toml:"tls_key"`
	MaxSessions           *int    `toml:"max_sessions"`
	SessionIdleTimeout    *string `toml:"session_idle_timeout"`

	Database []fileDatabase `toml:"database"`
	Token    []fileToken    `toml:"token"`
}

type fileDatabase struct {
	Name           string   `toml:"name"`
	DSN            string   `toml:"dsn"`
	Description    string   `toml:"description"`
	Required       *bool    `toml:"required"`
	MaxRows        int      `toml:"max_rows"`
	QueryTimeout   string   `toml:"query_timeout"`
	MaxResultBytes int      `toml:"max_result_bytes"`
	MaxOpenConns   int      `toml:"max_open_conns"`
	Schemas        []string `toml:"schemas"`
	DenyTables     []string `toml:"deny_tables"`
	DenyColumns    []string `toml:"deny_columns"`
}

type fileToken struct {
	Name      string   `toml:"name"`
	SHA256    string   `toml:"sha256"`
	File      string   `toml:"file"`
	Databases []string `toml:"databases"`
}

// configFile is a parsed, checked config file.
type configFile struct {
	// settings are the top-level keys present, as flag name -> value in
	// the flag's own syntax.
	settings  map[string]string
	databases []dbConfig
	tokens    []tokenConfig
}

// loadConfigFile reads and checks the config file at path. Every error is
// one line naming the file, the line and the key.
func loadConfigFile(path string, getenv func(string) string) (*configFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("cannot read --config file: %v", err)
	}
	var doc fileDoc
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, tomlError(path, err)
	}
	lines := keyLines(data)
	at := func(key string) string {
		if n, ok := lines[key]; ok {
			return fmt.Sprintf("%s:%d: %s", path, n, key)
		}
		return fmt.Sprintf("%s: %s", path, key)
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	cf := &configFile{settings: map[string]string{}}

	// Top-level settings, checked here so that the message names the
	// file and line rather than a flag the user did not give.
	setInt := func(key string, v *int, lo, hi int) error {
		if v == nil {
			return nil
		}
		if *v < lo || (hi > 0 && *v > hi) {
			if hi > 0 {
				return usagef("%s must be between %d and %d (got %d)", at(key), lo, hi, *v)
			}
			return usagef("%s must be at least %d (got %d)", at(key), lo, *v)
		}
		cf.settings[flagOf(key)] = strconv.Itoa(*v)
		return nil
	}
	setDur := func(key string, v *string, lo time.Duration) error {
		if v == nil {
			return nil
		}
		d, err := time.ParseDuration(*v)
		if err != nil {
			return usagef("%s: %q is not a duration (e.g. \"30s\", \"2m\")", at(key), *v)
		}
		if d < lo {
			return usagef("%s must be at least %s (got %s)", at(key), lo, d)
		}
		cf.settings[flagOf(key)] = d.String()
		return nil
	}
	setStr := func(key string, v *string, allowed ...string) error {
		if v == nil {
			return nil
		}
		if len(allowed) > 0 && !contains(allowed, *v) {
			return usagef("%s must be %s (got %q)", at(key), strings.Join(allowed, " or "), *v)
		}
		cf.settings[flagOf(key)] = *v
		return nil
	}
	setBool := func(key string, v *bool) {
		if v != nil {
			cf.settings[flagOf(key)] = strconv.FormatBool(*v)
		}
	}
	for _, err := range []error{
		setInt("max_rows", doc.MaxRows, 1, tools.HardMaxRows),
		setDur("query_timeout", doc.QueryTimeout, 10*time.Millisecond),
		setInt("max_result_bytes", doc.MaxResultBytes, 1024, 0),
		setInt("max_open_conns", doc.MaxOpenConns, 1, 0),
		setStr("log_level", doc.LogLevel, "debug", "info", "warn", "error"),
		setStr("log_format", doc.LogFormat, "text", "json"),
		setStr("audit_log", ptr(rel(deref(doc.AuditLog)), doc.AuditLog != nil)),
		setStr("transport", doc.Transport, "stdio", "http"),
		setStr("listen", doc.Listen),
		setStr("auth_token_file", ptr(rel(deref(doc.AuthTokenFile)), doc.AuthTokenFile != nil)),
		setStr("tls_cert", ptr(rel(deref(doc.TLSCert)), doc.TLSCert != nil)),
		setStr("tls_key", ptr(rel(deref(doc.TLSKey)), doc.TLSKey != nil)),
		setInt("max_sessions", doc.MaxSessions, 1, 0),
		setDur("session_idle_timeout", doc.SessionIdleTimeout, time.Second),
	} {
		if err != nil {
			return nil, err
		}
	}
	setBool("audit_required", doc.AuditRequired)
	setBool("require_least_privilege", doc.RequireLeastPrivilege)
	setBool("stateless", doc.Stateless)
	setBool("insecure_no_auth", doc.InsecureNoAuth)

	if len(doc.Database) == 0 {
		return nil, usagef("%s: no [[database]]: give at least one, with a name and a dsn", path)
	}
	seen := map[string]bool{}
	for i, fd := range doc.Database {
		key := func(k string) string { return at(fmt.Sprintf("database[%d].%s", i, k)) }
		if fd.Name == "" {
			return nil, usagef("%s: every [[database]] needs a name", at(fmt.Sprintf("database[%d]", i)))
		}
		if !dbNamePattern.MatchString(fd.Name) {
			return nil, usagef("%s %q: a name is 1 to 32 of a-z, 0-9, _ and -", key("name"), fd.Name)
		}
		if seen[fd.Name] {
			return nil, usagef("%s: %q is the name of an earlier database; names are unique", key("name"), fd.Name)
		}
		seen[fd.Name] = true
		if fd.DSN == "" {
			return nil, usagef("%s: database %q has no dsn", at(fmt.Sprintf("database[%d]", i)), fd.Name)
		}
		dsn, err := expandEnv(fd.DSN, getenv)
		if err != nil {
			return nil, usagef("%s: %v", key("dsn"), err)
		}
		if _, err := dialect.ParseDSN(dsn); err != nil {
			return nil, usagef("%s: %s", key("dsn"), dialect.Scrub(err.Error(), dsn))
		}
		dc := dbConfig{
			Name: fd.Name, DSN: dsn, Description: fd.Description, Required: fd.Required == nil || *fd.Required,
			MaxRows: fd.MaxRows, MaxResultBytes: fd.MaxResultBytes, MaxOpenConns: fd.MaxOpenConns,
			Rules: access.Rules{Schemas: fd.Schemas, DenyTables: fd.DenyTables, DenyColumns: fd.DenyColumns},
		}
		if fd.MaxRows != 0 && (fd.MaxRows < 1 || fd.MaxRows > tools.HardMaxRows) {
			return nil, usagef("%s must be between 1 and %d (got %d)", key("max_rows"), tools.HardMaxRows, fd.MaxRows)
		}
		if fd.MaxResultBytes != 0 && fd.MaxResultBytes < 1024 {
			return nil, usagef("%s must be at least 1024 (got %d)", key("max_result_bytes"), fd.MaxResultBytes)
		}
		if fd.MaxOpenConns < 0 {
			return nil, usagef("%s must be at least 1 (got %d)", key("max_open_conns"), fd.MaxOpenConns)
		}
		if fd.QueryTimeout != "" {
			d, err := time.ParseDuration(fd.QueryTimeout)
			if err != nil {
				return nil, usagef("%s: %q is not a duration (e.g. \"30s\", \"2m\")", key("query_timeout"), fd.QueryTimeout)
			}
			if d < 10*time.Millisecond {
				return nil, usagef("%s must be at least 10ms (got %s)", key("query_timeout"), d)
			}
			dc.QueryTimeout = d
		}
		if len(fd.Schemas)+len(fd.DenyTables)+len(fd.DenyColumns) > 0 {
			p, err := access.Compile(dc.Rules)
			if err != nil {
				// access's error starts with the key and index:
				// "deny_tables[1] \"x\": ...".
				k := err.Error()
				if j := strings.IndexByte(k, '['); j > 0 {
					k = k[:j]
				}
				return nil, usagef("%s: %v", key(k), err)
			}
			dc.Policy = p
		}
		cf.databases = append(cf.databases, dc)
	}

	tokenNames := map[string]bool{}
	digests := map[[sha256.Size]byte]string{}
	for i, ft := range doc.Token {
		key := func(k string) string { return at(fmt.Sprintf("token[%d].%s", i, k)) }
		if ft.Name == "" {
			return nil, usagef("%s: every [[token]] needs a name (it names the token in the audit log)", at(fmt.Sprintf("token[%d]", i)))
		}
		if !dbNamePattern.MatchString(ft.Name) {
			return nil, usagef("%s %q: a name is 1 to 32 of a-z, 0-9, _ and -", key("name"), ft.Name)
		}
		if tokenNames[ft.Name] {
			return nil, usagef("%s: %q is the name of an earlier token; names are unique", key("name"), ft.Name)
		}
		tokenNames[ft.Name] = true
		tc := tokenConfig{Name: ft.Name}
		switch {
		case ft.SHA256 != "" && ft.File != "":
			return nil, usagef("%s: give sha256 or file, not both", key("file"))
		case ft.SHA256 != "":
			b, err := hex.DecodeString(strings.TrimSpace(ft.SHA256))
			if err != nil || len(b) != sha256.Size {
				return nil, usagef("%s: not the 64 hex digits of a SHA-256 (make one with: printf %%s \"$TOKEN\" | sha256sum)", key("sha256"))
			}
			copy(tc.Digest[:], b)
			if tc.Digest == sha256.Sum256(nil) {
				return nil, usagef("%s: this is the SHA-256 of the empty string, which would accept an empty bearer token; hash the token itself", key("sha256"))
			}
		case ft.File != "":
			raw, err := os.ReadFile(rel(ft.File))
			if err != nil {
				return nil, usagef("%s: %v", key("file"), err)
			}
			tok := strings.TrimSpace(string(raw))
			if strings.ContainsAny(tok, "\r\n") {
				return nil, usagef("%s: the file holds more than one line: it must hold the one token", key("file"))
			}
			if len(tok) < minTokenLen {
				return nil, usagef("%s: the token must be at least %d characters (generate one with: openssl rand -hex 32)", key("file"), minTokenLen)
			}
			tc.Digest = sha256.Sum256([]byte(tok))
		default:
			return nil, usagef("%s: token %q needs sha256 (of the token) or file (holding it)", at(fmt.Sprintf("token[%d]", i)), ft.Name)
		}
		if other, ok := digests[tc.Digest]; ok {
			return nil, usagef("%s: token %q is the same token as %q", key("name"), ft.Name, other)
		}
		digests[tc.Digest] = ft.Name
		if len(ft.Databases) == 0 {
			return nil, usagef("%s: token %q names no database", key("databases"), ft.Name)
		}
		for _, n := range ft.Databases {
			if !seen[n] {
				return nil, usagef("%s: %q is not a [[database]] of this file", key("databases"), n)
			}
		}
		tc.Databases = append([]string(nil), ft.Databases...)
		cf.tokens = append(cf.tokens, tc)
	}
	return cf, nil
}

// tomlError turns a decoding error into one line with the file, line and key.
func tomlError(path string, err error) error {
	var de *toml.DecodeError
	var se *toml.StrictMissingError
	switch {
	case errors.As(err, &se) && len(se.Errors) > 0:
		e := se.Errors[0]
		row, _ := e.Position()
		key := strings.Join(e.Key(), ".")
		hint := "see the config reference in README.md"
		switch key {
		case "dsn", "name", "description", "schemas", "deny_tables", "deny_columns", "required":
			hint = "it belongs in a [[database]] table"
		case "demo", "version", "healthcheck", "config":
			hint = "a command-line flag only"
		case "auth_token":
			hint = "give auth_token_file, a [[token]], or SQLMCP_AUTH_TOKEN: a secret does not belong in the file"
		}
		return usagef("%s:%d: unknown key %s (%s)", path, row, key, hint)
	case errors.As(err, &de):
		row, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		// "cannot decode TOML string into struct field main.fileDoc.MaxRows
		// of type int": the Go names mean nothing to the user.
		if i := strings.Index(msg, " into struct field "); i >= 0 {
			typ := msg[strings.LastIndex(msg, " of type ")+len(" of type "):]
			msg = msg[:i] + ": want " + tomlTypeName(typ)
		}
		if k := de.Key(); len(k) > 0 {
			return usagef("%s:%d: %s: %s", path, row, strings.Join(k, "."), msg)
		}
		return usagef("%s:%d: %s", path, row, msg)
	}
	return usagef("%s: %v", path, err)
}

func tomlTypeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array of " + tomlTypeName(goType[2:]) + "s"
	case strings.Contains(goType, "int"):
		return "an integer"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.Contains(goType, "string"):
		return "a string"
	}
	return goType
}

// keyLines maps each key of the document to its line: "max_rows",
// "database[1].dsn", "database[1]" (the table header).
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	counts := map[string]int{}
	prefix := ""
	join := func(it unstable.Iterator) (string, int) {
		var parts []string
		line := 0
		for it.Next() {
			n := it.Node()
			parts = append(parts, string(n.Data))
			if line == 0 {
				line = p.Shape(n.Raw).Start.Line
			}
		}
		return strings.Join(parts, "."), line
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.ArrayTable:
			name, line := join(e.Key())
			key := fmt.Sprintf("%s[%d]", name, counts[name])
			counts[name]++
			lines[key] = line
			prefix = key + "."
		case unstable.Table:
			name, line := join(e.Key())
			lines[name] = line
			prefix = name + "."
		case unstable.KeyValue:
			name, line := join(e.Key())
			lines[prefix+name] = line
		}
	}
	return lines
}

var envRef = regexp.MustCompile(`\$\{([^}]*)\}`)

// expandEnv replaces ${VAR} with the variable's value; an unset or empty
// variable is an error (a DSN silently missing its password or host would
// fail later, further from the cause). $$ is not special; only ${…} is.
func expandEnv(s string, getenv func(string) string) (string, error) {
	var missing string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v := getenv(name)
		if v == "" && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", fmt.Errorf("${%s} is not set in the environment", missing)
	}
	return out, nil
}

func flagOf(key string) string {
	for _, s := range fileSettings {
		if s.key == key {
			return s.flag
		}
	}
	panic("sqlmcp: no flag for config key " + key)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ptr(s string, ok bool) *string {
	if !ok {
		return nil
	}
	return &s
}
