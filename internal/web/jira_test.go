package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// Tokens the fake Jira knows.
const (
	alicePAT    = "NjQ5MzE0OTk5NjQ2OkFsaWNlUEFUMDAwMDAwMDAwMDAw"
	aliceAccess = "alice-oauth-access-token-0123456789abcdef"
	bobPAT      = "NjQ5MzE0OTk5NjQ2OkJvYlBBVDAwMDAwMDAwMDAwMDAw" // bob is deactivated in Jira
	unreachable = "jira-down"                                    // UserForToken answers tracker_unavailable
)

// fakeJira is a JiraSignIn whose OAuth provider is driven by the test: approve
// plays the person allowing forgebridge on Jira's authorization page.
type fakeJira struct {
	oauth bool

	mu        sync.Mutex
	grants    map[string]grant // authorization code → what it was issued for
	verifiers []string         // every code verifier forgebridge sent
}

type grant struct{ token, challenge, redirectURI string }

func newFakeJira(oauth bool) *fakeJira { return &fakeJira{oauth: oauth, grants: map[string]grant{}} }

// authorizeBase is the fake Jira's authorization page; the browser test
// replaces it with a server of its own.
var authorizeBase = "https://jira.example/rest/oauth2/latest/authorize"

func (f *fakeJira) OAuthConfigured() bool { return f.oauth }

func (f *fakeJira) AuthorizeURL(state, challenge, redirectURI string) string {
	return authorizeBase + "?" + url.Values{"client_id": {"forgebridge"}, "response_type": {"code"}, "state": {state},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "redirect_uri": {redirectURI}}.Encode()
}

