package store_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestIssueWork runs the local tracker's issue work and the smart-commit
// claims on every kind of store.
func TestIssueWork(t *testing.T) {
	suite := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"Activity", testIssueActivity},
		{"ChangeStatus", testChangeIssueStatus},
		{"Claims", testSmartCommitClaims},
		{"ConcurrentClaims", testConcurrentClaims},
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range suite {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, b.Open(t, nil)) })
			}
		})
	}
}

func issueFixture(t *testing.T, s *store.Store) {
	ctx := context.Background()
	must(t, s.CreateProject(ctx, fb.Project{Key: "PROJ", Name: "Project"}, nil))
	must(t, s.CreateIssue(ctx, fb.Issue{Key: "PROJ-1", Summary: "s", Type: "Bug", Project: "PROJ"}, nil))
}

func testIssueActivity(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issueFixture(t, s)
	a, err := s.IssueActivity(ctx, "PROJ-1")
	must(t, err)
	if a.Status != "To Do" || a.Comments != nil || a.Worklog != nil {
		t.Fatalf("new issue's activity = %+v, want To Do and nothing else", a)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, s.AddIssueComment(ctx, "PROJ-1", fb.IssueComment{Author: "bob", Body: "first", Created: t0}))
	must(t, s.AddIssueComment(ctx, "PROJ-1", fb.IssueComment{Author: "alice", Body: "second", Created: t0.Add(time.Second)}))
	must(t, s.AddWorkLog(ctx, "PROJ-1", fb.WorkLog{Author: "bob", TimeSpentSeconds: 7200, Comment: "parser",
		Started: t0.Add(-time.Hour), Created: t0}))
	a, err = s.IssueActivity(ctx, "PROJ-1")
	must(t, err)
	want := fb.IssueActivity{Status: "To Do",
		Comments: []fb.IssueComment{{Author: "bob", Body: "first", Created: t0}, {Author: "alice", Body: "second", Created: t0.Add(time.Second)}},
		Worklog:  []fb.WorkLog{{Author: "bob", TimeSpentSeconds: 7200, Comment: "parser", Started: t0.Add(-time.Hour), Created: t0}}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("activity = %+v\nwant %+v", a, want)
	}

	for name, err := range map[string]error{
		"activity of a missing issue": func() error { _, err := s.IssueActivity(ctx, "PROJ-2"); return err }(),
		"comment on a missing issue":  s.AddIssueComment(ctx, "PROJ-2", fb.IssueComment{Author: "bob", Body: "x"}),
		"work on a missing issue":     s.AddWorkLog(ctx, "PROJ-2", fb.WorkLog{Author: "bob", TimeSpentSeconds: 60}),
	} {
		if fb.ErrorCode(err) != fb.ENotFound {
			t.Errorf("%s: %v, want not_found", name, err)
		}
	}
	if err := s.AddWorkLog(ctx, "PROJ-1", fb.WorkLog{Author: "bob"}); fb.ErrorCode(err) != fb.EInvalid {
		t.Errorf("work of no duration: %v, want invalid_request", err)
	}
	a, _ = s.IssueActivity(ctx, "PROJ-1")
	if len(a.Comments) != 2 || len(a.Worklog) != 1 {
		t.Errorf("refused writes changed the activity: %+v", a)
	}
}

func testChangeIssueStatus(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issueFixture(t, s)
	var saw string
	must(t, s.ChangeIssueStatus(ctx, "PROJ-1", func(st string) (string, error) { saw = st; return "In Progress", nil },
		&fb.IssueComment{Author: "bob", Body: "started"}))
	a, err := s.IssueActivity(ctx, "PROJ-1")
	must(t, err)
	if saw != "To Do" || a.Status != "In Progress" || len(a.Comments) != 1 || a.Comments[0].Body != "started" {
		t.Errorf("after a change: saw %q, activity %+v", saw, a)
	}
	refused := errors.New("refused")
	if err := s.ChangeIssueStatus(ctx, "PROJ-1", func(string) (string, error) { return "Done", refused },
		&fb.IssueComment{Author: "bob", Body: "not kept"}); !errors.Is(err, refused) {
		t.Errorf("refused change: %v", err)
	}
	if err := s.ChangeIssueStatus(ctx, "PROJ-1", func(string) (string, error) { return " ", nil }, nil); fb.ErrorCode(err) != fb.EInvalid {
		t.Errorf("empty status: %v, want invalid_request", err)
	}
	if err := s.ChangeIssueStatus(ctx, "PROJ-9", func(string) (string, error) { return "Done", nil }, nil); fb.ErrorCode(err) != fb.ENotFound {
		t.Errorf("missing issue: %v, want not_found", err)
	}
	a, _ = s.IssueActivity(ctx, "PROJ-1")
	if a.Status != "In Progress" || len(a.Comments) != 1 {
		t.Errorf("refused changes changed the issue: %+v", a)
	}
}

