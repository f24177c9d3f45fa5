package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// failingStore fails the first RecordAction calls, as a database that is
// down, locked or restarting does. With committed, each failure comes after
// the write has committed: an acknowledgement lost on the way back.
type failingStore struct {
	fb.Store
	mu        sync.Mutex
	fails     int
	committed bool
}

var errStoreDown = errors.New("connection refused")

func (s *failingStore) RecordAction(ctx context.Context, e *fb.AuditEntry, b *fb.IssueBranch, pr *fb.IssuePullRequest) error {
	s.mu.Lock()
	fail := s.fails > 0
	if fail {
		s.fails--
	}
	s.mu.Unlock()
	if fail && !s.committed {
		return errStoreDown
	}
	if err := s.Store.RecordAction(ctx, e, b, pr); err != nil || !fail {
		return err
	}
	return errStoreDown
}

func (s *failingStore) set(fails int, committed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails, s.committed = fails, committed
}

// TestRecordKeptWhenStoreFails creates branches and pull requests while the
// store refuses their records: each created object's audit entry and issue
// record are stored by the queue once the store is back, exactly once, and
// the queued job carries no secret.
func TestRecordKeptWhenStoreFails(t *testing.T) {
	const oneOff = "ghp_alice_one_off_secret"
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			e.gh.AddToken(oneOff, fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
			alice := e.addPerson(t, "alice")
			fs := &failingStore{Store: e.st}
			e.svc.Store = fs
			q := e.start(t)
			e.svc.Queue = q
			repos, _, err := e.st.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 1}})
			if err != nil || len(repos) != 1 {
				t.Fatalf("repositories %v %v", repos, err)
			}
			repo := repos[0].ID
			tok := app.OneOffToken{Credential: fb.Credential{Token: oneOff}}

			cases := []struct {
				name      string
				issue     string
				fails     int
				committed bool
				pr        bool
				attempts  int // of the record job
			}{
				{name: "branch, store down for two writes", issue: "PROJ-1", fails: 2, attempts: 2},
				{name: "branch, commit acknowledgement lost", issue: "PROJ-2", fails: 1, committed: true, attempts: 1},
				{name: "pull request, store down for three writes", issue: "PROJ-3", fails: 3, pr: true, attempts: 3},
				{name: "pull request, commit acknowledgement lost", issue: "PROJ-4", fails: 1, committed: true, pr: true, attempts: 1},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e.addIssue(t, alice, c.issue)
					action := fb.AuditBranchCreate
					if c.pr {
						action = fb.AuditPullRequestCreate
						// Its source branch, recorded normally.
						br, err := e.svc.CreateBranch(ctx, alice, c.issue, app.CreateBranchInput{RepositoryID: repo, Token: tok})
						if err != nil {
							t.Fatal(err)
						}
						if _, err := e.gh.Repo("acme/app").Push(br.Name, "work"); err != nil {
							t.Fatal(err)
						}
					}
					fs.set(c.fails, c.committed)
					var err error
					if c.pr {
						_, err = e.svc.CreatePullRequest(ctx, alice, c.issue, app.CreatePullRequestInput{RepositoryID: repo, Token: tok})
					} else {
						_, err = e.svc.CreateBranch(ctx, alice, c.issue, app.CreateBranchInput{RepositoryID: repo, Token: tok})
					}
					if err != nil {
						t.Fatalf("the action happened on the host and must succeed: %v", err)
					}
					job := waitJob(t, q, kindRecord, func(raw json.RawMessage) bool {
						var a recordArgs
						return json.Unmarshal(raw, &a) == nil && a.Entry.Issue == c.issue
					}, finalStates...)
					if job.State != rivertype.JobStateCompleted || job.Attempt != c.attempts {
						t.Errorf("record job %s after %d attempts, want completed after %d (errors %v)", job.State, job.Attempt, c.attempts, job.Errors)
					}
					if strings.Contains(string(job.EncodedArgs), oneOff) || strings.Contains(string(job.EncodedArgs), `"svc"`) {
						t.Errorf("the queued record holds a token: %s", job.EncodedArgs)
					}
					entries, _, err := e.st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 100}, Action: action, User: "alice"})
					if err != nil {
						t.Fatal(err)
					}
					var mine []fb.AuditEntry
					for _, a := range entries {
						if a.Issue == c.issue {
							mine = append(mine, a)
						}
					}
					if len(mine) != 1 || mine[0].Outcome != fb.AuditOutcomeSuccess || mine[0].Actor.Login != "alice-gh" {
						t.Errorf("%s audit entries for %s: %+v, want one success by alice-gh", action, c.issue, mine)
					}
					if c.pr {
						if prs, err := e.st.IssuePullRequests(ctx, c.issue); err != nil || len(prs) != 1 {
							t.Errorf("pull requests recorded for %s: %+v %v, want one", c.issue, prs, err)
						}
					} else if bs, err := e.st.IssueBranches(ctx, c.issue); err != nil || len(bs) != 1 {
						t.Errorf("branches recorded for %s: %+v %v, want one", c.issue, bs, err)
					}
				})
			}
			if strings.Contains(e.logs.String(), oneOff) {
				t.Errorf("the log holds the token:\n%s", e.logs.String())
			}
		})
	}
}

