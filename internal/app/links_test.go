package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/jira"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

// scriptedLinker fails as long as fail is set.
type scriptedLinker struct {
	mu    sync.Mutex
	fail  bool
	links []app.IssueLink
}

func (l *scriptedLinker) setFail(on bool) {
	l.mu.Lock()
	l.fail = on
	l.mu.Unlock()
}

func (l *scriptedLinker) LinkIssue(_ context.Context, _ string, in app.IssueLink) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return fb.Errorf(fb.ETrackerUnavailable, "Jira is down")
	}
	l.links = append(l.links, in)
	return nil
}

// scriptedQueue records retries; when work is set it runs them at once,
// before RetryLink returns, as a fast worker may.
type scriptedQueue struct {
	svc     *app.Service
	err     error
	work    bool
	retries []app.IssueLink
	indexed []string    // repositories asked to be indexed
	unlinks [][2]string // issue key and global id of each removal queued
}

func (q *scriptedQueue) RetryUnlink(ctx context.Context, issueKey, globalID string) error {
	q.unlinks = append(q.unlinks, [2]string{issueKey, globalID})
	return q.err
}

func (q *scriptedQueue) Index(ctx context.Context, ids []string, by app.IndexPriority, reset bool) error {
	q.indexed = append(q.indexed, ids...)
	return nil
}

func (q *scriptedQueue) RetryLink(ctx context.Context, issueKey string, l app.IssueLink) error {
	q.retries = append(q.retries, l)
	if q.err != nil {
		return q.err
	}
	if q.work {
		return q.svc.WriteLink(ctx, issueKey, l)
	}
	return nil
}

// TestRemoteLinkStates checks what is recorded for the issue page when the
// tracker takes the link, refuses it, and when the retry cannot be queued.
func TestRemoteLinkStates(t *testing.T) {
	tests := []struct {
		name        string
		linkerFails bool
		queue       *scriptedQueue // nil: no queue
		workerFixes bool           // the tracker is back when the queue's worker runs
		want        string
		wantRetries int
		wantOutcome string
	}{
		{"written at once", false, &scriptedQueue{}, false, fb.TrackerLinkLinked, 0, fb.AuditOutcomeSuccess},
		{"refused, retried later", true, &scriptedQueue{}, false, fb.TrackerLinkPending, 1, fb.AuditOutcomeFailure},
		{"refused, written by a fast retry", true, &scriptedQueue{work: true}, true, fb.TrackerLinkLinked, 1, fb.AuditOutcomeFailure},
		{"refused, retry not queued", true, &scriptedQueue{err: errors.New("queue full")}, false, fb.TrackerLinkFailed, 1, fb.AuditOutcomeFailure},
		{"refused, no queue", true, nil, false, fb.TrackerLinkFailed, 0, fb.AuditOutcomeFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.OpenSQLite(t, nil)
			gh := fakegithub.New()
			defer gh.Close()
			gh.AddToken("svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
			gh.AddRepo("acme/app", "main")
			linker := &scriptedLinker{fail: tt.linkerFails}
			svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: drivers.New, Linker: linker}
			if tt.queue != nil {
				tt.queue.svc = svc
				svc.Queue = tt.queue
			}
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
			must(svc.CreateProject(ctx, admin, fb.Project{Key: "PROJ"}))
			must(svc.SetPermissions(ctx, admin, "PROJ", "admin", []string{fb.PermBrowseProjects, fb.PermViewDevTools}))
			must(svc.CreateIssue(ctx, admin, fb.Issue{Key: "PROJ-1", Summary: "Links"}))
			kind, base := fb.KindGitHub, gh.URL()
			must(svc.CreateIntegration(ctx, admin, app.IntegrationInput{Name: new("GH"), Kind: &kind, BaseURL: &base,
				Credential: &fb.Credential{Token: "svc"}}))
			repos, _, err := st.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 1}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.workerFixes {
				// The first write fails; the tracker is back for the worker's.
				svc.Queue = queueThen{tt.queue, func() { linker.setFail(false) }}
			}
			b, err := svc.CreateBranch(ctx, admin, "PROJ-1", app.CreateBranchInput{RepositoryID: repos[0].ID})
			if err != nil {
				t.Fatalf("the branch must stand whatever the tracker says: %v", err)
			}
			links, err := st.TrackerLinks(ctx, "PROJ-1")
			if err != nil || len(links) != 1 || links[0].Status != tt.want || links[0].URL != b.WebURL {
				t.Fatalf("recorded links %+v %v, want one %s for %s", links, err, tt.want, b.WebURL)
			}
			if tt.queue != nil && len(tt.queue.retries) != tt.wantRetries {
				t.Errorf("%d retries queued, want %d", len(tt.queue.retries), tt.wantRetries)
			}
			entries, _, err := st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: app.AuditRemoteLink, User: "admin"})
			if err != nil || len(entries) != 1 || entries[0].Outcome != tt.wantOutcome {
				t.Errorf("remotelink.create audit entries %+v %v, want one %s", entries, err, tt.wantOutcome)
			}
		})
	}
}

