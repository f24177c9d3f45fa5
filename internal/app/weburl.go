package app

import (
	"context"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// safeWebURL is provider.SafeWebURL: only http(s) addresses are kept.
var safeWebURL = provider.SafeWebURL

// webSafe wraps a driver so that every web address it returns is checked
// with safeWebURL, whatever the service answered.
type webSafe struct{ p provider.Provider }

func (w webSafe) Validate(ctx context.Context, c fb.Credential) (fb.TokenInfo, error) {
	return w.p.Validate(ctx, c)
}

func (w webSafe) Repositories(ctx context.Context, c fb.Credential) ([]fb.Repository, error) {
	repos, err := w.p.Repositories(ctx, c)
	for i := range repos {
		repos[i].WebURL = safeWebURL(repos[i].WebURL)
	}
	return repos, safeExisting(err)
}

func (w webSafe) Branches(ctx context.Context, c fb.Credential, repo fb.Repository) ([]fb.Branch, error) {
	branches, err := w.p.Branches(ctx, c, repo)
	for i := range branches {
		branches[i].WebURL = safeWebURL(branches[i].WebURL)
	}
	return branches, safeExisting(err)
}

func (w webSafe) CreateBranch(ctx context.Context, c fb.Credential, repo fb.Repository, name, base string) (fb.Branch, error) {
	b, err := w.p.CreateBranch(ctx, c, repo, name, base)
	b.WebURL = safeWebURL(b.WebURL)
	return b, safeExisting(err)
}

func (w webSafe) CreatePullRequest(ctx context.Context, c fb.Credential, repo fb.Repository, pr fb.NewPullRequest) (fb.PullRequest, error) {
	out, err := w.p.CreatePullRequest(ctx, c, repo, pr)
	out.WebURL = safeWebURL(out.WebURL)
	return out, safeExisting(err)
}

// safeExisting checks the address of what an already_exists error names.
func safeExisting(err error) error {
	e := fb.AsError(err)
	if e == nil || e.Existing == nil {
		return err
	}
	out, existing := *e, *e.Existing
	existing.WebURL = safeWebURL(existing.WebURL)
	out.Existing = &existing
	return &out
}

// Unwrap gives the driver beneath, for its optional capabilities.
func (w webSafe) Unwrap() provider.Provider { return w.p }
