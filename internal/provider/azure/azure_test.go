package azure_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/azure"
	"github.com/forgebridge/forgebridge/internal/provider/azure/fakeazure"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
)

const (
	goodPAT     = "good-pat-4f1c2a7d9e3b"
	readOnlyPAT = "read-only-pat-8a2d5c"
	expiredPAT  = "expired-pat-1b9e7f"
	unknownPAT  = "unknown-pat-6d3a0c"
)

// world is a fake organisation with the repositories the contract expects:
// five over three pages, Platform/api with a default branch and a feature
// branch ahead of it.
type world struct {
	fake *fakeazure.Server
	api  *fakeazure.Repo
}

func newWorld(t testing.TB) *world {
	t.Helper()
	f := fakeazure.New("contoso")
	t.Cleanup(f.Close)
	f.AddToken(goodPAT, fakeazure.Token{Account: "alice@example.com", DisplayName: "Alice"})
	f.AddToken(readOnlyPAT, fakeazure.Token{Account: "bob@example.com", DisplayName: "Bob", ReadOnly: true})
	f.AddToken(expiredPAT, fakeazure.Token{Account: "carol@example.com", Expired: true})
	api := f.AddRepo("Platform", "api", "main")
	api.AddBranch("feature/login")
	f.AddRepo("Platform", "web", "main")
	f.AddRepo("Platform", "infra", "develop")
	f.AddRepo("Mobile", "ios", "main")
	f.AddRepo("Mobile", "android", "trunk")
	return &world{fake: f, api: api}
}

func newProvider(t testing.TB, in fb.Integration) provider.Provider {
	t.Helper()
	p, err := azure.New(in, provider.Options{UserAgent: "forgebridge-test"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func cred(pat string) fb.Credential { return fb.Credential{Token: pat} }

func TestContract(t *testing.T) {
	kinds := []struct {
		name          string
		kind          fb.Kind
		serverVersion string
		min, max      string // the fake's api-version range; empty: Azure DevOps Services
	}{
		{"azure-devops", fb.KindAzureDevOps, "", "", ""},
		{"vsts", fb.KindVSTS, "", "", ""},
		{"tfs 2019", fb.KindTFS, "2019", "1.0", "5.0"},
		{"tfs learnt", fb.KindTFS, "", "1.0", "4.1"},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			providertest.Run(t, func(t *testing.T) *providertest.Harness {
				w := newWorld(t)
				if k.max != "" {
					w.fake.SetAPIVersionRange(k.min, k.max)
				}
				p := newProvider(t, fb.Integration{ID: "int-1", Kind: k.kind, BaseURL: w.fake.URL(), ServerVersion: k.serverVersion})
				return &providertest.Harness{
					Provider:      p,
					Good:          cred(goodPAT),
					ReadOnly:      cred(readOnlyPAT),
					Unknown:       cred(unknownPAT),
					Expired:       cred(expiredPAT),
					GoodLogin:     "alice@example.com",
					Repositories:  5,
					RepoFullName:  "Platform/api",
					FeatureBranch: "feature/login",
					RateLimit:     w.fake.SetRateLimited,
					Fail:          w.fake.SetFailing,
				}
			})
		})
	}
}

func apiRepo(t *testing.T, p provider.Provider) fb.Repository {
	t.Helper()
	repos, err := p.Repositories(context.Background(), cred(goodPAT))
	if err != nil {
		t.Fatalf("Repositories: %v", err)
	}
	for _, r := range repos {
		if r.FullName == "Platform/api" {
			return r
		}
	}
	t.Fatalf("Platform/api not among %+v", repos)
	return fb.Repository{}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	tests := []struct {
		name string
		in   fb.Integration
	}{
		{"no base URL", fb.Integration{Kind: fb.KindAzureDevOps}},
		{"no base URL tfs", fb.Integration{Kind: fb.KindTFS, ServerVersion: "2019"}},
		{"not a URL", fb.Integration{Kind: fb.KindVSTS, BaseURL: "contoso.visualstudio.com"}},
		{"unknown server version", fb.Integration{Kind: fb.KindTFS, BaseURL: "https://tfs.example.com/tfs/DefaultCollection", ServerVersion: "2015"}},
		{"API path on another host", fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: "https://dev.azure.com/contoso", APIPath: "https://evil.example.com/_apis/git/repositories"}},
		{"bad filter", fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: "https://dev.azure.com/contoso", RepositoryFilter: "[?"}},
		{"other kind", fb.Integration{Kind: fb.KindGitHub, BaseURL: "https://dev.azure.com/contoso"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := azure.New(tt.in, provider.Options{})
			if fb.ErrorCode(err) != fb.EInvalid {
				t.Errorf("New = %v, want %s", err, fb.EInvalid)
			}
		})
	}
}

