package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
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
