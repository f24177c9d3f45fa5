package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// typedToken is a one-off token typed into a dialog: no page may show it.
const typedToken = "ghp_typed0000000000000000000000000000001"

// repoID is the forgebridge id of a discovered repository.
func (e *env) repoID(fullName string) string {
	e.t.Helper()
	repos, _, err := e.app.Repositories(context.Background(), fb.User{Key: "alice", Name: "alice"}, "", fullName, fb.Page{Limit: 1})
	if err != nil || len(repos) != 1 || repos[0].FullName != fullName {
		e.t.Fatalf("repository %s: %v %v", fullName, repos, err)
	}
	return repos[0].ID
}

// writes are the requests that changed something on the fake GitHub.
func (e *env) writes() int {
	n := 0
	for _, c := range e.gh.Calls() {
		if c.Method != http.MethodGet && c.Method != http.MethodHead {
			n++
		}
	}
	return n
}

// selectedOption matches the chosen option of value v.
func selectedOption(v string) *regexp.Regexp {
	return regexp.MustCompile(`<option value="` + regexp.QuoteMeta(v) + `"[^>]* selected>`)
}

// returnPath is the page the dialog's "Set up your token" link returns to.
func returnPath(t *testing.T, body, integrationID string) string {
	t.Helper()
	m := regexp.MustCompile(`href="/tokens/` + integrationID + `\?return=([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no token setup link with a return address:\n%s", body)
	}
	p, err := url.QueryUnescape(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTokenSetupLinkKeepsWhatWasTyped(t *testing.T) {
	e := newEnv(t)
	in := e.addIntegration(true)
	repoID := e.repoID("acme/app")
	alice := e.signedIn("alice")

	// A one-off token GitHub rejects: setup is asked for, with a way back
	// that carries every field but the token.
	refused := alice.post("/browse/PROJ-1/pull-requests", url.Values{"repositoryId": {repoID}, "sourceBranch": {"PROJ-1-existing-work"},
		"targetBranch": {"main"}, "title": {"My title"}, "description": {"Line one\nLine two & more"}, "draft": {"true"},
		"token": {typedToken}})
	mustStatus(t, "rejected one-off token", refused, http.StatusUnprocessableEntity)
	mustNotContain(t, "rejected one-off token", refused.body(), typedToken)
	back := returnPath(t, refused.body(), in.ID)
	q, _ := url.ParseQuery(strings.TrimPrefix(back, "/browse/PROJ-1?"))
	want := url.Values{"dialog": {"pull-request"}, "repositoryId": {repoID}, "sourceBranch": {"PROJ-1-existing-work"},
		"targetBranch": {"main"}, "title": {"My title"}, "description": {"Line one\nLine two & more"}, "draft": {"true"}}
	if q.Encode() != want.Encode() {
		t.Fatalf("return address %q\nwant the query %q", back, want.Encode())
	}

	// The token page returns there, and the dialog is drawn with it all.
	saved := alice.post("/tokens/"+in.ID, url.Values{"token": {aliceToken}, "return": {back}})
	mustStatus(t, "save the token", saved, http.StatusSeeOther)
	if loc := saved.Header().Get("Location"); loc != back {
		t.Fatalf("the token page returned to %q, want %q", loc, back)
	}
	page := alice.follow(saved).body()
	mustContain(t, "back in the dialog", page, `data-kind="pull-request" data-issue="PROJ-1" open`, `value="My title"`,
		"Line one\nLine two &amp; more</textarea>", `name="draft" value="true" checked`)
	mustNotContain(t, "back in the dialog", page, `class="setup" data-setup>`)
	for _, v := range []string{"PROJ-1-existing-work", "main"} {
		if n := len(selectedOption(v).FindAllString(page, -1)); n != 1 {
			t.Fatalf("%s is chosen %d times in the pull request dialog, want once:\n%s", v, n, page)
		}
	}

	// The branch dialog's fields come back the same way.
	if err := e.app.Store.DeleteUserToken(context.Background(), "alice", in.ID); err != nil {
		t.Fatal(err)
	}
	branch := alice.get("/browse/PROJ-1?dialog=branch&repositoryId=" + repoID + "&name=PROJ-1-mine&baseBranch=PROJ-1-existing-work").body()
	mustContain(t, "branch dialog from the query", branch, `value="PROJ-1-mine"`, `class="setup" data-setup>`)
	if !selectedOption("PROJ-1-existing-work").MatchString(branch) {
		t.Fatal("the base branch from the query is not chosen")
	}
	if got := returnPath(t, branch, in.ID); got != "/browse/PROJ-1?baseBranch=PROJ-1-existing-work&dialog=branch&name=PROJ-1-mine&repositoryId="+repoID {
		t.Fatalf("branch dialog return address %q", got)
	}
}

func TestLoadBranchesWithoutJavaScript(t *testing.T) {
	e := newEnv(t)
	e.addIntegration(false)
	appID, docsID := e.repoID("acme/app"), e.repoID("acme/docs")
	alice := e.signedIn("alice")
	mustContain(t, "dialog", alice.get("/browse/PROJ-1?dialog=branch").body(),
		`<noscript><button type="submit" name="action" value="reload" formnovalidate class="reload">Load branches</button></noscript>`)

	writes := e.writes()
	r := alice.post("/browse/PROJ-1/branches", url.Values{"action": {"reload"}, "repositoryId": {docsID},
		"baseBranch": {"PROJ-1-existing-work"}, "name": {"PROJ-1-typed"}, "token": {typedToken}})
	mustStatus(t, "load docs' branches", r, http.StatusOK)
	body := r.body()
	mustContain(t, "load docs' branches", body, `data-kind="branch" data-issue="PROJ-1" open`, `value="PROJ-1-typed"`, `<option value="trunk">`)
	// The other repository's branch is gone, and the default base is chosen.
	mustNotContain(t, "load docs' branches", body, typedToken, `<option value="PROJ-1-existing-work"`, `data-error>`)
	if !selectedOption(docsID).MatchString(body) {
		t.Fatal("the repository chosen is not selected")
	}

	pr := alice.post("/browse/PROJ-1/pull-requests", url.Values{"action": {"reload"}, "repositoryId": {appID},
		"sourceBranch": {"trunk"}, "targetBranch": {"trunk"}, "title": {"Kept title"}, "draft": {"true"}})
	mustStatus(t, "load app's branches", pr, http.StatusOK)
	mustContain(t, "load app's branches", pr.body(), `value="Kept title"`, `name="draft" value="true" checked`)
	for _, v := range []string{"PROJ-1-existing-work", "main"} {
		if !selectedOption(v).MatchString(pr.body()) {
			t.Fatalf("%s is not chosen after loading app's branches:\n%s", v, pr.body())
		}
	}
	if e.writes() != writes {
		t.Fatal("Load branches changed something on GitHub")
	}
	if got := e.repo.Branches(); len(got) != 2 {
		t.Fatalf("branches on GitHub after Load branches: %v", got)
	}
}

func TestBranchListCutIsSaid(t *testing.T) {
	e := newEnv(t)
	e.addIntegration(false)
	docs := e.gh.Repo("acme/docs")
	for i := range maxDialogBranches {
		docs.AddBranch(fmt.Sprintf("topic-%04d", i)) // with trunk, one more than is listed
	}
	alice := e.signedIn("alice")
	cut := alice.get("/browse/PROJ-1?dialog=branch&repositoryId=" + e.repoID("acme/docs")).body()
	mustContain(t, "1001 branches", cut, `<p class="hint" data-branches-cut>Showing the first 1000 branches.</p>`)
	if n := strings.Count(cut, `<option value="topic-`) + strings.Count(cut, `<option value="trunk"`); n != maxDialogBranches {
		t.Fatalf("%d branches listed, want %d", n, maxDialogBranches)
	}
	whole := alice.get("/browse/PROJ-1?dialog=branch&repositoryId=" + e.repoID("acme/app")).body()
	mustContain(t, "2 branches", whole, `<p class="hint" data-branches-cut hidden>`)
}

