package fakejira

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Jira's OAuth 2.0 provider (Data Center 8.22 and later): the authorization
// code grant with PKCE for incoming application links.
//
// Without a person to consent, the authorization endpoint signs in the user
// set with SetOAuthUser and grants at once. The fake is stricter than Jira in
// one way: it requires PKCE (S256), so a client that forgets it fails.

const (
	authorizePath = "/rest/oauth2/latest/authorize"
	tokenPath     = "/rest/oauth2/latest/token"
)

// Lifetimes of the fake's OAuth grants: Jira's longest authorization code
// lifetime and its default access token lifetime.
const (
	CodeLifetime        = 10 * time.Minute
	AccessTokenLifetime = time.Hour
)

// oauthScopes are the scopes of Jira's incoming links.
var oauthScopes = map[string]bool{"READ": true, "WRITE": true, "ADMIN": true, "SYSTEM_ADMIN": true}

type oauthClient struct {
	id, secret, redirectURI string
}

// authCode is an issued authorization code. A used one is kept, so that its
// second use revokes what the first one gave (RFC 6749 §4.1.2).
type authCode struct {
	clientID, redirectURI, scope, challenge, userKey string
	expires                                          time.Time
	used                                             bool
	accessToken, refreshToken                        string
}

// oauthGrant is what an access or refresh token stands for.
type oauthGrant struct {
	clientID, userKey, scope string
	expires                  time.Time // access tokens only
}

// AddOAuthClient registers an incoming application link: its client id,
// secret and redirect URL.
func (s *Server) AddOAuthClient(clientID, secret, redirectURI string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauthClients[clientID] = &oauthClient{id: clientID, secret: secret, redirectURI: redirectURI}
}

// SetOAuthUser names the user who is signed in to Jira and consents when the
// authorization endpoint is visited; "" means the person declines
// (error=access_denied).
func (s *Server) SetOAuthUser(userName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauthUser = userName
}

// serveAuthorize is GET /rest/oauth2/latest/authorize. Errors about the
// client or the redirect URI are shown to the person (400) and never
// redirected; the others are redirected with error= (RFC 6749 §4.1.2.1).
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	client := s.oauthClients[q.Get("client_id")]
	if client == nil {
		writeErrorPage(w, "The application is not registered in Jira (unknown client_id).")
		return
	}
	if q.Get("redirect_uri") != client.redirectURI {
		writeErrorPage(w, "The redirect_uri does not match the redirect URL of the application.")
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		redirectTo(w, r, client.redirectURI, "error", code, "error_description", desc, "state", state)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "Only the code response type is supported.")
		return
	}
	scope := q.Get("scope")
	if scope == "" {
		fail("invalid_scope", "A scope is required.")
		return
	}
	for sc := range strings.FieldsSeq(scope) {
		if !oauthScopes[sc] {
			fail("invalid_scope", "Unknown scope "+sc+".")
			return
		}
	}
	challenge := q.Get("code_challenge")
	if challenge == "" {
		fail("invalid_request", "code_challenge is required.")
		return
	}
	if q.Get("code_challenge_method") != "S256" {
		fail("invalid_request", "code_challenge_method must be S256.")
		return
	}
	if len(challenge) != 43 || !unreserved(challenge) {
		fail("invalid_request", "code_challenge is not a BASE64URL-encoded SHA-256 hash.")
		return
	}
	u := s.userByName(s.oauthUser)
	if u == nil || !u.Active {
		fail("access_denied", "The user denied access.")
		return
	}
	code := randomToken()
	s.codes[code] = &authCode{clientID: client.id, redirectURI: client.redirectURI, scope: scope,
		challenge: challenge, userKey: u.Key, expires: s.now().Add(CodeLifetime)}
	redirectTo(w, r, client.redirectURI, "code", code, "state", state)
}

// serveToken is POST /rest/oauth2/latest/token: the authorization_code and
// refresh_token grants, with the client's id and secret as parameters (of
// the form or, as Jira's documentation shows them, of the query).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The request is not a form.")
		return
	}
	client := s.oauthClients[r.Form.Get("client_id")]
	if client == nil || subtle.ConstantTimeCompare([]byte(r.Form.Get("client_secret")), []byte(client.secret)) != 1 {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	switch r.Form.Get("grant_type") {
	case "authorization_code":
		s.exchangeCode(w, r, client)
	case "refresh_token":
		s.refresh(w, r, client)
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "The grant type is not supported.")
	}
}

