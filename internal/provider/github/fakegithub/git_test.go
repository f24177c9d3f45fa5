package fakegithub

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// advertise asks for the ref advertisement of a repository the way git
// does, with the token as the Basic password when one is given.
func advertise(t *testing.T, s *Server, path, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL()+path+"/info/refs?service=git-upload-pack", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "git/2.39.5")
	if token != "" {
		req.SetBasicAuth("x-access-token", token)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func TestGitAuth(t *testing.T) {
	s, r := newFake(t)
	s.AddToken("sso", Token{Login: "frank", Scopes: []string{"repo"}, SSOOrgs: []string{"acme"}})
	secret := s.AddRepo("acme/secret", "main")
	secret.SetPrivate(true)
	secret.AddCollaborator("bob")
	secret.AddCollaborator("dave")
	main, _ := r.Branch("main")
	tests := []struct {
		name, path, token string
		status            int
		body              string
		challenge         bool
	}{
		{"good token", "/acme/app.git", "good", 200, "refs/heads/main", false},
		{"read-only token", "/acme/app.git", "fine-ro", 200, main, false},
		{"without .git", "/acme/app", "good", 200, "refs/heads/feature", false},
		{"public, no credential", "/acme/app.git", "", 200, "refs/heads/main", false},
		{"unknown token", "/acme/app.git", "nope", 401, "Invalid username or token", true},
		{"expired token", "/acme/app.git", "expired", 401, "Invalid username or token", true},
		{"no such repository", "/acme/nope.git", "good", 404, "Repository not found.", false},
		{"private, no access", "/acme/secret.git", "good", 404, "Repository not found.", false},
		{"private, collaborator", "/acme/secret.git", "fine", 200, "refs/heads/main", false},
		{"private, no credential", "/acme/secret.git", "", 401, "Repository not found.", true},
		{"private, classic token without repo scope", "/acme/secret.git", "classic-ro", 404, "Repository not found.", false},
		{"unauthorised for SSO", "/acme/app.git", "sso", 403, "organization has enabled or enforced SAML SSO", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := advertise(t, s, tt.path, tt.token)
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Fatalf("%d %q, want %d with %q", status, body, tt.status, tt.body)
			}
			if got := h.Get("WWW-Authenticate"); (got == `Basic realm="GitHub"`) != tt.challenge {
				t.Errorf("WWW-Authenticate %q", got)
			}
			calls := s.Calls()
			last := calls[len(calls)-1]
			if last.Path != tt.path+"/info/refs" || last.Query != "service=git-upload-pack" || last.Token != tt.token || last.Status != tt.status {
				t.Errorf("recorded %+v", last)
			}
		})
	}
	if status, _, _ := advertise(t, s, "/api/v3/acme/app.git", "good"); status != 404 {
		t.Errorf("git under the API prefix: %d", status)
	}
	req, _ := http.NewRequest("GET", s.URL()+"/acme/app.git/info/refs?service=git-receive-pack", nil)
	req.SetBasicAuth("x", "good")
	if resp, err := s.Client().Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("push: %v %v", resp.StatusCode, err)
	}
	s.SetFailing(true)
	if status, _, _ := advertise(t, s, "/acme/app.git", "good"); status != 503 {
		t.Errorf("during an outage: %d", status)
	}
	s.SetFailing(false)
	s.SetRateLimited(true)
	if status, _, _ := advertise(t, s, "/acme/app.git", "good"); status != 200 {
		t.Errorf("git under an API rate limit: %d", status)
	}
	s.SetRateLimited(false)
	// A private repository is as hidden from the API as from git.
	if a := do(t, s, "GET", s.URL()+"/repos/acme/secret", "good", ""); a.status != 404 {
		t.Errorf("private repository over the API: %d", a.status)
	}
	if a := do(t, s, "GET", s.URL()+"/repos/acme/secret", "fine", ""); a.status != 200 || a.body["private"] != true {
		t.Errorf("private repository for a collaborator: %d %v", a.status, a.body["private"])
	}
	for token, n := range map[string]int{"good": 1, "fine": 2} {
		a := do(t, s, "GET", s.URL()+"/orgs/acme/repos", token, "")
		if len(a.list) != n {
			t.Errorf("%s sees %d repositories of acme, want %d", token, len(a.list), n)
		}
	}
}

