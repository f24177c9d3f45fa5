package gitlab

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/gitlab/fakegitlab"
)

// listPulls lists every pull request of repo updated since.
func listPulls(t *testing.T, p provider.Provider, cred fb.Credential, repo fb.Repository, since time.Time) ([]fb.PullRequest, error) {
	t.Helper()
	var out []fb.PullRequest
	err := p.(provider.PullRequestLister).PullRequests(ctx, cred, repo, since, func(pr fb.PullRequest) error {
		out = append(out, pr)
		return nil
	})
	return out, err
}

// TestPullRequests lists 230 merge requests in every state over three
// pages, then only those updated since a time.
func TestPullRequests(t *testing.T) {
	f := newFixture(t, fb.KindGitLab)
	const n = 230
	var branches []string
	for i := range 5 {
		b := fmt.Sprintf("PROJ-%d-work", i+1)
		if _, err := f.app.Push(b, fmt.Sprintf("PROJ-%d work\n", i+1)); err != nil {
			t.Fatal(err)
		}
		branches = append(branches, b)
	}
	// Each merge request but the last of each branch is closed before the
	// next opens (one open merge request per branch pair); a few are merged,
	// one is being merged (locked), some are drafts.
	var cut time.Time
	for i := range n {
		if i == n-40 {
			f.fake.Advance(time.Hour)
		}
		iid, err := f.app.OpenPull(branches[i%5], "main", fmt.Sprintf("PROJ-%d change %d", i%5+1, i), "about PROJ-9", i%3 == 0)
		if err != nil {
			t.Fatal(err)
		}
		if i == n-40 {
			cut = f.app.MergeRequests()[iid-1].UpdatedAt
		}
		state := "closed"
		switch {
		case i == 10 || i == n-20:
			state = "merged"
		case i == n-5:
			state = "locked"
		case i >= n-5:
			continue // open
		}
		if err := f.app.SetPullState(iid, state); err != nil {
			t.Fatal(err)
		}
	}
	want := map[int]fakegitlab.MergeRequest{}
	for _, m := range f.app.MergeRequests() {
		want[m.IID] = m
	}
	states := map[string]fb.PullState{"opened": fb.PullOpen, "locked": fb.PullOpen, "merged": fb.PullMerged, "closed": fb.PullDeclined}

	for _, tc := range []struct {
		name  string
		since time.Time
		count int
		pages int
	}{
		{"all", time.Time{}, n, 3},
		{"updated since", cut, 40, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.fake.ResetCalls()
			prs, err := listPulls(t, f.p, good, f.appRepo(), tc.since)
			if err != nil {
				t.Fatalf("PullRequests: %v", err)
			}
			if len(prs) != tc.count {
				t.Fatalf("%d pull requests, want %d", len(prs), tc.count)
			}
			seen := map[int]bool{}
			for i, pr := range prs {
				m := want[pr.Number]
				if seen[pr.Number] {
					t.Errorf("!%d listed twice", pr.Number)
				}
				seen[pr.Number] = true
				if i > 0 && pr.UpdatedAt.After(prs[i-1].UpdatedAt) {
					t.Errorf("!%d updated %v after !%d listed before it", pr.Number, pr.UpdatedAt, prs[i-1].Number)
				}
				if pr.ID != fmt.Sprint(m.ID) || pr.Title != m.Title || pr.State != states[m.State] ||
					pr.Draft != (m.Draft && pr.State == fb.PullOpen) || pr.Author != m.Author || pr.Description != "about PROJ-9" ||
					pr.SourceBranch != m.SourceBranch || pr.TargetBranch != "main" || !pr.UpdatedAt.Equal(m.UpdatedAt) ||
					pr.WebURL != fmt.Sprintf("%s/acme/sub/app/-/merge_requests/%d", f.fake.URL(), m.IID) {
					t.Errorf("listed %+v, GitLab has %+v", pr, m)
				}
				if pr.UpdatedAt.Before(tc.since) {
					t.Errorf("!%d updated %v, before %v", pr.Number, pr.UpdatedAt, tc.since)
				}
			}
			calls := f.fake.Calls()
			if len(calls) != tc.pages {
				t.Fatalf("%d requests (%s), want %d pages", len(calls), paths(calls), tc.pages)
			}
			for i, c := range calls {
				q, _ := url.ParseQuery(c.Query)
				if c.RawPath != fmt.Sprintf("/api/v4/projects/%d/merge_requests", f.app.ID) || q.Get("state") != "all" ||
					q.Get("order_by") != "updated_at" || q.Get("sort") != "desc" || q.Get("per_page") != "100" ||
					i > 0 && q.Get("page") != fmt.Sprint(i+1) || c.Token != good.Token {
					t.Errorf("request %d: %s %s?%s", i, c.Method, c.RawPath, c.Query)
				}
				if after := q.Get("updated_after"); tc.since.IsZero() && after != "" ||
					!tc.since.IsZero() && after != tc.since.UTC().Format("2006-01-02T15:04:05.000Z") {
					t.Errorf("request %d: updated_after=%q, since %v", i, after, tc.since)
				}
			}
		})
	}

	stop := errors.New("stop")
	calls := 0
	err := f.p.(provider.PullRequestLister).PullRequests(ctx, good, f.appRepo(), time.Time{}, func(fb.PullRequest) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("PullRequests with fn failing = %v after %d calls, want fn's error after 1", err, calls)
	}
}

