package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/gitlab/fakegitlab"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
)

var ctx = context.Background()

// Tokens of the test fixture; distinctive so a leak into a message is found.
var (
	good    = fb.Credential{Token: "glpat-GOOD-secret-0001"}
	ro      = fb.Credential{Token: "glpat-READONLY-secret-02"}
	expired = fb.Credential{Token: "glpat-EXPIRED-secret-003"}
	revoked = fb.Credential{Token: "glpat-REVOKED-secret-004"}
	legacy  = fb.Credential{Token: "glpat-LEGACY-secret-0005"}
	unknown = fb.Credential{Token: "glpat-UNKNOWN-secret-006"}
)

var allTokens = []fb.Credential{good, ro, expired, revoked, legacy, unknown}

const extraProjects = 140 // with the app, more than one page of 100

type fixture struct {
	fake *fakegitlab.Server
	app  *fakegitlab.Project
	p    provider.Provider
}

func newFixture(t testing.TB, kind fb.Kind) *fixture {
	t.Helper()
	fake := fakegitlab.New()
	t.Cleanup(fake.Close)
	fake.AddToken(good.Token, fakegitlab.Token{Username: "alice"})
	fake.AddToken(ro.Token, fakegitlab.Token{Username: "bob", ReadOnly: true})
	fake.AddToken(expired.Token, fakegitlab.Token{Username: "carol", Expired: true})
	fake.AddToken(revoked.Token, fakegitlab.Token{Username: "dave", Revoked: true})
	fake.AddToken(legacy.Token, fakegitlab.Token{Username: "erin", Legacy: true})
	for i := range extraProjects {
		fake.AddProject(fmt.Sprintf("acme/proj-%03d", i), "main")
	}
	app := fake.AddProject("acme/sub/app", "main")
	app.AddBranch("feature/login")
	return &fixture{fake: fake, app: app, p: newProvider(t, fb.Integration{Kind: kind, BaseURL: fake.URL()}, fake.Client())}
}

func newProvider(t testing.TB, in fb.Integration, hc *http.Client) provider.Provider {
	t.Helper()
	p, err := New(in, provider.Options{HTTPClient: hc})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// appRepo is the app project as discovery returns it.
func (f *fixture) appRepo() fb.Repository {
	return fb.Repository{ExternalID: fmt.Sprint(f.app.ID), Name: "app", FullName: "acme/sub/app",
		DefaultBranch: "main", WebURL: f.fake.URL() + "/acme/sub/app"}
}

func TestContract(t *testing.T) {
	for _, kind := range []fb.Kind{fb.KindGitLab, fb.KindGitLabSelfManaged} {
		t.Run(string(kind), func(t *testing.T) {
			providertest.Run(t, func(t *testing.T) *providertest.Harness {
				f := newFixture(t, kind)
				return &providertest.Harness{
					Provider: f.p, Good: good, ReadOnly: ro, Unknown: unknown, Expired: expired,
					GoodLogin: "alice", Repositories: extraProjects + 1,
					RepoFullName: "acme/sub/app", FeatureBranch: "feature/login",
					RateLimit: f.fake.SetRateLimited, Fail: f.fake.SetFailing,
				}
			})
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		in   fb.Integration
		want fb.Code // "" for success
	}{
		{"gitlab.com", fb.Integration{Kind: fb.KindGitLab}, ""},
		{"self-managed", fb.Integration{Kind: fb.KindGitLabSelfManaged, BaseURL: "https://git.example.com/"}, ""},
		{"self-managed without address", fb.Integration{Kind: fb.KindGitLabSelfManaged}, fb.EInvalid},
		{"not a URL", fb.Integration{Kind: fb.KindGitLabSelfManaged, BaseURL: "git.example.com"}, fb.EInvalid},
		{"other kind", fb.Integration{Kind: fb.KindGitHub}, fb.EInvalid},
		{"API path with host", fb.Integration{Kind: fb.KindGitLab, APIPath: "https://evil.example/projects"}, fb.EInvalid},
		{"bad filter", fb.Integration{Kind: fb.KindGitLab, RepositoryFilter: "[?"}, fb.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.in, provider.Options{})
			if got := fb.ErrorCode(err); got != tt.want {
				t.Errorf("New = %v, want code %q", err, tt.want)
			}
		})
	}
}

// TestRequestsStayOnHost checks the API address of each kind: requests go to
// the integration's host only, never to gitlab.com when a BaseURL is set.
func TestRequestsStayOnHost(t *testing.T) {
	var hosts []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		hosts = append(hosts, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
		return nil, fmt.Errorf("offline")
	})
	for _, tt := range []struct {
		in   fb.Integration
		want string
	}{
		{fb.Integration{Kind: fb.KindGitLab}, "https://gitlab.com/api/v4/"},
		{fb.Integration{Kind: fb.KindGitLab, BaseURL: "https://gl.example.com"}, "https://gl.example.com/api/v4/"},
		{fb.Integration{Kind: fb.KindGitLabSelfManaged, BaseURL: "https://example.com/gitlab/api/v4"}, "https://example.com/gitlab/api/v4/"},
	} {
		hosts = nil
		p := newProvider(t, tt.in, &http.Client{Transport: rt})
		_, err := p.Validate(ctx, good)
		if fb.ErrorCode(err) != fb.EProviderUnavailable {
			t.Errorf("Validate offline = %v, want %s", err, fb.EProviderUnavailable)
		}
		if len(hosts) == 0 {
			t.Errorf("%+v: no request made", tt.in)
		}
		for _, h := range hosts {
			if !strings.HasPrefix(h, tt.want) {
				t.Errorf("%+v: request to %s, want below %s", tt.in, h, tt.want)
			}
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRedirectToAnotherHost checks that a redirect cannot carry the token away.
func TestRedirectToAnotherHost(t *testing.T) {
	var stolen atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stolen.Add(1) }))
	defer other.Close()
	gitlab := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer gitlab.Close()
	p := newProvider(t, fb.Integration{Kind: fb.KindGitLabSelfManaged, BaseURL: gitlab.URL}, gitlab.Client())
	_, err := p.Validate(ctx, good)
	if fb.ErrorCode(err) != fb.EProviderUnavailable || stolen.Load() != 0 {
		t.Errorf("Validate = %v; other host got %d requests, want %s and none", err, stolen.Load(), fb.EProviderUnavailable)
	}
}

