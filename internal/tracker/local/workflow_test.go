package local_test

import (
	"context"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

func TestFindTransition(t *testing.T) {
	tests := []struct {
		status, name string
		want         string // the status reached; "" when refused
	}{
		{local.StatusToDo, "start-progress", local.StatusInProgress},
		{local.StatusToDo, "start", local.StatusInProgress}, // Atlassian: the words before a space suffice
		{local.StatusToDo, "done", local.StatusDone},
		{local.StatusToDo, "resolve", local.StatusDone},
		{local.StatusToDo, "resolve-issue", local.StatusDone},
		{local.StatusToDo, "stop-progress", ""}, // not offered from To Do
		{local.StatusToDo, "start-prog", ""},    // a prefix only up to a hyphen
		{local.StatusToDo, "Start-Progress", ""},
		{local.StatusToDo, "", ""},
		{local.StatusInProgress, "stop-progress", local.StatusToDo},
		{local.StatusInProgress, "done", local.StatusDone},
		{local.StatusInProgress, "start-progress", ""},
		{local.StatusDone, "reopen", local.StatusToDo},
		{local.StatusDone, "done", ""},
		{"Unknown", "done", ""},
	}
	for _, tt := range tests {
		t.Run(tt.status+"/"+tt.name, func(t *testing.T) {
			got, err := local.FindTransition(tt.status, tt.name)
			if tt.want == "" {
				if fb.ErrorCode(err) != fb.EInvalid {
					t.Errorf("FindTransition = %+v, %v; want invalid_request", got, err)
				}
				return
			}
			if err != nil || got.To != tt.want {
				t.Errorf("FindTransition = %+v, %v; want to %s", got, err, tt.want)
			}
		})
	}
}

func TestCommandName(t *testing.T) {
	for in, want := range map[string]string{"Start Progress": "start-progress", "  Resolve   Issue ": "resolve-issue", "Done": "done"} {
		if got := local.CommandName(in); got != want {
			t.Errorf("CommandName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIssueActor: the local tracker carries out comments, work logs and
// transitions as the user, only where that user may, and refuses what
// its workflow does not offer, changing nothing then.
func TestIssueActor(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			st := b.Open(t, nil)
			now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
			tr := &local.Tracker{Store: st, Now: func() time.Time { return now }}
			for _, u := range []fb.User{{Key: "bob", Name: "bob", Active: true}, {Key: "eve", Name: "eve", Active: true},
				{Key: "gone", Name: "gone", Active: false}} {
				if err := st.CreateUser(ctx, u, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.CreateProject(ctx, fb.Project{Key: "PROJ", Name: "P"}, nil); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateIssue(ctx, fb.Issue{Key: "PROJ-1", Summary: "s", Type: "Bug", Project: "PROJ"}, nil); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"bob", "gone"} {
				if err := st.SetPermissions(ctx, "PROJ", k, []string{fb.PermBrowseProjects}, nil); err != nil {
					t.Fatal(err)
				}
			}
			bob, eve, gone := fb.User{Key: "bob", Name: "bob"}, fb.User{Key: "eve", Name: "eve"}, fb.User{Key: "gone", Name: "gone"}
			started := now.Add(-3 * time.Hour)
			steps := []struct {
				name string
				do   func() error
				want fb.Code
			}{
				{"comment", func() error { return tr.Comment(ctx, bob, "proj-1", "Ready for review") }, ""},
				{"work", func() error { return tr.LogWork(ctx, bob, "PROJ-1", 7200, "Fixed the parser", started) }, ""},
				{"start progress", func() error { return tr.Transition(ctx, bob, "PROJ-1", "start-progress", "") }, ""},
				{"start progress again", func() error { return tr.Transition(ctx, bob, "PROJ-1", "start-progress", "again") }, fb.EInvalid},
				{"done with a comment", func() error { return tr.Transition(ctx, bob, "PROJ-1", "done", "Shipped") }, ""},
				{"empty comment", func() error { return tr.Comment(ctx, bob, "PROJ-1", "  ") }, fb.EInvalid},
				{"no duration", func() error { return tr.LogWork(ctx, bob, "PROJ-1", 0, "", started) }, fb.EInvalid},
				{"without browse", func() error { return tr.Comment(ctx, eve, "PROJ-1", "hi") }, fb.EForbidden},
				{"inactive user", func() error { return tr.Comment(ctx, gone, "PROJ-1", "hi") }, fb.EForbidden},
				{"unknown user", func() error { return tr.Comment(ctx, fb.User{Key: "x", Name: "x"}, "PROJ-1", "hi") }, fb.EForbidden},
				{"missing issue", func() error { return tr.Comment(ctx, bob, "PROJ-9", "hi") }, fb.ENotFound},
			}
			for _, s := range steps {
				if err := s.do(); fb.ErrorCode(err) != s.want {
					t.Errorf("%s: %v, want code %q", s.name, err, s.want)
				}
			}
			a, err := tr.Activity(ctx, "PROJ-1")
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != local.StatusDone {
				t.Errorf("status %q, want Done", a.Status)
			}
			if len(a.Comments) != 2 || a.Comments[0] != (fb.IssueComment{Author: "bob", Body: "Ready for review", Created: now}) ||
				a.Comments[1] != (fb.IssueComment{Author: "bob", Body: "Shipped", Created: now}) {
				t.Errorf("comments %+v", a.Comments)
			}
			if len(a.Worklog) != 1 || a.Worklog[0] != (fb.WorkLog{Author: "bob", TimeSpentSeconds: 7200, Comment: "Fixed the parser", Started: started, Created: now}) {
				t.Errorf("worklog %+v", a.Worklog)
			}
		})
	}
}
