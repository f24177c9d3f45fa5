package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/branchname"
	"github.com/forgebridge/forgebridge/internal/provider"
	"golang.org/x/time/rate"
)

// RepositoryView is a repository as one person sees it.
type RepositoryView struct {
	fb.Repository
	Integration fb.Integration
	// RequireUserPAT is the effective rule: the integration's or the global setting.
	RequireUserPAT bool
	Token          *fb.UserToken // the person's token for the integration, Credential cleared; nil if none
	Index          fb.IndexState
}

// visibleIntegrations returns the integrations associated with a project the
// person may browse (only `project` when it is set).
func (s *Service) visibleIntegrations(ctx context.Context, u fb.User, project string) ([]fb.Integration, error) {
	var browsable []string
	if project != "" {
		// One decision for the one project, rather than one per project.
		project = strings.ToUpper(project)
		perms, err := s.Tracker.Permissions(ctx, u, project)
		if err != nil || !perms[fb.PermBrowseProjects] {
			return nil, err
		}
		browsable = []string{project}
	} else {
		if pt, ok := s.Tracker.(projectScopedTracker); ok {
			return s.integrationsBrowsable(ctx, pt, u)
		}
		var err error
		if browsable, err = s.Tracker.BrowsableProjects(ctx, u); err != nil {
			return nil, err
		}
	}
	return s.integrationsServing(ctx, browsable)
}

// integrationsServing returns the integrations associated with any of the projects.
func (s *Service) integrationsServing(ctx context.Context, projects []string) ([]fb.Integration, error) {
	ins, err := s.Store.Integrations(ctx)
	if err != nil {
		return nil, err
	}
	var out []fb.Integration
	for _, in := range ins {
		if slices.ContainsFunc(projects, in.ServesProject) {
			out = append(out, in)
		}
	}
	return out, nil
}

// Repositories lists the repositories the person may see, one page at a time.
func (s *Service) Repositories(ctx context.Context, u fb.User, project, text string, page fb.Page) ([]RepositoryView, string, error) {
	if err := checkBounds(chars("project", project, MaxIssueKeyChars), chars("q", text, MaxSearchChars)); err != nil {
		return nil, "", err
	}
	ins, err := s.visibleIntegrations(ctx, u, project)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, 0, len(ins))
	for _, in := range ins {
		ids = append(ids, in.ID)
	}
	repos, next, err := s.Store.Repositories(ctx, fb.RepositoryQuery{Page: page, IntegrationIDs: ids, Text: text})
	if err != nil {
		return nil, "", err
	}
	// Where host permissions are enforced a page may hold fewer than its
	// limit; next still leads on.
	if repos, _, err = s.visibleRepositories(ctx, u, ins, repos); err != nil {
		return nil, "", err
	}
	views, err := s.views(ctx, u, ins, repos)
	return views, next, err
}

// Repository returns one repository the person may see: one of an
// integration serving a project they may browse.
func (s *Service) Repository(ctx context.Context, u fb.User, id string) (RepositoryView, error) {
	if err := checkBounds(chars("repository id", id, MaxNameChars)); err != nil {
		return RepositoryView{}, err
	}
	repo, err := s.Store.Repository(ctx, id)
	if err != nil {
		return RepositoryView{}, err
	}
	ins, err := s.visibleIntegrations(ctx, u, "")
	if err != nil {
		return RepositoryView{}, err
	}
	for _, in := range ins {
		if in.ID == repo.IntegrationID {
			if visible, err := s.hostVisible(ctx, u, in, repo); err != nil || !visible {
				if err != nil {
					return RepositoryView{}, err
				}
				break
			}
			views, err := s.views(ctx, u, ins, []fb.Repository{repo})
			if err != nil {
				return RepositoryView{}, err
			}
			return views[0], nil
		}
	}
	return RepositoryView{}, fb.Errorf(fb.ENotFound, "Repository %s does not exist or you may not see it.", id)
}