func TestValidate(t *testing.T) {
	f := newFixture(t, fb.KindGitLabSelfManaged)
	y, m, d := time.Now().AddDate(1, 0, 0).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	scoped := fb.Credential{Token: "glpat-SCOPED-secret-007"}
	f.fake.AddToken(scoped.Token, fakegitlab.Token{Username: "frank", Scopes: []string{"api", "read_user"}, ExpiresAt: &day})

	info, err := f.p.Validate(ctx, scoped)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if info.Login != "frank" || strings.Join(info.Scopes, ",") != "api,read_user" ||
		info.ExpiresAt == nil || !info.ExpiresAt.Equal(day) {
		t.Errorf("info = %+v (expires %v), want frank, api+read_user, expiring %v", info, info.ExpiresAt, day)
	}

	// GitLab's numeric user id: one per account, whichever of its tokens.
	frankID := info.UserID
	if _, err := strconv.Atoi(frankID); err != nil {
		t.Errorf("user id %q, want GitLab's numeric id", frankID)
	}
	second := fb.Credential{Token: "glpat-FRANK-second-008"}
	f.fake.AddToken(second.Token, fakegitlab.Token{Username: "frank", Scopes: []string{"api"}})
	if info, err := f.p.Validate(ctx, second); err != nil || info.UserID != frankID {
		t.Errorf("Validate(frank's second token) = %+v, %v; want user id %s", info, err, frankID)
	}

	f.fake.ResetCalls()
	info, err = f.p.Validate(ctx, legacy)
	if err != nil {
		t.Fatalf("Validate(legacy): %v", err)
	}
	if info.UserID == "" || info.UserID == frankID {
		t.Errorf("erin's user id %q, want one of her own", info.UserID)
	}
	if info.Login != "erin" || info.Scopes != nil || info.ExpiresAt != nil {
		t.Errorf("legacy info = %+v, want login erin, scopes and expiry unknown", info)
	}
	if got := paths(f.fake.Calls()); got != "GET /api/v4/personal_access_tokens/self, GET /api/v4/user" {
		t.Errorf("legacy calls = %s", got)
	}

	notGitLab := httptest.NewServer(http.NotFoundHandler())
	defer notGitLab.Close()
	p := newProvider(t, fb.Integration{Kind: fb.KindGitLabSelfManaged, BaseURL: notGitLab.URL}, notGitLab.Client())
	if _, err := p.Validate(ctx, good); fb.ErrorCode(err) != fb.EProviderRejected || !strings.Contains(fb.ErrorMessage(err), "address") {
		t.Errorf("Validate against a server that is not GitLab = %v, want %s about the address", err, fb.EProviderRejected)
	}

	for name, cred := range map[string]fb.Credential{"expired": expired, "revoked": revoked, "unknown": unknown, "empty": {}} {
		if _, err := f.p.Validate(ctx, cred); fb.ErrorCode(err) != fb.ETokenRejected {
			t.Errorf("Validate(%s) = %v, want %s", name, err, fb.ETokenRejected)
		}
	}
}

