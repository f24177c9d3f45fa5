package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/issuekey"
	"github.com/forgebridge/forgebridge/internal/smartcommit"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
)

// TestSmartCommitsInJira is issue 13's example end to end with Jira: Bob
// pushes "PROJ-7 PROJ-8 #time 2h Fixed the parser #comment Ready for review
// #start-progress"; both issues get the work log, the comment and the
// transition, each done by Bob through his own grant, once. Carol, who never
// signed in with Jira, gets every command skipped as grant_required, and
// nothing is done as the service account.
func TestSmartCommitsInJira(t *testing.T) {
	ctx := context.Background()
	const callback = "https://fb.example.com/login/jira/callback"
	jr := fakejira.New()
	defer jr.Close()
	jr.AddUser(fakejira.User{Name: "svc", Active: true, Groups: []string{"jira-administrators"}, Token: "jira-svc-token"})
	jr.AddUser(fakejira.User{Key: "JIRAUSER10001", Name: "bob", DisplayName: "Bob", Email: "bob@example.com", Active: true})
	jr.AddUser(fakejira.User{Key: "JIRAUSER10002", Name: "carol", DisplayName: "Carol", Email: "carol@example.com", Active: true})
	for _, k := range []string{"PROJ-7", "PROJ-8"} {
		jr.AddIssue(k, "Parser", "Bug")
	}
	for _, who := range []string{"bob", "carol"} {
		jr.Grant(who, "PROJ", "BROWSE_PROJECTS", "ADD_COMMENTS", "WORK_ON_ISSUES", "TRANSITION_ISSUES")
	}
	jr.AddOAuthClient("fb-client", "fb-client-secret", callback)
	st := storetest.OpenSQLite(t, nil)
	env := map[string]string{"FORGEBRIDGE_JIRA_TOKEN": "jira-svc-token",
		"FORGEBRIDGE_JIRA_OAUTH_CLIENT_ID": "fb-client", "FORGEBRIDGE_JIRA_OAUTH_CLIENT_SECRET": "fb-client-secret"}
	jt, err := openJira(ctx, func(k string) string { return env[k] }, jr.URL(), nil, st)
	if err != nil {
		t.Fatal(err)
	}
	accounts := withLocalAccounts{jira: jt, local: st}
	svc := &app.Service{Store: st, Tracker: accounts, Logger: slog.New(slog.DiscardHandler)}

	// Bob signs in with Jira, as the web callback does.
	jr.SetOAuthUser("bob")
	b := make([]byte, 32)
	rand.Read(b)
	verifier := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(accounts.AuthorizeURL("st", base64.RawURLEncoding.EncodeToString(sum[:]), callback))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	grant, err := accounts.ExchangeGrant(ctx, loc.Query().Get("code"), verifier, callback)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := accounts.UserForToken(ctx, grant.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.SaveGrant(ctx, bob.Key, grant); err != nil {
		t.Fatal(err)
	}

	in := fb.Integration{Name: "acme", Kind: fb.KindGitHub, Settings: fb.IntegrationSettings{SmartCommits: true}}
	if err := st.CreateIntegration(ctx, &in); err != nil {
		t.Fatal(err)
	}
	authored := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	run := func(sha, email string) {
		t.Helper()
		cmds := smartcommit.Parse(issuekey.NewMatcher([]string{"PROJ"}),
			"PROJ-7 PROJ-8 #time 2h Fixed the parser #comment Ready for review #start-progress")
		if len(cmds) != 3 {
			t.Fatalf("parsed %d commands, want 3: %+v", len(cmds), cmds)
		}
		for _, cmd := range cmds {
			for _, key := range cmd.Keys {
				job := app.SmartCommitJob{IntegrationID: in.ID, SHA: sha, AuthorEmail: email, AuthoredAt: authored, IssueKey: key, Command: cmd}
				// Twice, as a second branch or a reindex would: done once.
				for range 2 {
					if err := svc.RunSmartCommit(ctx, job, "job-"+sha, true); err != nil {
						t.Fatalf("%s %s on %s: %v", sha, cmd.Kind, key, err)
					}
				}
			}
		}
	}
	run("aaaa111", "Bob@Example.com")
	run("bbbb222", "carol@example.com")

	for _, k := range []string{"PROJ-7", "PROJ-8"} {
		if s := jr.Status(k); s != "In Progress" {
			t.Errorf("%s status %q, want In Progress", k, s)
		}
		w := jr.Worklogs(k)
		if len(w) != 1 || w[0].Author != "bob" || w[0].TimeSpentSeconds != 7200 || w[0].Comment != "Fixed the parser" || !w[0].Started.Equal(authored) {
			t.Errorf("%s work logs %+v, want Bob's 2h once", k, w)
		}
		cm := jr.Comments(k)
		if len(cm) != 1 || cm[0].Author != "bob" || cm[0].Body != "Ready for review" {
			t.Errorf("%s comments %+v, want Bob's once", k, cm)
		}
	}
	for _, call := range jr.Calls() {
		if call.Method == http.MethodPost && call.Path != "/rest/oauth2/latest/token" && call.User != "bob" {
			t.Errorf("%s %s done as %q", call.Method, call.Path, call.User)
		}
	}
	entries, _, err := st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 100}, Action: fb.AuditSmartCommit})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, e := range entries {
		outcomes[e.User+" "+e.Outcome+" "+e.Code]++
	}
	if outcomes["bob success "] != 6 || outcomes["carol skipped grant_required"] != 6 || len(entries) != 12 {
		t.Errorf("audit outcomes %v, want bob's 6 successes and carol's 6 grant_required skips", outcomes)
	}
}
