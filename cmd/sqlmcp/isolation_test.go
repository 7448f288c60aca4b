package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// hiddenMarkers are what a token allowed only "music" must never read:
// the other database's name, description and backend-specific details.
var hiddenMarkers = []string{"secretdb", "HIDDEN-DESCRIPTION"}

// leaks fails the test if text shows any of the hidden markers.
func leaks(t *testing.T, what, text string) {
	t.Helper()
	for _, m := range hiddenMarkers {
		if strings.Contains(text, m) {
			t.Errorf("%s shows %q to a token not allowed it:\n%.600s", what, m, text)
		}
	}
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// isolationConfig writes a config with two databases, "music" (SQLite)
// and "secretdb" (PostgreSQL, described), and a [[token]] alice allowed
// only music; extra is appended.
func isolationConfig(t *testing.T, aliceDBs, extra string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sqlmcp.toml")
	text := `[[database]]
name = "music"
dsn = "sqlite://` + chinookCopy(t) + `"

[[database]]
name = "secretdb"
dsn = "` + pgDSN + `"
description = "HIDDEN-DESCRIPTION payroll"

[[token]]
name = "alice"
sha256 = "` + sha256Hex(tokenA) + `"
databases = ` + aliceDBs + "\n" + extra
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestTokenIsolationEverySurface: a [[token]] allowed only music learns
// nothing of secretdb — not its name, description or tables — through
// any MCP method: initialize's instructions, tools/list, a call naming
// it (the error lists only music), search, resources/list,
// resources/read of its URI, resources/templates/list, completions (of
// the database, and of schema and table with secretdb as context),
// prompts/get naming it; stateful and stateless alike.
func TestTokenIsolationEverySurface(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		name := "stateful"
		var args []string
		if stateless {
			name = "stateless"
			args = append(args, "--stateless")
		}
		t.Run(name, func(t *testing.T) {
			s := startFleet(t, isolationConfig(t, `["music"]`, ""), args...)
			cs, err := connectHTTP(t, s.base+"/mcp", tokenA)
			if err != nil {
				t.Fatal(err)
			}
			probeIsolation(t, cs)
		})
	}
}

func probeIsolation(t *testing.T, cs *mcp.ClientSession) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	leaks(t, "initialize", asJSON(cs.InitializeResult()))
	tl, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaks(t, "tools/list", asJSON(tl))
	for _, tool := range []string{"query", "list_tables", "describe_table", "search"} {
		text, isErr := callText(t, cs, tool, map[string]any{"database": "secretdb", "sql": "SELECT 1 AS one", "pattern": "a", "tables": []string{"x"}})
		if !isErr {
			t.Errorf("%s naming secretdb answered: %.300s", tool, text)
		}
		if !strings.Contains(text, "music") {
			t.Errorf("%s naming secretdb: %q does not list the allowed music", tool, text)
		}
		leaks(t, tool+" error", strings.ReplaceAll(text, `"secretdb"`, "")) // the name asked may be echoed
		text, _ = callText(t, cs, tool, map[string]any{"database": "nope", "sql": "SELECT 1", "pattern": "a", "tables": []string{"x"}})
		leaks(t, tool+" wrong-name error", text)
	}
	if text, isErr := callText(t, cs, "search", map[string]any{"pattern": "a"}); isErr || !strings.Contains(text, "artist") {
		t.Errorf("search without database: error=%v %.300s", isErr, text)
	} else {
		leaks(t, "search", text)
	}
	rl, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rl.Resources) == 0 {
		t.Error("resources/list is empty; want music's tables")
	}
	leaks(t, "resources/list", asJSON(rl))
	rt, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaks(t, "resources/templates/list", asJSON(rt))
	for _, uri := range []string{"sqlmcp://secretdb/pg_catalog/pg_class", "sqlmcp://secretdb/public/nope", "sqlmcp://nope/public/x"} {
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err == nil {
			t.Errorf("resources/read %s answered: %.300s", uri, asJSON(res))
			continue
		}
		leaks(t, "resources/read error", strings.ReplaceAll(err.Error(), uri, ""))
	}
	complete := func(ref *mcp.CompleteReference, arg, value string, given map[string]string) string {
		p := &mcp.CompleteParams{Ref: ref, Argument: mcp.CompleteParamsArgument{Name: arg, Value: value}}
		if given != nil {
			p.Context = &mcp.CompleteContext{Arguments: given}
		}
		res, err := cs.Complete(ctx, p)
		if err != nil {
			return err.Error()
		}
		return asJSON(res)
	}
	tmpl := &mcp.CompleteReference{Type: "ref/resource", URI: "sqlmcp://{database}/{schema}/{table}"}
	prompt := &mcp.CompleteReference{Type: "ref/prompt", Name: "explore"}
	for _, ref := range []*mcp.CompleteReference{tmpl, prompt} {
		if got := complete(ref, "database", "", nil); !strings.Contains(got, "music") {
			t.Errorf("completion of database: %s; want music", got)
		} else {
			leaks(t, "completion of database", got)
		}
		leaks(t, "completion of database s", complete(ref, "database", "s", nil))
		for _, arg := range []string{"schema", "table"} {
			got := complete(ref, arg, "", map[string]string{"database": "secretdb"})
			leaks(t, "completion of "+arg+" in secretdb", strings.ReplaceAll(got, `"secretdb"`, ""))
			if strings.Contains(got, "pg_catalog") || strings.Contains(got, "public") || strings.Contains(got, "information_schema") {
				t.Errorf("completion of %s in secretdb shows its catalog: %s", arg, got)
			}
		}
	}
	for _, name := range []string{"explore", "ask"} {
		res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: name, Arguments: map[string]string{"database": "secretdb", "question": "how many?"}})
		if err == nil {
			t.Errorf("prompts/get %s naming secretdb answered: %.300s", name, asJSON(res))
			continue
		}
		if !strings.Contains(err.Error(), "music") {
			t.Errorf("prompts/get %s naming secretdb: %v; want the allowed music listed", name, err)
		}
		leaks(t, "prompts/get error", strings.ReplaceAll(err.Error(), `"secretdb"`, ""))
	}
	pl, err := cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaks(t, "prompts/list", asJSON(pl))
}

