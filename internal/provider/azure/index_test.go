package azure_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/azure"
	"github.com/forgebridge/forgebridge/internal/provider/azure/fakeazure"
)

// pullsWorld is newWorld with pull requests in every state on Platform/api,
// listed two a page, dated by a clock the test moves.
type pullsWorld struct {
	*world
	now    time.Time
	opened time.Time // when they were all opened
	closed time.Time // when 2 was completed and 3 abandoned
	long   string    // 4's description, longer than a listing gives
}

func newPullsWorld(t *testing.T) *pullsWorld {
	t.Helper()
	t.Cleanup(azure.SetPullsPageSize(2))
	w := &pullsWorld{world: newWorld(t), opened: time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)}
	w.now = w.opened
	w.fake.SetClock(func() time.Time { return w.now })
	w.long = strings.Repeat("Moves the session store. ", 20) + "Also fixes PROJ-9."
	open := []struct {
		branch, title, desc string
		draft               bool
	}{
		{"PROJ-1-login", "PROJ-1 Login", "Adds the login form.", true},
		{"PROJ-2-logout", "PROJ-2 Logout", "", false},
		{"spike", "Try a cache", "Not needed after all.", true},
		{"sessions", "Sessions", w.long, false},
		{"PROJ-5-audit", "PROJ-5 Audit", "Logs who did what.", false},
	}
	for i, o := range open {
		w.api.AddBranch(o.branch)
		id, err := w.api.OpenPull(o.branch, "main", o.title, o.desc, o.draft)
		if err != nil || id != i+1 {
			t.Fatalf("OpenPull %s = %d, %v", o.branch, id, err)
		}
	}
	w.closed = w.opened.Add(time.Minute)
	w.now = w.closed
	for _, s := range []struct {
		id     int
		status string
	}{{2, "completed"}, {3, "abandoned"}, {5, "abandoned"}, {5, "active"}} {
		if err := w.api.SetPullState(s.id, s.status); err != nil {
			t.Fatalf("SetPullState(%d, %s): %v", s.id, s.status, err)
		}
	}
	return w
}

func listPulls(t *testing.T, p provider.Provider, pat string, repo fb.Repository, since time.Time) ([]fb.PullRequest, error) {
	t.Helper()
	var got []fb.PullRequest
	err := p.(provider.PullRequestLister).PullRequests(context.Background(), cred(pat), repo, since, func(pr fb.PullRequest) error {
		got = append(got, pr)
		return nil
	})
	return got, err
}

