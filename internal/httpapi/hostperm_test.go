package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store"
)

// hostPermEnv is the env with a second, private repository acme/secret that
// the service account sees and alice's GitHub account (alice-gh) does not,
// a commit of PROJ-1 in each, and a clock the test moves.
type hostPermEnv struct {
	*env
	secretID string
	now      time.Time
}

func newHostPermEnv(t *testing.T) *hostPermEnv {
	e := &hostPermEnv{env: newEnv(t), now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	secret := e.gh.AddRepo("acme/secret", "main")
	secret.SetPrivate(true)
	secret.AddCollaborator("acme-bot")
	root := fb.User{Name: "admin", Admin: true}
	if _, err := e.svc.SyncIntegration(ctx, root, e.integrationID); err != nil {
		t.Fatal(err)
	}
	st := e.svc.Store.(*store.Store)
	repos, err := st.IntegrationRepositories(ctx, e.integrationID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range repos {
		if r.FullName == "acme/secret" {
			e.secretID = r.ID
		}
	}
	if e.secretID == "" {
		t.Fatalf("acme/secret not discovered: %+v", repos)
	}
	e.svc.Now = func() time.Time { return e.now }
	e.svc.PermissionCache = time.Hour
	e.svc.Index = app.Indexing{Store: st, Search: st}
	for _, c := range []struct{ repo, sha string }{{e.repoID, strings.Repeat("a", 40)}, {e.secretID, strings.Repeat("b", 40)}} {
		if err := st.AddCommits(ctx, c.repo, []fb.Commit{{SHA: c.sha, Message: "PROJ-1 work", AuthoredAt: e.now, Keys: []string{"PROJ-1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *hostPermEnv) enforce(on bool) {
	e.t.Helper()
	if _, err := e.svc.UpdateIntegration(context.Background(), fb.User{Name: "admin", Admin: true}, e.integrationID,
		app.IntegrationInput{EnforcePermissions: &on}); err != nil {
		e.t.Fatal(err)
	}
}

// seen answers the repositories alice sees in each place: the list, one by
// one, the issue's repositories, and the repositories of the issue's
// commits (on the issue and on its commit list).
func (e *hostPermEnv) seen(who string) (list, one, issue, commits []string) {
	e.t.Helper()
	var page struct{ Values []repositoryJSON }
	res := e.do("GET", "/api/v1/repositories", who, nil)
	if res.status != http.StatusOK || json.Unmarshal(res.body, &page) != nil {
		e.t.Fatalf("repositories: %d %s", res.status, res.body)
	}
	for _, r := range page.Values {
		list = append(list, r.FullName)
	}
	for _, id := range []string{e.repoID, e.secretID} {
		if res := e.do("GET", "/api/v1/repositories/"+id, who, nil); res.status == http.StatusOK {
			one = append(one, id)
		} else if res.status != http.StatusNotFound {
			e.t.Fatalf("repository %s: %d %s", id, res.status, res.body)
		}
	}
	var is issueJSON
	res = e.do("GET", "/api/v1/issues/PROJ-1", who, nil)
	if res.status != http.StatusOK || json.Unmarshal(res.body, &is) != nil {
		e.t.Fatalf("issue: %d %s", res.status, res.body)
	}
	for _, r := range is.Repositories {
		issue = append(issue, r.FullName)
	}
	for _, c := range is.Commits.Values {
		commits = append(commits, c.RepositoryID)
	}
	var cs struct{ Values []commitJSON }
	res = e.do("GET", "/api/v1/issues/PROJ-1/commits", who, nil)
	if res.status != http.StatusOK || json.Unmarshal(res.body, &cs) != nil {
		e.t.Fatalf("issue commits: %d %s", res.status, res.body)
	}
	if len(cs.Values) != len(is.Commits.Values) || is.Commits.Count != len(cs.Values) {
		e.t.Errorf("the issue counts %d commits and shows %d; its commit list has %d", is.Commits.Count, len(is.Commits.Values), len(cs.Values))
	}
	// The issue search counts PROJ-1's commits in the repositories seen.
	var found struct{ Values []app.IssueResult }
	res = e.do("GET", "/api/v1/search/issues", who, nil)
	if res.status != http.StatusOK || json.Unmarshal(res.body, &found) != nil {
		e.t.Fatalf("search: %d %s", res.status, res.body)
	}
	searched := 0
	for _, r := range found.Values {
		if r.Key == "PROJ-1" {
			searched = r.Commits
		}
	}
	if searched != len(commits) {
		e.t.Errorf("the search counts %d commits of PROJ-1, the issue shows %d", searched, len(commits))
	}
	for _, id := range []string{e.repoID, e.secretID} {
		res := e.do("GET", "/api/v1/search/issues?repositoryId="+id, who, nil)
		if seen := slices.Contains(one, id); seen && res.status != http.StatusOK || !seen && res.status != http.StatusNotFound {
			e.t.Errorf("search in %s: %d %s (seen: %v)", id, res.status, res.body, seen)
		}
	}
	slices.Sort(list)
	slices.Sort(issue)
	slices.Sort(commits)
	return list, one, issue, commits
}

// hostChecks counts the repository reads made with alice's token.
func (e *hostPermEnv) hostChecks() int {
	n := 0
	for _, c := range e.gh.Calls() {
		if c.Token == aliceToken && c.Method == "GET" && (c.Path == "/repos/acme/app" || c.Path == "/repos/acme/secret") {
			n++
		}
	}
	return n
}

func TestHostPermissionsEnforced(t *testing.T) {
	e := newHostPermEnv(t)
	both := []string{"acme/app", "acme/secret"}
	check := func(step string, wantNames []string) {
		t.Helper()
		list, one, issue, commits := e.seen(e.alice)
		var wantIDs []string
		for _, n := range wantNames {
			wantIDs = append(wantIDs, map[string]string{"acme/app": e.repoID, "acme/secret": e.secretID}[n])
		}
		sortedIDs := slices.Clone(wantIDs)
		slices.Sort(sortedIDs)
		if !slices.Equal(list, wantNames) || !slices.Equal(one, wantIDs) || !slices.Equal(issue, wantNames) || !slices.Equal(commits, sortedIDs) {
			t.Errorf("%s: list %v, one by one %v, issue %v, commits in %v; want %v", step, list, one, issue, commits, wantNames)
		}
	}

	check("not enforced", both)
	if n := e.hostChecks(); n != 0 {
		t.Errorf("not enforced, yet %d host checks", n)
	}

	e.enforce(true)
	check("enforced without a saved token", nil)

	if res := e.do("PUT", "/api/v1/me/tokens/"+e.integrationID, e.alice, map[string]string{"token": aliceToken}); res.status != http.StatusOK {
		t.Fatalf("saving alice's token: %d %s", res.status, res.body)
	}
	check("with alice's token", []string{"acme/app"})
	diff := func(step string, status int) {
		t.Helper()
		res := e.do("GET", "/api/v1/repositories/"+e.secretID+"/commits/"+strings.Repeat("b", 40), e.alice, nil)
		if res.status != status {
			t.Errorf("%s: the secret commit's diff answered %d %s, want %d", step, res.status, res.body, status)
		}
	}
	// Hidden: not found. Visible: past every check, to the mirror this
	// instance does not have (501).
	diff("with alice's token", http.StatusNotFound)
	first := e.hostChecks()
	if first != 2 {
		t.Errorf("%d host checks, want one per repository", first)
	}
	check("again, from the cache", []string{"acme/app"})
	if n := e.hostChecks(); n != first {
		t.Errorf("remembered answers asked again: %d checks, then %d", first, n)
	}

	// The host lets alice in; the remembered answer holds until it is stale.
	e.gh.Repo("acme/secret").AddCollaborator("alice-gh")
	e.now = e.now.Add(59 * time.Minute)
	check("before the cache expires", []string{"acme/app"})
	e.now = e.now.Add(time.Minute)
	check("after the cache expires", both)
	diff("after the cache expires", http.StatusNotImplemented)
	if n := e.hostChecks(); n != first+2 {
		t.Errorf("after expiry: %d checks, want %d", n, first+2)
	}

	// bob may browse but has no development tools: never any git data, and he
	// has no token either.
	var page struct{ Values []repositoryJSON }
	if res := e.do("GET", "/api/v1/repositories", e.bob, nil); json.Unmarshal(res.body, &page) != nil || len(page.Values) != 0 {
		t.Errorf("bob sees %s", res.body)
	}

	// Deleting the token hides everything at once; saving one asks again.
	if res := e.do("DELETE", "/api/v1/me/tokens/"+e.integrationID, e.alice, nil); res.status != http.StatusNoContent {
		t.Fatalf("deleting alice's token: %d %s", res.status, res.body)
	}
	check("token deleted", nil)
	diff("token deleted", http.StatusNotFound)
	if res := e.do("PUT", "/api/v1/me/tokens/"+e.integrationID, e.alice, map[string]string{"token": aliceToken}); res.status != http.StatusOK {
		t.Fatalf("saving alice's token again: %d %s", res.status, res.body)
	}
	before := e.hostChecks()
	check("token saved again", both)
	if n := e.hostChecks(); n != before+2 {
		t.Errorf("a new token was not asked about: %d checks, then %d", before, n)
	}

	// A token the host no longer accepts reads nothing.
	e.gh.AddToken(aliceToken, fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}, Expired: true})
	e.now = e.now.Add(2 * time.Hour)
	check("token rejected by the host", nil)

	e.enforce(false)
	check("switched off again", both)
}
