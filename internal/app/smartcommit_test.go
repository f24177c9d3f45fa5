package app_test

import (
	"context"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/smartcommit"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

// grantless is the local tracker answering every command with err, as
// Jira does without the person's grant.
type grantless struct {
	*local.Tracker
	err   error
	calls int
}

func (g *grantless) Comment(context.Context, fb.User, string, string) error { g.calls++; return g.err }

// onlyPeople is a tracker that can say who wrote a commit but act on nothing.
type onlyPeople struct{ fb.Tracker }

func (o onlyPeople) UsersByEmail(ctx context.Context, emails []string) (map[string]fb.User, error) {
	return o.Tracker.(fb.PeopleByEmail).UsersByEmail(ctx, emails)
}

// TestRunSmartCommit: the outcome of a command in each case, its audit
// entry, and that a command whose job did not claim it does nothing.
func TestRunSmartCommit(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenSQLite(t, nil)
	lt := &local.Tracker{Store: st}
	svc := &app.Service{Store: st, Tracker: lt}
	admin := fb.User{Key: "admin", Name: "admin", Admin: true, Active: true}
	if _, _, err := svc.AddUser(ctx, fb.User{Name: "bob", Email: "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateProject(ctx, admin, fb.Project{Key: "PROJ", Name: "P"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetPermissions(ctx, admin, "PROJ", "bob", []string{fb.PermBrowseProjects}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateIssue(ctx, admin, fb.Issue{Key: "PROJ-1", Summary: "s", Type: "Task"}); err != nil {
		t.Fatal(err)
	}
	in := fb.Integration{Name: "acme", Kind: fb.KindGitHub, Settings: fb.IntegrationSettings{SmartCommits: true}, Projects: []string{"PROJ"}}
	if err := st.CreateIntegration(ctx, &in); err != nil {
		t.Fatal(err)
	}
	off := fb.Integration{Name: "off", Kind: fb.KindGitHub}
	if err := st.CreateIntegration(ctx, &off); err != nil {
		t.Fatal(err)
	}

	comment := smartcommit.Command{ID: "c.1", Kind: smartcommit.KindComment, Name: "comment", Text: "hello"}
	tests := []struct {
		name        string
		tracker     fb.Tracker
		integration string
		issue       string
		email       string
		cmd         smartcommit.Command
		final       bool
		wantErr     fb.Code // returned for a retry
		outcome     string  // "" when no entry is written
		code        string
	}{
		{"success", lt, in.ID, "PROJ-1", "BOB@example.com", comment, false, "", fb.AuditOutcomeSuccess, ""},
		{"no grant", &grantless{Tracker: lt, err: fb.Errorf(fb.EGrantRequired, "no grant")}, in.ID, "PROJ-1", "bob@example.com", comment, false, "", fb.AuditOutcomeSkipped, "grant_required"},
		{"tracker down, retried", &grantless{Tracker: lt, err: fb.Errorf(fb.ETrackerUnavailable, "down")}, in.ID, "PROJ-1", "bob@example.com", comment, false, fb.ETrackerUnavailable, "", ""},
		{"tracker down, last try", &grantless{Tracker: lt, err: fb.Errorf(fb.ETrackerUnavailable, "down")}, in.ID, "PROJ-1", "bob@example.com", comment, true, "", fb.AuditOutcomeFailure, "tracker_unavailable"},
		{"unknown author", lt, in.ID, "PROJ-1", "nobody@example.com", comment, false, "", fb.AuditOutcomeSkipped, "author_unknown"},
		{"no author email", lt, in.ID, "PROJ-1", "", comment, false, "", fb.AuditOutcomeSkipped, "author_unknown"},
		{"switched off", lt, off.ID, "PROJ-1", "bob@example.com", comment, false, "", fb.AuditOutcomeSkipped, "feature_disabled"},
		{"integration gone", lt, "gone", "PROJ-1", "bob@example.com", comment, false, "", fb.AuditOutcomeSkipped, "feature_disabled"},
		{"project not served", lt, in.ID, "OPS-1", "bob@example.com", comment, false, "", fb.AuditOutcomeSkipped, "feature_disabled"},
		{"tracker cannot act", onlyPeople{lt}, in.ID, "PROJ-1", "bob@example.com", comment, false, "", fb.AuditOutcomeSkipped, "not_supported"},
		{"time without duration", lt, in.ID, "PROJ-1", "bob@example.com", smartcommit.Command{ID: "t.1", Kind: smartcommit.KindTime, Name: "time"}, false, "", fb.AuditOutcomeFailure, "invalid_request"},
		{"transition not offered", lt, in.ID, "PROJ-1", "bob@example.com", smartcommit.Command{ID: "r.1", Kind: smartcommit.KindTransition, Name: "reopen"}, false, "", fb.AuditOutcomeFailure, "invalid_request"},
		{"missing issue", lt, in.ID, "PROJ-9", "bob@example.com", comment, false, "", fb.AuditOutcomeFailure, "not_found"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &app.Service{Store: st, Tracker: tt.tracker, Now: func() time.Time { return time.Unix(1e9, 0) }}
			sha := string(rune('a'+i)) + "0000000000000000000000000000000000000000"[1:]
			job := app.SmartCommitJob{IntegrationID: tt.integration, RepositoryID: "r", SHA: sha, AuthorEmail: tt.email,
				IssueKey: tt.issue, Command: tt.cmd}
			err := svc.RunSmartCommit(ctx, job, "job-1", tt.final)
			if fb.ErrorCode(err) != tt.wantErr {
				t.Fatalf("RunSmartCommit: %v, want code %q", err, tt.wantErr)
			}
			entries, _, err := st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 100}, Action: fb.AuditSmartCommit})
			if err != nil {
				t.Fatal(err)
			}
			var mine []fb.AuditEntry
			for _, e := range entries {
				if e.Target == sha {
					mine = append(mine, e)
				}
			}
			if tt.outcome == "" {
				if len(mine) != 0 {
					t.Fatalf("entries %+v, want none", mine)
				}
				return
			}
			if len(mine) != 1 || mine[0].Outcome != tt.outcome || mine[0].Code != tt.code || mine[0].Issue != tt.issue ||
				mine[0].IntegrationID != tt.integration {
				t.Fatalf("entries %+v, want one %s %s", mine, tt.outcome, tt.code)
			}
			// Another job with the same command does nothing, and no retry of
			// this one writes a second entry.
			if g, ok := tt.tracker.(*grantless); ok {
				g.calls = 0
			}
			if err := svc.RunSmartCommit(ctx, job, "job-2", true); err != nil {
				t.Fatal(err)
			}
			if g, ok := tt.tracker.(*grantless); ok && g.calls != 0 {
				t.Errorf("another job called the tracker %d times", g.calls)
			}
			if err := svc.RunSmartCommit(ctx, job, "job-1", true); err != nil && tt.outcome != fb.AuditOutcomeFailure {
				t.Fatal(err)
			}
			entries, _, _ = st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 100}, Action: fb.AuditSmartCommit})
			n := 0
			for _, e := range entries {
				if e.Target == sha {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d entries after the command ran again, want 1", n)
			}
		})
	}
	a, err := st.IssueActivity(ctx, "PROJ-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Comments) != 1 || a.Comments[0].Author != "bob" {
		t.Errorf("comments %+v, want bob's one (the success; the repeated success acts once)", a.Comments)
	}
}
