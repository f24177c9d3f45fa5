package codecommit

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/codecommit/fakecodecommit"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
)

const (
	testRegion = "eu-west-1"
	goodARN    = "arn:aws:iam::123456789012:user/alice"
)

var (
	good     = fb.Credential{AccessKeyID: "AKIAGOODGOODGOOD0001", SecretAccessKey: "good/secret+access+key+0000000000000001"}
	readOnly = fb.Credential{AccessKeyID: "AKIAREADONLYREAD0002", SecretAccessKey: "readonly/secret+key+000000000000000002"}
	unknown  = fb.Credential{AccessKeyID: "AKIAUNKNOWNUNKNO0003", SecretAccessKey: "unknown/secret+key+0000000000000000003"}
	expired  = fb.Credential{AccessKeyID: "AKIAEXPIREDEXPIR0004", SecretAccessKey: "expired/secret+key+0000000000000000004"}
)

// world is a fake with the keys above and five repositories over three
// pages; "app" has a branch "feature" ahead of main.
type world struct {
	fake *fakecodecommit.Server
	app  *fakecodecommit.Repo
	p    provider.Provider
}

func newWorld(t testing.TB) *world {
	t.Helper()
	fake := fakecodecommit.New(testRegion)
	t.Cleanup(fake.Close)
	fake.AddKey(good.AccessKeyID, good.SecretAccessKey, fakecodecommit.Key{ARN: goodARN})
	fake.AddKey(readOnly.AccessKeyID, readOnly.SecretAccessKey,
		fakecodecommit.Key{ARN: "arn:aws:iam::123456789012:user/reader", ReadOnly: true})
	fake.AddKey(expired.AccessKeyID, expired.SecretAccessKey,
		fakecodecommit.Key{ARN: "arn:aws:iam::123456789012:user/gone", Expired: true})
	w := &world{fake: fake}
	for _, n := range []string{"alpha", "beta", "gamma", "delta"} {
		fake.AddRepo(n, "main")
	}
	w.app = fake.AddRepo("app", "main")
	w.app.AddBranch("feature")
	w.p = newProvider(t, fb.Integration{ID: "int-1", Kind: fb.KindCodeCommit, Region: testRegion, BaseURL: fake.URL()})
	return w
}

