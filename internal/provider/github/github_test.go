package github

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
	gh "github.com/google/go-github/v84/github"
)

const (
	goodToken       = "ghp_good0000000000000000000000000000000"
	fineToken       = "github_pat_fine000000000000000000000000"
	fineROToken     = "github_pat_finero0000000000000000000000"
	classicROToken  = "ghp_readonly000000000000000000000000000"
	expiredToken    = "ghp_expired00000000000000000000000000000"
	unknownToken    = "ghp_unknown00000000000000000000000000000"
	repositoryCount = 123 // more than one page of 100
)

var ctx = context.Background()

func cred(token string) fb.Credential { return fb.Credential{Token: token} }

// newFake starts a fake GitHub with the tokens above, acme/app (main and
// feature) and enough other repositories to need two pages.
func newFake(t testing.TB) (*fakegithub.Server, *fakegithub.Repo) {
	t.Helper()
	f := fakegithub.New()
	t.Cleanup(f.Close)
	f.AddToken(goodToken, fakegithub.Token{Login: "alice", Scopes: []string{"repo", "read:org"}})
	f.AddToken(fineToken, fakegithub.Token{Login: "bob"})
	f.AddToken(fineROToken, fakegithub.Token{Login: "carol", ReadOnly: true})
	f.AddToken(classicROToken, fakegithub.Token{Login: "dave", Scopes: []string{"read:user"}})
	f.AddToken(expiredToken, fakegithub.Token{Login: "erin", Expired: true})
	repo := f.AddRepo("acme/app", "main")
	repo.AddBranch("feature")
	for i := 1; i < repositoryCount; i++ {
		f.AddRepo(fmt.Sprintf("acme/svc-%03d", i), "main")
	}
	return f, repo
}

func integration(kind fb.Kind, f *fakegithub.Server) fb.Integration {
	in := fb.Integration{ID: "int-1", Name: "GitHub", Kind: kind, BaseURL: f.URL()}
	if kind == fb.KindGitHubEnterprise {
		in.BaseURL = f.EnterpriseURL()
	}
	return in
}

func newDriver(t testing.TB, in fb.Integration, f *fakegithub.Server) *Driver {
	t.Helper()
	d, err := NewDriver(in, provider.Options{HTTPClient: f.Client(), UserAgent: "forgebridge-test"})
	if err != nil {
		t.Fatalf("NewDriver: %v", err)
	}
	return d
}

func TestContract(t *testing.T) {
	for _, tc := range []struct {
		kind     fb.Kind
		readOnly string
	}{
		{fb.KindGitHub, classicROToken},
		{fb.KindGitHubEnterprise, fineROToken},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			providertest.Run(t, func(t *testing.T) *providertest.Harness {
				f, _ := newFake(t)
				return &providertest.Harness{
					Provider:      newDriver(t, integration(tc.kind, f), f),
					Good:          cred(goodToken),
					ReadOnly:      cred(tc.readOnly),
					Unknown:       cred(unknownToken),
					Expired:       cred(expiredToken),
					GoodLogin:     "alice",
					Repositories:  repositoryCount,
					RepoFullName:  "acme/app",
					FeatureBranch: "feature",
					RateLimit:     f.SetRateLimited,
					Fail:          f.SetFailing,
				}
			})
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		in   fb.Integration
		code fb.Code
	}{
		{"github.com", fb.Integration{Kind: fb.KindGitHub}, ""},
		{"enterprise without base URL", fb.Integration{Kind: fb.KindGitHubEnterprise}, fb.EInvalid},
		{"enterprise", fb.Integration{Kind: fb.KindGitHubEnterprise, BaseURL: "https://ghe.example.com/"}, ""},
		{"other kind", fb.Integration{Kind: fb.KindGitLab}, fb.EInvalid},
		{"absolute API path", fb.Integration{Kind: fb.KindGitHub, APIPath: "https://evil.example/repos"}, fb.EInvalid},
		{"bad filter", fb.Integration{Kind: fb.KindGitHub, RepositoryFilter: "[?"}, fb.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.in, provider.Options{})
			if got := fb.ErrorCode(err); got != tt.code {
				t.Errorf("New: %v, want code %q", err, tt.code)
			}
		})
	}
	for _, tt := range []struct{ in, api string }{
		{"", "https://api.github.com/"},
		{"https://ghe.example.com", "https://ghe.example.com/api/v3/"},
		{"https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3/"},
	} {
		kind := fb.KindGitHubEnterprise
		if tt.in == "" {
			kind = fb.KindGitHub
		}
		d, err := NewDriver(fb.Integration{Kind: kind, BaseURL: tt.in}, provider.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.client.BaseURL.String(); got != tt.api {
			t.Errorf("base %q: API %s, want %s", tt.in, got, tt.api)
		}
	}
}

