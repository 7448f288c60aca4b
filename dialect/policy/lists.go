package policy

import "strings"

// This file is the one place that lists what the policy knows by name:
// functions with side effects, per flavor, and why each statement keyword
// is refused. Names are lowercase; matching is case-insensitive on the
// last part of the (possibly schema-qualified or quoted) name before "(".

// prefixRule refuses every function whose name starts with prefix.
type prefixRule struct {
	prefix string
	why    string
}

// functionLists are the side-effecting functions of one flavor, and the
// relations it may not read. Every field is set, if only to an empty list,
// so that an empty list is a choice (see rules).
type functionLists struct {
	// exact refuses a call of each function named, saying why.
	exact map[string]string
	// prefixes refuse a call of every function whose name starts with one.
	prefixes []prefixRule
	// relations are catalog tables, views and table functions that expose
	// server files, secrets or what they hold, refused wherever their name
	// appears as a name (bare, qualified or quoted, called or not).
	relations map[string]relationRule
	// relationArgs are functions that read, when they run, the relation
	// their first argument names: that argument is checked as a name
	// against relations. (Short lists, scanned: cheaper than hashing the
	// name of every call.)
	relationArgs []relationArg
	// withArgument refuses a call of each function named when it has an
	// argument; without one it is a read.
	withArgument []argumentRule
}

// argumentRule refuses a call of the function name with an argument.
type argumentRule struct {
	name string
	why  string
}

// relationArg is a function of functionLists.relationArgs.
type relationArg struct {
	name string
	// schema: the argument names a schema, and every relation in it is
	// read; a system schema (isSystemSchema) is refused.
	schema bool
}

// isSystemSchema tells whether a schema named as a relationArgs argument
// holds catalog relations (PostgreSQL's pg_* and information_schema, the
// only flavor with relationArgs) that expose server files or secrets.
func isSystemSchema(name string) bool {
	return strings.HasPrefix(name, "pg_") || name == "information_schema"
}

// relationRule refuses reading one relation.
type relationRule struct {
	// schema, when set, restricts the rule to schema.name: the bare name
	// is too common (MySQL "user") to refuse alone.
	schema string
	why    string
}

