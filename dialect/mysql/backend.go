package mysql

import (
	"database/sql"
	"net"
	"net/url"
	"sort"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/dialect/internal/sqlkit"
	"github.com/sqlmcp/sqlmcp/dialect/internal/wire"
	"github.com/sqlmcp/sqlmcp/dialect/policy"
)

func init() { dialect.Register(&mysql{}) }

// Traits: see dialect.Traits.
func (*mysql) Traits() dialect.Traits {
	return dialect.Traits{
		Title:       "MySQL/MariaDB",
		DSNPrefixes: []string{"mysql://", "mariadb://"},
		DSNForms:    "mysql://user:pass@host:3306/db",
		PoolSize:    10,
		ControlPool: true,
		LostErrors:  []error{gomysql.ErrInvalidConn, gomysql.ErrPktSync, gomysql.ErrPktSyncMul},
		Statements:  policy.MySQL.Statements(),
	}
}

// mysqlDroppedParams are driver options a DSN may not turn on: each would
// weaken the read-only guarantee or the single-statement rule.
var mysqlDroppedParams = map[string]bool{
	"multistatements":   true,
	"allowallfiles":     true,
	"interpolateparams": true,
	// Compressed packets have a 7-byte header the row-size guard below
	// the driver (wire.go) does not read: it would miss oversize rows
	// and refuse legitimate streams.
	"compress": true,
	// The policy's lexer reads the text as UTF-8; in GBK, SJIS or Big5 a
	// backslash byte can be the second half of a character, and the
	// server would then end a string where the lexer does not. So the
	// connection is utf8mb4, and no option may change its character set
	// (see also mysqlCharsetParam).
	"charset":   true,
	"collation": true,
	"names":     true,
}

// mysqlCharsetParam tells the system variables the driver would SET at
// connect time that change how the server reads statement text.
func mysqlCharsetParam(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "character_set") || strings.HasPrefix(n, "collation")
}

func (*mysql) ParseDSN(dsn string) (dialect.Target, error) {
	u, err := sqlkit.ParseURL(dsn)
	if err != nil {
		return dialect.Target{}, err
	}
	cfg := gomysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	q := u.Query()
	if sock := q.Get("socket"); sock != "" {
		cfg.Net, cfg.Addr = "unix", sock
		q.Del("socket")
	} else {
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "127.0.0.1"
		}
		if port == "" {
			port = "3306"
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	}
	// Pass the rest through the driver's own parser so its validation and
	// option names apply, then force the options that keep us read-only.
	// charset makes the driver SET NAMES after connecting, which also
	// overrides a server's init_connect.
	params := url.Values{"charset": {"utf8mb4"}}
	if !q.Has("time_zone") {
		// The driver reads TIMESTAMP values as UTC (loc); the session
		// must then render them in UTC too, or they shift by the
		// server's zone.
		params.Set("time_zone", "'+00:00'")
	}
	for k, vs := range q {
		if mysqlDroppedParams[strings.ToLower(k)] || mysqlCharsetParam(k) {
			continue
		}
		params[k] = vs
	}
	base := cfg.FormatDSN()
	if enc := params.Encode(); enc != "" {
		if strings.Contains(base, "?") {
			base += "&" + enc
		} else {
			base += "?" + enc
		}
	}
	parsed, err := gomysql.ParseDSN(base)
	if err != nil {
		msg := err.Error()
		if cfg.Passwd != "" {
			msg = strings.ReplaceAll(msg, cfg.Passwd, dialect.Redacted)
		}
		return dialect.Target{}, dialect.DSNErrorf("invalid MySQL option in database URL: %s", msg)
	}
	parsed.MultiStatements = false
	parsed.AllowAllFiles = false
	parsed.InterpolateParams = false
	parsed.ParseTime = true
	parsed.RejectReadOnly = false
	parsed.Collation = "utf8mb4_general_ci"
	return dialect.Target{Backend: &mysql{}, // per database: it learns MariaDB or MySQL
		DriverDSN: parsed.FormatDSN(), Redacted: sqlkit.RedactURL(u)}, nil
}

