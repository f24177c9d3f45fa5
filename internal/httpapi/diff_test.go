package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
	"github.com/forgebridge/forgebridge/internal/store"
)

// withMirror gives the env's repository a mirror holding three commits
// (PROJ-1's, OTHER-1's and one that names no issue), records the first two as
// indexing would, and answers their ids.
func (e *env) withMirror() (proj, other, unlinked string) {
	e.t.Helper()
	dir := e.t.TempDir()
	git := func(args ...string) string {
		return strings.TrimSpace(gittest.Git(e.t, dir, args...))
	}
	commit := func(file, content, msg string) string {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
		git("add", "-A")
		git("-c", "user.name=Alice", "-c", "user.email=alice@example.com", "commit", "-q", "-m", msg)
		return git("rev-parse", "HEAD")
	}
	git("init", "-q", "-b", "main", ".")
	proj = commit("login.go", "package login\n", "PROJ-1 Fix the login page")
	other = commit("login.go", "package login // elsewhere\n", "OTHER-1 Elsewhere")
	unlinked = commit("readme.md", "hello\n", "No key here")
	g, err := gitmirror.Find(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	st := e.svc.Store.(*store.Store)
	e.svc.Index = app.Indexing{Store: st, Mirror: func(id string) (*gitmirror.Mirror, error) {
		if id != e.repoID {
			e.t.Errorf("mirror of %s asked for", id)
		}
		return g.Mirror(filepath.Join(dir, ".git")), nil
	}}
	if err := st.AddCommits(context.Background(), e.repoID, []fb.Commit{
		{SHA: proj, Message: "PROJ-1 Fix the login page", AuthorEmail: "alice@example.com", Keys: []string{"PROJ-1"}},
		{SHA: other, Message: "OTHER-1 Elsewhere", AuthorEmail: "alice@example.com", Keys: []string{"OTHER-1"}},
	}); err != nil {
		e.t.Fatal(err)
	}
	return proj, other, unlinked
}

func TestCommitDiff(t *testing.T) {
	e := newEnv(t)
	proj, other, unlinked := e.withMirror()
	path := func(repo, sha string) string { return "/api/v1/repositories/" + repo + "/commits/" + sha }

	res := e.do("GET", path(e.repoID, proj), e.alice, nil)
	if res.status != http.StatusOK {
		t.Fatalf("alice's diff: %d %s", res.status, res.body)
	}
	var got commitDiffJSON
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.SHA != proj || got.Message != "PROJ-1 Fix the login page\n" || got.Author.Email != "alice@example.com" ||
		got.RepositoryID != e.repoID || len(got.Issues) != 1 || got.Issues[0] != "PROJ-1" || got.Truncated ||
		!strings.HasSuffix(got.WebURL, "/acme/app/commit/"+proj) || len(got.Parents) != 0 {
		t.Errorf("diff = %+v", got)
	}
	if len(got.Files) != 1 || got.Files[0] != (fileChangeJSON{Path: "login.go", Status: "added", Additions: 1,
		Patch: "@@ -0,0 +1 @@\n+package login\n"}) {
		t.Errorf("files = %+v", got.Files)
	}

	tests := []struct {
		name, who, path string
		status          int
		code            fb.Code
	}{
		{"no token", "", path(e.repoID, proj), http.StatusUnauthorized, fb.EUnauthenticated},
		{"browse without View Development Tools", e.bob, path(e.repoID, proj), http.StatusNotFound, fb.ENotFound},
		// alice may browse OTHER-1 with the tools, but the integration does not serve OTHER.
		{"issue of a project the integration does not serve", e.alice, path(e.repoID, other), http.StatusNotFound, fb.ENotFound},
		{"commit linked to no issue", e.alice, path(e.repoID, unlinked), http.StatusNotFound, fb.ENotFound},
		{"unknown commit", e.alice, path(e.repoID, strings.Repeat("0", 40)), http.StatusNotFound, fb.ENotFound},
		{"unknown repository", e.alice, path("nope", proj), http.StatusNotFound, fb.ENotFound},
		{"abbreviated id", e.alice, path(e.repoID, proj[:12]), http.StatusBadRequest, fb.EInvalid},
		{"upper case id", e.alice, path(e.repoID, strings.ToUpper(proj)), http.StatusBadRequest, fb.EInvalid},
		{"revision expression", e.alice, path(e.repoID, "HEAD~1"), http.StatusBadRequest, fb.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do("GET", tt.path, tt.who, nil)
			if res.status != tt.status || res.code() != string(tt.code) {
				t.Errorf("%d %s, want %d %s", res.status, res.body, tt.status, tt.code)
			}
			if strings.Contains(string(res.body), "diff --git") || strings.Contains(string(res.body), "+package") {
				t.Errorf("the refusal carries the diff: %s", res.body)
			}
		})
	}

	// Switched off: those who may see the commit are told; others still see nothing.
	root := fb.User{Name: "admin", Admin: true}
	if _, err := e.svc.UpdateIntegration(context.Background(), root, e.integrationID, app.IntegrationInput{DiffViewing: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if res := e.do("GET", path(e.repoID, proj), e.alice, nil); res.status != http.StatusForbidden || res.code() != string(fb.EFeatureDisabled) {
		t.Errorf("switched off: %d %s", res.status, res.body)
	}
	if res := e.do("GET", path(e.repoID, proj), e.bob, nil); res.status != http.StatusNotFound {
		t.Errorf("switched off, bob: %d %s", res.status, res.body)
	}
}

func TestCommitDiffWithoutGit(t *testing.T) {
	e := newEnv(t)
	proj, _, _ := e.withMirror()
	e.svc.Index.Mirror = nil
	res := e.do("GET", "/api/v1/repositories/"+e.repoID+"/commits/"+proj, e.alice, nil)
	if res.status != http.StatusNotImplemented || res.code() != string(fb.ENotSupported) {
		t.Errorf("without git: %d %s", res.status, res.body)
	}
}
