package postgres

import (
	"database/sql"
	"encoding/binary"
	"net/url"

	"github.com/lib/pq"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
	"github.com/sqlmcp/sqlmcp/dialect/internal/wire"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

func init() { dialect.Register(postgres{}) }

// Traits: see dialect.Traits.
func (postgres) Traits() dialect.Traits {
	return dialect.Traits{
		Title:       "PostgreSQL",
		DSNPrefixes: []string{"postgres://", "postgresql://"},
		DSNForms:    "postgres://user:pass@host:5432/db",
		PoolSize:    10,
		ControlPool: true,
		Statements:  policy.Postgres.Statements(),
	}
}

func (postgres) ParseDSN(dsn string) (dialect.Target, error) {
	u, err := sqlkit.ParseURL(dsn)
	if err != nil {
		return dialect.Target{}, err
	}
	u.Scheme = "postgres"
	q := u.Query()
	if !q.Has("sslmode") && sqlkit.LocalHost(u.Hostname()) {
		// lib/pq defaults to sslmode=require, which a local server
		// without TLS refuses; loopback traffic never leaves the host.
		q.Set("sslmode", "disable")
	}
	if !q.Has("application_name") {
		q.Set("application_name", "sqlmcp")
	}
	u.RawQuery = q.Encode()
	redacted := sqlkit.RedactURL(u)
	if !q.Has("binary_parameters") {
		// A statement with arguments then takes one round trip (Parse,
		// Bind, Execute on the unnamed statement) instead of two; the
		// query tool's page and every catalog query are such statements.
		q.Set("binary_parameters", "yes")
		u.RawQuery = q.Encode()
	}
	return dialect.Target{Backend: postgres{}, DriverDSN: u.String(), Redacted: redacted}, nil
}

// Open dials every connection through wire.Dialer, so that a session can
// bound each read and write on its socket (lib/pq does not abort a read
// blocked on a server that stopped answering when the context ends), and,
// without TLS, through a guard that fails the connection when the server
// announces a message larger than opts.MaxMessageBytes, before lib/pq
// allocates it. Under TLS the guard cannot read the framing.
func (postgres) Open(t dialect.Target, opts dialect.OpenOptions) (*sql.DB, error) {
	c, err := pq.NewConnector(t.DriverDSN)
	if err != nil {
		return nil, err
	}
	d := wire.Dialer{}
	if opts.MaxMessageBytes > 0 && pgPlaintext(t.DriverDSN) {
		d.Guard = &wire.Guard{Max: opts.MaxMessageBytes, Framing: pgFraming}
	}
	c.Dialer(d)
	return sql.OpenDB(wire.TrackingConnector{Connector: c}), nil
}

// pgPlaintext tells whether lib/pq will speak plaintext on the connection,
// so that the guard sees the protocol's Framing rather than TLS records.
func pgPlaintext(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	return u.Query().Get("sslmode") == "disable"
}

// pgFraming: a type byte and a big-endian int32 length that counts itself.
var pgFraming = wire.Framing{Header: 5, Parse: func(h []byte) (int, bool) {
	return int(binary.BigEndian.Uint32(h[1:5])) - 4, false
}}

// names: "double quotes", unquoted parts fold to lower case.
var names = sqlkit.NameSyntax{Quotes: []sqlkit.QuoteStyle{sqlkit.DoubleQuote}, Fold: sqlkit.FoldASCIILower}

// QuoteIdent quotes one identifier part: "a""b".
func (postgres) QuoteIdent(name string) string { return sqlkit.QuoteWith(name, '"') }

// ParseTableName folds unquoted parts to lower case as PostgreSQL does.
// DescribeTable falls back to a case-insensitive match, so `MyTable`
// still finds a table created as "MyTable".
func (postgres) ParseTableName(name string) (dialect.TableRef, error) { return names.Parse(name) }
