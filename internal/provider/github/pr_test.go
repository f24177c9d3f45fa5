package github

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// pullCount is enough pull requests for three pages of 100.
const pullCount = 201

// newPulls gives acme/app pullCount pull requests from its feature branch,
// opened in turn: each but the last is closed or merged before the next is
// opened, the last is an open draft. It returns them as the fake has them.
func newPulls(t *testing.T) (*fakegithub.Server, []fakegithub.PullRequest) {
	t.Helper()
	f, repo := newFake(t)
	for i := range pullCount {
		last := i == pullCount-1
		n, err := repo.OpenPull("feature", "main", fmt.Sprintf("PROJ-%d work", i+1), fmt.Sprintf("Body %d", i+1), last)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case last:
		case i%3 == 0:
			err = repo.SetPullState(n, "merged")
		default:
			err = repo.SetPullState(n, "closed")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return f, repo.PullRequests()
}

func TestPullRequests(t *testing.T) {
	f, want := newPulls(t)
	byNumber := map[int]fakegithub.PullRequest{}
	for _, p := range want {
		byNumber[p.Number] = p
	}
	// Most recently updated first: the open draft, then the rest newest first.
	newest := func(k int) time.Time { return want[len(want)-k].UpdatedAt }
	tests := []struct {
		name     string
		since    time.Time
		listed   int // pull requests passed to fn
		requests int // pages asked for
	}{
		{"everything", time.Time{}, pullCount, 3},
		{"since falls in the first page", newest(50), 200, 2},
		{"since falls in the second page", newest(150), pullCount, 3},
		{"nothing new", newest(1).Add(time.Hour), 100, 1},
	}
	for _, kind := range []fb.Kind{fb.KindGitHub, fb.KindGitHubEnterprise} {
		d := newDriver(t, integration(kind, f), f)
		for _, tt := range tests {
			t.Run(string(kind)+"/"+tt.name, func(t *testing.T) {
				before := f.CallCount()
				var got []fb.PullRequest
				err := d.PullRequests(ctx, cred(goodToken), fb.Repository{FullName: "acme/app"}, tt.since, func(p fb.PullRequest) error {
					got = append(got, p)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				calls := f.Calls()[before:]
				if len(calls) != tt.requests || len(got) != tt.listed {
					t.Fatalf("%d requests and %d pull requests, want %d and %d", len(calls), len(got), tt.requests, tt.listed)
				}
				for i, c := range calls {
					want := "direction=desc&per_page=100&sort=updated&state=all"
					if i > 0 {
						want = fmt.Sprintf("direction=desc&page=%d&per_page=100&sort=updated&state=all", i+1)
					}
					if c.Path != "/repos/acme/app/pulls" || c.Query != want || c.Token != goodToken {
						t.Errorf("request %d: %s?%s", i, c.Path, c.Query)
					}
				}
				for i, p := range got {
					if i > 0 && p.UpdatedAt.After(got[i-1].UpdatedAt) {
						t.Errorf("%d listed after an older one", p.Number)
					}
					w := byNumber[p.Number]
					state := fb.PullDeclined
					switch {
					case w.State == "open":
						state = fb.PullOpen
					case w.Merged:
						state = fb.PullMerged
					}
					if p.ID != fmt.Sprint(w.ID) || p.Title != w.Title || p.Description != w.Body || p.State != state ||
						p.Draft != (w.Draft && w.State == "open") || p.Author != "acme" || !p.UpdatedAt.Equal(w.UpdatedAt) ||
						p.SourceBranch != "feature" || p.TargetBranch != "main" || p.WebURL != w.WebURL {
						t.Fatalf("listed %+v, the fake has %+v", p, w)
					}
				}
			})
		}
	}
	states := map[fb.PullState]int{}
	drafts := 0
	err := newDriver(t, integration(fb.KindGitHub, f), f).PullRequests(ctx, cred(goodToken), fb.Repository{FullName: "acme/app"}, time.Time{},
		func(p fb.PullRequest) error {
			states[p.State]++
			if p.Draft {
				drafts++
			}
			return nil
		})
	if err != nil || states[fb.PullOpen] != 1 || states[fb.PullMerged] != 67 || states[fb.PullDeclined] != 133 || drafts != 1 {
		t.Errorf("states %v, %d drafts, %v", states, drafts, err)
	}
}

func TestPullRequestsStopAndFail(t *testing.T) {
	f, repo := newFake(t)
	if _, err := repo.OpenPull("feature", "main", "PROJ-1 work", "", false); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, integration(fb.KindGitHub, f), f)
	app := fb.Repository{FullName: "acme/app"}
	stop := errors.New("stop")
	if err := d.PullRequests(ctx, cred(goodToken), app, time.Time{}, func(fb.PullRequest) error { return stop }); err != stop {
		t.Errorf("an error from fn came back as %v", err)
	}
	none := func(fb.PullRequest) error { return nil }
	tests := []struct {
		name  string
		token string
		repo  string
		setup func(bool)
		code  fb.Code
	}{
		{"unknown token", unknownToken, "acme/app", nil, fb.ETokenRejected},
		{"expired token", expiredToken, "acme/app", nil, fb.ETokenRejected},
		{"no such repository", goodToken, "acme/nope", nil, fb.EProviderDenied},
		{"not a full name", goodToken, "app", nil, fb.EInvalid},
		{"token with a line break", "ghp_x\r\nX-Evil: 1", "acme/app", nil, fb.ETokenRejected},
		{"rate limited", goodToken, "acme/app", f.SetRateLimited, fb.ERateLimited},
		{"secondary rate limit", goodToken, "acme/app", f.SetSecondaryRateLimited, fb.ERateLimited},
		{"outage", goodToken, "acme/app", f.SetFailing, fb.EProviderUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(true)
				defer tt.setup(false)
			}
			before := f.CallCount()
			err := d.PullRequests(ctx, cred(tt.token), fb.Repository{FullName: tt.repo}, time.Time{}, none)
			e := fb.AsError(err)
			if e == nil || e.Code != tt.code {
				t.Fatalf("got %v, want %s", err, tt.code)
			}
			if tt.code == fb.ERateLimited && (e.RetryAfter < 1 || f.CallCount()-before != 1) {
				t.Errorf("RetryAfter %d after %d requests; want a hint and exactly one request", e.RetryAfter, f.CallCount()-before)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("error carries the token: %v", err)
			}
		})
	}
}