func newProvider(t testing.TB, in fb.Integration) provider.Provider {
	t.Helper()
	p, err := New(in, provider.Options{UserAgent: "forgebridge-test"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func (w *world) repo(t testing.TB, name string) fb.Repository {
	t.Helper()
	repos, err := w.p.Repositories(context.Background(), good)
	if err != nil {
		t.Fatalf("Repositories: %v", err)
	}
	for _, r := range repos {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no repository %s", name)
	return fb.Repository{}
}

func TestContract(t *testing.T) {
	providertest.Run(t, func(t *testing.T) *providertest.Harness {
		w := newWorld(t)
		return &providertest.Harness{
			Provider: w.p, Good: good, ReadOnly: readOnly, Unknown: unknown, Expired: expired,
			GoodLogin: goodARN, Repositories: 5, RepoFullName: "app", FeatureBranch: "feature",
			RateLimit: w.fake.SetRateLimited, Fail: w.fake.SetFailing,
		}
	})
}

func TestNewRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name string
		in   fb.Integration
	}{
		{"no region", fb.Integration{}},
		{"region not a region", fb.Integration{Region: "Ireland"}},
		{"region with a path", fb.Integration{Region: "eu-west-1/x"}},
		{"api path", fb.Integration{Region: testRegion, APIPath: "/repos"}},
		{"base URL not http", fb.Integration{Region: testRegion, BaseURL: "ftp://example.com"}},
		{"bad filter", fb.Integration{Region: testRegion, RepositoryFilter: "[?"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.in, provider.Options{})
			if fb.ErrorCode(err) != fb.EInvalid || fb.ErrorMessage(err) == "" {
				t.Errorf("New = %v, want %s with a message", err, fb.EInvalid)
			}
		})
	}
	for _, region := range []string{"us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-4"} {
		if _, err := New(fb.Integration{Region: region}, provider.Options{}); err != nil {
			t.Errorf("New(%s): %v", region, err)
		}
	}
}

// TestValidateAndCheckAccess: Validate is STS alone (who, by ARN and
// IAM's unique id), never an account-wide ListRepositories; CheckAccess
// proves CodeCommit access on one repository with GetRepository.
func TestValidateAndCheckAccess(t *testing.T) {
	w := newWorld(t)
	repo := w.repo(t, "app")
	ctx := context.Background()
	noCC := fb.Credential{AccessKeyID: "AKIANOCODECOMMIT0005", SecretAccessKey: "nocc/secret"}
	w.fake.AddKey(noCC.AccessKeyID, noCC.SecretAccessKey,
		fakecodecommit.Key{ARN: "arn:aws:iam::123456789012:user/s3-only", Deny: []string{"codecommit:GetRepository", "codecommit:ListRepositories"}})
	second := fb.Credential{AccessKeyID: "AKIASECONDKEYALICE01", SecretAccessKey: "second/secret"}
	w.fake.AddKey(second.AccessKeyID, second.SecretAccessKey, fakecodecommit.Key{ARN: goodARN})

	w.fake.ResetCalls()
	info, err := w.p.Validate(ctx, good)
	if err != nil || info.Login != goodARN || info.Scopes != nil || info.ExpiresAt != nil ||
		!strings.HasPrefix(info.UserID, "AIDA") {
		t.Errorf("Validate(good) = %+v, %v; want login %s, an AIDA… user id and nothing else", info, err, goodARN)
	}
	if calls := w.fake.Calls(); len(calls) != 1 || calls[0].Operation != "GetCallerIdentity" {
		t.Errorf("Validate made %+v, want GetCallerIdentity alone", calls)
	}
	// Two keys of one IAM user are one account; another user is another.
	info2, err := w.p.Validate(ctx, second)
	if err != nil || info2.UserID != info.UserID {
		t.Errorf("Validate(second key of the user) = %+v, %v; want user id %s", info2, err, info.UserID)
	}
	other, err := w.p.Validate(ctx, noCC)
	if err != nil || other.UserID == info.UserID || other.UserID == "" {
		t.Errorf("Validate(another user) = %+v, %v; want another user id", other, err)
	}

	ac, ok := provider.Capability[provider.AccessChecker](w.p)
	if !ok {
		t.Fatal("the driver is no AccessChecker")
	}
	if err := ac.CheckAccess(ctx, good, repo); err != nil {
		t.Errorf("CheckAccess(good) = %v", err)
	}
	err = ac.CheckAccess(ctx, noCC, repo)
	e := fb.AsError(err)
	if e == nil || e.Code != fb.EProviderDenied || len(e.MissingScopes) != 1 || e.MissingScopes[0] != "codecommit:GetRepository" ||
		!strings.Contains(e.Message, "codecommit:GetRepository") {
		t.Fatalf("CheckAccess(no CodeCommit) = %v, want %s naming codecommit:GetRepository", err, fb.EProviderDenied)
	}
	_, err = w.p.Validate(context.Background(), fb.Credential{AccessKeyID: good.AccessKeyID})
	if fb.ErrorCode(err) != fb.ETokenRejected {
		t.Errorf("Validate(no secret) = %v, want %s", err, fb.ETokenRejected)
	}
}

// TestWrongSecretIsRejectedBySignature checks that a known access key id with
// a wrong secret is refused even right after the right secret was used: the
// SDK's signer caches signing keys by access key id, not by secret.
func TestWrongSecretIsRejectedBySignature(t *testing.T) {
	w := newWorld(t)
	wrong := fb.Credential{AccessKeyID: good.AccessKeyID, SecretAccessKey: "not/the+right+secret"}
	repo := w.repo(t, "app")
	ctx := context.Background()
	if _, err := w.p.Validate(ctx, good); err != nil {
		t.Fatal(err)
	}
	_, err := w.p.Validate(ctx, wrong)
	if fb.ErrorCode(err) != fb.ETokenRejected || !strings.Contains(fb.ErrorMessage(err), "secret access key") {
		t.Errorf("Validate(wrong secret) = %v, want %s about the secret", err, fb.ETokenRejected)
	}
	w.fake.ResetCalls()
	_, err = w.p.CreateBranch(ctx, wrong, repo, "PROJ-1", "")
	if fb.ErrorCode(err) != fb.ETokenRejected {
		t.Errorf("CreateBranch(wrong secret) = %v, want %s", err, fb.ETokenRejected)
	}
	if _, ok := w.app.Branch("PROJ-1"); ok {
		t.Error("the branch was created with a wrong secret")
	}
	calls := w.fake.Calls()
	if len(calls) != 1 || calls[0].Operation != "GetBranch" || calls[0].AccessKeyID != good.AccessKeyID {
		t.Errorf("calls = %+v, want one GetBranch signed by %s", calls, good.AccessKeyID)
	}
}

func TestRepositories(t *testing.T) {
	w := newWorld(t)
	w.fake.AddRepo("empty", "")
	ctx := context.Background()
	repos, err := w.p.Repositories(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]fb.Repository{}
	for _, r := range repos {
		byName[r.Name] = r
	}
	app := byName["app"]
	wantURL := "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/app/browse?region=eu-west-1"
	if app.ExternalID != w.app.ID() || app.FullName != "app" || app.DefaultBranch != "main" || app.WebURL != wantURL ||
		!app.CanCreateBranch || !app.CanCreatePullRequest {
		t.Errorf("app = %+v", app)
	}
	if e := byName["empty"]; len(repos) != 6 || e.DefaultBranch != "" || e.CanCreateBranch || e.CanCreatePullRequest {
		t.Errorf("%d repositories, empty = %+v; want 6 and an empty repository that allows nothing", len(repos), e)
	}
	calls := w.fake.Calls()
	ops := map[string]int{}
	for _, c := range calls {
		ops[c.Operation]++
	}
	if ops["ListRepositories"] != 3 || ops["BatchGetRepositories"] != 1 || len(calls) != 4 {
		t.Errorf("calls %v, want 3 ListRepositories pages and 1 BatchGetRepositories", ops)
	}

	for _, tc := range []struct {
		filter string
		want   []string
		code   fb.Code
	}{
		{"[?starts_with(repositoryName, 'a')]", []string{"alpha", "app"}, ""},
		{"[?defaultBranch == 'main' && contains(Arn, ':gamma')]", []string{"gamma"}, ""},
		{"[].repositoryName", nil, fb.EInvalid},
		{"[0]", nil, fb.EInvalid},
	} {
		p := newProvider(t, fb.Integration{Region: testRegion, BaseURL: w.fake.URL(), RepositoryFilter: tc.filter})
		repos, err := p.Repositories(ctx, good)
		if fb.ErrorCode(err) != tc.code {
			t.Errorf("filter %s: %v, want code %q", tc.filter, err, tc.code)
			continue
		}
		var names []string
		for _, r := range repos {
			names = append(names, r.Name)
		}
		if fmt.Sprint(names) != fmt.Sprint(tc.want) {
			t.Errorf("filter %s kept %v, want %v", tc.filter, names, tc.want)
		}
	}
}

func TestBranchesDefaultFirstAndCapped(t *testing.T) {
	w := newWorld(t)
	w.fake.SetPageSize(1000)
	repo := w.repo(t, "app")
	names := make([]string, maxBranchSHAs+5)
	for i := range names {
		names[i] = fmt.Sprintf("b%03d", i)
	}
	w.app.AddBranches(names...)
	w.fake.ResetCalls()
	branches, err := w.p.Branches(context.Background(), good, repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(branches) != maxBranchSHAs+7 || branches[0].Name != "main" || branches[0].SHA == "" {
		t.Fatalf("%d branches, first %+v; want %d with main first", len(branches), branches[0], maxBranchSHAs+7)
	}
	withSHA := 0
	for _, b := range branches {
		if b.SHA != "" {
			withSHA++
			if sha, _ := w.app.Branch(b.Name); sha != b.SHA {
				t.Errorf("%s at %s, want %s", b.Name, b.SHA, sha)
			}
		}
	}
	if withSHA != maxBranchSHAs || len(w.fake.Calls()) != 1+maxBranchSHAs {
		t.Errorf("%d branches with a sha after %d calls, want %d after %d", withSHA, len(w.fake.Calls()), maxBranchSHAs, 1+maxBranchSHAs)
	}
	want := "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/app/browse/refs/heads/b000?region=eu-west-1"
	if branches[1].WebURL != want {
		t.Errorf("web URL %s, want %s", branches[1].WebURL, want)
	}
}

func TestCreateBranchDetails(t *testing.T) {
	w := newWorld(t)
	repo := w.repo(t, "app")
	ctx := context.Background()
	w.fake.ResetCalls()
	b, err := w.p.CreateBranch(ctx, good, repo, "PROJ-1/fix#it", "feature")
	if err != nil {
		t.Fatal(err)
	}
	want := "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/app/browse/refs/heads/PROJ-1/fix%23it?region=eu-west-1"
	if b.WebURL != want {
		t.Errorf("web URL %s, want %s", b.WebURL, want)
	}
	if n := len(w.fake.Calls()); n != 2 {
		t.Errorf("%d calls, want 2 (GetBranch, CreateBranch)", n)
	}
	_, err = w.p.CreateBranch(ctx, good, repo, "bad..name", "")
	if fb.ErrorCode(err) != fb.EProviderRejected {
		t.Errorf("invalid name: %v, want %s", err, fb.EProviderRejected)
	}
	empty := fb.Repository{Name: "empty"}
	if _, err := w.p.CreateBranch(ctx, good, empty, "x", ""); fb.ErrorCode(err) != fb.EProviderRejected {
		t.Errorf("empty repository: %v, want %s", err, fb.EProviderRejected)
	}
	gone := fb.Repository{Name: "gone", DefaultBranch: "main"}
	if _, err := w.p.CreateBranch(ctx, good, gone, "x", ""); fb.ErrorCode(err) != fb.ENotFound ||
		!strings.HasPrefix(fb.ErrorMessage(err), "The repository gone no longer exists") {
		t.Errorf("deleted repository: %v, want %s naming it", err, fb.ENotFound)
	}
}

func TestPullRequestAlreadyOpen(t *testing.T) {
	w := newWorld(t)
	repo := w.repo(t, "app")
	ctx := context.Background()
	first, err := w.p.CreatePullRequest(ctx, good, repo, fb.NewPullRequest{SourceBranch: "feature", Title: "PROJ-1 first"})
	if err != nil {
		t.Fatal(err)
	}
	wantURL := "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/app/pull-requests/" + first.ID + "/details?region=eu-west-1"
	if first.WebURL != wantURL || first.TargetBranch != "main" || fmt.Sprint(first.Number) != first.ID {
		t.Errorf("created %+v, want target main and web URL %s", first, wantURL)
	}
	// Other open pull requests, more than a page of them, come first in the list.
	for i := range 5 {
		w.app.AddBranch(fmt.Sprintf("other-%d", i))
		if _, err := w.p.CreatePullRequest(ctx, good, repo, fb.NewPullRequest{SourceBranch: fmt.Sprintf("other-%d", i), Title: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = w.p.CreatePullRequest(ctx, good, repo, fb.NewPullRequest{SourceBranch: "feature", TargetBranch: "main", Title: "Another title"})
	e := fb.AsError(err)
	if e == nil || e.Code != fb.EAlreadyExists || e.Existing == nil ||
		*e.Existing != (fb.Existing{ID: first.ID, Number: first.Number, WebURL: first.WebURL}) {
		t.Fatalf("same branches, other title: %v (%+v), want %s naming %+v", err, e, fb.EAlreadyExists, first)
	}
	w.fake.SetPullRequestStatus(first.ID, "CLOSED")
	again, err := w.p.CreatePullRequest(ctx, good, repo, fb.NewPullRequest{SourceBranch: "feature", Title: "Another title"})
	if err != nil || again.ID == first.ID {
		t.Errorf("after closing: %+v, %v; want a new pull request", again, err)
	}
}

func TestClientRequestToken(t *testing.T) {
	w := newWorld(t)
	repo := w.repo(t, "app")
	ctx := context.Background()
	in := fb.NewPullRequest{SourceBranch: "feature", TargetBranch: "main", Title: "PROJ-2 work", Description: "d"}

	// Identical requests racing past the open pull request check share a token.
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr, err := w.p.CreatePullRequest(ctx, good, repo, in)
			if e := fb.AsError(err); e != nil && e.Code == fb.EAlreadyExists {
				ids[i] = e.Existing.ID
			} else if err != nil {
				t.Errorf("concurrent create: %v", err)
			} else {
				ids[i] = pr.ID
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("pull requests %v, want one", ids)
			break
		}
	}
	if c := w.fake.PullRequestCount(); c != 1 {
		t.Fatalf("%d pull requests created, want 1", c)
	}

	// Each time the pull request is closed, the same request opens a new one:
	// the token chain steps over the closed ones.
	seen := map[string]bool{ids[0]: true}
	last := ids[0]
	for round := range 3 {
		w.fake.SetPullRequestStatus(last, "CLOSED")
		pr, err := w.p.CreatePullRequest(ctx, good, repo, in)
		if err != nil || seen[pr.ID] {
			t.Fatalf("round %d: %+v, %v; want a new pull request", round, pr, err)
		}
		seen[pr.ID], last = true, pr.ID
	}
	if c := w.fake.PullRequestCount(); c != 4 {
		t.Errorf("%d pull requests, want 4", c)
	}
}

// TestThrottlingAnsweredAtOnce checks that the SDK neither sleeps nor
// retries on throttling: each action makes exactly one request and returns
// the throttling, with the wait, to the caller.
func TestThrottlingAnsweredAtOnce(t *testing.T) {
	w := newWorld(t)
	repo := w.repo(t, "app")
	actions := map[string]func(context.Context) error{
		"Validate":     func(ctx context.Context) error { _, err := w.p.Validate(ctx, good); return err },
		"Repositories": func(ctx context.Context) error { _, err := w.p.Repositories(ctx, good); return err },
		"Branches":     func(ctx context.Context) error { _, err := w.p.Branches(ctx, good, repo); return err },
		"CreateBranch": func(ctx context.Context) error { _, err := w.p.CreateBranch(ctx, good, repo, "PROJ-1", ""); return err },
		"CreatePullRequest": func(ctx context.Context) error {
			_, err := w.p.CreatePullRequest(ctx, good, repo, fb.NewPullRequest{SourceBranch: "feature", Title: "t"})
			return err
		},
	}
	w.fake.SetRateLimited(true)
	for name, act := range actions {
		w.fake.ResetCalls()
		// Hang guard only: an SDK that waited out the throttling would end
		// with this context's error instead of the throttling.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := act(ctx)
		guardErr := ctx.Err()
		cancel()
		if guardErr != nil {
			t.Errorf("%s: still waiting when the hang guard expired (%v)", name, guardErr)
		}
		e := fb.AsError(err)
		if e == nil || e.Code != fb.ERateLimited || e.RetryAfter != defaultRetryAfter {
			t.Errorf("%s: %v, want %s with retryAfter %d", name, err, fb.ERateLimited, defaultRetryAfter)
		}
		if n := len(w.fake.Calls()); n != 1 {
			t.Errorf("%s: %d requests, want exactly 1 (no retry)", name, n)
		}
	}
}

// canned is an endpoint that answers every CodeCommit call with one error,
// except the operations in ok, and counts the requests per operation.
type canned struct {
	mu     sync.Mutex
	calls  map[string]int
	status int
	header http.Header
	body   string
	ok     map[string]string
}

func (c *canned) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "CodeCommit_20150413.")
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
	if body, ok := c.ok[op]; ok {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(body))
		return
	}
	for k, v := range c.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(c.status)
	w.Write([]byte(c.body))
}

func cannedServer(t *testing.T, c *canned) provider.Provider {
	t.Helper()
	c.calls = map[string]int{}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return newProvider(t, fb.Integration{Region: testRegion, BaseURL: srv.URL})
}

func jsonError(code, message string) string {
	return fmt.Sprintf(`{"__type":%q,"message":%q}`, code, message)
}

func TestErrorMapping(t *testing.T) {
	repo := fb.Repository{Name: "app", DefaultBranch: "main"}
	getBranchOK := map[string]string{"GetBranch": `{"branch":{"branchName":"main","commitId":"` + strings.Repeat("a", 40) + `"}}`}
	tests := []struct {
		code       string
		status     int
		header     http.Header
		want       fb.Code
		retryAfter int
	}{
		{"UnrecognizedClientException", 400, nil, fb.ETokenRejected, 0},
		{"InvalidSignatureException", 400, nil, fb.ETokenRejected, 0},
		{"ExpiredTokenException", 400, nil, fb.ETokenRejected, 0},
		{"AccessDeniedException", 400, nil, fb.EProviderDenied, 0},
		{"BranchNameExistsException", 400, nil, fb.EAlreadyExists, 0},
		{"BranchDoesNotExistException", 400, nil, fb.EProviderRejected, 0},
		{"CommitDoesNotExistException", 400, nil, fb.EProviderRejected, 0},
		{"InvalidBranchNameException", 400, nil, fb.EProviderRejected, 0},
		{"RepositoryDoesNotExistException", 400, nil, fb.ENotFound, 0},
		{"ThrottlingException", 400, nil, fb.ERateLimited, defaultRetryAfter},
		{"TooManyRequestsException", 429, http.Header{"Retry-After": {"7"}}, fb.ERateLimited, 7},
		{"SomethingNew", 429, nil, fb.ERateLimited, defaultRetryAfter},
		{"ServiceUnavailable", 503, nil, fb.EProviderUnavailable, 0},
		{"InternalFailure", 500, nil, fb.EProviderUnavailable, 0},
		{"SomethingNewException", 400, nil, fb.EProviderRejected, 0},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			c := &canned{status: tc.status, header: tc.header, body: jsonError(tc.code, "AWS says no"), ok: getBranchOK}
			p := cannedServer(t, c)
			_, err := p.CreateBranch(context.Background(), good, repo, "PROJ-1", "")
			e := fb.AsError(err)
			if e == nil || e.Code != tc.want || e.RetryAfter != tc.retryAfter || e.Message == "" {
				t.Fatalf("CreateBranch = %v, want %s (retryAfter %d) with a message", err, tc.want, tc.retryAfter)
			}
			if c.calls["CreateBranch"] != 1 {
				t.Errorf("CreateBranch sent %d times, want once: writes are never retried", c.calls["CreateBranch"])
			}
			switch tc.want {
			case fb.EProviderDenied:
				if len(e.MissingScopes) != 1 || e.MissingScopes[0] != "codecommit:CreateBranch" || !strings.Contains(e.Message, "codecommit:CreateBranch") {
					t.Errorf("denied: scopes %v, message %q; want codecommit:CreateBranch", e.MissingScopes, e.Message)
				}
			case fb.EAlreadyExists:
				if e.Existing == nil || e.Existing.Name != "PROJ-1" || e.Existing.WebURL == "" {
					t.Errorf("existing = %+v, want the branch PROJ-1", e.Existing)
				}
			}
		})
	}
}