// Open dials every connection through wire.Dialer (after a dialer the DSN
// configured), so that a session can bound each read and write on its
// socket and the handshake cannot hang, and, without TLS, through a guard
// that refuses a packet larger than opts.MaxMessageBytes before the
// driver allocates it. The driver's log goes to opts.Logger.
func (b *mysql) Open(t dialect.Target, opts dialect.OpenOptions) (*sql.DB, error) {
	cfg, err := gomysql.ParseDSN(t.DriverDSN)
	if err != nil {
		return nil, err
	}
	d := wire.Dialer{Next: cfg.DialFunc}
	plain := cfg.TLS == nil && (cfg.TLSConfig == "" || cfg.TLSConfig == "false")
	if opts.MaxMessageBytes > 0 && plain {
		d.Guard = &wire.Guard{Max: opts.MaxMessageBytes, Framing: mysqlFraming}
	}
	b.mu.Lock()
	b.plain, b.connectSet = plain, connectSet(cfg)
	b.mu.Unlock()
	cfg.DialFunc = d.DialContext
	if opts.Logger != nil {
		cfg.Logger = wire.DriverLogger{L: opts.Logger}
	}
	c, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(wire.TrackingConnector{Connector: c}), nil
}

// connectSet is what the driver sets when it connects (SET NAMES, then the
// DSN's system variables), as the assignments of one SET statement: the
// cleanup sets them again after COM_RESET_CONNECTION, which returns every
// session variable to its global value (see mysqlSession.Close).
func connectSet(cfg *gomysql.Config) string {
	var b strings.Builder
	b.WriteString("NAMES utf8mb4")
	if cfg.Collation != "" {
		b.WriteString(" COLLATE " + cfg.Collation)
	}
	keys := make([]string, 0, len(cfg.Params))
	for k := range cfg.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(", " + k + " = " + cfg.Params[k])
	}
	return b.String()
}

// mysqlFraming: a little-endian 24-bit length and a sequence byte; a
// payload of exactly 0xffffff bytes continues in the next packet.
// go-sql-driver turns any failed read into "invalid connection" and logs
// the reason, so the guard hands it an ERR packet in place of the refused
// one, with the refused packet's sequence number: the driver reports it as
// a *MySQLError (guardErrno) that ClassifyError reads as row_too_large.
var mysqlFraming = wire.Framing{Header: 4, Parse: func(h []byte) (int, bool) {
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	return n, n == 0xffffff
}, Refuse: func(h []byte, reason string) []byte {
	body := []byte{0xff, byte(guardErrno & 0xff), byte(guardErrno >> 8), '#', 'H', 'Y', '0', '0', '0'}
	body = append(body, reason...)
	pkt := []byte{byte(len(body)), byte(len(body) >> 8), byte(len(body) >> 16), h[3]}
	return append(pkt, body...)
}}

// guardErrno is the error number of the ERR packet the MySQL guard makes
// up: outside the server's (1000–4999, MariaDB's progress report 65535)
// and the client library's (2000–2999) ranges.
const guardErrno = 65000

// names: `backticks`; "double quotes" too, because in a tool argument
// they can only mean a name (as under ANSI_QUOTES).
var names = sqlkit.NameSyntax{Quotes: []sqlkit.QuoteStyle{sqlkit.Backtick, sqlkit.DoubleQuote}}

// QuoteIdent quotes one identifier part in backticks, doubling any inside.
func (*mysql) QuoteIdent(name string) string { return sqlkit.QuoteWith(name, '`') }

// ParseTableName keeps unquoted parts as written: MySQL table names are
// case-sensitive where the file system is (lower_case_table_names=0).
func (*mysql) ParseTableName(name string) (dialect.TableRef, error) { return names.Parse(name) }
