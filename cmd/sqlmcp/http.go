package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sqlmcp/sqlmcp/dialect"
	"github.com/sqlmcp/sqlmcp/tools"
	"github.com/sqlmcp/sqlmcp/tools/metrics"
	"github.com/sqlmcp/sqlmcp/tools/transport"
)

// HTTP limits. The body limit is far above any sensible statement and far
// below what could hurt the process.
const (
	maxRequestBody    = 1 << 20
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	readyTimeout      = time.Second
)

// Stateful sessions. Each costs a goroutine and about 17 KB until its
// client DELETEs it or it expires; a client that opens sessions and walks
// away would otherwise grow the process without bound.
const (
	// defaultMaxSessions bounds the live sessions: about 20 MB at most,
	// far more than the clients one server has in practice.
	defaultMaxSessions = 1000
	// defaultSessionIdleTimeout closes a session that has had no request
	// for this long (its client vanished without a DELETE); a client that
	// comes back after it gets 404 and re-initialises, as the MCP spec
	// has it. Ten minutes outlasts a person's pause between questions in
	// an assistant, and frees an abandoned session's slot three times
	// sooner than the 30 minutes it used to take.
	defaultSessionIdleTimeout = 10 * time.Minute
)

// writeTimeout bounds writing one response. It outlasts the longest tool
// call — the query timeout plus the context grace the tools allow — so a
// slow query reports its own timeout instead of a cut connection.
func writeTimeout(queryTimeout time.Duration) time.Duration {
	return queryTimeout + 5*time.Second + 10*time.Second
}

// checkHTTP validates the HTTP transport flags at start-up, so a bad
// configuration is one line and exit code 2 before the database is opened.
func (c *config) checkHTTP() error {
	if c.Transport != "http" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return usagef("--listen %q must be host:port, e.g. 127.0.0.1:8080 (%v)", c.Listen, err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return usagef("--tls-cert and --tls-key go together: give both or neither")
	}
	if c.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			return usagef("cannot load --tls-cert/--tls-key: %v", err)
		}
	}
	tokens, err := loadTokens(c)
	if err != nil {
		return err
	}
	if tokens == nil && !isLoopback(host) && !c.InsecureNoAuth {
		return usagef("--listen %s accepts connections from other machines but no token is set: "+
			"give --auth-token-file (or SQLMCP_AUTH_TOKEN), listen on 127.0.0.1, or pass --insecure-no-auth", c.Listen)
	}
	return nil
}

// isLoopback reports whether a listen host only accepts local connections.
// An empty host is every interface.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serveHTTP serves MCP streamable HTTP on cfg.Listen at /mcp, with
// /healthz, /readyz and /metrics beside it, until ctx ends; then it stops
// accepting, lets in-flight calls finish within the query timeout and
// returns the exit code.
func serveHTTP(ctx context.Context, cfg config, t *tools.Tools, db *sql.DB, f *fleet, m *metrics.Metrics, logger *slog.Logger, stderr io.Writer, onService func(*httpService)) int {
	tokens, err := loadTokens(&cfg)
	if err != nil {
		fmt.Fprintf(stderr, "sqlmcp: %v\n", err)
		return 2
	}
	svc := newHTTPService(httpOptions{
		Tools:     t,
		DB:        db,
		Fleet:     f,
		DSN:       cfg.DSN,
		Metrics:   m,
		Tokens:    tokens,
		Stateless: cfg.Stateless,
		Logger:    logger,

		MaxSessions:        cfg.MaxSessions,
		SessionIdleTimeout: cfg.SessionIdleTimeout,
	})
	srv := svc.server(cfg.QueryTimeout)
	if onService != nil {
		onService(svc) // the reloader's, to swap the tokens
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "sqlmcp: cannot listen on %s: %v\n", cfg.Listen, err)
		return 1
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	logger.Info("serving MCP over streamable HTTP", "url", scheme+"://"+ln.Addr().String()+"/mcp",
		"stateless", cfg.Stateless, "auth", tokens != nil, "tokens", tokens.count())
	if tokens == nil && !isLoopback(hostOf(cfg.Listen)) {
		logger.Warn("no auth token (--insecure-no-auth): anyone who reaches " + cfg.Listen + " can query the database")
	}

	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		logger.Error("HTTP server failed", "err", err.Error())
		return 1
	case <-ctx.Done():
	}
	logger.Info("signal received; draining: finishing in-flight calls, /readyz answers 503")
	svc.shutdown(srv, drainWait(t))
	logger.Info("stopped")
	return 0
}

