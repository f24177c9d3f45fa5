package fakejira

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	cbURL    = "https://fb.example.com/login/jira/callback"
	verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 Appendix B
)

func TestS256(t *testing.T) {
	if got, want := S256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; got != want {
		t.Errorf("S256 = %s, want RFC 7636's %s", got, want)
	}
}

func newOAuthServer(t *testing.T) *Server {
	t.Helper()
	s := newServer(t)
	s.AddUser(User{Key: "JIRAUSER4", Name: "gone", Active: false})
	s.AddOAuthClient("cid", "csecret", cbURL)
	s.SetOAuthUser("alice")
	return s
}

// authorizeQuery is a valid authorization request.
func authorizeQuery() url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {"cid"}, "redirect_uri": {cbURL},
		"scope": {"READ"}, "state": {"xyz"}, "code_challenge": {S256(verifier)}, "code_challenge_method": {"S256"}}
}

// getAuthorize visits the authorization endpoint without following redirects.
func getAuthorize(t *testing.T, s *Server, q url.Values) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.URL() + "/rest/oauth2/latest/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// code runs a valid authorization request and returns the code.
func code(t *testing.T, s *Server) string {
	t.Helper()
	resp := getAuthorize(t, s, authorizeQuery())
	loc, _ := url.Parse(resp.Header.Get("Location"))
	c := loc.Query().Get("code")
	if resp.StatusCode != http.StatusFound || c == "" {
		t.Fatalf("authorization: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

// postToken posts the form to the token endpoint and decodes the JSON answer.
func postToken(t *testing.T, s *Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.URL()+"/rest/oauth2/latest/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("token answer %d is not JSON: %s", resp.StatusCode, b)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token answer without Cache-Control: no-store")
	}
	return resp.StatusCode, out
}

func exchangeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {"cid"}, "client_secret": {"csecret"},
		"code": {code}, "redirect_uri": {cbURL}, "code_verifier": {verifier}}
}

func TestAuthorize(t *testing.T) {
	tests := []struct {
		name       string
		change     func(q url.Values)
		user       string
		wantStatus int    // 302 unless set
		wantError  string // error= of the redirect; "" for a code
	}{
		{name: "granted", user: "alice"},
		{name: "unknown client: no redirect", change: func(q url.Values) { q.Set("client_id", "nope") }, wantStatus: 400},
		{name: "other redirect URI: no redirect", change: func(q url.Values) { q.Set("redirect_uri", cbURL+"/x") }, wantStatus: 400},
		{name: "no redirect URI: no redirect", change: func(q url.Values) { q.Del("redirect_uri") }, wantStatus: 400},
		{name: "token response type", change: func(q url.Values) { q.Set("response_type", "token") }, wantError: "unsupported_response_type"},
		{name: "unknown scope", change: func(q url.Values) { q.Set("scope", "read:jira-work") }, wantError: "invalid_scope"},
		{name: "no scope", change: func(q url.Values) { q.Del("scope") }, wantError: "invalid_scope"},
		{name: "no PKCE", change: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, wantError: "invalid_request"},
		{name: "plain PKCE", change: func(q url.Values) { q.Set("code_challenge_method", "plain") }, wantError: "invalid_request"},
		{name: "challenge not a hash", change: func(q url.Values) { q.Set("code_challenge", "short") }, wantError: "invalid_request"},
		{name: "declined", user: "", wantError: "access_denied"},
		{name: "deactivated user", user: "gone", wantError: "access_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newOAuthServer(t)
			s.SetOAuthUser(tt.user)
			q := authorizeQuery()
			if tt.change != nil {
				tt.change(q)
			}
			resp := getAuthorize(t, s, q)
			if tt.wantStatus != 0 {
				if resp.StatusCode != tt.wantStatus || resp.Header.Get("Location") != "" {
					t.Fatalf("status %d, Location %q; want %d and no redirect", resp.StatusCode, resp.Header.Get("Location"), tt.wantStatus)
				}
				return
			}
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d, want 302", resp.StatusCode)
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || !strings.HasPrefix(loc.String(), cbURL+"?") {
				t.Fatalf("redirect to %q, want the callback", resp.Header.Get("Location"))
			}
			got := loc.Query()
			if got.Get("state") != "xyz" || got.Get("error") != tt.wantError || (got.Get("code") == "") != (tt.wantError != "") {
				t.Errorf("redirect query %v, want state xyz, error %q", got, tt.wantError)
			}
		})
	}
}