// views annotates repositories with their integration and the person's token.
func (s *Service) views(ctx context.Context, u fb.User, ins []fb.Integration, repos []fb.Repository) ([]RepositoryView, error) {
	settings, err := s.Store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	tokens, err := s.Store.UserTokens(ctx, u.Key)
	if err != nil {
		return nil, err
	}
	byID := map[string]fb.Integration{}
	for _, in := range ins {
		byID[in.ID] = in
	}
	states, err := s.IndexStates(ctx, repositoryIDsOf(repos))
	if err != nil {
		return nil, err
	}
	out := make([]RepositoryView, 0, len(repos))
	for i, r := range repos {
		in := byID[r.IntegrationID]
		v := RepositoryView{Repository: r, Integration: in, RequireUserPAT: RequiresUserToken(in, settings.RequireUserPATEverywhere)}
		v.CanCreateBranch = r.CanCreateBranch && in.Settings.CreateBranch
		v.CanCreatePullRequest = r.CanCreatePullRequest && in.Settings.CreatePullRequest
		v.Token = shownToken(tokens, in.ID, s.now())
		v.Index = states[i]
		out = append(out, v)
	}
	return out, nil
}

// Branches lists a repository's branches from the provider with the
// integration's service credential, filtered by text and paged by offset.
// The person must hold View Development Tools on a project the repository's
// integration serves.
func (s *Service) Branches(ctx context.Context, u fb.User, repositoryID, text string, page fb.Page) ([]fb.Branch, string, error) {
	if err := checkBounds(chars("repository id", repositoryID, MaxNameChars), chars("q", text, MaxSearchChars)); err != nil {
		return nil, "", err
	}
	repo, err := s.Store.Repository(ctx, repositoryID)
	if err != nil {
		return nil, "", err
	}
	in, err := s.Store.Integration(ctx, repo.IntegrationID)
	if err != nil {
		return nil, "", err
	}
	if err := s.requireDevTools(ctx, u, in); err != nil {
		return nil, "", err
	}
	if visible, err := s.hostVisible(ctx, u, in, repo); err != nil || !visible {
		if err != nil {
			return nil, "", err
		}
		return nil, "", fb.Errorf(fb.ENotFound, "Repository %s does not exist or you may not see it.", repositoryID)
	}
	all, err := s.cachedBranches(ctx, u, in, repo)
	if err != nil {
		return nil, "", err
	}
	if text != "" {
		text = strings.ToLower(text)
		all = slices.DeleteFunc(all, func(b fb.Branch) bool { return !strings.Contains(strings.ToLower(b.Name), text) })
	}
	return pageOf(all, page)
}

// Branch lists come from a short cache, so rendering a dialog or paging a
// list does not read every page of every branch from the provider each time,
// and each person's cache misses are limited, so that nobody can spend the
// service account's rate limit alone.
const (
	branchCacheTTL     = 30 * time.Second
	branchCacheEntries = 1000
	providerReadRate   = rate.Limit(0.5) // provider reads per second and person, refilled
	providerReadBurst  = 10
)

// branchCache holds recent branch lists by repository and credential: the
// identity of the credential that read them is part of the key, so a list
// read with one token is never shown for another.
type branchCache struct {
	mu      sync.Mutex
	entries map[branchKey]branchEntry
}

type branchKey struct {
	repositoryID string
	credential   [sha256.Size]byte
}

type branchEntry struct {
	at       time.Time
	branches []fb.Branch
}

func credentialIdentity(in fb.Integration, c fb.Credential) [sha256.Size]byte {
	return sha256.Sum256([]byte(in.ID + "\x00" + in.UpdatedAt.String() + "\x00" + c.Token + "\x00" + c.AccessKeyID + "\x00" + c.SecretAccessKey))
}

func (c *branchCache) get(k branchKey, now time.Time) ([]fb.Branch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || now.Sub(e.at) >= branchCacheTTL || now.Before(e.at) {
		return nil, false
	}
	return e.branches, true
}