func TestReadsRetryBrieflyWritesNever(t *testing.T) {
	c := &canned{status: 503, body: jsonError("ServiceUnavailable", "down")}
	p := cannedServer(t, c)
	ctx := context.Background()
	_, err := p.Branches(ctx, good, fb.Repository{Name: "app"})
	if fb.ErrorCode(err) != fb.EProviderUnavailable || c.calls["ListBranches"] != 3 {
		t.Errorf("Branches = %v after %d requests, want %s after 3", err, c.calls["ListBranches"], fb.EProviderUnavailable)
	}
	c.ok = map[string]string{"GetBranch": `{"branch":{"branchName":"main","commitId":"abc"}}`, "ListPullRequests": `{"pullRequestIds":[]}`}
	_, err = p.CreateBranch(ctx, good, fb.Repository{Name: "app", DefaultBranch: "main"}, "x", "")
	if fb.ErrorCode(err) != fb.EProviderUnavailable || c.calls["CreateBranch"] != 1 {
		t.Errorf("CreateBranch = %v after %d requests, want %s after 1", err, c.calls["CreateBranch"], fb.EProviderUnavailable)
	}
	_, err = p.CreatePullRequest(ctx, good, fb.Repository{Name: "app", DefaultBranch: "main"}, fb.NewPullRequest{SourceBranch: "x", Title: "t"})
	if fb.ErrorCode(err) != fb.EProviderUnavailable || c.calls["CreatePullRequest"] != 1 {
		t.Errorf("CreatePullRequest = %v after %d requests, want %s after 1", err, c.calls["CreatePullRequest"], fb.EProviderUnavailable)
	}
	// A 503 that says when to come back is not retried: no request waits it out.
	// The context is a hang guard only: a retry that waited would end with
	// its error instead of the 503's.
	c.header, c.calls = http.Header{"Retry-After": {"30"}}, map[string]int{}
	guard, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = p.Branches(guard, good, fb.Repository{Name: "app"})
	if fb.ErrorCode(err) != fb.EProviderUnavailable || c.calls["ListBranches"] != 1 || guard.Err() != nil {
		t.Errorf("Branches with Retry-After = %v after %d requests (hang guard: %v), want %s after exactly 1",
			err, c.calls["ListBranches"], guard.Err(), fb.EProviderUnavailable)
	}
}

