package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
)

// TestProgramJira runs the program with the Jira tracker: people sign in
// with their Jira token, Jira's permissions decide before any provider
// call, and a created branch appears on the Jira issue as one remote link.
func TestProgramJira(t *testing.T) {
	jr := fakejira.New()
	defer jr.Close()
	jr.AddUser(fakejira.User{Name: "svc", DisplayName: "Service", Active: true, Groups: []string{"jira-administrators"}, Token: "jira-svc-token"})
	jr.AddUser(fakejira.User{Name: "alice", DisplayName: "Alice", Active: true, Token: "jira-alice-token"})
	jr.AddUser(fakejira.User{Name: "al", DisplayName: "Al", Active: true, Token: "jira-al-token"})
	jr.AddUser(fakejira.User{Name: "root", DisplayName: "Jira Admin", Active: true, Groups: []string{"jira-administrators"}, Token: "jira-root-token"})
	jr.AddUser(fakejira.User{Name: "ops", DisplayName: "Ops in Jira", Active: true, Token: "jira-ops-token"})
	jr.AddProject("PROJ", "Project")
	jr.AddIssue("PROJ-7", "Make checkout faster", "Story")
	jr.AddIssue("PROJ-8", "Security fix", "Bug")
	jr.RestrictIssue("PROJ-8", "root") // an issue security level alice is not in
	jr.Grant("svc", "PROJ", "BROWSE_PROJECTS", "LINK_ISSUES")
	jr.Grant("alice", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	jr.Grant("al", "PROJ", "BROWSE_PROJECTS")

	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("ghp_svc", fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo"}})
	gh.AddRepo("acme/shop", "main")

	// A service token Jira rejects stops the start, saying so.
	bad := newProgram(t, map[string]string{"FORGEBRIDGE_JIRA_TOKEN": "wrong-token"})
	if _, err := bad.cli("", "serve", "--addr", "127.0.0.1:0", "--tracker", "jira", "--jira-url", jr.URL()); err == nil ||
		!strings.Contains(message(err)+err.Error(), "rejected") || strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("serve with a rejected Jira token: %v", err)
	}

	p := newProgram(t, map[string]string{"FORGEBRIDGE_JIRA_TOKEN": "jira-svc-token",
		"FORGEBRIDGE_JIRA_OAUTH_CLIENT_ID": "fb-client", "FORGEBRIDGE_JIRA_OAUTH_CLIENT_SECRET": "fb-secret"})
	// A local administrator account, named like an ordinary Jira user.
	localOps, err := p.cli("", "users", "add", "ops", "--admin", "--create")
	if err != nil {
		t.Fatal(err)
	}
	p.serve("--tracker", "jira", "--jira-url", jr.URL())
	defer p.shutdown()
	if strings.Contains(p.stderr.String(), "jira-svc-token") {
		t.Fatal("the service token was logged")
	}
	ready := p.must(p.call("GET", "/readyz", "", nil), 200, "readyz")
	if ready.str("jira") != "ok" {
		t.Fatalf("readyz: %s", ready.raw)
	}

	// The web UI offers "Sign in with Jira", which goes to Jira's OAuth 2.0 authorize endpoint.
	if login := p.must(p.call("GET", "/login", "", nil), 200, "sign-in page"); !strings.Contains(login.raw, "/login/jira") {
		t.Fatalf("the sign-in page does not offer Jira: %.300s", login.raw)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(p.base + "/login/jira")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(loc, jr.URL()+"/rest/oauth2/latest/authorize?") || !strings.Contains(loc, "code_challenge_method=S256") {
		t.Fatalf("sign in with Jira: %d %s", resp.StatusCode, loc)
	}

	p.mustErr(p.call("POST", "/api/v1/session/jira", "", map[string]any{"token": "wrong"}), 401, "unauthenticated", "bad Jira token")
	session := func(token string) string {
		a := p.must(p.call("POST", "/api/v1/session/jira", "", map[string]any{"token": token}), 200, "session")
		if a.str("apiToken") == "" || strings.Contains(a.raw, token) {
			t.Fatalf("session answer: %s", a.raw)
		}
		return a.str("apiToken")
	}
	root, alice, al := session("jira-root-token"), session("jira-alice-token"), session("jira-al-token")
	// The CLI's login reads the Jira token from standard input and prints only the API token.
	cl := &program{t: t, env: map[string]string{"FORGEBRIDGE_SERVER": p.base}}
	if out, err := cl.cli("jira-alice-token\n", "login", "jira"); err != nil || !strings.HasPrefix(out, "fbt_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("login jira: %q %v", out, err)
	}
	if _, err := cl.cli("wrong\n", "login", "jira"); err == nil || !strings.Contains(err.Error(), "unauthenticated") {
		t.Fatalf("login jira with a wrong token: %v", err)
	}
	if me := p.must(p.call("GET", "/api/v1/me", root, nil), 200, "me"); me.body["admin"] != true || me.str("name") != "root" {
		t.Fatalf("Jira administrator: %s", me.raw)
	}
	// The Jira user ops is not the local administrator ops.
	if me := p.must(p.call("GET", "/api/v1/me", session("jira-ops-token"), nil), 200, "Jira ops"); me.body["admin"] != false {
		t.Fatalf("the Jira user ops became an administrator: %s", me.raw)
	}
	if me := p.must(p.call("GET", "/api/v1/me", strings.TrimSpace(localOps), nil), 200, "local ops"); me.body["admin"] != true {
		t.Fatalf("local administrator: %s", me.raw)
	}
	in := p.must(p.call("POST", "/api/v1/integrations", root, map[string]any{"name": "GH", "kind": "github", "baseUrl": gh.URL(),
		"credential": map[string]any{"token": "ghp_svc"}}), 201, "integration")
	_ = in
	repoID := p.must(p.call("GET", "/api/v1/repositories", alice, nil), 200, "repositories").body["values"].([]any)[0].(map[string]any)["id"].(string)

	before := actionCalls(gh)
	p.mustErr(p.call("POST", "/api/v1/issues/PROJ-7/branches", al, map[string]any{"repositoryId": repoID}), 403, "forbidden", "al lacks View Development Tools")
	if actionCalls(gh) != before {
		t.Fatal("a refused action called GitHub")
	}
	p.mustErr(p.call("POST", "/api/v1/issues/PROJ-8/branches", alice, map[string]any{"repositoryId": repoID}), 403, "forbidden", "restricted issue")
	p.mustErr(p.call("GET", "/api/v1/issues/PROJ-8", alice, nil), 403, "forbidden", "restricted issue page")
	if actionCalls(gh) != before {
		t.Fatal("a refused action called GitHub")
	}
	b := p.must(p.call("POST", "/api/v1/issues/PROJ-7/branches", alice, map[string]any{"repositoryId": repoID}), 201, "create branch")
	if b.str("name") != "PROJ-7-make-checkout-faster" {
		t.Fatalf("branch: %s", b.raw)
	}
	p.mustErr(p.call("POST", "/api/v1/issues/PROJ-7/branches", alice, map[string]any{"repositoryId": repoID}), 409, "already_exists", "retried request")
	// Indexing adds the issue's development panel link in the background.
	links := slices.DeleteFunc(jr.RemoteLinks("PROJ-7"), func(l fakejira.RemoteLinkRecord) bool {
		return strings.HasPrefix(l.GlobalID, "forgebridge:issue:")
	})
	if len(links) != 1 || links[0].URL != b.str("webUrl") || !strings.HasPrefix(links[0].GlobalID, "forgebridge:") ||
		links[0].IconURL != gh.URL()+"/favicon.ico" || links[0].IconTitle != "GitHub" {
		t.Fatalf("remote links on PROJ-7: %+v", links)
	}

	// The index run the creation queued links PROJ-7 to its development panel, counts in the title.
	p.waitFor("the development panel link on PROJ-7", func() bool {
		for _, l := range jr.RemoteLinks("PROJ-7") {
			if l.GlobalID == "forgebridge:issue:PROJ-7:development" {
				return l.Title == "0 commits, 1 branch, 0 pull requests" && l.URL == p.base+"/browse/PROJ-7"
			}
		}
		return false
	})

	issue := p.must(p.call("GET", "/api/v1/issues/PROJ-7", alice, nil), 200, "issue")
	if got := issue.body["branches"].([]any)[0].(map[string]any)["trackerLink"]; got != "linked" {
		t.Fatalf("trackerLink of the branch = %v, want linked: %s", got, issue.raw)
	}

	jr.SetDown(true)
	before = actionCalls(gh)
	p.mustErr(p.call("POST", "/api/v1/issues/PROJ-7/branches", alice, map[string]any{"repositoryId": repoID, "name": "PROJ-7-x"}), 502, "tracker_unavailable", "Jira down")
	if actionCalls(gh) != before {
		t.Fatal("an action without a permission decision called GitHub")
	}
	if r := p.must(p.call("GET", "/readyz", "", nil), 200, "readyz with Jira down"); r.str("jira") != "down" || r.str("status") != "ready" {
		t.Fatalf("readyz: %s", r.raw)
	}
}

// TestJiraCommitAuthors: with the Jira tracker, a commit's author is the
// Jira user with the author's email, under the key forgebridge gives Jira
// users.
func TestJiraCommitAuthors(t *testing.T) {
	jr := fakejira.New()
	defer jr.Close()
	jr.AddUser(fakejira.User{Name: "svc", Active: true, Groups: []string{"jira-administrators"}, Token: "jira-svc-token"})
	jr.AddUser(fakejira.User{Key: "JIRAUSER10000", Name: "alice", DisplayName: "Alice", Email: "alice@example.com", Active: true})
	jt, err := openJira(t.Context(), func(k string) string {
		return map[string]string{"FORGEBRIDGE_JIRA_TOKEN": "jira-svc-token"}[k]
	}, jr.URL(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var people fb.PeopleByEmail = withLocalAccounts{jira: jt}
	got, err := people.UsersByEmail(t.Context(), []string{"Alice@Example.com", "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if u := got["alice@example.com"]; len(got) != 1 || u.Key != "jira:JIRAUSER10000" || u.Name != "alice" || u.DisplayName != "Alice" {
		t.Errorf("authors = %+v, want alice under jira:JIRAUSER10000", got)
	}
}