func paths(calls []fakegitlab.Call) string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Method+" "+c.RawPath)
	}
	return strings.Join(out, ", ")
}

// TestErrorMapping feeds GitLab's error answers to each write and checks the
// forgebridge error, and that the token appears in no error text.
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		pr         bool // create a merge request instead of a branch
		want       fb.Code
		wantInMsg  string
		wantScopes string
		wantRetry  int
	}{
		{name: "unauthorized", status: 401, body: `{"message":"401 Unauthorized"}`, want: fb.ETokenRejected},
		{name: "expired", status: 401, body: `{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}`,
			want: fb.ETokenRejected, wantInMsg: "expired"},
		{name: "revoked", status: 401, body: `{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`,
			want: fb.ETokenRejected, wantInMsg: "revoked"},
		{name: "insufficient scope", status: 403, body: `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api"}`,
			want: fb.EProviderDenied, wantScopes: "api", wantInMsg: `"api"`},
		{name: "role or protection", status: 403, body: `{"message":"403 Forbidden"}`, want: fb.EProviderDenied},
		{name: "unknown project", status: 404, body: `{"message":"404 Project Not Found"}`, want: fb.EProviderDenied, wantInMsg: "cannot see"},
		{name: "branch exists", status: 400, body: `{"message":"Branch already exists"}`, want: fb.EAlreadyExists},
		{name: "unknown base", status: 400, body: `{"message":"Invalid reference name: nope"}`, want: fb.EProviderRejected, wantInMsg: `"main" does not exist`},
		{name: "invalid name", status: 400, body: `{"message":"Branch name is invalid"}`, want: fb.EProviderRejected},
		{name: "merge request exists", status: 409, pr: true,
			body: `{"message":["Another open merge request already exists for this source branch: !7"]}`, want: fb.EAlreadyExists},
		{name: "same branches", status: 422, pr: true, body: `{"message":["You can't use same project/branch for source and target"]}`,
			want: fb.EProviderRejected, wantInMsg: "same project/branch"},
		{name: "unknown source", status: 400, pr: true, body: `{"message":{"source_branch":["does not exist"]}}`,
			want: fb.EProviderRejected, wantInMsg: "source branch does not exist"},
		{name: "rate limited, Retry-After", status: 429, header: map[string]string{"Retry-After": "42"}, body: "Retry later\n",
			want: fb.ERateLimited, wantRetry: 42},
		{name: "rate limited, reset time", status: 429, body: "Retry later\n",
			header: map[string]string{"RateLimit-Reset": fmt.Sprint(time.Now().Unix() + 30)}, want: fb.ERateLimited, wantRetry: 30},
		{name: "rate limited, no hint", status: 429, want: fb.ERateLimited, wantRetry: defaultRetryAfter},
		{name: "server error", status: 500, body: `{"message":"500 Internal Server Error"}`, want: fb.EProviderUnavailable},
		{name: "bad gateway", status: 502, body: `<html>502</html>`, want: fb.EProviderUnavailable},
		{name: "token echoed back", status: 400, body: `{"message":"bad ` + good.Token + `"}`, want: fb.EProviderRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var posts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost { // the look-up of what exists
					w.WriteHeader(http.StatusNotFound)
					return
				}
				posts.Add(1)
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			p := newProvider(t, fb.Integration{Kind: fb.KindGitLabSelfManaged, BaseURL: srv.URL}, srv.Client())
			repo := fb.Repository{ExternalID: "12", FullName: "acme/app", DefaultBranch: "main", WebURL: srv.URL + "/acme/app"}
			var err error
			if tt.pr {
				_, err = p.CreatePullRequest(ctx, good, repo, fb.NewPullRequest{SourceBranch: "f", TargetBranch: "main", Title: "t"})
			} else {
				_, err = p.CreateBranch(ctx, good, repo, "PROJ-1", "")
			}
			e := fb.AsError(err)
			if e == nil || e.Code != tt.want {
				t.Fatalf("got %v, want code %s", err, tt.want)
			}
			if e.Message == "" || !strings.Contains(e.Message, tt.wantInMsg) {
				t.Errorf("message %q, want it to mention %q", e.Message, tt.wantInMsg)
			}
			if got := strings.Join(e.MissingScopes, ","); got != tt.wantScopes {
				t.Errorf("missing scopes %q, want %q", got, tt.wantScopes)
			}
			if tt.wantRetry != 0 && (e.RetryAfter < tt.wantRetry-1 || e.RetryAfter > tt.wantRetry) {
				t.Errorf("retryAfter = %d, want %d", e.RetryAfter, tt.wantRetry)
			}
			if strings.Contains(err.Error(), good.Token) || strings.Contains(e.Message, good.Token) {
				t.Errorf("error contains the token: %v", err)
			}
			if n := posts.Load(); n != 1 {
				t.Errorf("%d POSTs, want exactly 1 (no automatic retry)", n)
			}
		})
	}
}