// TestAPIVersionChoice checks the api-version each kind and server version
// sends, and that a TFS of unknown version is learnt once from its refusal.
func TestAPIVersionChoice(t *testing.T) {
	tests := []struct {
		kind          fb.Kind
		serverVersion string
		max           string   // newest api-version the fake accepts
		want          []string // api-versions of the repository list calls, in order
	}{
		{fb.KindAzureDevOps, "", "7.1", []string{"7.1"}},
		{fb.KindVSTS, "", "7.1", []string{"7.1"}},
		{fb.KindTFS, "2017", "3.2", []string{"3.0"}},
		{fb.KindTFS, "2018", "4.1", []string{"4.1"}},
		{fb.KindTFS, "2019", "5.0", []string{"5.0"}},
		{fb.KindTFS, "2020", "6.0", []string{"6.0"}},
		{fb.KindTFS, "2022", "7.0", []string{"7.0"}},
		{fb.KindTFS, "", "7.0", []string{"7.0"}},
		{fb.KindTFS, "", "3.2", []string{"7.0", "3.2"}},
		// A server older than configured says so; the driver follows it.
		{fb.KindTFS, "2022", "5.0", []string{"7.0", "5.0"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s on %s", tt.kind, tt.serverVersion, tt.max), func(t *testing.T) {
			w := newWorld(t)
			w.fake.SetAPIVersionRange("1.0", tt.max)
			w.fake.SetPageSize(100)
			p := newProvider(t, fb.Integration{Kind: tt.kind, BaseURL: w.fake.URL(), ServerVersion: tt.serverVersion})
			if _, err := p.Repositories(context.Background(), cred(goodPAT)); err != nil {
				t.Fatalf("Repositories: %v", err)
			}
			// The version stays learnt: a second list costs one call.
			if _, err := p.Repositories(context.Background(), cred(goodPAT)); err != nil {
				t.Fatalf("Repositories again: %v", err)
			}
			var got []string
			for _, c := range w.fake.Calls() {
				q, _ := url.ParseQuery(c.Query)
				got = append(got, q.Get("api-version"))
			}
			want := append(append([]string{}, tt.want...), tt.want[len(tt.want)-1])
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("api-versions sent %v, want %v", got, want)
			}
		})
	}
}

func TestServicesDoNotFollowAVersionRefusal(t *testing.T) {
	w := newWorld(t)
	w.fake.SetAPIVersionRange("1.0", "5.0")
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	_, err := p.Repositories(context.Background(), cred(goodPAT))
	if fb.ErrorCode(err) != fb.EProviderRejected || len(w.fake.Calls()) != 1 {
		t.Errorf("Repositories = %v after %d calls, want %s after 1", err, len(w.fake.Calls()), fb.EProviderRejected)
	}
}

// TestDraftOnlyWhereSupported checks isDraft is sent from api-version 5.1 on.
func TestDraftOnlyWhereSupported(t *testing.T) {
	tests := []struct {
		kind          fb.Kind
		serverVersion string
		max           string
		draft         bool
		wantDraft     bool
	}{
		{fb.KindAzureDevOps, "", "7.1", true, true},
		{fb.KindAzureDevOps, "", "7.1", false, false},
		{fb.KindTFS, "2020", "6.0", true, true},
		{fb.KindTFS, "2019", "5.0", true, false},
		{fb.KindTFS, "2017", "3.2", true, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s draft=%v", tt.kind, tt.serverVersion, tt.draft), func(t *testing.T) {
			w := newWorld(t)
			w.fake.SetAPIVersionRange("1.0", tt.max)
			p := newProvider(t, fb.Integration{Kind: tt.kind, BaseURL: w.fake.URL(), ServerVersion: tt.serverVersion})
			repo := apiRepo(t, p)
			w.fake.ResetCalls()
			_, err := p.CreatePullRequest(context.Background(), cred(goodPAT), repo, fb.NewPullRequest{
				SourceBranch: "feature/login", TargetBranch: "main", Title: "PROJ-1 Login", Draft: tt.draft})
			if err != nil {
				t.Fatalf("CreatePullRequest: %v", err)
			}
			calls := w.fake.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d calls, want 1", len(calls))
			}
			var body map[string]any
			if err := json.Unmarshal(calls[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			if _, sent := body["isDraft"]; sent != tt.wantDraft {
				t.Errorf("isDraft sent = %v, want %v (body %s)", sent, tt.wantDraft, calls[0].Body)
			}
			if body["sourceRefName"] != "refs/heads/feature/login" || body["targetRefName"] != "refs/heads/main" {
				t.Errorf("body %s, want full ref names", calls[0].Body)
			}
		})
	}
}

