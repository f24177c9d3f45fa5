package app_test

import (
	"context"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

// TestIssueShowsOnlyServingIntegrations: an issue shows the commits,
// branches and pull requests of repositories of integrations that serve its
// project, not those another project's integration found for the same key.
func TestIssueShowsOnlyServingIntegrations(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenSQLite(t, nil)
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main")
	queue := &scriptedQueue{}
	svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: drivers.New, Queue: queue,
		Index: app.Indexing{Store: st, Secrets: st, Webhooks: drivers.Webhook}}
	admin, _, err := svc.AddUser(ctx, fb.User{Name: "admin", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"PROJ", "OPS"} {
		must(svc.CreateProject(ctx, admin, fb.Project{Key: p}))
		must(svc.SetPermissions(ctx, admin, p, "admin", []string{fb.PermBrowseProjects, fb.PermViewDevTools}))
	}
	must(svc.CreateIssue(ctx, admin, fb.Issue{Key: "PROJ-1", Summary: "Scoped"}))
	if _, _, err := svc.CreateUser(ctx, admin, fb.User{Name: "alice", DisplayName: "Alice", Email: "Alice@Example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateUser(ctx, admin, fb.User{Name: "mallory", Email: "not an address"}); fb.ErrorCode(err) != fb.EInvalid {
		t.Errorf("a user with a bad email: %v, want invalid_request", err)
	}
	kind, base := fb.KindGitHub, gh.URL()
	serving, err := svc.CreateIntegration(ctx, admin, app.IntegrationInput{Name: new("Serving"), Kind: &kind, BaseURL: &base,
		Credential: &fb.Credential{Token: "svc"}, Projects: &[]string{"PROJ"}})
	must(serving, err)
	other, err := svc.CreateIntegration(ctx, admin, app.IntegrationInput{Name: new("Other"), Kind: &kind, BaseURL: &base,
		Credential: &fb.Credential{Token: "svc"}, Projects: &[]string{"OPS"}})
	must(other, err)
	if len(queue.indexed) != 2 {
		t.Errorf("creating two integrations queued %d index runs, want one per repository (2)", len(queue.indexed))
	}
	repoOf := func(in fb.Integration) fb.Repository {
		repos, err := st.IntegrationRepositories(ctx, in.ID)
		if err != nil || len(repos) != 1 {
			t.Fatalf("repositories of %s: %v, %v", in.Name, repos, err)
		}
		return repos[0]
	}
	now := time.Now().UTC()
	for _, r := range []fb.Repository{repoOf(serving), repoOf(other)} {
		must(nil, st.AddCommits(ctx, r.ID, []fb.Commit{{RepositoryID: r.ID, SHA: "a1" + r.ID[:6], Message: "PROJ-1 work",
			AuthorName: "A. Liddell", AuthorEmail: "alice@example.com", AuthoredAt: now, Keys: []string{"PROJ-1"}}}))
		must(nil, st.FinishIndex(ctx, fb.IndexRun{RepositoryID: r.ID, StartedAt: now,
			Branches: []fb.LinkedRef{{GitRef: fb.GitRef{Name: "PROJ-1-x", SHA: "a1"}, Keys: []string{"PROJ-1"}}},
			Tips:     map[string]string{"refs/heads/PROJ-1-x": "a1"},
			State:    fb.IndexState{RepositoryID: r.ID, State: fb.IndexIndexed, UpdatedAt: now}}))
	}
	v, err := svc.Issue(ctx, admin, "PROJ-1")
	if err != nil {
		t.Fatal(err)
	}
	want := repoOf(serving).ID
	if v.CommitCount != 1 || len(v.Commits) != 1 || v.Commits[0].RepositoryID != want {
		t.Errorf("commits %+v (count %d), want only the serving integration's", v.Commits, v.CommitCount)
	}
	if len(v.Branches) != 1 || v.Branches[0].RepositoryID != want {
		t.Errorf("branches %+v, want only the serving integration's", v.Branches)
	}
	if u := v.Commits[0].User; u == nil || u.Name != "alice" {
		t.Errorf("the commit's author is %+v, want alice by her email", u)
	}
	if v.Commits[0].WebURL != gh.URL()+"/acme/app/commit/"+v.Commits[0].SHA {
		t.Errorf("commit address %q", v.Commits[0].WebURL)
	}
}