func TestAlreadyExistsNamesTheExisting(t *testing.T) {
	f := newFixture(t, fb.KindGitLab)
	repo := f.appRepo()
	if _, err := f.p.CreateBranch(ctx, good, repo, "feature/x", ""); err != nil {
		t.Fatalf("CreateBranch: %v", err)
	}
	_, err := f.p.CreateBranch(ctx, good, repo, "feature/x", "")
	if e := fb.AsError(err); e == nil || e.Code != fb.EAlreadyExists || e.Existing == nil ||
		e.Existing.Name != "feature/x" || e.Existing.WebURL != repo.WebURL+"/-/tree/feature/x" {
		t.Errorf("CreateBranch again = %v (existing %+v)", err, e.Existing)
	}
	in := fb.NewPullRequest{SourceBranch: "feature/login", TargetBranch: "main", Title: "PROJ-1"}
	pr, err := f.p.CreatePullRequest(ctx, good, repo, in)
	if err != nil {
		t.Fatalf("CreatePullRequest: %v", err)
	}
	_, err = f.p.CreatePullRequest(ctx, good, repo, in)
	want := fb.Existing{ID: pr.ID, Number: pr.Number, WebURL: pr.WebURL}
	if e := fb.AsError(err); e == nil || e.Code != fb.EAlreadyExists || e.Existing == nil || *e.Existing != want {
		t.Errorf("CreatePullRequest again = %v (existing %+v), want %+v", err, e.Existing, want)
	}
}

func TestURLEncoding(t *testing.T) {
	f := newFixture(t, fb.KindGitLab)
	// Addressed by path, as a repository known only by name is.
	repo := fb.Repository{FullName: "acme/sub/app", DefaultBranch: "main", WebURL: f.fake.URL() + "/acme/sub/app"}
	f.fake.ResetCalls()
	b, err := f.p.CreateBranch(ctx, good, repo, "feature/x.y", "feature/login")
	if err != nil {
		t.Fatalf("CreateBranch: %v", err)
	}
	if sha, _ := f.app.BranchSHA("feature/login"); b.Name != "feature/x.y" || b.SHA != sha {
		t.Errorf("created %+v, want feature/x.y at %s", b, sha)
	}
	_, err = f.p.CreateBranch(ctx, good, repo, "feature/x.y", "")
	if fb.ErrorCode(err) != fb.EAlreadyExists {
		t.Fatalf("CreateBranch again = %v", err)
	}
	if _, err := f.p.Branches(ctx, good, repo); err != nil {
		t.Fatalf("Branches: %v", err)
	}
	calls := f.fake.Calls()
	want := []string{
		"POST /api/v4/projects/acme%2Fsub%2Fapp/repository/branches",
		"POST /api/v4/projects/acme%2Fsub%2Fapp/repository/branches",
		"GET /api/v4/projects/acme%2Fsub%2Fapp/repository/branches/feature%2Fx%2Ey",
		"GET /api/v4/projects/acme%2Fsub%2Fapp/repository/branches",
	}
	if got := paths(calls); got != strings.Join(want, ", ") {
		t.Errorf("raw paths:\n got %s\nwant %s", got, strings.Join(want, ", "))
	}
	if body := string(calls[0].Body); !strings.Contains(body, `"branch":"feature/x.y"`) || !strings.Contains(body, `"ref":"feature/login"`) {
		t.Errorf("create body = %s", body)
	}
}

