package fakegithub

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type answer struct {
	status int
	header http.Header
	body   map[string]any
	list   []map[string]any
	raw    string
}

// do sends one request the way a well-behaved client does, with headers
// overridable (an empty value removes the header).
func do(t *testing.T, s *Server, method, url, token, body string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("User-Agent", "fake-test")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "User-Agent" && headers[i+1] == "" {
			req.Header["User-Agent"] = []string{""} // net/http then sends none
		} else if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "[") {
		json.Unmarshal(raw, &a.list)
	} else {
		json.Unmarshal(raw, &a.body)
	}
	return a
}

func newFake(t *testing.T) (*Server, *Repo) {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	s.AddToken("good", Token{Login: "alice", Scopes: []string{"repo", "read:org"}})
	s.AddToken("fine", Token{Login: "bob"})
	s.AddToken("fine-ro", Token{Login: "carol", ReadOnly: true})
	s.AddToken("classic-ro", Token{Login: "dave", Scopes: []string{"read:user"}})
	s.AddToken("expired", Token{Login: "erin", Expired: true})
	r := s.AddRepo("acme/app", "main")
	r.AddBranch("feature")
	return s, r
}

func TestRequestChecks(t *testing.T) {
	s, _ := newFake(t)
	exp := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	s.AddToken("expiring", Token{Login: "alice", Scopes: []string{}, ExpiresAt: &exp})
	u := s.URL() + "/user"
	tests := []struct {
		name    string
		token   string
		headers []string
		status  int
		message string
	}{
		{"bearer", "good", nil, 200, ""},
		{"token scheme", "", []string{"Authorization", "token good"}, 200, ""},
		{"basic", "", []string{"Authorization", "Basic Z29vZDpnb29k"}, 200, ""}, // good:good
		{"no credentials", "", nil, 401, "Requires authentication"},
		{"unknown token", "nope", nil, 401, "Bad credentials"},
		{"expired token", "expired", nil, 401, "Bad credentials"},
		{"no user agent", "good", []string{"User-Agent", ""}, 403, ""},
		{"go-github accept", "good", []string{"Accept", "application/vnd.github.v3+json"}, 200, ""},
		{"json accept", "good", []string{"Accept", "application/json"}, 200, ""},
		{"no accept", "good", []string{"Accept", ""}, 200, ""},
		{"xml accept", "good", []string{"Accept", "application/xml"}, 415, ""},
		{"no version", "good", []string{"X-GitHub-Api-Version", ""}, 200, ""},
		{"bad version", "good", []string{"X-GitHub-Api-Version", "2020-01-01"}, 400, "API version 2020-01-01 is not supported."},
		{"expiry header", "expiring", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, s, "GET", u, tt.token, "", tt.headers...)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if tt.message != "" && a.body["message"] != tt.message {
				t.Errorf("message %q, want %q", a.body["message"], tt.message)
			}
			if a.status == 401 && a.body["status"] != "401" {
				t.Errorf("401 body %s lacks GitHub's status field", a.raw)
			}
			if a.header.Get("X-RateLimit-Limit") == "" || a.header.Get("X-RateLimit-Reset") == "" {
				if a.status != 403 { // the User-Agent refusal comes before anything else
					t.Errorf("no rate limit headers: %v", a.header)
				}
			}
		})
	}
	if a := do(t, s, "GET", u, "good", ""); a.header.Get("X-OAuth-Scopes") != "repo, read:org" || a.body["login"] != "alice" {
		t.Errorf("classic token: scopes %q login %v", a.header.Get("X-OAuth-Scopes"), a.body["login"])
	}
	if a := do(t, s, "GET", u, "fine", ""); len(a.header.Values("X-OAuth-Scopes")) != 0 {
		t.Errorf("fine-grained token got X-OAuth-Scopes %q", a.header.Get("X-OAuth-Scopes"))
	}
	if a := do(t, s, "GET", u, "expiring", ""); a.header.Get("github-authentication-token-expiration") != "2026-12-31 00:00:00 UTC" {
		t.Errorf("expiration header %q", a.header.Get("github-authentication-token-expiration"))
	}
}