func TestPullRequests(t *testing.T) {
	w := newPullsWorld(t)
	webURL := func(id int) string { return fmt.Sprintf("%s/pullrequest/%d", w.api.WebURL(), id) }
	all := []fb.PullRequest{
		{ID: "5", Number: 5, Title: "PROJ-5 Audit", WebURL: webURL(5), SourceBranch: "PROJ-5-audit", TargetBranch: "main",
			Description: "Logs who did what.", State: fb.PullOpen, Author: "author@example.com", UpdatedAt: w.opened},
		{ID: "4", Number: 4, Title: "Sessions", WebURL: webURL(4), SourceBranch: "sessions", TargetBranch: "main",
			Description: w.long, State: fb.PullOpen, Author: "author@example.com", UpdatedAt: w.opened},
		{ID: "3", Number: 3, Title: "Try a cache", WebURL: webURL(3), SourceBranch: "spike", TargetBranch: "main",
			Description: "Not needed after all.", State: fb.PullDeclined, Author: "author@example.com", UpdatedAt: w.closed},
		{ID: "2", Number: 2, Title: "PROJ-2 Logout", WebURL: webURL(2), SourceBranch: "PROJ-2-logout", TargetBranch: "main",
			State: fb.PullMerged, Author: "author@example.com", UpdatedAt: w.closed},
		{ID: "1", Number: 1, Title: "PROJ-1 Login", WebURL: webURL(1), SourceBranch: "PROJ-1-login", TargetBranch: "main",
			Description: "Adds the login form.", State: fb.PullOpen, Draft: true, Author: "author@example.com", UpdatedAt: w.opened},
	}
	tests := []struct {
		name          string
		kind          fb.Kind
		serverVersion string
		max           string // newest api-version of the fake
		since         time.Time
		want          []int // indexes into all
		noDrafts      bool  // the api-version has no isDraft
	}{
		{"every state", fb.KindAzureDevOps, "", "7.1", time.Time{}, []int{0, 1, 2, 3, 4}, false},
		{"since: closed before it left out", fb.KindAzureDevOps, "", "7.1", w.closed.Add(2 * time.Hour), []int{0, 1, 4}, false},
		{"since: within the clock slack", fb.KindVSTS, "", "7.1", w.closed.Add(30 * time.Minute), []int{0, 1, 2, 3, 4}, false},
		{"tfs 2020 has drafts", fb.KindTFS, "2020", "6.0", time.Time{}, []int{0, 1, 2, 3, 4}, false},
		{"tfs 2019 has none", fb.KindTFS, "2019", "5.0", time.Time{}, []int{0, 1, 2, 3, 4}, true},
		// Before 7.1 the server ignores the time range and lists every closed one.
		{"tfs 2020, since: the driver leaves them out", fb.KindTFS, "2020", "6.0", w.closed.Add(2 * time.Hour), []int{0, 1, 4}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.fake.SetAPIVersionRange("1.0", tt.max)
			p := newProvider(t, fb.Integration{Kind: tt.kind, BaseURL: w.fake.URL(), ServerVersion: tt.serverVersion})
			repo := apiRepo(t, p)
			w.fake.ResetCalls()
			got, err := listPulls(t, p, goodPAT, repo, tt.since)
			if err != nil {
				t.Fatalf("PullRequests: %v", err)
			}
			var want []fb.PullRequest
			for _, i := range tt.want {
				pr := all[i]
				pr.Draft = pr.Draft && !tt.noDrafts
				want = append(want, pr)
			}
			// Listed by status with since: compare by id.
			byNumber := func(a, b fb.PullRequest) int { return b.Number - a.Number }
			slices.SortFunc(got, byNumber)
			slices.SortFunc(want, byNumber)
			if len(got) != len(want) {
				t.Fatalf("%d pull requests, want %d: %+v", len(got), len(want), got)
			}
			for i := range want {
				if !got[i].UpdatedAt.Equal(want[i].UpdatedAt) {
					t.Errorf("%s updated at %v, want %v", want[i].ID, got[i].UpdatedAt, want[i].UpdatedAt)
				}
				got[i].UpdatedAt = want[i].UpdatedAt
				if got[i] != want[i] {
					t.Errorf("pull request %d:\n got %+v\nwant %+v", i, got[i], want[i])
				}
			}
			// Pages of two; 4 read alone for its whole description. Without
			// since, three pages of every state. With it: the three active
			// ones (two pages), then completed and abandoned ones closed
			// after since less the slack (a page each).
			pages := map[string]int{}
			reads := 0
			minTime := tt.since.Add(-time.Hour).UTC().Format(time.RFC3339)
			for _, c := range w.fake.Calls() {
				q, _ := url.ParseQuery(c.Query)
				switch c.Path {
				case "/contoso/Platform/_apis/git/repositories/" + w.api.ID + "/pullrequests":
					status := q.Get("searchCriteria.status")
					closedRange := status == "completed" || status == "abandoned"
					if q.Get("$top") != "2" || q.Get("$skip") != fmt.Sprint(2*pages[status]) ||
						closedRange != (q.Get("searchCriteria.queryTimeRangeType") == "closed") ||
						closedRange != (q.Get("searchCriteria.minTime") == minTime) {
						t.Errorf("page %d of %s asked with %s", pages[status], status, c.Query)
					}
					pages[status]++
				case "/contoso/Platform/_apis/git/repositories/" + w.api.ID + "/pullrequests/4":
					reads++
				default:
					t.Errorf("unexpected call %s %s", c.Method, c.Path)
				}
			}
			wantPages := map[string]int{"all": 3}
			if !tt.since.IsZero() {
				wantPages = map[string]int{"active": 2, "completed": 1, "abandoned": 1}
			}
			if !maps.Equal(pages, wantPages) || reads != 1 {
				t.Errorf("pages %v and %d reads, want %v and 1", pages, reads, wantPages)
			}
		})
	}
}