func TestAPIPathAndFilter(t *testing.T) {
	f := newFixture(t, fb.KindGitLabSelfManaged)
	f.fake.AddProject("other/keep-me", "main")
	in := fb.Integration{Kind: fb.KindGitLabSelfManaged, BaseURL: f.fake.URL(),
		APIPath:          "/groups/acme/projects?include_subgroups=true",
		RepositoryFilter: "[?starts_with(path_with_namespace, 'acme/sub/') || ends_with(path, '7')]"}
	p := newProvider(t, in, f.fake.Client())
	f.fake.ResetCalls()
	repos, err := p.Repositories(ctx, good)
	if err != nil {
		t.Fatalf("Repositories: %v", err)
	}
	var names []string
	for _, r := range repos {
		names = append(names, r.FullName)
	}
	// proj-007, -017, … -137 (14) and acme/sub/app; never other/.
	if len(repos) != 15 || !strings.Contains(strings.Join(names, " "), "acme/sub/app") {
		t.Errorf("repositories = %v, want 14 proj-…7 and acme/sub/app", names)
	}
	calls := f.fake.Calls()
	if len(calls) != 2 {
		t.Errorf("%d calls, want 2 pages of 100", len(calls))
	}
	for _, c := range calls {
		if c.RawPath != "/api/v4/groups/acme/projects" || !strings.Contains(c.Query, "include_subgroups=true") ||
			!strings.Contains(c.Query, "per_page=100") || c.Token != good.Token {
			t.Errorf("call %s %s?%s by %q", c.Method, c.RawPath, c.Query, c.Token)
		}
	}

	bad := newProvider(t, fb.Integration{Kind: fb.KindGitLab, BaseURL: f.fake.URL(), RepositoryFilter: "[].id"}, f.fake.Client())
	if _, err := bad.Repositories(ctx, good); fb.ErrorCode(err) != fb.EInvalid {
		t.Errorf("filter keeping ids only = %v, want %s", err, fb.EInvalid)
	}
}

func TestDiscoveryFlags(t *testing.T) {
	f := newFixture(t, fb.KindGitLab)
	f.fake.AddProject("acme/empty", "")
	f.fake.AddProject("acme/old", "main").SetArchived(true)
	f.fake.AddProject("acme/no-mrs", "main").SetMergeRequestsEnabled(false)
	f.app.SetAccess("alice", fakegitlab.Reporter) // below Developer: not listed
	repos, err := f.p.Repositories(ctx, good)
	if err != nil {
		t.Fatalf("Repositories: %v", err)
	}
	byName := map[string]fb.Repository{}
	for _, r := range repos {
		byName[r.FullName] = r
	}
	if _, ok := byName["acme/sub/app"]; ok {
		t.Error("a project where the user is Reporter was listed")
	}
	if r := byName["acme/empty"]; r.CanCreateBranch || r.DefaultBranch != "" {
		t.Errorf("empty project = %+v, want no default branch and no branch creation", r)
	}
	if r := byName["acme/old"]; r.CanCreateBranch || r.CanCreatePullRequest {
		t.Errorf("archived project = %+v, want read-only", r)
	}
	if r := byName["acme/no-mrs"]; !r.CanCreateBranch || r.CanCreatePullRequest {
		t.Errorf("project without merge requests = %+v, want branches only", r)
	}
	if r := byName["acme/proj-000"]; !r.CanCreateBranch || !r.CanCreatePullRequest || r.ExternalID == "" {
		t.Errorf("project = %+v, want writable with an id", r)
	}

	f.fake.ResetCalls()
	_, err = f.p.CreateBranch(ctx, good, byName["acme/empty"], "PROJ-1", "")
	if fb.ErrorCode(err) != fb.EProviderRejected || len(f.fake.Calls()) != 0 {
		t.Errorf("CreateBranch on an empty project = %v after %d calls, want %s and no call",
			err, len(f.fake.Calls()), fb.EProviderRejected)
	}
	_, err = f.p.CreateBranch(ctx, good, f.appRepo(), "PROJ-1", "")
	if e := fb.AsError(err); e == nil || e.Code != fb.EProviderDenied || e.MissingScopes != nil {
		t.Errorf("CreateBranch as Reporter = %v, want %s without missing scopes", err, fb.EProviderDenied)
	}
}

