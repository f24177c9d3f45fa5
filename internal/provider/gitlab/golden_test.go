package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// The golden tests answer the driver with GitLab's own documented example
// payloads (testdata/*.json, after docs.gitlab.com/api) and compare what the
// driver makes of them with testdata/<case>.golden. After a deliberate change:
//
//	go test ./internal/provider/gitlab -run TestGolden -update
//
// then read the rewritten golden files before committing them.
var update = flag.Bool("update", false, "rewrite the golden files")

const goldenToken = "glpat-GOLDEN-secret-0000"

// goldenRepo is diaspora/diaspora-client as the driver's Repositories describes it.
var goldenRepo = fb.Repository{ExternalID: "4", Name: "diaspora-client", FullName: "diaspora/diaspora-client",
	DefaultBranch: "main", WebURL: "https://gitlab.example.com/diaspora/diaspora-client"}

// goldenCall is one request the driver must make and GitLab's answer to it.
type goldenCall struct {
	method, path string         // path below /api/v4
	params       map[string]any // parameters the request must carry, in its query or JSON body
	status       int            // answer status; 200 when zero
	fixture      string         // testdata file answered as the body
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name  string // testdata/<name>.golden holds the expected result
		calls []goldenCall
		run   func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error)
	}{
		{
			name: "personal_access_tokens_self.json",
			calls: []goldenCall{
				{method: "GET", path: "/personal_access_tokens/self", fixture: "personal_access_tokens_self.json"},
				{method: "GET", path: "/user", fixture: "user.json"},
			},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Validate(ctx, cred)
			},
		},
		{
			// Keyset paging by id over the projects the user may push to.
			name: "projects.json",
			calls: []goldenCall{{method: "GET", path: "/projects", params: map[string]any{
				"membership": "true", "min_access_level": "30", "pagination": "keyset",
				"order_by": "id", "sort": "asc", "per_page": "100",
			}, fixture: "projects.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Repositories(ctx, cred)
			},
		},
		{
			name: "branches.json",
			calls: []goldenCall{{method: "GET", path: "/projects/4/repository/branches",
				params: map[string]any{"per_page": "100"}, fixture: "branches.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Branches(ctx, cred, goldenRepo)
			},
		},
		{
			name: "create_branch.json",
			calls: []goldenCall{{method: "POST", path: "/projects/4/repository/branches", status: http.StatusCreated,
				params: map[string]any{"branch": "newbranch", "ref": "main"}, fixture: "create_branch.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreateBranch(ctx, cred, goldenRepo, "newbranch", "")
			},
		},
		{
			name: "create_merge_request.json",
			calls: []goldenCall{{method: "POST", path: "/projects/4/merge_requests", status: http.StatusCreated,
				params: map[string]any{"source_branch": "test1", "target_branch": "main", "title": "test1",
					"description": "fixed login page css paddings"},
				fixture: "create_merge_request.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreatePullRequest(ctx, cred, goldenRepo, fb.NewPullRequest{SourceBranch: "test1",
					Title: "test1", Description: "fixed login page css paddings"})
			},
		},
		{
			// GitLab makes a draft of a merge request whose title starts with
			// "Draft:"; the result carries the title the person wrote.
			name: "create_merge_request_draft.json",
			calls: []goldenCall{{method: "POST", path: "/projects/4/merge_requests", status: http.StatusCreated,
				params:  map[string]any{"source_branch": "test1", "target_branch": "main", "title": "Draft: test1"},
				fixture: "create_merge_request_draft.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreatePullRequest(ctx, cred, goldenRepo, fb.NewPullRequest{SourceBranch: "test1",
					Title: "test1", Description: "fixed login page css paddings", Draft: true})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newGoldenServer(t, tt.calls)
			p, err := New(fb.Integration{ID: "int-golden", Kind: fb.KindGitLabSelfManaged, BaseURL: srv.URL}, provider.Options{})
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

// goldenServer plays GitLab's API v4: it checks what GitLab checks (token,
// method, path, parameters) and answers each expected call once with its fixture.
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
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"message": msg})
	}
	// GitLab takes a personal access token in PRIVATE-TOKEN or as a bearer token.
	if r.Header.Get("PRIVATE-TOKEN") != goldenToken && r.Header.Get("Authorization") != "Bearer "+goldenToken {
		fail(http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v4")
	if !ok {
		fail(http.StatusNotFound, "404 Not Found (outside /api/v4)")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail(http.StatusBadRequest, "unreadable body")
		return
	}
	// GitLab reads parameters from the query and from a JSON body alike.
	params := map[string]any{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	if len(body) > 0 {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			fail(http.StatusUnsupportedMediaType, "415 Unsupported Media Type")
			return
		}
		var fields map[string]any
		if err := json.Unmarshal(body, &fields); err != nil {
			fail(http.StatusBadRequest, "400 Bad request - body is not JSON")
			return
		}
		for k, v := range fields {
			params[k] = v
		}
	}
	s.mu.Lock()
	i := -1
	for j, c := range s.calls {
		if !s.served[j] && c.method == r.Method && c.path == path {
			i = j
			s.served[j] = true
			break
		}
	}
	s.mu.Unlock()
	if i < 0 {
		fail(http.StatusNotFound, "404 Not Found (no such call expected)")
		return
	}
	c := s.calls[i]
	for k, want := range c.params {
		if got := params[k]; !reflect.DeepEqual(got, want) {
			fail(http.StatusBadRequest, "400 Bad request - "+k+" is "+goldenJSON(got)+", want "+goldenJSON(want))
			return
		}
	}
	payload, err := os.ReadFile(filepath.Join("testdata", c.fixture))
	if err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
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
			t.Errorf("the driver never called %s /api/v4%s", c.method, c.path)
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
