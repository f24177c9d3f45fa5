package jira

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"golang.org/x/oauth2"
)

const (
	clientID     = "forgebridge-client-1"
	clientSecret = "client-secret-0006"
	callback     = "https://fb.example.com/login/jira/callback"
)

// RFC 7636 Appendix B: a verifier and its S256 challenge.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func init() { secrets = append(secrets, clientSecret) }

// newOAuthEnv is newEnv with forgebridge's client registered in the fake and
// the tracker configured with it.
func newOAuthEnv(t *testing.T, secret string) *env {
	t.Helper()
	e := newEnv(t)
	e.fake.AddOAuthClient(clientID, clientSecret, callback)
	e.fake.SetOAuthUser("alice")
	tr, err := New(Config{BaseURL: e.fake.URL(), ServiceToken: svcToken, OAuth: &OAuthConfig{ClientID: clientID, ClientSecret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	tr.retryWaits = e.tr.retryWaits
	e.tr = tr
	return e
}

// authorize visits the authorization URL as a browser would, without
// following the redirect, and returns the query of the redirect to the
// callback (or the status when Jira did not redirect).
func authorize(t testing.TB, authURL, redirectURI string) (url.Values, int) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, resp.StatusCode
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Fatalf("redirected to %s, want the callback %s", got, redirectURI)
	}
	return loc.Query(), resp.StatusCode
}

func TestSignInWithJira(t *testing.T) {
	alice := fb.User{Key: "JIRAUSER10100", Name: "alice", DisplayName: "Alice Liddell", Active: true, Admin: true}
	tests := []struct {
		name string
		// setup runs after the tracker is made; secret is the one it uses.
		setup           func(e *env)
		secret          string
		authRedirect    string // redirect_uri at the authorization endpoint; callback when empty
		exchRedirect    string // redirect_uri at the token endpoint; callback when empty
		verifier        string // sent to the token endpoint; the right one when empty
		exchangeTwice   bool   // exchange the code a second time
		wantAuthStatus  int    // when the authorization endpoint does not redirect
		wantAuthError   string // error= of the redirect
		wantCode        fb.Code
		wantMsg         string
		wantUser        fb.User
		beforeExchange  func(e *env)
		afterExchange   func(e *env)
		wantUserCodeErr fb.Code // UserForToken's error code after afterExchange
	}{
		{name: "full flow", wantUser: alice},
		{name: "another user", setup: func(e *env) { e.fake.SetOAuthUser("al") },
			wantUser: fb.User{Key: "JIRAUSER10101", Name: "al", DisplayName: "Al Bundy", Active: true}},
		{name: "wrong verifier", verifier: rfcVerifier, wantCode: fb.EUnauthenticated, wantMsg: "Jira refused the sign-in; try again"},
		{name: "reused code: refused, and the first token revoked", exchangeTwice: true,
			wantCode: fb.EUnauthenticated, wantMsg: "Jira refused the sign-in"},
		{name: "unregistered redirect URI: Jira does not redirect", authRedirect: "https://evil.example.com/cb",
			wantAuthStatus: http.StatusBadRequest},
		{name: "redirect URI differs at the exchange", exchRedirect: "https://fb.example.com/other",
			wantCode: fb.EUnauthenticated, wantMsg: "Jira refused the sign-in"},
		{name: "wrong client secret", secret: "wrong-secret-0007",
			wantCode: fb.ETrackerUnavailable, wantMsg: "Jira refused forgebridge's OAuth client"},
		{name: "person declines", setup: func(e *env) { e.fake.SetOAuthUser("") }, wantAuthError: "access_denied"},
		{name: "deactivated user cannot sign in", setup: func(e *env) { e.fake.SetOAuthUser("bob") }, wantAuthError: "access_denied"},
		{name: "user deactivated after the exchange", wantUser: alice,
			afterExchange: func(e *env) { e.fake.SetActive("alice", false) }, wantUserCodeErr: fb.EUnauthenticated},
		{name: "Jira down at the exchange", beforeExchange: func(e *env) { e.fake.SetDown(true) },
			wantCode: fb.ETrackerUnavailable, wantMsg: "Jira could not be reached or failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := tt.secret
			if secret == "" {
				secret = clientSecret
			}
			e := newOAuthEnv(t, secret)
			if tt.setup != nil {
				tt.setup(e)
			}
			if !e.tr.OAuthConfigured() {
				t.Fatal("OAuthConfigured() = false")
			}
			verifier, challenge := newPKCE()
			state := "state-" + tt.name
			authRedirect := cmpOr(tt.authRedirect, callback)
			q, status := authorize(t, e.tr.AuthorizeURL(state, challenge, authRedirect), authRedirect)
			if tt.wantAuthStatus != 0 {
				if status != tt.wantAuthStatus {
					t.Fatalf("authorization endpoint answered %d, want %d", status, tt.wantAuthStatus)
				}
				return
			}
			if q == nil {
				t.Fatalf("authorization endpoint answered %d, not a redirect", status)
			}
			if q.Get("state") != state {
				t.Errorf("state = %q, want %q", q.Get("state"), state)
			}
			if tt.wantAuthError != "" {
				if q.Get("error") != tt.wantAuthError || q.Get("code") != "" {
					t.Fatalf("redirect query %v, want error=%s and no code", q, tt.wantAuthError)
				}
				return
			}
			code := q.Get("code")
			if code == "" {
				t.Fatalf("no code in the redirect: %v", q)
			}
			if tt.beforeExchange != nil {
				tt.beforeExchange(e)
			}
			exchRedirect := cmpOr(tt.exchRedirect, callback)
			token, err := e.tr.ExchangeCode(context.Background(), code, cmpOr(tt.verifier, verifier), exchRedirect)
			var first string
			if tt.exchangeTwice {
				if err != nil {
					t.Fatalf("first exchange: %v", err)
				}
				first = token
				token, err = e.tr.ExchangeCode(context.Background(), code, verifier, exchRedirect)
			}
			if tt.wantCode != "" {
				assertCode(t, err, tt.wantCode)
				assertNoString(t, err, code, verifier, first)
				if !strings.Contains(fb.ErrorMessage(err), tt.wantMsg) {
					t.Errorf("message %q does not say %q", fb.ErrorMessage(err), tt.wantMsg)
				}
				if token != "" {
					t.Errorf("a token came with the error")
				}
				if first != "" {
					_, err := e.tr.UserForToken(context.Background(), first)
					assertCode(t, err, fb.EUnauthenticated)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.afterExchange != nil {
				tt.afterExchange(e)
			}
			got, err := e.tr.UserForToken(context.Background(), token)
			if tt.wantUserCodeErr != "" {
				assertCode(t, err, tt.wantUserCodeErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.wantUser {
				t.Errorf("UserForToken() = %+v, want %+v", got, tt.wantUser)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// assertNoString fails when an error shows any of the strings.
func assertNoString(t *testing.T, err error, ss ...string) {
	t.Helper()
	for _, text := range []string{err.Error(), fb.ErrorMessage(err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		for _, s := range ss {
			if s != "" && strings.Contains(text, s) {
				t.Fatalf("error shows a secret (%s): %s", s, text)
			}
		}
	}
}

func TestAuthorizeURL(t *testing.T) {
	tr, err := New(Config{BaseURL: "https://jira.example.com/jira/", ServiceToken: svcToken,
		OAuth: &OAuthConfig{ClientID: clientID, ClientSecret: clientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := url.Parse(tr.AuthorizeURL("st&ate", rfcChallenge, callback))
	if err != nil {
		t.Fatal(err)
	}
	if base := got.Scheme + "://" + got.Host + got.Path; base != "https://jira.example.com/jira/rest/oauth2/latest/authorize" {
		t.Errorf("authorization endpoint %s", base)
	}
	want := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {callback},
		"scope":                 {"READ"},
		"state":                 {"st&ate"},
		"code_challenge":        {rfcChallenge},
		"code_challenge_method": {"S256"},
	}
	if got.Query().Encode() != want.Encode() {
		t.Errorf("query %s, want %s", got.Query().Encode(), want.Encode())
	}
	if strings.Contains(got.String(), clientSecret) {
		t.Error("the authorization URL shows the client secret")
	}
}

func TestOAuthConfig(t *testing.T) {
	tests := []struct {
		name     string
		oauth    *OAuthConfig
		wantCode fb.Code
	}{
		{name: "not configured"},
		{name: "configured", oauth: &OAuthConfig{ClientID: clientID, ClientSecret: clientSecret}},
		{name: "no secret", oauth: &OAuthConfig{ClientID: clientID, ClientSecret: " "}, wantCode: fb.EInvalid},
		{name: "no client id", oauth: &OAuthConfig{ClientSecret: clientSecret}, wantCode: fb.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := New(Config{BaseURL: "https://jira.example.com", ServiceToken: svcToken, OAuth: tt.oauth})
			if tt.wantCode != "" {
				assertCode(t, err, tt.wantCode)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.OAuthConfigured() != (tt.oauth != nil) {
				t.Errorf("OAuthConfigured() = %v", tr.OAuthConfigured())
			}
			if tt.oauth != nil {
				for _, s := range []string{fmt.Sprint(*tt.oauth), fmt.Sprintf("%+v %#v %v", *tt.oauth, *tt.oauth, tr)} {
					if strings.Contains(s, clientSecret) {
						t.Errorf("printing shows the client secret: %s", s)
					}
				}
				return
			}
			if u := tr.AuthorizeURL("s", rfcChallenge, callback); u != "" {
				t.Errorf("AuthorizeURL() = %q without OAuth", u)
			}
			_, err = tr.ExchangeCode(context.Background(), "code", rfcVerifier, callback)
			assertCode(t, err, fb.ENotSupported)
		})
	}
}

// TestExchangeCodeAnswers covers token endpoint answers the fake does not
// give, and that nothing of the request shows in the error.
func TestExchangeCodeAnswers(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		header   map[string]string
		body     string
		wantCode fb.Code
		wantMsg  string
	}{
		{name: "invalid_grant echoing the code and secret", status: 400,
			body:     `{"error":"invalid_grant","error_description":"bad code the-code-0008 for client-secret-0006"}`,
			wantCode: fb.EUnauthenticated, wantMsg: "Jira refused the sign-in"},
		{name: "invalid_request", status: 400, body: `{"error":"invalid_request"}`, wantCode: fb.EUnauthenticated},
		{name: "unauthorized_client", status: 400, body: `{"error":"unauthorized_client"}`,
			wantCode: fb.ETrackerUnavailable, wantMsg: "OAuth client"},
		{name: "503 with Retry-After", status: 503, header: map[string]string{"Retry-After": "20"}, body: `<html>down</html>`,
			wantCode: fb.ETrackerUnavailable, wantMsg: "try again in 20 seconds"},
		{name: "429", status: 429, body: `{}`, wantCode: fb.ETrackerUnavailable},
		{name: "sign-in page instead of a token", status: 200, header: map[string]string{"Content-Type": "text/html"},
			body: `<html>Log in</html>`, wantCode: fb.ETrackerUnavailable, wantMsg: "did not answer with a token"},
		{name: "not a Bearer token", status: 200, header: map[string]string{"Content-Type": "application/json"},
			body: `{"access_token":"at-0009","token_type":"mac"}`, wantCode: fb.ETrackerUnavailable, wantMsg: "not a Bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var form url.Values
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/rest/oauth2/latest/token" || r.Method != http.MethodPost {
					http.NotFound(w, r)
					return
				}
				_ = r.ParseForm()
				form = r.PostForm
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				if w.Header().Get("Content-Type") == "" {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			tr, err := New(Config{BaseURL: srv.URL, ServiceToken: svcToken, OAuth: &OAuthConfig{ClientID: clientID, ClientSecret: clientSecret}})
			if err != nil {
				t.Fatal(err)
			}
			token, err := tr.ExchangeCode(context.Background(), "the-code-0008", rfcVerifier, callback)
			assertCode(t, err, tt.wantCode)
			assertNoString(t, err, "the-code-0008", rfcVerifier, "at-0009")
			if !strings.Contains(fb.ErrorMessage(err), tt.wantMsg) {
				t.Errorf("message %q does not say %q", fb.ErrorMessage(err), tt.wantMsg)
			}
			if token != "" {
				t.Errorf("a token came with the error")
			}
			want := url.Values{"grant_type": {"authorization_code"}, "code": {"the-code-0008"}, "redirect_uri": {callback},
				"code_verifier": {rfcVerifier}, "client_id": {clientID}, "client_secret": {clientSecret}}
			if form.Encode() != want.Encode() {
				t.Errorf("token request form %v, want %v", form, want)
			}
		})
	}
}

func TestExchangeCodeUnreachable(t *testing.T) {
	e := newOAuthEnv(t, clientSecret)
	e.fake.Close()
	_, err := e.tr.ExchangeCode(context.Background(), "the-code-0008", rfcVerifier, callback)
	assertCode(t, err, fb.ETrackerUnavailable)
	assertNoString(t, err, "the-code-0008", rfcVerifier)
}

// newPKCE returns a fresh code verifier and its S256 challenge, as forgebridge's
// web package makes them; the fake checks both at the token endpoint.
func newPKCE() (verifier, challenge string) {
	verifier = oauth2.GenerateVerifier()
	return verifier, oauth2.S256ChallengeFromVerifier(verifier)
}
