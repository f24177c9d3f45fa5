package app_test

import (
	"context"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/jira"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

func (l jiraLinker) UnlinkIssue(ctx context.Context, issueKey, globalID string) error {
	return l.t.DeleteRemoteLink(ctx, issueKey, globalID)
}

// TestDeleteBranch deletes branches from an issue on SQLite and PostgreSQL,
// against the fake GitHub and the fake Jira: what is refused changes
// nothing anywhere; what is deleted leaves the host, every issue record and
// the Jira issue's links at once, and is audited.
func TestDeleteBranch(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *deleteEnv) // before the delete
		as      string             // the person deleting; "" admin
		in      app.DeleteBranchInput
		noPAT   bool // the integration requires people's own tokens
		off     bool // createBranch switched off
		want    fb.Code
		gone    bool   // the branch left the host
		actor   string // the actor's login on success
		wantLog bool   // a branch.delete audit entry is expected
	}{
		{name: "created from the issue", setup: func(e *deleteEnv) { e.create("PROJ-1-fix") },
			in: app.DeleteBranchInput{Name: "PROJ-1-fix"}, gone: true, actor: "bot", wantLog: true},
		{name: "indexed, any case", setup: func(e *deleteEnv) { e.repo.AddBranch("feature/proj-1-x") },
			in: app.DeleteBranchInput{Name: "feature/proj-1-x"}, gone: true, actor: "bot", wantLog: true},
		{name: "the default branch", in: app.DeleteBranchInput{Name: "main"}, want: fb.EForbidden, wantLog: true},
		{name: "not mentioning the issue", setup: func(e *deleteEnv) { e.repo.AddBranch("feature-x") },
			in: app.DeleteBranchInput{Name: "feature-x"}, want: fb.EForbidden, wantLog: true},
		{name: "another issue's key", setup: func(e *deleteEnv) { e.repo.AddBranch("PROJ-12-x") },
			in: app.DeleteBranchInput{Name: "PROJ-12-x"}, want: fb.EForbidden, wantLog: true},
		{name: "no such branch on the host", in: app.DeleteBranchInput{Name: "PROJ-1-never"}, want: fb.ENotFound, wantLog: true},
		{name: "protected on the host", setup: func(e *deleteEnv) { e.create("PROJ-1-keep"); e.repo.Protect("PROJ-1-keep") },
			in: app.DeleteBranchInput{Name: "PROJ-1-keep"}, want: fb.EProviderDenied, wantLog: true},
		{name: "no name", in: app.DeleteBranchInput{}, want: fb.EInvalid, wantLog: true},
		{name: "switched off", setup: func(e *deleteEnv) { e.repo.AddBranch("PROJ-1-off") }, off: true,
			in: app.DeleteBranchInput{Name: "PROJ-1-off"}, want: fb.EFeatureDisabled, wantLog: true},
		{name: "without View Development Tools", setup: func(e *deleteEnv) { e.repo.AddBranch("PROJ-1-x") }, as: "bob",
			in: app.DeleteBranchInput{Name: "PROJ-1-x"}, want: fb.EForbidden, wantLog: true},
		{name: "setup required", setup: func(e *deleteEnv) { e.repo.AddBranch("PROJ-1-pat") }, noPAT: true,
			in: app.DeleteBranchInput{Name: "PROJ-1-pat"}, want: fb.EPATRequired, wantLog: true},
		{name: "typed-in token", setup: func(e *deleteEnv) { e.repo.AddBranch("PROJ-1-pat") }, noPAT: true,
			in:   app.DeleteBranchInput{Name: "PROJ-1-pat", Token: app.OneOffToken{Credential: fb.Credential{Token: "admin-pat"}}},
			gone: true, actor: "admin-gh", wantLog: true},
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e := newDeleteEnv(t, b.Open(t, nil), tt.noPAT, tt.off)
					if tt.setup != nil {
						tt.setup(e)
					}
					name := tt.in.Name
					_, existed := e.repo.Branch(name)
					linksBefore := len(e.jira.RemoteLinks("PROJ-1"))
					branchesBefore, _ := e.st.IssueBranches(e.ctx, "PROJ-1")
					in := tt.in
					in.RepositoryID = e.repoID
					u := e.admin
					if tt.as == "bob" {
						u = e.bob
					}
					err := e.svc.DeleteBranch(e.ctx, u, "PROJ-1", in)
					if got := fb.ErrorCode(err); got != tt.want && !(tt.want == "" && err == nil) {
						t.Fatalf("DeleteBranch: %v, want code %q", err, tt.want)
					}
					if tt.want == "" && err != nil {
						t.Fatalf("DeleteBranch: %v", err)
					}
					_, exists := e.repo.Branch(name)
					if tt.gone && exists || !tt.gone && existed != exists {
						t.Fatalf("on the host: existed %v, exists %v, want gone %v", existed, exists, tt.gone)
					}
					branches, err := e.st.IssueBranches(e.ctx, "PROJ-1")
					if err != nil {
						t.Fatal(err)
					}
					links := e.jira.RemoteLinks("PROJ-1")
					tracked, err := e.st.TrackerLinks(e.ctx, "PROJ-1")
					if err != nil {
						t.Fatal(err)
					}
					if tt.gone {
						for _, br := range branches {
							if br.Name == name {
								t.Errorf("the issue still records the deleted branch: %+v", branches)
							}
						}
						for _, l := range links {
							if l.GlobalID == "forgebridge:"+e.repoID+":branch:"+name {
								t.Errorf("the Jira issue still links the deleted branch: %+v", l)
							}
						}
						for _, l := range tracked {
							if l.GlobalID == "forgebridge:"+e.repoID+":branch:"+name {
								t.Errorf("the link state of the deleted branch stays: %+v", l)
							}
						}
					} else if len(branches) != len(branchesBefore) || len(links) != linksBefore {
						t.Errorf("a refused delete changed the issue: branches %d → %d, Jira links %d → %d",
							len(branchesBefore), len(branches), linksBefore, len(links))
					}
					entries, _, err := e.st.Audit(e.ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: fb.AuditBranchDelete})
					if err != nil {
						t.Fatal(err)
					}
					if len(entries) != 1 {
						t.Fatalf("branch.delete audit entries %+v, want one", entries)
					}
					got := entries[0]
					wantOutcome := fb.AuditOutcomeSuccess
					if tt.want != "" {
						wantOutcome = fb.AuditOutcomeFailure
					}
					if got.Outcome != wantOutcome || got.Code != string(tt.want) || got.Issue != "PROJ-1" || got.Target != name ||
						tt.gone && got.Actor.Login != tt.actor {
						t.Errorf("audit entry %+v, want outcome %s code %q target %q actor %q", got, wantOutcome, tt.want, name, tt.actor)
					}
				})
			}
		})
	}
}

