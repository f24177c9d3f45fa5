package github

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
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
	tests := []providertest.GoldenCase[goldenCall]{
		{
			// GitHub tells a classic token's scopes and expiry in headers of any answer.
			Name: "user.json",
			Calls: []goldenCall{{method: "GET", path: "/user", fixture: "user.json", header: map[string]string{
				"X-OAuth-Scopes":                         "repo, read:org",
				"GitHub-Authentication-Token-Expiration": "2026-12-31 00:00:00 UTC",
			}}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Validate(ctx, cred)
			},
		},
		{
			Name: "user_repos.json",
			Calls: []goldenCall{{method: "GET", path: "/user/repos", query: url.Values{"per_page": {"100"}},
				fixture: "user_repos.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Repositories(ctx, cred)
			},
		},
		{
			Name: "branches.json",
			Calls: []goldenCall{{method: "GET", path: "/repos/octocat/Hello-World/branches",
				query: url.Values{"per_page": {"100"}}, fixture: "branches.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Branches(ctx, cred, goldenRepo)
			},
		},
		{
			// The new branch starts at the head of the default branch.
			Name: "create_ref.json",
			Calls: []goldenCall{
				{method: "GET", path: "/repos/octocat/Hello-World/git/ref/heads/master", fixture: "git_ref.json"},
				{method: "POST", path: "/repos/octocat/Hello-World/git/refs", status: http.StatusCreated,
					body: map[string]any{"ref": "refs/heads/featureA", "sha": "aa218f56b14c9653891f9e74264a383fa43fefbd"},
					header: map[string]string{
						"Location": "https://api.github.com/repos/octocat/Hello-World/git/refs/heads/featureA",
					},
					fixture: "create_ref.json"},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreateBranch(ctx, cred, goldenRepo, "featureA", "")
			},
		},
		{
			Name: "pull_create.json",
			Calls: []goldenCall{{method: "POST", path: "/repos/octocat/Hello-World/pulls", status: http.StatusCreated,
				body: map[string]any{"title": "Amazing new feature", "head": "new-topic", "base": "master",
					"body": "Please pull these awesome changes in!", "draft": false},
				fixture: "pull_create.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreatePullRequest(ctx, cred, goldenRepo, fb.NewPullRequest{SourceBranch: "new-topic",
					Title: "Amazing new feature", Description: "Please pull these awesome changes in!"})
			},
		},
		{
			// Every state, most recently updated first, so that a later run can stop early.
			Name: "pulls.json",
			Calls: []goldenCall{{method: "GET", path: "/repos/octocat/Hello-World/pulls",
				query:   url.Values{"state": {"all"}, "sort": {"updated"}, "direction": {"desc"}, "per_page": {"100"}},
				fixture: "pulls.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				var out []listedPull
				err := p.(provider.PullRequestLister).PullRequests(ctx, cred, goldenRepo, time.Time{}, func(pr fb.PullRequest) error {
					out = append(out, listedPull{pr, pr.Description, pr.Author, pr.UpdatedAt})
					return nil
				})
				return out, err
			},
		},
	}
	open := func(url string) (provider.Provider, error) {
		return New(fb.Integration{ID: "int-golden", Kind: fb.KindGitHub, BaseURL: url}, provider.Options{})
	}
	providertest.RunGolden(t, goldenService{}, open, fb.Credential{Token: goldenToken}, tests, *update)
}

// listedPull shows the fields of a listed pull request that its JSON form
// leaves out.
type listedPull struct {
	fb.PullRequest
	Description string
	Author      string
	UpdatedAt   time.Time
}

// goldenService plays GitHub: it checks what GitHub checks (token, API
// version, method, path, parameters, body) and answers with the call's fixture.
type goldenService struct{}

func (goldenService) Serve(r *http.Request, body []byte,
	take providertest.Take[goldenCall]) (providertest.Reply, *providertest.Fault) {
	if r.Header.Get("Authorization") != "Bearer "+goldenToken {
		return providertest.Refused(http.StatusUnauthorized, "Bad credentials")
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "" && !goldenSupportedVersions[v] {
		return providertest.Refused(http.StatusBadRequest, "Unsupported 'X-GitHub-Api-Version' header")
	}
	c, ok := take(func(c goldenCall) bool { return c.method == r.Method && c.path == r.URL.Path })
	if !ok {
		return providertest.Refused(http.StatusNotFound, "Not Found (no such call expected)")
	}
	if msg := providertest.QueryDiff(r.URL.Query(), c.query); msg != "" {
		return providertest.Refused(http.StatusUnprocessableEntity, msg)
	}
	if c.body != nil {
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			return providertest.Refused(http.StatusBadRequest, "Problems parsing JSON")
		}
		if msg := providertest.FieldsDiff(got, c.body); msg != "" {
			return providertest.Refused(http.StatusUnprocessableEntity, msg)
		}
	}
	return providertest.Reply{Status: c.status, ContentType: "application/json; charset=utf-8", Header: c.header,
		Fixture: c.fixture}, nil
}

func (goldenService) Refuse(w http.ResponseWriter, f *providertest.Fault) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(f.Status)
	json.NewEncoder(w).Encode(map[string]string{"message": f.Message, "documentation_url": "https://docs.github.com/rest"})
}

func (goldenService) Name(c goldenCall) string { return c.method + " " + c.path }
