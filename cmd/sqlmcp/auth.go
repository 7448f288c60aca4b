package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
)

// minTokenLen is the shortest bearer token accepted. The audit log shows
// 32 bits of each token's SHA-256; a short token could be guessed from that.
const minTokenLen = 16

// tokenSet holds the bearer tokens /mcp accepts, as SHA-256 digests: the
// tokens themselves are not kept, and comparing fixed-size digests makes
// the comparison's time independent of the presented token's length.
type tokenSet struct {
	digests [][sha256.Size]byte
	// names[i] names digests[i] in the audit log: a [[token]]'s name, or
	// the fingerprint of a token of --auth-token-file/SQLMCP_AUTH_TOKEN.
	names []string
	// databases[i] are the databases digests[i] may use (nil: all).
	databases [][]string
}

// loadTokens reads the tokens of cfg: one per line of --auth-token-file
// (blank lines and # comments ignored) plus SQLMCP_AUTH_TOKEN, which may
// use every database, and the config file's [[token]]s, each only its
// databases. It returns nil when no token is configured.
func loadTokens(cfg *config) (*tokenSet, error) {
	var tokens, sources []string
	if cfg.AuthTokenFile != "" {
		data, err := os.ReadFile(cfg.AuthTokenFile)
		if err != nil {
			return nil, usagef("cannot read --auth-token-file: %v", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if len(line) < minTokenLen {
				return nil, usagef("--auth-token-file %s line %d: a token must be at least %d characters (generate one with: openssl rand -hex 32)", cfg.AuthTokenFile, n, minTokenLen)
			}
			tokens = append(tokens, line)
			sources = append(sources, fmt.Sprintf("--auth-token-file %s line %d", cfg.AuthTokenFile, n))
		}
		if err := sc.Err(); err != nil {
			return nil, usagef("cannot read --auth-token-file: %v", err)
		}
		if len(tokens) == 0 {
			return nil, usagef("--auth-token-file %s holds no token (one per line; blank lines and # comments are ignored)", cfg.AuthTokenFile)
		}
	}
	if tok := strings.TrimSpace(cfg.AuthToken); tok != "" {
		if len(tok) < minTokenLen {
			return nil, usagef("SQLMCP_AUTH_TOKEN must be at least %d characters (generate one with: openssl rand -hex 32)", minTokenLen)
		}
		tokens = append(tokens, tok)
		sources = append(sources, "SQLMCP_AUTH_TOKEN")
	}
	if len(tokens) == 0 && len(cfg.Tokens) == 0 {
		return nil, nil
	}
	s := &tokenSet{}
	for _, tok := range tokens {
		d := sha256.Sum256([]byte(tok))
		s.digests = append(s.digests, d)
		s.names = append(s.names, fingerprint(d))
		s.databases = append(s.databases, nil)
	}
	for _, tc := range cfg.Tokens {
		// One token, one set of databases: a token of
		// --auth-token-file (every database) that is also a
		// [[token]] (some) would get whichever matched last.
		if i := slices.Index(s.digests, tc.Digest); i >= 0 {
			return nil, usagef("[[token]] %q is the same token as %s, which may use every database: remove it from one of them", tc.Name, sources[i])
		}
		s.digests = append(s.digests, tc.Digest)
		s.names = append(s.names, tc.Name)
		s.databases = append(s.databases, tc.Databases)
	}
	return s, nil
}

// fingerprint names a token in logs without revealing it.
func fingerprint(digest [sha256.Size]byte) string {
	return "tok:" + hex.EncodeToString(digest[:4])
}

// verify is an auth.TokenVerifier. It compares against every token, with
// no early exit, so the time taken says nothing about which (if any)
// token matched. The UserID it sets becomes the audit record's Token, and
// binds a session to the token that opened it.
func (s *tokenSet) verify(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
	presented := sha256.Sum256([]byte(token))
	match := -1
	for i := range s.digests {
		if subtle.ConstantTimeCompare(presented[:], s.digests[i][:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return nil, fmt.Errorf("%w", auth.ErrInvalidToken)
	}
	return &auth.TokenInfo{UserID: s.names[match]}, nil
}

// databasesOf returns the databases the token named user may use: nil
// for all, ok false for no such token.
func (s *tokenSet) databasesOf(user string) (names []string, ok bool) {
	for i, n := range s.names {
		if n == user {
			return s.databases[i], true
		}
	}
	return nil, false
}

// requireToken lets through only requests that carry one of the tokens,
// answering the rest 401 with a WWW-Authenticate challenge; failed (if
// not nil) is called for each refusal. It uses the SDK's
// RequireBearerToken, which is the only way to put the TokenInfo where the
// streamable handler reads it (request.Extra.TokenInfo). That middleware
// adds a challenge only for OAuth resource metadata, so the realm
// challenge is set on every response here and removed again once the
// token has been accepted.
func requireToken(verify auth.TokenVerifier, failed func(), next http.Handler) http.Handler {
	const challenge = `Bearer realm="sqlmcp"`
	type acceptedKey struct{}
	accepted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*r.Context().Value(acceptedKey{}).(*bool) = true
		w.Header().Del("WWW-Authenticate")
		next.ServeHTTP(w, r)
	})
	bearer := auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{
		AllowMissingExpiration: true, // static tokens do not expire; revoke by editing the file and restarting
	})(accepted)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", challenge)
		ok := false
		bearer.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), acceptedKey{}, &ok)))
		if !ok && failed != nil {
			failed()
		}
	})
}