func TestPullRequestsRefused(t *testing.T) {
	const noCodePAT = "no-code-pat-77d1e0"
	w := newPullsWorld(t)
	w.fake.AddToken(noCodePAT, fakeazure.Token{Account: "wit@example.com", NoCodeScope: true})
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	repo := apiRepo(t, p)
	tests := []struct {
		name   string
		pat    string
		code   fb.Code
		scopes []string
	}{
		{"unknown token", unknownPAT, fb.ETokenRejected, nil},
		{"expired token", expiredPAT, fb.ETokenRejected, nil},
		{"no Code scope", noCodePAT, fb.EProviderDenied, []string{"vso.code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := listPulls(t, p, tt.pat, repo, time.Time{})
			e := fb.AsError(err)
			if e == nil || e.Code != tt.code || len(got) != 0 {
				t.Fatalf("PullRequests = %d, %v; want %s", len(got), err, tt.code)
			}
			if strings.Join(e.MissingScopes, ",") != strings.Join(tt.scopes, ",") {
				t.Errorf("missing scopes %v, want %v", e.MissingScopes, tt.scopes)
			}
		})
	}
	t.Run("fn stops it", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := p.(provider.PullRequestLister).PullRequests(context.Background(), cred(goodPAT), repo, time.Time{},
			func(fb.PullRequest) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("PullRequests = %v after %d calls of fn, want stop after 1", err, calls)
		}
	})
}

func basicHeader(pat string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(":"+pat))
}

// TestGitRemoteLayouts: the clone URL of each URL layout, without
// dev.azure.com's user info, and the Basic header of the PAT.
func TestGitRemoteLayouts(t *testing.T) {
	for _, layout := range []struct {
		name   string
		layout fakeazure.Layout
		kind   fb.Kind
	}{
		{"dev.azure.com", fakeazure.DevAzure, fb.KindAzureDevOps},
		{"visualstudio.com", fakeazure.VisualStudio, fb.KindVSTS},
		{"tfs", fakeazure.OnPremises, fb.KindTFS},
	} {
		t.Run(layout.name, func(t *testing.T) {
			f := fakeazure.NewLayout("contoso", layout.layout)
			t.Cleanup(f.Close)
			f.AddToken(goodPAT, fakeazure.Token{Account: "alice@example.com"})
			api := f.AddRepo("Platform Team", "api", "main")
			p := newProvider(t, fb.Integration{Kind: layout.kind, BaseURL: f.URL(), ServerVersion: "2022"})
			repo := apiRepo2(t, p, "Platform Team/api")
			r, err := p.(provider.Mirrorer).GitRemote(context.Background(), cred(goodPAT), repo)
			if err != nil {
				t.Fatalf("GitRemote: %v", err)
			}
			if r.URL != api.WebURL() || r.Header != basicHeader(goodPAT) {
				t.Errorf("GitRemote = %s %q, want %s and the PAT's Basic header", r.URL, r.Header, api.WebURL())
			}
			if strings.Contains(r.String(), goodPAT) || strings.Contains(r.String(), r.Header) {
				t.Errorf("String() shows the credential: %s", r)
			}
		})
	}
}

func apiRepo2(t *testing.T, p provider.Provider, fullName string) fb.Repository {
	t.Helper()
	repos, err := p.Repositories(context.Background(), cred(goodPAT))
	if err != nil {
		t.Fatalf("Repositories: %v", err)
	}
	for _, r := range repos {
		if r.FullName == fullName {
			return r
		}
	}
	t.Fatalf("%s not among %+v", fullName, repos)
	return fb.Repository{}
}

// redirectTransport sends every request to srv, whatever its URL's host:
// the driver believes it talks to https://dev.azure.com.
type redirectTransport struct{ srv *httptest.Server }