// queueThen runs a hook before handing the retry to the queue.
type queueThen struct {
	q      *scriptedQueue
	before func()
}

func (q queueThen) Index(ctx context.Context, ids []string, by app.IndexPriority, reset bool) error {
	return q.q.Index(ctx, ids, by, reset)
}

func (q queueThen) RetryLink(ctx context.Context, issueKey string, l app.IssueLink) error {
	q.before()
	return q.q.RetryLink(ctx, issueKey, l)
}

func TestDevelopmentTitle(t *testing.T) {
	for _, tt := range []struct {
		c, b, p int
		want    string
	}{
		{3, 1, 1, "3 commits, 1 branch, 1 pull request"},
		{0, 2, 0, "0 commits, 2 branches, 0 pull requests"},
		{1, 0, 2, "1 commit, 0 branches, 2 pull requests"},
	} {
		if got := app.DevelopmentTitle(tt.c, tt.b, tt.p); got != tt.want {
			t.Errorf("DevelopmentTitle(%d, %d, %d) = %q, want %q", tt.c, tt.b, tt.p, got, tt.want)
		}
	}
}

// jiraLinker writes links as Jira remote links, as the server wires it.
type jiraLinker struct{ t *jira.Tracker }

func (l jiraLinker) LinkIssue(ctx context.Context, issueKey string, in app.IssueLink) error {
	return l.t.AddRemoteLink(ctx, issueKey, jira.RemoteLink{GlobalID: in.GlobalID, URL: in.URL, Title: in.Title,
		Summary: in.Summary, IconURL: in.IconURL, IconTitle: in.IconTitle, Resolved: in.Resolved})
}

// TestRemoteLinkBounded creates a branch while Jira is slow to take the
// link: the create does not wait for Jira past LinkTimeout, the link is
// queued and pending, and the retry leaves one link on the issue even though
// the slow Jira wrote the first attempt's too.
func TestRemoteLinkBounded(t *testing.T) {
	ctx := context.Background()
	fake := fakejira.New()
	defer fake.Close()
	fake.AddUser(fakejira.User{Key: "svc", Name: "forgebridge-svc", Active: true, Groups: []string{"jira-users"}, Token: "jira-svc-token"})
	fake.AddProject("PROJ", "Project")
	fake.Grant("forgebridge-svc", "PROJ", "BROWSE_PROJECTS", "LINK_ISSUES")
	fake.AddIssue("PROJ-1", "Slow links", "Task")
	jt, err := jira.New(jira.Config{BaseURL: fake.URL(), ServiceToken: "jira-svc-token"})
	if err != nil {
		t.Fatal(err)
	}

	st := storetest.OpenSQLite(t, nil)
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main")
	q := &scriptedQueue{}
	svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: drivers.New, Linker: jiraLinker{jt}, Queue: q}
	q.svc = svc
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
	must(svc.CreateProject(ctx, admin, fb.Project{Key: "PROJ"}))
	must(svc.SetPermissions(ctx, admin, "PROJ", "admin", []string{fb.PermBrowseProjects, fb.PermViewDevTools}))
	must(svc.CreateIssue(ctx, admin, fb.Issue{Key: "PROJ-1", Summary: "Slow links"}))
	kind, base := fb.KindGitHub, gh.URL()
	must(svc.CreateIntegration(ctx, admin, app.IntegrationInput{Name: new("GH"), Kind: &kind, BaseURL: &base,
		Credential: &fb.Credential{Token: "svc"}}))
	repos, _, err := st.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}

	// Far longer than the bound: without it the create would wait it out
	// and find the link written.
	fake.SetRemoteLinkDelay(time.Minute)
	b, err := svc.CreateBranch(ctx, admin, "PROJ-1", app.CreateBranchInput{RepositoryID: repos[0].ID})
	if err != nil {
		t.Fatalf("the branch must stand whatever Jira says: %v", err)
	}
	links, err := st.TrackerLinks(ctx, "PROJ-1")
	if err != nil || len(links) != 1 || links[0].Status != fb.TrackerLinkPending {
		t.Fatalf("recorded links %+v %v, want one pending", links, err)
	}
	if len(q.retries) != 1 || q.retries[0].URL != b.WebURL {
		t.Fatalf("retries queued %+v, want the link to %s", q.retries, b.WebURL)
	}

	// Jira is quick again: the queue's retry writes the link.
	fake.SetRemoteLinkDelay(0)
	if err := svc.WriteLink(ctx, "PROJ-1", q.retries[0]); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	if got := fake.RemoteLinks("PROJ-1"); len(got) != 1 || got[0].GlobalID != q.retries[0].GlobalID {
		t.Errorf("remote links on PROJ-1 %+v, want one with global id %s", got, q.retries[0].GlobalID)
	}
	if links, err := st.TrackerLinks(ctx, "PROJ-1"); err != nil || len(links) != 1 || links[0].Status != fb.TrackerLinkLinked {
		t.Errorf("recorded links after the retry %+v %v, want one linked", links, err)
	}
}
