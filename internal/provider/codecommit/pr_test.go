package codecommit

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/codecommit/fakecodecommit"
)

// pullWorld is a world whose "app" has three open pull requests, two closed
// without merging and one merged, so that each status spans two pages.
func pullWorld(t *testing.T) (*world, map[int]fb.PullState) {
	t.Helper()
	w := newWorld(t)
	want := map[int]fb.PullState{}
	states := []string{"OPEN", "OPEN", "OPEN", "CLOSED", "CLOSED", "MERGED"}
	names := []string{"PROJ-1-a", "PROJ-2-b", "PROJ-3-c", "PROJ-4-d", "PROJ-5-e", "PROJ-6-f"}
	w.app.AddBranches(names...)
	for i, state := range states {
		id, err := w.app.OpenPull(names[i], "main", names[i]+" work", "Fixes "+names[i][:6]+".")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.app.SetPullState(id, state); err != nil {
			t.Fatal(err)
		}
		want[id] = map[string]fb.PullState{"OPEN": fb.PullOpen, "CLOSED": fb.PullDeclined, "MERGED": fb.PullMerged}[state]
	}
	return w, want
}

func listPulls(t *testing.T, w *world, repo fb.Repository, since time.Time) map[int]fb.PullRequest {
	t.Helper()
	got := map[int]fb.PullRequest{}
	err := w.p.(provider.PullRequestLister).PullRequests(context.Background(), good, repo, since,
		func(pr fb.PullRequest) error {
			if _, dup := got[pr.Number]; dup {
				t.Errorf("pull request %d passed twice", pr.Number)
			}
			got[pr.Number] = pr
			return nil
		})
	if err != nil {
		t.Fatalf("PullRequests: %v", err)
	}
	return got
}

func TestPullRequestsStatesAndPaging(t *testing.T) {
	w, want := pullWorld(t)
	repo := w.repo(t, "app")
	w.fake.ResetCalls()
	got := listPulls(t, w, repo, time.Time{})
	if len(got) != len(want) {
		t.Fatalf("%d pull requests, want %d", len(got), len(want))
	}
	for n, state := range want {
		pr := got[n]
		wantURL := "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/app/pull-requests/" +
			strconv.Itoa(n) + "/details?region=eu-west-1"
		if pr.State != state || pr.Draft || pr.ID != strconv.Itoa(n) || pr.WebURL != wantURL {
			t.Errorf("#%d: id %s state %s draft %v url %s, want state %s url %s", n, pr.ID, pr.State, pr.Draft, pr.WebURL, state, wantURL)
		}
		if pr.Author != fakecodecommit.AuthorARN || pr.UpdatedAt.IsZero() || pr.TargetBranch != "main" ||
			!strings.HasPrefix(pr.SourceBranch, "PROJ-") || pr.Description != "Fixes "+pr.SourceBranch[:6]+"." ||
			pr.Title != pr.SourceBranch+" work" {
			t.Errorf("#%d = %+v", n, pr)
		}
	}
	// Three ids a status over pages of two: two ListPullRequests each, and
	// one GetPullRequest a pull request.
	ops := map[string]int{}
	for _, c := range w.fake.Calls() {
		ops[c.Operation]++
		if c.Operation == "ListPullRequests" && !strings.Contains(string(c.Body), `"maxResults":100`) {
			t.Errorf("ListPullRequests asked %s, want maxResults 100", c.Body)
		}
	}
	if ops["ListPullRequests"] != 4 || ops["GetPullRequest"] != 6 || len(ops) != 2 {
		t.Errorf("calls %v, want 4 ListPullRequests and 6 GetPullRequest", ops)
	}
}

// A listed pull request is the one CreatePullRequest answered: same id,
// number and address.
func TestListedPullRequestMatchesCreated(t *testing.T) {
	w := newWorld(t)
	repo := w.repo(t, "app")
	created, err := w.p.CreatePullRequest(context.Background(), good, repo,
		fb.NewPullRequest{SourceBranch: "feature", Title: "PROJ-9 feature", Description: "All of it."})
	if err != nil {
		t.Fatal(err)
	}
	got := listPulls(t, w, repo, time.Time{})
	listed := got[created.Number]
	if len(got) != 1 || listed.ID != created.ID || listed.WebURL != created.WebURL || listed.Title != created.Title ||
		listed.SourceBranch != "feature" || listed.TargetBranch != "main" || listed.State != fb.PullOpen ||
		listed.Author != goodARN || listed.Description != "All of it." {
		t.Errorf("listed %+v, created %+v", listed, created)
	}
}

