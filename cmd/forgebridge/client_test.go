package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// TestClientCommands drives the server through the CLI's client commands.
func TestClientCommands(t *testing.T) {
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("ghp_svc", fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo"}})
	gh.AddToken("ghp_alice", fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main").AddBranch("PROJ-1-work")

	p := newProgram(t, nil)
	admin, err := p.cli("", "users", "add", "admin", "--admin", "--create")
	if err != nil {
		t.Fatal(err)
	}
	admin = strings.TrimSpace(admin)
	p.serve()
	defer p.shutdown()

	// as runs a client command with a person's API token.
	as := func(token, stdin string, args ...string) (string, error) {
		c := &program{t: t, env: map[string]string{"FORGEBRIDGE_SERVER": p.base, "FORGEBRIDGE_API_TOKEN": token}}
		return c.cli(stdin, args...)
	}
	must := func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := must(as(admin, "", "api", "GET", "/api/v1/me")); !strings.Contains(out, `"admin": true`) {
		t.Fatalf("api GET /api/v1/me: %s", out)
	}
	must(as(admin, "", "api", "POST", "/api/v1/directory/projects", `{"key":"PROJ"}`))
	var alice struct{ APIToken string }
	if err := json.Unmarshal([]byte(must(as(admin, "", "api", "POST", "/api/v1/directory/users", `{"name":"alice"}`))), &alice); err != nil {
		t.Fatal(err)
	}
	must(as(admin, "", "api", "PUT", "/api/v1/directory/projects/PROJ/permissions/alice", `{"permissions":["BROWSE_PROJECTS","VIEW_DEV_TOOLS"]}`))
	must(as(admin, "", "api", "POST", "/api/v1/directory/issues", `{"key":"PROJ-1","summary":"From the command line"}`))
	var in struct{ ID string }
	json.Unmarshal([]byte(must(as(admin, "", "api", "POST", "/api/v1/integrations",
		`{"name":"GH","kind":"github","baseUrl":"`+gh.URL()+`","credential":{"token":"ghp_svc"},"settings":{"requireUserPat":true}}`))), &in)

	var repos struct{ Values []struct{ ID string } }
	if err := json.Unmarshal([]byte(must(as(alice.APIToken, "", "repos", "--q", "acme/app"))), &repos); err != nil || len(repos.Values) != 1 {
		t.Fatalf("repos: %+v %v", repos, err)
	}
	repo := repos.Values[0].ID

	if _, err := as(alice.APIToken, "", "branch", "create", "PROJ-1", "--repository", repo); err == nil || !strings.Contains(err.Error(), "pat_required") {
		t.Fatalf("branch create without a token: %v", err)
	}
	if out := must(as(alice.APIToken, "ghp_alice\n", "token", "set", in.ID)); !strings.Contains(out, `"login": "alice-gh"`) || strings.Contains(out, "ghp_alice") {
		t.Fatalf("token set: %s", out)
	}
	out := must(as(alice.APIToken, "", "branch", "create", "--repository", repo, "PROJ-1"))
	if !strings.Contains(out, `"name": "PROJ-1-from-the-command-line"`) || !strings.Contains(out, `"login": "alice-gh"`) {
		t.Fatalf("branch create: %s", out)
	}
	if _, err := as(alice.APIToken, "", "branch", "create", "PROJ-1", "--repository", repo); err == nil || !strings.Contains(err.Error(), "already_exists") {
		t.Fatalf("branch create again: %v", err)
	}
	if out := must(as(alice.APIToken, "", "pr", "create", "PROJ-1", "--repository", repo, "--source", "PROJ-1-work", "--draft")); !strings.Contains(out, `"webUrl"`) {
		t.Fatalf("pr create: %s", out)
	}
	if out := must(as(alice.APIToken, "", "branch", "delete", "PROJ-1", "--repository", repo, "--name", "PROJ-1-from-the-command-line")); !strings.Contains(out, "Deleted the branch PROJ-1-from-the-command-line") {
		t.Fatalf("branch delete: %s", out)
	}
	if _, ok := gh.Repo("acme/app").Branch("PROJ-1-from-the-command-line"); ok {
		t.Fatal("branch delete left the branch on the host")
	}
	for name, code := range map[string]string{"PROJ-1-from-the-command-line": "not_found", "main": "forbidden"} {
		if _, err := as(alice.APIToken, "", "branch", "delete", "PROJ-1", "--repository", repo, "--name", name); err == nil || !strings.Contains(err.Error(), code) {
			t.Fatalf("branch delete %s: %v, want %s", name, err, code)
		}
	}
	if out := must(as(alice.APIToken, "\n", "token", "set", in.ID)); !strings.Contains(out, `"configured": false`) {
		t.Fatalf("token set with an empty line: %s", out)
	}

	tests := []struct {
		name  string
		token string
		args  []string
		want  string
	}{
		{"no API token", "", []string{"api", "GET", "/api/v1/me"}, "FORGEBRIDGE_API_TOKEN"},
		{"wrong API token", "fbt_nope", []string{"api", "GET", "/api/v1/me"}, "unauthenticated"},
		{"path without a slash", alice.APIToken, []string{"api", "GET", "api/v1/me"}, "METHOD PATH"},
		{"body that is not JSON", alice.APIToken, []string{"api", "POST", "/api/v1/me", "{"}, "not JSON"},
		{"issue missing", alice.APIToken, []string{"branch", "create", "--repository", repo}, "exactly one NAME"},
		{"branch to delete missing", alice.APIToken, []string{"branch", "delete", "PROJ-1", "--repository", repo}, "--name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := as(tt.token, "", tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