func hostOf(listen string) string {
	h, _, _ := net.SplitHostPort(listen)
	return h
}

// httpOptions are what the HTTP service is built from.
type httpOptions struct {
	Tools *tools.Tools
	// DB is the one database of a plain --dsn (readyz pings it); Fleet,
	// instead, the named databases (readyz reports each).
	DB    *sql.DB
	Fleet *fleet
	// DSN is only used to scrub credentials from logged ping errors.
	DSN string
	// Metrics, if set, is served on /metrics and counts auth failures.
	Metrics *metrics.Metrics
	// Tokens, if set, are required on /mcp.
	Tokens    *tokenSet
	Stateless bool
	Logger    *slog.Logger
	// MaxSessions bounds the live stateful sessions (default
	// defaultMaxSessions); an initialize over it is refused with 503.
	MaxSessions int
	// SessionIdleTimeout closes a stateful session without requests for
	// this long (default defaultSessionIdleTimeout).
	SessionIdleTimeout time.Duration
}

// httpService is the HTTP face of the tools: the MCP endpoint with its
// protections, and the operational endpoints.
type httpService struct {
	opts    httpOptions
	handler http.Handler
	// stopping ends the standalone SSE streams at shutdown.
	stopping context.Context
	stop     context.CancelFunc
	draining atomic.Bool
	// exchanges counts /mcp requests other than the standalone streams:
	// each ends once its response is written.
	exchanges atomic.Int64
	// carriers cancels a call whose client dropped its POST.
	carriers *callCarriers
	// mcp is the server of the sessions that may use every database;
	// opening counts the requests that may be creating one right now.
	mcp     *mcp.Server
	opening atomic.Int64
	// splicer expands the answers of every server's calls.
	splicer *transport.Splicer
	// tokens are the tokens /mcp accepts now (a reload replaces them).
	tokens atomic.Pointer[tokenSet]
	// servers are the servers of [[token]]s allowed only some databases,
	// by token name, made on the token's first session.
	mu      sync.Mutex
	servers map[string]*mcp.Server
}

