package fakegitlab

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, s *Server, method, path, token, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, strings.TrimSpace(string(b))}
}

func newServer(t *testing.T) (*Server, *Project) {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	past := time.Now().AddDate(0, 0, -1)
	s.AddToken("good", Token{Username: "alice"})
	s.AddToken("ro", Token{Username: "bob", ReadOnly: true})
	s.AddToken("expired", Token{Username: "carol", ExpiresAt: &past})
	s.AddToken("revoked", Token{Username: "dave", Revoked: true})
	s.AddToken("legacy", Token{Username: "erin", Legacy: true})
	p := s.AddProject("group/sub/proj", "main")
	p.AddBranch("feature/x")
	return s, p
}

func TestAuthAndScopes(t *testing.T) {
	s, p := newServer(t)
	p.SetAccess("erin", Reporter)
	const branches = "/api/v4/projects/group%2Fsub%2Fproj/repository/branches"
	tests := []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"no token", "GET", "/api/v4/user", "", "", 401, `{"message":"401 Unauthorized"}`},
		{"unknown token", "GET", "/api/v4/user", "nope", "", 401, `{"message":"401 Unauthorized"}`},
		{"expired", "GET", "/api/v4/user", "expired", "", 401, `"error_description":"Token is expired. You can either do re-authorization or token refresh."`},
		{"revoked", "GET", "/api/v4/user", "revoked", "", 401, `Token was revoked`},
		{"user", "GET", "/api/v4/user", "good", "", 200, `"username":"alice"`},
		{"self", "GET", "/api/v4/personal_access_tokens/self", "ro", "", 200, `"scopes":["read_api"]`},
		{"legacy self", "GET", "/api/v4/personal_access_tokens/self", "legacy", "", 404, `404 Not Found`},
		{"read-only reads", "GET", branches, "ro", "", 200, `"name":"feature/x"`},
		{"read-only writes", "POST", branches, "ro", `{"branch":"b","ref":"main"}`, 403, `"error":"insufficient_scope"`},
		{"reporter writes", "POST", branches, "legacy", `{"branch":"b","ref":"main"}`, 403, `{"message":"403 Forbidden"}`},
		{"unknown project", "GET", "/api/v4/projects/999/repository/branches", "good", "", 404, `{"message":"404 Project Not Found"}`},
		{"project by id", "GET", "/api/v4/projects/100", "good", "", 200, `"path_with_namespace":"group/sub/proj"`},
		{"branch by encoded name", "GET", branches + "/feature%2Fx", "good", "", 200, `"web_url":"` + s.URL() + `/group/sub/proj/-/tree/feature/x"`},
		{"create", "POST", branches + "?branch=new&ref=feature%2Fx", "good", "", 201, `"name":"new"`},
		{"exists", "POST", branches, "good", `{"branch":"new","ref":"main"}`, 400, `{"message":"Branch already exists"}`},
		{"bad ref", "POST", branches, "good", `{"branch":"n2","ref":"nope"}`, 400, `{"message":"Invalid reference name: nope"}`},
		{"bad name", "POST", branches, "good", `{"branch":"a..b","ref":"main"}`, 400, `{"message":"Branch name is invalid"}`},
		{"missing params", "POST", branches, "good", `{}`, 400, `{"error":"branch is missing, ref is missing"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, s, tt.method, tt.path, tt.token, tt.body)
			if a.status != tt.status || !strings.Contains(a.body, tt.want) {
				t.Errorf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, a.status, a.body, tt.status, tt.want)
			}
		})
	}
	a := do(t, s, "GET", "/api/v4/user", "expired", "")
	if got := a.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	calls := s.Calls()
	last := calls[len(calls)-1]
	if last.Token != "expired" || last.RawPath != "/api/v4/user" {
		t.Errorf("last call = %+v", last)
	}
}

func TestMergeRequests(t *testing.T) {
	s, _ := newServer(t)
	const mrs = "/api/v4/projects/100/merge_requests"
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"create", `{"source_branch":"feature/x","target_branch":"main","title":"Draft: T"}`, 201, `"draft":true`},
		{"again", `{"source_branch":"feature/x","target_branch":"main","title":"T"}`, 409, `{"message":["Another open merge request already exists for this source branch: !1"]}`},
		{"same", `{"source_branch":"main","target_branch":"main","title":"T"}`, 422, `You can't use same project/branch`},
		{"no source", `{"source_branch":"nope","target_branch":"main","title":"T"}`, 400, `{"message":{"source_branch":["does not exist"]}}`},
		{"no title", `{"source_branch":"nope","target_branch":"main"}`, 400, `{"error":"title is missing"}`},
	}
	for _, tt := range tests {
		a := do(t, s, "POST", mrs, "good", tt.body)
		if a.status != tt.status || !strings.Contains(a.body, tt.want) {
			t.Errorf("%s: %d %s, want %d containing %s", tt.name, a.status, a.body, tt.status, tt.want)
		}
	}
	a := do(t, s, "GET", mrs+"?state=opened&source_branch=feature%2Fx&target_branch=main", "good", "")
	if a.status != 200 || !strings.Contains(a.body, `"iid":1`) {
		t.Errorf("list = %d %s", a.status, a.body)
	}
}