// TestPullRequestWebURL checks that a pull request's address is kept only
// when it is a web address.
func TestPullRequestWebURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://github.com/acme/app/pull/1": "https://github.com/acme/app/pull/1",
		"http://ghe.example/acme/app/pull/1": "http://ghe.example/acme/app/pull/1",
		"javascript:alert(1)":                "",
		"data:text/html,<b>x</b>":            "",
		"//evil.example/x":                   "",
		"":                                   "",
	} {
		s := cannedServer(t, map[string]canned{"GET /repos/acme/app/pulls": {200, nil,
			fmt.Sprintf(`[{"id":1,"number":1,"state":"open","html_url":%q,"updated_at":"2026-01-01T00:00:00Z"}]`, raw)}})
		d, err := NewDriver(fb.Integration{Kind: fb.KindGitHub, BaseURL: s.URL}, provider.Options{HTTPClient: s.Client()})
		if err != nil {
			t.Fatal(err)
		}
		var got []fb.PullRequest
		err = d.PullRequests(ctx, cred(goodToken), fb.Repository{FullName: "acme/app"}, time.Time{}, func(p fb.PullRequest) error {
			got = append(got, p)
			return nil
		})
		if err != nil || len(got) != 1 || got[0].WebURL != want {
			t.Errorf("html_url %q: %+v, %v; want web URL %q", raw, got, err, want)
		}
	}
}
