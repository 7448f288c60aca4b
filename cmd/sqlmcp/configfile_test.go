package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sqlmcp.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigFileErrorsNameFileLineAndKey: each mistake a user can make in
// the file is one line naming the file, the line and the key, exit 2, and
// never the DSN's password.
func TestConfigFileErrorsNameFileLineAndKey(t *testing.T) {
	sqlite := filepath.Join(t.TempDir(), "x.db")
	if err := os.WriteFile(sqlite, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db := "[[database]]\nname = \"a\"\ndsn = \"sqlite://" + sqlite + "\"\n"
	for _, tc := range []struct {
		name, text string
		env        map[string]string
		want       string
	}{
		{"unknown top-level key", "max_rowz = 5\n" + db, nil, ":1: unknown key max_rowz"},
		{"a database key at the top", "dsn = \"x.db\"\n" + db, nil, ":1: unknown key dsn (it belongs in a [[database]] table)"},
		{"unknown database key", db + "deny_table = [\"x\"]\n", nil, ":4: unknown key database.deny_table"},
		{"wrong type", "max_rows = \"many\"\n" + db, nil, ":1: max_rows: cannot decode TOML string: want an integer"},
		{"wrong type in a database", db + "required = 1\n", nil, ":4: database.required: cannot decode TOML integer: want true or false"},
		{"bad value", "max_rows = 5000\n" + db, nil, ":1: max_rows must be between 1 and 1000"},
		{"bad duration", db + "query_timeout = \"soon\"\n", nil, ":4: database[0].query_timeout: \"soon\" is not a duration"},
		{"bad name", "[[database]]\nname = \"Music DB\"\ndsn = \"x.db\"\n", nil, ":2: database[0].name \"Music DB\": a name is 1 to 32 of a-z"},
		{"duplicate name", db + "\n" + db, nil, ":6: database[1].name: \"a\" is the name of an earlier database"},
		{"bad pattern", db + "deny_tables = [\"public.t\", \"a.b.c\"]\n", nil, ":4: database[0].deny_tables: deny_tables[1] \"a.b.c\": a table is [schema.]table"},
		{"unset variable", "[[database]]\nname = \"a\"\ndsn = \"postgres://u:${PGPASS}@h/db\"\n", nil, ":3: database[0].dsn: ${PGPASS} is not set"},
		{"token names an unknown database", db + "[[token]]\nname = \"t\"\nsha256 = \"" + strings.Repeat("ab", 32) + "\"\ndatabases = [\"b\"]\n", nil, ":7: token[0].databases: \"b\" is not a [[database]]"},
		{"token without a secret", db + "[[token]]\nname = \"t\"\ndatabases = [\"a\"]\n", nil, ":4: token[0]: token \"t\" needs sha256"},
		{"no database", "max_rows = 5\n", nil, "no [[database]]"},
		{"syntax", "max_rows = = 5\n" + db, nil, ":1:"},
		{"bad scheme keeps the password out", "[[database]]\nname = \"a\"\ndsn = \"oracle://scott:${PW}@db/orcl\"\n", map[string]string{"PW": "hunter2hunter2"}, `unsupported database URL scheme "oracle"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.text)
			code, stdout, stderr := runCmd(t, []string{"--config", path}, tc.env, nil)
			if code != 2 || stdout != "" {
				t.Errorf("exit code %d, stdout %q; want 2 and nothing", code, stdout)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "sqlmcp: "+path) {
				t.Errorf("stderr = %q, want one line starting with sqlmcp: %s", stderr, path)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
			if strings.Contains(stderr, "hunter2") {
				t.Errorf("stderr shows the password: %q", stderr)
			}
		})
	}
}

// TestConfigPrecedence: a flag beats the environment, which beats the
// file, which beats the default; per-database values come through.
func TestConfigPrecedence(t *testing.T) {
	path := writeConfig(t, `max_rows = 7
query_timeout = "9s"
log_level = "warn"

[[database]]
name = "music"
dsn = "sqlite://${DIR}/m.db"
description = "the shop"
max_rows = 3
required = false
schemas = ["main"]
deny_columns = ["customer.email"]

[[database]]
name = "other"
dsn = "postgres://u:pw@127.0.0.1:1/x"
`)
	env := map[string]string{"DIR": "/tmp", "SQLMCP_QUERY_TIMEOUT": "11s", "DATABASE_URL": "postgres://ignored@h/db"}
	c, err := parseConfig([]string{"--config", path, "--log-level", "debug"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxRows != 7 || c.QueryTimeout != 11*time.Second || c.LogLevel != "debug" || c.MaxResultBytes != 1<<20 {
		t.Errorf("max_rows %d query_timeout %s log_level %s max_result_bytes %d; want 7 (file), 11s (env), debug (flag), 1048576 (default)",
			c.MaxRows, c.QueryTimeout, c.LogLevel, c.MaxResultBytes)
	}
	if c.DSN != "" || len(c.Databases) != 2 {
		t.Fatalf("DSN %q, %d databases; want the file's 2 and no single DSN", c.DSN, len(c.Databases))
	}
	m := c.Databases[0]
	if m.Name != "music" || m.DSN != "sqlite:///tmp/m.db" || m.Description != "the shop" || m.MaxRows != 3 || m.Required || m.Policy == nil {
		t.Errorf("first database = %+v", m)
	}
	if !c.Databases[1].Required || c.Databases[1].Policy != nil {
		t.Errorf("second database = %+v; want required by default and no policy", c.Databases[1])
	}
}

func TestNamedDSNFlags(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		names []string
		dsn   string
		err   string
	}{
		{"one plain URL", []string{"--dsn", "postgres://u@h/db"}, nil, "postgres://u@h/db", ""},
		{"one named", []string{"--dsn", "music=postgres://u@h/db"}, []string{"music"}, "", ""},
		{"two named", []string{"--dsn", "a=postgres://u@h/db", "--dsn", "b=x.db"}, []string{"a", "b"}, "", ""},
		{"two, one unnamed", []string{"--dsn", "a=postgres://u@h/db", "--dsn", "postgres://u:pw@h/db"}, nil, "", "each --dsn is NAME=URL"},
		{"twice the same name", []string{"--dsn", "a=x.db", "--dsn", "a=y.db"}, nil, "", `the name "a" is given twice`},
		{"with --config", []string{"--dsn", "a=x.db", "--config", "f.toml"}, nil, "", "--config and --dsn both given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(tc.args, func(string) string { return "" }, io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range c.Databases {
				names = append(names, d.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.names, ",") || c.DSN != tc.dsn {
				t.Errorf("names %v dsn %q; want %v %q", names, c.DSN, tc.names, tc.dsn)
			}
		})
	}
}
