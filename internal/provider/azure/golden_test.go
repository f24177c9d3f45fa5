package azure

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
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
	tests := []providertest.GoldenCase[goldenCall]{
		{
			Name:  "connection_data.json",
			Calls: []goldenCall{{method: "GET", path: "/fabrikam/_apis/connectionData", fixture: "connection_data.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Validate(ctx, cred)
			},
		},
		{
			// An empty repository (no defaultBranch) is listed but cannot get
			// branches; a disabled one is left out.
			Name: "repositories.json",
			Calls: []goldenCall{{method: "GET", path: "/fabrikam/_apis/git/repositories", query: version,
				fixture: "repositories.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Repositories(ctx, cred)
			},
		},
		{
			Name: "refs_heads.json",
			Calls: []goldenCall{{method: "GET", path: goldenRepoPath + "/refs",
				query:   url.Values{"api-version": {"7.1"}, "filter": {"heads/"}, "$top": {"1000"}},
				fixture: "refs_heads.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Branches(ctx, cred, goldenRepo)
			},
		},
		{
			// The refs filter is a prefix: heads/master also lists master-old,
			// which must not be taken for the base.
			Name: "refs_update.json",
			Calls: []goldenCall{
				{method: "GET", path: goldenRepoPath + "/refs",
					query: url.Values{"api-version": {"7.1"}, "filter": {"heads/master"}}, fixture: "refs_master.json"},
				{method: "POST", path: goldenRepoPath + "/refs", query: version,
					body: []any{map[string]any{"name": "refs/heads/live",
						"oldObjectId": "0000000000000000000000000000000000000000",
						"newObjectId": "23d0bc5b128a10056dc68afece360d8a0fabb014"}},
					fixture: "refs_update.json"},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreateBranch(ctx, cred, goldenRepo, "live", "")
			},
		},
		{
			Name: "pull_request_create.json",
			Calls: []goldenCall{{method: "POST", path: goldenRepoPath + "/pullrequests", query: version,
				status: http.StatusCreated,
				body: map[string]any{"sourceRefName": "refs/heads/npaulk/my_work", "targetRefName": "refs/heads/new_feature",
					"title": "A new feature", "description": "Adding a new feature"},
				fixture: "pull_request_create.json"}},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreatePullRequest(ctx, cred, goldenRepo, fb.NewPullRequest{SourceBranch: "npaulk/my_work",
					TargetBranch: "new_feature", Title: "A new feature", Description: "Adding a new feature"})
			},
		},
		{
			// Listed newest first, every state; 22's description was cut at
			// 400 characters, so it is read whole.
			Name: "pull_requests.json",
			Calls: []goldenCall{
				{method: "GET", path: goldenRepoPath + "/pullrequests",
					query:   url.Values{"api-version": {"7.1"}, "searchCriteria.status": {"all"}, "$top": {"1000"}, "$skip": {"0"}},
					fixture: "pull_requests.json"},
				{method: "GET", path: goldenRepoPath + "/pullrequests/22", query: version, fixture: "pull_request_22.json"},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				var got []listedPull
				err := p.(provider.PullRequestLister).PullRequests(ctx, cred, goldenRepo, time.Time{}, func(pr fb.PullRequest) error {
					got = append(got, listedPull{pr, pr.Description, pr.Author, pr.UpdatedAt})
					return nil
				})
				return got, err
			},
		},
	}
	open := func(url string) (provider.Provider, error) {
		return New(fb.Integration{ID: "int-golden", Kind: fb.KindAzureDevOps, BaseURL: url + "/fabrikam"}, provider.Options{})
	}
	providertest.RunGolden(t, goldenService{}, open, fb.Credential{Token: goldenPAT}, tests, *update)
}

// listedPull shows the fields a listing fills in that PullRequest's JSON leaves out.
type listedPull struct {
	fb.PullRequest
	Description string    `json:"description"`
	Author      string    `json:"author"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// goldenService plays one Azure DevOps organisation: it checks what Azure
// checks (the PAT in Basic auth, method, path, api-version and parameters,
// body) and answers with the call's fixture.
type goldenService struct{}

func (goldenService) Serve(r *http.Request, body []byte,
	take providertest.Take[goldenCall]) (providertest.Reply, *providertest.Fault) {
	// A PAT is the password of Basic auth; Azure ignores the user name.
	if _, pat, ok := r.BasicAuth(); !ok || pat != goldenPAT {
		return providertest.Refused(http.StatusUnauthorized, "TF400813: The user is not authorized to access this resource.")
	}
	c, ok := take(func(c goldenCall) bool { return c.method == r.Method && c.path == r.URL.Path })
	if !ok {
		return providertest.Refused(http.StatusNotFound, "no such call expected")
	}
	if msg := providertest.QueryDiff(r.URL.Query(), c.query); msg != "" {
		return providertest.Refused(http.StatusBadRequest, msg)
	}
	if c.body != nil {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			return providertest.Refused(http.StatusUnsupportedMediaType, "content type "+ct+" is not application/json")
		}
		var got any
		if err := json.Unmarshal(body, &got); err != nil {
			return providertest.Refused(http.StatusBadRequest, "the body is not JSON")
		}
		if msg := goldenBodyDiff(got, c.body); msg != "" {
			return providertest.Refused(http.StatusBadRequest, msg)
		}
	}
	return providertest.Reply{Status: c.status, ContentType: "application/json; charset=utf-8; api-version=7.1",
		Fixture: c.fixture}, nil
}

func (goldenService) Refuse(w http.ResponseWriter, f *providertest.Fault) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(f.Status)
	json.NewEncoder(w).Encode(map[string]any{"$id": "1", "message": f.Message, "typeKey": "GoldenTestException", "errorCode": 0})
}

func (goldenService) Name(c goldenCall) string { return c.method + " " + c.path }

// goldenBodyDiff says how a request body differs from what the call expects, or "".
func goldenBodyDiff(got, want any) string {
	fields, ok := want.(map[string]any)
	if !ok {
		if !reflect.DeepEqual(got, want) {
			return "body is " + providertest.JSON(got) + ", want " + providertest.JSON(want)
		}
		return ""
	}
	obj, _ := got.(map[string]any)
	return providertest.FieldsDiff(obj, fields)
}
