package app

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// IssueSearch is the issue search's filters (API.md "Acting on git data").
// Every filter given narrows the list; none lists every issue with git data.
type IssueSearch struct {
	RepositoryID string
	// Branch keeps the issues linked to a branch of that name.
	Branch string
	// Author keeps the issues with a commit by that person: an email, or a
	// tracker user name whose email is used.
	Author       string
	Since, Until *time.Time
	// Range is FROM..TO: the commits reachable from TO and not from FROM in
	// RepositoryID's mirror (the issues of a release).
	Range string
	// PullRequestState keeps the issues with a pull request in that state.
	PullRequestState fb.PullState
}

// commitFiltered says whether the search filters commits: then an issue
// needs a matching commit to be listed.
func (q IssueSearch) commitFiltered() bool {
	return q.Author != "" || q.Since != nil || q.Until != nil || q.Range != ""
}

// IssueResult is one issue of a search: how much of its git data matched.
type IssueResult struct {
	Key          string    `json:"key"`
	Commits      int       `json:"commits"`
	Branches     int       `json:"branches"`
	PullRequests int       `json:"pullRequests"`
	LastActivity time.Time `json:"lastActivity"`
}

// Bounds of one search: the commits a range may hold, and the (issue,
// repository) rows it may add up, so that one request stays well under a
// second and its memory small.
const (
	MaxRangeCommits = 100_000
	maxSearchRows   = 200_000
)

// RangeWalker returns the commits of a git range in a repository's mirror
// (index.Indexer.RangeCommits).
type RangeWalker func(ctx context.Context, repositoryID, from, to string, limit int) ([]string, error)

// SearchIssues answers one page of the issues whose git data matches q,
// most recent activity first, then by key. Only issues the person may
// browse with View Development Tools are listed, with only the git data of
// repositories whose integration serves the issue's project.
func (s *Service) SearchIssues(ctx context.Context, u fb.User, q IssueSearch, page fb.Page) ([]IssueResult, string, error) {
	all, err := s.searchIssues(ctx, u, q)
	if err != nil {
		return nil, "", err
	}
	limit := page.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	start := 0
	if page.Cursor != "" {
		var after searchCursor
		b, err := base64.RawURLEncoding.DecodeString(page.Cursor)
		if err == nil {
			err = json.Unmarshal(b, &after)
		}
		if err != nil {
			return nil, "", fb.Errorf(fb.EInvalid, "The page cursor is not valid; start again from the first page.")
		}
		start, _ = slices.BinarySearchFunc(all, after, func(r IssueResult, c searchCursor) int {
			return compareResults(r, IssueResult{Key: c.Key, LastActivity: time.UnixMicro(c.At)})
		})
		if start < len(all) && all[start].Key == after.Key {
			start++
		}
	}
	var out []IssueResult
	next := ""
	for i := start; i < len(all); i++ {
		if len(out) == limit {
			last := out[len(out)-1]
			b, _ := json.Marshal(searchCursor{At: last.LastActivity.UnixMicro(), Key: last.Key})
			next = base64.RawURLEncoding.EncodeToString(b)
			break
		}
		out = append(out, all[i])
	}
	out, err = s.issueSecurity(ctx, u, out)
	return out, next, err
}

// ExportIssues answers every issue of the search, as SearchIssues orders
// them, and a title naming the search (for release notes).
func (s *Service) ExportIssues(ctx context.Context, u fb.User, q IssueSearch) ([]IssueResult, string, error) {
	all, err := s.searchIssues(ctx, u, q)
	if err != nil {
		return nil, "", err
	}
	repository := ""
	if q.RepositoryID != "" {
		if r, err := s.Store.Repository(ctx, q.RepositoryID); err == nil {
			repository = r.FullName
		}
	}
	all, err = s.issueSecurity(ctx, u, all)
	return all, IssueSearchTitle(q, repository), err
}

// searchCursor is the sort key of the last issue of a page.
type searchCursor struct {
	At  int64  `json:"t"`
	Key string `json:"k"`
}

func compareResults(a, b IssueResult) int {
	return cmp.Or(b.LastActivity.Compare(a.LastActivity), strings.Compare(a.Key, b.Key))
}

