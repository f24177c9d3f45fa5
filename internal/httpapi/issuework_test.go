package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

// TestIssueShowsActivity: GET /api/v1/issues/{key} answers the local
// tracker's status, comments and work logs (API.md "Acting on git data").
func TestIssueShowsActivity(t *testing.T) {
	e := newEnv(t)
	type answer struct {
		Status   *string `json:"status"`
		Comments []struct {
			Author, Body string
			Created      time.Time
		} `json:"comments"`
		Worklog []struct {
			Author           string
			TimeSpentSeconds int64
			Comment          string
			Started, Created time.Time
		} `json:"worklog"`
	}
	get := func() answer {
		r := e.do(http.MethodGet, "/api/v1/issues/PROJ-1", e.alice, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET issue: %d %s", r.status, r.body)
		}
		var a answer
		if err := json.Unmarshal(r.body, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := get()
	if a.Status == nil || *a.Status != "To Do" || a.Comments == nil || len(a.Comments) != 0 || a.Worklog == nil || len(a.Worklog) != 0 {
		t.Fatalf("new issue: %+v, want status To Do and empty lists", a)
	}

	ctx := context.Background()
	tr := e.svc.Tracker.(*local.Tracker)
	alice := fb.User{Key: "alice", Name: "alice"}
	started := time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC)
	for _, err := range []error{
		tr.Comment(ctx, alice, "PROJ-1", "Ready for review"),
		tr.LogWork(ctx, alice, "PROJ-1", 7200, "Fixed the parser", started),
		tr.Transition(ctx, alice, "PROJ-1", "done", "Shipped"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	a = get()
	if *a.Status != "Done" || len(a.Comments) != 2 || a.Comments[0].Author != "alice" || a.Comments[0].Body != "Ready for review" ||
		a.Comments[1].Body != "Shipped" || a.Comments[0].Created.IsZero() {
		t.Errorf("status and comments: %+v", a)
	}
	if len(a.Worklog) != 1 || a.Worklog[0].Author != "alice" || a.Worklog[0].TimeSpentSeconds != 7200 ||
		a.Worklog[0].Comment != "Fixed the parser" || !a.Worklog[0].Started.Equal(started) {
		t.Errorf("worklog: %+v", a.Worklog)
	}
}