func testSmartCommitClaims(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a := fb.SmartCommitClaim{SHA: "aaa", IssueKey: "PROJ-1", CommandID: "c.1"}
	b := fb.SmartCommitClaim{SHA: "aaa", IssueKey: "PROJ-2", CommandID: "c.1"}
	c := fb.SmartCommitClaim{SHA: "bbb", IssueKey: "PROJ-1", CommandID: "c.1"}
	steps := []struct {
		claim fb.SmartCommitClaim
		owner string
		want  bool
	}{
		{a, "job-1", true},
		{a, "job-1", true},  // the same job again (a retry)
		{a, "job-2", false}, // another job: once only
		{b, "job-2", true},  // another issue of the same commit
	}
	if _, err := s.ClaimSmartCommit(ctx, b, ""); fb.ErrorCode(err) != fb.EInvalid {
		t.Errorf("claim without an owner: %v, want invalid_request", err)
	}
	for i, st := range steps {
		got, err := s.ClaimSmartCommit(ctx, st.claim, st.owner)
		must(t, err)
		if got != st.want {
			t.Errorf("step %d: ClaimSmartCommit(%+v, %s) = %v, want %v", i, st.claim, st.owner, got, st.want)
		}
	}
	// A finished claim is no one's, its first owner's neither; its audit
	// entry is written with it, once.
	for range 2 {
		must(t, s.FinishSmartCommit(ctx, a, &fb.AuditEntry{ActionID: "smartcommit:aaa", Action: fb.AuditSmartCommit,
			Issue: "PROJ-1", Target: "aaa", Outcome: fb.AuditOutcomeSuccess}))
	}
	if got, err := s.ClaimSmartCommit(ctx, a, "job-1"); err != nil || got {
		t.Errorf("finished claim claimed again: %v, %v", got, err)
	}
	if es, _, err := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: fb.AuditSmartCommit}); err != nil || len(es) != 1 {
		t.Errorf("audit after finishing twice: %+v, %v", es, err)
	}
	got, err := s.UnclaimedSmartCommits(ctx, []fb.SmartCommitClaim{c, a, b, c})
	must(t, err)
	if want := []fb.SmartCommitClaim{c, c}; !reflect.DeepEqual(got, want) {
		t.Errorf("UnclaimedSmartCommits = %+v, want %+v", got, want)
	}
	// More commits than one statement's parameters.
	many := make([]fb.SmartCommitClaim, 1200)
	for i := range many {
		many[i] = fb.SmartCommitClaim{SHA: string(rune('a'+i%26)) + time.Duration(i).String(), IssueKey: "PROJ-1", CommandID: "x.1"}
	}
	many[1100] = a
	got, err = s.UnclaimedSmartCommits(ctx, many)
	must(t, err)
	if len(got) != 1199 {
		t.Errorf("UnclaimedSmartCommits of 1200 with one claimed = %d", len(got))
	}
}

// testConcurrentClaims: of jobs claiming the same command at once, exactly
// one gets it.
func testConcurrentClaims(t *testing.T, s *store.Store) {
	ctx := context.Background()
	claim := fb.SmartCommitClaim{SHA: "ccc", IssueKey: "PROJ-1", CommandID: "c.1"}
	const n = 8
	var wg sync.WaitGroup
	won := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { won[i], errs[i] = s.ClaimSmartCommit(ctx, claim, "job-"+string(rune('a'+i))) })
	}
	wg.Wait()
	winners := 0
	for i := range n {
		must(t, errs[i])
		if won[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d jobs got the claim, want 1", winners)
	}
}
