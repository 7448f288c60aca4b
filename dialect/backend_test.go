package dialect_test

import (
	"strings"
	"testing"

	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/all"
)

// fake is a backend that only has a name and traits: Register must refuse
// it before anything else is asked of it.
type fake struct {
	dialect.Backend
	name   string
	traits dialect.Traits
}

func (f fake) Name() string           { return f.name }
func (f fake) Traits() dialect.Traits { return f.traits }

func complete(prefixes ...string) dialect.Traits {
	return dialect.Traits{Title: "T", DSNPrefixes: prefixes, DSNForms: "x://", Statements: "SELECT", PoolSize: 1}
}

// A DSN must always mean one backend: Register refuses a second backend
// under a taken name, one that claims another's DSN prefix (or a prefix of
// it), one that claims nothing, and one that leaves the model no words for
// what it admits.
func TestRegisterRefusesAmbiguousOrIncompleteBackends(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    fake
		want string
	}{
		{"taken name", fake{name: "postgres", traits: complete("fresh://")}, "registered twice"},
		{"same prefix", fake{name: "pg2", traits: complete("postgres://")}, "both claim"},
		{"shorter prefix", fake{name: "pg3", traits: complete("postgres")}, "both claim"},
		{"longer prefix", fake{name: "sq2", traits: complete("sqlite:x")}, "both claim"},
		{"same extension", fake{name: "sq3", traits: dialect.Traits{Title: "T", DSNPrefixes: []string{"sq3:"}, FileExtensions: []string{".db"}, DSNForms: "sq3:", Statements: "SELECT", PoolSize: 1}}, "both claim files"},
		{"no prefix", fake{name: "none", traits: dialect.Traits{Title: "T", DSNForms: "x", Statements: "SELECT"}}, "needs"},
		{"no statements", fake{name: "mute", traits: dialect.Traits{Title: "T", DSNPrefixes: []string{"mute://"}, DSNForms: "mute://", PoolSize: 1}}, "needs"},
		{"no pool size", fake{name: "nopool", traits: dialect.Traits{Title: "T", DSNPrefixes: []string{"nopool://"}, DSNForms: "nopool://", Statements: "SELECT"}}, "needs"},
		{"no title", fake{name: "untitled", traits: dialect.Traits{DSNPrefixes: []string{"untitled://"}, DSNForms: "untitled://", Statements: "SELECT", PoolSize: 1}}, "needs"},
		{"upper-case name", fake{name: "Fancy", traits: complete("fancy://")}, "lower case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatalf("Register(%s) accepted it", tc.b.name)
				}
				if !strings.Contains(r.(string), tc.want) {
					t.Errorf("Register(%s) panicked with %q, want it to say %q", tc.b.name, r, tc.want)
				}
			}()
			dialect.Register(tc.b)
		})
	}
	if _, ok := dialect.Lookup("pg2"); ok {
		t.Error("a refused backend was registered anyway")
	}
}

// Every registered backend is complete, and each of its DSN prefixes and
// file extensions leads ParseDSN to it and to no other.
func TestEveryBackendOwnsItsDSNs(t *testing.T) {
	bs := dialect.Backends()
	if len(bs) < 3 {
		t.Fatalf("%d backends registered, want at least postgres, mysql and sqlite", len(bs))
	}
	for _, b := range bs {
		tr := b.Traits()
		if tr.PoolSize < 1 {
			t.Errorf("%s: default pool size %d", b.Name(), tr.PoolSize)
		}
		if got, ok := dialect.Lookup(b.Name()); !ok || got.Name() != b.Name() {
			t.Errorf("Lookup(%s) = %v, %v", b.Name(), got, ok)
		}
		var dsns []string
		for _, p := range tr.DSNPrefixes {
			dsns = append(dsns, strings.ToUpper(p[:1])+p[1:]+"127.0.0.1/db.db")
		}
		for _, e := range tr.FileExtensions {
			dsns = append(dsns, "/tmp/some"+e)
		}
		for _, dsn := range dsns {
			tg, err := dialect.ParseDSN(dsn)
			if err != nil {
				t.Errorf("%s: ParseDSN(%q): %v", b.Name(), dsn, err)
				continue
			}
			if tg.Backend.Name() != b.Name() {
				t.Errorf("ParseDSN(%q) chose %s, want %s", dsn, tg.Backend.Name(), b.Name())
			}
		}
		if tr.FileBased && len(tr.FileExtensions) == 0 {
			t.Errorf("%s is file-based but claims no file extension", b.Name())
		}
	}
	_, err := dialect.ParseDSN("oracle://scott:tiger@db/orcl")
	if err == nil {
		t.Fatal("an unregistered scheme was accepted")
	}
	for _, b := range bs {
		if !strings.Contains(err.Error(), b.Traits().DSNForms) {
			t.Errorf("the unsupported-scheme error does not show how to write a %s DSN: %v", b.Name(), err)
		}
	}
	if strings.Contains(err.Error(), "tiger") {
		t.Errorf("the error shows the password: %v", err)
	}
}