func TestPaginationAndLayouts(t *testing.T) {
	s, _ := newFake(t)
	for i := range 4 {
		s.AddRepo(fmt.Sprintf("acme/r%d", i), "main")
	}
	for _, base := range []string{s.URL(), s.EnterpriseURL() + "/api/v3"} {
		a := do(t, s, "GET", base+"/user/repos?per_page=2", "good", "")
		if a.status != 200 || len(a.list) != 2 {
			t.Fatalf("%s: status %d, %d repos", base, a.status, len(a.list))
		}
		link := a.header.Get("Link")
		wantNext := fmt.Sprintf("<%s/user/repos?page=2&per_page=2>; rel=\"next\"", base)
		wantLast := fmt.Sprintf("<%s/user/repos?page=3&per_page=2>; rel=\"last\"", base)
		if !strings.Contains(link, wantNext) || !strings.Contains(link, wantLast) {
			t.Errorf("Link %q, want %s and %s", link, wantNext, wantLast)
		}
		if got := a.list[0]["url"].(string); !strings.HasPrefix(got, base+"/repos/") {
			t.Errorf("repository url %s is not under %s", got, base)
		}
		a = do(t, s, "GET", base+"/user/repos?per_page=2&page=3", "good", "")
		if len(a.list) != 1 || strings.Contains(a.header.Get("Link"), `rel="next"`) {
			t.Errorf("last page: %d repos, Link %q", len(a.list), a.header.Get("Link"))
		}
	}
	a := do(t, s, "GET", s.URL()+"/orgs/nobody/repos", "good", "")
	if a.status != 404 {
		t.Errorf("unknown org: %d", a.status)
	}
	calls := s.Calls()
	if last := calls[len(calls)-1]; last.Path != "/orgs/nobody/repos" || last.Token != "good" || last.Status != 404 {
		t.Errorf("last call recorded as %+v", last)
	}
}