// approve issues a code for the authorization request at authorizeURL, to
// be exchanged for token, and returns the query Jira redirects back with.
func (f *fakeJira) approve(t *testing.T, authorizeURL, token string) url.Values {
	t.Helper()
	u, err := url.Parse(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("code_challenge") == "" || q.Get("state") == "" {
		t.Fatalf("authorization request without state or challenge: %s", authorizeURL)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	code := "code-" + q.Get("state")[:8]
	f.grants[code] = grant{token: token, challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}
	return url.Values{"code": {code}, "state": {q.Get("state")}}
}

func (f *fakeJira) ExchangeCode(ctx context.Context, code, verifier, redirectURI string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verifiers = append(f.verifiers, verifier)
	g, ok := f.grants[code]
	delete(f.grants, code) // a code is good once
	sum := sha256.Sum256([]byte(verifier))
	if !ok || g.redirectURI != redirectURI || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		return "", fb.Errorf(fb.EUnauthenticated, "Jira refused the authorization code; sign in again.")
	}
	return g.token, nil
}

func (f *fakeJira) UserForToken(ctx context.Context, token string) (fb.User, error) {
	switch token {
	case alicePAT, aliceAccess:
		return fb.User{Key: "alice", Name: "alice", DisplayName: "Alice", Active: true}, nil
	case bobPAT:
		return fb.User{Key: "bob", Name: "bob", DisplayName: "Bob"}, nil
	case unreachable:
		return fb.User{}, fb.Errorf(fb.ETrackerUnavailable, "Jira cannot be reached; try again in a moment.")
	}
	return fb.User{}, fb.Errorf(fb.EUnauthenticated, "Jira rejected the token.")
}

// withJira is the test environment with Jira sign-in offered.
func withJira(t *testing.T, oauth bool) (*env, *fakeJira) {
	e := newEnv(t)
	f := newFakeJira(oauth)
	e.web.Jira = f
	return e, f
}

// startJira follows "Sign in with Jira" and returns where it sent the browser.
func startJira(t *testing.T, b *browser, next string) string {
	t.Helper()
	path := "/login/jira"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	r := b.get(path)
	mustStatus(t, "start sign in with Jira", r, http.StatusSeeOther)
	loc := r.Header().Get("Location")
	if !strings.HasPrefix(loc, authorizeBase+"?") {
		t.Fatalf("sent to %q, not Jira's authorization page", loc)
	}
	return loc
}

// setCookies is every Set-Cookie header of a response, for checks that no secret is in them.
func setCookies(r response) string { return strings.Join(r.Header().Values("Set-Cookie"), "\n") }

func TestSignInPageOffersWhatIsConfigured(t *testing.T) {
	for _, tc := range []struct {
		name     string
		jira     JiraSignIn
		want     []string
		unwanted []string
	}{
		{"local tracker", nil,
			[]string{`action="/login"`, `name="password"`, `class="primary">Sign in<`},
			[]string{"/login/jira", `name="token"`, "Sign in with Jira"}},
		{"Jira without OAuth", newFakeJira(false),
			[]string{`action="/login/jira-token"`, `name="token" type="password"`, "Sign in with a Jira personal access token",
				`value="/tokens"`, `action="/login"`, "or with a forgebridge account", "such as administrators"},
			[]string{`href="/login/jira`}},
		{"Jira with OAuth", newFakeJira(true),
			[]string{`href="/login/jira?next=%2ftokens"`, "Sign in with Jira", `action="/login"`, "or with a forgebridge account"},
			[]string{`name="token"`, "/login/jira-token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.web.Jira = tc.jira
			r := e.browser().get("/login?next=/tokens")
			mustStatus(t, "sign-in page", r, http.StatusOK)
			mustContain(t, "sign-in page", r.body(), tc.want...)
			mustNotContain(t, "sign-in page", r.body(), tc.unwanted...)
		})
	}
}

func TestSignInWithJiraOAuth(t *testing.T) {
	e, f := withJira(t, true)
	b := e.browser()
	loc := startJira(t, b, "/tokens")
	c := b.cookies[oauthCookie]
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/login/jira" ||
		c.MaxAge != int(oauthStateTTL.Seconds()) {
		t.Fatalf("state cookie %+v: want HttpOnly, SameSite=Lax, not Secure without TLS, Path=/login/jira, 10 minutes", c)
	}
	authz, _ := url.Parse(loc)
	if got := authz.Query().Get("redirect_uri"); got != "http://example.com/login/jira/callback" {
		t.Fatalf("redirect URI %q, want the request's own address", got)
	}

	back := f.approve(t, loc, aliceAccess)
	r := b.get("/login/jira/callback?" + back.Encode())
	mustStatus(t, "callback", r, http.StatusSeeOther)
	if got := r.Header().Get("Location"); got != "/tokens" {
		t.Fatalf("after sign in sent to %q, want /tokens", got)
	}
	if _, still := b.cookies[oauthCookie]; still {
		t.Fatal("the state cookie was kept after the callback")
	}
	if b.cookies[sessionCookie] == nil {
		t.Fatal("no session after signing in with Jira")
	}
	page := b.follow(r)
	mustContain(t, "page after sign in", page.body(), "My tokens", "Alice")

	// The code verifier and the access token went to Jira only.
	if len(f.verifiers) != 1 || len(f.verifiers[0]) != 43 {
		t.Fatalf("verifiers sent: %q, want one of 43 characters", f.verifiers)
	}
	for _, secret := range []string{f.verifiers[0], aliceAccess} {
		mustNotContain(t, "redirect to Jira", loc, secret)
		mustNotContain(t, "callback cookies", setCookies(r), secret)
		mustNotContain(t, "page after sign in", page.body(), secret)
	}

	// The same answer from Jira cannot be used twice.
	again := b.get("/login/jira/callback?" + back.Encode())
	mustStatus(t, "replayed callback", again, http.StatusBadRequest)
}

func TestSignInWithJiraOAuthBehindTLS(t *testing.T) {
	e, f := withJira(t, true)
	e.web.Secure = true
	e.web.PublicURL = "https://fb.example.com/"
	b := e.browser()
	loc := startJira(t, b, "")
	if c := b.cookies[oauthCookie]; c == nil || !c.Secure {
		t.Fatalf("state cookie %+v is not Secure with Secure set", c)
	}
	authz, _ := url.Parse(loc)
	if got := authz.Query().Get("redirect_uri"); got != "https://fb.example.com/login/jira/callback" {
		t.Fatalf("redirect URI %q, want it under PublicURL", got)
	}
	r := b.get("/login/jira/callback?" + f.approve(t, loc, aliceAccess).Encode())
	mustStatus(t, "callback", r, http.StatusSeeOther)
	if got := r.Header().Get("Location"); got != "/" {
		t.Fatalf("sent to %q, want /", got)
	}
}

func TestJiraCallbackRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		// callback returns the callback's query after preparing b.
		callback func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values
		status   int
		want     string
	}{
		{"state differs from the cookie's", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			back := f.approve(t, startJira(t, b, ""), aliceAccess)
			back.Set("state", back.Get("state")[:20]+"AAAAAAAAAAAAAAAAAAAAAAA")
			return back
		}, http.StatusBadRequest, "does not belong to the sign-in started in this browser"},
		{"no state cookie", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			back := f.approve(t, startJira(t, b, ""), aliceAccess)
			delete(b.cookies, oauthCookie)
			return back
		}, http.StatusBadRequest, "took longer than 10 minutes or was started in another browser"},
		{"expired state cookie", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			rec := newRecorder()
			if err := e.web.writeOAuthState(rec, oauthState{State: "s", Verifier: "v", RedirectURI: "http://example.com" + callbackPath,
				Expires: time.Now().Add(-time.Second).Unix()}); err != nil {
				t.Fatal(err)
			}
			b.cookies[oauthCookie] = rec.Result().Cookies()[0]
			return url.Values{"code": {"c"}, "state": {"s"}}
		}, http.StatusBadRequest, "took longer than 10 minutes"},
		{"tampered state cookie", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			back := f.approve(t, startJira(t, b, ""), aliceAccess)
			c := *b.cookies[oauthCookie]
			c.Value = c.Value[:len(c.Value)-6] + "AAAAAA"
			b.cookies[oauthCookie] = &c
			return back
		}, http.StatusBadRequest, "took longer than 10 minutes"},
		{"a session cookie passed off as the state", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			back := f.approve(t, startJira(t, b, ""), aliceAccess)
			b.cookies[oauthCookie] = &http.Cookie{Name: oauthCookie, Value: e.sealSession(e.web, "admin", time.Now().Add(time.Hour))}
			return back
		}, http.StatusBadRequest, "took longer than 10 minutes"},
		{"person refused on Jira", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			back := f.approve(t, startJira(t, b, ""), aliceAccess)
			return url.Values{"error": {"access_denied"}, "state": back["state"]}
		}, http.StatusUnauthorized, "You did not allow forgebridge to use your Jira account"},
		{"other Jira error", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			return url.Values{"error": {"invalid_scope"}, "error_description": {"Call evil.example now"}}
		}, http.StatusUnauthorized, "Jira did not sign you in (invalid_scope)"},
		{"Jira error that is not a code", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			return url.Values{"error": {"<b>call evil.example</b>"}}
		}, http.StatusUnauthorized, "Jira did not sign you in (unknown error)"},
		{"no code", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			back := f.approve(t, startJira(t, b, ""), aliceAccess)
			back.Del("code")
			return back
		}, http.StatusBadRequest, "carried no authorization code"},
		{"code Jira does not know", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			back := f.approve(t, startJira(t, b, ""), aliceAccess)
			back.Set("code", "code-forged")
			return back
		}, http.StatusUnauthorized, "Jira refused the authorization code"},
		{"deactivated Jira user", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			return f.approve(t, startJira(t, b, ""), bobPAT)
		}, http.StatusUnauthorized, "The Jira account bob is deactivated."},
		{"Jira unreachable", func(t *testing.T, e *env, f *fakeJira, b *browser) url.Values {
			return f.approve(t, startJira(t, b, ""), unreachable)
		}, http.StatusBadGateway, "Jira cannot be reached"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, f := withJira(t, true)
			b := e.browser()
			q := tc.callback(t, e, f, b)
			hadState := b.cookies[oauthCookie] != nil
			r := b.get("/login/jira/callback?" + q.Encode())
			mustStatus(t, "callback", r, tc.status)
			mustContain(t, "callback", r.body(), tc.want, "Sign in with Jira")
			mustNotContain(t, "callback", r.body(), "evil.example", aliceAccess)
			if b.cookies[sessionCookie] != nil {
				t.Fatal("a refused callback started a session")
			}
			if _, still := b.cookies[oauthCookie]; hadState && still {
				t.Fatal("a refused callback kept the state cookie")
			}
		})
	}
}

