package fakeazure

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

const pat = "fake-test-pat"

func call(t *testing.T, method, rawURL, token string, suppress bool, body string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.SetBasicAuth("", token)
	}
	if suppress {
		req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return res, m
}

func TestChecks(t *testing.T) {
	s := New("org")
	defer s.Close()
	s.AddToken(pat, Token{Account: "alice@example.com"})
	s.AddToken("expired", Token{Expired: true})
	s.SetAPIVersionRange("1.0", "5.0")
	s.AddRepo("P", "r", "main")
	repos := s.URL() + "/_apis/git/repositories"
	tests := []struct {
		name     string
		url      string
		token    string
		suppress bool
		status   int
		typeKey  string
	}{
		{"unknown token, no suppress header", repos + "?api-version=5.0", "nope", false, 203, ""},
		{"unknown token", repos + "?api-version=5.0", "nope", true, 401, ""},
		{"expired token", repos + "?api-version=5.0", "expired", true, 401, ""},
		{"no auth", repos + "?api-version=5.0", "", true, 401, ""},
		{"no api-version", repos, pat, true, 400, "VssVersionNotSpecifiedException"},
		{"too new", repos + "?api-version=7.1", pat, true, 400, "VssVersionOutOfRangeException"},
		{"preview within range", repos + "?api-version=5.0-preview.1", pat, true, 200, ""},
		{"connectionData without version", s.URL() + "/_apis/connectionData", pat, true, 200, ""},
		{"unknown project", s.URL() + "/Q/_apis/git/repositories?api-version=5.0", pat, true, 404, "ProjectDoesNotExistWithNameException"},
		{"unknown repository", s.URL() + "/P/_apis/git/repositories/x/refs?api-version=5.0", pat, true, 404, "GitRepositoryNotFoundException"},
		{"other organisation", strings.TrimSuffix(s.URL(), "/org") + "/other/_apis/connectionData", pat, true, 404, "CollectionDoesNotExistException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := call(t, http.MethodGet, tt.url, tt.token, tt.suppress, "")
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if got, _ := body["typeKey"].(string); got != tt.typeKey {
				t.Errorf("typeKey %q, want %q", got, tt.typeKey)
			}
		})
	}
	_, body := call(t, http.MethodGet, repos+"?api-version=7.1", pat, true, "")
	if msg, _ := body["message"].(string); !strings.Contains(msg, "The latest REST API version this server supports is 5.0.") {
		t.Errorf("out of range message %q does not name the latest version", msg)
	}
}

func TestRateLimitAndFailure(t *testing.T) {
	s := New("org")
	defer s.Close()
	s.AddToken(pat, Token{})
	s.SetRateLimited(true)
	res, _ := call(t, http.MethodGet, s.URL()+"/_apis/connectionData", pat, true, "")
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" || res.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("rate limited: %d %v", res.StatusCode, res.Header)
	}
	s.SetRateLimited(false)
	s.SetFailing(true)
	if res, _ := call(t, http.MethodGet, s.URL()+"/_apis/connectionData", pat, true, ""); res.StatusCode != 500 {
		t.Errorf("failing: %d", res.StatusCode)
	}
	s.SetFailing(false)
	if res, _ := call(t, http.MethodGet, s.URL()+"/_apis/connectionData", pat, true, ""); res.StatusCode != 200 {
		t.Errorf("after: %d", res.StatusCode)
	}
	if n := len(s.Calls()); n != 3 {
		t.Errorf("%d calls recorded, want 3", n)
	}
}

func TestPaging(t *testing.T) {
	s := New("org")
	defer s.Close()
	s.AddToken(pat, Token{})
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		s.AddRepo("P", n, "main")
	}
	var names []string
	next := ""
	for pages := 1; ; pages++ {
		u := s.URL() + "/_apis/git/repositories?api-version=7.1"
		if next != "" {
			u += "&continuationToken=" + next
		}
		res, body := call(t, http.MethodGet, u, pat, true, "")
		for _, v := range body["value"].([]any) {
			names = append(names, v.(map[string]any)["name"].(string))
		}
		next = res.Header.Get("x-ms-continuationtoken")
		if next == "" {
			if pages != 3 {
				t.Errorf("%d pages, want 3", pages)
			}
			break
		}
	}
	if strings.Join(names, "") != "abcde" {
		t.Errorf("repositories %v", names)
	}
}

// TestAtomicCreate: of concurrent creates of one branch exactly one succeeds;
// the others are refused with staleOldObjectId, as Azure does.
func TestAtomicCreate(t *testing.T) {
	s := New("org")
	defer s.Close()
	s.AddToken(pat, Token{})
	r := s.AddRepo("P", "r", "main")
	sha, _ := r.Branch("main")
	body := `[{"name":"refs/heads/x","oldObjectId":"` + zeroSHA + `","newObjectId":"` + sha + `"}]`
	const n = 8
	statuses := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// No t.Fatal off the test goroutine: a failed request leaves the status empty.
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/P/_apis/git/repositories/"+r.ID+"/refs?api-version=7.1", strings.NewReader(body))
			req.SetBasicAuth("", pat)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer res.Body.Close()
			var m struct {
				Value []struct {
					UpdateStatus string `json:"updateStatus"`
				} `json:"value"`
			}
			if json.NewDecoder(res.Body).Decode(&m) == nil && len(m.Value) == 1 {
				statuses[i] = m.Value[0].UpdateStatus
			}
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, st := range statuses {
		count[st]++
	}
	if count["succeeded"] != 1 || count["staleOldObjectId"] != n-1 {
		t.Errorf("statuses %v, want one succeeded and %d staleOldObjectId", count, n-1)
	}
}
