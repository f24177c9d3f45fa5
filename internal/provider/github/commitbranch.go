package github

import (
	"context"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	gh "github.com/google/go-github/v84/github"
)

var _ provider.CommitBrancher = (*Driver)(nil)

// CreateBranchWithCommit creates name at a new empty commit on top of base,
// with message, through the git data API: the base's commit (GET
// git/commits/{sha}, for its tree), a commit of that same tree whose parent
// is the base (POST git/commits), then the ref. GitHub opens no pull request
// for a branch without commits of its own.
func (d *Driver) CreateBranchWithCommit(ctx context.Context, cred fb.Credential, repo fb.Repository, name, base, message string) (fb.Branch, error) {
	if message == "" {
		return fb.Branch{}, fb.Errorf(fb.EInvalid, "The first commit of the branch needs a message.")
	}
	return d.createBranch(ctx, cred, repo, name, base, message)
}

// emptyCommit writes a commit of parent's tree on top of parent; the
// author is the token's user, as GitHub fills it in.
func (d *Driver) emptyCommit(ctx context.Context, owner, name, parent, message string) (string, error) {
	c, _, err := d.client.Git.GetCommit(ctx, owner, name, parent)
	if err != nil {
		return "", mapError(err, false)
	}
	created, _, err := d.client.Git.CreateCommit(ctx, owner, name, gh.Commit{Message: gh.Ptr(message),
		Tree: &gh.Tree{SHA: gh.Ptr(c.GetTree().GetSHA())}, Parents: []*gh.Commit{{SHA: gh.Ptr(parent)}}}, nil)
	if err != nil {
		return "", mapError(err, true)
	}
	return created.GetSHA(), nil
}