func TestSignInWithJiraToken(t *testing.T) {
	for _, tc := range []struct {
		name, token, next string
		status            int
		want              string // the redirect target, or text on the page
	}{
		{"valid token", alicePAT, "/tokens", http.StatusSeeOther, "/tokens"},
		{"valid token, pasted with a newline", alicePAT + "\n", "", http.StatusSeeOther, "/"},
		{"token Jira rejects", "NjQ5MzE0OTk5NjQ2Ondyb25nMDAwMDAwMDAwMDAw", "/tokens", http.StatusUnauthorized, "Jira did not accept that token."},
		{"deactivated Jira user", bobPAT, "", http.StatusUnauthorized, "The Jira account bob is deactivated."},
		{"Jira unreachable", unreachable, "", http.StatusBadGateway, "Jira cannot be reached; try again in a moment."},
		{"no token", "  ", "", http.StatusBadRequest, "Paste your Jira personal access token."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := withJira(t, false)
			b := e.browser()
			r := b.post("/login/jira-token", url.Values{"token": {tc.token}, "next": {tc.next}})
			mustStatus(t, "sign in with a token", r, tc.status)
			if secret := strings.TrimSpace(tc.token); secret != "" {
				mustNotContain(t, "answer", r.body(), secret)
				mustNotContain(t, "cookies", setCookies(r), secret)
			}
			if tc.status != http.StatusSeeOther {
				mustContain(t, "answer", r.body(), tc.want, `name="token" type="password"`)
				if tc.next != "" {
					mustContain(t, "answer", r.body(), `value="`+tc.next+`"`)
				}
				if b.cookies[sessionCookie] != nil {
					t.Fatal("a refused token started a session")
				}
				return
			}
			if got := r.Header().Get("Location"); got != tc.want {
				t.Fatalf("sent to %q, want %q", got, tc.want)
			}
			mustContain(t, "page after sign in", b.get("/tokens").body(), "My tokens", "Alice")
		})
	}
}

