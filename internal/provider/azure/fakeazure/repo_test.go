package fakeazure

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLayouts: each layout serves the REST API and git under its own URL.
func TestLayouts(t *testing.T) {
	for _, tt := range []struct {
		layout Layout
		path   string // of URL()
	}{{DevAzure, "/org"}, {VisualStudio, ""}, {OnPremises, "/tfs/org"}} {
		t.Run(tt.path, func(t *testing.T) {
			s := NewLayout("org", tt.layout)
			defer s.Close()
			s.AddToken(pat, Token{})
			r := s.AddRepo("P", "r", "main")
			if s.URL() != s.srv.URL+tt.path || r.WebURL() != s.URL()+"/P/_git/r" {
				t.Fatalf("URL %s, web URL %s", s.URL(), r.WebURL())
			}
			res, body := call(t, http.MethodGet, s.URL()+"/P/_apis/git/repositories/r?api-version=7.1", pat, true, "")
			wantRemote := r.WebURL()
			if tt.layout == DevAzure {
				wantRemote = strings.Replace(wantRemote, "://", "://org@", 1)
			}
			if res.StatusCode != 200 || body["remoteUrl"] != wantRemote || body["defaultBranch"] != "refs/heads/main" {
				t.Errorf("repository: %d %v", res.StatusCode, body)
			}
			res = gitCall(t, r.WebURL()+"/info/refs?service=git-upload-pack", pat)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-git-upload-pack-advertisement" {
				t.Errorf("info/refs: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
			}
		})
	}
}

