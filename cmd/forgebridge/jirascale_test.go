package main

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"

	"strings"
	"testing"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
)

// TestProgramJiraDegraded starts the server while Jira is down: it serves,
// /readyz stays ready and says "jira":"down", what needs Jira answers
// tracker_unavailable, and all works once Jira answers again. A token that
// Jira turns away (401 or 403 from /myself) still stops the start.
func TestProgramJiraDegraded(t *testing.T) {
	jr := fakejira.New()
	defer jr.Close()
	jr.AddUser(fakejira.User{Name: "svc", DisplayName: "Service", Active: true, Groups: []string{"jira-administrators"}, Token: "jira-svc-token"})
	jr.AddUser(fakejira.User{Name: "alice", DisplayName: "Alice", Active: true, Token: "jira-alice-token"})
	jr.AddUser(fakejira.User{Name: "gone", DisplayName: "Deactivated service", Active: true, Token: "jira-gone-token"})
	jr.SetActive("gone", false)

	tests := []struct {
		name  string
		token string
		down  bool
		want  string // in the error; empty: it starts
	}{
		{name: "Jira down, a good token: starts degraded", token: "jira-svc-token", down: true},
		{name: "Jira down, any token: cannot tell, starts degraded", token: "wrong-token", down: true},
		{name: "a token Jira rejects", token: "wrong-token", want: "rejected the service token"},
		{name: "the token of a deactivated account", token: "jira-gone-token", want: "rejected the service token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jr.SetDown(tt.down)
			defer jr.SetDown(false)
			p := newProgram(t, map[string]string{"FORGEBRIDGE_JIRA_TOKEN": tt.token})
			if tt.want != "" {
				_, err := p.cli("", "serve", "--addr", "127.0.0.1:0", "--tracker", "jira", "--jira-url", jr.URL())
				if err == nil || !strings.Contains(message(err)+err.Error(), tt.want) || strings.Contains(err.Error(), tt.token) {
					t.Fatalf("serve: %v, want an error saying %q", err, tt.want)
				}
				return
			}
			p.serve("--tracker", "jira", "--jira-url", jr.URL())
			defer p.shutdown()
			if r := p.must(p.call("GET", "/readyz", "", nil), 200, "readyz"); r.str("status") != "ready" || r.str("jira") != "down" {
				t.Fatalf("readyz with Jira down: %s", r.raw)
			}
			p.mustErr(p.call("POST", "/api/v1/session/jira", "", map[string]any{"token": "jira-alice-token"}), 502, "tracker_unavailable", "sign-in with Jira down")
			if !strings.Contains(p.stderr.String(), "Jira does not answer") {
				t.Errorf("the degraded start was not logged: %s", p.stderr.String())
			}

			// Jira answers again: the next call that reaches it says so.
			jr.SetDown(false)
			if tt.token != "jira-svc-token" {
				return // a wrong token is the administrator's to fix; Jira keeps refusing it
			}
			alice := p.must(p.call("POST", "/api/v1/session/jira", "", map[string]any{"token": "jira-alice-token"}), 200, "sign-in").str("apiToken")
			p.must(p.call("GET", "/api/v1/repositories", alice, nil), 200, "repositories")
			if r := p.must(p.call("GET", "/readyz", "", nil), 200, "readyz"); r.str("jira") != "ok" {
				t.Fatalf("readyz with Jira back: %s", r.raw)
			}
		})
	}
}