func TestValidate(t *testing.T) {
	f, _ := newFake(t)
	exp := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	f.AddToken("ghp_expiring000000000000000000000000000", fakegithub.Token{Login: "alice", Scopes: []string{"repo", " workflow "}, ExpiresAt: &exp})
	d := newDriver(t, integration(fb.KindGitHub, f), f)
	tests := []struct {
		token   string
		login   string
		scopes  []string
		expires *time.Time
	}{
		{goodToken, "alice", []string{"repo", "read:org"}, nil},
		{fineToken, "bob", []string{}, nil},
		{"ghp_expiring000000000000000000000000000", "alice", []string{"repo", "workflow"}, &exp},
	}
	ids := map[string]string{} // login → user id
	for _, tt := range tests {
		info, err := d.Validate(ctx, cred(tt.token))
		if err != nil {
			t.Fatalf("Validate: %v", err)
		}
		// GitHub's numeric user id: one per account, whichever of its tokens.
		if _, err := strconv.ParseInt(info.UserID, 10, 64); err != nil {
			t.Errorf("Validate(%s) user id %q, want GitHub's numeric id", tt.login, info.UserID)
		}
		if id, seen := ids[tt.login]; seen && id != info.UserID {
			t.Errorf("two tokens of %s have user ids %s and %s", tt.login, id, info.UserID)
		}
		ids[tt.login] = info.UserID
		if info.Login != tt.login || !slices.Equal(info.Scopes, tt.scopes) || info.Scopes == nil {
			t.Errorf("Validate = %+v, want login %s scopes %q", info, tt.login, tt.scopes)
		}
		if (info.ExpiresAt == nil) != (tt.expires == nil) || (tt.expires != nil && !info.ExpiresAt.Equal(*tt.expires)) {
			t.Errorf("expires %v, want %v", info.ExpiresAt, tt.expires)
		}
	}
	if ids["alice"] == ids["bob"] {
		t.Errorf("alice and bob have one user id %s", ids["bob"])
	}
	for v, want := range map[string]string{
		"2026-12-31 00:00:00 UTC":   "2026-12-31T00:00:00Z",
		"2026-12-31 00:00:00 -0700": "2026-12-31T07:00:00Z",
		"2026-12-31 05:30:00 +0530": "2026-12-31T00:00:00Z",
		"not a date":                "",
		"":                          "",
	} {
		got := expiry(v)
		if (got == nil && want != "") || (got != nil && got.Format(time.RFC3339) != want) {
			t.Errorf("expiry(%q) = %v, want %q", v, got, want)
		}
	}
}

func TestAPIPathAndFilter(t *testing.T) {
	f, _ := newFake(t)
	f.AddRepo("other/thing", "main")
	f.AddRepo("acme/old", "master").SetArchived(true)
	in := integration(fb.KindGitHubEnterprise, f)
	in.APIPath = "/orgs/acme/repos"

	repos, err := newDriver(t, in, f).Repositories(ctx, cred(goodToken))
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != repositoryCount+1 {
		t.Fatalf("%d repositories, want %d", len(repos), repositoryCount+1)
	}
	for _, r := range repos {
		if !strings.HasPrefix(r.FullName, "acme/") {
			t.Errorf("%s listed from /orgs/acme/repos", r.FullName)
		}
		if r.FullName == "acme/old" && (r.CanCreateBranch || r.CanCreatePullRequest) {
			t.Errorf("archived repository writable: %+v", r)
		}
		if r.IntegrationID != "int-1" || r.WebURL != f.URL()+"/"+r.FullName {
			t.Errorf("repository %+v", r)
		}
	}
	paths := map[string]int{}
	for _, c := range f.Calls() {
		paths[c.Path+"?"+c.Query]++
	}
	if paths["/orgs/acme/repos?per_page=100"] != 1 || paths["/orgs/acme/repos?page=2&per_page=100"] != 1 || len(paths) != 2 {
		t.Errorf("requests %v, want the two pages of /orgs/acme/repos", paths)
	}

	in.RepositoryFilter = "[?archived==`false` && starts_with(name, 'svc-0')]"
	repos, err = newDriver(t, in, f).Repositories(ctx, cred(goodToken))
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 99 { // svc-001 … svc-099
		t.Errorf("filter kept %d repositories, want 99", len(repos))
	}

	in.RepositoryFilter = "[].name"
	_, err = newDriver(t, in, f).Repositories(ctx, cred(goodToken))
	if fb.ErrorCode(err) != fb.EInvalid {
		t.Errorf("filter giving names: %v, want %s", err, fb.EInvalid)
	}
}