func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request, client *oauthClient) {
	code := s.codes[r.Form.Get("code")]
	if code == nil || code.clientID != client.id || !s.now().Before(code.expires) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid or expired.")
		return
	}
	if code.used {
		delete(s.accessTokens, code.accessToken)
		delete(s.refreshTokens, code.refreshToken)
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "The authorization code has already been used.")
		return
	}
	// A code is spent by any attempt, so a verifier cannot be guessed.
	code.used = true
	if r.Form.Get("redirect_uri") != code.redirectURI {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "The redirect_uri does not match the authorization request.")
		return
	}
	v := r.Form.Get("code_verifier")
	if len(v) < 43 || len(v) > 128 || !unreserved(v) || S256(v) != code.challenge {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed.")
		return
	}
	code.accessToken, code.refreshToken = s.issue(w, client.id, code.userKey, code.scope)
}

// refresh is the refresh_token grant. As Jira Data Center does, it wants
// the redirect URI again, and rotates the refresh token: a used one is
// invalid_grant.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request, client *oauthClient) {
	s.refreshes++
	rt := r.Form.Get("refresh_token")
	g := s.refreshTokens[rt]
	if g == nil || g.clientID != client.id {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid.")
		return
	}
	if r.Form.Get("redirect_uri") != client.redirectURI {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "The redirect_uri does not match the authorization request.")
		return
	}
	delete(s.refreshTokens, rt) // refresh tokens rotate
	s.issue(w, client.id, g.userKey, g.scope)
}

// Refreshes counts the refresh_token grants asked for, answered or not.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// ExpireAccessTokens makes every access token issued so far expired, as
// an hour passing would; refresh tokens stay good.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.accessTokens {
		g.expires = s.now().Add(-time.Second)
	}
}

// RevokeOAuth is the person revoking forgebridge in their profile's
// Authorized applications: their access and refresh tokens stop working.
func (s *Server) RevokeOAuth(userName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByName(userName)
	if u == nil {
		return
	}
	for _, m := range []map[string]*oauthGrant{s.accessTokens, s.refreshTokens} {
		for tok, g := range m {
			if g.userKey == u.Key {
				delete(m, tok)
			}
		}
	}
}

// writeScope reports whether a granted scope lets a token change things:
// WRITE, or ADMIN and SYSTEM_ADMIN, which include it.
func writeScope(scope string) bool {
	for sc := range strings.FieldsSeq(scope) {
		if sc == "WRITE" || sc == "ADMIN" || sc == "SYSTEM_ADMIN" {
			return true
		}
	}
	return false
}

// issue answers a new access token and refresh token.
func (s *Server) issue(w http.ResponseWriter, clientID, userKey, scope string) (access, refresh string) {
	access, refresh = randomToken(), randomToken()
	s.accessTokens[access] = &oauthGrant{clientID: clientID, userKey: userKey, scope: scope, expires: s.now().Add(AccessTokenLifetime)}
	s.refreshTokens[refresh] = &oauthGrant{clientID: clientID, userKey: userKey, scope: scope}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  access,
		"token_type":    "bearer",
		"expires_in":    int(AccessTokenLifetime.Seconds()),
		"refresh_token": refresh,
		"scope":         scope,
	})
	return access, refresh
}

// oauthUserFor returns the active user an unexpired access token was issued
// to, or nil. s.mu is held.
func (s *Server) oauthUserFor(token string) *User {
	g := s.accessTokens[token]
	if g == nil || !s.now().Before(g.expires) {
		return nil
	}
	if u := s.users[g.userKey]; u != nil && u.Active {
		return u
	}
	return nil
}

// redirectTo answers 302 to base with the name/value pairs added to its
// query; empty values are left out.
func redirectTo(w http.ResponseWriter, r *http.Request, base string, kv ...string) {
	u, err := url.Parse(base)
	if err != nil {
		writeErrorPage(w, "The redirect URL of the application is not a URL.")
		return
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// writeErrorPage is the page Jira shows the person instead of redirecting.
func writeErrorPage(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, "<html><body><h1>Authorization failed</h1><p>%s</p></body></html>", html.EscapeString(msg))
}

// writeOAuthError is RFC 6749 §5.2's error answer.
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// S256 is RFC 7636's code challenge of a verifier: BASE64URL(SHA256(verifier)).
func S256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// unreserved reports whether s has only RFC 3986's unreserved characters.
func unreserved(s string) bool {
	for _, c := range s {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}
