package app

import (
	"context"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/branchname"
)

// PullRequestOptions is the pull request of "branch and pull request in one
// step": each field optional, defaulting as for a pull request (the title
// "KEY summary", the repository's default branch as the target).
type PullRequestOptions struct {
	Title        string
	Description  string
	TargetBranch string
	Draft        bool
}

// HasDrafts reports whether the host of kind has draft pull requests.
// AWS CodeCommit has none: a draft asked for there is an ordinary one.
func HasDrafts(kind fb.Kind) bool { return kind != fb.KindCodeCommit }

// checkOneStep refuses, before any host call, a one-step request the
// repository cannot carry out whole: its pull request switch off, or a
// target branch that is no branch name.
func checkOneStep(t target, pr PullRequestOptions) error {
	if !t.integ.Settings.CreatePullRequest || !t.repo.CanCreatePullRequest {
		return fb.Errorf(fb.EFeatureDisabled, "Pull request creation is switched off for %s: create the branch alone.", t.repo.FullName)
	}
	if name := strings.TrimSpace(pr.TargetBranch); name != "" {
		if err := branchname.Valid(name); err != nil {
			return fb.Errorf(fb.EInvalid, "pullRequest.targetBranch: %s", fb.ErrorMessage(err))
		}
	}
	return nil
}

// firstCommitMessage is the message of the empty commit a branch starts
// with where the host needs one for a pull request: it begins with the
// issue key, so indexing links it to the issue.
func firstCommitMessage(is fb.Issue) string {
	subject := strings.TrimSpace(is.Key + " " + is.Summary)
	return subject + "\n\nStarted from forgebridge for a pull request.\n"
}

// oneStepPullRequest opens the pull request of a branch just created, with
// the credential that created it. Its failure is the answer's
// PullRequestError, never the request's: the branch stands.
func (s *Service) oneStepPullRequest(ctx context.Context, u fb.User, t target, choice CredentialChoice, out *CreatedBranch,
	opts PullRequestOptions) {
	pr := fb.NewPullRequest{SourceBranch: out.Name, TargetBranch: strings.TrimSpace(opts.TargetBranch),
		Title: strings.TrimSpace(opts.Title), Description: opts.Description, Draft: opts.Draft}
	if pr.TargetBranch == "" {
		pr.TargetBranch = t.repo.DefaultBranch
	}
	if pr.Title == "" {
		pr.Title = t.issue.Key + " " + t.issue.Summary
	}
	pr.Description = withIssueLink(pr.Description, t.issue.Key, s.IssueURL)
	entry := fb.AuditEntry{User: u.Name, Action: fb.AuditPullRequestCreate, IntegrationID: t.integ.ID, RepositoryID: t.repo.ID,
		Issue: t.issue.Key, Target: pr.SourceBranch + " → " + pr.TargetBranch, Actor: choice.Actor()}
	created, err := s.openPullRequest(ctx, t, choice, pr)
	if err != nil {
		err = s.afterProviderError(ctx, u, t, choice, err)
		s.audit(ctx, entry, err)
		e := fb.AsError(err)
		if e == nil {
			e = &fb.Error{Code: fb.EInternal, Message: "The pull request could not be opened.", Err: err}
		}
		out.PullRequestError = e
		return
	}
	entry.Target = created.WebURL
	s.keep(ctx, entry, nil, &fb.IssuePullRequest{IssueKey: t.issue.Key, RepositoryID: t.repo.ID,
		PullRequest: created, CreatedAt: s.now()})
	s.link(ctx, u, t, pullRequestLink(t, created))
	out.PullRequest = &CreatedPullRequest{PullRequest: created, RepositoryID: t.repo.ID, Actor: choice.Actor()}
}

func (s *Service) openPullRequest(ctx context.Context, t target, choice CredentialChoice, pr fb.NewPullRequest) (fb.PullRequest, error) {
	p, err := s.provider(t.integ)
	if err != nil {
		return fb.PullRequest{}, err
	}
	out, err := p.CreatePullRequest(ctx, choice.Credential, t.repo, pr)
	if err != nil {
		return fb.PullRequest{}, err
	}
	if out.State == "" {
		out.State = fb.PullOpen
		out.Draft = pr.Draft && HasDrafts(t.integ.Kind)
	}
	return out, nil
}
