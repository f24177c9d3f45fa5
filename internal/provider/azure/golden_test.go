package azure

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

// The golden tests answer the driver with Azure DevOps' own documented
// example payloads (testdata/*.json, after learn.microsoft.com/rest/api/azure/devops)
// and compare what the driver makes of them with testdata/<case>.golden.
// After a deliberate change:
//
//	go test ./internal/provider/azure -run TestGolden -update
//
// then read the rewritten golden files before committing them.
var update = flag.Bool("update", false, "rewrite the golden files")

const goldenPAT = "golden-pat-5e0c3b9a71d2"

// goldenRepo is Fabrikam-Fiber-Git as the driver's Repositories describes it.
var goldenRepo = fb.Repository{ExternalID: "278d5cd2-584d-4b63-824a-2ba458937249", Name: "Fabrikam-Fiber-Git",
	FullName: "Fabrikam-Fiber-Git/Fabrikam-Fiber-Git", DefaultBranch: "master",
	WebURL: "https://dev.azure.com/fabrikam/Fabrikam-Fiber-Git/_git/Fabrikam-Fiber-Git"}

const goldenRepoPath = "/fabrikam/Fabrikam-Fiber-Git/_apis/git/repositories/278d5cd2-584d-4b63-824a-2ba458937249"

// goldenCall is one request the driver must make and Azure DevOps' answer to it.
type goldenCall struct {
	method, path string
	query        url.Values // parameters the request must carry
	// body the request must carry: for an object, the fields it must have;
	// anything else (a list of ref updates) must be equal.
	body    any
	status  int    // answer status; 200 when zero
	fixture string // testdata file answered as the body
}

func TestGolden(t *testing.T) {
	version := url.Values{"api-version": {"7.1"}}
	tests := []struct {
		name  string // testdata/<name>.golden holds the expected result
		calls []goldenCall
		run   func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error)
	}{
		{
			name:  "connection_data.json",
			calls: []goldenCall{{method: "GET", path: "/fabrikam/_apis/connectionData", fixture: "connection_data.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Validate(ctx, cred)
			},
		},
		{
			// An empty repository (no defaultBranch) is listed but cannot get
			// branches; a disabled one is left out.
			name: "repositories.json",
			calls: []goldenCall{{method: "GET", path: "/fabrikam/_apis/git/repositories", query: version,
				fixture: "repositories.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Repositories(ctx, cred)
			},
		},
		{
			name: "refs_heads.json",
			calls: []goldenCall{{method: "GET", path: goldenRepoPath + "/refs",
				query:   url.Values{"api-version": {"7.1"}, "filter": {"heads/"}, "$top": {"1000"}},
				fixture: "refs_heads.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Branches(ctx, cred, goldenRepo)
			},
		},
		{
			// The refs filter is a prefix: heads/master also lists master-old,
			// which must not be taken for the base.
			name: "refs_update.json",
			calls: []goldenCall{
				{method: "GET", path: goldenRepoPath + "/refs",
					query: url.Values{"api-version": {"7.1"}, "filter": {"heads/master"}}, fixture: "refs_master.json"},
				{method: "POST", path: goldenRepoPath + "/refs", query: version,
					body: []any{map[string]any{"name": "refs/heads/live",
						"oldObjectId": "0000000000000000000000000000000000000000",
						"newObjectId": "23d0bc5b128a10056dc68afece360d8a0fabb014"}},
					fixture: "refs_update.json"},
			},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreateBranch(ctx, cred, goldenRepo, "live", "")
			},
		},
		{
			name: "pull_request_create.json",
			calls: []goldenCall{{method: "POST", path: goldenRepoPath + "/pullrequests", query: version,
				status: http.StatusCreated,
				body: map[string]any{"sourceRefName": "refs/heads/npaulk/my_work", "targetRefName": "refs/heads/new_feature",
					"title": "A new feature", "description": "Adding a new feature"},
				fixture: "pull_request_create.json"}},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreatePullRequest(ctx, cred, goldenRepo, fb.NewPullRequest{SourceBranch: "npaulk/my_work",
					TargetBranch: "new_feature", Title: "A new feature", Description: "Adding a new feature"})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newGoldenServer(t, tt.calls)
			p, err := New(fb.Integration{ID: "int-golden", Kind: fb.KindAzureDevOps, BaseURL: srv.URL + "/fabrikam"},
				provider.Options{})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			got, err := tt.run(context.Background(), p, fb.Credential{Token: goldenPAT})
			if err != nil {
				t.Fatalf("driver error: %v", err)
			}
			srv.checkAllServed(t)
			checkGolden(t, tt.name, got)
		})
	}
}

// goldenServer plays one Azure DevOps organisation: it checks what Azure
// checks (the PAT in Basic auth, method, path, api-version and parameters,
// body) and answers each expected call once with its fixture.
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
		json.NewEncoder(w).Encode(map[string]any{"$id": "1", "message": msg, "typeKey": "GoldenTestException", "errorCode": 0})
	}
	// A PAT is the password of Basic auth; Azure ignores the user name.
	if _, pat, ok := r.BasicAuth(); !ok || pat != goldenPAT {
		fail(http.StatusUnauthorized, "TF400813: The user is not authorized to access this resource.")
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
		fail(http.StatusNotFound, "no such call expected")
		return
	}
	c := s.calls[i]
	for k, want := range c.query {
		if got := r.URL.Query()[k]; !reflect.DeepEqual(got, want) {
			fail(http.StatusBadRequest, "parameter "+k+" is "+goldenJSON(got)+", want "+goldenJSON(want))
			return
		}
	}
	if c.body != nil {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			fail(http.StatusUnsupportedMediaType, "content type "+ct+" is not application/json")
			return
		}
		var got any
		if err := json.Unmarshal(body, &got); err != nil {
			fail(http.StatusBadRequest, "the body is not JSON")
			return
		}
		if msg := goldenBodyDiff(got, c.body); msg != "" {
			fail(http.StatusBadRequest, msg)
			return
		}
	}
	payload, err := os.ReadFile(filepath.Join("testdata", c.fixture))
	if err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8; api-version=7.1")
	status := c.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(payload)
}

// goldenBodyDiff says how a request body differs from what the call expects, or "".
func goldenBodyDiff(got, want any) string {
	fields, ok := want.(map[string]any)
	if !ok {
		if !reflect.DeepEqual(got, want) {
			return "body is " + goldenJSON(got) + ", want " + goldenJSON(want)
		}
		return ""
	}
	obj, _ := got.(map[string]any)
	for k, v := range fields {
		if !reflect.DeepEqual(obj[k], v) {
			return "field " + k + " is " + goldenJSON(obj[k]) + ", want " + goldenJSON(v)
		}
	}
	return ""
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
