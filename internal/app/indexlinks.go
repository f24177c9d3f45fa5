package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

// IndexedLinks brings the tracker's links up to date after an index run
// linked git data to keys: one link per issue to its development panel,
// titled with its counts, and one per indexed branch and pull request of
// the repository, each with a stable global id so that writing it again
// updates it. The links are written by the queue, so a first index that
// finds thousands of issues does not hold the run or flood the tracker.
func (s *Service) IndexedLinks(ctx context.Context, repositoryID string, keys []string) {
	if s.Linker == nil || s.Queue == nil || s.Index.Store == nil {
		return
	}
	repo, err := s.Store.Repository(ctx, repositoryID)
	if err != nil {
		return
	}
	in, err := s.Store.Integration(ctx, repo.IntegrationID)
	if err != nil {
		return
	}
	t := target{integ: in, repo: repo}
	for _, key := range keys {
		links, err := s.indexedLinks(ctx, t, key)
		if err != nil {
			s.log().Warn("tracker links not queued", "issue", key, "err", err)
			continue
		}
		for _, l := range links {
			if err := s.Queue.RetryLink(ctx, key, l); err != nil {
				s.log().Warn("tracker link not queued", "issue", key, "url", l.URL, "err", err)
			}
		}
	}
}

func (s *Service) indexedLinks(ctx context.Context, t target, key string) ([]IssueLink, error) {
	if !t.integ.ServesProject(projectOf(key)) {
		return nil, nil
	}
	// The counts are those the issue's own page shows: of the integrations
	// serving its project.
	ins, err := s.integrationsServing(ctx, []string{projectOf(key)})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ins))
	for i, in := range ins {
		ids[i] = in.ID
	}
	_, commits, _, err := s.Index.Store.IssueCommits(ctx, fb.IssueDataQuery{Page: fb.Page{Limit: 1}, IssueKey: key, IntegrationIDs: ids})
	if err != nil {
		return nil, err
	}
	branches, err := s.Store.IssueBranches(ctx, key)
	if err != nil {
		return nil, err
	}
	prs, err := s.Store.IssuePullRequests(ctx, key)
	if err != nil {
		return nil, err
	}
	serving := s.servingRepositories(ctx, ids, nil, nil)
	branches = slices.DeleteFunc(branches, func(b fb.IssueBranch) bool { return !serving(b.RepositoryID) })
	prs = slices.DeleteFunc(prs, func(pr fb.IssuePullRequest) bool { return !serving(pr.RepositoryID) })
	var out []IssueLink
	if s.PanelURL != nil {
		out = append(out, IssueLink{GlobalID: "forgebridge:issue:" + key + ":development", URL: s.PanelURL(key),
			Title: developmentTitle(commits, len(branches), len(prs)), Summary: "Development information in forgebridge"})
	}
	for _, b := range branches {
		if b.RepositoryID == t.repo.ID && b.WebURL != "" {
			l := branchLink(t, fb.Branch{Name: b.Name, SHA: b.SHA, WebURL: b.WebURL})
			l.Summary = "In " + t.repo.FullName
			out = append(out, l)
		}
	}
	for _, pr := range prs {
		if pr.RepositoryID == t.repo.ID && pr.WebURL != "" {
			l := pullRequestLink(t, pr.PullRequest)
			l.Resolved = pr.State == fb.PullMerged || pr.State == fb.PullDeclined
			if pr.State != "" && pr.State != fb.PullOpen {
				l.Summary = fmt.Sprintf("%s: %s → %s in %s", strings.ToUpper(string(pr.State[:1]))+string(pr.State[1:]),
					pr.SourceBranch, pr.TargetBranch, t.repo.FullName)
			}
			out = append(out, l)
		}
	}
	return out, nil
}

// developmentTitle counts an issue's git data: "3 commits, 1 branch, 1 pull request".
func developmentTitle(commits, branches, prs int) string {
	count := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	return count(commits, "commit", "commits") + ", " + count(branches, "branch", "branches") + ", " +
		count(prs, "pull request", "pull requests")
}

func projectOf(key string) string {
	p, _, _ := strings.Cut(key, "-")
	return p
}