// TestOneSourceOfTruth checks that what the API does is in git and what is
// done in git shows in the API.
func TestOneSourceOfTruth(t *testing.T) {
	s, r := newFake(t)
	main, _ := r.Branch("main")
	if a := do(t, s, "POST", s.URL()+"/repos/acme/app/git/refs", "good", `{"ref":"refs/heads/api-made","sha":"`+main+`"}`); a.status != 201 {
		t.Fatalf("create ref: %d %s", a.status, a.raw)
	}
	if sha, ok := r.Git().Resolve("refs/heads/api-made"); !ok || sha != main {
		t.Errorf("git has api-made at %q %v", sha, ok)
	}
	sha, err := r.Git().Commit("git-made", []byte("PROJ-9 made in git\n"), fakegit.Author{Name: "Bob", Email: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	a := do(t, s, "GET", s.URL()+"/repos/acme/app/branches", "good", "")
	names := map[string]string{}
	for _, b := range a.list {
		names[b["name"].(string)] = b["commit"].(map[string]any)["sha"].(string)
	}
	if names["git-made"] != sha || names["api-made"] != main || len(names) != 4 {
		t.Errorf("branches %v", names)
	}
	if got := r.Branches(); strings.Join(got, ",") != "api-made,feature,git-made,main" {
		t.Errorf("Branches() = %v", got)
	}
	// git-made has no parent in common with main: it is ahead, and a pull
	// request from it may be opened; from api-made (at main) it may not.
	if _, err := r.OpenPull("api-made", "main", "t", "", false); err == nil || !strings.Contains(err.Error(), "No commits between") {
		t.Errorf("pull request without commits: %v", err)
	}
	if _, err := r.OpenPull("git-made", "main", "t", "", false); err != nil {
		t.Errorf("pull request from git-made: %v", err)
	}
	if _, err := r.Push("api-made", "PROJ-10 ahead now"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.OpenPull("api-made", "main", "t", "", false); err != nil {
		t.Errorf("pull request after a push: %v", err)
	}
	dir := r.Git().Dir
	s.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s: %v", dir, err)
	}
}

func TestBranchHelpers(t *testing.T) {
	s, r := newFake(t)
	n, err := r.OpenPull("feature", "main", "PROJ-1", "", false)
	if err != nil {
		t.Fatal(err)
	}
	before := r.PullRequests()[0]
	head, err := r.Push("feature", "PROJ-1 more")
	if err != nil {
		t.Fatal(err)
	}
	after := r.PullRequests()[0]
	if !after.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("a push to the head left updated_at at %v", after.UpdatedAt)
	}
	if sha, _ := r.Git().Resolve(fmt.Sprintf("refs/pull/%d/head", n)); sha != head {
		t.Errorf("refs/pull/%d/head at %s, want the pushed %s", n, sha, head)
	}
	a := do(t, s, "GET", s.URL()+fmt.Sprintf("/repos/acme/app/pulls/%d", n), "good", "")
	if a.body["head"].(map[string]any)["sha"] != head {
		t.Errorf("pull request head %v, want %s", a.body["head"], head)
	}
	// However the head moves, the pull request follows it.
	moved, err := r.Git().Commit("feature", []byte("PROJ-1 from git\n"), fakegit.Author{})
	if err != nil {
		t.Fatal(err)
	}
	a = do(t, s, "GET", s.URL()+fmt.Sprintf("/repos/acme/app/pulls/%d", n), "good", "")
	if a.body["head"].(map[string]any)["sha"] != moved || a.body["updated_at"] == after.UpdatedAt.Format(time.RFC3339) {
		t.Errorf("after a commit in git: head %v, updated_at %v", a.body["head"], a.body["updated_at"])
	}
	if sha, _ := r.Git().Resolve(fmt.Sprintf("refs/pull/%d/head", n)); sha != moved {
		t.Errorf("refs/pull/%d/head at %s, want %s", n, sha, moved)
	}
	if a := do(t, s, "POST", s.URL()+"/repos/acme/app", "good", "{}"); a.status != 404 {
		t.Errorf("POST to a repository: %d", a.status)
	}
	if err := r.Tag("v1", head); err != nil {
		t.Fatal(err)
	}
	if err := r.Tag("v1", head); err == nil {
		t.Error("a tag was created twice")
	}
	if err := r.Tag("v2", strings.Repeat("0", 40)); err == nil {
		t.Error("a tag of no commit")
	}
	if refs, _ := r.Git().Refs(); refs["refs/tags/v1"] != head {
		t.Errorf("refs %v", refs)
	}
	if err := r.DeleteBranch("main"); err == nil {
		t.Error("the default branch was deleted")
	}
	if err := r.DeleteBranch("nope"); err == nil {
		t.Error("a missing branch was deleted")
	}
	if err := r.DeleteBranch("feature"); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Branch("feature"); ok {
		t.Error("feature survived its deletion")
	}
	if p := r.PullRequests()[0]; p.State != "closed" || p.Merged {
		t.Errorf("the pull request from a deleted branch is %s (merged %v), want closed", p.State, p.Merged)
	}
	if err := r.SetPullState(n, "open"); err == nil {
		t.Error("a pull request whose head is gone was reopened")
	}
	if a := do(t, s, "GET", s.URL()+"/repos/acme/app/git/ref/heads/feature", "good", ""); a.status != 404 {
		t.Errorf("deleted branch over the API: %d", a.status)
	}
	empty := s.AddEmptyRepo("acme/empty")
	if sha, err := empty.Push("main", "First"); err != nil || sha == "" {
		t.Errorf("first push to an empty repository: %q %v", sha, err)
	}
}

func TestPullStates(t *testing.T) {
	s, r := newFake(t)
	n, _ := r.OpenPull("feature", "main", "PROJ-1", "", false)
	r.AddBranch("draft")
	d, _ := r.OpenPull("draft", "main", "PROJ-2", "", true)
	steps := []struct {
		number  int
		state   string
		ok      bool
		open    bool
		merged  bool
		closed  bool // closed_at set
		mergedA bool // merged_at set
	}{
		{d, "merged", false, true, false, false, false}, // a draft is not merged
		{n, "closed", true, false, false, true, false},
		{n, "merged", false, false, false, true, false}, // nor a closed one
		{n, "open", true, true, false, false, false},
		{n, "merged", true, false, true, true, true},
		{n, "open", false, false, true, true, true}, // merged stays merged
		{n, "bogus", false, false, true, true, true},
	}
	last := time.Time{}
	for i, st := range steps {
		err := r.SetPullState(st.number, st.state)
		if (err == nil) != st.ok {
			t.Fatalf("step %d: SetPullState(%d, %s) = %v", i, st.number, st.state, err)
		}
		a := do(t, s, "GET", s.URL()+fmt.Sprintf("/repos/acme/app/pulls/%d", st.number), "good", "")
		if (a.body["state"] == "open") != st.open || a.body["merged"] != st.merged ||
			(a.body["closed_at"] != nil) != st.closed || (a.body["merged_at"] != nil) != st.mergedA {
			t.Errorf("step %d: %v %v %v %v", i, a.body["state"], a.body["merged"], a.body["closed_at"], a.body["merged_at"])
		}
		updated, _ := time.Parse(time.RFC3339, a.body["updated_at"].(string))
		if st.number == n && st.ok && !updated.After(last) {
			t.Errorf("step %d: updated_at %v did not advance past %v", i, updated, last)
		}
		if st.number == n {
			last = updated
		}
	}
	if err := r.SetPullState(99, "closed"); err == nil {
		t.Error("an unknown pull request changed state")
	}
}

func TestPullList(t *testing.T) {
	s, r := newFake(t)
	// #1…#5 from feature, each closed before the next is opened; #2 merged;
	// then #1 is reopened, which makes it the most recently updated.
	for i := 1; i <= 5; i++ {
		n, err := r.OpenPull("feature", "main", fmt.Sprintf("PROJ-%d", i), "", false)
		if err != nil {
			t.Fatal(err)
		}
		state := "closed"
		if n == 2 {
			state = "merged"
		}
		if err := r.SetPullState(n, state); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.SetPullState(1, "open"); err != nil {
		t.Fatal(err)
	}
	url := s.URL() + "/repos/acme/app/pulls"
	numbers := func(a answer) string {
		var out []string
		for _, p := range a.list {
			out = append(out, fmt.Sprint(p["number"]))
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		query  string
		status int
		want   string
		next   string // the page of the rel="next" link, "" for none
	}{
		{"", 200, "1", ""}, // open only, newest created first
		{"?state=closed", 200, "5,4,3,2", ""},
		{"?state=all", 200, "5,4,3,2,1", ""},
		{"?state=all&direction=asc", 200, "1,2,3,4,5", ""},
		{"?state=all&sort=updated", 200, "2,3,4,5,1", ""}, // ascending by default
		{"?state=all&sort=updated&direction=desc", 200, "1,5,4,3,2", ""},
		{"?state=all&sort=updated&direction=desc&per_page=2", 200, "1,5", "2"},
		{"?state=all&sort=updated&direction=desc&per_page=2&page=2", 200, "4,3", "3"},
		{"?state=all&sort=updated&direction=desc&per_page=2&page=3", 200, "2", ""},
		{"?state=all&base=other", 200, "", ""},
		{"?state=merged", 422, "", ""},
		{"?state=all&sort=popularity", 422, "", ""},
		{"?state=all&direction=up", 422, "", ""},
	}
	for _, tt := range tests {
		a := do(t, s, "GET", url+tt.query, "good", "")
		if a.status != tt.status || numbers(a) != tt.want {
			t.Errorf("%s: %d [%s], want %d [%s]", tt.query, a.status, numbers(a), tt.status, tt.want)
		}
		next := ""
		for _, l := range strings.Split(a.header.Get("Link"), ", ") {
			if strings.HasSuffix(l, `rel="next"`) {
				_, after, _ := strings.Cut(l, "page=")
				next, _, _ = strings.Cut(after, "&")
			}
		}
		if next != tt.next {
			t.Errorf("%s: next page %q, want %q (Link %q)", tt.query, next, tt.next, a.header.Get("Link"))
		}
	}
	a := do(t, s, "GET", url+"?state=all&sort=updated&direction=desc", "good", "")
	for _, p := range a.list {
		n := int(p["number"].(float64))
		merged := p["merged_at"] != nil
		if merged != (n == 2) || (p["closed_at"] == nil) != (n == 1) || p["state"] != map[bool]string{true: "open", false: "closed"}[n == 1] {
			t.Errorf("#%d: state %v closed_at %v merged_at %v", n, p["state"], p["closed_at"], p["merged_at"])
		}
		if _, has := p["merged"]; has {
			t.Errorf("#%d: the list has the single pull request's merged field", n)
		}
	}
}

func TestDeliveries(t *testing.T) {
	s, r := newFake(t)
	main, _ := r.Branch("main")
	first, _ := r.Push("main", "PROJ-1 first")
	second, _ := r.Push("main", "PROJ-2 second\n\nwith a body")
	h, body := s.PushDelivery(r, "refs/heads/main", main, second, "s3cret")
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	if h.Get("X-Hub-Signature-256") != "sha256="+hex.EncodeToString(mac.Sum(nil)) || !strings.HasPrefix(h.Get("X-Hub-Signature"), "sha1=") {
		t.Errorf("signatures %q %q", h.Get("X-Hub-Signature-256"), h.Get("X-Hub-Signature"))
	}
	if h.Get("X-GitHub-Event") != "push" || h.Get("Content-Type") != "application/json" ||
		!strings.HasPrefix(h.Get("User-Agent"), "GitHub-Hookshot/") || len(h.Get("X-GitHub-Delivery")) != 36 ||
		h.Get("X-GitHub-Hook-Installation-Target-ID") != fmt.Sprint(r.ID()) {
		t.Errorf("headers %v", h)
	}
	var push struct {
		Ref, Before, After string
		Created, Deleted   bool
		Commits            []struct{ ID, Message string }
		HeadCommit         struct{ ID string } `json:"head_commit"`
		Repository         struct {
			ID        int64
			FullName  string `json:"full_name"`
			CreatedAt int64  `json:"created_at"`
		}
	}
	if err := json.Unmarshal(body, &push); err != nil {
		t.Fatal(err)
	}
	if push.Ref != "refs/heads/main" || push.Before != main || push.After != second || push.Created || push.Deleted ||
		len(push.Commits) != 2 || push.Commits[0].ID != first || push.Commits[1].Message != "PROJ-2 second\n\nwith a body" ||
		push.HeadCommit.ID != second || push.Repository.ID != r.ID() || push.Repository.FullName != "acme/app" || push.Repository.CreatedAt == 0 {
		t.Errorf("push payload %s", body)
	}
	feature, _ := r.Branch("feature")
	_, body = s.PushDelivery(r, "refs/heads/feature", zeroSHA, feature, "")
	if err := json.Unmarshal(body, &push); err != nil || !push.Created || len(push.Commits) != 1 || push.Commits[0].ID != feature {
		t.Errorf("new branch payload %s", body)
	}
	h, body = s.PushDelivery(r, "refs/heads/feature", feature, zeroSHA, "")
	if h.Get("X-Hub-Signature-256") != "" {
		t.Errorf("unsigned delivery has a signature: %v", h)
	}
	if err := json.Unmarshal(body, &push); err != nil || !push.Deleted || len(push.Commits) != 0 || !strings.Contains(string(body), `"head_commit":null`) {
		t.Errorf("deleted branch payload %s", body)
	}

	n, _ := r.OpenPull("feature", "main", "PROJ-3", "Body", true)
	h, body = s.PullRequestDelivery(r, n, "opened", "s3cret")
	var pr struct {
		Action      string
		Number      int
		PullRequest struct {
			Number int
			Draft  bool
			Head   struct{ Ref string }
		} `json:"pull_request"`
		Repository struct{ ID int64 }
		Sender     struct{ Login string }
	}
	if err := json.Unmarshal(body, &pr); err != nil || h.Get("X-GitHub-Event") != "pull_request" || pr.Action != "opened" ||
		pr.Number != n || pr.PullRequest.Number != n || !pr.PullRequest.Draft || pr.PullRequest.Head.Ref != "feature" ||
		pr.Repository.ID != r.ID() || pr.Sender.Login != "acme" {
		t.Errorf("pull_request payload %s", body)
	}
}