func TestBranchesWithSlashes(t *testing.T) {
	f, repo := newFake(t)
	sha := repo.AddBranch("team/feature-x")
	d := newDriver(t, integration(fb.KindGitHub, f), f)
	r := fb.Repository{FullName: "acme/app", DefaultBranch: "main", WebURL: f.URL() + "/acme/app"}
	b, err := d.CreateBranch(ctx, cred(goodToken), r, "PROJ-1/sub/work", "team/feature-x")
	if err != nil {
		t.Fatal(err)
	}
	if b.SHA != sha || b.WebURL != f.URL()+"/acme/app/tree/PROJ-1/sub/work" {
		t.Errorf("created %+v, want sha %s", b, sha)
	}
	if got, ok := repo.Branch("PROJ-1/sub/work"); !ok || got != sha {
		t.Errorf("fake has %q %v", got, ok)
	}
	for _, c := range f.Calls() {
		if c.Token != goodToken {
			t.Errorf("%s %s made with token %q", c.Method, c.Path, c.Token)
		}
	}
	// Branches are listed with the credential of the call, not a remembered one.
	if _, err := d.Branches(ctx, cred(fineToken), r); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if last := calls[len(calls)-1]; last.Token != fineToken || last.Path != "/repos/acme/app/branches" {
		t.Errorf("last call %+v, want the branch list with the fine-grained token", last)
	}
}

func TestExistingPullRequest(t *testing.T) {
	f, repo := newFake(t)
	d := newDriver(t, integration(fb.KindGitHub, f), f)
	r := fb.Repository{FullName: "acme/app", DefaultBranch: "main"}
	in := fb.NewPullRequest{SourceBranch: "feature", Title: "PROJ-1 Work"}
	pr, err := d.CreatePullRequest(ctx, cred(goodToken), r, in)
	if err != nil {
		t.Fatal(err)
	}
	want := repo.PullRequests()[0]
	if pr.ID != fmt.Sprint(want.ID) || pr.Number != want.Number || pr.TargetBranch != "main" || want.Author != "alice" {
		t.Errorf("created %+v, fake has %+v", pr, want)
	}
	_, err = d.CreatePullRequest(ctx, cred(goodToken), r, in)
	e := fb.AsError(err)
	if e == nil || e.Code != fb.EAlreadyExists || e.Existing == nil ||
		*e.Existing != (fb.Existing{ID: pr.ID, Number: pr.Number, WebURL: pr.WebURL}) {
		t.Errorf("again: %v (existing %+v)", err, e.Existing)
	}
}

// cannedServer answers each "METHOD /path" with a fixed response; requests
// for anything else get a 200 with body "{}" (or a ref for git/ref reads).
type canned struct {
	status int
	header map[string]string
	body   string
}