// TestTokenIsolationAfterReload: a reload that takes secretdb from
// alice's token ends her open session's access to it on every surface,
// not only the tools: a new session, and the old one if it lives on,
// see nothing of it.
func TestTokenIsolationAfterReload(t *testing.T) {
	cfg := isolationConfig(t, `["music", "secretdb"]`, "")
	s := startFleet(t, cfg)
	cs, err := connectHTTP(t, s.base+"/mcp", tokenA)
	if err != nil {
		t.Fatal(err)
	}
	if text, isErr := callText(t, cs, "query", map[string]any{"database": "secretdb", "sql": "SELECT 1 AS one"}); isErr {
		t.Fatalf("before the reload: %s", text)
	}
	text, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(text), `["music", "secretdb"]`, `["music"]`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, s.stdioServer, "configuration reloaded")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The old session: closed by the server, or else blind to secretdb.
	if res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "sqlmcp://secretdb/pg_catalog/pg_class"}); err == nil {
		t.Errorf("the old session still reads secretdb's resources: %.200s", asJSON(res))
	}
	if res, err := cs.ListResources(ctx, nil); err == nil {
		leaks(t, "old session resources/list", asJSON(res))
	}
	cs2, err := connectHTTP(t, s.base+"/mcp", tokenA)
	if err != nil {
		t.Fatal(err)
	}
	probeIsolation(t, cs2)
}

