package app

import (
	"context"
	"slices"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/branchname"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// DeleteBranchInput is a request to delete a branch of an issue on its host.
type DeleteBranchInput struct {
	RepositoryID string
	Name         string
	Token        OneOffToken
}

func (in DeleteBranchInput) bounds(issueKey string) error {
	return checkBounds(append([]bound{chars("issue key", issueKey, MaxIssueKeyChars),
		chars("repositoryId", in.RepositoryID, MaxNameChars), octets("name", in.Name, MaxBranchBytes)},
		credentialBounds("", in.Token.Credential)...)...)
}

// Unlinker is the optional part of a Linker that removes a link it wrote
// (a Jira remote link, by its global id). Removing one already gone succeeds.
type Unlinker interface {
	UnlinkIssue(ctx context.Context, issueKey, globalID string) error
}

// AuditRemoteLinkDelete records a link removed from the tracker's issue (an
// addition to API.md's actions, as AuditRemoteLink).
const AuditRemoteLinkDelete = "remotelink.delete"

// DeleteBranch deletes a branch of an issue on its host, under the rules of
// creating one (API.md "Acting on git data"): the createBranch switch, Browse
// and View Development Tools, the credential rule. Only a branch whose name
// mentions the issue, never the repository's default branch (EForbidden).
// The branch then leaves every issue and its tracker link at once.
func (s *Service) DeleteBranch(ctx context.Context, u fb.User, issueKey string, in DeleteBranchInput) error {
	if err := in.bounds(issueKey); err != nil {
		return err
	}
	in.Name = strings.TrimSpace(in.Name)
	entry := fb.AuditEntry{User: u.Name, Action: fb.AuditBranchDelete, RepositoryID: in.RepositoryID, Issue: issueKey, Target: in.Name}
	t, err := s.deleteBranch(ctx, u, issueKey, in, &entry)
	if err != nil {
		s.audit(ctx, entry, err)
		return err
	}
	s.guards().branches.forget(t.repo.ID) // the dialogs stop listing it at once
	gid := branchLink(t, fb.Branch{Name: in.Name}).GlobalID
	keys, err := s.Store.ForgetBranch(context.WithoutCancel(ctx), t.repo.ID, in.Name, gid, s.stamp(&entry, nil))
	s.Metrics.action(entry.Action, string(entry.Actor.Type), fb.AuditOutcomeSuccess)
	if err != nil {
		// The host has deleted it: the next index of the repository takes it
		// off the issues. The audit entry is written on its own.
		s.log().Error("deleted branch not taken off its issues", "repository", t.repo.ID, "branch", in.Name, "err", err)
		if aerr := s.Store.AddAudit(context.WithoutCancel(ctx), s.stamp(&entry, nil)); aerr != nil {
			s.log().Error("action not recorded", "action", entry.Action, "user", entry.User, "issue", entry.Issue, "err", aerr)
		}
	}
	if !slices.Contains(keys, t.issue.Key) {
		keys = append(keys, t.issue.Key)
	}
	s.unlink(ctx, u, t, keys, gid)
	s.indexSoon(ctx, []string{t.repo.ID}, IndexByWebhook)
	return nil
}

func (s *Service) deleteBranch(ctx context.Context, u fb.User, issueKey string, in DeleteBranchInput, entry *fb.AuditEntry) (target, error) {
	t, err := s.resolve(ctx, u, issueKey, in.RepositoryID)
	if err != nil {
		return target{}, err
	}
	entry.IntegrationID, entry.Issue = t.integ.ID, t.issue.Key
	if !t.integ.Settings.CreateBranch || !t.repo.CanCreateBranch {
		return target{}, fb.Errorf(fb.EFeatureDisabled, "Branch creation, and so deletion, is switched off for %s.", t.repo.FullName)
	}
	if in.Name == "" {
		return target{}, fb.Errorf(fb.EInvalid, "name is required: the branch to delete.")
	}
	if err := branchname.Valid(in.Name); err != nil {
		return target{}, err
	}
	if in.Name == t.repo.DefaultBranch {
		return target{}, fb.Errorf(fb.EForbidden, "%s is the default branch of %s: forgebridge never deletes it.", in.Name, t.repo.FullName)
	}
	if !MentionsIssue(in.Name, t.issue.Key) {
		return target{}, fb.Errorf(fb.EForbidden, "The branch %s does not mention %s: only an issue's own branches can be deleted from it.",
			in.Name, t.issue.Key)
	}
	choice, err := s.credential(ctx, u, t, in.Token)
	if err != nil {
		return target{}, err
	}
	entry.Actor = choice.Actor()
	p, err := s.provider(t.integ)
	if err != nil {
		return target{}, err
	}
	d, ok := provider.Capability[provider.BranchDeleter](p)
	if !ok {
		return target{}, fb.Errorf(fb.ENotSupported, "forgebridge cannot delete branches on %s.", t.integ.Name)
	}
	if err := d.DeleteBranch(ctx, choice.Credential, t.repo, in.Name); err != nil {
		if fb.ErrorCode(err) == fb.ENotFound {
			return target{}, err
		}
		return target{}, s.afterProviderError(ctx, u, t, choice, err)
	}
	return t, nil
}

// UnlinkQueue is the optional part of a Queue that removes a link from the
// tracker's issue later, when the tracker refused at first.
type UnlinkQueue interface {
	RetryUnlink(ctx context.Context, issueKey, globalID string) error
}

// unlink removes the link to a deleted branch from each issue it was on; a
// failure is logged, audited and queued for a retry when there is a queue,
// never returned: the branch is gone.
func (s *Service) unlink(ctx context.Context, u fb.User, t target, keys []string, globalID string) {
	un, ok := s.Linker.(Unlinker)
	if !ok {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, key := range keys {
		lctx, cancel := context.WithTimeout(ctx, LinkTimeout)
		err := un.UnlinkIssue(lctx, key, globalID)
		cancel()
		s.audit(ctx, fb.AuditEntry{User: u.Name, Action: AuditRemoteLinkDelete, IntegrationID: t.integ.ID,
			RepositoryID: t.repo.ID, Issue: key, Target: globalID}, err)
		if err == nil {
			continue
		}
		q, ok := s.Queue.(UnlinkQueue)
		if code := fb.ErrorCode(err); code == fb.EForbidden || code == fb.ENotFound || code == fb.EInvalid {
			ok = false // Jira's answer, not its absence: a retry would get it again
		}
		if !ok {
			s.log().Warn("link to a deleted branch not removed from the tracker's issue", "issue", key, "globalId", globalID, "err", err)
			continue
		}
		s.log().Warn("link to a deleted branch not removed from the tracker's issue; retrying later", "issue", key, "globalId", globalID, "err", err)
		if qerr := q.RetryUnlink(ctx, key, globalID); qerr != nil {
			s.log().Error("retry of a link's removal not queued", "issue", key, "globalId", globalID, "err", qerr)
		}
	}
}

// RemoveLink removes a link from the tracker's issue now (the queue's
// worker), unless the branch is on the issue again (made again, or found
// again by an index run, which records it before it queues its link) or
// its link was written again: the tracker's link is then the new one's.
func (s *Service) RemoveLink(ctx context.Context, issueKey, globalID string) error {
	un, ok := s.Linker.(Unlinker)
	if !ok {
		return nil
	}
	links, err := s.Store.TrackerLinks(ctx, issueKey)
	if err != nil {
		return err
	}
	again := slices.ContainsFunc(links, func(l fb.TrackerLink) bool { return l.GlobalID == globalID })
	if !again {
		branches, err := s.Store.IssueBranches(ctx, issueKey)
		if err != nil {
			return err
		}
		again = slices.ContainsFunc(branches, func(b fb.IssueBranch) bool {
			return branchGlobalID(b.RepositoryID, b.Name) == globalID
		})
	}
	if again {
		s.log().Info("link kept on the tracker's issue: its branch is back", "issue", issueKey, "globalId", globalID)
		return nil
	}
	if err := un.UnlinkIssue(ctx, issueKey, globalID); err != nil {
		return err
	}
	s.audit(ctx, fb.AuditEntry{User: BackgroundUser, Action: AuditRemoteLinkDelete, Issue: issueKey, Target: globalID}, nil)
	return nil
}