// linkerFunc writes links back to the tracker by calling itself.
type linkerFunc func(ctx context.Context, issueKey string, l app.IssueLink) error

func (f linkerFunc) LinkIssue(ctx context.Context, issueKey string, l app.IssueLink) error {
	return f(ctx, issueKey, l)
}

var trackerDown = fb.Errorf(fb.ETrackerUnavailable, "Jira could not be reached.")

func TestCreateSucceedsWhenTheIssueCannotBeReloaded(t *testing.T) {
	e := newEnv(t)
	e.addIntegration(false)
	repoID := e.repoID("acme/app")
	// Jira goes down right after the create, before the page reloads the issue.
	e.app.Linker = linkerFunc(func(context.Context, string, app.IssueLink) error {
		e.tracker.failIssues(trackerDown)
		return nil
	})
	alice := e.signedIn("alice")
	for _, tc := range []struct {
		name, path string
		form       url.Values
		message    string
	}{
		{"branch", "/browse/proj-1/branches", url.Values{"repositoryId": {repoID}, "name": {"PROJ-1-while-jira-is-down"}},
			"Branch created in " + repoID + " by the integration&#39;s service account acme-bot."},
		{"pull request", "/browse/proj-1/pull-requests", url.Values{"repositoryId": {repoID}, "sourceBranch": {"PROJ-1-existing-work"},
			"targetBranch": {"main"}, "title": {"While Jira is down"}},
			"Pull request #1 opened in " + repoID + " by the integration&#39;s service account acme-bot."},
	} {
		e.tracker.failIssues(nil)
		r := alice.post(tc.path, tc.form)
		mustStatus(t, tc.name, r, http.StatusSeeOther)
		if loc := r.Header().Get("Location"); loc != "/browse/PROJ-1" {
			t.Fatalf("%s: redirected to %q", tc.name, loc)
		}
		e.tracker.failIssues(nil)
		mustContain(t, tc.name, alice.follow(r).body(), tc.message)
	}
}