type deleteEnv struct {
	ctx        context.Context
	t          testing.TB
	st         fb.Store
	svc        *app.Service
	gh         *fakegithub.Server
	repo       *fakegithub.Repo
	jira       *fakejira.Server
	admin, bob fb.User
	repoID     string
}

func newDeleteEnv(t testing.TB, st fb.Store, requirePAT, off bool) *deleteEnv {
	ctx := context.Background()
	fj := fakejira.New()
	t.Cleanup(fj.Close)
	fj.AddUser(fakejira.User{Key: "svc", Name: "forgebridge-svc", Active: true, Groups: []string{"jira-users"}, Token: "jira-svc-token"})
	fj.AddProject("PROJ", "Project")
	fj.Grant("forgebridge-svc", "PROJ", "BROWSE_PROJECTS", "LINK_ISSUES")
	fj.AddIssue("PROJ-1", "Delete me", "Task")
	jt, err := jira.New(jira.Config{BaseURL: fj.URL(), ServiceToken: "jira-svc-token"})
	if err != nil {
		t.Fatal(err)
	}
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddToken("svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
	gh.AddToken("admin-pat", fakegithub.Token{Login: "admin-gh", Scopes: []string{"repo"}})
	repo := gh.AddRepo("acme/app", "main")
	svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: drivers.New, Linker: jiraLinker{jt}}
	admin, _, err := svc.AddUser(ctx, fb.User{Name: "admin", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	bob, _, err := svc.AddUser(ctx, fb.User{Name: "bob"})
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
	must(svc.SetPermissions(ctx, admin, "PROJ", "bob", []string{fb.PermBrowseProjects}))
	must(svc.CreateIssue(ctx, admin, fb.Issue{Key: "PROJ-1", Summary: "Delete me"}))
	kind, base, on := fb.KindGitHub, gh.URL(), !off
	must(svc.CreateIntegration(ctx, admin, app.IntegrationInput{Name: new("GH"), Kind: &kind, BaseURL: &base,
		Credential: &fb.Credential{Token: "svc"}, RequireUserPAT: &requirePAT, CreateBranch: &on}))
	repos, _, err := st.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 1}})
	if err != nil || len(repos) != 1 {
		t.Fatalf("repositories %+v %v", repos, err)
	}
	return &deleteEnv{ctx: ctx, t: t, st: st, svc: svc, gh: gh, repo: repo, jira: fj, admin: admin, bob: bob, repoID: repos[0].ID}
}

