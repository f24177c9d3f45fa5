package fakegitlab

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// gitGet asks for the project's refs as git does, with Basic authorization
// when password is not empty.
func gitGet(t *testing.T, s *Server, method, path, password string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "git/2.39.5")
	if password != "" {
		req.SetBasicAuth("oauth2", password)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func TestGitAuthentication(t *testing.T) {
	s, p := newServer(t)
	s.AddToken("reader", Token{Username: "frank", Scopes: []string{"read_repository"}})
	s.AddToken("profile", Token{Username: "gina", Scopes: []string{"read_user"}})
	s.AddToken("guest", Token{Username: "hugo"})
	s.AddToken("stranger", Token{Username: "ivan"})
	p.SetAccess("hugo", Guest)
	p.SetAccess("ivan", NoAccess)
	const refs = "/group/sub/proj.git/info/refs?service=git-upload-pack"
	tests := []struct {
		name, method, path, password string
		status                       int
		want                         string // in the body
	}{
		{"api token", "GET", refs, "good", 200, "refs/heads/feature/x"},
		{"read_api token", "GET", refs, "ro", 200, "refs/heads/main"},
		{"read_repository token", "GET", refs, "reader", 200, "# service=git-upload-pack"},
		{"legacy server token", "GET", refs, "legacy", 200, "refs/heads/main"},
		{"no credentials", "GET", refs, "", 401, "HTTP Basic: Access denied"},
		{"unknown token", "GET", refs, "nope", 401, "HTTP Basic: Access denied"},
		{"expired token", "GET", refs, "expired", 401, "HTTP Basic: Access denied"},
		{"revoked token", "GET", refs, "revoked", 401, "HTTP Basic: Access denied"},
		{"token without a repository scope", "GET", refs, "profile", 403, "You are not allowed to download code."},
		{"guest", "GET", refs, "guest", 403, "You are not allowed to download code from this project."},
		{"no access", "GET", refs, "stranger", 404, "The project you were looking for could not be found"},
		{"unknown project", "GET", "/group/nope.git/info/refs?service=git-upload-pack", "good", 404, "could not be found"},
		{"dumb protocol", "GET", "/group/sub/proj.git/info/refs", "good", 403, "The command you're trying to execute is not allowed."},
		{"HEAD", "HEAD", refs, "good", 403, ""},
		{"push with a read token", "GET", "/group/sub/proj.git/info/refs?service=git-receive-pack", "ro", 403, "You are not allowed to upload code."},
		{"push", "GET", "/group/sub/proj.git/info/refs?service=git-receive-pack", "good", 403, "pushing is not served"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := gitGet(t, s, tt.method, tt.path, tt.password)
			if a.status != tt.status || !strings.Contains(a.body, tt.want) {
				t.Fatalf("%s %s = %d %q, want %d containing %q", tt.method, tt.path, a.status, a.body, tt.status, tt.want)
			}
			challenge := a.header.Get("Www-Authenticate")
			if tt.status == 401 && challenge != `Basic realm="GitLab"` || tt.status != 401 && challenge != "" {
				t.Errorf("WWW-Authenticate = %q", challenge)
			}
		})
	}
	calls := s.Calls()
	last := calls[len(calls)-1]
	if !last.Git || last.Token != "good" || last.RawPath != "/group/sub/proj.git/info/refs" || last.Query != "service=git-receive-pack" {
		t.Errorf("last call = %+v, want the git request with its token", last)
	}

	s.SetFailingStatus(502)
	if a := gitGet(t, s, "GET", refs, "good"); a.status != 502 {
		t.Errorf("failing: %d", a.status)
	}
	s.SetFailing(false)
	s.SetRateLimited(true)
	if a := gitGet(t, s, "GET", refs, "good"); a.status != 429 || a.header.Get("Retry-After") == "" {
		t.Errorf("rate limited: %d %v", a.status, a.header)
	}
}

