package app

import (
	"context"
	"fmt"

	fb "github.com/forgebridge/forgebridge"
)

// IssueLink is a link to a created branch or pull request, written back to
// the tracker's issue (a Jira remote link).
type IssueLink struct {
	// GlobalID is stable for one branch or pull request, so writing it again
	// updates the tracker's link instead of adding another.
	GlobalID string
	URL      string
	Title    string
	Summary  string
	Resolved bool
}

// Linker writes issue links to the tracker. Nil when the tracker keeps none
// (the local tracker shows the recorded branches and pull requests itself).
type Linker interface {
	LinkIssue(ctx context.Context, issueKey string, l IssueLink) error
}

// AuditRemoteLink records a link written back to the tracker (an addition to API.md's actions).
const AuditRemoteLink = "remotelink.create"

// link writes an issue link; a failure is logged and audited, never returned:
// the branch or pull request stands whatever the tracker says.
func (s *Service) link(ctx context.Context, u fb.User, t target, l IssueLink) {
	if s.Linker == nil {
		return
	}
	err := s.Linker.LinkIssue(context.WithoutCancel(ctx), t.issue.Key, l)
	if err != nil {
		s.log().Warn("link not written to the tracker's issue", "issue", t.issue.Key, "url", l.URL, "err", err)
		if s.Queue != nil {
			if qerr := s.Queue.RetryLink(context.WithoutCancel(ctx), t.issue.Key, l); qerr != nil {
				s.log().Error("link retry not queued", "issue", t.issue.Key, "url", l.URL, "err", qerr)
			}
		}
	}
	s.audit(ctx, fb.AuditEntry{User: u.Name, Action: AuditRemoteLink, IntegrationID: t.integ.ID,
		RepositoryID: t.repo.ID, Issue: t.issue.Key, Target: l.URL}, err)
}

func branchLink(t target, b fb.Branch) IssueLink {
	return IssueLink{GlobalID: fmt.Sprintf("forgebridge:%s:branch:%s", t.repo.ID, b.Name), URL: b.WebURL,
		Title: fmt.Sprintf("Branch %s in %s", b.Name, t.repo.FullName), Summary: string(t.integ.Kind)}
}

func pullRequestLink(t target, pr fb.PullRequest) IssueLink {
	return IssueLink{GlobalID: fmt.Sprintf("forgebridge:%s:pr:%s", t.repo.ID, pr.ID), URL: pr.WebURL,
		Title:   fmt.Sprintf("Pull request #%d: %s", pr.Number, pr.Title),
		Summary: fmt.Sprintf("%s → %s in %s", pr.SourceBranch, pr.TargetBranch, t.repo.FullName)}
}