func newHTTPService(opts httpOptions) *httpService {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = defaultMaxSessions
	}
	if opts.SessionIdleTimeout <= 0 {
		opts.SessionIdleTimeout = defaultSessionIdleTimeout
	}
	s := &httpService{opts: opts, carriers: newCallCarriers(), servers: map[string]*mcp.Server{}}
	s.stopping, s.stop = context.WithCancel(context.Background())
	s.tokens.Store(opts.Tokens)

	server := opts.Tools.NewServer(version)
	s.mcp = server
	s.addMiddleware(server)
	// Results skip the SDK's re-encoding, as on stdio: every write of
	// the handler below goes through splicer.HTTPWriter. A value whose
	// answer was never written (client gone) is dropped once no live
	// answer can still be written: the server's write timeout bounds
	// every response.
	s.splicer = transport.Splice(server, writeTimeout(opts.Tools.Options().QueryTimeout)+time.Minute, opts.Tools.Options().MaxResultBytes)
	splicer := s.splicer
	sdkOpts := &mcp.StreamableHTTPOptions{
		Stateless: opts.Stateless,
		// DNS-rebinding protection (a loopback connection with a
		// non-loopback Host is refused 403) is on by default in the
		// SDK; it is spelled out here so that nobody turns it off by
		// accident.
		DisableLocalhostProtection: false,
		MaxRequestBodyBytes:        maxRequestBody,
		SessionTimeout:             opts.SessionIdleTimeout,
		Logger:                     slog.New(statelessFlagName{tools.MinLevel(opts.Logger.Handler(), slog.LevelWarn)}),
	}
	if sdkOpts.EventStore != nil {
		// A stored event would hold the Splicer's markers, and a
		// replay could not expand them.
		panic("sqlmcp: the Splicer needs a streamable handler without an EventStore")
	}
	sdk := mcp.NewStreamableHTTPHandler(s.serverFor, sdkOpts)
	var mcpHandler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			// Each connection is closed after its answer, so that no
			// client sends a request on a connection the final
			// Shutdown closes as idle.
			w.Header().Set("Connection", "close")
		}
		if !opts.Stateless && r.Method == http.MethodPost && r.Header.Get("Mcp-Session-Id") == "" {
			// A POST without a session opens one.
			if !s.admitSession() {
				s.refuseSession(w, r)
				return
			}
			defer s.opening.Add(-1)
		}
		if r.Method != http.MethodGet {
			s.exchanges.Add(1)
			defer s.exchanges.Add(-1)
			defer s.carriers.tag(r)()
		} else {
			// The standalone SSE stream lives as long as its session:
			// lift the per-response write deadline, and end the stream
			// once shutdown has let the exchanges finish, so that
			// Shutdown need not wait it out.
			_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			defer context.AfterFunc(s.stopping, cancel)()
			r = r.WithContext(ctx)
		}
		ew, r := transport.WithEarlyErrors(w, r, maxRequestBody, opts.Tools.AuditUnhandled)
		sdk.ServeHTTP(splicer.HTTPWriter(ew, opts.Logger), r)
	})
	if opts.Tokens != nil {
		var failed func()
		if opts.Metrics != nil {
			failed = opts.Metrics.AuthFailed
		}
		verify := func(ctx context.Context, token string, r *http.Request) (*auth.TokenInfo, error) {
			return s.tokens.Load().verify(ctx, token, r)
		}
		mcpHandler = requireToken(verify, failed, mcpHandler)
	}
	// A browser page on another origin must not drive the endpoint
	// (the Origin check the MCP transport spec asks for); clients
	// that are not browsers send no Origin and pass.
	mcpHandler = http.NewCrossOriginProtection().Handler(mcpHandler)

	mux := http.NewServeMux()
	mux.Handle("/mcp", mcpHandler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics.Handler())
	}
	s.handler = mux
	return s
}

// admitSession reserves room for one more stateful session, counting
// the live ones and those other requests are opening; the caller
// releases the reservation (opening) once its request is served, by
// which time the session, if any, is live.
func (s *httpService) admitSession() bool {
	opening := s.opening.Add(1)
	live := 0
	for range s.mcp.Sessions() {
		live++
	}
	s.mu.Lock()
	for _, srv := range s.servers {
		for range srv.Sessions() {
			live++
		}
	}
	s.mu.Unlock()
	if live+int(opening) > s.opts.MaxSessions {
		s.opening.Add(-1)
		return false
	}
	return true
}

// addMiddleware gives a server the HTTP service's receiving middleware;
// the Splicer's, which must be outermost, is added after it.
func (s *httpService) addMiddleware(server *mcp.Server) {
	if !s.opts.Stateless {
		server.AddReceivingMiddleware(refuseDiscover)
	}
	// Inside the Splicer's: a dropped POST cancels its call.
	server.AddReceivingMiddleware(s.carriers.middleware)
}

// serverFor is the streamable handler's getServer: the server of the
// request's token. A [[token]] allowed only some databases gets a server
// whose tools offer only those (tools.NewServerFor); every other caller
// the server of all databases.
func (s *httpService) serverFor(r *http.Request) *mcp.Server {
	ti := auth.TokenInfoFromContext(r.Context())
	if ti == nil || s.opts.Fleet == nil {
		return s.mcp
	}
	// The tokens are read under s.mu, as setTokens swaps them: else a
	// session opened during a reload could cache a server made from the
	// previous databases of the token after setTokens had cleared it,
	// and keep them until the next reload.
	s.mu.Lock()
	defer s.mu.Unlock()
	names, ok := s.tokens.Load().databasesOf(ti.UserID)
	if ok && names == nil {
		return s.mcp
	}
	if !ok {
		names = []string{} // a token removed since it was verified: nothing
	}
	if srv, ok := s.servers[ti.UserID]; ok {
		return srv
	}
	srv := s.opts.Tools.NewServerFor(version, names)
	s.addMiddleware(srv)
	srv.AddReceivingMiddleware(s.splicer.Middleware)
	s.servers[ti.UserID] = srv
	return srv
}