func TestCreateRef(t *testing.T) {
	s, r := newFake(t)
	head, _ := r.Branch("main")
	url := s.URL() + "/repos/acme/app/git/refs"
	tests := []struct {
		name, token, body string
		status            int
		message           string
		header            string // X-Accepted-GitHub-Permissions
	}{
		{"created", "good", `{"ref":"refs/heads/x/y","sha":"` + head + `"}`, 201, "", ""},
		{"exists", "good", `{"ref":"refs/heads/x/y","sha":"` + head + `"}`, 422, "Reference already exists", ""},
		{"directory of a branch", "good", `{"ref":"refs/heads/x","sha":"` + head + `"}`, 422, "Reference update failed", ""},
		{"inside a branch", "good", `{"ref":"refs/heads/x/y/z","sha":"` + head + `"}`, 422, "Reference update failed", ""},
		{"short sha", "good", `{"ref":"refs/heads/z","sha":"` + head[:7] + `"}`, 422, "Object does not exist", ""},
		{"branch name as sha", "good", `{"ref":"refs/heads/z","sha":"main"}`, 422, "Object does not exist", ""},
		{"no sha", "good", `{"ref":"refs/heads/z"}`, 422, "Invalid request.\n\n\"sha\" wasn't supplied.", ""},
		{"nothing", "good", `{}`, 422, "Invalid request.\n\n\"ref\", \"sha\" weren't supplied.", ""},
		{"not json", "good", `{"ref":`, 400, "Problems parsing JSON", ""},
		{"sha not string", "good", `{"ref":"refs/heads/z","sha":5}`, 422, "Invalid request.\n\nFor 'properties/sha', 5 is not a string.", ""},
		{"no refs prefix", "good", `{"ref":"heads/z","sha":"` + head + `"}`, 422, "Reference name is invalid", ""},
		{"one slash", "good", `{"ref":"refs/z","sha":"` + head + `"}`, 422, "Reference name is invalid", ""},
		{"bad name", "good", `{"ref":"refs/heads/a..b","sha":"` + head + `"}`, 422, "Reference name is invalid", ""},
		{"unknown sha", "good", `{"ref":"refs/heads/z","sha":"` + strings.Repeat("a", 40) + `"}`, 422, "Object does not exist", ""},
		{"fine-grained read-only", "fine-ro", `{"ref":"refs/heads/z","sha":"` + head + `"}`, 403,
			"Resource not accessible by personal access token", "contents=write"},
		{"classic without repo scope", "classic-ro", `{"ref":"refs/heads/z","sha":"` + head + `"}`, 404, "Not Found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, s, "POST", url, tt.token, tt.body)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if tt.message != "" && a.body["message"] != tt.message {
				t.Errorf("message %q, want %q", a.body["message"], tt.message)
			}
			if got := a.header.Get("X-Accepted-GitHub-Permissions"); got != tt.header {
				t.Errorf("X-Accepted-GitHub-Permissions %q, want %q", got, tt.header)
			}
		})
	}
	a := do(t, s, "GET", s.URL()+"/repos/acme/app/git/ref/heads/x/y", "good", "")
	if a.status != 200 || a.body["object"].(map[string]any)["sha"] != head || a.body["ref"] != "refs/heads/x/y" {
		t.Errorf("get ref: %d %s", a.status, a.raw)
	}
	if a := do(t, s, "GET", s.URL()+"/repos/acme/app/git/ref/heads/x%2Fy", "good", ""); a.status != 404 {
		t.Errorf("escaped slash found the ref: %d", a.status)
	}
	r.SetArchived(true)
	if a := do(t, s, "POST", url, "good", `{"ref":"refs/heads/q","sha":"`+head+`"}`); a.status != 403 {
		t.Errorf("archived: %d %s", a.status, a.raw)
	}
	s.AddEmptyRepo("acme/empty")
	if a := do(t, s, "GET", s.URL()+"/repos/acme/empty/git/ref/heads/main", "good", ""); a.status != 409 ||
		a.body["message"] != "Git Repository is empty." {
		t.Errorf("empty repository: %d %s", a.status, a.raw)
	}
}

func TestConcurrentCreateRef(t *testing.T) {
	s, r := newFake(t)
	head, _ := r.Branch("main")
	const n = 10
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = do(t, s, "POST", s.URL()+"/repos/acme/app/git/refs", "good",
				`{"ref":"refs/heads/race","sha":"`+head+`"}`).status
		}()
	}
	wg.Wait()
	created := 0
	for _, st := range statuses {
		switch st {
		case 201:
			created++
		case 422:
		default:
			t.Errorf("status %d", st)
		}
	}
	if created != 1 {
		t.Errorf("%d creates succeeded, want 1", created)
	}
}