// searchIssues lists every issue of the search the person may see, by
// project, sorted. Issue security (an issue narrower than its project) is
// checked by the callers on what they answer.
func (s *Service) searchIssues(ctx context.Context, u fb.User, q IssueSearch) ([]IssueResult, error) {
	if s.Index.Search == nil {
		return nil, fb.Errorf(fb.ENotSupported, "Searching issues by git data needs indexing, which is off on this instance.")
	}
	sq, integrationOf, err := s.searchQuery(ctx, u, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.Index.Search.SearchIssueActivity(ctx, sq)
	if err != nil {
		return nil, err
	}
	allowed, err := s.devToolsProjects(ctx, u, rows)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*IssueResult{}
	for _, r := range rows {
		project := projectOf(r.IssueKey)
		in, ok := integrationOf[r.RepositoryID]
		if !allowed[project] || !ok || !in.ServesProject(project) {
			continue
		}
		res, ok := byKey[r.IssueKey]
		if !ok {
			res = &IssueResult{Key: r.IssueKey}
			byKey[r.IssueKey] = res
		}
		res.Commits += r.Commits
		res.Branches += r.Branches
		res.PullRequests += r.PullRequests
		for _, t := range []time.Time{r.LastCommit, r.LastBranch, r.LastPullChange} {
			if t.After(res.LastActivity) {
				res.LastActivity = t.UTC()
			}
		}
	}
	out := make([]IssueResult, 0, len(byKey))
	for _, r := range byKey {
		switch {
		case q.commitFiltered() && r.Commits == 0,
			q.Branch != "" && r.Branches == 0,
			q.PullRequestState != "" && r.PullRequests == 0,
			r.Commits+r.Branches+r.PullRequests == 0:
			continue
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, compareResults)
	return out, nil
}

// searchQuery checks q and turns it into the store's query over the
// repositories the person may search, with each one's integration.
func (s *Service) searchQuery(ctx context.Context, u fb.User, q IssueSearch) (fb.IssueSearchQuery, map[string]fb.Integration, error) {
	sq := fb.IssueSearchQuery{Since: q.Since, Until: q.Until, Branch: q.Branch, PullRequestState: q.PullRequestState,
		MaxRows: maxSearchRows}
	switch q.PullRequestState {
	case "", fb.PullOpen, fb.PullMerged, fb.PullDeclined:
	default:
		return sq, nil, fb.Errorf(fb.EInvalid, "pullRequestState must be open, merged or declined.")
	}
	if q.Since != nil && q.Until != nil && !q.Since.Before(*q.Until) {
		return sq, nil, fb.Errorf(fb.EInvalid, "since must be before until.")
	}
	if err := checkBounds(chars("branch", q.Branch, 1000), chars("author", q.Author, 320),
		chars("range", q.Range, 2001), chars("repositoryId", q.RepositoryID, 200)); err != nil {
		return sq, nil, err
	}
	var from, to string
	if q.Range != "" {
		var ok bool
		from, to, ok = strings.Cut(q.Range, "..")
		if !ok || from == "" || to == "" || strings.HasPrefix(to, ".") {
			return sq, nil, fb.Errorf(fb.EInvalid, "range must be FROM..TO, two tag or branch names such as v1.0..v1.1.")
		}
		if q.RepositoryID == "" {
			return sq, nil, fb.Errorf(fb.EInvalid, "A range needs repositoryId: refs are a repository's own.")
		}
	}
	integrationOf := map[string]fb.Integration{}
	if q.RepositoryID != "" {
		repo, in, err := s.Store.RepositoryWithIntegration(ctx, q.RepositoryID)
		if err != nil {
			return sq, nil, err
		}
		// Before anything is read from the repository: refs of a repository
		// the person may not see are not theirs to probe.
		if err := s.requireDevTools(ctx, u, in); err != nil {
			return sq, nil, err
		}
		visible, err := s.SearchableRepositories(ctx, u, in, []fb.Repository{repo})
		if err != nil {
			return sq, nil, err
		}
		if len(visible) == 0 {
			return sq, nil, fb.Errorf(fb.ENotFound, "repository %s not found", q.RepositoryID)
		}
		integrationOf[repo.ID] = in
	} else {
		ins, err := s.Store.Integrations(ctx)
		if err != nil {
			return sq, nil, err
		}
		for _, in := range ins {
			repos, err := s.Store.IntegrationRepositories(ctx, in.ID)
			if err != nil {
				return sq, nil, err
			}
			if repos, err = s.SearchableRepositories(ctx, u, in, repos); err != nil {
				return sq, nil, err
			}
			for _, r := range repos {
				integrationOf[r.ID] = in
			}
		}
	}
	for id := range integrationOf {
		sq.RepositoryIDs = append(sq.RepositoryIDs, id)
	}
	slices.Sort(sq.RepositoryIDs)
	if q.Author != "" {
		email, err := s.authorEmail(ctx, q.Author)
		if err != nil {
			return sq, nil, err
		}
		sq.AuthorEmails = []string{email}
	}
	if q.Range != "" {
		if s.Index.Range == nil {
			return sq, nil, fb.Errorf(fb.ENotSupported, "Git ranges need the repositories' mirrors, which this instance does not keep.")
		}
		shas, err := s.Index.Range(ctx, q.RepositoryID, from, to, MaxRangeCommits)
		if err != nil {
			return sq, nil, err
		}
		sq.InRange, sq.RangeSHAs = true, shas
	}
	return sq, integrationOf, nil
}

// SearchableRepositories filters an integration's repositories down to
// those whose git data the person may search: where the integration
// enforces host permissions, those their own saved token reads on the host
// (the project permissions are checked per issue).
func (s *Service) SearchableRepositories(ctx context.Context, u fb.User, in fb.Integration, repos []fb.Repository) ([]fb.Repository, error) {
	visible, _, err := s.visibleRepositories(ctx, u, []fb.Integration{in}, repos)
	return visible, err
}

// authorEmail is the email of an author filter: itself when it is one,
// else the email of the tracker user of that name.
func (s *Service) authorEmail(ctx context.Context, author string) (string, error) {
	if strings.Contains(author, "@") {
		return author, nil
	}
	user, err := s.Tracker.User(ctx, author)
	if fb.ErrorCode(err) == fb.ENotFound {
		return "", fb.Errorf(fb.EInvalid, "There is no user %q; give an author's email or a user name.", author)
	} else if err != nil {
		return "", err
	}
	if user.Email == "" {
		return "", fb.Errorf(fb.EInvalid, "User %s has no email to match commits with; give the author's email.", author)
	}
	return user.Email, nil
}

// devToolsProjects answers, for each project of the rows' issues, whether
// the person holds Browse and View Development Tools on it: one question
// per project, however many issues.
func (s *Service) devToolsProjects(ctx context.Context, u fb.User, rows []fb.IssueGitActivity) (map[string]bool, error) {
	allowed := map[string]bool{}
	for _, r := range rows {
		p := projectOf(r.IssueKey)
		if _, seen := allowed[p]; seen {
			continue
		}
		perms, err := s.Tracker.Permissions(ctx, u, p)
		if fb.ErrorCode(err) == fb.ENotFound {
			allowed[p] = false // a key-like word that names no project
			continue
		} else if err != nil {
			return nil, err
		}
		allowed[p] = perms[fb.PermBrowseProjects] && perms[fb.PermViewDevTools]
	}
	return allowed, nil
}

// ProjectWidePermissions is the optional part of a Tracker whose issue
// permissions are always their project's (no issue security): its issues
// need no check of their own.
type ProjectWidePermissions interface {
	IssuePermissionsAreProjects() bool
}

// issueSecurity drops the issues whose own permissions (an issue security
// level) hide them or their development tools from the person, asking
// a few at a time. Issues the tracker does not know are dropped too.
func (s *Service) issueSecurity(ctx context.Context, u fb.User, issues []IssueResult) ([]IssueResult, error) {
	if pw, ok := s.Tracker.(ProjectWidePermissions); ok && pw.IssuePermissionsAreProjects() {
		return issues, nil
	}
	keep := make([]bool, len(issues))
	errs := make([]error, len(issues))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, r := range issues {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			perms, err := s.Tracker.IssuePermissions(ctx, u, fb.Issue{Key: r.Key, Project: projectOf(r.Key)})
			if fb.ErrorCode(err) == fb.ENotFound {
				return
			}
			keep[i], errs[i] = perms[fb.PermBrowseProjects] && perms[fb.PermViewDevTools], err
		}()
	}
	wg.Wait()
	out := issues[:0:0]
	for i, r := range issues {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if keep[i] {
			out = append(out, r)
		}
	}
	return out, nil
}