func TestJiraSignInWhereNotConfigured(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jira   JiraSignIn
		method string
		path   string
	}{
		{"OAuth start with the local tracker", nil, http.MethodGet, "/login/jira"},
		{"OAuth start without an OAuth client", newFakeJira(false), http.MethodGet, "/login/jira"},
		{"OAuth callback without an OAuth client", newFakeJira(false), http.MethodGet, "/login/jira/callback?code=c&state=s"},
		{"token with the local tracker", nil, http.MethodPost, "/login/jira-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.web.Jira = tc.jira
			b := e.browser()
			var r response
			if tc.method == http.MethodPost {
				r = b.post(tc.path, url.Values{"token": {alicePAT}})
			} else {
				r = b.get(tc.path)
			}
			mustStatus(t, tc.path, r, http.StatusNotFound)
			mustContain(t, tc.path, r.body(), "Signing in with Jira is not set up on this forgebridge.")
			if len(b.cookies) != 0 {
				t.Fatalf("cookies set: %v", b.cookies)
			}
		})
	}
}

func TestJiraSignInGoesOnlyToThisSite(t *testing.T) {
	for _, next := range []string{"//evil.example/x", "https://evil.example/", `/\evil.example`, "javascript:alert(1)", "tokens"} {
		t.Run(next, func(t *testing.T) {
			e, f := withJira(t, true)
			b := e.browser()
			r := b.get("/login/jira/callback?" + f.approve(t, startJira(t, b, next), aliceAccess).Encode())
			mustStatus(t, "callback", r, http.StatusSeeOther)
			if got := r.Header().Get("Location"); got != "/" {
				t.Fatalf("OAuth with next=%q sent to %q, want /", next, got)
			}
			f.oauth = false
			r = e.browser().post("/login/jira-token", url.Values{"token": {alicePAT}, "next": {next}})
			mustStatus(t, "token sign in", r, http.StatusSeeOther)
			if got := r.Header().Get("Location"); got != "/" {
				t.Fatalf("token sign-in with next=%q sent to %q, want /", next, got)
			}
		})
	}
}

func TestJiraTokenFormRefusesOtherSites(t *testing.T) {
	e, _ := withJira(t, false)
	for _, hdr := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
		req := newRequest(http.MethodPost, "/login/jira-token", "token="+alicePAT)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		b := e.browser()
		if r := b.do(req); r.Code != http.StatusForbidden || b.cookies[sessionCookie] != nil {
			t.Fatalf("cross-site token sign-in with %v: status %d, cookies %v", hdr, r.Code, b.cookies)
		}
	}
}

func TestPKCE(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		v, c := newPKCE()
		sum := sha256.Sum256([]byte(v))
		if len(v) != 43 || c != base64.RawURLEncoding.EncodeToString(sum[:]) || strings.ContainsAny(v+c, "+/=") {
			t.Fatalf("verifier %q, challenge %q: want 43 URL-safe characters and its S256 hash", v, c)
		}
		if seen[v] {
			t.Fatalf("verifier %q repeated", v)
		}
		seen[v] = true
	}
}