func TestNoSecretInErrors(t *testing.T) {
	w := newWorld(t)
	repo := w.repo(t, "app")
	ctx := context.Background()
	wrong := fb.Credential{AccessKeyID: good.AccessKeyID, SecretAccessKey: "wrong/secret+key+that+must+not+leak"}
	echo := &canned{status: 400, ok: map[string]string{"GetBranch": `{"branch":{"branchName":"main","commitId":"abc"}}`},
		body: jsonError("AccessDeniedException", "key "+good.AccessKeyID+" secret "+good.SecretAccessKey)}
	echoP := cannedServer(t, echo)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	down := newProvider(t, fb.Integration{Region: testRegion, BaseURL: closed.URL})

	var errs []error
	collect := func(_ any, err error) { errs = append(errs, err) }
	for _, cred := range []fb.Credential{wrong, unknown, expired} {
		collect(w.p.Validate(ctx, cred))
		collect(w.p.Repositories(ctx, cred))
	}
	for _, cred := range []fb.Credential{good, wrong, unknown, expired, readOnly} {
		collect(w.p.CreateBranch(ctx, cred, repo, "main", ""))
		collect(w.p.CreatePullRequest(ctx, cred, repo, fb.NewPullRequest{SourceBranch: "main", Title: "t"}))
	}
	collect(echoP.CreateBranch(ctx, good, repo, "x", ""))
	collect(down.Validate(ctx, good))
	w.fake.SetRateLimited(true)
	collect(w.p.Validate(ctx, good))
	w.fake.SetFailing(true)
	collect(w.p.Repositories(ctx, good))

	for i, err := range errs {
		if err == nil {
			t.Errorf("error %d: nil, want a failure", i)
			continue
		}
		e := fb.AsError(err)
		if e == nil {
			t.Errorf("error %d is not a forgebridge error: %v", i, err)
			continue
		}
		text := fmt.Sprintf("%v %+v %#v %s", err, err, e, e.Message)
		for _, cred := range []fb.Credential{good, wrong, unknown, expired, readOnly} {
			if strings.Contains(text, cred.SecretAccessKey) || strings.Contains(text, cred.AccessKeyID) {
				t.Errorf("error %d (%s) shows a credential: %s", i, e.Code, text)
			}
		}
	}
}