func (rt redirectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	u, _ := url.Parse(rt.srv.URL)
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = u.Scheme, u.Host
	return rt.srv.Client().Transport.RoundTrip(r)
}

// TestGitRemoteHost: a clone URL off the integration's host is refused
// (EInvalid) and user info is dropped.
func TestGitRemoteHost(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "repository.json"))
	if err != nil {
		t.Fatal(err)
	}
	remote := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if remote == "" {
			w.Write(fixture)
			return
		}
		fmt.Fprintf(w, `{"id":"r1","name":"api","project":{"name":"Platform"},"remoteUrl":%q}`, remote)
	}))
	defer srv.Close()
	local := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name    string
		base    string // the integration's URL; https://dev.azure.com goes to srv too
		remote  string // "": testdata/repository.json, Microsoft's example
		wantURL string // "" when refused
	}{
		{"documented answer", "https://dev.azure.com/fabrikam", "",
			"https://dev.azure.com/fabrikam/Fabrikam-Fiber-Git/_git/Fabrikam-Fiber-Git"},
		{"user and password dropped", srv.URL + "/contoso", "http://contoso:p4ss@" + local + "/contoso/Platform/_git/api",
			srv.URL + "/contoso/Platform/_git/api"},
		{"host in another case", "https://dev.azure.com/fabrikam", "https://fabrikam@Dev.Azure.com/fabrikam/P/_git/r",
			"https://Dev.Azure.com/fabrikam/P/_git/r"},
		{"explicit default port", "https://dev.azure.com/fabrikam", "https://dev.azure.com:443/fabrikam/P/_git/r",
			"https://dev.azure.com:443/fabrikam/P/_git/r"},
		{"another host", "https://dev.azure.com/fabrikam", "https://fabrikam@evil.example.com/fabrikam/P/_git/r", ""},
		{"organisation host", "https://dev.azure.com/fabrikam", "https://fabrikam.visualstudio.com/P/_git/r", ""},
		{"another port", srv.URL + "/contoso", "http://127.0.0.1:1/contoso/P/_git/r", ""},
		{"localhost is another name", srv.URL + "/contoso", "http://localhost" + local[strings.Index(local, ":"):] + "/contoso/P/_git/r", ""},
		{"no TLS downgrade", "https://dev.azure.com/fabrikam", "http://dev.azure.com/fabrikam/P/_git/r", ""},
		{"ssh", "https://dev.azure.com/fabrikam", "git@ssh.dev.azure.com:v3/fabrikam/P/r", ""},
		{"ssh URL", "https://dev.azure.com/fabrikam", "ssh://git@ssh.dev.azure.com/v3/fabrikam/P/r", ""},
		{"relative", "https://dev.azure.com/fabrikam", "/fabrikam/P/_git/r", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote = tt.remote
			p, err := azure.New(fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: tt.base},
				provider.Options{HTTPClient: &http.Client{Transport: redirectTransport{srv}}})
			if err != nil {
				t.Fatal(err)
			}
			repo := fb.Repository{ExternalID: "278d5cd2-584d-4b63-824a-2ba458937249", FullName: "Fabrikam-Fiber-Git/Fabrikam-Fiber-Git"}
			r, err := p.(provider.Mirrorer).GitRemote(context.Background(), cred(goodPAT), repo)
			if tt.wantURL == "" {
				if fb.ErrorCode(err) != fb.EInvalid || r.URL != "" || r.Header != "" {
					t.Errorf("GitRemote = %s, %v; want %s and nothing", r, err, fb.EInvalid)
				}
				if err != nil && strings.Contains(fb.ErrorMessage(err), "p4ss") {
					t.Errorf("the message shows the URL's password: %v", err)
				}
				return
			}
			if err != nil || r.URL != tt.wantURL || r.Header != basicHeader(goodPAT) {
				t.Errorf("GitRemote = %s %q, %v; want %s", r.URL, r.Header, err, tt.wantURL)
			}
		})
	}
}

