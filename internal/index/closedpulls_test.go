package index_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// skipper is driver on a host like CodeCommit: it is told the pull requests
// earlier runs saw closed and passes every other one.
type skipper struct {
	driver
	mu     *sync.Mutex
	closed *[][]string // what each listing was told
}

func (d skipper) PullRequestsSkipping(ctx context.Context, cred fb.Credential, repo fb.Repository, closed []string, fn func(fb.PullRequest) error) error {
	d.mu.Lock()
	*d.closed = append(*d.closed, slices.Clone(closed))
	d.mu.Unlock()
	return d.driver.PullRequests(ctx, cred, repo, time.Time{}, func(pr fb.PullRequest) error {
		if _, known := slices.BinarySearch(closed, pr.ID); known && pr.State != fb.PullOpen {
			return nil
		}
		return fn(pr)
	})
}

// TestClosedPullRequestsNotReadAgain: on a host that never changes a closed
// pull request, each run is told the ones the store has seen closed, a
// closed one keeps its links without being read again, and a reset reads
// everything again.
func TestClosedPullRequestsNotReadAgain(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			var mu sync.Mutex
			var told [][]string
			e.x.Providers = func(fb.Integration, provider.Options) (provider.Provider, error) {
				return skipper{driver: driver{e.h}, mu: &mu, closed: &told}, nil
			}
			e.h.push(t, "main", "initial")
			now := time.Now().UTC().Truncate(time.Second)
			e.h.pulls = []fb.PullRequest{
				{ID: "1", Number: 1, Title: "PROJ-1 open", SourceBranch: "a", TargetBranch: "main", State: fb.PullOpen, UpdatedAt: now},
				{ID: "2", Number: 2, Title: "PROJ-2 merged", SourceBranch: "b", TargetBranch: "main", State: fb.PullMerged, UpdatedAt: now},
				{ID: "3", Number: 3, Title: "no key", SourceBranch: "c", TargetBranch: "main", State: fb.PullDeclined, UpdatedAt: now},
			}
			state := func(key string) fb.PullState {
				t.Helper()
				prs, err := e.st.IssuePullRequests(t.Context(), key)
				if err != nil || len(prs) != 1 {
					t.Fatalf("%s pull requests = %+v, %v", key, prs, err)
				}
				return prs[0].State
			}
			e.run(t, false)
			e.run(t, false)
			e.h.mu.Lock()
			e.h.pulls[0].State = fb.PullMerged
			e.h.mu.Unlock()
			e.run(t, false)
			if got := state("PROJ-1"); got != fb.PullMerged {
				t.Errorf("PROJ-1's pull request is %s after it merged", got)
			}
			if got := state("PROJ-2"); got != fb.PullMerged {
				t.Errorf("PROJ-2's pull request is %s, not read again", got)
			}
			e.run(t, true)
			want := [][]string{nil, {"2", "3"}, {"2", "3"}, nil}
			if !slices.EqualFunc(told, want, slices.Equal) {
				t.Errorf("runs were told closed %q, want %q", told, want)
			}
			if ids, err := e.st.ClosedPullRequests(t.Context(), e.repo.ID); err != nil || !slices.Equal(ids, []string{"1", "2", "3"}) {
				t.Errorf("closed after the reset's run = %v, %v", ids, err)
			}
		})
	}
}