func cannedServer(t *testing.T, routes map[string]canned) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			c = canned{status: 200, body: `{"login":"alice","id":1}`}
			if strings.Contains(r.URL.Path, "/git/ref/") {
				c.body = `{"ref":"refs/heads/main","object":{"sha":"` + strings.Repeat("a", 40) + `","type":"commit"}}`
			}
		}
		for k, v := range c.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c.status)
		w.Write([]byte(c.body))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestErrorMapping(t *testing.T) {
	const refs = "POST /repos/acme/app/git/refs"
	const user = "GET /user"
	future := func(d time.Duration) string { return fmt.Sprint(time.Now().Add(d).Unix()) }
	tests := []struct {
		name    string
		route   string
		resp    canned
		code    fb.Code
		retry   [2]int // bounds of RetryAfter
		missing []string
		msgHas  string
	}{
		{"bad credentials", user, canned{401, nil, `{"message":"Bad credentials"}`}, fb.ETokenRejected, [2]int{}, nil, "expired or revoked"},
		{"saml sso", refs, canned{403, map[string]string{"X-GitHub-SSO": "required; url=https://github.com/orgs/acme/sso?authorization_request=XYZ"},
			`{"message":"Resource protected by organization SAML enforcement."}`}, fb.EProviderDenied, [2]int{}, nil,
			"https://github.com/orgs/acme/sso?authorization_request=XYZ"},
		{"fine-grained permission", refs, canned{403, map[string]string{"X-Accepted-GitHub-Permissions": "contents=write"},
			`{"message":"Resource not accessible by personal access token"}`}, fb.EProviderDenied, [2]int{}, []string{"contents=write"}, "contents=write"},
		{"fine-grained alternatives", refs, canned{403, map[string]string{"X-Accepted-GitHub-Permissions": "contents=write, workflows=write; administration=write"},
			`{"message":"Resource not accessible by personal access token"}`}, fb.EProviderDenied, [2]int{}, []string{"contents=write", "workflows=write"}, "administration=write"},
		{"classic without repo scope (404)", refs, canned{404, map[string]string{"X-OAuth-Scopes": "read:user, gist"}, `{"message":"Not Found"}`},
			fb.EProviderDenied, [2]int{}, []string{"repo"}, "needs the scope repo"},
		{"classic without write access (403)", refs, canned{403, map[string]string{"X-OAuth-Scopes": "repo"}, `{"message":"Must have push access"}`},
			fb.EProviderDenied, [2]int{}, nil, "needs the scope repo"},
		{"fine-grained 404 on write", refs, canned{404, nil, `{"message":"Not Found"}`}, fb.EProviderDenied, [2]int{}, nil, "cannot see"},
		{"primary rate limit", user, canned{403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": future(90 * time.Second)},
			`{"message":"API rate limit exceeded for user ID 1."}`}, fb.ERateLimited, [2]int{85, 91}, nil, ""},
		{"primary rate limit 429", user, canned{429, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": future(10 * time.Second)},
			`{"message":"API rate limit exceeded"}`}, fb.ERateLimited, [2]int{5, 11}, nil, ""},
		{"primary rate limit already reset", user, canned{403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": future(-time.Minute)},
			`{"message":"API rate limit exceeded"}`}, fb.ERateLimited, [2]int{1, 1}, nil, ""},
		{"secondary with Retry-After", refs, canned{403, map[string]string{"Retry-After": "30"},
			`{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`},
			fb.ERateLimited, [2]int{30, 30}, nil, ""},
		{"secondary 429 with Retry-After, other docs URL", user, canned{429, map[string]string{"Retry-After": "7"}, `{"message":"slow down"}`},
			fb.ERateLimited, [2]int{7, 7}, nil, ""},
		{"secondary without Retry-After", user, canned{403, nil,
			`{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`},
			fb.ERateLimited, [2]int{60, 60}, nil, ""},
		{"empty repository", "GET /repos/acme/app/git/ref/heads/main", canned{409, nil, `{"message":"Git Repository is empty."}`},
			fb.EProviderRejected, [2]int{}, nil, "empty"},
		{"invalid ref name", refs, canned{422, nil, `{"message":"Reference name is invalid"}`}, fb.EProviderRejected, [2]int{}, nil, "branch name"},
		{"other validation", refs, canned{422, nil, `{"message":"Validation Failed","errors":[{"resource":"Ref","code":"custom","message":"Ref is protected"}]}`},
			fb.EProviderRejected, [2]int{}, nil, "Ref is protected"},
		{"archived", refs, canned{403, nil, `{"message":"Repository was archived so is read-only."}`}, fb.EProviderDenied, [2]int{}, nil, "archived"},
		{"server error", refs, canned{500, nil, `{"message":"Server Error"}`}, fb.EProviderUnavailable, [2]int{}, nil, ""},
		{"bad gateway html", user, canned{502, nil, `<html>Unicorn!</html>`}, fb.EProviderUnavailable, [2]int{}, nil, ""},
		{"not json", user, canned{200, nil, `<html>captive portal</html>`}, fb.EProviderUnavailable, [2]int{}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cannedServer(t, map[string]canned{tt.route: tt.resp})
			d, err := NewDriver(fb.Integration{Kind: fb.KindGitHub, BaseURL: s.URL}, provider.Options{HTTPClient: s.Client()})
			if err != nil {
				t.Fatal(err)
			}
			if tt.route == user {
				_, err = d.Validate(ctx, cred(goodToken))
			} else {
				_, err = d.CreateBranch(ctx, cred(goodToken), fb.Repository{FullName: "acme/app", DefaultBranch: "main"}, "x", "")
			}
			e := fb.AsError(err)
			if e == nil || e.Code != tt.code {
				t.Fatalf("got %v, want code %s", err, tt.code)
			}
			if tt.retry != [2]int{} && (e.RetryAfter < tt.retry[0] || e.RetryAfter > tt.retry[1]) {
				t.Errorf("RetryAfter %d, want %d…%d", e.RetryAfter, tt.retry[0], tt.retry[1])
			}
			if !slices.Equal(e.MissingScopes, tt.missing) {
				t.Errorf("MissingScopes %q, want %q", e.MissingScopes, tt.missing)
			}
			if !strings.Contains(e.Message, tt.msgHas) || e.Message == "" {
				t.Errorf("message %q, want it to contain %q", e.Message, tt.msgHas)
			}
		})
	}
}

