package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/forgebridge/forgebridge/internal/provider/azure/fakeazure"
	"github.com/forgebridge/forgebridge/internal/provider/codecommit/fakecodecommit"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/provider/gitlab/fakegitlab"
)

// kindCase is one integration kind against its fake: how to create the
// integration, the person's good token, and how to revoke it on the fake.
type kindCase struct {
	kind        string
	integration map[string]any // baseUrl, region, credential…
	good, bad   map[string]any // the person's credential as the API takes it
	login       string
	repo        string // full name of a repository with the branch PROJ-1-feature
	revoke      func()
	close       func()

	// The host's side of indexing: a push straight to the host, a branch
	// deleted there, and the signed webhook delivery the host sends.
	push         func(branch, message string) (string, error)
	deleteBranch func(name string) error
	deliver      func(ref, before, after, secret string) (http.Header, []byte)
}

func kindCases() []kindCase {
	var cases []kindCase

	for _, kind := range []string{"github", "github-enterprise"} {
		gh := fakegithub.New()
		gh.AddToken("ghp_svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
		gh.AddToken("ghp_alice", fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
		repo := gh.AddRepo("acme/app", "main")
		repo.AddBranch("PROJ-1-feature")
		base := gh.URL()
		if kind == "github-enterprise" {
			base = gh.EnterpriseURL()
		}
		cases = append(cases, kindCase{kind: kind,
			integration: map[string]any{"baseUrl": base, "credential": map[string]any{"token": "ghp_svc"}},
			good:        map[string]any{"token": "ghp_alice"}, bad: map[string]any{"token": "ghp_nope"},
			login: "alice-gh", repo: "acme/app",
			revoke: func() { gh.AddToken("ghp_alice", fakegithub.Token{Login: "alice-gh", Expired: true}) },
			close:  gh.Close, push: repo.Push, deleteBranch: repo.DeleteBranch,
			deliver: func(ref, before, after, secret string) (http.Header, []byte) {
				return gh.PushDelivery(repo, ref, before, after, secret)
			}})
	}

	for _, kind := range []string{"gitlab", "gitlab-self-managed"} {
		gl := fakegitlab.New()
		gl.AddToken("glpat-svc", fakegitlab.Token{Username: "bot"})
		gl.AddToken("glpat-alice", fakegitlab.Token{Username: "alice"})
		project := gl.AddProject("acme/platform/app", "main")
		project.AddBranch("PROJ-1-feature")
		cases = append(cases, kindCase{kind: kind,
			integration: map[string]any{"baseUrl": gl.URL(), "credential": map[string]any{"token": "glpat-svc"}},
			good:        map[string]any{"token": "glpat-alice"}, bad: map[string]any{"token": "glpat-nope"},
			login: "alice", repo: "acme/platform/app",
			revoke: func() { gl.AddToken("glpat-alice", fakegitlab.Token{Username: "alice", Revoked: true}) },
			close:  gl.Close, push: project.Push, deleteBranch: project.DeleteBranch,
			deliver: func(ref, before, after, secret string) (http.Header, []byte) {
				return gl.PushDelivery(project, ref, before, after, secret)
			}})
	}

	for _, k := range []struct{ kind, version string }{{"azure-devops", ""}, {"vsts", ""}, {"tfs", "2019"}} {
		az := fakeazure.New("acme")
		if k.kind == "tfs" {
			az.SetAPIVersionRange("1.0", "5.0")
		}
		az.AddToken("svcpat", fakeazure.Token{Account: "bot@acme.example"})
		az.AddToken("alicepat", fakeazure.Token{Account: "alice@acme.example"})
		repo := az.AddRepo("Platform", "app", "main")
		repo.AddBranch("PROJ-1-feature")
		in := map[string]any{"baseUrl": az.URL(), "credential": map[string]any{"token": "svcpat"}}
		if k.version != "" {
			in["serverVersion"] = k.version
		}
		cases = append(cases, kindCase{kind: k.kind, integration: in,
			good: map[string]any{"token": "alicepat"}, bad: map[string]any{"token": "nopepat"},
			login: "alice@acme.example", repo: "Platform/app",
			revoke: func() { az.AddToken("alicepat", fakeazure.Token{Account: "alice@acme.example", Expired: true}) },
			close:  az.Close, push: repo.Push, deleteBranch: repo.DeleteBranch,
			deliver: func(ref, before, after, secret string) (http.Header, []byte) {
				return az.PushDelivery(repo, ref, before, after, secret)
			}})
	}

	cc := fakecodecommit.New("eu-west-1")
	cc.AddKey("AKIASERVICE000000001", "service-secret", fakecodecommit.Key{ARN: "arn:aws:iam::123456789012:user/bot"})
	cc.AddKey("AKIAALICE00000000001", "alice-secret", fakecodecommit.Key{ARN: "arn:aws:iam::123456789012:user/alice"})
	ccRepo := cc.AddRepo("app", "main")
	ccRepo.AddBranch("PROJ-1-feature")
	cases = append(cases, kindCase{kind: "codecommit",
		integration: map[string]any{"baseUrl": cc.URL(), "region": "eu-west-1",
			"credential": map[string]any{"accessKeyId": "AKIASERVICE000000001", "secretAccessKey": "service-secret"}},
		good:  map[string]any{"accessKeyId": "AKIAALICE00000000001", "secretAccessKey": "alice-secret"},
		bad:   map[string]any{"accessKeyId": "AKIAALICE00000000001", "secretAccessKey": "wrong-secret"},
		login: "arn:aws:iam::123456789012:user/alice", repo: "app",
		revoke: func() {
			cc.AddKey("AKIAALICE00000000001", "alice-secret", fakecodecommit.Key{ARN: "arn:aws:iam::123456789012:user/alice", Expired: true})
		},
		close: cc.Close, push: ccRepo.Push, deleteBranch: ccRepo.DeleteBranch,
		deliver: func(ref, before, after, secret string) (http.Header, []byte) {
			return cc.PushDelivery(ccRepo, ref, before, after, secret)
		}})
	return cases
}

// servedWithAlice starts the program with an administrator, the project
// PROJ, its issue PROJ-1 and alice, who may use development tools on it,
// and shuts it down when the test ends.
func servedWithAlice(t *testing.T) (p *program, admin, alice string) {
	t.Helper()
	p = newProgram(t, nil)
	admin, err := p.cli("", "users", "add", "admin", "--admin", "--create")
	if err != nil {
		t.Fatal(err)
	}
	admin = strings.TrimSpace(admin)
	p.serve()
	t.Cleanup(p.shutdown)
	p.must(p.call("POST", "/api/v1/directory/projects", admin, map[string]any{"key": "PROJ"}), 201, "project")
	alice = p.must(p.call("POST", "/api/v1/directory/users", admin, map[string]any{"name": "alice"}), 201, "alice").str("apiToken")
	p.must(p.call("PUT", "/api/v1/directory/projects/PROJ/permissions/alice", admin,
		map[string]any{"permissions": []string{"BROWSE_PROJECTS", "VIEW_DEV_TOOLS"}}), 200, "permissions")
	p.must(p.call("POST", "/api/v1/directory/issues", admin, map[string]any{"key": "PROJ-1", "summary": "Add the thing"}), 201, "issue")
	return p, admin, alice
}

// TestProgramEveryKind runs the attribution scenario through the whole
// program for every integration kind: a person cannot tell from
// forgebridge's behaviour which provider is behind a repository.
func TestProgramEveryKind(t *testing.T) {
	p, admin, alice := servedWithAlice(t)

	for _, kc := range kindCases() {
		t.Run(kc.kind, func(t *testing.T) {
			defer kc.close()
			p := *p
			p.t = t
			body := map[string]any{"name": "Acme " + kc.kind, "kind": kc.kind, "settings": map[string]any{"requireUserPat": true}}
			for k, v := range kc.integration {
				body[k] = v
			}
			in := p.must(p.call("POST", "/api/v1/integrations", admin, body), 201, "create integration")
			id := in.str("id")
			repos := p.must(p.call("GET", "/api/v1/repositories?q="+kc.repo, alice, nil), 200, "repositories")
			var repoID string
			for _, v := range repos.body["values"].([]any) {
				if r := v.(map[string]any); r["integrationId"] == id && r["fullName"] == kc.repo {
					repoID = r["id"].(string)
				}
			}
			if repoID == "" {
				t.Fatalf("repository %s not discovered: %s", kc.repo, repos.raw)
			}
			create := map[string]any{"repositoryId": repoID, "name": "PROJ-1-" + kc.kind}
			p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, create), 428, "pat_required", "no token")
			p.mustErr(p.call("PUT", "/api/v1/me/tokens/"+id, alice, kc.bad), 422, "token_rejected", "bad token")
			saved := p.must(p.call("PUT", "/api/v1/me/tokens/"+id, alice, kc.good), 200, "save token")
			if saved.str("login") != kc.login || saved.str("status") != "valid" {
				t.Fatalf("saved: %s", saved.raw)
			}
			b := p.must(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, create), 201, "create branch")
			if b.str("actor", "type") != "user" || b.str("actor", "login") != kc.login || b.str("webUrl") == "" {
				t.Fatalf("branch: %s", b.raw)
			}
			p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, create), 409, "already_exists", "branch again")
			pr := map[string]any{"repositoryId": repoID, "sourceBranch": "PROJ-1-feature"}
			got := p.must(p.call("POST", "/api/v1/issues/PROJ-1/pull-requests", alice, pr), 201, "create pull request")
			if got.str("actor", "login") != kc.login || got.str("webUrl") == "" || got.str("title") != "PROJ-1 Add the thing" {
				t.Fatalf("pull request: %s", got.raw)
			}
			p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/pull-requests", alice, pr), 409, "already_exists", "pull request again")
			kc.revoke()
			create["name"] = "PROJ-1-" + kc.kind + "-2"
			p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, create), 422, "token_rejected", "revoked token")
			p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, create), 428, "pat_invalid", "invalid token")
		})
	}
}
