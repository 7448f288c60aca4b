package dialect

import (
	"database/sql"
	"database/sql/driver"
	"strings"
)

// kindFromTypeName maps the type names database/sql drivers report
// (DatabaseTypeName, upper case, without length) to an encoding. What it
// does not know is KindUnknown: the encoder then goes by the Go value.
func kindFromTypeName(typeName string) Kind {
	t := strings.ToUpper(strings.TrimSpace(typeName))
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	t = strings.TrimPrefix(t, "UNSIGNED ")
	switch t {
	case "BYTEA", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "GEOMETRY", "BIT":
		return KindBinary
	case "INT", "INT2", "INT4", "INT8", "INTEGER", "SMALLINT", "BIGINT", "TINYINT", "MEDIUMINT",
		"SERIAL", "BIGSERIAL", "SMALLSERIAL", "YEAR", "OID":
		return KindInteger
	case "NUMERIC", "DECIMAL", "MONEY":
		return KindDecimal
	case "FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL":
		return KindFloat
	case "BOOL", "BOOLEAN":
		return KindBool
	case "DATE":
		return KindDate
	case "TIMESTAMP", "TIMESTAMPTZ", "DATETIME":
		return KindTimestamp
	case "JSON", "JSONB":
		return KindJSON
	case "TEXT", "VARCHAR", "CHAR", "BPCHAR", "NAME", "CHARACTER", "CHARACTER VARYING", "NVARCHAR", "NCHAR",
		"TINYTEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET", "CLOB", "UUID", "TIME", "TIMETZ", "INTERVAL":
		return KindText
	}
	return KindUnknown
}

// discardConn makes database/sql close conn instead of returning it to the
// pool: used when a connection could not be brought back to a clean state.
func discardConn(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
