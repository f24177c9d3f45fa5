// Package provider is the contract between forgebridge and a git hosting
// service. Drivers live in the sub-packages named after the service; each
// translates its service's answers into forgebridge's error vocabulary.
package provider

import (
	"context"
	"net/http"

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
	// Validate asks the provider who the credential belongs to.
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
}

// Factory builds the provider for an integration.
type Factory func(in fb.Integration, opts Options) (Provider, error)
