package app_test

import (
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestOneStep creates a branch and its pull request in one step against the
// fake GitHub, on SQLite and PostgreSQL: the branch starts with one empty
// commit naming the issue; both are recorded, audited and linked; a pull
// request that fails leaves the branch and says why; a switched-off pull
// request refuses the whole request before any host call.
func TestOneStep(t *testing.T) {
	tests := []struct {
		name      string
		pr        app.PullRequestOptions
		prOff     bool
		want      fb.Code // of the request
		wantPRErr fb.Code // of the pull request, the branch standing
	}{
		{name: "draft", pr: app.PullRequestOptions{Draft: true}},
		{name: "titled, ready", pr: app.PullRequestOptions{Title: "Own title", Description: "Why."}},
		{name: "unknown target", pr: app.PullRequestOptions{TargetBranch: "no-such"}, wantPRErr: fb.EProviderRejected},
		{name: "bad target", pr: app.PullRequestOptions{TargetBranch: "a..b"}, want: fb.EInvalid},
		{name: "pull requests off", pr: app.PullRequestOptions{}, prOff: true, want: fb.EFeatureDisabled},
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e := newDeleteEnv(t, b.Open(t, nil), false, false)
					if tt.prOff {
						off := false
						if _, err := e.svc.UpdateIntegration(e.ctx, e.admin, e.integrationID(), app.IntegrationInput{CreatePullRequest: &off}); err != nil {
							t.Fatal(err)
						}
					}
					base, _ := e.repo.Branch("main")
					opts := tt.pr
					out, err := e.svc.CreateBranch(e.ctx, e.admin, "PROJ-1", app.CreateBranchInput{RepositoryID: e.repoID,
						Name: "PROJ-1-both", PullRequest: &opts})
					if fb.ErrorCode(err) != tt.want || tt.want == "" && err != nil {
						t.Fatalf("CreateBranch: %v, want code %q", err, tt.want)
					}
					head, exists := e.repo.Branch("PROJ-1-both")
					if tt.want != "" {
						if exists {
							t.Fatal("a refused request created the branch")
						}
						return
					}
					// The branch: one empty commit on main, its message beginning with the key.
					if !exists || head == base || out.SHA != head {
						t.Fatalf("branch at %s (answer %s), main at %s: want a commit of its own", head, out.SHA, base)
					}
					c, ok := e.repo.Git().ReadCommit(head)
					if !ok || len(c.Parents) != 1 || c.Parents[0] != base || !strings.HasPrefix(c.Message, "PROJ-1 ") {
						t.Fatalf("first commit %+v, want one on %s whose message begins with PROJ-1", c, base)
					}
					if parent, _ := e.repo.Git().ReadCommit(base); parent.Tree != c.Tree {
						t.Errorf("the first commit changes the tree: %s, main's %s", c.Tree, parent.Tree)
					}
					branches, _ := e.st.IssueBranches(e.ctx, "PROJ-1")
					if len(branches) != 1 || branches[0].Name != "PROJ-1-both" {
						t.Errorf("branches on the issue %+v", branches)
					}
					prs, _ := e.st.IssuePullRequests(e.ctx, "PROJ-1")
					entries, _, _ := e.st.Audit(e.ctx, fb.AuditQuery{Page: fb.Page{Limit: 5}, Action: fb.AuditPullRequestCreate})
					if tt.wantPRErr != "" {
						if out.PullRequest != nil || out.PullRequestError == nil || out.PullRequestError.Code != tt.wantPRErr {
							t.Fatalf("pull request %+v, error %+v, want code %s", out.PullRequest, out.PullRequestError, tt.wantPRErr)
						}
						if len(prs) != 0 || len(entries) != 1 || entries[0].Outcome != fb.AuditOutcomeFailure {
							t.Errorf("after a failed pull request: recorded %+v, audit %+v", prs, entries)
						}
						return
					}
					pr := out.PullRequest
					if pr == nil || out.PullRequestError != nil {
						t.Fatalf("no pull request: %+v", out.PullRequestError)
					}
					wantTitle := tt.pr.Title
					if wantTitle == "" {
						wantTitle = "PROJ-1 Delete me"
					}
					if pr.SourceBranch != "PROJ-1-both" || pr.TargetBranch != "main" || pr.Title != wantTitle || pr.Draft != tt.pr.Draft ||
						pr.Actor.Login != "bot" {
						t.Errorf("pull request %+v", pr)
					}
					hosted := e.repo.PullRequests()
					if len(hosted) != 1 || hosted[0].Draft != tt.pr.Draft || !strings.Contains(hosted[0].Body, "PROJ-1") {
						t.Errorf("on GitHub: %+v", hosted)
					}
					if len(prs) != 1 || prs[0].Number != pr.Number || len(entries) != 1 || entries[0].Outcome != fb.AuditOutcomeSuccess {
						t.Errorf("recorded %+v, audit %+v", prs, entries)
					}
					if n := len(e.jira.RemoteLinks("PROJ-1")); n != 2 {
						t.Errorf("%d Jira links, want the branch's and the pull request's", n)
					}
				})
			}
		})
	}
}

func (e *deleteEnv) integrationID() string {
	e.t.Helper()
	r, err := e.st.Repository(e.ctx, e.repoID)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.IntegrationID
}