// TestRequestShape checks the wire format of every call: Basic auth with an
// empty user, the headers, and the paths.
func TestRequestShape(t *testing.T) {
	var seen []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Clone(context.Background()))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, `{"authenticatedUser":{"id":"6c5b6a49-1f2e-4d0c-9c3b-0a4b7e9f2d11","descriptor":"Microsoft.IdentityModel.Claims.ClaimsIdentity;x\\DOMAIN\\alice","providerDisplayName":"Alice","properties":{"Account":{"$type":"System.String","$value":"DOMAIN\\alice"}}}}`)
	}))
	defer srv.Close()
	p := newProvider(t, fb.Integration{Kind: fb.KindTFS, BaseURL: srv.URL + "/tfs/DefaultCollection/", ServerVersion: "2018"})
	info, err := p.Validate(context.Background(), cred(goodPAT))
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if info.Login != `DOMAIN\alice` || info.Scopes != nil || info.ExpiresAt != nil {
		t.Errorf("info = %+v, want login DOMAIN\\alice and nothing else", info)
	}
	r := seen[0]
	user, pass, ok := r.BasicAuth()
	if !ok || user != "" || pass != goodPAT {
		t.Errorf("basic auth = %q/%q/%v, want an empty user and the PAT", user, pass, ok)
	}
	for h, want := range map[string]string{"X-TFS-FedAuthRedirect": "Suppress", "Accept": "application/json", "User-Agent": "forgebridge-test"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if r.URL.Path != "/tfs/DefaultCollection/_apis/connectionData" || r.URL.RawQuery != "" {
		t.Errorf("validate called %s?%s", r.URL.Path, r.URL.RawQuery)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantLogin   string
		wantCode    fb.Code
		wantUserID  string // authenticatedUser.id, lower case: who, whatever the PAT
	}{
		{"account", 200, "application/json", `{"authenticatedUser":{"id":"6c5b6a49-1f2e-4d0c-9c3b-0a4b7e9f2d11","providerDisplayName":"Alice","properties":{"Account":{"$value":"alice@example.com"}}}}`, "alice@example.com", "", "6c5b6a49-1f2e-4d0c-9c3b-0a4b7e9f2d11"},
		{"display name fallback", 200, "application/json", `{"authenticatedUser":{"id":"6C5B6A49-1F2E-4D0C-9C3B-0A4B7E9F2D11","providerDisplayName":"Alice","properties":{}}}`, "Alice", "", "6c5b6a49-1f2e-4d0c-9c3b-0a4b7e9f2d11"},
		{"zero id", 200, "application/json", `{"authenticatedUser":{"id":"00000000-0000-0000-0000-000000000000","providerDisplayName":"Anonymous"}}`, "", fb.ETokenRejected, ""},
		{"public access descriptor", 200, "application/json", `{"authenticatedUser":{"id":"aa442ad2-0000-4c3b-9e8a-1b2c3d4e5f60","descriptor":"System:PublicAccess;aa442ad2-0000-4c3b-9e8a-1b2c3d4e5f60","providerDisplayName":"Anonymous"}}`, "", fb.ETokenRejected, ""},
		{"no user", 200, "application/json", `{}`, "", fb.ETokenRejected, ""},
		{"203 sign-in page", 203, "text/html; charset=utf-8", `<html><title>Sign In</title></html>`, "", fb.ETokenRejected, ""},
		{"200 sign-in page", 200, "text/html", `<html><title>Sign In</title></html>`, "", fb.ETokenRejected, ""},
		{"401", 401, "", ``, "", fb.ETokenRejected, ""},
		{"garbled JSON", 200, "application/json", `{"authenticatedUser":`, "", fb.EProviderUnavailable, ""},
		{"wrong collection", 404, "text/html", `<html>Not found</html>`, "", fb.EProviderRejected, ""},
		{"server error", 500, "application/json", `{"message":"boom","typeKey":"VssServiceException"}`, "", fb.EProviderUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: srv.URL + "/contoso"})
			info, err := p.Validate(context.Background(), cred(goodPAT))
			if fb.ErrorCode(err) != tt.wantCode || info.Login != tt.wantLogin || info.UserID != tt.wantUserID {
				t.Errorf("Validate = %+v, %v; want login %q, user id %q, code %q", info, err, tt.wantLogin, tt.wantUserID, tt.wantCode)
			}
		})
	}
}