// TestOneSourceOfTruth checks that the API, the helpers and git see the
// same repository.
func TestOneSourceOfTruth(t *testing.T) {
	s, p := newServer(t)
	// A branch created through the API is a ref in the repository.
	a := do(t, s, "POST", "/api/v4/projects/100/repository/branches", "good", `{"branch":"api-made","ref":"feature/x"}`)
	if a.status != 201 {
		t.Fatalf("create = %d %s", a.status, a.body)
	}
	x, _ := p.BranchSHA("feature/x")
	if sha, ok := p.Git().Resolve("refs/heads/api-made"); !ok || sha != x {
		t.Errorf("git has api-made at %q, want %s", sha, x)
	}
	// Commits pushed with the helpers show in the API, as git wrote them.
	sha, err := p.Push("feature/x", "PROJ-1 Fix the parser\n\nLonger text.\n")
	if err != nil {
		t.Fatal(err)
	}
	a = do(t, s, "GET", "/api/v4/projects/100/repository/branches/feature%2Fx", "good", "")
	var b struct {
		Merged bool `json:"merged"`
		Commit struct {
			ID, Title, Message string
			ParentIDs          []string `json:"parent_ids"`
		} `json:"commit"`
	}
	json.Unmarshal([]byte(a.body), &b)
	if b.Commit.ID != sha || b.Commit.Title != "PROJ-1 Fix the parser" || b.Commit.Message != "PROJ-1 Fix the parser\n\nLonger text.\n" ||
		len(b.Commit.ParentIDs) != 1 || b.Commit.ParentIDs[0] != x || b.Merged {
		t.Errorf("branch = %s", a.body)
	}
	// A deleted branch is gone everywhere; a merge request cannot use it.
	if err := p.DeleteBranch("api-made"); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Git().Resolve("refs/heads/api-made"); ok {
		t.Error("api-made is still in the repository")
	}
	if a := do(t, s, "GET", "/api/v4/projects/100/repository/branches/api-made", "good", ""); a.status != 404 {
		t.Errorf("deleted branch = %d", a.status)
	}
	if _, err := p.OpenPull("api-made", "main", "t", "", false); err == nil {
		t.Error("a merge request from a deleted branch opened")
	}
	if err := p.DeleteBranch("main"); err == nil {
		t.Error("the default branch was deleted")
	}
	// Tags are refs too, and a branch can start from one.
	if err := p.Tag("v1", sha); err != nil {
		t.Fatal(err)
	}
	if err := p.Tag("v1", sha); err == nil {
		t.Error("a tag was made twice")
	}
	if a := do(t, s, "POST", "/api/v4/projects/100/repository/branches", "good", `{"branch":"from-tag","ref":"v1"}`); a.status != 201 || !strings.Contains(a.body, sha) {
		t.Errorf("branch from tag = %d %s", a.status, a.body)
	}
	if a := do(t, s, "POST", "/api/v4/projects/100/repository/branches", "good", `{"branch":"from-sha","ref":"`+x[:10]+`"}`); a.status != 201 || !strings.Contains(a.body, x) {
		t.Errorf("branch from a short sha = %d %s", a.status, a.body)
	}
	// Merging writes the merge commit on the target.
	iid, err := p.OpenPull("feature/x", "main", "PROJ-1", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetPullState(iid, "merged"); err != nil {
		t.Fatal(err)
	}
	main, _ := p.BranchSHA("main")
	if !p.Git().IsAncestor(sha, main) || main == sha {
		t.Errorf("main %s does not merge %s", main, sha)
	}
	if err := p.SetPullState(iid, "opened"); err == nil {
		t.Error("a merged merge request was reopened")
	}
	// The repositories go with the server.
	dir := s.dir
	s.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s remains after Close: %v", dir, err)
	}
}

// TestEmptyProject checks a project without commits until its first push.
func TestEmptyProject(t *testing.T) {
	s, _ := newServer(t)
	p := s.AddProject("group/empty", "")
	a := do(t, s, "GET", "/api/v4/projects/group%2Fempty", "good", "")
	if !strings.Contains(a.body, `"empty_repo":true`) || !strings.Contains(a.body, `"default_branch":null`) {
		t.Errorf("empty project = %s", a.body)
	}
	if a := do(t, s, "POST", "/api/v4/projects/group%2Fempty/repository/branches", "good", `{"branch":"b","ref":"main"}`); a.status != 400 {
		t.Errorf("branch in an empty project = %d %s", a.status, a.body)
	}
	if _, err := p.Push("develop", "first\n"); err != nil {
		t.Fatal(err)
	}
	a = do(t, s, "GET", "/api/v4/projects/group%2Fempty", "good", "")
	if !strings.Contains(a.body, `"empty_repo":false`) || !strings.Contains(a.body, `"default_branch":"develop"`) || p.Git().Head() != "develop" {
		t.Errorf("after the first push = %s (HEAD %s)", a.body, p.Git().Head())
	}
}
