// Package provider is the contract between forgebridge and a git hosting
// service. Drivers live in the sub-packages named after the service; each
// translates its service's answers into forgebridge's error vocabulary.
package provider

import (
	"context"
	"net/http"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// Provider talks to one integration's hosting service. It keeps no per-user
// state: the credential chosen by the credential rule comes with every call,
// and is only ever sent to the integration's own host.
//
// Errors are *forgebridge.Error with these codes:
//   - ETokenRejected: the provider does not accept the credential (401, expired, revoked).
//   - EProviderDenied: the credential is valid but may not do this (scope, role,
//     protection, or a repository it cannot see); MissingScopes where known.
//   - EProviderRejected: the request was refused for another reason (invalid ref
//     name, unknown base branch, no commits between branches); the reason in Message.
//   - EAlreadyExists: the branch or pull request exists; Existing names it where known.
//   - ERateLimited: RetryAfter holds the seconds to wait (the provider's hint, else an estimate).
//   - EProviderUnavailable: the provider could not be reached, timed out or failed (5xx).
//   - ENotSupported: the provider cannot do this.
type Provider interface {
	// Validate asks the provider who the credential belongs to: the login,
	// and the account's stable UserID (never empty on success), which
	// decides whose a token is.
	Validate(ctx context.Context, cred fb.Credential) (fb.TokenInfo, error)
	// Repositories lists every repository the credential can see (every page),
	// narrowed by the integration's API path and JMESPath filter. ID is left empty.
	Repositories(ctx context.Context, cred fb.Credential) ([]fb.Repository, error)
	// Branches lists every branch of the repository.
	Branches(ctx context.Context, cred fb.Credential, repo fb.Repository) ([]fb.Branch, error)
	// CreateBranch creates name at the head of base (the repository's default
	// branch when base is empty) and returns the new branch.
	CreateBranch(ctx context.Context, cred fb.Credential, repo fb.Repository, name, base string) (fb.Branch, error)
	// CreatePullRequest opens a pull request and returns it.
	CreatePullRequest(ctx context.Context, cred fb.Credential, repo fb.Repository, pr fb.NewPullRequest) (fb.PullRequest, error)
}

// Options are how a driver reaches its service.
type Options struct {
	// HTTPClient, when set, is used as it is (tests). Otherwise the driver
	// builds one from the integration's proxy and TLS settings with Timeout.
	HTTPClient *http.Client
	UserAgent  string
	// Timeout bounds each call, retries included (Timeout when zero);
	// tests shorten it to meet a provider that never answers.
	Timeout time.Duration
}

// Factory builds the provider for an integration.
type Factory func(in fb.Integration, opts Options) (Provider, error)

// The capabilities below are optional: a driver has one when its host does.
// Callers find them with a type assertion and answer ENotSupported otherwise.

// PullRequestLister reads a repository's pull requests, for indexing.
type PullRequestLister interface {
	// PullRequests calls fn with each pull request of repo in every state,
	// every page, with Description, State, Draft, Author and UpdatedAt filled
	// in. With a non-zero since it may stop early, once the rest were all
	// last updated before since (where the provider can order by update
	// time); pull requests updated before since may still be passed.
	// An error from fn stops the listing and is returned.
	PullRequests(ctx context.Context, cred fb.Credential, repo fb.Repository, since time.Time, fn func(fb.PullRequest) error) error
}

// ClosedPullRequestSkipper is a PullRequestLister for a host that cannot
// order its listing by update time but never changes a closed pull request
// again (CodeCommit): indexing passes the ids it has seen closed, and only
// new or open pull requests are read.
type ClosedPullRequestSkipper interface {
	// PullRequestsSkipping is PullRequests without since, not reading (nor
	// passing) the pull requests whose ids are in closed (sorted).
	PullRequestsSkipping(ctx context.Context, cred fb.Credential, repo fb.Repository, closed []string, fn func(fb.PullRequest) error) error
}

// Mirrorer says how git reaches a repository, for keeping a mirror of it.
type Mirrorer interface {
	// GitRemote returns the repository's clone URL over HTTPS and the HTTP
	// header that authenticates git with cred there. The URL's host is the
	// integration's own git host; a repository whose clone URL points
	// anywhere else is refused with EInvalid, and the credential goes nowhere.
	GitRemote(ctx context.Context, cred fb.Credential, repo fb.Repository) (GitRemote, error)
}

// GitRemote is where and how git fetches a repository. Header holds a
// secret: it reaches git only through its environment, never its arguments
// or a file.
type GitRemote struct {
	URL    string
	Header string // one header line, "Authorization: Basic …"
}

func (r GitRemote) String() string { return r.URL + " [redacted header]" }

// WebhookParser authenticates a webhook delivery with the integration's
// webhook secret, in its host's own way and in constant time, then reads
// which repositories it is about. It answers EUnauthenticated when the
// signature or secret is missing or wrong (before reading the body) and
// EInvalid for a body that is not the host's JSON. An event it does not act
// on is a Hook with no repositories. Parsers are pure: they call nothing.
type WebhookParser func(h http.Header, body []byte, secret string) (Hook, error)

// Hook is what a verified delivery asks for: that these repositories be
// indexed now. The data itself always comes from the host, never the payload.
type Hook struct {
	Event        string // the host's event name, for logs and metrics
	Repositories []HookRepository
}

// HookRepository names a repository by the provider's id where the payload
// has it (ExternalID, as discovery records it), else by full name.
type HookRepository struct {
	ExternalID string
	FullName   string
}

// WebLinker gives the web addresses of a repository's commits, branches and
// tags on the host, for links from the development panel.
type WebLinker interface {
	CommitURL(repo fb.Repository, sha string) string
	BranchURL(repo fb.Repository, name string) string
	TagURL(repo fb.Repository, name string) string
}

// AccessChecker is a driver whose Validate proves only that a credential is
// genuine, not that it may use the service (AWS STS answers for any valid
// key, whatever its policy). CheckAccess proves more without an account-wide
// call: it reads one repository the credential must reach, answering with
// Validate's errors (EProviderDenied naming the missing permission).
type AccessChecker interface {
	CheckAccess(ctx context.Context, cred fb.Credential, repo fb.Repository) error
}

// Capability returns p's optional capability T. A wrapper that adds
// behaviour around a driver (metrics, checks) gives the driver back with an
// Unwrap method, so the capabilities of the driver beneath stay reachable.
func Capability[T any](p Provider) (T, bool) {
	for p != nil {
		if c, ok := p.(T); ok {
			return c, true
		}
		u, ok := p.(interface{ Unwrap() Provider })
		if !ok {
			break
		}
		p = u.Unwrap()
	}
	var zero T
	return zero, false
}

// BranchDeleter deletes a branch on the host, for "Delete a branch" (API.md
// "Acting on git data"). DeleteBranch answers ENotFound when the repository
// has no such branch, EProviderDenied when the host refuses (a protected or
// default branch, a missing permission) and the Provider errors otherwise.
type BranchDeleter interface {
	DeleteBranch(ctx context.Context, cred fb.Credential, repo fb.Repository, name string) error
}

// CommitBrancher is a driver whose host opens no pull request for a branch
// without commits of its own (GitHub): CreateBranchWithCommit creates the
// branch at a new empty commit on top of base (the default branch when
// empty) with message, for "branch and pull request in one step". It
// answers as CreateBranch does.
type CommitBrancher interface {
	CreateBranchWithCommit(ctx context.Context, cred fb.Credential, repo fb.Repository, name, base, message string) (fb.Branch, error)
}