// setTokens serves next's tokens from now on. The sessions of a
// [[token]] whose databases changed, or that is gone, are closed: their
// clients open new ones, which see the databases the token has now. (A
// token removed is refused on its session's next request anyway: every
// request is authenticated.)
func (s *httpService) setTokens(next *tokenSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.tokens.Swap(next)
	for name, srv := range s.servers {
		was, _ := prev.databasesOf(name)
		now, ok := next.databasesOf(name)
		if ok && slices.Equal(was, now) {
			continue
		}
		for ss := range srv.Sessions() {
			ss.Close()
		}
		delete(s.servers, name)
	}
}

// refuseSession answers an initialize over the session cap: 503, with a
// JSON-RPC error the client can show, naming the cap and the expiry.
func (s *httpService) refuseSession(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID json.RawMessage `json:"id"`
	}
	_ = json.NewDecoder(io.LimitReader(r.Body, maxRequestBody)).Decode(&req)
	id := req.ID
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	msg := fmt.Sprintf("the server has too many open sessions (%d): close sessions you no longer use (HTTP DELETE), "+
		"or retry later: idle sessions expire after %s", s.opts.MaxSessions, s.opts.SessionIdleTimeout)
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{"code": -32000, "message": msg}})
	s.opts.Logger.Warn("session refused: too many open sessions", "max_sessions", s.opts.MaxSessions)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "60")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write(body)
}

// ServeHTTP implements http.Handler.
func (s *httpService) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// server returns an http.Server for the service with its timeouts set.
func (s *httpService) server(queryTimeout time.Duration) *http.Server {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout(queryTimeout),
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	return srv
}

// readyz answers 200 when the database answers a ping within a second,
// else 503 with a reason chosen here: a driver's message can name the host
// or echo the DSN, so it goes to the log (scrubbed), not to the prober.
func (s *httpService) readyz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Fleet != nil {
		s.readyzFleet(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "shutting down\n")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	// dialect.Ping keeps the second even against a server that stopped
	// answering, and retries once on a fresh connection when a pooled one
	// went stale (a restart): the probe reflects the database now.
	if err := dialect.Ping(ctx, s.opts.DB); err != nil {
		reason := "database unreachable"
		switch {
		case errors.Is(err, context.DeadlineExceeded), dialect.SocketTimeout(err):
			reason = fmt.Sprintf("database did not answer within %s (down, or every pooled connection busy)", readyTimeout)
		case strings.Contains(err.Error(), "database is closed"):
			reason = "database connection pool is closed"
		}
		s.opts.Logger.Warn("readiness check failed", "reason", reason, "err", scrub(err.Error(), s.opts.DSN))
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, reason+"\n")
		return
	}
	io.WriteString(w, "ok\n")
}

// readyzFleet answers /readyz for named databases: a JSON object with
// one entry per database; 200 when every required one answers a ping
// within a second, else 503.
func (s *httpService) readyzFleet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	var body struct {
		Ready     bool       `json:"ready"`
		Status    string     `json:"status,omitempty"`
		Databases []dbStatus `json:"databases"`
	}
	if s.draining.Load() {
		body.Status = "shutting down"
		body.Databases = []dbStatus{}
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(body)
		return
	}
	body.Databases, body.Ready = s.opts.Fleet.status(r.Context(), readyTimeout)
	body.Databases = s.readyzVisible(r, body.Databases)
	if !body.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(body)
}

// readyzVisible is what /readyz may show of each database to the
// request. Without token authentication, everything (whoever reaches the
// port may use every database anyway). With it, a prober without a
// token gets the status code and "ready" alone — the names, backends and
// errors of the databases are for token holders — and a token the
// databases it may use.
func (s *httpService) readyzVisible(r *http.Request, all []dbStatus) []dbStatus {
	tokens := s.tokens.Load()
	if tokens == nil {
		return all
	}
	out := []dbStatus{}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return out
	}
	ti, err := tokens.verify(r.Context(), strings.TrimSpace(tok), r)
	if err != nil {
		return out
	}
	names, _ := tokens.databasesOf(ti.UserID)
	for _, d := range all {
		if names == nil || slices.Contains(names, d.Name) {
			out = append(out, d)
		}
	}
	return out
}

