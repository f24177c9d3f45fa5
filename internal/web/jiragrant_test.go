package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/tracker/jira"
)

// TestJiraGrantKeptUntilSignOut: with grants kept, the sign-in page says
// what for, signing in with Jira keeps the person's grant (never in the
// page or cookies), and signing out drops it.
func TestJiraGrantKeptUntilSignOut(t *testing.T) {
	const callback = "http://example.com/login/jira/callback"
	e, fj := withRealJira(t, true, callback)
	grants, ok := e.app.Store.(jira.GrantStore)
	if !ok {
		t.Fatal("the store keeps no Jira grants")
	}
	tr, err := jira.New(jira.Config{BaseURL: fj.URL(), ServiceToken: jiraServiceToken,
		OAuth: &jira.OAuthConfig{ClientID: jiraClientID, ClientSecret: jiraClientSecret}, Grants: grants})
	if err != nil {
		t.Fatal(err)
	}
	e.app.Tracker, e.web.Jira = tr, tr
	fj.AddIssue("PROJ-7", "Parser", "Bug")
	fj.Grant("alice", "PROJ", "BROWSE_PROJECTS", "ADD_COMMENTS")

	b := e.browser()
	page := b.get("/login")
	mustStatus(t, "sign-in page", page, http.StatusOK)
	mustContain(t, "sign-in page", page.body(), "data-jira-grant", "smart commits act as you", "Signing out of forgebridge removes it")

	r := b.get("/login/jira")
	mustStatus(t, "start", r, http.StatusSeeOther)
	r = b.get(visitJira(t, r.Header().Get("Location")).RequestURI())
	mustStatus(t, "callback", r, http.StatusSeeOther)
	g, err := grants.JiraGrant(context.Background(), "JIRAUSER10100")
	if err != nil {
		t.Fatalf("no grant kept at sign-in: %v", err)
	}
	mustNotContain(t, "callback", r.body()+setCookies(r), g.RefreshToken)
	alice := fb.User{Key: "JIRAUSER10100", Name: "alice", Active: true}
	if err := tr.Comment(context.Background(), alice, "PROJ-7", "Ready for review"); err != nil {
		t.Fatalf("acting as alice with her grant: %v", err)
	}
	if c := fj.Comments("PROJ-7"); len(c) != 1 || c[0].Author != "alice" {
		t.Fatalf("comments %+v, want one by alice", c)
	}

	mustStatus(t, "sign out", b.post("/logout", nil), http.StatusSeeOther)
	if _, err := grants.JiraGrant(context.Background(), "JIRAUSER10100"); fb.ErrorCode(err) != fb.ENotFound {
		t.Fatalf("grant after sign-out: %v, want not_found", err)
	}
	if err := tr.Comment(context.Background(), alice, "PROJ-7", "x"); fb.ErrorCode(err) != fb.EGrantRequired {
		t.Fatalf("acting after sign-out: %v, want grant_required", err)
	}
}

// TestSignInPageWithoutGrants: without a grant store the page makes no
// such promise.
func TestSignInPageWithoutGrants(t *testing.T) {
	e, _ := withRealJira(t, true, "http://example.com/login/jira/callback")
	page := e.browser().get("/login")
	mustNotContain(t, "sign-in page", page.body(), "data-jira-grant")
}

// TestBrowserJiraGrant walks it in Chromium: the sign-in page says what the
// kept grant is for, signing in with Jira keeps it, signing out drops it.
func TestBrowserJiraGrant(t *testing.T) {
	chromium(t)
	e, fj := withRealJira(t, true, "")
	grants := e.app.Store.(jira.GrantStore)
	tr, err := jira.New(jira.Config{BaseURL: fj.URL(), ServiceToken: jiraServiceToken,
		OAuth: &jira.OAuthConfig{ClientID: jiraClientID, ClientSecret: jiraClientSecret}, Grants: grants})
	if err != nil {
		t.Fatal(err)
	}
	e.app.Tracker, e.web.Jira = tr, tr
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	fj.AddOAuthClient(jiraClientID, jiraClientSecret, base+"/login/jira/callback")
	p := newPage(t, base)

	p.open("/login", "[data-jira-grant]")
	mustHave(t, "sign-in page", p.text("[data-jira-grant]"), "smart commits act as you", "made in Jira by you", "Signing out of forgebridge removes it")
	p.screenshot("sign-in-grant")
	p.run("sign in with Jira", chromedp.Click(chromedp.CSS("[data-jira-signin]")), chromedp.WaitVisible(chromedp.CSS("form.signout")))
	if _, err := grants.JiraGrant(context.Background(), "JIRAUSER10100"); err != nil {
		t.Fatalf("no grant kept after signing in with Jira: %v", err)
	}
	p.signOut()
	if _, err := grants.JiraGrant(context.Background(), "JIRAUSER10100"); fb.ErrorCode(err) != fb.ENotFound {
		t.Fatalf("grant after signing out: %v, want not_found", err)
	}
}
