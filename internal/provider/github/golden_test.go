package github

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// The golden tests answer the driver with GitHub's own documented example
// payloads (testdata/*.json, after docs.github.com/rest) and compare what the
// driver makes of them with testdata/<case>.golden. After a deliberate change:
//
//	go test ./internal/provider/github -run TestGolden -update
//
// then read the rewritten golden files before committing them.
var update = flag.Bool("update", false, "rewrite the golden files")

const goldenToken = "ghp_golden0000000000000000000000000000000"

// goldenSupportedVersions are the REST API versions GitHub accepts in
// X-GitHub-Api-Version; it answers 400 to any other.
var goldenSupportedVersions = map[string]bool{"2022-11-28": true, "2026-03-10": true}

// goldenRepo is octocat/Hello-World as the driver's Repositories describes it.
var goldenRepo = fb.Repository{ExternalID: "1296269", Name: "Hello-World", FullName: "octocat/Hello-World",
	DefaultBranch: "master", WebURL: "https://github.com/octocat/Hello-World"}

// goldenCall is one request the driver must make and GitHub's answer to it.
type goldenCall struct {
	method, path string
	query        url.Values        // parameters the request must carry
	body         map[string]any    // JSON fields the request body must carry
	status       int               // answer status; 200 when zero
	header       map[string]string // answer headers besides Content-Type
	fixture      string            // testdata file answered as the body
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name  string // testdata/<name>.golden holds the expected result
		calls []goldenCall
		run   func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error)
	}{
		{
			// GitHub tells a classic token's scopes and expiry in headers of any answer.
			name: "user.json",
			calls: []goldenCall{{method: "GET", path: "/user", fixture: "user.json", header: map[string]string{
				"X-OAuth-Scopes":                         "repo, read:org",
				"GitHub-Authentication-Token-Expiration": "2026-12-31 00:00:00 UTC",
			}}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Validate(ctx, cred)
			},
		},
		{
			name: "user_repos.json",
			calls: []goldenCall{{method: "GET", path: "/user/repos", query: url.Values{"per_page": {"100"}},
				fixture: "user_repos.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Repositories(ctx, cred)
			},
		},
		{
			name: "branches.json",
			calls: []goldenCall{{method: "GET", path: "/repos/octocat/Hello-World/branches",
				query: url.Values{"per_page": {"100"}}, fixture: "branches.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Branches(ctx, cred, goldenRepo)
			},
		},
		{
			// The new branch starts at the head of the default branch.
			name: "create_ref.json",
			calls: []goldenCall{
				{method: "GET", path: "/repos/octocat/Hello-World/git/ref/heads/master", fixture: "git_ref.json"},
				{method: "POST", path: "/repos/octocat/Hello-World/git/refs", status: http.StatusCreated,
					body: map[string]any{"ref": "refs/heads/featureA", "sha": "aa218f56b14c9653891f9e74264a383fa43fefbd"},
					header: map[string]string{
						"Location": "https://api.github.com/repos/octocat/Hello-World/git/refs/heads/featureA",
					},
					fixture: "create_ref.json"},
			},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreateBranch(ctx, cred, goldenRepo, "featureA", "")
			},
		},
		{
			name: "pull_create.json",
			calls: []goldenCall{{method: "POST", path: "/repos/octocat/Hello-World/pulls", status: http.StatusCreated,
				body: map[string]any{"title": "Amazing new feature", "head": "new-topic", "base": "master",
					"body": "Please pull these awesome changes in!", "draft": false},
				fixture: "pull_create.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreatePullRequest(ctx, cred, goldenRepo, fb.NewPullRequest{SourceBranch: "new-topic",
					Title: "Amazing new feature", Description: "Please pull these awesome changes in!"})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newGoldenServer(t, tt.calls)
			p, err := New(fb.Integration{ID: "int-golden", Kind: fb.KindGitHub, BaseURL: srv.URL}, provider.Options{})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			got, err := tt.run(context.Background(), p, fb.Credential{Token: goldenToken})
			if err != nil {
				t.Fatalf("driver error: %v", err)
			}
			srv.checkAllServed(t)
			checkGolden(t, tt.name, got)
		})
	}
}

// goldenServer plays GitHub: it checks what GitHub checks (token, API
// version, method, path, parameters, body) and answers each expected call
// once with its fixture.
type goldenServer struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	calls  []goldenCall
	served []bool
}

func newGoldenServer(t *testing.T, calls []goldenCall) *goldenServer {
	s := &goldenServer{t: t, calls: calls, served: make([]bool, len(calls))}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *goldenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		s.t.Errorf("%s %s: %s", r.Method, r.URL, msg)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
	}
	if r.Header.Get("Authorization") != "Bearer "+goldenToken {
		fail(http.StatusUnauthorized, "Bad credentials")
		return
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "" && !goldenSupportedVersions[v] {
		fail(http.StatusBadRequest, "Unsupported 'X-GitHub-Api-Version' header")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail(http.StatusBadRequest, "unreadable body")
		return
	}
	s.mu.Lock()
	i := -1
	for j, c := range s.calls {
		if !s.served[j] && c.method == r.Method && c.path == r.URL.Path {
			i = j
			s.served[j] = true
			break
		}
	}
	s.mu.Unlock()
	if i < 0 {
		fail(http.StatusNotFound, "Not Found (no such call expected)")
		return
	}
	c := s.calls[i]
	for k, want := range c.query {
		if got := r.URL.Query()[k]; !reflect.DeepEqual(got, want) {
			fail(http.StatusUnprocessableEntity, "parameter "+k+" is "+goldenJSON(got)+", want "+goldenJSON(want))
			return
		}
	}
	if c.body != nil {
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			fail(http.StatusBadRequest, "Problems parsing JSON")
			return
		}
		for k, want := range c.body {
			if !reflect.DeepEqual(got[k], want) {
				fail(http.StatusUnprocessableEntity, "field "+k+" is "+goldenJSON(got[k])+", want "+goldenJSON(want))
				return
			}
		}
	}
	payload, err := os.ReadFile(filepath.Join("testdata", c.fixture))
	if err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	for k, v := range c.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	status := c.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(payload)
}

// checkAllServed fails the test for every expected call the driver did not make.
func (s *goldenServer) checkAllServed(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.calls {
		if !s.served[i] {
			t.Errorf("the driver never called %s %s", c.method, c.path)
		}
	}
}

func goldenJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkGolden compares got, as indented JSON, with testdata/<name>.golden,
// or rewrites that file under -update.
func checkGolden(t *testing.T, name string, got any) {
	t.Helper()
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	out = append(out, '\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (run with -update to create it): %v", path, err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("result differs from %s\ngot:\n%s\nwant:\n%s", path, out, want)
	}
}