func (c *branchCache) put(k branchKey, now time.Time, branches []fb.Branch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[branchKey]branchEntry{}
	}
	if len(c.entries) >= branchCacheEntries {
		for key, e := range c.entries {
			if now.Sub(e.at) >= branchCacheTTL || len(c.entries) >= branchCacheEntries {
				delete(c.entries, key)
			}
		}
	}
	c.entries[k] = branchEntry{at: now, branches: branches}
}

// forget drops a repository's lists, after a branch was created there.
func (c *branchCache) forget(repositoryID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if k.repositoryID == repositoryID {
			delete(c.entries, k)
		}
	}
}

// cachedBranches is a repository's branch list read with the integration's
// service credential: from the cache, else from the provider within the
// person's read limit.
func (s *Service) cachedBranches(ctx context.Context, u fb.User, in fb.Integration, repo fb.Repository) ([]fb.Branch, error) {
	g, now := s.guards(), s.now()
	key := branchKey{repositoryID: repo.ID, credential: credentialIdentity(in, in.Credential)}
	if branches, ok := g.branches.get(key, now); ok {
		return branches, nil
	}
	if retry, ok := g.reads.Allow(u.Key, now); !ok {
		return nil, &fb.Error{Code: fb.ERateLimited, RetryAfter: retry,
			Message: fmt.Sprintf("You have asked %s for branch lists too often. Try again in %d seconds.", in.Name, retry)}
	}
	p, err := s.provider(in)
	if err != nil {
		return nil, err
	}
	branches, err := p.Branches(ctx, in.Credential, repo)
	if err != nil {
		return nil, explainTokenError(err, in, SourceService)
	}
	g.branches.put(key, now, branches)
	return branches, nil
}

// requireDevTools refuses unless the person holds Browse and View
// Development Tools on a project the integration serves.
func (s *Service) requireDevTools(ctx context.Context, u fb.User, in fb.Integration) error {
	candidates, err := s.devToolsCandidates(ctx, u, in)
	if err != nil {
		return err
	}
	for _, project := range candidates {
		if !in.ServesProject(project) {
			continue
		}
		perms, err := s.Tracker.Permissions(ctx, u, project)
		if fb.ErrorCode(err) == fb.ENotFound {
			continue // a project the integration names that Jira no longer has
		}
		if err != nil {
			return err
		}
		if perms[fb.PermBrowseProjects] && perms[fb.PermViewDevTools] {
			return nil
		}
	}
	return fb.Errorf(fb.EForbidden, "You need the View Development Tools permission on a project of %s to list its branches.", in.Name)
}

// pageOf cuts a slice into pages with an opaque offset cursor.
func pageOf[T any](all []T, page fb.Page) ([]T, string, error) {
	off := 0
	if page.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(page.Cursor)
		if err == nil {
			off, err = strconv.Atoi(string(b))
		}
		if err != nil || off < 0 {
			return nil, "", fb.Errorf(fb.EInvalid, "cursor is not valid.")
		}
	}
	off = min(off, len(all))
	end := min(off+page.Limit, len(all))
	next := ""
	if end < len(all) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return all[off:end], next, nil
}

// IssueView is an issue with what the person may do and what was recorded for it.
type IssueView struct {
	Issue                fb.Issue
	CanUseDevTools       bool
	BranchNameSuggestion string
	Repositories         []RepositoryView
	Branches             []fb.IssueBranch
	PullRequests         []fb.IssuePullRequest
	// TrackerLinks is the state of each link written back to the tracker, by URL.
	TrackerLinks map[string]string
	// Activity is the issue's status, comments and work logs where the
	// tracker keeps them for forgebridge (the local one); else nil.
	Activity *fb.IssueActivity

	// Indexed git data: the newest commits (CommitCount in all, CommitsNext
	// the cursor of the rest), the tags containing the work, and each
	// repository's index state by id.
	Commits     []CommitView
	CommitCount int
	CommitsNext string
	Tags        []TagView
}