func TestPullRequestsErrors(t *testing.T) {
	f := newFixture(t, fb.KindGitLabSelfManaged)
	hidden := f.fake.AddProject("acme/hidden", "main")
	hidden.SetAccess("alice", fakegitlab.NoAccess)
	noMRs := f.fake.AddProject("acme/no-mrs", "main")
	noMRs.SetMergeRequestsEnabled(false)
	repoOf := func(p *fakegitlab.Project) fb.Repository {
		return fb.Repository{ExternalID: fmt.Sprint(p.ID), FullName: p.FullPath, WebURL: f.fake.URL() + "/" + p.FullPath}
	}
	for _, tt := range []struct {
		name string
		cred fb.Credential
		repo fb.Repository
		set  func(bool)
		want fb.Code
	}{
		{"unknown token", unknown, f.appRepo(), nil, fb.ETokenRejected},
		{"expired token", expired, f.appRepo(), nil, fb.ETokenRejected},
		{"no token", fb.Credential{}, f.appRepo(), nil, fb.ETokenRejected},
		{"hidden project", good, repoOf(hidden), nil, fb.EProviderDenied},
		{"merge requests off", good, repoOf(noMRs), nil, fb.EProviderDenied}, // GitLab answers 403
		{"rate limited", good, f.appRepo(), f.fake.SetRateLimited, fb.ERateLimited},
		{"failing", good, f.appRepo(), f.fake.SetFailing, fb.EProviderUnavailable},
		{"no project", good, fb.Repository{}, nil, fb.EInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.set != nil {
				tt.set(true)
				defer tt.set(false)
			}
			_, err := listPulls(t, f.p, tt.cred, tt.repo, time.Time{})
			e := fb.AsError(err)
			if e == nil || e.Code != tt.want {
				t.Fatalf("PullRequests = %v, want %s", err, tt.want)
			}
			if tt.want == fb.ERateLimited && e.RetryAfter < 1 {
				t.Errorf("RetryAfter = %d", e.RetryAfter)
			}
			if strings.Contains(err.Error(), tt.cred.Token) && tt.cred.Token != "" {
				t.Errorf("error contains the token: %v", err)
			}
		})
	}
}

// TestPullRequestsAnswers feeds the listing answers a GitLab may give.
func TestPullRequestsAnswers(t *testing.T) {
	const mr = `{"id":%d,"iid":%d,"title":"t","state":%q,"web_url":%q,"updated_at":%q,"author":{"username":"u"}}`
	since := time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		pages   []string // answers in turn, each with X-Next-Page unless last
		since   time.Time
		want    fb.Code
		numbers string // the listed pull requests' numbers
		webURL  string // of the first
	}{
		{name: "unsafe web address", pages: []string{"[" + fmt.Sprintf(mr, 1, 7, "opened", "javascript:alert(1)", "2024-10-02T00:00:00Z") + "]"},
			numbers: "7", webURL: "/acme/app/-/merge_requests/7"},
		{name: "server without updated_after stops at the first older",
			pages: []string{"[" + fmt.Sprintf(mr, 2, 2, "merged", "https://x/2", "2024-10-02T00:00:00Z") + "," +
				fmt.Sprintf(mr, 1, 1, "opened", "https://x/1", "2024-09-30T00:00:00Z") + "]", "[]"},
			since: since, numbers: "2"},
		{name: "repeated across pages", pages: []string{
			"[" + fmt.Sprintf(mr, 2, 2, "opened", "https://x/2", "2024-10-02T00:00:00Z") + "]",
			"[" + fmt.Sprintf(mr, 2, 2, "opened", "https://x/2", "2024-10-02T00:00:00Z") + "," + fmt.Sprintf(mr, 1, 1, "closed", "https://x/1", "2024-10-01T00:00:00Z") + "]"},
			numbers: "2,1"},
		{name: "unknown state", pages: []string{"[" + fmt.Sprintf(mr, 1, 1, "frozen", "https://x/1", "2024-10-02T00:00:00Z") + "]"},
			want: fb.EProviderUnavailable},
		{name: "not a list", pages: []string{`{"message":"hello"}`}, want: fb.EProviderUnavailable},
		{name: "bad time", pages: []string{"[" + fmt.Sprintf(mr, 1, 1, "opened", "https://x/1", "yesterday") + "]"}, want: fb.EProviderUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			served := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if served < len(tt.pages)-1 {
					w.Header().Set("X-Next-Page", fmt.Sprint(served+2))
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tt.pages[served])
				served++
			}))
			defer srv.Close()
			p := newProvider(t, fb.Integration{Kind: fb.KindGitLabSelfManaged, BaseURL: srv.URL}, srv.Client())
			repo := fb.Repository{ExternalID: "3", FullName: "acme/app", WebURL: srv.URL + "/acme/app"}
			prs, err := listPulls(t, p, good, repo, tt.since)
			if fb.ErrorCode(err) != tt.want {
				t.Fatalf("PullRequests = %v, want code %q", err, tt.want)
			}
			var numbers []string
			for _, pr := range prs {
				numbers = append(numbers, fmt.Sprint(pr.Number))
			}
			if tt.want == "" && strings.Join(numbers, ",") != tt.numbers {
				t.Errorf("listed %v, want %s", numbers, tt.numbers)
			}
			if tt.webURL != "" && (len(prs) == 0 || prs[0].WebURL != srv.URL+tt.webURL) {
				t.Errorf("web address %q, want %s", prs[0].WebURL, srv.URL+tt.webURL)
			}
			if tt.since.IsZero() && served != len(tt.pages) || !tt.since.IsZero() && served != 1 {
				t.Errorf("%d pages read of %d", served, len(tt.pages))
			}
		})
	}
}
