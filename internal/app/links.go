package app

import (
	"context"
	"fmt"
	"net/url"
	"time"

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
	// IconURL and IconTitle show which hosting service the link points to.
	IconURL   string
	IconTitle string
	Resolved  bool
}

// Linker writes issue links to the tracker. Nil when the tracker keeps none
// (the local tracker shows the recorded branches and pull requests itself).
type Linker interface {
	LinkIssue(ctx context.Context, issueKey string, l IssueLink) error
}

// AuditRemoteLink records a link written back to the tracker (an addition to API.md's actions).
const AuditRemoteLink = "remotelink.create"

// LinkTimeout bounds the attempt to write a link while the person waits for
// their branch or pull request: a slow tracker then costs them at most this,
// and the link is queued. Should the slow tracker have written it after all,
// the retry updates that link (same global id) rather than adding another.
const LinkTimeout = 2 * time.Second

// link writes an issue link; a failure is logged, audited and queued for a
// retry, never returned: the branch or pull request stands whatever the
// tracker says. The link's state is kept for the issue page.
func (s *Service) link(ctx context.Context, u fb.User, t target, l IssueLink) {
	if s.Linker == nil || l.URL == "" { // no http(s) address to link to
		return
	}
	ctx = context.WithoutCancel(ctx)
	lctx, cancel := context.WithTimeout(ctx, LinkTimeout)
	err := s.Linker.LinkIssue(lctx, t.issue.Key, l)
	cancel()
	switch {
	case err == nil:
		s.recordLink(ctx, t.issue.Key, l, fb.TrackerLinkLinked)
	case s.Queue == nil:
		s.log().Warn("link not written to the tracker's issue", "issue", t.issue.Key, "url", l.URL, "err", err)
		s.recordLink(ctx, t.issue.Key, l, fb.TrackerLinkFailed)
	default:
		s.log().Warn("link not written to the tracker's issue; retrying later", "issue", t.issue.Key, "url", l.URL, "err", err)
		// Pending first: the queue may write the link (and record it linked)
		// before RetryLink returns.
		s.recordLink(ctx, t.issue.Key, l, fb.TrackerLinkPending)
		if qerr := s.Queue.RetryLink(ctx, t.issue.Key, l); qerr != nil {
			s.log().Error("link retry not queued", "issue", t.issue.Key, "url", l.URL, "err", qerr)
			s.recordLink(ctx, t.issue.Key, l, fb.TrackerLinkFailed)
		}
	}
	s.audit(ctx, fb.AuditEntry{User: u.Name, Action: AuditRemoteLink, IntegrationID: t.integ.ID,
		RepositoryID: t.repo.ID, Issue: t.issue.Key, Target: l.URL}, err)
}

// recordLink keeps the state of a link for the issue page.
func (s *Service) recordLink(ctx context.Context, issueKey string, l IssueLink, status string) {
	err := s.Store.PutTrackerLink(ctx, fb.TrackerLink{GlobalID: l.GlobalID, IssueKey: issueKey, URL: l.URL,
		Status: status, UpdatedAt: s.now()})
	if err != nil {
		s.log().Error("tracker link state not recorded", "issue", issueKey, "url", l.URL, "err", err)
	}
}

// AbandonLink records that a link was given up on after every retry.
func (s *Service) AbandonLink(ctx context.Context, issueKey string, l IssueLink) {
	s.recordLink(ctx, issueKey, l, fb.TrackerLinkFailed)
}

func branchLink(t target, b fb.Branch) IssueLink {
	l := IssueLink{GlobalID: branchGlobalID(t.repo.ID, b.Name), URL: b.WebURL,
		Title: fmt.Sprintf("Branch %s in %s", b.Name, t.repo.FullName), Summary: "Created from forgebridge"}
	l.IconURL, l.IconTitle = serviceIcon(t.integ.Kind, b.WebURL)
	return l
}

// branchGlobalID names a branch's link on the tracker's issue.
func branchGlobalID(repositoryID, name string) string {
	return fmt.Sprintf("forgebridge:%s:branch:%s", repositoryID, name)
}

func pullRequestLink(t target, pr fb.PullRequest) IssueLink {
	l := IssueLink{GlobalID: fmt.Sprintf("forgebridge:%s:pr:%s", t.repo.ID, pr.ID), URL: pr.WebURL,
		Title:   fmt.Sprintf("Pull request #%d: %s", pr.Number, pr.Title),
		Summary: fmt.Sprintf("Open: %s → %s in %s", pr.SourceBranch, pr.TargetBranch, t.repo.FullName)}
	l.IconURL, l.IconTitle = serviceIcon(t.integ.Kind, pr.WebURL)
	return l
}

// serviceIcon is the favicon of the host a link points to, and the service's name.
func serviceIcon(kind fb.Kind, webURL string) (iconURL, title string) {
	names := map[fb.Kind]string{fb.KindGitHub: "GitHub", fb.KindGitHubEnterprise: "GitHub Enterprise",
		fb.KindGitLab: "GitLab", fb.KindGitLabSelfManaged: "GitLab", fb.KindAzureDevOps: "Azure DevOps",
		fb.KindVSTS: "Azure DevOps", fb.KindTFS: "Azure DevOps Server", fb.KindCodeCommit: "AWS CodeCommit"}
	u, err := url.Parse(webURL)
	if err != nil || u.Host == "" {
		return "", names[kind]
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/favicon.ico"}).String(), names[kind]
}