// CommitView is an indexed commit with its address on the host and, when
// known, the tracker user who wrote it.
type CommitView struct {
	fb.Commit
	WebURL string
	User   *fb.User
	// Diffable says the commit's diff can be opened (diffViewing is on).
	Diffable bool
}

// TagView is a tag containing an issue's work, with its address on the host.
type TagView struct {
	fb.IssueTag
	WebURL string
}

// issueCommitsShown is how many commits an issue view carries; the rest
// are a page away.
const issueCommitsShown = 20

// Issue returns an issue for its page and API answer. People without View
// Development Tools see the issue but none of its development information.
func (s *Service) Issue(ctx context.Context, u fb.User, key string) (IssueView, error) {
	issue, perms, err := s.issueAndPermissions(ctx, u, key)
	if err != nil {
		return IssueView{}, err
	}
	v := IssueView{Issue: issue, CanUseDevTools: perms[fb.PermViewDevTools]}
	settings, err := s.Store.Settings(ctx)
	if err != nil {
		return IssueView{}, err
	}
	if name, err := branchname.Suggest(settings.BranchNameTemplate, settings.BranchNameMaxLength, issue); err == nil {
		v.BranchNameSuggestion = name
	}
	if at, ok := s.Tracker.(fb.ActivityTracker); ok {
		a, err := at.Activity(ctx, issue.Key)
		if err != nil {
			return IssueView{}, err
		}
		v.Activity = &a
	}
	if !v.CanUseDevTools {
		return v, nil
	}
	ins, err := s.integrationsServing(ctx, []string{issue.Project}) // Browse on the issue was checked above
	if err != nil {
		return IssueView{}, err
	}
	ids := make([]string, 0, len(ins))
	for _, in := range ins {
		ids = append(ids, in.ID)
	}
	// The dialogs list every associated repository; a project with more than
	// this is served by the paginated repository list instead.
	repos, _, err := s.Store.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 1000}, IntegrationIDs: ids})
	if err != nil {
		return IssueView{}, err
	}
	repos, hidden, err := s.visibleRepositories(ctx, u, ins, repos)
	if err != nil {
		return IssueView{}, err
	}
	if v.Repositories, err = s.views(ctx, u, ins, repos); err != nil {
		return IssueView{}, err
	}
	if v.Branches, err = s.Store.IssueBranches(ctx, issue.Key); err != nil {
		return IssueView{}, err
	}
	if v.PullRequests, err = s.Store.IssuePullRequests(ctx, issue.Key); err != nil {
		return IssueView{}, err
	}
	// Only the work in repositories of integrations serving the issue's
	// project is shown, as for commits and tags.
	serving := s.servingRepositories(ctx, ids, repos, hidden)
	v.Branches = slices.DeleteFunc(v.Branches, func(b fb.IssueBranch) bool { return !serving(b.RepositoryID) })
	v.PullRequests = slices.DeleteFunc(v.PullRequests, func(pr fb.IssuePullRequest) bool { return !serving(pr.RepositoryID) })
	links, err := s.Store.TrackerLinks(ctx, issue.Key)
	if err != nil {
		return IssueView{}, err
	}
	v.TrackerLinks = make(map[string]string, len(links))
	for _, l := range links {
		v.TrackerLinks[l.URL] = l.Status
	}
	if err := s.indexedData(ctx, &v, ids, hidden); err != nil {
		return IssueView{}, err
	}
	return v, nil
}

// servingRepositories says whether a repository belongs to one of the
// integrations and the person may see it: known is a first answer, hidden
// are not, the store the rest, remembered.
func (s *Service) servingRepositories(ctx context.Context, integrationIDs []string, known []fb.Repository, hidden []string) func(string) bool {
	memo := make(map[string]bool, len(known)+len(hidden))
	for _, r := range known {
		memo[r.ID] = slices.Contains(integrationIDs, r.IntegrationID)
	}
	for _, id := range hidden {
		memo[id] = false
	}
	return func(id string) bool {
		ok, seen := memo[id]
		if !seen {
			r, err := s.Store.Repository(ctx, id)
			ok = err == nil && slices.Contains(integrationIDs, r.IntegrationID)
			memo[id] = ok
		}
		return ok
	}
}