// git runs git with the remote's header in its environment only, as the
// indexer does, in a clean configuration.
func gitClone(t *testing.T, remote provider.GitRemote, dir string) error {
	t.Helper()
	cmd := exec.Command("git", "clone", "--mirror", "--quiet", remote.URL, dir)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME="+t.TempDir(),
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0="+remote.Header)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// TestGitCloneMirror clones the fake's repositories with git itself, with
// the remote GitRemote gives: the refs are the fake's; a PAT Azure would
// refuse gets nothing.
func TestGitCloneMirror(t *testing.T) {
	const noCodePAT = "no-code-pat-5b2c91"
	for _, layout := range []struct {
		name    string
		layout  fakeazure.Layout
		kind    fb.Kind
		refused []string // PATs git must be refused with
	}{
		{"dev.azure.com", fakeazure.DevAzure, fb.KindAzureDevOps, []string{unknownPAT, expiredPAT, noCodePAT}},
		{"tfs", fakeazure.OnPremises, fb.KindTFS, []string{unknownPAT}},
	} {
		t.Run(layout.name, func(t *testing.T) {
			f := fakeazure.NewLayout("contoso", layout.layout)
			t.Cleanup(f.Close)
			f.AddToken(goodPAT, fakeazure.Token{Account: "alice@example.com"})
			f.AddToken(expiredPAT, fakeazure.Token{Expired: true})
			f.AddToken(noCodePAT, fakeazure.Token{Account: "wit@example.com", NoCodeScope: true})
			api := f.AddRepo("Platform", "api", "main")
			feature := api.AddBranch("PROJ-1-login")
			if err := api.Tag("v1.0", feature); err != nil {
				t.Fatal(err)
			}
			p := newProvider(t, fb.Integration{Kind: layout.kind, BaseURL: f.URL(), ServerVersion: "2022"})
			repo := apiRepo2(t, p, "Platform/api")
			remote, err := p.(provider.Mirrorer).GitRemote(context.Background(), cred(goodPAT), repo)
			if err != nil {
				t.Fatalf("GitRemote: %v", err)
			}

			dir := filepath.Join(t.TempDir(), "api.git")
			f.ResetCalls()
			if err := gitClone(t, remote, dir); err != nil {
				t.Fatalf("clone with the good PAT: %v", err)
			}
			out, err := exec.Command("git", "-C", dir, "for-each-ref", "--format=%(refname) %(objectname)").Output()
			if err != nil {
				t.Fatal(err)
			}
			main, _ := api.Branch("main")
			want := fmt.Sprintf("refs/heads/PROJ-1-login %s\nrefs/heads/main %s\nrefs/tags/v1.0 %s\n", feature, main, feature)
			if string(out) != want {
				t.Errorf("mirror refs:\n%s\nwant:\n%s", out, want)
			}
			gitCalls := 0
			for _, c := range f.Calls() {
				if strings.Contains(c.Path, "/_git/") {
					gitCalls++
					if c.Token != goodPAT {
						t.Errorf("git call %s %s authenticated with %q", c.Method, c.Path, c.Token)
					}
				}
			}
			if gitCalls < 2 { // info/refs, then git-upload-pack
				t.Errorf("%d git calls recorded, want the ref advertisement and the fetch", gitCalls)
			}

			for _, pat := range layout.refused {
				bad := provider.GitRemote{URL: remote.URL, Header: basicHeader(pat)}
				// Refused with 401, git asks for other credentials, and may not.
				err := gitClone(t, bad, filepath.Join(t.TempDir(), "x.git"))
				if err == nil || !strings.Contains(err.Error(), "terminal prompts disabled") {
					t.Errorf("clone with %s: %v, want a refusal of the credential", pat, err)
				}
			}
			if _, err := p.(provider.Mirrorer).GitRemote(context.Background(), cred(noCodePAT), repo); fb.ErrorCode(err) != fb.EProviderDenied {
				t.Errorf("GitRemote without the Code scope = %v, want %s", err, fb.EProviderDenied)
			}
		})
	}
}