func TestDraftMergeRequest(t *testing.T) {
	f := newFixture(t, fb.KindGitLab)
	pr, err := f.p.CreatePullRequest(ctx, good, f.appRepo(),
		fb.NewPullRequest{SourceBranch: "feature/login", TargetBranch: "main", Title: "PROJ-9 Work", Description: "d", Draft: true})
	if err != nil {
		t.Fatalf("CreatePullRequest: %v", err)
	}
	mrs := f.app.MergeRequests()
	if len(mrs) != 1 || mrs[0].Title != "Draft: PROJ-9 Work" || !mrs[0].Draft || mrs[0].Description != "d" {
		t.Fatalf("merge requests = %+v, want one draft titled \"Draft: PROJ-9 Work\"", mrs)
	}
	if pr.Title != "PROJ-9 Work" || pr.ID != fmt.Sprint(mrs[0].ID) || pr.Number != mrs[0].IID ||
		pr.WebURL != f.fake.URL()+"/acme/sub/app/-/merge_requests/1" {
		t.Errorf("pull request = %+v", pr)
	}

	// A title that already marks a draft is not marked twice.
	f.app.AddBranch("feature/two")
	pr, err = f.p.CreatePullRequest(ctx, good, f.appRepo(),
		fb.NewPullRequest{SourceBranch: "feature/two", TargetBranch: "main", Title: "Draft: PROJ-10", Draft: true})
	if err != nil {
		t.Fatalf("CreatePullRequest: %v", err)
	}
	if mrs := f.app.MergeRequests(); pr.Title != "Draft: PROJ-10" || mrs[1].Title != "Draft: PROJ-10" {
		t.Errorf("title %q on GitLab %q, want \"Draft: PROJ-10\" on both", pr.Title, mrs[1].Title)
	}
}

// TestNoAutomaticRetryOfWrites checks that a failing or throttled GitLab sees
// each create once, while reads are retried only by the shared HTTP client.
func TestNoAutomaticRetryOfWrites(t *testing.T) {
	f := newFixture(t, fb.KindGitLab)
	repo := f.appRepo()
	pr := fb.NewPullRequest{SourceBranch: "feature/login", TargetBranch: "main", Title: "t"}
	for _, tt := range []struct {
		name  string
		set   func()
		reset func()
		want  fb.Code
	}{
		{"500", func() { f.fake.SetFailing(true) }, func() { f.fake.SetFailing(false) }, fb.EProviderUnavailable},
		{"502", func() { f.fake.SetFailingStatus(502) }, func() { f.fake.SetFailing(false) }, fb.EProviderUnavailable},
		{"429", func() { f.fake.SetRateLimited(true) }, func() { f.fake.SetRateLimited(false) }, fb.ERateLimited},
	} {
		tt.set()
		f.fake.ResetCalls()
		_, err1 := f.p.CreateBranch(ctx, good, repo, "PROJ-1", "")
		_, err2 := f.p.CreatePullRequest(ctx, good, repo, pr)
		calls := f.fake.Calls()
		tt.reset()
		if fb.ErrorCode(err1) != tt.want || fb.ErrorCode(err2) != tt.want {
			t.Errorf("%s: errors %v / %v, want %s", tt.name, err1, err2, tt.want)
		}
		if len(calls) != 2 {
			t.Errorf("%s: GitLab saw %d requests (%s), want one per create", tt.name, len(calls), paths(calls))
		}
	}
}

