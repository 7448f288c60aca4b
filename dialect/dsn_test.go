package dialect_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/sqlmcp/sqlmcp/dialect"
	_ "github.com/sqlmcp/sqlmcp/dialect/all"
)

func TestParseDSNPicksBackend(t *testing.T) {
	abs, _ := filepath.Abs("rel.db")
	for _, tc := range []struct {
		dsn, backend, redacted string
	}{
		{"postgres://u:secret@db.example:5432/app?sslmode=require", "postgres", "postgres://u:xxxxx@db.example:5432/app?application_name=sqlmcp&sslmode=require"},
		{"postgresql://u@127.0.0.1/app", "postgres", "postgres://u@127.0.0.1/app?application_name=sqlmcp&sslmode=disable"},
		{"mysql://root:secret@127.0.0.1:3306/test", "mysql", "mysql://root:xxxxx@127.0.0.1:3306/test"},
		{"mariadb://root@localhost/test", "mysql", "mariadb://root@localhost/test"},
		{"sqlite:///tmp/x.db", "sqlite", "sqlite:///tmp/x.db"},
		{"sqlite:rel.db", "sqlite", "sqlite://" + abs},
		{"file:rel.db", "sqlite", "sqlite://" + abs},
		{"rel.db", "sqlite", "sqlite://" + abs},
		{"/data/app.sqlite3", "sqlite", "sqlite:///data/app.sqlite3"},
	} {
		got, err := dialect.ParseDSN(tc.dsn)
		if err != nil {
			t.Errorf("%s: %v", tc.dsn, err)
			continue
		}
		if got.Backend.Name() != tc.backend || got.Redacted != tc.redacted {
			t.Errorf("%s: backend %s redacted %s, want %s %s", tc.dsn, got.Backend.Name(), got.Redacted, tc.backend, tc.redacted)
		}
		if strings.Contains(got.Redacted, "secret") {
			t.Errorf("%s: redacted form shows the password: %s", tc.dsn, got.Redacted)
		}
	}
}

func TestParseDSNMySQLKeepsMultiStatementsOff(t *testing.T) {
	got, err := dialect.ParseDSN("mysql://u:p@h:3307/db?multiStatements=true&allowAllFiles=true&interpolateParams=true&timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(got.DriverDSN)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MultiStatements || cfg.AllowAllFiles || cfg.InterpolateParams {
		t.Errorf("driver config %+v: multiStatements/allowAllFiles/interpolateParams must stay off", cfg)
	}
	if cfg.Addr != "h:3307" || cfg.DBName != "db" || cfg.User != "u" || cfg.Passwd != "p" || !cfg.ParseTime {
		t.Errorf("driver config = addr %s db %s user %s parseTime %v", cfg.Addr, cfg.DBName, cfg.User, cfg.ParseTime)
	}
	if cfg.Timeout.String() != "5s" {
		t.Errorf("timeout option lost: %v", cfg.Timeout)
	}
}

func TestParseDSNMySQLCannotChangeTheCharacterSet(t *testing.T) {
	got, err := dialect.ParseDSN("mysql://u@h/db?collation=gbk_chinese_ci&character_set_client=gbk&charset=sjis&names=big5")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(got.DriverDSN)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Collation != "utf8mb4_general_ci" || strings.Contains(got.DriverDSN, "gbk") || strings.Contains(got.DriverDSN, "sjis") ||
		strings.Contains(got.DriverDSN, "big5") || !strings.Contains(got.DriverDSN, "charset=utf8mb4") {
		t.Errorf("driver DSN %s: the policy lexer reads UTF-8, so the connection must stay utf8mb4", got.DriverDSN)
	}
}

func TestParseDSNSQLiteIsAlwaysReadOnly(t *testing.T) {
	for _, dsn := range []string{"sqlite:///tmp/x.db", "file:/tmp/x.db?mode=rwc", "sqlite:///tmp/x.db?_pragma=query_only(0)&immutable=0"} {
		got, err := dialect.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got.DriverDSN, "file:") || !strings.Contains(got.DriverDSN, "mode=ro") ||
			strings.Contains(got.DriverDSN, "rwc") || strings.Contains(got.DriverDSN, "query_only%280%29") {
			t.Errorf("%s -> %s: want a file: URI opened mode=ro with query_only on", dsn, got.DriverDSN)
		}
	}
}

func TestParseDSNErrorsNeverShowThePassword(t *testing.T) {
	for _, dsn := range []string{
		"oracle://u:hunter2@h/db",
		"postgres://u:hunter2@h:notaport/db",
		"postgres://bob:hunt/er2@db.example.com/app",
		"mysql://bob:hunt#er2@db.example.com/app",
		"mysql://bob:hunt?er2@db.example.com/app",
		"mysql://u:hunter2@h/db?tls=nonsense-profile",
		"mysql://u@h/db?timeout=xyz",
		"",
		"just-a-word",
	} {
		_, err := dialect.ParseDSN(dsn)
		var de *dialect.DSNError
		if !errors.As(err, &de) {
			t.Errorf("%q: err %v, want a DSNError", dsn, err)
			continue
		}
		if strings.Contains(err.Error(), "hunt") {
			t.Errorf("%q: error shows the password: %v", dsn, err)
		}
	}
}
