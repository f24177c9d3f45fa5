package web

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// TestBrowserIssueActivity: in Chromium, the issue page shows what smart
// commits did in the local tracker: the status its transition reached, the
// comment and the work logged, each under the person who did it.
func TestBrowserIssueActivity(t *testing.T) {
	chromium(t)
	e := newEnv(t)
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	alice := fb.User{Key: "alice", Name: "alice"}
	started := time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC)
	for _, err := range []error{
		e.tracker.LogWork(ctx, alice, "PROJ-1", 5*8*3600+2*8*3600+4*3600+30*60, "Fixed the parser", started),
		e.tracker.Comment(ctx, alice, "PROJ-1", "Ready for review"),
		e.tracker.Transition(ctx, alice, "PROJ-1", "start-progress", ""),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	p := newPage(t, srv.URL)
	p.signIn("bob") // Browse only: the issue's own record is not development information
	p.open("/browse/PROJ-1", "[data-status]")
	mustHave(t, "status", p.text("[data-status]"), "In Progress")
	mustHave(t, "comments", p.text("[data-comments-list]"), "alice", "Ready for review")
	mustHave(t, "work log", p.text("[data-worklog-list]"), "alice logged 1w 2d 4h 30m", "2026-05-06 07:08 UTC", "Fixed the parser")
	p.screenshot("issue-activity")
}