// rewrite records the host each request was for and hands it to the fake,
// keeping the Host header the request was signed for.
type rewrite struct {
	mu     sync.Mutex
	hosts  map[string]int
	target *url.URL
}

func (rw *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	rw.mu.Lock()
	rw.hosts[req.URL.Host]++
	rw.mu.Unlock()
	out := req.Clone(req.Context())
	out.Host = req.URL.Host
	out.URL.Scheme, out.URL.Host = rw.target.Scheme, rw.target.Host
	return http.DefaultTransport.RoundTrip(out)
}

func TestRegionalEndpoints(t *testing.T) {
	w := newWorld(t)
	target, _ := url.Parse(w.fake.URL())
	rw := &rewrite{hosts: map[string]int{}, target: target}
	p, err := New(fb.Integration{Region: testRegion}, provider.Options{HTTPClient: &http.Client{Transport: rw}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.Validate(ctx, good); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	repos, err := p.Repositories(ctx, good)
	if err != nil || len(repos) != 5 {
		t.Fatalf("Repositories = %d, %v", len(repos), err)
	}
	want := map[string]int{"sts.eu-west-1.amazonaws.com": 1, "codecommit.eu-west-1.amazonaws.com": 3 + 1}
	if fmt.Sprint(rw.hosts) != fmt.Sprint(want) {
		t.Errorf("requests went to %v, want %v", rw.hosts, want)
	}
	// With a base URL, that endpoint alone is called for both services.
	rw.hosts = map[string]int{}
	p = newProvider(t, fb.Integration{Region: testRegion, BaseURL: w.fake.URL() + "/"})
	if _, err := p.Validate(ctx, good); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, c := range w.fake.Calls() {
		if c.AccessKeyID != good.AccessKeyID {
			t.Errorf("call %+v not signed by the good key", c)
		}
	}
}
