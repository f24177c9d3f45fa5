package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestSearchIssueActivity checks the issue search's sums on SQLite and
// PostgreSQL: each filter narrows its own kind of git data only.
func TestSearchIssueActivity(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t, storetest.NewCipher())
			testSearchIssueActivity(t, s)
		})
	}
}

func sha(n int) string { return fmt.Sprintf("%040x", n) }

func testSearchIssueActivity(t *testing.T, s *store.Store) {
	ctx := t.Context()
	_, repos := indexed(t, s, 2)
	a, b := repos[0], repos[1]
	must(t, s.AddCommits(ctx, a, []fb.Commit{
		{SHA: sha(1), Message: "S-1", AuthorEmail: "Ann@Example.com", AuthoredAt: at(10), Keys: []string{"S-1"}},
		{SHA: sha(2), Message: "S-1 S-2", AuthorEmail: "bob@example.com", AuthoredAt: at(20), Keys: []string{"S-1", "S-2"}},
		{SHA: sha(3), Message: "S-3", AuthorEmail: "ann@example.com", AuthoredAt: at(30), Keys: []string{"S-3"}},
	}))
	must(t, s.AddCommits(ctx, b, []fb.Commit{
		{SHA: sha(4), Message: "S-1", AuthorEmail: "ann@example.com", AuthoredAt: at(40), Keys: []string{"S-1"}},
	}))
	must(t, s.AddIssueBranch(ctx, fb.IssueBranch{IssueKey: "S-2", RepositoryID: a, Name: "S-2-fix", SHA: sha(2), CreatedAt: at(50)}))
	must(t, s.AddIssueBranch(ctx, fb.IssueBranch{IssueKey: "S-4", RepositoryID: b, Name: "main", SHA: sha(4), CreatedAt: at(5)}))
	must(t, s.PutPullRequests(ctx, a, []fb.IndexedPullRequest{
		{PullRequest: fb.PullRequest{ID: "1", Number: 1, Title: "S-1", State: fb.PullMerged, UpdatedAt: at(60)}, Keys: []string{"S-1"}},
		{PullRequest: fb.PullRequest{ID: "2", Number: 2, Title: "S-3", State: fb.PullOpen, UpdatedAt: at(70)}, Keys: []string{"S-3"}},
	}))

	row := func(key, repo string, commits, branches, prs int, lastCommit, lastBranch, lastPull time.Time) fb.IssueGitActivity {
		return fb.IssueGitActivity{IssueKey: key, RepositoryID: repo, Commits: commits, Branches: branches, PullRequests: prs,
			LastCommit: lastCommit, LastBranch: lastBranch, LastPullChange: lastPull}
	}
	var zero time.Time
	since, until := at(15), at(35)
	for _, tc := range []struct {
		name string
		q    fb.IssueSearchQuery
		want []fb.IssueGitActivity
	}{
		{"everything", fb.IssueSearchQuery{RepositoryIDs: repos}, []fb.IssueGitActivity{
			row("S-1", a, 2, 0, 1, at(20), zero, at(60)),
			row("S-1", b, 1, 0, 0, at(40), zero, zero),
			row("S-2", a, 1, 1, 0, at(20), at(50), zero),
			row("S-3", a, 1, 0, 1, at(30), zero, at(70)),
			row("S-4", b, 0, 1, 0, zero, at(5), zero),
		}},
		{"one repository", fb.IssueSearchQuery{RepositoryIDs: []string{b}}, []fb.IssueGitActivity{
			row("S-1", b, 1, 0, 0, at(40), zero, zero),
			row("S-4", b, 0, 1, 0, zero, at(5), zero),
		}},
		{"no repositories", fb.IssueSearchQuery{}, nil},
		{"author, any case", fb.IssueSearchQuery{RepositoryIDs: []string{a}, AuthorEmails: []string{"ANN@example.com"}}, []fb.IssueGitActivity{
			row("S-1", a, 1, 0, 1, at(10), zero, at(60)),
			row("S-2", a, 0, 1, 0, zero, at(50), zero),
			row("S-3", a, 1, 0, 1, at(30), zero, at(70)),
		}},
		{"time", fb.IssueSearchQuery{RepositoryIDs: repos, Since: &since, Until: &until}, []fb.IssueGitActivity{
			row("S-1", a, 1, 0, 1, at(20), zero, at(60)),
			row("S-2", a, 1, 1, 0, at(20), at(50), zero),
			row("S-3", a, 1, 0, 1, at(30), zero, at(70)),
			row("S-4", b, 0, 1, 0, zero, at(5), zero),
		}},
		{"range", fb.IssueSearchQuery{RepositoryIDs: []string{a}, InRange: true, RangeSHAs: []string{sha(2), sha(4), sha(9)}}, []fb.IssueGitActivity{
			row("S-1", a, 1, 0, 1, at(20), zero, at(60)),
			row("S-2", a, 1, 1, 0, at(20), at(50), zero),
			row("S-3", a, 0, 0, 1, zero, zero, at(70)),
		}},
		{"empty range", fb.IssueSearchQuery{RepositoryIDs: []string{b}, InRange: true}, []fb.IssueGitActivity{
			row("S-4", b, 0, 1, 0, zero, at(5), zero),
		}},
		{"branch and pull request state", fb.IssueSearchQuery{RepositoryIDs: repos, Branch: "main", PullRequestState: fb.PullOpen},
			[]fb.IssueGitActivity{
				row("S-1", a, 2, 0, 0, at(20), zero, zero),
				row("S-1", b, 1, 0, 0, at(40), zero, zero),
				row("S-2", a, 1, 0, 0, at(20), zero, zero),
				row("S-3", a, 1, 0, 1, at(30), zero, at(70)),
				row("S-4", b, 0, 1, 0, zero, at(5), zero),
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.SearchIssueActivity(ctx, tc.q)
			must(t, err)
			slices.SortFunc(got, func(x, y fb.IssueGitActivity) int {
				return strings.Compare(x.IssueKey+" "+x.RepositoryID, y.IssueKey+" "+y.RepositoryID)
			})
			slices.SortFunc(tc.want, func(x, y fb.IssueGitActivity) int {
				return strings.Compare(x.IssueKey+" "+x.RepositoryID, y.IssueKey+" "+y.RepositoryID)
			})
			deepEqual(t, "rows", got, tc.want)
		})
	}

	// A search past its bound is refused, not cut short.
	_, err := s.SearchIssueActivity(ctx, fb.IssueSearchQuery{RepositoryIDs: repos, MaxRows: 3})
	wantCode(t, err, fb.EInvalid)
}