// indexedData adds what indexing found to an issue view: a few indexed
// queries, never a scan.
func (s *Service) indexedData(ctx context.Context, v *IssueView, integrationIDs, hidden []string) error {
	if s.Index.Store == nil {
		return nil
	}
	q := fb.IssueDataQuery{Page: fb.Page{Limit: issueCommitsShown}, IssueKey: v.Issue.Key, IntegrationIDs: integrationIDs,
		HiddenRepositoryIDs: hidden}
	commits, count, next, err := s.Index.Store.IssueCommits(ctx, q)
	if err != nil {
		return err
	}
	tags, err := s.Index.Store.IssueTags(ctx, q)
	if err != nil {
		return err
	}
	links := s.webLinks(v.Repositories)
	v.Commits, v.CommitCount, v.CommitsNext = s.withAuthors(ctx, links.commits(commits)), count, next
	markDiffable(v.Commits, func(id string) (fb.Integration, bool) {
		for _, r := range v.Repositories {
			if r.ID == id {
				return r.Integration, true
			}
		}
		return fb.Integration{}, false
	})
	for _, t := range tags {
		if slices.Contains(hidden, t.RepositoryID) {
			continue
		}
		v.Tags = append(v.Tags, TagView{IssueTag: t, WebURL: links.url(t.RepositoryID, func(l provider.WebLinker, r fb.Repository) string {
			return l.TagURL(r, t.Name)
		})})
	}
	return nil
}

// withAuthors names the tracker user who wrote each commit, where the
// tracker can tell (the author's email is theirs, one active user's).
func (s *Service) withAuthors(ctx context.Context, cs []CommitView) []CommitView {
	people, ok := s.Tracker.(fb.PeopleByEmail)
	if !ok || len(cs) == 0 {
		return cs
	}
	emails := make([]string, 0, len(cs))
	for _, c := range cs {
		emails = append(emails, c.AuthorEmail)
	}
	users, err := people.UsersByEmail(ctx, emails)
	if err != nil {
		s.log().Warn("commit authors not looked up", "err", err)
		return cs
	}
	for i := range cs {
		if u, ok := users[strings.ToLower(strings.TrimSpace(cs[i].AuthorEmail))]; ok {
			cs[i].User = &u
		}
	}
	return cs
}

// repoLinks finds the host addresses of commits and tags of repositories.
type repoLinks map[string]struct {
	repo  fb.Repository
	links provider.WebLinker
}

func (s *Service) webLinks(views []RepositoryView) repoLinks {
	out := repoLinks{}
	for _, v := range views {
		out.add(s, v.Integration, v.Repository)
	}
	return out
}

func (rl repoLinks) add(s *Service, in fb.Integration, repo fb.Repository) {
	p, err := s.provider(in)
	if err != nil {
		return
	}
	if l, ok := provider.Capability[provider.WebLinker](p); ok {
		rl[repo.ID] = struct {
			repo  fb.Repository
			links provider.WebLinker
		}{repo, l}
	}
}

func (rl repoLinks) url(repositoryID string, f func(provider.WebLinker, fb.Repository) string) string {
	e, ok := rl[repositoryID]
	if !ok {
		return ""
	}
	return provider.SafeWebURL(f(e.links, e.repo))
}

func (rl repoLinks) commits(cs []fb.Commit) []CommitView {
	out := make([]CommitView, 0, len(cs))
	for _, c := range cs {
		out = append(out, CommitView{Commit: c, WebURL: rl.url(c.RepositoryID, func(l provider.WebLinker, r fb.Repository) string {
			return l.CommitURL(r, c.SHA)
		})})
	}
	return out
}