// TestRecordGivenUp checks that a record the store never takes is logged
// whole at ERROR when its attempts run out.
func TestRecordGivenUp(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	ctx := context.Background()
	e.svc.Store = &failingStore{Store: e.st, fails: 1000}
	q := e.start(t)
	r := app.ActionRecord{Entry: fb.AuditEntry{ActionID: "act-9", User: "alice", Action: fb.AuditBranchCreate,
		Issue: "PROJ-9", Target: "PROJ-9-lost", Outcome: fb.AuditOutcomeSuccess},
		Branch: &fb.IssueBranch{IssueKey: "PROJ-9", RepositoryID: "r1", Name: "PROJ-9-lost", SHA: "abc"}}
	if _, err := q.client.Insert(ctx, newRecordArgs(r), &river.InsertOpts{MaxAttempts: 2}); err != nil {
		t.Fatal(err)
	}
	job := waitJob(t, q, kindRecord, nil, finalStates...)
	if job.State != rivertype.JobStateDiscarded {
		t.Errorf("job %s, want discarded", job.State)
	}
	logs := e.logs.String()
	for _, want := range []string{"level=ERROR", "gave up recording an action", "act-9", "PROJ-9-lost", "sha=abc"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestRecordArgsRoundTrip checks that a record comes back whole from its
// stored JSON, for a branch and for a pull request.
func TestRecordArgsRoundTrip(t *testing.T) {
	at := time.Date(2026, 2, 3, 4, 5, 6, 7000, time.UTC)
	entry := fb.AuditEntry{ActionID: "act-1", Time: at, User: "alice", Action: fb.AuditBranchCreate, IntegrationID: "i1",
		RepositoryID: "r1", Issue: "PROJ-1", Target: "PROJ-1-x", Actor: fb.Actor{Type: fb.ActorUser, Login: "alice-gh"},
		Outcome: fb.AuditOutcomeSuccess}
	for _, r := range []app.ActionRecord{
		{Entry: entry, Branch: &fb.IssueBranch{IssueKey: "PROJ-1", RepositoryID: "r1", Name: "PROJ-1-x", SHA: "abc",
			WebURL: "https://example.test/b", CreatedAt: at}},
		{Entry: entry, PullRequest: &fb.IssuePullRequest{IssueKey: "PROJ-1", RepositoryID: "r1", CreatedAt: at,
			PullRequest: fb.PullRequest{ID: "77", Number: 7, Title: "PROJ-1 x", WebURL: "https://example.test/pr/7",
				SourceBranch: "PROJ-1-x", TargetBranch: "main", State: fb.PullOpen, Draft: true, Author: "alice-gh", UpdatedAt: at}}},
	} {
		raw, err := json.Marshal(newRecordArgs(r))
		if err != nil {
			t.Fatal(err)
		}
		var back recordArgs
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if got := back.record(); !reflect.DeepEqual(got, r) {
			t.Errorf("record from %s\n= %+v\nwant %+v", raw, got, r)
		}
	}
}

// addPerson adds a local user with Browse and View Development Tools on PROJ.
func (e *env) addPerson(t *testing.T, name string) fb.User {
	t.Helper()
	ctx := context.Background()
	u, _, err := e.svc.AddUser(ctx, fb.User{Name: name, Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateProject(ctx, u, fb.Project{Key: "PROJ"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetPermissions(ctx, u, "PROJ", name, []string{fb.PermBrowseProjects, fb.PermViewDevTools}); err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) addIssue(t *testing.T, u fb.User, key string) {
	t.Helper()
	if _, err := e.svc.CreateIssue(context.Background(), u, fb.Issue{Key: key, Summary: "Kept"}); err != nil {
		t.Fatal(err)
	}
}