func TestPagination(t *testing.T) {
	s, _ := newServer(t)
	for i := range 4 {
		s.AddProject("acme/p"+string(rune('a'+i)), "main")
	}
	a := do(t, s, "GET", "/api/v4/projects?membership=true&per_page=2&page=2", "good", "")
	var page []map[string]any
	json.Unmarshal([]byte(a.body), &page)
	if len(page) != 2 || a.header.Get("X-Total") != "5" || a.header.Get("X-Total-Pages") != "3" ||
		a.header.Get("X-Next-Page") != "3" || a.header.Get("X-Prev-Page") != "1" ||
		!strings.Contains(a.header.Get("Link"), `page=3&per_page=2>; rel="next"`) {
		t.Errorf("page 2: %d items, headers %v", len(page), a.header)
	}
	// Keyset: follow the next links to the end.
	seen := 0
	next := s.URL() + "/api/v4/projects?pagination=keyset&order_by=id&sort=asc&per_page=2"
	for next != "" {
		a = do(t, s, "GET", strings.TrimPrefix(next, s.URL()), "good", "")
		json.Unmarshal([]byte(a.body), &page)
		seen += len(page)
		next = ""
		if l := a.header.Get("Link"); l != "" {
			next = l[1:strings.Index(l, ">")]
		}
	}
	if seen != 5 {
		t.Errorf("keyset saw %d projects, want 5", seen)
	}
	a = do(t, s, "GET", "/api/v4/groups/acme/projects", "good", "")
	if json.Unmarshal([]byte(a.body), &page); len(page) != 4 {
		t.Errorf("group projects = %d, want 4", len(page))
	}
	if a = do(t, s, "GET", "/api/v4/groups/nope/projects", "good", ""); a.status != 404 {
		t.Errorf("unknown group = %d", a.status)
	}
}

func TestConcurrentBranchCreate(t *testing.T) {
	s, _ := newServer(t)
	const n = 10
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = do(t, s, "POST", "/api/v4/projects/100/repository/branches", "good", `{"branch":"race","ref":"main"}`).status
		}()
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		if c == 201 {
			created++
		} else if c != 400 {
			t.Errorf("status %d", c)
		}
	}
	if created != 1 {
		t.Errorf("%d creates succeeded, want 1", created)
	}
}

func TestRateLimitedAndFailing(t *testing.T) {
	s, _ := newServer(t)
	s.SetRateLimited(true)
	a := do(t, s, "GET", "/api/v4/user", "good", "")
	if a.status != 429 || a.header.Get("Retry-After") == "" || a.header.Get("RateLimit-Reset") == "" {
		t.Errorf("rate limited: %d %v", a.status, a.header)
	}
	s.SetRateLimited(false)
	s.SetFailing(true)
	if a = do(t, s, "GET", "/api/v4/user", "good", ""); a.status != 500 {
		t.Errorf("failing: %d", a.status)
	}
	s.SetFailing(false)
	if a = do(t, s, "GET", "/api/v4/user", "good", ""); a.status != 200 {
		t.Errorf("recovered: %d", a.status)
	}
}

