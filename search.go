package forgebridge

import (
	"context"
	"time"
)

// IssueSearchQuery selects the git data the issue search adds up (API.md
// "Acting on git data"): the commits, branch links and pull request links
// of the given repositories, by issue and repository.
type IssueSearchQuery struct {
	// RepositoryIDs are the repositories searched; empty: none.
	RepositoryIDs []string
	// Commit filters: an issue's commits count only when they match all.
	AuthorEmails []string   // any of these, case-insensitively; empty: any author
	Since, Until *time.Time // authored at or after Since, before Until
	// InRange, when set, keeps only the commits among RangeSHAs (a git
	// range's commits, already walked in the mirror).
	InRange   bool
	RangeSHAs []string
	// Branch, when set, counts only the branch links of that name.
	Branch string
	// PullRequestState, when set, counts only pull request links in that state.
	PullRequestState PullState
	// MaxRows bounds the answer: more (issue, repository) rows than this is
	// EInvalid, asking for a narrower search. Zero: no bound.
	MaxRows int
}

// IssueGitActivity is what one issue has in one repository under an
// IssueSearchQuery: how many commits, branch links and pull request links
// matched, and when the newest of each happened (zero when none).
type IssueGitActivity struct {
	IssueKey       string
	RepositoryID   string
	Commits        int
	Branches       int
	PullRequests   int
	LastCommit     time.Time
	LastBranch     time.Time
	LastPullChange time.Time
}

// IssueSearchStore answers the issue search from what indexing found.
type IssueSearchStore interface {
	// SearchIssueActivity returns, for every issue with git data matching q,
	// one IssueGitActivity per repository, in no particular order.
	SearchIssueActivity(ctx context.Context, q IssueSearchQuery) ([]IssueGitActivity, error)
}
