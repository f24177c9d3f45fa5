package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
)

// TestJiraGrantWiring: with Sign in with Jira configured, the person's grant
// is kept under their Jira key and smart commits act as them; a local
// account has no grant; sign-out drops it.
func TestJiraGrantWiring(t *testing.T) {
	const callback = "https://fb.example.com/login/jira/callback"
	jr := fakejira.New()
	defer jr.Close()
	jr.AddUser(fakejira.User{Name: "svc", Active: true, Groups: []string{"jira-administrators"}, Token: "jira-svc-token"})
	jr.AddUser(fakejira.User{Key: "JIRAUSER10000", Name: "alice", DisplayName: "Alice", Active: true})
	jr.AddIssue("PROJ-7", "Parser", "Bug")
	jr.Grant("alice", "PROJ", "BROWSE_PROJECTS", "ADD_COMMENTS")
	jr.AddOAuthClient("fb-client", "fb-client-secret", callback)
	jr.SetOAuthUser("alice")
	st := storetest.OpenSQLite(t, nil)
	env := map[string]string{"FORGEBRIDGE_JIRA_TOKEN": "jira-svc-token",
		"FORGEBRIDGE_JIRA_OAUTH_CLIENT_ID": "fb-client", "FORGEBRIDGE_JIRA_OAUTH_CLIENT_SECRET": "fb-client-secret"}
	jt, err := openJira(t.Context(), func(k string) string { return env[k] }, jr.URL(), nil, st)
	if err != nil {
		t.Fatal(err)
	}
	accounts := withLocalAccounts{jira: jt, local: st}
	if !accounts.KeepsGrants() {
		t.Fatal("grants are not kept with Sign in with Jira configured")
	}

	// Sign in with Jira, as the web callback does.
	b := make([]byte, 32)
	rand.Read(b)
	verifier := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authURL, _ := url.Parse(accounts.AuthorizeURL("st", base64.RawURLEncoding.EncodeToString(sum[:]), callback))
	if authURL.Query().Get("scope") != "WRITE" {
		t.Fatalf("sign-in asks for scope %q, want WRITE", authURL.Query().Get("scope"))
	}
	resp, err := c.Get(authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("code") == "" {
		t.Fatalf("authorization redirect %s", loc)
	}
	grant, err := accounts.ExchangeGrant(t.Context(), loc.Query().Get("code"), verifier, callback)
	if err != nil {
		t.Fatal(err)
	}
	u, err := accounts.UserForToken(t.Context(), grant.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.SaveGrant(t.Context(), u.Key, grant); err != nil {
		t.Fatal(err)
	}
	if kept, err := st.JiraGrant(t.Context(), "JIRAUSER10000"); err != nil || kept.Scope != "WRITE" {
		t.Fatalf("grant under the Jira key: %+v, %v", kept, err)
	}

	// A request with an API token carries no Jira token: her permissions
	// are asked as her, with the kept grant, not searched for by the
	// service account.
	jr.ResetCalls()
	if got, err := accounts.Permissions(context.Background(), u, "PROJ"); err != nil || !got[fb.PermBrowseProjects] || got[fb.PermViewDevTools] {
		t.Fatalf("permissions with the kept grant: %v, %v", got, err)
	}
	if calls := jr.Calls(); len(calls) != 1 || calls[0].User != "alice" || calls[0].Path != "/rest/api/2/mypermissions" {
		t.Fatalf("calls %+v, want her permissions, asked as her", calls)
	}

	var actor fb.IssueActor = accounts
	if err := actor.Comment(t.Context(), u, "PROJ-7", "Ready for review"); err != nil {
		t.Fatal(err)
	}
	if got := jr.Comments("PROJ-7"); len(got) != 1 || got[0].Author != "alice" {
		t.Fatalf("comments %+v, want one by alice", got)
	}
	local := fb.User{Key: "admin", Name: "admin", Active: true}
	if err := actor.Comment(context.Background(), local, "PROJ-7", "x"); fb.ErrorCode(err) != fb.EGrantRequired {
		t.Fatalf("a local account's smart commit: %v, want grant_required", err)
	}
	if err := accounts.DropGrant(t.Context(), u.Key); err != nil {
		t.Fatal(err)
	}
	if err := actor.Comment(t.Context(), u, "PROJ-7", "x"); fb.ErrorCode(err) != fb.EGrantRequired {
		t.Fatalf("after sign-out: %v, want grant_required", err)
	}
	if len(jr.Comments("PROJ-7")) != 1 {
		t.Fatal("a comment was made without a grant")
	}
}