// TestTokenRejectedWithoutSuppressHeader shows why the header matters: the
// fake, like Azure, answers an unknown token with a sign-in page when it is
// missing; the driver sends it and gets a 401.
func TestTokenRejectedWithoutSuppressHeader(t *testing.T) {
	w := newWorld(t)
	req, _ := http.NewRequest(http.MethodGet, w.fake.URL()+"/_apis/connectionData", nil)
	req.SetBasicAuth("", unknownPAT)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNonAuthoritativeInfo {
		t.Fatalf("fake answered %d without the header, want 203", res.StatusCode)
	}
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	_, err = p.Validate(context.Background(), cred(unknownPAT))
	if fb.ErrorCode(err) != fb.ETokenRejected {
		t.Errorf("Validate(unknown) = %v, want %s", err, fb.ETokenRejected)
	}
}

// TestRefUpdateStatuses checks each refused ref update (200, success:false).
func TestRefUpdateStatuses(t *testing.T) {
	tests := []struct {
		status   string
		code     fb.Code
		existing bool
		scopes   bool
	}{
		{"staleOldObjectId", fb.EAlreadyExists, true, false},
		{"refNameConflict", fb.EAlreadyExists, true, false},
		{"createBranchPermissionRequired", fb.EProviderDenied, false, false},
		{"writePermissionRequired", fb.EProviderDenied, false, false},
		{"rejectedByPolicy", fb.EProviderDenied, false, false},
		{"locked", fb.EProviderDenied, false, false},
		{"invalidRefName", fb.EProviderRejected, false, false},
		{"unresolvableToCommit", fb.EProviderRejected, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				if r.Method == http.MethodGet {
					fmt.Fprint(w, `{"value":[{"name":"refs/heads/main","objectId":"4b825dc642cb6eb9a060e54bf8d69288fbee4904"}],"count":1}`)
					return
				}
				fmt.Fprintf(w, `{"value":[{"repositoryId":"r1","name":"refs/heads/PROJ-1","oldObjectId":"0000000000000000000000000000000000000000","newObjectId":"4b825dc642cb6eb9a060e54bf8d69288fbee4904","isLocked":false,"updateStatus":%q,"success":false,"customMessage":null}],"count":1}`, tt.status)
			}))
			defer srv.Close()
			p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: srv.URL + "/contoso"})
			repo := fb.Repository{ExternalID: "r1", FullName: "Platform/api", DefaultBranch: "main", WebURL: srv.URL + "/contoso/Platform/_git/api"}
			_, err := p.CreateBranch(context.Background(), cred(goodPAT), repo, "PROJ-1", "")
			e := fb.AsError(err)
			if e == nil || e.Code != tt.code || e.Message == "" {
				t.Fatalf("CreateBranch = %v, want %s", err, tt.code)
			}
			if tt.existing && (e.Existing == nil || e.Existing.Name != "PROJ-1" ||
				e.Existing.WebURL != repo.WebURL+"?version=GBPROJ-1") {
				t.Errorf("existing = %+v, want PROJ-1 and its web URL", e.Existing)
			}
			if tt.scopes != (len(e.MissingScopes) == 1 && e.MissingScopes[0] == "vso.code_write") {
				t.Errorf("missing scopes = %v", e.MissingScopes)
			}
		})
	}
}

