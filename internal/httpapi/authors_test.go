package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/store"
)

// TestCommitAuthorIsTheTrackerUser (issue 13 item 2): a commit on the
// issue's panel names the tracker user whose email is its author's,
// ignoring case, as author.user; an author no user has, or one two users
// share, has author.user null.
func TestCommitAuthorIsTheTrackerUser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	st := e.svc.Store.(*store.Store)
	e.svc.Index = app.Indexing{Store: st}
	admin := fb.User{Key: "admin", Name: "admin", Admin: true, Active: true}
	for name, email := range map[string]string{"alice": "Alice@Example.com", "bob": "twin@example.com"} {
		if _, err := e.svc.UpdateUser(ctx, admin, name, fb.UserPatch{Email: &email}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.svc.AddUser(ctx, fb.User{Name: "carol", Email: "twin@example.com"}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 7, 8, 9, 10, 0, time.UTC)
	authors := map[string]string{"a1": "alice@example.COM", "a2": "stranger@example.com", "a3": "twin@example.com"}
	var commits []fb.Commit
	for sha, email := range authors {
		commits = append(commits, fb.Commit{SHA: sha, Message: "PROJ-1 work", AuthorName: "Someone", AuthorEmail: email,
			AuthoredAt: now, Keys: []string{"PROJ-1"}})
	}
	if err := st.AddCommits(ctx, e.repoID, commits); err != nil {
		t.Fatal(err)
	}
	r := e.do(http.MethodGet, "/api/v1/issues/PROJ-1", e.alice, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET issue: %d %s", r.status, r.body)
	}
	var got struct {
		Commits struct {
			Values []struct {
				SHA    string
				Author struct {
					Name, Email string
					User        *struct{ Name string }
				}
			}
		}
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a1": "alice", "a2": "", "a3": ""}
	if len(got.Commits.Values) != len(want) {
		t.Fatalf("commits %+v", got.Commits.Values)
	}
	for _, c := range got.Commits.Values {
		user := ""
		if c.Author.User != nil {
			user = c.Author.User.Name
		}
		if user != want[c.SHA] || c.Author.Email != authors[c.SHA] {
			t.Errorf("commit %s: author %+v, want user %q", c.SHA, c.Author, want[c.SHA])
		}
	}
}