// TestErrorsFromFake checks the mapping of the fake's (GitHub's) own refusals.
func TestErrorsFromFake(t *testing.T) {
	f, _ := newFake(t)
	f.AddEmptyRepo("acme/empty")
	d := newDriver(t, integration(fb.KindGitHub, f), f)
	app := fb.Repository{FullName: "acme/app", DefaultBranch: "main"}

	_, err := d.CreateBranch(ctx, cred(classicROToken), app, "x", "")
	if e := fb.AsError(err); e == nil || e.Code != fb.EProviderDenied || !slices.Equal(e.MissingScopes, []string{"repo"}) {
		t.Errorf("classic read-only: %v", err)
	}
	_, err = d.CreatePullRequest(ctx, cred(fineROToken), app, fb.NewPullRequest{SourceBranch: "feature", TargetBranch: "main", Title: "t"})
	if e := fb.AsError(err); e == nil || e.Code != fb.EProviderDenied || !slices.Equal(e.MissingScopes, []string{"pull_requests=write"}) ||
		!strings.Contains(e.Message, "Pull requests: write (pull_requests=write)") {
		t.Errorf("fine-grained read-only: %v", err)
	}
	_, err = d.CreateBranch(ctx, cred(goodToken), fb.Repository{FullName: "acme/empty", DefaultBranch: "main"}, "x", "")
	if fb.ErrorCode(err) != fb.EProviderRejected {
		t.Errorf("empty repository: %v", err)
	}
	_, err = d.CreateBranch(ctx, cred(goodToken), fb.Repository{FullName: "acme/nope", DefaultBranch: "main"}, "x", "")
	if fb.ErrorCode(err) != fb.EProviderDenied {
		t.Errorf("invisible repository: %v", err)
	}
	_, err = d.CreateBranch(ctx, cred(goodToken), app, "bad..name", "")
	if fb.ErrorCode(err) != fb.EProviderRejected {
		t.Errorf("invalid name: %v", err)
	}
	f.SetSecondaryRateLimited(true)
	_, err = d.Validate(ctx, cred(goodToken))
	if e := fb.AsError(err); e == nil || e.Code != fb.ERateLimited || e.RetryAfter != 30 {
		t.Errorf("secondary rate limit: %v", err)
	}
}