func gitCall(t *testing.T, rawURL, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	if token != "" {
		req.SetBasicAuth("anyone", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestGitAuth answers git as Azure Repos does.
func TestGitAuth(t *testing.T) {
	s := NewLayout("coll", OnPremises)
	defer s.Close()
	s.AddToken(pat, Token{ReadOnly: true})
	s.AddToken("expired", Token{Expired: true})
	s.AddToken("workitems", Token{NoCodeScope: true})
	r := s.AddRepo("P", "r", "main")
	s.AddRepo("P", "old", "main").SetDisabled(true)
	refs := r.WebURL() + "/info/refs?service=git-upload-pack"
	tests := []struct {
		name, url, token string
		status           int
	}{
		{"read-only token fetches", refs, pat, 200},
		{"no credential", refs, "", 401},
		{"unknown", refs, "nope", 401},
		{"expired", refs, "expired", 401},
		{"no Code scope", refs, "workitems", 401},
		{"unknown repository", s.URL() + "/P/_git/nope/info/refs?service=git-upload-pack", pat, 404},
		{"disabled repository", s.URL() + "/P/_git/old/info/refs?service=git-upload-pack", pat, 404},
		{"push", r.WebURL() + "/info/refs?service=git-receive-pack", pat, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := gitCall(t, tt.url, tt.token)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status == 401 {
				got := strings.Join(res.Header.Values("WWW-Authenticate"), ", ")
				if want := `Bearer, Basic realm="` + s.srv.URL + `/tfs", Negotiate, NTLM`; got != want {
					t.Errorf("WWW-Authenticate %s, want %s", got, want)
				}
			}
		})
	}
	calls := s.Calls()
	if len(calls) != len(tests) || calls[0].Token != pat || !strings.HasSuffix(calls[0].Path, "/_git/r/info/refs") {
		t.Errorf("git calls recorded: %+v", calls)
	}
}

func TestRepoHelpers(t *testing.T) {
	s := New("org")
	defer s.Close()
	empty := s.AddRepo("P", "empty", "")
	s.mu.Lock()
	if b := empty.defaultBranchLocked(); b != "" {
		t.Errorf("empty repository's default branch %q", b)
	}
	s.mu.Unlock()
	first, err := empty.Push("trunk", "First\n")
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	def := empty.defaultBranchLocked()
	s.mu.Unlock()
	if def != "trunk" {
		t.Errorf("after the first push the default branch is %q, want trunk", def)
	}
	topic, err := empty.Push("topic", "Second\n")
	if err != nil || !empty.Git().IsAncestor(first, topic) {
		t.Errorf("a new branch starts at the default branch: %s, %v", topic, err)
	}
	if err := empty.Tag("v1", first); err != nil {
		t.Fatal(err)
	}
	if err := empty.Tag("v1", topic); err == nil {
		t.Error("a tag was moved")
	}
	if err := empty.Tag("v2", strings.Repeat("0", 40)); err == nil {
		t.Error("a tag of no commit was made")
	}
	if err := empty.DeleteBranch("topic"); err != nil {
		t.Fatal(err)
	}
	if err := empty.DeleteBranch("topic"); err == nil {
		t.Error("a missing branch was deleted")
	}
	refs, err := empty.Git().Refs()
	if err != nil || len(refs) != 2 || refs["refs/heads/trunk"] != first || refs["refs/tags/v1"] != first {
		t.Errorf("refs %v, %v", refs, err)
	}
	if msg, _ := empty.Git().Message(topic); strings.TrimSpace(msg) != "Second" {
		t.Errorf("message %q", msg)
	}
}

func TestPullStates(t *testing.T) {
	s := New("org")
	defer s.Close()
	r := s.AddRepo("P", "r", "main")
	r.AddBranch("a")
	id, err := r.OpenPull("a", "main", "T", "", false)
	if err != nil || id != 1 {
		t.Fatalf("OpenPull = %d, %v", id, err)
	}
	if _, err := r.OpenPull("a", "main", "T2", "", false); err == nil {
		t.Error("a second active pull request between the same branches was opened")
	}
	if _, err := r.OpenPull("nope", "main", "T", "", false); err == nil {
		t.Error("a pull request from a missing branch was opened")
	}
	steps := []struct {
		status string
		ok     bool
	}{
		{"merged", false}, {"abandoned", true}, {"completed", false}, {"active", true},
		{"completed", true}, {"active", false}, {"abandoned", false}, {"completed", true},
	}
	for i, st := range steps {
		if err := r.SetPullState(id, st.status); (err == nil) != st.ok {
			t.Errorf("step %d: SetPullState(%s) = %v, want ok %v", i, st.status, err, st.ok)
		}
	}
	if err := r.SetPullState(9, "active"); err == nil {
		t.Error("an unknown pull request changed state")
	}
}

func TestPullRequestListing(t *testing.T) {
	s := New("org")
	defer s.Close()
	s.AddToken(pat, Token{})
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	r := s.AddRepo("P", "r", "main")
	long := strings.Repeat("é", 399) + "😀 PROJ-1" // 😀 straddles the 400th code unit
	for i := 1; i <= 5; i++ {
		b := fmt.Sprintf("b%d", i)
		r.AddBranch(b)
		desc := "short"
		if i == 1 {
			desc = long
		}
		if _, err := r.OpenPull(b, "main", "T"+b, desc, i == 2); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Hour)
	r.SetPullState(3, "completed")
	r.SetPullState(4, "abandoned")
	base := s.URL() + "/P/_apis/git/repositories/r/pullrequests"
	ids := func(body map[string]any) string {
		var out []string
		for _, v := range body["value"].([]any) {
			out = append(out, fmt.Sprint(v.(map[string]any)["pullRequestId"]))
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		query  string
		status int
		want   string
	}{
		{"api-version=7.1", 200, "5,2,1"},
		{"api-version=7.1&searchCriteria.status=all", 200, "5,4,3,2,1"},
		{"api-version=7.1&searchCriteria.status=Completed", 200, "3"},
		{"api-version=7.1&searchCriteria.status=abandoned", 200, "4"},
		{"api-version=7.1&searchCriteria.status=all&$top=2&$skip=2", 200, "3,2"},
		{"api-version=7.1&searchCriteria.status=all&$top=2&$skip=4", 200, "1"},
		{"api-version=7.1&searchCriteria.status=all&$skip=9", 200, ""},
		{"api-version=7.1&searchCriteria.status=all&searchCriteria.sourceRefName=refs/heads/b2", 200, "2"},
		{"api-version=7.1&searchCriteria.status=merged", 400, ""},
		{"api-version=7.1&$top=-1", 400, ""},
		// Time ranges (7.1): by creation unless asked by closing; an active
		// one has not closed.
		{"api-version=7.1&searchCriteria.status=all&searchCriteria.queryTimeRangeType=closed&searchCriteria.minTime=2024-05-01T12:30:00Z", 200, "4,3"},
		{"api-version=7.1&searchCriteria.status=completed&searchCriteria.queryTimeRangeType=Closed&searchCriteria.minTime=2024-05-01T12:30:00Z", 200, "3"},
		{"api-version=7.1&searchCriteria.status=all&searchCriteria.queryTimeRangeType=closed&searchCriteria.minTime=2024-05-01T13:30:00Z", 200, ""},
		{"api-version=7.1&searchCriteria.status=all&searchCriteria.queryTimeRangeType=closed&searchCriteria.maxTime=2024-05-01T12:30:00Z", 200, ""},
		{"api-version=7.1&searchCriteria.status=all&searchCriteria.queryTimeRangeType=closed", 200, "5,4,3,2,1"},
		{"api-version=7.1&searchCriteria.status=all&searchCriteria.minTime=2024-05-01T12:30:00Z", 200, ""},
		{"api-version=7.1&searchCriteria.status=all&searchCriteria.minTime=2024-05-01T12:00:00Z", 200, "5,4,3,2,1"},
		{"api-version=7.1&searchCriteria.status=all&searchCriteria.queryTimeRangeType=updated", 400, ""},
		{"api-version=7.1&searchCriteria.status=all&searchCriteria.minTime=yesterday", 400, ""},
		// Before 7.1 they are not parameters at all.
		{"api-version=6.0&searchCriteria.status=all&searchCriteria.queryTimeRangeType=closed&searchCriteria.minTime=2024-05-01T13:30:00Z", 200, "5,4,3,2,1"},
		{"api-version=6.0&searchCriteria.status=all&searchCriteria.queryTimeRangeType=updated", 200, "5,4,3,2,1"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res, body := call(t, http.MethodGet, base+"?"+tt.query, pat, true, "")
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status == 200 && ids(body) != tt.want {
				t.Errorf("pull requests %s, want %s", ids(body), tt.want)
			}
		})
	}
	_, body := call(t, http.MethodGet, base+"?api-version=7.1&searchCriteria.status=all", pat, true, "")
	byID := map[string]map[string]any{}
	for _, v := range body["value"].([]any) {
		byID[fmt.Sprint(v.(map[string]any)["pullRequestId"])] = v.(map[string]any)
	}
	if d := byID["1"]["description"].(string); d != strings.Repeat("é", 399)+"\uFFFD" {
		t.Errorf("listed description %q, want 400 code units", d)
	}
	if byID["3"]["status"] != "completed" || byID["3"]["closedDate"] != "2024-05-01T13:00:00Z" || byID["5"]["closedDate"] != nil {
		t.Errorf("closed dates: %v %v", byID["3"], byID["5"])
	}
	if byID["2"]["isDraft"] != true || byID["1"]["createdBy"].(map[string]any)["uniqueName"] != "author@example.com" {
		t.Errorf("draft or author: %v", byID["2"])
	}
	_, one := call(t, http.MethodGet, base+"/1?api-version=7.1", pat, true, "")
	if one["description"] != long {
		t.Errorf("the pull request itself has %q", one["description"])
	}
	if res, _ := call(t, http.MethodGet, base+"/1?api-version=5.0", pat, true, ""); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	_, old := call(t, http.MethodGet, base+"/2?api-version=5.0", pat, true, "")
	if _, ok := old["isDraft"]; ok {
		t.Error("isDraft before api-version 5.1")
	}
	if res, body := call(t, http.MethodGet, base+"/77?api-version=7.1", pat, true, ""); res.StatusCode != 404 || body["typeKey"] != "GitPullRequestNotFoundException" {
		t.Errorf("missing pull request: %d %v", res.StatusCode, body)
	}
}

func TestDeliveries(t *testing.T) {
	s := New("org")
	defer s.Close()
	r := s.AddRepo("P", "r", "main")
	before, _ := r.Branch("main")
	r.Push("main", "One\n")
	after, _ := r.Push("main", "PROJ-1 Two\n\nBody.\n")
	h, body := s.PushDelivery(r, "refs/heads/main", before, after, "s3cret")
	if h.Get("Content-Type") != "application/json; charset=utf-8" ||
		h.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("azure-devops:s3cret")) {
		t.Errorf("headers %v", h)
	}
	var push struct {
		EventType string `json:"eventType"`
		Resource  struct {
			Commits []struct {
				CommitID string `json:"commitId"`
				Comment  string `json:"comment"`
			} `json:"commits"`
			RefUpdates []struct{ Name, OldObjectID, NewObjectID string } `json:"refUpdates"`
			Repository struct {
				ID            string `json:"id"`
				DefaultBranch string `json:"defaultBranch"`
			} `json:"repository"`
		} `json:"resource"`
		ResourceContainers map[string]struct{ ID string } `json:"resourceContainers"`
	}
	if err := json.Unmarshal(body, &push); err != nil {
		t.Fatal(err)
	}
	res := push.Resource
	if push.EventType != "git.push" || len(res.Commits) != 2 || res.Commits[0].CommitID != after ||
		res.Commits[0].Comment != "PROJ-1 Two\n\nBody." || res.RefUpdates[0].NewObjectID != after ||
		res.RefUpdates[0].OldObjectID != before || res.Repository.ID != r.ID || res.Repository.DefaultBranch != "refs/heads/main" ||
		push.ResourceContainers["project"].ID != s.projects["P"] {
		t.Errorf("push delivery %s", body)
	}
	r.AddBranch("x")
	id, _ := r.OpenPull("x", "main", "T", "D", false)
	_, body = s.PullRequestDelivery(r, id, "git.pullrequest.updated", "s3cret")
	var pr struct {
		EventType string `json:"eventType"`
		Resource  struct {
			PullRequestID int    `json:"pullRequestId"`
			Status        string `json:"status"`
			Repository    struct {
				ID        string `json:"id"`
				RemoteURL string `json:"remoteUrl"`
			} `json:"repository"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(body, &pr); err != nil || pr.EventType != "git.pullrequest.updated" ||
		pr.Resource.PullRequestID != id || pr.Resource.Status != "active" || pr.Resource.Repository.ID != r.ID ||
		pr.Resource.Repository.RemoteURL == "" {
		t.Errorf("pull request delivery %s (%v)", body, err)
	}
}
