package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/store"
)

func TestWorkTime(t *testing.T) {
	for _, tt := range []struct {
		seconds int64
		want    string
	}{
		{0, "0m"},
		{60, "1m"},
		{5400, "1h 30m"},
		{5*8*3600 + 2*8*3600 + 4*3600 + 30*60, "1w 2d 4h 30m"},
		{8 * 3600, "1d"},
		{61, "1m 1s"},
	} {
		if got := workTime(tt.seconds); got != tt.want {
			t.Errorf("workTime(%d) = %q, want %q", tt.seconds, got, tt.want)
		}
	}
}

// TestIssuePageShowsActivity: the local tracker's status, comments and work
// logs are on the issue page, also for people without View Development Tools.
func TestIssuePageShowsActivity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := fb.User{Key: "alice", Name: "alice"}
	started := time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC)
	for _, err := range []error{
		e.tracker.Comment(ctx, alice, "PROJ-1", "Ready for <review>"),
		e.tracker.LogWork(ctx, alice, "PROJ-1", 5400, "Fixed the parser", started),
		e.tracker.Transition(ctx, alice, "PROJ-1", "start-progress", ""),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range []string{"alice", "bob"} {
		page := e.signedIn(who).get("/browse/PROJ-1")
		mustStatus(t, who, page, http.StatusOK)
		mustContain(t, who, page.body(), `data-status>In Progress<`, "1 comment<", "Ready for &lt;review&gt;",
			`data-worklog="5400"`, "logged 1h 30m", "2026-05-06 07:08 UTC", "Fixed the parser")
	}
}

// TestPanelNamesCommitAuthors (issue 13 item 2): the panel shows a commit
// by the tracker user whose email is its author's under that user's name,
// and any other commit under the author's own name.
func TestPanelNamesCommitAuthors(t *testing.T) {
	e := newEnv(t)
	e.addIntegration(false)
	ctx := context.Background()
	st := e.app.Store.(*store.Store)
	e.app.Index = app.Indexing{Store: st}
	admin := fb.User{Key: "admin", Name: "admin", Admin: true, Active: true}
	email := "alice@example.com"
	if _, err := e.app.UpdateUser(ctx, admin, "alice", fb.UserPatch{Email: &email}); err != nil {
		t.Fatal(err)
	}
	repos, _, err := st.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 10}})
	if err != nil || len(repos) == 0 {
		t.Fatalf("repositories: %v %v", repos, err)
	}
	now := time.Now().UTC()
	if err := st.AddCommits(ctx, repos[0].ID, []fb.Commit{
		{SHA: "aaaaaaa1", Message: "PROJ-1 by alice", AuthorName: "a.liddell", AuthorEmail: "ALICE@example.com", AuthoredAt: now, Keys: []string{"PROJ-1"}},
		{SHA: "bbbbbbb2", Message: "PROJ-1 by someone", AuthorName: "Some One", AuthorEmail: "some@example.com", AuthoredAt: now, Keys: []string{"PROJ-1"}},
	}); err != nil {
		t.Fatal(err)
	}
	page := e.signedIn("alice").get("/browse/PROJ-1")
	mustStatus(t, "issue", page, http.StatusOK)
	body := page.body()
	mustContain(t, "panel", body, "Alice · ", "Some One · ")
	mustNotContain(t, "panel", body, "a.liddell")
}
