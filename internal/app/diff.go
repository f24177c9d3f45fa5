package app

import (
	"context"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// CommitDiffView is a commit's changed files and diff, read from the mirror
// of its repository, as one person may see it.
type CommitDiffView struct {
	gitmirror.CommitDiff
	Repository fb.Repository
	WebURL     string
	User       *fb.User // the tracker user who wrote it, when known
	// Issues are the keys of the linked issues the person may browse with
	// View Development Tools, through which they see the commit.
	Issues []string
}

// CommitDiff returns a commit's changed files and diff from the mirror. The
// person must be able to see the commit: one of its linked issues is one
// they may browse with View Development Tools, in a project the
// repository's integration serves (and, where the integration enforces host
// permissions, their own token reads the repository). Otherwise the commit
// is not found, so that nobody learns what exists where they may not look.
func (s *Service) CommitDiff(ctx context.Context, u fb.User, repositoryID, sha string) (CommitDiffView, error) {
	if err := checkBounds(chars("repository id", repositoryID, MaxNameChars)); err != nil {
		return CommitDiffView{}, err
	}
	if !isCommitID(sha) {
		return CommitDiffView{}, fb.Errorf(fb.EInvalid, "The commit id must be a full commit id: 40 (or 64) lower-case hexadecimal digits.")
	}
	notFound := fb.Errorf(fb.ENotFound, "Commit %s does not exist in repository %s or you may not see it.", sha, repositoryID)
	repo, err := s.Store.Repository(ctx, repositoryID)
	if fb.ErrorCode(err) == fb.ENotFound {
		return CommitDiffView{}, notFound
	} else if err != nil {
		return CommitDiffView{}, err
	}
	in, err := s.Store.Integration(ctx, repo.IntegrationID)
	if err != nil {
		return CommitDiffView{}, err
	}
	issues, err := s.commitIssues(ctx, u, in, repo, sha)
	if err != nil {
		return CommitDiffView{}, err
	}
	if len(issues) == 0 {
		return CommitDiffView{}, notFound
	}
	if !in.Settings.DiffViewing {
		return CommitDiffView{}, fb.Errorf(fb.EFeatureDisabled, "Diff viewing is switched off for %s; an administrator can switch it on in the integration's settings.", in.Name)
	}
	if s.Index.Mirror == nil {
		return CommitDiffView{}, fb.Errorf(fb.ENotSupported, "Diffs are read from the repository's mirror, and this instance has no git to read them with.")
	}
	m, err := s.Index.Mirror(repo.ID)
	if err != nil {
		return CommitDiffView{}, err
	}
	d, err := m.Diff(ctx, sha, gitmirror.DefaultDiffLimits)
	if fb.ErrorCode(err) == fb.ENotFound {
		return CommitDiffView{}, fb.Errorf(fb.ENotFound, "Commit %s is not in the mirror of %s yet; it appears after the next index run.", sha, repo.FullName)
	} else if err != nil {
		return CommitDiffView{}, err
	}
	v := CommitDiffView{CommitDiff: d, Repository: repo, Issues: issues}
	links := repoLinks{}
	links.add(s, in, repo)
	v.WebURL = links.url(repo.ID, func(l provider.WebLinker, r fb.Repository) string { return l.CommitURL(r, sha) })
	authors := s.withAuthors(ctx, []CommitView{{Commit: fb.Commit{AuthorEmail: d.AuthorEmail}}})
	v.User = authors[0].User
	return v, nil
}

// commitIssues returns the keys of the commit's linked issues through which
// the person sees it: issues they may browse with View Development Tools, in
// a project the integration serves, where the host lets them read the
// repository (when the integration enforces it).
func (s *Service) commitIssues(ctx context.Context, u fb.User, in fb.Integration, repo fb.Repository, sha string) ([]string, error) {
	if s.Index.Store == nil {
		return nil, nil
	}
	keys, err := s.Index.Store.CommitKeys(ctx, repo.ID, []string{sha})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, key := range keys[sha] {
		issue, perms, err := s.issueAndPermissions(ctx, u, key)
		switch fb.ErrorCode(err) {
		case "":
		case fb.ENotFound, fb.EForbidden:
			continue
		default:
			return nil, err
		}
		if perms[fb.PermViewDevTools] && in.ServesProject(issue.Project) {
			out = append(out, issue.Key)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	if visible, err := s.hostVisible(ctx, u, in, repo); err != nil || !visible {
		return nil, err
	}
	return out, nil
}

// isCommitID accepts a full commit id, nothing git could read otherwise.
func isCommitID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

// markDiffable says which commits open a diff: those of repositories whose
// integration has diff viewing on.
func markDiffable(cs []CommitView, integrationOf func(repositoryID string) (fb.Integration, bool)) {
	for i := range cs {
		in, ok := integrationOf(cs[i].RepositoryID)
		cs[i].Diffable = ok && in.Settings.DiffViewing
	}
}