var postgresFunctions = functionLists{
	exact: map[string]string{
		// Locks and waits outlive or stall the query.
		"pg_sleep": "waits", "pg_sleep_for": "waits", "pg_sleep_until": "waits",
		// Settings and signals change the session, other sessions or the server.
		"set_config":            "changes a setting",
		"pg_terminate_backend":  "terminates another session",
		"pg_cancel_backend":     "cancels another session's query",
		"pg_reload_conf":        "reloads the server configuration",
		"pg_rotate_logfile":     "rotates the server log",
		"pg_rotate_logfile_old": "rotates the server log",
		"pg_promote":            "promotes a standby",
		"pg_notify":             "sends a notification",
		// WAL, backup and replication control.
		"pg_switch_wal":               "switches the WAL file",
		"pg_switch_xlog":              "switches the WAL file",
		"pg_start_backup":             "controls backups",
		"pg_stop_backup":              "controls backups",
		"pg_backup_start":             "controls backups",
		"pg_backup_stop":              "controls backups",
		"pg_replication_slot_advance": "advances a replication slot",
		"pg_export_snapshot":          "exports a snapshot",
		"pg_import_system_collations": "creates collations",
		"pg_truncate_visibility_map":  "truncates a visibility map",
		"pg_stat_statements_reset":    "resets statistics",
		"pg_prewarm":                  "loads relations into the buffer cache",
		"autoprewarm_dump_now":        "writes a file",
		"autoprewarm_start_worker":    "starts a worker",
		// Transaction ids and sequences: assigning them writes.
		"txid_current":       "assigns a transaction id",
		"pg_current_xact_id": "assigns a transaction id",
		"nextval":            "advances a sequence",
		"setval":             "sets a sequence",
		// Server file system and large objects.
		"pg_stat_file": "reads the server's file system",
		"pg_logdir_ls": "reads the server's file system",
		"loread":       "uses large objects",
		"lowrite":      "writes a large object",
		// They run SQL text, which this policy cannot check.
		"ts_stat":     "runs SQL text",
		"ts_rewrite":  "runs SQL text",
		"xpath_table": "runs SQL text",
		"connectby":   "runs SQL built from its arguments",
		// Network access from the server (pgsql-http, pg_net).
		"http": "makes network requests",
		// Index and catalog maintenance that writes even inside a
		// READ ONLY transaction (the database does not stop these).
		"brin_summarize_new_values": "writes an index",
		"brin_summarize_range":      "writes an index",
		"brin_desummarize_range":    "writes an index",
		"gin_clean_pending_list":    "writes an index",
		"pg_nextoid":                "advances the OID counter",
		// Data export and import through cloud extensions (aws_s3).
		"query_export_to_s3":   "runs SQL text and writes to S3",
		"table_import_from_s3": "loads data from S3",
		// XPath and XSLT run inside libxml2/libxslt, which never look at
		// the statement timeout or a cancel request: one call over a large
		// document runs on long after the call has ended.
		"xmlexists":    xpathReason,
		"xmltable":     xpathReason,
		"xslt_process": "runs XSLT in libxslt, which the statement timeout cannot interrupt",
		// Parsing text as XML is just as deaf to the timeout (an 8 MB
		// document: 4.5–6 s against 500 ms); casts are refused in
		// policy.go (xmlCast).
		"xmlparse":                    xmlParseReason,
		"xml_is_well_formed":          xmlParseReason,
		"xml_is_well_formed_content":  xmlParseReason,
		"xml_is_well_formed_document": xmlParseReason,
	},
	prefixes: []prefixRule{
		// Advisory locks outlive the query or block other sessions.
		{"pg_advisory", "takes or releases an advisory lock"},
		{"pg_try_advisory", "takes an advisory lock"},
		// Slots, restore points, origins: replication state.
		{"pg_create_", "creates server objects"},
		{"pg_drop_", "drops server objects"},
		{"pg_copy_", "creates a replication slot"},
		{"pg_replication_origin_", "changes replication origins"},
		{"pg_log", "writes to the log or WAL"}, // pg_log_backend_memory_contexts, pg_logical_emit_message, pg_logical_slot_get_changes
		{"pg_wal_replay_", "controls recovery"},
		{"pg_xlog_replay_", "controls recovery"},
		{"pg_stat_reset", "resets statistics"},
		// Server file system and large objects (lo_import, lo_export, …).
		{"pg_read_", "reads the server's file system"},
		{"pg_ls_", "reads the server's file system"},
		{"pg_file_", "writes the server's file system"},
		{"lo_", "uses large objects, which can read and write server files"},
		// They run SQL text, which this policy cannot check.
		{"query_to_xml", "runs SQL text"},
		{"cursor_to_xml", "reads from a cursor"},
		{"crosstab", "runs SQL text"},
		{"dblink", "connects to another database"},
		{"pg_background_", "runs SQL in the background"},
		{"http_", "makes network requests"},
		// pg_surgery: rewrites heap tuples in place, read-only or not.
		{"heap_force_", "rewrites table pages"},
		// Only meaningful during pg_upgrade; they set catalog counters.
		{"binary_upgrade_", "changes catalog state"},
		// PostgreSQL 18 statistics import: writes pg_statistic.
		{"pg_restore_", "writes planner statistics"},
		{"pg_clear_", "writes planner statistics"},
		// xpath, xpath_exists and the xml2 extension's xpath_string,
		// xpath_number, xpath_bool, xpath_nodeset, xpath_list.
		{"xpath", xpathReason},
	},
	relations: map[string]relationRule{
		// Server files: the configuration and authentication files,
		// as pg_read_file would show them.
		"pg_file_settings":          {why: "reads the server's configuration files"},
		"pg_show_all_file_settings": {why: "reads the server's configuration files"},
		"pg_hba_file_rules":         {why: "reads the server's authentication configuration file (pg_hba.conf)"},
		"pg_ident_file_mappings":    {why: "reads the server's authentication configuration file (pg_ident.conf)"},
		// Secrets: password hashes and the passwords of connections to
		// other servers. pg_roles and pg_user show the same rows masked.
		"pg_authid":            {why: "holds password hashes; read pg_roles instead"},
		"pg_shadow":            {why: "holds password hashes; read pg_roles or pg_user instead"},
		"pg_user_mapping":      {why: "holds passwords for foreign servers"},
		"pg_user_mappings":     {why: "holds passwords for foreign servers"},
		"user_mapping_options": {why: "holds passwords for foreign servers"},
		"_pg_user_mappings":    {why: "holds passwords for foreign servers"},
		"pg_subscription":      {why: "holds the publisher connection string and its password; read pg_stat_subscription instead"},
	},
	relationArgs: []relationArg{
		{name: "table_to_xml"},
		{name: "table_to_xml_and_xmlschema"},
		{name: "schema_to_xml", schema: true},
		{name: "schema_to_xml_and_xmlschema", schema: true},
	},
	withArgument: []argumentRule{},
}

