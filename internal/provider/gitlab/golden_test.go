package gitlab

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
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
	method, path string            // path below /api/v4
	params       map[string]any    // parameters the request must carry, in its query or JSON body
	status       int               // answer status; 200 when zero
	header       map[string]string // answer headers
	fixture      string            // testdata file answered as the body
}

func TestGolden(t *testing.T) {
	tests := []providertest.GoldenCase[goldenCall]{
		{
			Name: "personal_access_tokens_self.json",
			Calls: []goldenCall{
				{method: "GET", path: "/personal_access_tokens/self", fixture: "personal_access_tokens_self.json"},
				{method: "GET", path: "/user", fixture: "user.json"},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Validate(ctx, cred)
			},
		},
		{
			// Keyset paging by id over the projects the user may push to.
			Name: "projects.json",
			Calls: []goldenCall{{method: "GET", path: "/projects", params: map[string]any{
				"membership": "true", "min_access_level": "30", "pagination": "keyset",
				"order_by": "id", "sort": "asc", "per_page": "100",
			}, fixture: "projects.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Repositories(ctx, cred)
			},
		},
		{
			Name: "branches.json",
			Calls: []goldenCall{{method: "GET", path: "/projects/4/repository/branches",
				params: map[string]any{"per_page": "100"}, fixture: "branches.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Branches(ctx, cred, goldenRepo)
			},
		},
		{
			Name: "create_branch.json",
			Calls: []goldenCall{{method: "POST", path: "/projects/4/repository/branches", status: http.StatusCreated,
				params: map[string]any{"branch": "newbranch", "ref": "main"}, fixture: "create_branch.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreateBranch(ctx, cred, goldenRepo, "newbranch", "")
			},
		},
		{
			Name: "create_merge_request.json",
			Calls: []goldenCall{{method: "POST", path: "/projects/4/merge_requests", status: http.StatusCreated,
				params: map[string]any{"source_branch": "test1", "target_branch": "main", "title": "test1",
					"description": "fixed login page css paddings"},
				fixture: "create_merge_request.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreatePullRequest(ctx, cred, goldenRepo, fb.NewPullRequest{SourceBranch: "test1",
					Title: "test1", Description: "fixed login page css paddings"})
			},
		},
		{
			// GitLab makes a draft of a merge request whose title starts with
			// "Draft:"; the result carries the title the person wrote.
			Name: "create_merge_request_draft.json",
			Calls: []goldenCall{{method: "POST", path: "/projects/4/merge_requests", status: http.StatusCreated,
				params:  map[string]any{"source_branch": "test1", "target_branch": "main", "title": "Draft: test1"},
				fixture: "create_merge_request_draft.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreatePullRequest(ctx, cred, goldenRepo, fb.NewPullRequest{SourceBranch: "test1",
					Title: "test1", Description: "fixed login page css paddings", Draft: true})
			},
		},
		{
			// Every state over two offset pages, most recently updated first.
			Name: "merge_requests.json",
			Calls: []goldenCall{
				{method: "GET", path: "/projects/4/merge_requests", params: map[string]any{
					"state": "all", "order_by": "updated_at", "sort": "desc", "per_page": "100",
					"updated_after": "2024-09-01T00:00:00.000Z",
				}, header: map[string]string{"X-Next-Page": "2", "X-Page": "1", "X-Per-Page": "100"}, fixture: "merge_requests.json"},
				{method: "GET", path: "/projects/4/merge_requests", params: map[string]any{
					"state": "all", "order_by": "updated_at", "sort": "desc", "per_page": "100", "page": "2",
					"updated_after": "2024-09-01T00:00:00.000Z",
				}, header: map[string]string{"X-Next-Page": "", "X-Page": "2", "X-Per-Page": "100"}, fixture: "merge_requests_page2.json"},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				var out []listedPull
				since := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)
				err := p.(provider.PullRequestLister).PullRequests(ctx, cred, goldenRepo, since, func(pr fb.PullRequest) error {
					out = append(out, listedPull{pr, pr.Description, pr.Author, pr.UpdatedAt})
					return nil
				})
				return out, err
			},
		},
	}
	open := func(url string) (provider.Provider, error) {
		return New(fb.Integration{ID: "int-golden", Kind: fb.KindGitLabSelfManaged, BaseURL: url}, provider.Options{})
	}
	providertest.RunGolden(t, goldenService{}, open, fb.Credential{Token: goldenToken}, tests, *update)
}

// goldenService plays GitLab's API v4: it checks what GitLab checks (token,
// method, path, parameters) and answers with the call's fixture.
type goldenService struct{}

func (goldenService) Serve(r *http.Request, body []byte,
	take providertest.Take[goldenCall]) (providertest.Reply, *providertest.Fault) {
	// GitLab takes a personal access token in PRIVATE-TOKEN or as a bearer token.
	if r.Header.Get("PRIVATE-TOKEN") != goldenToken && r.Header.Get("Authorization") != "Bearer "+goldenToken {
		return providertest.Refused(http.StatusUnauthorized, "401 Unauthorized")
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v4")
	if !ok {
		return providertest.Refused(http.StatusNotFound, "404 Not Found (outside /api/v4)")
	}
	// GitLab reads parameters from the query and from a JSON body alike.
	params := map[string]any{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	if len(body) > 0 {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			return providertest.Refused(http.StatusUnsupportedMediaType, "415 Unsupported Media Type")
		}
		var fields map[string]any
		if err := json.Unmarshal(body, &fields); err != nil {
			return providertest.Refused(http.StatusBadRequest, "400 Bad request - body is not JSON")
		}
		for k, v := range fields {
			params[k] = v
		}
	}
	c, ok := take(func(c goldenCall) bool { return c.method == r.Method && c.path == path })
	if !ok {
		return providertest.Refused(http.StatusNotFound, "404 Not Found (no such call expected)")
	}
	if msg := providertest.FieldsDiff(params, c.params); msg != "" {
		return providertest.Refused(http.StatusBadRequest, "400 Bad request - "+msg)
	}
	return providertest.Reply{Status: c.status, ContentType: "application/json", Header: c.header, Fixture: c.fixture}, nil
}

// listedPull shows a listed pull request whole: the fields the API's JSON
// leaves out too.
type listedPull struct {
	fb.PullRequest
	Description string    `json:"description"`
	Author      string    `json:"author"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func (goldenService) Refuse(w http.ResponseWriter, f *providertest.Fault) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	json.NewEncoder(w).Encode(map[string]string{"message": f.Message})
}

func (goldenService) Name(c goldenCall) string { return c.method + " /api/v4" + c.path }