// shutdown lets in-flight tool calls finish and their answers go out
// within timeout, then ends the standalone streams and closes what is
// left. While it drains, the listener stays open: /readyz answers 503
// "shutting down" (a prober must see that, not a refused connection), a
// new call is answered "shutting down" by the tools, and every answer
// closes its connection. Closing the listener and the idle connections
// first (http.Server.Shutdown) would cut a request a client had just
// sent on a kept-alive connection, with no answer at all. The streams
// stay up until then too: a client whose stream breaks may abandon its
// session, in-flight call included.
func (s *httpService) shutdown(srv *http.Server, timeout time.Duration) {
	s.draining.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if !s.opts.Tools.Drain(ctx) {
		s.opts.Logger.Warn("in-flight calls did not finish within the query timeout")
	}
	// Every call has returned; what remains is writing their answers
	// (milliseconds), and requests that keep arriving, which the tools
	// answer "shutting down" at once: under a steady stream of those,
	// the count would never stay at zero, so the wait is bounded.
	settle := time.Now().Add(2 * time.Second)
	for s.exchanges.Load() > 0 && ctx.Err() == nil && time.Now().Before(settle) {
		time.Sleep(10 * time.Millisecond)
	}
	// The last answer has been written, not yet read: a go-sdk client
	// whose standalone stream ends first abandons its session and fails
	// the call it was waiting for (seen in CI under load). Give the
	// clients a moment to read before ending the streams.
	select {
	case <-time.After(answerFlushGrace):
	case <-ctx.Done():
	}
	s.stop()
	if err := srv.Shutdown(ctx); err != nil {
		s.opts.Logger.Warn("connections still open after the query timeout; closing them", "err", err.Error())
		srv.Close()
	}
}

// refuseDiscover answers server/discover on stateful HTTP as the SDK
// answers every other request of protocol 2026-07-28 there: error
// -32022 (unsupported protocol version) naming the versions this server
// speaks, all of them older. The SDK itself answers the discover with a
// result listing those versions; a client that reads the success and not
// the list (mcp-go v1.2.1) then speaks 2026-07-28, and every request
// after it is refused. The error is what both mcp-go and the go-sdk
// client take as "fall back to initialize" (SEP-2575).
func refuseDiscover(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method != "server/discover" {
			return next(ctx, method, req)
		}
		legacy := slices.DeleteFunc(mcp.SupportedProtocolVersions(), func(v string) bool {
			return v >= modernProtocol
		})
		requested := ""
		if p, ok := req.GetParams().(*mcp.DiscoverParams); ok && p != nil {
			requested, _ = p.GetMeta()[mcp.MetaKeyProtocolVersion].(string)
		}
		data, err := json.Marshal(mcp.UnsupportedProtocolVersionData{Supported: legacy, Requested: requested})
		if err != nil {
			return nil, err
		}
		return nil, &jsonrpc.Error{
			Code:    mcp.CodeUnsupportedProtocolVersion,
			Message: fmt.Sprintf("protocol version %q needs a server started with --stateless; this one speaks %s", requested, strings.Join(legacy, ", ")),
			Data:    data,
		}
	}
}

// modernProtocol is the first protocol version without sessions
// (SEP-2575), which only --stateless serves over HTTP.
const modernProtocol = "2026-07-28"

// statelessFlagName names the --stateless flag where the SDK's log names
// its Go option. (The SDK's info-level chatter, one line per session, is
// dropped below it by tools.MinLevel.)
type statelessFlagName struct{ slog.Handler }

func (h statelessFlagName) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "StreamableHTTPOptions.Stateless") {
		r.Message = strings.NewReplacer(
			"set StreamableHTTPOptions.Stateless = true", "start sqlmcp with --stateless",
			"StreamableHTTPOptions.Stateless", "--stateless",
		).Replace(r.Message)
	}
	return h.Handler.Handle(ctx, r)
}

func (s *tokenSet) count() int {
	if s == nil {
		return 0
	}
	return len(s.digests)
}

func (h statelessFlagName) WithAttrs(as []slog.Attr) slog.Handler {
	return statelessFlagName{h.Handler.WithAttrs(as)}
}
func (h statelessFlagName) WithGroup(name string) slog.Handler {
	return statelessFlagName{h.Handler.WithGroup(name)}
}