// TestNoWaitOnRateLimit checks that neither go-github nor the driver sleeps,
// retries or answers from memory on a rate limit: every call makes exactly
// one request and returns the rate limit, and the next call after the limit
// ends goes out.
func TestNoWaitOnRateLimit(t *testing.T) {
	f, _ := newFake(t)
	d := newDriver(t, integration(fb.KindGitHub, f), f)
	app := fb.Repository{FullName: "acme/app", DefaultBranch: "main"}
	for _, limit := range []func(bool){f.SetRateLimited, f.SetSecondaryRateLimited} {
		limit(true)
		for range 3 {
			// Hang guard only: the fake's limits last 30 to 60 seconds, so a
			// call that waited one out would end with this context's error.
			guard, cancel := context.WithTimeout(ctx, 30*time.Second)
			before := f.CallCount()
			_, err := d.CreateBranch(guard, cred(goodToken), app, "x", "")
			guardErr := guard.Err()
			cancel()
			if guardErr != nil {
				t.Fatalf("CreateBranch still waiting when the hang guard expired: %v", err)
			}
			if fb.ErrorCode(err) != fb.ERateLimited {
				t.Fatalf("CreateBranch: %v", err)
			}
			if n := f.CallCount() - before; n != 1 {
				t.Errorf("a rate limited CreateBranch made %d requests, want exactly 1 (0: answered from the client's memory; more: retried)", n)
			}
		}
		limit(false)
		if _, err := d.Validate(ctx, cred(goodToken)); err != nil {
			t.Errorf("after the limit: %v", err)
		}
	}
}

func TestNoForeignHost(t *testing.T) {
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignHits.Add(1)
		w.Write([]byte("[]"))
	}))
	defer foreign.Close()
	s := cannedServer(t, map[string]canned{
		"GET /user/repos": {200, map[string]string{"Link": "<" + foreign.URL + "/user/repos?page=2>; rel=\"next\""},
			`[{"id":1,"name":"a","full_name":"acme/a","default_branch":"main","html_url":"https://x/acme/a"}]`},
		"GET /user": {302, map[string]string{"Location": foreign.URL + "/user"}, ""},
	})
	d, err := NewDriver(fb.Integration{Kind: fb.KindGitHub, BaseURL: s.URL}, provider.Options{HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Repositories(ctx, cred(goodToken))
	if e := fb.AsError(err); e == nil || e.Code != fb.EProviderUnavailable || !strings.Contains(e.Message, "another host") {
		t.Errorf("next page on another host: %v", err)
	}
	_, err = d.Validate(ctx, cred(goodToken))
	if fb.ErrorCode(err) != fb.EProviderUnavailable {
		t.Errorf("redirect to another host: %v", err)
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("%d requests reached another host", n)
	}
}

func TestNoTokenInErrors(t *testing.T) {
	// A hostile or broken server that echoes the credential everywhere.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
			if strings.Contains(r.URL.Path, "/git/ref/") {
				w.Write([]byte(`{"ref":"refs/heads/main","object":{"sha":"abc","type":"commit"}}`))
				return
			}
			w.WriteHeader(403)
		default:
			w.WriteHeader(422)
		}
		fmt.Fprintf(w, `{"message":"token %s is bad","errors":[{"message":"really, %s"}]}`, tok, tok)
	}))
	defer echo.Close()
	f, _ := newFake(t)
	f.AddEmptyRepo("acme/empty")
	app := fb.Repository{FullName: "acme/app", DefaultBranch: "main"}
	for _, base := range []string{echo.URL, f.URL()} {
		d, err := NewDriver(fb.Integration{Kind: fb.KindGitHub, BaseURL: base}, provider.Options{HTTPClient: http.DefaultClient})
		if err != nil {
			t.Fatal(err)
		}
		for _, token := range []string{goodToken, unknownToken, classicROToken, fineROToken} {
			var errs []error
			_, err := d.Validate(ctx, cred(token))
			errs = append(errs, err)
			_, err = d.Repositories(ctx, cred(token))
			errs = append(errs, err)
			_, err = d.CreateBranch(ctx, cred(token), app, "main", "")
			errs = append(errs, err)
			_, err = d.CreateBranch(ctx, cred(token), fb.Repository{FullName: "acme/empty"}, "x", "")
			errs = append(errs, err)
			_, err = d.CreatePullRequest(ctx, cred(token), app, fb.NewPullRequest{SourceBranch: "main", TargetBranch: "main", Title: "t"})
			errs = append(errs, err)
			for _, err := range errs {
				if err != nil && (strings.Contains(err.Error(), token) || strings.Contains(fb.ErrorMessage(err), token)) {
					t.Errorf("error carries the token: %v", err)
				}
			}
		}
	}
}

