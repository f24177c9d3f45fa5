package forgebridge

import (
	"context"
	"time"
)

// IndexStateName says where the indexing of a repository stands (API.md).
type IndexStateName string

const (
	IndexPending  IndexStateName = "pending" // never indexed yet
	IndexQueued   IndexStateName = "queued"
	IndexIndexing IndexStateName = "indexing"
	IndexIndexed  IndexStateName = "indexed"
	IndexFailed   IndexStateName = "failed"
)

// IndexState is where the indexing of one repository stands.
type IndexState struct {
	RepositoryID string
	State        IndexStateName
	IndexedAt    *time.Time // the end of the last run that completed
	Commits      int64      // commits of the repository read so far, linked or not
	ErrorCode    Code       // of the last run, when it failed
	ErrorMessage string
	RetryAt      *time.Time // a rate-limited run is rescheduled for then
	UpdatedAt    time.Time
}

// Commit is an indexed commit that mentions at least one issue key.
type Commit struct {
	RepositoryID string
	SHA          string
	Message      string // the whole message, as valid UTF-8
	AuthorName   string
	AuthorEmail  string
	AuthoredAt   time.Time
	Keys         []string // the issue keys it mentions
}

// GitRef is a branch or tag of a repository. Name is the short name.
type GitRef struct {
	Name string
	SHA  string
}

// IssueTag is a tag that contains work of an issue: one of the issue's
// linked commits is reachable from it.
type IssueTag struct {
	IssueKey     string
	RepositoryID string
	Name         string
	SHA          string // the commit the tag points to
}

// IndexedPullRequest is a pull request read from the provider with the issue
// keys it mentions (title, description, source branch).
type IndexedPullRequest struct {
	PullRequest
	Keys []string
}

// IndexRun is what one index run of a repository found, written at its end
// in one transaction.
type IndexRun struct {
	RepositoryID string
	// Owner is the run's name on the repository's lease (see FinishIndex).
	Owner     string
	StartedAt time.Time
	// Branches are every branch whose name mentions a key, with those keys.
	// They replace the repository's branch links, except links recorded
	// after StartedAt (a branch created from forgebridge meanwhile).
	Branches []LinkedRef
	// Tags are the commits of the tags new or moved since the last run:
	// each with the keys of the commits it adds over its nearest tagged
	// ancestors, and those ancestors. A tag's issues are read from this
	// graph (IssueTags), so the links grow with what tags add, not with
	// tags × keys. A tag gone from Tips is no longer named; its commit stays
	// in the graph, through which later tags still reach their history.
	Tags []TaggedCommit
	// Tips are every ref of the repository after the run (refs/heads/…,
	// refs/tags/…): the next run reads only what is not reachable from them.
	Tips map[string]string
	// PullsSince is where the next run's pull request listing may stop.
	PullsSince *time.Time
	State      IndexState
}

// TaggedCommit is a commit that tags point at, in the tags' graph.
type TaggedCommit struct {
	SHA     string
	Keys    []string // the keys of the commits it adds over Parents
	Parents []string // its nearest tagged ancestors
}

// LinkedRef is a branch with the issue keys it is linked to.
type LinkedRef struct {
	GitRef
	WebURL string
	Keys   []string
}

// IssueDataQuery selects the git data of one issue, from the repositories of
// the given integrations only (those serving the issue's project).
type IssueDataQuery struct {
	Page
	IssueKey       string
	IntegrationIDs []string
	// HiddenRepositoryIDs are left out: repositories the host does not let
	// the person read (enforced host permissions).
	HiddenRepositoryIDs []string
}

// IndexStore keeps what indexing found. Writes are idempotent: a run that
// is interrupted and run again adds nothing twice.
type IndexStore interface {
	// IndexStates returns the state of each repository; one never indexed
	// is IndexPending.
	IndexStates(ctx context.Context, repositoryIDs []string) (map[string]IndexState, error)
	PutIndexState(ctx context.Context, st IndexState) error
	// ClaimIndex takes the repository's run lease for owner until until,
	// unless another owner holds an unexpired one (then false). An owner may
	// extend its own lease by claiming again.
	ClaimIndex(ctx context.Context, repositoryID, owner string, until time.Time) (bool, error)
	ReleaseIndex(ctx context.Context, repositoryID, owner string) error

	// IndexTips returns the refs recorded by the last completed run and the
	// pull request listing's PullsSince.
	IndexTips(ctx context.Context, repositoryID string) (tips map[string]string, pullsSince *time.Time, err error)
	// AddCommits records commits with their keys; idempotent per repository,
	// sha and key.
	AddCommits(ctx context.Context, repositoryID string, commits []Commit) error
	// CommitKeys returns the keys of the repository's linked commits among
	// shas, by sha (commits that link none are absent).
	CommitKeys(ctx context.Context, repositoryID string, shas []string) (map[string][]string, error)
	// PutPullRequests records pull requests; each one's key links become its
	// Keys. Whether each is closed is remembered too (ClosedPullRequests).
	PutPullRequests(ctx context.Context, repositoryID string, prs []IndexedPullRequest) error
	// ClosedPullRequests returns the ids of the repository's pull requests
	// last recorded merged or declined, sorted.
	ClosedPullRequests(ctx context.Context, repositoryID string) ([]string, error)
	// FinishIndex writes the end of a run (IndexRun) in one transaction,
	// only while run.Owner holds the repository's lease (when set): a run
	// that stalled past its lease must not write over its successor's.
	// Otherwise it answers ELeaseLost and writes nothing.
	FinishIndex(ctx context.Context, run IndexRun) error
	// ResetIndex drops everything indexed for the repository, its tips and
	// state included, so that the next run reads everything again.
	ResetIndex(ctx context.Context, repositoryID string) error

	// IssueCommits lists an issue's commits newest first (authored time,
	// then repository and sha) and how many there are in all.
	IssueCommits(ctx context.Context, q IssueDataQuery) (commits []Commit, count int, next string, err error)
	// IssueTags lists the tags containing an issue's commits: those whose
	// tagged commit, or a tagged ancestor of it, adds one of them.
	IssueTags(ctx context.Context, q IssueDataQuery) ([]IssueTag, error)
}

// WebhookSecretStore keeps each integration's webhook secret, sealed like
// every credential and never returned by listings.
type WebhookSecretStore interface {
	// The audit entry, when given, is written in the same transaction.
	SetWebhookSecret(ctx context.Context, integrationID, secret string, at time.Time, audit *AuditEntry) error
	// WebhookSecret answers ENotFound when the integration has none.
	WebhookSecret(ctx context.Context, integrationID string) (string, error)
	WebhookSecretsConfigured(ctx context.Context) (map[string]bool, error)
}

// ErrLeaseLost is FinishIndex's answer to a run that no longer holds its
// repository's lease: another run took over, and this one's results are
// dropped.
var ErrLeaseLost = Errorf(EInternal, "The index run lost its claim on the repository to another run; its results were dropped.")