// With since, closed pull requests whose last activity is before it are
// left out; open ones are always passed.
func TestPullRequestsSince(t *testing.T) {
	w, want := pullWorld(t)
	repo := w.repo(t, "app")
	tests := []struct {
		name  string
		since time.Time
		want  []fb.PullState
	}{
		{"everything", time.Time{}, []fb.PullState{fb.PullOpen, fb.PullDeclined, fb.PullMerged}},
		{"since an hour ago", time.Now().Add(-time.Hour), []fb.PullState{fb.PullOpen, fb.PullDeclined, fb.PullMerged}},
		{"since after the last close", time.Now().Add(time.Hour), []fb.PullState{fb.PullOpen}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := listPulls(t, w, repo, tc.since)
			n := 0
			for id, state := range want {
				for _, s := range tc.want {
					if s == state {
						n++
						if _, ok := got[id]; !ok {
							t.Errorf("#%d (%s) not passed", id, state)
						}
					}
				}
			}
			if len(got) != n {
				t.Errorf("%d pull requests passed, want %d", len(got), n)
			}
		})
	}
}

func TestPullRequestsErrors(t *testing.T) {
	w, _ := pullWorld(t)
	lister := w.p.(provider.PullRequestLister)
	repo := w.repo(t, "app")
	stop := errors.New("enough")
	calls := 0
	err := lister.PullRequests(context.Background(), good, repo, time.Time{}, func(fb.PullRequest) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn's error: %v after %d calls, want it after 1", err, calls)
	}

	tests := []struct {
		name  string
		cred  fb.Credential
		repo  fb.Repository
		setup func()
		want  fb.Code
	}{
		{"throttled", good, repo, func() { w.fake.SetRateLimited(true) }, fb.ERateLimited},
		{"failing", good, repo, func() { w.fake.SetFailing(true) }, fb.EProviderUnavailable},
		{"unknown key", unknown, repo, func() {}, fb.ETokenRejected},
		{"no credential", fb.Credential{}, repo, func() {}, fb.ETokenRejected},
		{"repository gone", good, fb.Repository{Name: "gone"}, func() {}, fb.ENotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			defer w.fake.SetRateLimited(false)
			defer w.fake.SetFailing(false)
			err := lister.PullRequests(context.Background(), tc.cred, tc.repo, time.Time{}, func(fb.PullRequest) error { return nil })
			if fb.ErrorCode(err) != tc.want {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
			if tc.want == fb.ERateLimited && fb.AsError(err).RetryAfter <= 0 {
				t.Errorf("no RetryAfter in %v", err)
			}
		})
	}
}

// PullRequestsSkipping reads only open pull requests and closed ones not
// in closed: the ids of every status are still listed (ListPullRequests),
// but a known closed one costs no GetPullRequest and is not passed.
func TestPullRequestsSkipping(t *testing.T) {
	w, want := pullWorld(t)
	repo := w.repo(t, "app")
	var closedIDs []string
	for id, state := range want {
		if state != fb.PullOpen {
			closedIDs = append(closedIDs, strconv.Itoa(id))
		}
	}
	slices.Sort(closedIDs)
	skipper := w.p.(provider.ClosedPullRequestSkipper)
	for _, tc := range []struct {
		name   string
		closed []string
		gets   int
	}{
		{"nothing known", nil, 6},
		{"one known", closedIDs[:1], 5},
		{"all known", closedIDs, 3},
		{"unknown ids known", []string{"999", "x"}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.fake.ResetCalls()
			got := map[string]fb.PullRequest{}
			err := skipper.PullRequestsSkipping(context.Background(), good, repo, tc.closed, func(pr fb.PullRequest) error {
				got[pr.ID] = pr
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for id, state := range want {
				_, passed := got[strconv.Itoa(id)]
				_, known := slices.BinarySearch(tc.closed, strconv.Itoa(id))
				if passed == known {
					t.Errorf("#%d (%s): passed %v, known closed %v", id, state, passed, known)
				}
				if passed && got[strconv.Itoa(id)].State != state {
					t.Errorf("#%d: state %s, want %s", id, got[strconv.Itoa(id)].State, state)
				}
			}
			ops := map[string]int{}
			for _, c := range w.fake.Calls() {
				ops[c.Operation]++
			}
			if ops["ListPullRequests"] != 4 || ops["GetPullRequest"] != tc.gets {
				t.Errorf("calls %v, want 4 ListPullRequests and %d GetPullRequest", ops, tc.gets)
			}
		})
	}
	// Ids of open pull requests among closed (not CodeCommit's behaviour,
	// but the store could say so) skip nothing: only the closed listing is
	// filtered.
	var openIDs []string
	for id, state := range want {
		if state == fb.PullOpen {
			openIDs = append(openIDs, strconv.Itoa(id))
		}
	}
	slices.Sort(openIDs)
	n := 0
	err := skipper.PullRequestsSkipping(context.Background(), good, repo, openIDs, func(fb.PullRequest) error {
		n++
		return nil
	})
	if err != nil || n != len(want) {
		t.Errorf("with the open ones' ids: %d passed, %v; want all %d", n, err, len(want))
	}
}