// xpathReason and xmlParseReason are why the XPath-evaluating and the
// XML-parsing functions are refused.
const (
	xpathReason    = "evaluates XPath in libxml2, which the statement timeout cannot interrupt"
	xmlParseReason = "parses XML in libxml2, which the statement timeout cannot interrupt"
)

var mysqlFunctions = functionLists{
	exact: map[string]string{
		// Waits and locks outlive or stall the query.
		"sleep":                             "waits",
		"benchmark":                         "burns CPU on purpose",
		"get_lock":                          "takes a named lock",
		"release_lock":                      "releases a named lock",
		"release_all_locks":                 "releases named locks",
		"master_pos_wait":                   "waits for replication",
		"source_pos_wait":                   "waits for replication",
		"master_gtid_wait":                  "waits for replication",
		"wait_for_executed_gtid_set":        "waits for replication",
		"wait_until_sql_thread_after_gtids": "waits for replication",
		// Server file system and shell (lib_mysqludf_sys).
		"load_file": "reads the server's file system",
		"sys_exec":  "runs a shell command",
		"sys_eval":  "runs a shell command",
		"sys_set":   "sets an environment variable",
		// Sequences (MariaDB): advancing or setting writes.
		"nextval": "advances a sequence",
		"setval":  "sets a sequence",
	},
	prefixes: []prefixRule{},
	relations: map[string]relationRule{
		// Password hashes (mysql.user is a view of global_priv since
		// MariaDB 10.4) and passwords of FEDERATED/Spider servers.
		"user":                         {schema: "mysql", why: "holds password hashes; read information_schema.USER_PRIVILEGES instead"},
		"global_priv":                  {schema: "mysql", why: "holds password hashes; read information_schema.USER_PRIVILEGES instead"},
		"password_reuse_check_history": {schema: "mysql", why: "holds password hashes"},
		"servers":                      {schema: "mysql", why: "holds passwords for remote servers"},
		// Server logs kept as tables: every session's statements,
		// including CREATE USER … IDENTIFIED BY.
		"general_log": {schema: "mysql", why: "is the server's log of every session's statements, passwords included"},
		"slow_log":    {schema: "mysql", why: "is the server's log of other sessions' statements"},
	},
	relationArgs: []relationArg{},
	withArgument: []argumentRule{
		{"last_insert_id", "sets a session value; call LAST_INSERT_ID() without one"},
	},
}

var sqliteFunctions = functionLists{
	exact: map[string]string{
		// Native code and the file system (fileio, zipfile extensions).
		"load_extension": "loads native code",
		"writefile":      "writes a file",
		"readfile":       "reads a file",
		"fsdir":          "lists the file system",
		"zipfile":        "reads a file",
		"edit":           "starts an editor",
		// Its two-argument form installs a native pointer.
		"fts3_tokenizer": "can install native code",
	},
	prefixes: []prefixRule{},
	relations: map[string]relationRule{
		// Raw pages of the file, free pages with deleted rows included.
		// dbstat (page statistics, no content) stays allowed.
		"sqlite_dbpage": {why: "reads raw database pages, deleted data included; query the tables instead"},
	},
	relationArgs: []relationArg{},
	withArgument: []argumentRule{},
}