func TestPullRequests(t *testing.T) {
	s, r := newFake(t)
	url := s.URL() + "/repos/acme/app/pulls"
	errOf := func(a answer) string {
		errs, _ := a.body["errors"].([]any)
		if len(errs) == 0 {
			return ""
		}
		b, _ := json.Marshal(errs[0])
		return string(b)
	}
	tests := []struct {
		name, token, body string
		status            int
		err               string
	}{
		{"created", "good", `{"title":"T","head":"feature","base":"main","draft":true,"body":"B"}`, 201, ""},
		{"again", "good", `{"title":"T","head":"acme:feature","base":"main"}`, 422,
			`{"code":"custom","message":"A pull request already exists for acme:feature.","resource":"PullRequest"}`},
		{"no commits", "good", `{"title":"T","head":"main","base":"main"}`, 422,
			`{"code":"custom","message":"No commits between main and main","resource":"PullRequest"}`},
		{"unknown head", "good", `{"title":"T","head":"nope","base":"main"}`, 422,
			`{"code":"invalid","field":"head","resource":"PullRequest"}`},
		{"no title", "good", `{"head":"feature","base":"main"}`, 422,
			`{"code":"missing_field","field":"title","resource":"PullRequest"}`},
		{"fine-grained read-only", "fine-ro", `{"title":"T","head":"feature","base":"main"}`, 403, ""},
		{"classic read-only", "classic-ro", `{"title":"T","head":"feature","base":"main"}`, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, s, "POST", url, tt.token, tt.body)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if got := errOf(a); got != tt.err {
				t.Errorf("error %s, want %s", got, tt.err)
			}
		})
	}
	prs := r.PullRequests()
	if len(prs) != 1 || prs[0].Author != "alice" || !prs[0].Draft || prs[0].Head != "feature" {
		t.Fatalf("pull requests %+v", prs)
	}
	a := do(t, s, "GET", url+"?head=acme:feature&base=main&state=open", "good", "")
	if len(a.list) != 1 || a.list[0]["html_url"] != prs[0].WebURL {
		t.Errorf("list by head: %s", a.raw)
	}
	if a := do(t, s, "GET", url+"?head=acme:other", "good", ""); len(a.list) != 0 {
		t.Errorf("list by another head: %s", a.raw)
	}
}

func TestRateLimitsAndFailures(t *testing.T) {
	s, _ := newFake(t)
	s.SetRateLimited(true)
	a := do(t, s, "GET", s.URL()+"/user", "good", "")
	reset := a.header.Get("X-RateLimit-Reset")
	if a.status != 403 || a.header.Get("X-RateLimit-Remaining") != "0" || reset == "" ||
		!strings.HasPrefix(a.body["message"].(string), "API rate limit exceeded for user ID ") {
		t.Errorf("primary: %d %v %s", a.status, a.header, a.raw)
	}
	s.SetRateLimited(false)
	s.SetSecondaryRateLimited(true)
	a = do(t, s, "GET", s.URL()+"/user", "good", "")
	if a.status != 403 || a.header.Get("Retry-After") != "30" ||
		!strings.Contains(a.body["message"].(string), "secondary rate limit") {
		t.Errorf("secondary: %d %v %s", a.status, a.header, a.raw)
	}
	s.SetSecondaryRateLimited(false)
	s.SetFailing(true)
	if a := do(t, s, "GET", s.URL()+"/user", "good", ""); a.status != 503 {
		t.Errorf("failing read: %d", a.status)
	}
	if a := do(t, s, "POST", s.URL()+"/repos/acme/app/git/refs", "good", "{}"); a.status != 500 {
		t.Errorf("failing write: %d", a.status)
	}
	s.SetFailing(false)
	if a := do(t, s, "GET", s.URL()+"/user", "good", ""); a.status != 200 {
		t.Errorf("after the outage: %d", a.status)
	}
}

func TestSSO(t *testing.T) {
	s, _ := newFake(t)
	s.AddToken("sso", Token{Login: "frank", Scopes: []string{"repo"}, SSOOrgs: []string{"acme"}})
	s.AddRepo("frank/own", "main")
	a := do(t, s, "GET", s.URL()+"/repos/acme/app", "sso", "")
	if a.status != 403 || !strings.HasPrefix(a.header.Get("X-GitHub-SSO"), "required; url=") {
		t.Errorf("sso: %d %v", a.status, a.header)
	}
	a = do(t, s, "GET", s.URL()+"/user/repos", "sso", "")
	if len(a.list) != 1 || !strings.HasPrefix(a.header.Get("X-GitHub-SSO"), "partial-results; organizations=") {
		t.Errorf("sso list: %d repos, header %q", len(a.list), a.header.Get("X-GitHub-SSO"))
	}
}