// create creates the branch from the issue, as a person would: recorded on
// it and linked from the Jira issue.
func (e *deleteEnv) create(name string) {
	e.t.Helper()
	if _, err := e.svc.CreateBranch(e.ctx, e.admin, "PROJ-1", app.CreateBranchInput{RepositoryID: e.repoID, Name: name}); err != nil {
		e.t.Fatal(err)
	}
	if bs, _ := e.st.IssueBranches(e.ctx, "PROJ-1"); len(bs) == 0 {
		e.t.Fatal("the created branch is not recorded on the issue")
	}
	if len(e.jira.RemoteLinks("PROJ-1")) == 0 {
		e.t.Fatal("the created branch is not linked from the Jira issue")
	}
}

// TestUnlinkRetried deletes a branch while Jira is down: the branch is gone
// at once, the link's removal is audited as failed and queued; the queue's
// retry removes it once Jira is back, unless the branch was made again
// meanwhile, whose link then stays.
func TestUnlinkRetried(t *testing.T) {
	for _, c := range []struct {
		name  string
		again func(e *deleteEnv) // nil: the branch stays gone
	}{
		{"removed later", nil},
		{"made again meanwhile", func(e *deleteEnv) { e.create("PROJ-1-fix") }},
		{"found again by an index run, its link not yet written", func(e *deleteEnv) {
			if err := e.st.AddIssueBranch(e.ctx, fb.IssueBranch{IssueKey: "PROJ-1", RepositoryID: e.repoID, Name: "PROJ-1-fix", SHA: "abc"}); err != nil {
				e.t.Fatal(err)
			}
		}},
	} {
		again := c.again != nil
		t.Run(c.name, func(t *testing.T) {
			e := newDeleteEnv(t, storetest.OpenSQLite(t, nil), false, false)
			q := &scriptedQueue{svc: e.svc}
			e.svc.Queue = q
			e.create("PROJ-1-fix")
			gid := e.jira.RemoteLinks("PROJ-1")[0].GlobalID
			e.jira.SetDown(true)
			if err := e.svc.DeleteBranch(e.ctx, e.admin, "PROJ-1", app.DeleteBranchInput{RepositoryID: e.repoID, Name: "PROJ-1-fix"}); err != nil {
				t.Fatalf("the delete must stand whatever Jira says: %v", err)
			}
			if len(q.unlinks) != 1 || q.unlinks[0] != [2]string{"PROJ-1", gid} {
				t.Fatalf("removals queued %v, want PROJ-1 %s", q.unlinks, gid)
			}
			entries, _, err := e.st.Audit(e.ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: app.AuditRemoteLinkDelete})
			if err != nil || len(entries) != 1 || entries[0].Outcome != fb.AuditOutcomeFailure {
				t.Fatalf("audit %+v %v, want one failed removal", entries, err)
			}
			e.jira.SetDown(false)
			if again {
				c.again(e)
			}
			if err := e.svc.RemoveLink(e.ctx, "PROJ-1", gid); err != nil {
				t.Fatalf("the retry: %v", err)
			}
			links := e.jira.RemoteLinks("PROJ-1")
			if again && (len(links) != 1 || links[0].GlobalID != gid) {
				t.Errorf("the branch's link: %+v, want it kept", links)
			}
			if !again && len(links) != 0 {
				t.Errorf("links left on PROJ-1: %+v", links)
			}
			entries, _, err = e.st.Audit(e.ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: app.AuditRemoteLinkDelete})
			if want := map[bool]int{false: 2, true: 1}[again]; err != nil || len(entries) != want {
				t.Errorf("%d removal audit entries %v, want %d", len(entries), err, want)
			}
		})
	}
}

// TestUnlinkRefusedNotQueued: Jira refusing the removal itself (the service
// account may no longer link issues) is audited, not queued: a retry would
// be refused alike.
func TestUnlinkRefusedNotQueued(t *testing.T) {
	e := newDeleteEnv(t, storetest.OpenSQLite(t, nil), false, false)
	q := &scriptedQueue{svc: e.svc}
	e.svc.Queue = q
	e.create("PROJ-1-fix")
	e.jira.Revoke("forgebridge-svc", "PROJ", "LINK_ISSUES")
	if err := e.svc.DeleteBranch(e.ctx, e.admin, "PROJ-1", app.DeleteBranchInput{RepositoryID: e.repoID, Name: "PROJ-1-fix"}); err != nil {
		t.Fatal(err)
	}
	if len(q.unlinks) != 0 {
		t.Errorf("removals queued %v, want none", q.unlinks)
	}
	entries, _, err := e.st.Audit(e.ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: app.AuditRemoteLinkDelete})
	if err != nil || len(entries) != 1 || entries[0].Outcome != fb.AuditOutcomeFailure || entries[0].Code != string(fb.EForbidden) {
		t.Errorf("audit %+v %v, want one removal refused as forbidden", entries, err)
	}
}