func TestFailedCreateKeepsTheFormWhenTheIssueCannotBeLoaded(t *testing.T) {
	e := newEnv(t)
	e.addIntegration(false)
	repoID := e.repoID("acme/app")
	alice := e.signedIn("alice")
	e.tracker.failIssues(trackerDown)

	branch := alice.post("/browse/PROJ-1/branches", url.Values{"repositoryId": {repoID}, "baseBranch": {"PROJ-1-existing-work"},
		"name": {"PROJ-1-typed"}, "token": {typedToken}, "rememberToken": {"true"}})
	mustStatus(t, "branch", branch, http.StatusBadGateway)
	mustContain(t, "branch", branch.body(), `data-unavailable>PROJ-1 could not be loaded: Jira could not be reached.`,
		`data-kind="branch" data-issue="PROJ-1" open`, `data-error>Jira could not be reached.`, `value="PROJ-1-typed"`,
		`name="rememberToken" value="true" checked`)
	mustNotContain(t, "branch", branch.body(), typedToken)
	for _, v := range []string{repoID, "PROJ-1-existing-work"} {
		if !selectedOption(v).MatchString(branch.body()) {
			t.Fatalf("%s is not chosen in the redrawn dialog", v)
		}
	}

	pr := alice.post("/browse/PROJ-1/pull-requests", url.Values{"repositoryId": {repoID}, "sourceBranch": {"PROJ-1-existing-work"},
		"targetBranch": {"main"}, "title": {"Typed title"}, "description": {"Typed text"}, "draft": {"true"}, "token": {typedToken}})
	mustStatus(t, "pull request", pr, http.StatusBadGateway)
	mustContain(t, "pull request", pr.body(), `data-kind="pull-request" data-issue="PROJ-1" open`, `value="Typed title"`,
		">Typed text</textarea>", `name="draft" value="true" checked`)
	mustNotContain(t, "pull request", pr.body(), typedToken)

	// An issue that does not exist is an answer, not an outage.
	e.tracker.failIssues(nil)
	mustStatus(t, "unknown issue", alice.post("/browse/PROJ-404/branches", url.Values{"repositoryId": {repoID}, "name": {"x"}}),
		http.StatusNotFound)
}