func TestToken(t *testing.T) {
	tests := []struct {
		name       string
		change     func(f url.Values)
		setup      func(t *testing.T, s *Server, code string)
		inQuery    bool // the parameters in the query string, as Jira's documentation shows them
		wantStatus int
		wantError  string
	}{
		{name: "exchanged", wantStatus: 200},
		{name: "parameters in the query string", inQuery: true, wantStatus: 200},
		{name: "wrong secret", change: func(f url.Values) { f.Set("client_secret", "nope") }, wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown client", change: func(f url.Values) { f.Set("client_id", "other") }, wantStatus: 401, wantError: "invalid_client"},
		{name: "password grant", change: func(f url.Values) { f.Set("grant_type", "password") }, wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "unknown code", change: func(f url.Values) { f.Set("code", "nope") }, wantStatus: 400, wantError: "invalid_grant"},
		{name: "other redirect URI", change: func(f url.Values) { f.Set("redirect_uri", cbURL+"/x") }, wantStatus: 400, wantError: "invalid_grant"},
		{name: "wrong verifier", change: func(f url.Values) { f.Set("code_verifier", strings.Repeat("a", 43)) }, wantStatus: 400, wantError: "invalid_grant"},
		{name: "no verifier", change: func(f url.Values) { f.Del("code_verifier") }, wantStatus: 400, wantError: "invalid_grant"},
		{name: "the challenge itself as verifier", change: func(f url.Values) { f.Set("code_verifier", S256(verifier)) }, wantStatus: 400, wantError: "invalid_grant"},
		{name: "expired code", setup: func(t *testing.T, s *Server, _ string) {
			later := time.Now().Add(CodeLifetime + time.Second)
			s.mu.Lock()
			s.now = func() time.Time { return later }
			s.mu.Unlock()
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "code of another client", setup: func(t *testing.T, s *Server, code string) {
			s.AddOAuthClient("cid2", "csecret2", cbURL)
		}, change: func(f url.Values) { f.Set("client_id", "cid2"); f.Set("client_secret", "csecret2") }, wantStatus: 400, wantError: "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newOAuthServer(t)
			c := code(t, s)
			if tt.setup != nil {
				tt.setup(t, s, c)
			}
			form := exchangeForm(c)
			if tt.change != nil {
				tt.change(form)
			}
			var status int
			var out map[string]any
			if tt.inQuery {
				resp, err := http.Post(s.URL()+"/rest/oauth2/latest/token?"+form.Encode(), "application/x-www-form-urlencoded", nil)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				status = resp.StatusCode
				_ = json.NewDecoder(resp.Body).Decode(&out)
			} else {
				status, out = postToken(t, s, form)
			}
			if status != tt.wantStatus || (tt.wantError != "" && out["error"] != tt.wantError) {
				t.Fatalf("answer %d %v, want %d %s", status, out, tt.wantStatus, tt.wantError)
			}
			if tt.wantError != "" {
				return
			}
			if out["token_type"] != "bearer" || out["scope"] != "READ" || out["expires_in"] != float64(3600) ||
				out["access_token"] == "" || out["refresh_token"] == "" {
				t.Fatalf("token answer %v", out)
			}
			_, body := do(t, s, "GET", "/rest/api/2/myself", out["access_token"].(string), "")
			if !strings.Contains(body, `"name":"alice"`) {
				t.Errorf("the access token does not sign alice in: %s", body)
			}
		})
	}
}

// TestTokenLifecycle covers what happens to tokens after the exchange: the
// code is single use and its reuse revokes its tokens, access tokens expire,
// refresh tokens rotate.
func TestTokenLifecycle(t *testing.T) {
	s := newOAuthServer(t)
	c := code(t, s)
	status, first := postToken(t, s, exchangeForm(c))
	if status != 200 {
		t.Fatalf("exchange: %d %v", status, first)
	}
	access := first["access_token"].(string)
	if resp, _ := do(t, s, "GET", "/rest/api/2/myself", access, ""); resp.StatusCode != 200 {
		t.Fatalf("access token refused: %d", resp.StatusCode)
	}
	if status, out := postToken(t, s, exchangeForm(c)); status != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("second exchange: %d %v", status, out)
	}
	resp, _ := do(t, s, "GET", "/rest/api/2/myself", access, "")
	if resp.StatusCode != 401 || resp.Header.Get("X-Seraph-LoginReason") != "AUTHENTICATED_FAILED" {
		t.Fatalf("access token of a reused code: %d %s, want 401 AUTHENTICATED_FAILED", resp.StatusCode, resp.Header.Get("X-Seraph-LoginReason"))
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {"cid"}, "client_secret": {"csecret"},
		"refresh_token": {first["refresh_token"].(string)}, "redirect_uri": {cbURL}}
	if status, out := postToken(t, s, refresh); status != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("refresh token of a reused code: %d %v", status, out)
	}

	// A fresh grant: refreshed once, then the old refresh token is spent.
	_, second := postToken(t, s, exchangeForm(code(t, s)))
	refresh.Set("refresh_token", second["refresh_token"].(string))
	status, third := postToken(t, s, refresh)
	if status != 200 || third["access_token"] == "" || third["refresh_token"] == second["refresh_token"] {
		t.Fatalf("refresh: %d %v", status, third)
	}
	if status, _ := postToken(t, s, refresh); status != 400 {
		t.Fatalf("a spent refresh token answered %d", status)
	}
	// Jira Data Center wants the redirect URI with a refresh too.
	refresh.Set("refresh_token", third["refresh_token"].(string))
	noRedirect := maps.Clone(refresh)
	noRedirect.Del("redirect_uri")
	if status, out := postToken(t, s, noRedirect); status != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("refresh without the redirect URI: %d %v", status, out)
	}

	// Access tokens expire.
	later := time.Now().Add(AccessTokenLifetime + time.Second)
	s.mu.Lock()
	s.now = func() time.Time { return later }
	s.mu.Unlock()
	if resp, _ := do(t, s, "GET", "/rest/api/2/myself", third["access_token"].(string), ""); resp.StatusCode != 401 {
		t.Fatalf("expired access token answered %d", resp.StatusCode)
	}
}