// TestReadyzDoesNotNameDatabasesToStrangers: with tokens configured,
// /readyz without a token answers the status code and ready alone (a
// prober needs no more); with a token, the databases that token may
// use, each with its state.
func TestReadyzDoesNotNameDatabasesToStrangers(t *testing.T) {
	s := startFleet(t, isolationConfig(t, `["music"]`, `
[[token]]
name = "ops"
sha256 = "`+sha256Hex(tokenB)+`"
databases = ["music", "secretdb"]
`))
	code, body := get(t, s.base+"/readyz")
	if code != http.StatusOK || !strings.Contains(body, `"ready":true`) {
		t.Errorf("/readyz without a token = %d %s; want 200 ready", code, body)
	}
	leaks(t, "/readyz without a token", body)
	if strings.Contains(body, "music") || strings.Contains(body, "postgres") {
		t.Errorf("/readyz without a token names the databases: %s", body)
	}
	withToken := func(tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body = withToken(tokenA)
	if code != http.StatusOK || !strings.Contains(body, `"music"`) {
		t.Errorf("/readyz with alice's token = %d %s; want music listed", code, body)
	}
	leaks(t, "/readyz with alice's token", body)
	if code, body = withToken(tokenB); code != http.StatusOK || !strings.Contains(body, `"secretdb"`) || !strings.Contains(body, `"music"`) {
		t.Errorf("/readyz with ops' token = %d %s; want both databases", code, body)
	}
	if code, body = withToken(tokenA + "x"); strings.Contains(body, "music") {
		t.Errorf("/readyz with a wrong token = %d %s; want no names", code, body)
	}
}

// TestTokenInTwoPlacesIsRefused: one token both in --auth-token-file
// (every database) and in a [[token]] (some) is ambiguous — which
// databases does it get? — so start-up refuses it, naming both places;
// so does a reload that makes it so.
func TestTokenInTwoPlacesIsRefused(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokFile, []byte(tokenB+"\n"+tokenA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := isolationConfig(t, `["music"]`, "")
	code, _, stderr := runCmd(t, []string{"--config", cfg, "--transport", "http", "--listen", "127.0.0.1:0", "--auth-token-file", tokFile}, nil, nil)
	if code != 2 || !strings.Contains(stderr, "alice") || !strings.Contains(stderr, "--auth-token-file") {
		t.Errorf("a token in both --auth-token-file and [[token]] alice: exit %d, %q; want 2 naming both", code, stderr)
	}
	code, _, stderr = runCmd(t, []string{"--config", cfg, "--transport", "http", "--listen", "127.0.0.1:0"}, map[string]string{"SQLMCP_AUTH_TOKEN": tokenA}, nil)
	if code != 2 || !strings.Contains(stderr, "alice") || !strings.Contains(stderr, "SQLMCP_AUTH_TOKEN") {
		t.Errorf("a token in both SQLMCP_AUTH_TOKEN and [[token]] alice: exit %d, %q; want 2 naming both", code, stderr)
	}
	// Reload: the file gains alice's token; refused, the previous tokens stay.
	if err := os.WriteFile(tokFile, []byte(tokenB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startFleet(t, cfg, "--auth-token-file", tokFile)
	if err := os.WriteFile(tokFile, []byte(tokenB+"\n"+tokenA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, s.stdioServer, "is the same token as --auth-token-file")
	cs, err := connectHTTP(t, s.base+"/mcp", tokenA)
	if err != nil {
		t.Fatal(err)
	}
	if got := databaseEnum(t, cs, "query"); len(got) != 1 || got[0] != "music" {
		t.Errorf("alice's enum after the refused reload = %v, want [music]", got)
	}
}

// TestEmptyTokenDigestIsRefused: a [[token]] whose sha256 is that of the
// empty string would let in "Authorization: Bearer " — refused.
func TestEmptyTokenDigestIsRefused(t *testing.T) {
	cfg := writeConfig(t, `[[database]]
name = "music"
dsn = "sqlite:///nonexistent.db"

[[token]]
name = "empty"
sha256 = "`+sha256Hex("")+`"
databases = ["music"]
`)
	code, _, stderr := runCmd(t, []string{"--config", cfg, "--transport", "http", "--listen", "127.0.0.1:0"}, nil, nil)
	if code != 2 || !strings.Contains(stderr, "token[0].sha256") || !strings.Contains(stderr, "empty") {
		t.Errorf("sha256 of the empty string: exit %d, %q; want 2 naming the key", code, stderr)
	}
}

// TestReloadReplacesATokenFile: a [[token]]'s file rewritten with a new
// token and reloaded: the old token is refused (its open session with
// it), the new one accepted with the same databases.
func TestReloadReplacesATokenFile(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "bob.token")
	if err := os.WriteFile(tokFile, []byte(tokenB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := isolationConfig(t, `["music"]`, `
[[token]]
name = "bob"
file = "`+tokFile+`"
databases = ["music"]
`)
	s := startFleet(t, cfg)
	old, err := connectHTTP(t, s.base+"/mcp", tokenB)
	if err != nil {
		t.Fatal(err)
	}
	if text, isErr := callText(t, old, "query", map[string]any{"database": "music", "sql": "SELECT 1 AS one"}); isErr {
		t.Fatalf("before the reload: %s", text)
	}
	const rotated = "c-rotated-token-0123456789abcdef"
	if err := os.WriteFile(tokFile, []byte(rotated+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, s.stdioServer, "configuration reloaded")
	if text, isErr := callText(t, old, "query", map[string]any{"database": "music", "sql": "SELECT 1 AS one"}); !isErr {
		t.Errorf("the rotated-out token's session still queries: %s", text)
	}
	if _, err := connectHTTP(t, s.base+"/mcp", tokenB); err == nil {
		t.Error("the rotated-out token opens a session")
	}
	cs, err := connectHTTP(t, s.base+"/mcp", rotated)
	if err != nil {
		t.Fatalf("the new token: %v", err)
	}
	if text, isErr := callText(t, cs, "query", map[string]any{"database": "music", "sql": "SELECT 1 AS one"}); isErr {
		t.Errorf("the new token: %s", text)
	}
}

// TestPasswordsNeverShown: databases that are down or refuse their
// password — a MariaDB wrong password (the server's auth failure), an
// unreachable PostgreSQL with a percent-encoded password, one from
// ${VAR} — never show the password: not in the log, /readyz (with a
// token that sees everything), a tool's error, resources/read or a
// completion.
func TestPasswordsNeverShown(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokFile, []byte(tokenB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, `[[database]]
name = "music"
dsn = "sqlite://`+chinookCopy(t)+`"

[[database]]
name = "maria"
dsn = "mysql://root:WRONG%21PWmaria@127.0.0.1:3306/test"
required = false

[[database]]
name = "pgdown"
dsn = "postgres://u:PCT%40PWpgdown@127.0.0.1:1/x?sslmode=disable"
required = false

[[database]]
name = "fromenv"
dsn = "postgres://nosuchrole_iso:${ISO_TEST_PW}@127.0.0.1:5432/test?sslmode=disable"
required = false
`)
	t.Setenv("ISO_TEST_PW", "ENVPWfromenv")
	secrets := []string{"PWmaria", "PWpgdown", "ENVPWfromenv"}
	check := func(what, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows a password (%s):\n%.800s", what, s, text)
			}
		}
	}
	s := startFleet(t, cfg, "--auth-token-file", tokFile)
	req, _ := http.NewRequest(http.MethodGet, s.base+"/readyz", nil)
	req.Header.Set("Authorization", "Bearer "+tokenB)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"maria"`) || !strings.Contains(string(body), "authentication failed") {
		t.Errorf("/readyz = %s; want maria listed as an authentication failure", body)
	}
	check("/readyz", string(body))
	cs, err := connectHTTP(t, s.base+"/mcp", tokenB)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, db := range []string{"maria", "pgdown", "fromenv"} {
		text, isErr := callText(t, cs, "list_tables", map[string]any{"database": db})
		if !isErr {
			t.Errorf("list_tables on %s answered: %s", db, text)
		}
		check("list_tables "+db, text)
		if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "sqlmcp://" + db + "/public/x"}); err != nil {
			check("resources/read "+db, err.Error())
		}
		res, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/resource", URI: "sqlmcp://{database}/{schema}/{table}"},
			Argument: mcp.CompleteParamsArgument{Name: "table"}, Context: &mcp.CompleteContext{Arguments: map[string]string{"database": db}}})
		if err != nil {
			check("completion "+db, err.Error())
		} else {
			check("completion "+db, asJSON(res))
		}
	}
	tl, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("tools/list", asJSON(tl))
	check("the log", s.stderr.String())
}

// TestConfigErrorsOnTheDSNLineHideThePassword: a config file or --dsn
// flag that is wrong on the line holding the password says what is
// wrong without the password.
func TestConfigErrorsOnTheDSNLineHideThePassword(t *testing.T) {
	for _, tc := range []struct{ name, file string }{
		{"junk after the string", `dsn = "postgres://u:PWjunk@127.0.0.1:1/x" junk`},
		{"bad escape", `dsn = "postgres://u:PW\qescape@127.0.0.1:1/x"`},
		{"malformed URL", `dsn = "postgres://u:PW/malformed@127.0.0.1:1/x"`},
		{"bad scheme", `dsn = "postgrs://u:PWscheme@127.0.0.1:1/x"`},
		{"bad mysql param", `dsn = "mysql://u:PWparam@127.0.0.1:1/x?tls=bogus&readTimeout=zz"`},
		{"newline", "dsn = \"postgres://u:PWnewline@127.0.0.1:1/x\n\""},
	} {
		cfg := writeConfig(t, "[[database]]\nname = \"a\"\n"+tc.file+"\n")
		code, stdout, stderr := runCmd(t, []string{"--config", cfg}, nil, nil)
		if strings.Contains(stderr+stdout, "PW") {
			t.Errorf("%s: exit %d, the error shows the password: %s", tc.name, code, stderr)
		}
	}
	for _, flag := range []string{"Bad Name=postgres://u:PWflag1@h/x", "a=postgrs://u:PWflag2@h/x", "a=postgres://u:PW/flag3@h/x"} {
		code, stdout, stderr := runCmd(t, []string{"--dsn", flag, "--dsn", "b=sqlite:///nonexistent.db"}, nil, nil)
		if strings.Contains(stderr+stdout, "PW") {
			t.Errorf("--dsn %s: exit %d, the error shows the password: %s", flag, code, stderr)
		}
	}
}

// TestSessionIsBoundToItsToken: a session opened with a token that may
// use every database cannot be driven with a restricted token that
// learned its id: the request is refused, and answers nothing of
// secretdb.
func TestSessionIsBoundToItsToken(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokFile, []byte(tokenB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startFleet(t, isolationConfig(t, `["music"]`, ""), "--auth-token-file", tokFile)
	resp, _ := post(t, s.base+"/mcp", map[string]string{"Authorization": "Bearer " + tokenB}, initialize)
	id := resp.Header.Get("Mcp-Session-Id")
	if id == "" {
		t.Fatalf("no session id: %d", resp.StatusCode)
	}
	post(t, s.base+"/mcp", map[string]string{"Authorization": "Bearer " + tokenB, "Mcp-Session-Id": id, "Mcp-Protocol-Version": "2025-06-18"},
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"query","arguments":{"database":"secretdb","sql":"SELECT 4242 AS n"}}}`
	resp, body := post(t, s.base+"/mcp", map[string]string{"Authorization": "Bearer " + tokenA, "Mcp-Session-Id": id, "Mcp-Protocol-Version": "2025-06-18"}, call)
	if resp.StatusCode == http.StatusOK || strings.Contains(body, "4242") {
		t.Errorf("alice drove the session of the all-databases token: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, s.base+"/mcp", map[string]string{"Authorization": "Bearer " + tokenB, "Mcp-Session-Id": id, "Mcp-Protocol-Version": "2025-06-18"}, call)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "4242") {
		t.Errorf("the session's own token: %d %s", resp.StatusCode, body)
	}
}