func TestListMergeRequests(t *testing.T) {
	s, p := newServer(t)
	p.AddBranch("b")
	p.OpenPull("feature/x", "main", "Draft: x", "", false)
	closed, _ := p.OpenPull("b", "main", "b", "", false)
	s.Advance(time.Hour)
	p.SetPullState(closed, "closed")
	merged, _ := p.OpenPull("b", "main", "b again", "", false)
	p.SetPullState(merged, "merged")
	cut := p.MergeRequests()[merged-1].UpdatedAt
	s.Advance(time.Minute)
	p.Push("feature/x", "more\n") // updates the open merge request

	const mrs = "/api/v4/projects/100/merge_requests"
	iids := func(body string) string {
		var list []struct{ IID int }
		json.Unmarshal([]byte(body), &list)
		var out []string
		for _, m := range list {
			out = append(out, fmt.Sprint(m.IID))
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		query  string
		status int
		want   string // iids, or the error body
	}{
		{"", 200, "3,2,1"}, // state all, created_at desc
		{"?state=all&order_by=updated_at&sort=desc", 200, "1,3,2"},
		{"?order_by=updated_at&sort=asc", 200, "2,3,1"},
		{"?state=opened", 200, "1"},
		{"?state=closed", 200, "2"},
		{"?state=merged", 200, "3"},
		{"?state=locked", 200, ""},
		{"?updated_after=" + url.QueryEscape(cut.Format(time.RFC3339Nano)), 200, "3,1"},
		{"?updated_before=" + url.QueryEscape(cut.Add(-time.Millisecond).Format("2006-01-02T15:04:05.000Z")), 200, "2"},
		{"?order_by=title&sort=asc", 200, "1,2,3"}, // byte order: "Draft: x", "b", "b again"
		{"?state=open", 400, `{"error":"state does not have a valid value"}`},
		{"?order_by=id", 400, `{"error":"order_by does not have a valid value"}`},
		{"?sort=up", 400, `{"error":"sort does not have a valid value"}`},
		{"?updated_after=yesterday", 400, `{"error":"updated_after is invalid"}`},
	}
	for _, tt := range tests {
		a := do(t, s, "GET", mrs+tt.query, "ro", "")
		got := a.body
		if a.status == 200 {
			got = iids(a.body)
		}
		if a.status != tt.status || got != tt.want {
			t.Errorf("GET %s = %d %s, want %d %s", tt.query, a.status, got, tt.status, tt.want)
		}
	}
	// Offset pages, with GitLab's headers.
	a := do(t, s, "GET", mrs+"?per_page=2&page=1&order_by=updated_at", "good", "")
	if iids(a.body) != "1,3" || a.header.Get("X-Next-Page") != "2" || a.header.Get("X-Total") != "3" ||
		!strings.Contains(a.header.Get("Link"), `order_by=updated_at&page=2&per_page=2>; rel="next"`) {
		t.Errorf("page 1: %s %v", iids(a.body), a.header)
	}
	a = do(t, s, "GET", mrs+"?per_page=2&page=2&order_by=updated_at", "good", "")
	if iids(a.body) != "2" || a.header.Get("X-Next-Page") != "" || a.header.Get("X-Prev-Page") != "1" {
		t.Errorf("page 2: %s %v", iids(a.body), a.header)
	}
	var m struct {
		State, SHA, UpdatedAt, MergedAt, MergeCommitSHA string
		Draft                                           bool
	}
	a = do(t, s, "GET", mrs+"?state=opened", "good", "")
	json.Unmarshal([]byte(strings.Trim(a.body, "[]")), &m)
	head, _ := p.BranchSHA("feature/x")
	if m.State != "opened" || !m.Draft || !strings.Contains(a.body, `"sha":"`+head+`"`) {
		t.Errorf("open merge request = %s, want draft at %s", a.body, head)
	}
	a = do(t, s, "GET", mrs+"?state=merged", "good", "")
	if !strings.Contains(a.body, `"merged_at":"`) || strings.Contains(a.body, `"merge_commit_sha":null`) {
		t.Errorf("merged merge request = %s", a.body)
	}
}