func TestSignInAgainEndsThePreviousSession(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("alice")
	previous := *b.cookies[sessionCookie]
	mustStatus(t, "sign in again", b.post("/login", url.Values{"name": {"alice"}, "password": {passwords["alice"]}}), http.StatusSeeOther)
	if b.cookies[sessionCookie].Value == previous.Value {
		t.Fatal("signing in again kept the session")
	}
	mustStatus(t, "the new session", b.get("/tokens"), http.StatusOK)
	copied := e.browser()
	copied.cookies[sessionCookie] = &previous
	mustBeSignedOut(t, "the previous session", copied)
}

func TestTokenStatesInTheLists(t *testing.T) {
	e := newEnv(t)
	in := e.addIntegration(false)
	ctx := context.Background()
	alice := e.signedIn("alice")
	past := time.Now().Add(-48 * time.Hour).UTC()
	for _, tc := range []struct {
		name    string
		token   fb.UserToken
		want    []string
		unknown []string
	}{
		{"unverified", fb.UserToken{Status: fb.TokenUnverified}, []string{`data-token-state="unverified"`, "Not verified yet"}, []string{`class="check"`}},
		{"expired", fb.UserToken{Status: fb.TokenValid, ExpiresAt: &past}, []string{`data-token-state="expired"`, "Expired " + past.Format("2006-01-02")},
			[]string{`class="check"`, "expires"}},
		{"valid", fb.UserToken{Status: fb.TokenValid}, []string{`class="check" role="img" aria-label="Valid" title="Valid (alice-gh)"`}, nil},
	} {
		tok := tc.token
		tok.UserKey, tok.IntegrationID, tok.Login = "alice", in.ID, "alice-gh"
		tok.Credential, tok.CreatedAt, tok.UpdatedAt = fb.Credential{Token: aliceToken}, time.Now(), time.Now()
		if err := e.app.Store.PutUserToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
		repos := alice.get("/repositories").body()
		mustContain(t, tc.name+" in the repository browser", repos, tc.want...)
		mustNotContain(t, tc.name+" in the repository browser", repos, tc.unknown...)
		if tc.name != "valid" {
			mustNotContain(t, tc.name+" in my tokens", alice.get("/tokens").body(), `class="check"`)
		}
	}
}

// A token page the help cannot name is words without a link, never an empty or relative one.
func TestTokenHelpWithoutAddress(t *testing.T) {
	e := newEnv(t)
	entry := app.TokenEntry{Integration: fb.Integration{ID: "int-1", Name: "Old Azure", Kind: fb.KindAzureDevOps}}
	for name, data := range map[string]any{"tokens": []app.TokenEntry{entry}, "token": tokenData{Entry: entry}} {
		rec := newRecorder()
		e.web.render(rec, newRequest(http.MethodGet, "/"+name, ""), http.StatusOK, name, view{User: &fb.User{Name: "alice"}, Data: data})
		body := rec.Body.String()
		mustContain(t, name, body, "the Code (Read &amp; write) scope")
		mustNotContain(t, name, body, `href=""`, `href="/_usersSettings`, `href="_usersSettings`)
	}
}

// TestMyTokensShowsOnlyWhatThePersonMaySee: the My tokens page lists the
// integrations serving a project the person may browse, and those where
// they hold a token.
func TestMyTokensShowsOnlyWhatThePersonMaySee(t *testing.T) {
	e := newEnv(t)
	in := e.addIntegration(false)
	mustContain(t, "bob's tokens (Browse on PROJ)", e.signedIn("bob").get("/tokens").body(), `data-integration="`+in.ID+`"`)
	admin := e.signedIn("admin") // no permission on any project
	mustNotContain(t, "admin's tokens", admin.get("/tokens").body(), `data-integration="`+in.ID+`"`, "Acme GitHub")
	mustContain(t, "admin's tokens", admin.get("/tokens").body(), "No git hosting service serves a project you may browse.")
	mustStatus(t, "admin's token page of an integration not shown", admin.get("/tokens/"+in.ID), http.StatusNotFound)
	tok := fb.UserToken{UserKey: "admin", IntegrationID: in.ID, Credential: fb.Credential{Token: aliceToken}, Status: fb.TokenValid}
	if err := e.app.Store.PutUserToken(context.Background(), &tok); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "admin's tokens with one saved", admin.get("/tokens").body(), `data-integration="`+in.ID+`"`)
}