func BenchmarkCreateBranch(b *testing.B) {
	f, _ := newFake(b)
	d := newDriver(b, integration(fb.KindGitHub, f), f)
	repo := fb.Repository{FullName: "acme/app", DefaultBranch: "main", WebURL: f.URL() + "/acme/app"}
	for i := 0; b.Loop(); i++ {
		if _, err := d.CreateBranch(ctx, cred(goodToken), repo, fmt.Sprintf("bench-%d", i), ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateBranchDirect makes the same two requests with go-github
// alone, as the baseline of the driver's overhead.
func BenchmarkCreateBranchDirect(b *testing.B) {
	f, _ := newFake(b)
	c := gh.NewClient(f.Client()).WithAuthToken(goodToken)
	base, err := url.Parse(f.URL() + "/")
	if err != nil {
		b.Fatal(err)
	}
	c.BaseURL = base
	for i := 0; b.Loop(); i++ {
		ref, _, err := c.Git.GetRef(ctx, "acme", "app", "heads/main")
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Git.CreateRef(ctx, "acme", "app", gh.CreateRef{Ref: fmt.Sprintf("refs/heads/bench-%d", i), SHA: ref.GetObject().GetSHA()}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPrivateRepoWithoutRepoScope: GitHub hides a private repository from a
// classic token without the repo scope (404, X-Accepted-OAuth-Scopes: repo);
// every path names repo in MissingScopes, the base-branch lookup included.
func TestPrivateRepoWithoutRepoScope(t *testing.T) {
	f, _ := newFake(t)
	f.AddRepo("dave/secret", "main").SetPrivate(true) // dave's own: only the scope is missing
	d := newDriver(t, integration(fb.KindGitHub, f), f)
	secret := fb.Repository{FullName: "dave/secret", DefaultBranch: "main"}
	noDefault := fb.Repository{FullName: "dave/secret"}
	paths := map[string]func(fb.Credential) error{
		"branches":                 func(c fb.Credential) error { _, err := d.Branches(ctx, c, secret); return err },
		"create branch (base ref)": func(c fb.Credential) error { _, err := d.CreateBranch(ctx, c, secret, "x", ""); return err },
		"create branch (named base)": func(c fb.Credential) error {
			_, err := d.CreateBranch(ctx, c, secret, "x", "develop")
			return err
		},
		"create branch (default branch lookup)": func(c fb.Credential) error { _, err := d.CreateBranch(ctx, c, noDefault, "x", ""); return err },
		"create pull request": func(c fb.Credential) error {
			_, err := d.CreatePullRequest(ctx, c, secret, fb.NewPullRequest{SourceBranch: "feature", TargetBranch: "main", Title: "t"})
			return err
		},
		"pull requests": func(c fb.Credential) error {
			return d.PullRequests(ctx, c, secret, time.Time{}, func(fb.PullRequest) error { return nil })
		},
	}
	for name, call := range paths {
		t.Run(name, func(t *testing.T) {
			e := fb.AsError(call(cred(classicROToken)))
			if e == nil || e.Code != fb.EProviderDenied || !slices.Equal(e.MissingScopes, []string{"repo"}) || !strings.Contains(e.Message, "repo") {
				t.Errorf("classic token without repo: %v, want %s with missingScopes [repo]", e, fb.EProviderDenied)
			}
			// A token with the scope that may not see the repository lacks no scope.
			e = fb.AsError(call(cred(goodToken)))
			if e == nil || e.Code != fb.EProviderDenied || e.MissingScopes != nil {
				t.Errorf("classic token with repo, no access: %v, want %s without missingScopes", e, fb.EProviderDenied)
			}
		})
	}
	// A public repository's unknown base branch is just that, whatever the scopes.
	_, err := d.CreateBranch(ctx, cred(classicROToken), fb.Repository{FullName: "acme/app", DefaultBranch: "main"}, "x", "nope")
	if e := fb.AsError(err); e == nil || e.Code != fb.EProviderRejected || e.MissingScopes != nil {
		t.Errorf("unknown base of a public repository: %v, want %s", err, fb.EProviderRejected)
	}
}