// statementReasons says why a statement keyword is refused, keyed by its
// uppercase spelling. Keywords not listed get a generic reason.
var statementReasons = map[string]string{
	// Writes.
	"INSERT": "INSERT statements modify data", "UPDATE": "UPDATE statements modify data",
	"DELETE": "DELETE statements modify data", "MERGE": "MERGE statements modify data",
	"REPLACE": "REPLACE statements modify data", "UPSERT": "UPSERT statements modify data",
	"TRUNCATE": "TRUNCATE removes data", "COPY": "COPY reads or writes files and tables",
	"LOAD": "LOAD reads files or loads code", "IMPORT": "IMPORT loads data",
	"HANDLER": "HANDLER opens tables for direct access",
	// Schema, storage and privileges.
	"CREATE": "CREATE changes the schema", "DROP": "DROP changes the schema",
	"ALTER": "ALTER changes the schema", "RENAME": "RENAME changes the schema",
	"COMMENT": "COMMENT changes the schema", "SECURITY": "SECURITY LABEL changes the schema",
	"GRANT": "GRANT changes privileges", "REVOKE": "REVOKE changes privileges",
	"REINDEX": "REINDEX rewrites indexes", "CLUSTER": "CLUSTER rewrites tables",
	"REFRESH": "REFRESH rewrites materialized views", "VACUUM": "VACUUM rewrites storage",
	"ANALYZE": "ANALYZE writes statistics or executes the statement",
	"ANALYSE": "ANALYSE writes statistics", "OPTIMIZE": "OPTIMIZE rewrites tables",
	"REPAIR": "REPAIR rewrites tables", "CHECKPOINT": "CHECKPOINT writes to disk",
	"INSTALL": "INSTALL loads code", "UNINSTALL": "UNINSTALL unloads code",
	// Transactions: the server runs each query in its own read-only transaction.
	"BEGIN":  "BEGIN controls transactions; each query already runs in its own read-only transaction",
	"START":  "START TRANSACTION controls transactions; each query already runs in its own read-only transaction",
	"COMMIT": "COMMIT controls transactions", "END": "END controls transactions",
	"ROLLBACK": "ROLLBACK controls transactions", "ABORT": "ABORT controls transactions",
	"SAVEPOINT": "SAVEPOINT controls transactions", "RELEASE": "RELEASE controls transactions",
	"XA": "XA controls transactions",
	// Session state, locks and notifications.
	"SET":   "SET changes session settings; read a setting with SELECT current_setting('name') (PostgreSQL) or SELECT @@name (MySQL)",
	"RESET": "RESET changes session settings", "DISCARD": "DISCARD changes session state",
	"USE":  "USE changes the current database; qualify table names instead",
	"LOCK": "LOCK takes table locks", "UNLOCK": "UNLOCK releases table locks",
	"LISTEN": "LISTEN changes session state", "UNLISTEN": "UNLISTEN changes session state",
	"NOTIFY": "NOTIFY sends notifications",
	// Code and cursors the policy cannot see into.
	"PREPARE": "PREPARE creates prepared statements", "EXECUTE": "EXECUTE runs a prepared statement",
	"DEALLOCATE": "DEALLOCATE changes session state", "CALL": "CALL runs a procedure",
	"DO": "DO runs code", "DECLARE": "DECLARE opens a cursor", "FETCH": "FETCH reads from a cursor",
	"MOVE": "MOVE moves a cursor", "CLOSE": "CLOSE closes a cursor",
	// Server administration.
	"FLUSH": "FLUSH changes server state", "KILL": "KILL stops sessions",
	"SHUTDOWN": "SHUTDOWN stops the server", "PURGE": "PURGE deletes logs",
	"CHANGE": "CHANGE configures replication", "CACHE": "CACHE INDEX changes server state",
	"BINLOG": "BINLOG replays changes", "RESTART": "RESTART restarts the server",
	// SQLite.
	"ATTACH": "ATTACH opens another database file", "DETACH": "DETACH changes the connection",
	"PRAGMA": "PRAGMA can change settings; read one with SELECT * FROM pragma_name(…) instead",
}