// TestProgramJiraAsPerson signs alice in through Jira's OAuth and lists
// repositories of an integration serving every project, among many: Jira is
// asked about her projects as her, in one call, and not per project. Carol
// signs in with a personal access token, which answers the same question at
// sign-in, so her first listing costs no call.
func TestProgramJiraAsPerson(t *testing.T) {
	jr := fakejira.New()
	defer jr.Close()
	jr.AddUser(fakejira.User{Name: "svc", DisplayName: "Service", Active: true, Groups: []string{"jira-administrators"}, Token: "jira-svc-token"})
	jr.AddUser(fakejira.User{Name: "alice", DisplayName: "Alice", Active: true, Token: "jira-alice-token"})
	const projects = 200
	for i := range projects {
		key := fmt.Sprintf("P%03d", i)
		jr.AddProject(key, key)
		jr.Grant("svc", key, "BROWSE_PROJECTS")
	}
	jr.AddUser(fakejira.User{Name: "carol", DisplayName: "Carol", Active: true, Token: "jira-carol-token"})
	jr.Grant("alice", "P150", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	jr.Grant("carol", "P150", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	jr.AddOAuthClient("fb-client", "fb-secret", "") // the redirect URL is known once serving
	jr.SetOAuthUser("alice")

	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("ghp_svc", fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo"}})
	gh.AddRepo("acme/shop", "main")

	p := newProgram(t, map[string]string{"FORGEBRIDGE_JIRA_TOKEN": "jira-svc-token",
		"FORGEBRIDGE_JIRA_OAUTH_CLIENT_ID": "fb-client", "FORGEBRIDGE_JIRA_OAUTH_CLIENT_SECRET": "fb-secret"})
	admin, err := p.cli("", "users", "add", "admin", "--admin", "--create")
	if err != nil {
		t.Fatal(err)
	}
	p.serve("--tracker", "jira", "--jira-url", jr.URL())
	defer p.shutdown()
	jr.AddOAuthClient("fb-client", "fb-secret", p.base+"/login/jira/callback")
	p.must(p.call("POST", "/api/v1/integrations", strings.TrimSpace(admin), map[string]any{"name": "GH", "kind": "github",
		"baseUrl": gh.URL(), "credential": map[string]any{"token": "ghp_svc"}}), 201, "integration")

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	aliceAPI := p.must(p.call("POST", "/api/v1/session/jira", "", map[string]any{"token": "jira-alice-token"}), 200, "session").str("apiToken")
	carolAPI := p.must(p.call("POST", "/api/v1/session/jira", "", map[string]any{"token": "jira-carol-token"}), 200, "session").str("apiToken")

	countCalls := func(list func()) (asAlice, searches int) {
		jr.ResetCalls()
		list()
		for _, c := range jr.Calls() {
			if c.User == "alice" && c.Path != "/rest/api/2/myself" {
				asAlice++
			}
			if c.Path == "/rest/api/2/user/permission/search" {
				searches++
			}
		}
		return asAlice, searches
	}
	tests := []struct {
		name        string
		list        func()
		wantAsAlice int
		maxSearches int
	}{
		{name: "signing in through Jira lands on the repository browser: her project list, as her", wantAsAlice: 1, list: func() {
			resp, err := browser.Get(p.base + "/login/jira")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.Request.URL.Path != "/repositories" || resp.StatusCode != 200 {
				t.Fatalf("sign in with Jira ended at %s with %d", resp.Request.URL, resp.StatusCode)
			}
		}},
		{name: "again: nothing asked within the cache period", list: func() {
			resp, err := browser.Get(p.base + "/api/v1/repositories")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("repositories in the browser: %v %v", resp, err)
			}
			resp.Body.Close()
		}},
		{name: "alice with an API token: what Jira told as her stands", list: func() {
			v := p.must(p.call("GET", "/api/v1/repositories", aliceAPI, nil), 200, "repositories").body["values"].([]any)
			if len(v) != 1 {
				t.Fatalf("repositories: %v", v)
			}
		}},
		{name: "carol, signed in with a personal access token: what Jira told as her at sign-in stands", list: func() {
			v := p.must(p.call("GET", "/api/v1/repositories", carolAPI, nil), 200, "repositories").body["values"].([]any)
			if len(v) != 1 {
				t.Fatalf("repositories: %v", v)
			}
		}},
		{name: "carol again: cached", list: func() {
			p.must(p.call("GET", "/api/v1/repositories", carolAPI, nil), 200, "repositories")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asAlice, searches := countCalls(tt.list)
			if asAlice != tt.wantAsAlice || searches > tt.maxSearches {
				t.Errorf("calls as alice %d (want %d), permission searches %d (want at most %d)", asAlice, tt.wantAsAlice, searches, tt.maxSearches)
			}
		})
	}
}