// TestHTTPErrors maps Azure's error answers on the pull request call.
func TestHTTPErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		code       fb.Code
		retryAfter int
	}{
		{"401", 401, nil, ``, fb.ETokenRejected, 0},
		{"401 anonymous", 401, nil, `{"message":"TF400813: The user '00000000-0000-0000-0000-000000000000' is not authorized to access this resource.","typeKey":"UnauthorizedRequestException"}`, fb.ETokenRejected, 0},
		{"401 scope", 401, nil, `{"$id":"1","innerException":null,"message":"TF400813: The user '6c2f1a70-58d4-4a5e-9b1e-0f3a2d4c5b6e' is not authorized to access this resource.","typeName":"Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server","typeKey":"UnauthorizedRequestException","errorCode":0,"eventId":3000}`, fb.EProviderDenied, 0},
		{"403", 403, nil, `{"message":"TF401027: You need the Git 'PullRequestContribute' permission to perform this action. Details: identity 'Bob', scope 'repository'.","typeKey":"GitNeedsPermissionException"}`, fb.EProviderDenied, 0},
		{"403 other", 403, nil, `{"message":"Access denied.","typeKey":"AccessCheckException"}`, fb.EProviderDenied, 0},
		{"404 repository", 404, nil, `{"$id":"1","innerException":null,"message":"TF401019: The Git repository with name or identifier X does not exist or you do not have permissions for the operation you are attempting.","typeName":"Microsoft.TeamFoundation.Git.Server.GitRepositoryNotFoundException, Microsoft.TeamFoundation.Git.Server","typeKey":"GitRepositoryNotFoundException","errorCode":0,"eventId":3000}`, fb.EProviderDenied, 0},
		{"400 TF401398", 400, nil, `{"message":"TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches","typeKey":"GitPullRequestCannotBeActivated"}`, fb.EProviderRejected, 0},
		{"400 other", 400, nil, `{"message":"TF401028: The reference refs/heads/x has already been updated by another client, so you cannot update it.","typeKey":"GitReferenceStaleException"}`, fb.EProviderRejected, 0},
		{"409 other", 409, nil, `{"message":"Something else conflicts.","typeKey":"GitConflictException"}`, fb.EProviderRejected, 0},
		{"429 seconds", 429, map[string]string{"Retry-After": "17", "X-RateLimit-Resource": "Core"}, `{"message":"TF400733: blocked"}`, fb.ERateLimited, 17},
		{"429 bare", 429, nil, ``, fb.ERateLimited, 60},
		{"503 Retry-After", 503, map[string]string{"Retry-After": "5"}, ``, fb.ERateLimited, 5},
		{"500", 500, nil, `{"message":"TF246017"}`, fb.EProviderUnavailable, 0},
		{"201 sign-in page", 201, map[string]string{"Content-Type": "text/html"}, `<html/>`, fb.ETokenRejected, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: srv.URL + "/contoso"})
			repo := fb.Repository{ExternalID: "r1", FullName: "Platform/api", DefaultBranch: "main", WebURL: srv.URL + "/contoso/Platform/_git/api"}
			_, err := p.CreatePullRequest(context.Background(), cred(goodPAT), repo,
				fb.NewPullRequest{SourceBranch: "feature", TargetBranch: "main", Title: "x"})
			e := fb.AsError(err)
			if e == nil || e.Code != tt.code || e.Message == "" {
				t.Fatalf("CreatePullRequest = %v, want %s", err, tt.code)
			}
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("retryAfter = %d, want %d", e.RetryAfter, tt.retryAfter)
			}
			// Only a scope the token lacks is a missing scope; a Git
			// permission is its user's and is named in the message.
			wantScopes := tt.name == "401 scope"
			if wantScopes != (len(e.MissingScopes) == 1 && e.MissingScopes[0] == "vso.code_write") {
				t.Errorf("missing scopes = %v, want [vso.code_write]: %v", e.MissingScopes, wantScopes)
			}
			if tt.name == "403" && !strings.Contains(e.Message, `"PullRequestContribute"`) {
				t.Errorf("message %q does not name the permission", e.Message)
			}
		})
	}
}

