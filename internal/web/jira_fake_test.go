package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/forgebridge/forgebridge/internal/tracker/jira"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
)

// The fake Jira's service account, OAuth client and people.
const (
	jiraServiceToken = "NjQ5MzE0OTk5NjQ2OlNlcnZpY2UwMDAwMDAwMDAwMDAw"
	jiraClientID     = "forgebridge-web-test"
	jiraClientSecret = "client-secret-web-test-0001"
	jiraAlicePAT     = "NjQ5MzE0OTk5NjQ2OkFsaWNlSmlyYTAwMDAwMDAwMDAw"
	jiraBobPAT       = "NjQ5MzE0OTk5NjQ2OkJvYkppcmEwMDAwMDAwMDAwMDAw"
)

// withRealJira is the test environment whose tracker is the Jira tracker
// over the fake Jira, so sessions are checked against Jira too. With oauth,
// forgebridge's client is registered with callback as its redirect URL.
func withRealJira(t *testing.T, oauth bool, callback string) (*env, *fakejira.Server) {
	t.Helper()
	e := newEnv(t)
	fj := fakejira.New()
	t.Cleanup(fj.Close)
	fj.AddUser(fakejira.User{Key: "svc", Name: "forgebridge-svc", DisplayName: "forgebridge", Active: true,
		Groups: []string{"jira-users", "jira-administrators"}, Token: jiraServiceToken})
	fj.AddUser(fakejira.User{Key: "JIRAUSER10100", Name: "alice", DisplayName: "Alice Liddell", Active: true,
		Groups: []string{"jira-users"}, Token: jiraAlicePAT})
	fj.AddUser(fakejira.User{Key: "JIRAUSER10102", Name: "bob", DisplayName: "Bob Gone", Active: false,
		Groups: []string{"jira-users"}, Token: jiraBobPAT})
	cfg := jira.Config{BaseURL: fj.URL(), ServiceToken: jiraServiceToken}
	if oauth {
		fj.AddOAuthClient(jiraClientID, jiraClientSecret, callback)
		fj.SetOAuthUser("alice")
		cfg.OAuth = &jira.OAuthConfig{ClientID: jiraClientID, ClientSecret: jiraClientSecret}
	}
	tr, err := jira.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.app.Tracker = tr
	e.web.Jira = tr
	return e, fj
}

// visitJira is the browser at Jira's authorization page: it returns where
// Jira redirects to.
func visitJira(t *testing.T, authorizeURL string) *url.URL {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("Jira's authorization page answered %d, not a redirect", res.StatusCode)
	}
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestSignInWithFakeJiraOAuth(t *testing.T) {
	const callback = "http://example.com/login/jira/callback"
	for _, tc := range []struct {
		name      string
		oauthUser string // who is signed in to Jira and consents; "" declines
		status    int
		want      string
	}{
		{"alice allows forgebridge", "alice", http.StatusSeeOther, ""},
		{"alice declines", "", http.StatusUnauthorized, "You did not allow forgebridge to use your Jira account"},
		{"deactivated bob", "bob", http.StatusUnauthorized, "You did not allow forgebridge to use your Jira account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, fj := withRealJira(t, true, callback)
			fj.SetOAuthUser(tc.oauthUser)
			b := e.browser()
			r := b.get("/login/jira?next=/repositories")
			mustStatus(t, "start", r, http.StatusSeeOther)
			loc := r.Header().Get("Location")
			if !strings.HasPrefix(loc, fj.URL()+"/rest/oauth2/latest/authorize?") {
				t.Fatalf("sent to %q, not the fake Jira's authorization page", loc)
			}
			back := visitJira(t, loc)
			if got := back.Scheme + "://" + back.Host + back.Path; got != callback {
				t.Fatalf("Jira sent the browser to %q, want the callback %q", got, callback)
			}
			r = b.get(back.RequestURI())
			mustStatus(t, "callback", r, tc.status)
			if tc.status != http.StatusSeeOther {
				mustContain(t, "callback", r.body(), tc.want)
				if b.cookies[sessionCookie] != nil {
					t.Fatal("a refused sign-in started a session")
				}
				return
			}
			if got := r.Header().Get("Location"); got != "/repositories" {
				t.Fatalf("after sign in sent to %q, want /repositories", got)
			}
			// The session is Jira's user, looked up again by its key.
			mustContain(t, "page after sign in", b.follow(r).body(), "Alice Liddell")
		})
	}
}

func TestSignInWithFakeJiraToken(t *testing.T) {
	for _, tc := range []struct {
		name, token string
		down        bool
		status      int
		want        string
	}{
		{"alice's token", jiraAlicePAT, false, http.StatusSeeOther, ""},
		{"unknown token", "NjQ5MzE0OTk5NjQ2Ond3d3d3d3d3d3d3d3d3d3d3d3", false, http.StatusUnauthorized, "Jira did not accept that token."},
		{"deactivated bob's token", jiraBobPAT, false, http.StatusUnauthorized, "Jira did not accept that token."},
		{"Jira down", jiraAlicePAT, true, http.StatusBadGateway, "Jira could not be reached or failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, fj := withRealJira(t, false, "")
			fj.SetDown(tc.down)
			b := e.browser()
			r := b.post("/login/jira-token", url.Values{"token": {tc.token}, "next": {"/repositories"}})
			mustStatus(t, "sign in", r, tc.status)
			mustNotContain(t, "answer", r.body()+setCookies(r), tc.token, jiraServiceToken)
			if tc.status != http.StatusSeeOther {
				mustContain(t, "answer", r.body(), tc.want)
				return
			}
			mustContain(t, "page after sign in", b.follow(r).body(), "Alice Liddell")
		})
	}
}
