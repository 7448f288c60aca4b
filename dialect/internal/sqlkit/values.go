package sqlkit

import (
	"strings"

	"github.com/sqlmcp/sqlmcp/dialect"
)

// KindFromTypeName maps the type names database/sql drivers report
// (DatabaseTypeName, upper case, without length) to an encoding. What it
// does not know is KindUnknown: the encoder then goes by the Go value.
func KindFromTypeName(typeName string) dialect.Kind {
	t := strings.ToUpper(strings.TrimSpace(typeName))
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	t = strings.TrimPrefix(t, "UNSIGNED ")
	switch t {
	case "BYTEA", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "GEOMETRY", "BIT":
		return dialect.KindBinary
	case "INT", "INT2", "INT4", "INT8", "INTEGER", "SMALLINT", "BIGINT", "TINYINT", "MEDIUMINT",
		"SERIAL", "BIGSERIAL", "SMALLSERIAL", "YEAR", "OID":
		return dialect.KindInteger
	case "NUMERIC", "DECIMAL", "MONEY":
		return dialect.KindDecimal
	case "FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL":
		return dialect.KindFloat
	case "BOOL", "BOOLEAN":
		return dialect.KindBool
	case "DATE":
		return dialect.KindDate
	case "TIMESTAMP", "TIMESTAMPTZ", "DATETIME":
		return dialect.KindTimestamp
	case "JSON", "JSONB":
		return dialect.KindJSON
	case "TEXT", "VARCHAR", "CHAR", "BPCHAR", "NAME", "CHARACTER", "CHARACTER VARYING", "NVARCHAR", "NCHAR",
		"TINYTEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET", "CLOB", "UUID", "TIME", "TIMETZ", "INTERVAL":
		return dialect.KindText
	}
	return dialect.KindUnknown
}
