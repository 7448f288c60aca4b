package dialect_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/all"
	"github.com/sqlmcp/sqlmcp/dialect/internal/dialecttest"
)

func TestNamesParseTableName(t *testing.T) {
	type ref = dialect.TableRef
	tests := []struct {
		backend, input string
		want           ref
	}{
		// PostgreSQL folds unquoted names (ASCII only, as the server does
		// in a UTF-8 database) and keeps quoted ones.
		{"postgres", `album`, ref{Name: "album"}},
		{"postgres", `Album`, ref{Name: "album"}},
		{"postgres", `"Album"`, ref{Name: "Album"}},
		{"postgres", `Public.Album`, ref{Schema: "public", Name: "album"}},
		{"postgres", `public."My Table"`, ref{Schema: "public", Name: "My Table"}},
		{"postgres", `"My Schema"."My Table"`, ref{Schema: "My Schema", Name: "My Table"}},
		{"postgres", `public."Ünïcode Täble"`, ref{Schema: "public", Name: "Ünïcode Täble"}},
		{"postgres", `Ünïcode`, ref{Name: "Ünïcode"}},
		{"postgres", `"say ""hi"""`, ref{Name: `say "hi"`}},
		{"postgres", `"a.b"`, ref{Name: "a.b"}},
		{"postgres", `  public . album  `, ref{Schema: "public", Name: "album"}},
		{"postgres", `My Table`, ref{Name: "my table"}}, // unquoted with a space: taken whole
		{"postgres", "`x`", ref{Name: "`x`"}},           // backticks mean nothing here

		// MySQL keeps names as written; backticks, and double quotes too.
		{"mysql", `Album`, ref{Name: "Album"}},
		{"mysql", `Chinook.Album`, ref{Schema: "Chinook", Name: "Album"}},
		{"mysql", "`My Table`", ref{Name: "My Table"}},
		{"mysql", "`my db`.`My Table`", ref{Schema: "my db", Name: "My Table"}},
		{"mysql", "`a``b`", ref{Name: "a`b"}},
		{"mysql", `"My Table"`, ref{Name: "My Table"}},
		{"mysql", "test.`Ünïcode Täble`", ref{Schema: "test", Name: "Ünïcode Täble"}},

		// SQLite: "", [], `` all quote.
		{"sqlite", `Album`, ref{Name: "Album"}},
		{"sqlite", `main.Album`, ref{Schema: "main", Name: "Album"}},
		{"sqlite", `"My Table"`, ref{Name: "My Table"}},
		{"sqlite", `[My Table]`, ref{Name: "My Table"}},
		{"sqlite", "`My Table`", ref{Name: "My Table"}},
		{"sqlite", `main.[Ünïcode Täble]`, ref{Schema: "main", Name: "Ünïcode Täble"}},
		{"sqlite", `[a"b]`, ref{Name: `a"b`}},
		{"sqlite", `"a""b"`, ref{Name: `a"b`}},
	}
	for _, tc := range tests {
		t.Run(tc.backend+"/"+tc.input, func(t *testing.T) {
			got, err := dialecttest.Backend(t, tc.backend).ParseTableName(tc.input)
			if err != nil {
				t.Fatalf("ParseTableName(%s) error: %v", tc.input, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseTableName(%s) mismatch (-want +got):\n%s", tc.input, diff)
			}
		})
	}
}

func TestNamesParseTableNameInvalid(t *testing.T) {
	for _, backend := range []string{"postgres", "mysql", "sqlite"} {
		for _, input := range []string{
			``, `   `, `.album`, `public.`, `a..b`, `a.b.c`, `""`, `"unterminated`, `"a"b`, `"a" "b"`,
		} {
			t.Run(backend+"/"+input, func(t *testing.T) {
				got, err := dialecttest.Backend(t, backend).ParseTableName(input)
				if !errors.Is(err, dialect.ErrBadTableName) {
					t.Errorf("ParseTableName(%q) = %+v, %v; want ErrBadTableName", input, got, err)
				}
			})
		}
	}
	for _, input := range []string{"`unterminated", "`a`b"} {
		if _, err := dialecttest.Backend(t, "mysql").ParseTableName(input); !errors.Is(err, dialect.ErrBadTableName) {
			t.Errorf("mysql ParseTableName(%q) error = %v, want ErrBadTableName", input, err)
		}
	}
	if _, err := dialecttest.Backend(t, "sqlite").ParseTableName(`[a]]`); !errors.Is(err, dialect.ErrBadTableName) {
		t.Errorf("sqlite ParseTableName([a]]) error = %v, want ErrBadTableName ([] has no escape)", err)
	}
}

// TestNamesQuoteIdentRoundTrip: whatever a catalog holds, quoting it and
// parsing it back gives the same name, so a name from ListTables can
// always be passed to describe_table.
func TestNamesQuoteIdentRoundTrip(t *testing.T) {
	names := []string{"album", "Album", "My Table", `a"b`, "a`b", "a]b", "a.b", "Ünïcode Täble", " lead", "trail ", "x; DROP TABLE y"}
	for _, backend := range []string{"postgres", "mysql", "sqlite"} {
		d := dialecttest.Backend(t, backend)
		for _, schema := range []string{"public", "My Schema"} {
			for _, name := range names {
				in := d.QuoteIdent(schema) + "." + d.QuoteIdent(name)
				got, err := d.ParseTableName(in)
				if err != nil {
					t.Errorf("%s: ParseTableName(%s) error: %v", backend, in, err)
					continue
				}
				if want := (dialect.TableRef{Schema: schema, Name: name}); got != want {
					t.Errorf("%s: ParseTableName(%s) = %+v, want %+v", backend, in, got, want)
				}
			}
		}
	}
}

func TestNamesQuoteIdent(t *testing.T) {
	for _, tc := range []struct{ backend, in, want string }{
		{"postgres", `My "Table"`, `"My ""Table"""`},
		{"mysql", "My `Table`", "`My ``Table```"},
		{"sqlite", `My "Table"`, `"My ""Table"""`},
	} {
		if got := dialecttest.Backend(t, tc.backend).QuoteIdent(tc.in); got != tc.want {
			t.Errorf("%s QuoteIdent(%s) = %s, want %s", tc.backend, tc.in, got, tc.want)
		}
	}
}