// TestCallCounts pins how many GitLab requests each operation costs.
func TestCallCounts(t *testing.T) {
	f := newFixture(t, fb.KindGitLab)
	repo := f.appRepo()
	pr := fb.NewPullRequest{SourceBranch: "feature/login", TargetBranch: "main", Title: "t"}
	tests := []struct {
		name string
		run  func() error
		want int
	}{
		{"validate", func() error { _, err := f.p.Validate(ctx, good); return err }, 2},
		{"create branch", func() error { _, err := f.p.CreateBranch(ctx, good, repo, "PROJ-1", ""); return err }, 1},
		{"create branch that exists", func() error { _, err := f.p.CreateBranch(ctx, good, repo, "PROJ-1", ""); return nil2(err) }, 2},
		{"create merge request", func() error { _, err := f.p.CreatePullRequest(ctx, good, repo, pr); return err }, 1},
		{"create merge request that exists", func() error { _, err := f.p.CreatePullRequest(ctx, good, repo, pr); return nil2(err) }, 2},
		{"repositories (141, 2 pages)", func() error { _, err := f.p.Repositories(ctx, good); return err }, 2},
		{"branches", func() error { _, err := f.p.Branches(ctx, good, repo); return err }, 1},
		{"pull requests", func() error {
			return f.p.(provider.PullRequestLister).PullRequests(ctx, good, repo, time.Time{}, func(fb.PullRequest) error { return nil })
		}, 1},
		{"git remote", func() error { _, err := f.p.(provider.Mirrorer).GitRemote(ctx, good, repo); return err }, 0},
	}
	for _, tt := range tests {
		f.fake.ResetCalls()
		if err := tt.run(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if got := len(f.fake.Calls()); got != tt.want {
			t.Errorf("%s: %d calls (%s), want %d", tt.name, got, paths(f.fake.Calls()), tt.want)
		}
	}
}

// nil2 accepts the EAlreadyExists an operation is expected to fail with.
func nil2(err error) error {
	if fb.ErrorCode(err) == fb.EAlreadyExists {
		return nil
	}
	return fmt.Errorf("want %s, got %w", fb.EAlreadyExists, err)
}

func TestTokenPerCall(t *testing.T) {
	f := newFixture(t, fb.KindGitLab)
	f.fake.ResetCalls()
	for _, cred := range allTokens {
		f.p.Validate(ctx, cred)
		f.p.CreateBranch(ctx, cred, f.appRepo(), "PROJ-x", "")
	}
	calls := f.fake.Calls()
	if len(calls) < 2*len(allTokens) {
		t.Fatalf("%d calls, want at least 2 per token", len(calls))
	}
	i := 0
	for _, cred := range allTokens {
		for ; i < len(calls) && calls[i].Token == cred.Token; i++ {
		}
	}
	if i != len(calls) {
		t.Errorf("call %d (%s %s) made with another token than its operation's", i, calls[i].Method, calls[i].RawPath)
	}
}

func TestNoTokenInErrors(t *testing.T) {
	f := newFixture(t, fb.KindGitLab)
	repo := f.appRepo()
	check := func(what string, cred fb.Credential, err error) {
		t.Helper()
		for _, c := range allTokens {
			if err != nil && (strings.Contains(err.Error(), c.Token) || strings.Contains(fb.ErrorMessage(err), c.Token)) {
				t.Errorf("%s with %s: error contains a token: %v", what, cred, err)
			}
		}
	}
	for _, mode := range []func(bool){func(bool) {}, f.fake.SetFailing, f.fake.SetRateLimited} {
		mode(true)
		for _, cred := range allTokens {
			_, err := f.p.Validate(ctx, cred)
			check("Validate", cred, err)
			_, err = f.p.CreateBranch(ctx, cred, repo, "PROJ-1", "no-such")
			check("CreateBranch", cred, err)
			_, err = f.p.CreatePullRequest(ctx, cred, repo, fb.NewPullRequest{SourceBranch: "x", TargetBranch: "main", Title: "t"})
			check("CreatePullRequest", cred, err)
		}
		mode(false)
	}
}

func BenchmarkCreateBranch(b *testing.B) {
	f := newFixture(b, fb.KindGitLab)
	repo := f.appRepo()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := f.p.CreateBranch(ctx, good, repo, fmt.Sprintf("PROJ-%d", i), ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreatePullRequest(b *testing.B) {
	f := newFixture(b, fb.KindGitLab)
	repo := f.appRepo()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		src := fmt.Sprintf("PROJ-%d", i)
		b.StopTimer()
		f.app.AddBranch(src)
		b.StartTimer()
		if _, err := f.p.CreatePullRequest(ctx, good, repo, fb.NewPullRequest{SourceBranch: src, TargetBranch: "main", Title: src}); err != nil {
			b.Fatal(err)
		}
	}
}