// TestScopeOrPermission tells a token whose scopes stop at Code (Read) (401
// TF400813) from a user without the Git permission (403 TF401027), on both
// writes, against the fake.
func TestScopeOrPermission(t *testing.T) {
	const noPermPAT = "no-permission-pat-3e8b1f"
	w := newWorld(t)
	w.fake.AddToken(noPermPAT, fakeazure.Token{Account: "erin@example.com", DisplayName: "Erin", NoGitPermission: true})
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	repo := apiRepo(t, p)
	ctx := context.Background()
	tests := []struct {
		name, pat  string
		pr         bool
		wantScopes bool
		wantText   string
	}{
		{"branch, scope", readOnlyPAT, false, true, "Code (Read & write)"},
		{"pull request, scope", readOnlyPAT, true, true, "Code (Read & write)"},
		{"branch, permission", noPermPAT, false, false, `"CreateBranch"`},
		{"pull request, permission", noPermPAT, true, false, `"PullRequestContribute"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.pr {
				_, err = p.CreatePullRequest(ctx, cred(tt.pat), repo,
					fb.NewPullRequest{SourceBranch: "feature/login", TargetBranch: "main", Title: "x"})
			} else {
				_, err = p.CreateBranch(ctx, cred(tt.pat), repo, "PROJ-20", "")
			}
			e := fb.AsError(err)
			if e == nil || e.Code != fb.EProviderDenied {
				t.Fatalf("err = %v, want %s", err, fb.EProviderDenied)
			}
			if tt.wantScopes != (len(e.MissingScopes) == 1 && e.MissingScopes[0] == "vso.code_write") {
				t.Errorf("missing scopes = %v, want vso.code_write: %v", e.MissingScopes, tt.wantScopes)
			}
			if !strings.Contains(e.Message, tt.wantText) {
				t.Errorf("message %q lacks %s", e.Message, tt.wantText)
			}
		})
	}
	if _, ok := w.api.Branch("PROJ-20"); ok {
		t.Error("a refused token created the branch")
	}
}

// TestSameBranchPullRequest is refused before any call: Azure compares ref
// names without case.
func TestSameBranchPullRequest(t *testing.T) {
	w := newWorld(t)
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	repo := apiRepo(t, p)
	w.fake.ResetCalls()
	_, err := p.CreatePullRequest(context.Background(), cred(goodPAT), repo,
		fb.NewPullRequest{SourceBranch: "Main", TargetBranch: "main", Title: "x"})
	if fb.ErrorCode(err) != fb.EProviderRejected {
		t.Errorf("CreatePullRequest = %v, want %s", err, fb.EProviderRejected)
	}
	if n := len(w.fake.Calls()); n != 0 {
		t.Errorf("%d calls made, want none", n)
	}
}

func TestPullRequestAlreadyExists(t *testing.T) {
	w := newWorld(t)
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	repo := apiRepo(t, p)
	in := fb.NewPullRequest{SourceBranch: "feature/login", TargetBranch: "main", Title: "PROJ-2 Login"}
	pr, err := p.CreatePullRequest(context.Background(), cred(goodPAT), repo, in)
	if err != nil {
		t.Fatalf("CreatePullRequest: %v", err)
	}
	if want := w.api.WebURL() + "/pullrequest/1"; pr.WebURL != want || pr.ID != "1" || pr.Number != 1 {
		t.Errorf("pull request %+v, want id 1 at %s", pr, want)
	}
	w.fake.ResetCalls()
	_, err = p.CreatePullRequest(context.Background(), cred(goodPAT), repo, in)
	e := fb.AsError(err)
	if e == nil || e.Code != fb.EAlreadyExists || e.Existing == nil ||
		e.Existing.ID != "1" || e.Existing.Number != 1 || e.Existing.WebURL != pr.WebURL {
		t.Fatalf("again = %v (existing %+v), want %s naming pull request 1", err, e.Existing, fb.EAlreadyExists)
	}
	calls := w.fake.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want the refused create and one lookup", len(calls))
	}
	q, _ := url.ParseQuery(calls[1].Query)
	if calls[1].Method != http.MethodGet || q.Get("searchCriteria.sourceRefName") != "refs/heads/feature/login" ||
		q.Get("searchCriteria.targetRefName") != "refs/heads/main" || q.Get("searchCriteria.status") != "active" {
		t.Errorf("lookup %s ?%s", calls[1].Method, calls[1].Query)
	}
}

func TestAPIPathAndFilter(t *testing.T) {
	tests := []struct {
		name    string
		apiPath string
		filter  string
		want    []string
		code    fb.Code
	}{
		{"whole organisation", "", "", []string{"Platform/api", "Platform/web", "Platform/infra", "Mobile/ios", "Mobile/android"}, ""},
		{"one project", "/Mobile/_apis/git/repositories", "", []string{"Mobile/ios", "Mobile/android"}, ""},
		{"path without slash", "Mobile/_apis/git/repositories", "", []string{"Mobile/ios", "Mobile/android"}, ""},
		{"filter on the value array", "", "[?defaultBranch=='refs/heads/main']", []string{"Platform/api", "Platform/web", "Mobile/ios"}, ""},
		{"path and filter", "/Platform/_apis/git/repositories", "[?starts_with(name, 'i')]", []string{"Platform/infra"}, ""},
		{"filter keeping parts", "", "[].name", nil, fb.EInvalid},
		{"unknown project", "/Nope/_apis/git/repositories", "", nil, fb.EProviderDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL(), APIPath: tt.apiPath, RepositoryFilter: tt.filter})
			repos, err := p.Repositories(context.Background(), cred(goodPAT))
			if fb.ErrorCode(err) != tt.code {
				t.Fatalf("Repositories = %v, want code %q", err, tt.code)
			}
			var got []string
			for _, r := range repos {
				got = append(got, r.FullName)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("repositories %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRepositoryMapping(t *testing.T) {
	w := newWorld(t)
	w.fake.AddRepo("Platform", "empty", "")
	w.fake.AddRepo("Platform", "old", "main").SetDisabled(true)
	p := newProvider(t, fb.Integration{ID: "int-7", Kind: fb.KindVSTS, BaseURL: w.fake.URL()})
	repos, err := p.Repositories(context.Background(), cred(goodPAT))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]fb.Repository{}
	for _, r := range repos {
		byName[r.FullName] = r
	}
	if _, ok := byName["Platform/old"]; ok {
		t.Error("disabled repository listed")
	}
	want := fb.Repository{IntegrationID: "int-7", ExternalID: w.api.ID, Name: "api", FullName: "Platform/api",
		DefaultBranch: "main", WebURL: w.api.WebURL(), CanCreateBranch: true, CanCreatePullRequest: true}
	if got := byName["Platform/api"]; got != want {
		t.Errorf("api = %+v, want %+v", got, want)
	}
	if e := byName["Platform/empty"]; e.DefaultBranch != "" || e.CanCreateBranch || e.CanCreatePullRequest || e.ExternalID == "" {
		t.Errorf("empty repository = %+v, want listed without default branch and unable to create", e)
	}
	if len(repos) != 6 {
		t.Errorf("%d repositories, want 6", len(repos))
	}
}

func TestBranchesPaged(t *testing.T) {
	w := newWorld(t)
	for i := range 7 {
		w.api.AddBranch(fmt.Sprintf("topic/%d", i))
	}
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	repo := apiRepo(t, p)
	w.fake.ResetCalls()
	branches, err := p.Branches(context.Background(), cred(goodPAT), repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(branches) != 9 {
		t.Errorf("%d branches, want 9", len(branches))
	}
	for _, b := range branches {
		sha, ok := w.api.Branch(b.Name)
		if !ok || sha != b.SHA || b.WebURL != w.api.WebURL()+"?version=GB"+url.QueryEscape(b.Name) {
			t.Errorf("branch %+v does not match the fake (%s)", b, sha)
		}
	}
	calls := w.fake.Calls()
	if len(calls) != 5 { // 9 refs, two a page
		t.Errorf("%d calls, want 5 pages", len(calls))
	}
	for _, c := range calls {
		if want := "/contoso/Platform/_apis/git/repositories/" + w.api.ID + "/refs"; c.Path != want {
			t.Errorf("path %s, want %s", c.Path, want)
		}
	}
}

// TestCreateBranchExactBase checks the base's sha is that of the exact
// branch, not of another matching the prefix filter.
func TestCreateBranchExactBase(t *testing.T) {
	w := newWorld(t)
	w.api.AddBranch("main-old")
	w.api.AddBranch("mainline")
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	repo := apiRepo(t, p)
	b, err := p.CreateBranch(context.Background(), cred(goodPAT), repo, "PROJ-3 bad name", "")
	if fb.ErrorCode(err) != fb.EProviderRejected {
		t.Errorf("invalid name: %+v, %v, want %s", b, err, fb.EProviderRejected)
	}
	b, err = p.CreateBranch(context.Background(), cred(goodPAT), repo, "PROJ-3", "")
	main, _ := w.api.Branch("main")
	if err != nil || b.SHA != main {
		t.Errorf("CreateBranch = %+v, %v; want at main %s", b, err, main)
	}
	_, err = p.CreateBranch(context.Background(), cred(goodPAT), repo, "proj-3", "")
	if fb.ErrorCode(err) != fb.EAlreadyExists {
		t.Errorf("case-different name: %v, want %s", err, fb.EAlreadyExists)
	}
}

// TestNoSecretInErrors makes every failure path and checks no message or
// cause carries the token.
func TestNoSecretInErrors(t *testing.T) {
	const secret = "s3cr3t-pat-value-91c2"
	w := newWorld(t)
	w.fake.AddToken(secret, fakeazure.Token{Account: "dave@example.com", ReadOnly: true})
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	repo := apiRepo(t, p)
	ctx := context.Background()
	var errs []error
	collect := func(_ any, err error) { errs = append(errs, err) }
	collect(p.CreateBranch(ctx, cred(secret), repo, "PROJ-4", ""))
	collect(p.CreatePullRequest(ctx, cred(secret), repo, fb.NewPullRequest{SourceBranch: "feature/login", TargetBranch: "main", Title: "x"}))
	w.fake.SetRateLimited(true)
	collect(p.Validate(ctx, cred(secret)))
	w.fake.SetRateLimited(false)
	w.fake.SetFailing(true)
	collect(p.Repositories(ctx, cred(secret)))
	w.fake.SetFailing(false)
	w.fake.Close()
	collect(p.Branches(ctx, cred(secret), repo))
	unknown := secret + "-unknown"
	collect(p.Validate(ctx, cred(unknown)))
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		text := err.Error() + " " + fb.ErrorMessage(err) + fmt.Sprintf(" %+v %#v", err, err)
		if strings.Contains(text, secret) {
			t.Errorf("case %d: error carries the token: %s", i, text)
		}
	}
}

// TestNoOtherHost checks a redirect to another host is refused before the
// credential reaches it.
func TestNoOtherHost(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// 127.0.0.1 and localhost are different hosts to the client.
		u := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
		http.Redirect(w, r, u+r.URL.Path, http.StatusFound)
	}))
	defer srv.Close()
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: srv.URL + "/contoso"})
	_, err := p.Validate(context.Background(), cred(goodPAT))
	if fb.ErrorCode(err) != fb.EProviderUnavailable || !errors.Is(err, provider.ErrForeignHost) {
		t.Errorf("Validate = %v, want %s refusing the other host", err, fb.EProviderUnavailable)
	}
	if leaked.Load() != 0 {
		t.Errorf("the other host received %d requests", leaked.Load())
	}
}

// BenchmarkCreateBranch: one branch creation costs 2 calls (the base's ref,
// then the ref update).
func BenchmarkCreateBranch(b *testing.B) {
	w := newWorld(b)
	p := newProvider(b, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	repo := fb.Repository{ExternalID: w.api.ID, Name: "api", FullName: "Platform/api", DefaultBranch: "main", WebURL: w.api.WebURL()}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := p.CreateBranch(ctx, cred(goodPAT), repo, fmt.Sprintf("PROJ-%d", i), ""); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(len(w.fake.Calls()))/float64(i), "calls/op")
}

// BenchmarkCreatePullRequest: opening a pull request costs 1 call.
func BenchmarkCreatePullRequest(b *testing.B) {
	w := newWorld(b)
	p := newProvider(b, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	repo := fb.Repository{ExternalID: w.api.ID, Name: "api", FullName: "Platform/api", DefaultBranch: "main", WebURL: w.api.WebURL()}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		src := fmt.Sprintf("feature/%d", i)
		b.StopTimer()
		w.api.AddBranch(src)
		b.StartTimer()
		if _, err := p.CreatePullRequest(ctx, cred(goodPAT), repo, fb.NewPullRequest{SourceBranch: src, TargetBranch: "main", Title: "x"}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(len(w.fake.Calls()))/float64(i), "calls/op")
}

// TestValidateUserID: connectionData's authenticatedUser.id is the
// account's, the same for each of its PATs, another account's for another.
func TestValidateUserID(t *testing.T) {
	w := newWorld(t)
	second := "second-pat-of-alice-0000000000000000000000000000000"
	w.fake.AddToken(second, fakeazure.Token{Account: "Alice@example.com", DisplayName: "Alice"})
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	ids := map[string]string{}
	for _, pat := range []string{goodPAT, second, readOnlyPAT} {
		info, err := p.Validate(context.Background(), cred(pat))
		if err != nil || len(info.UserID) != 36 {
			t.Fatalf("Validate = %+v, %v; want a GUID user id", info, err)
		}
		ids[pat] = info.UserID
	}
	if ids[goodPAT] != ids[second] || ids[goodPAT] == ids[readOnlyPAT] {
		t.Errorf("user ids %v: want alice's two PATs alike and bob's another", ids)
	}
}
