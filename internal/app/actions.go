package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/branchname"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// OneOffToken is a credential typed into a create dialog for one action.
type OneOffToken struct {
	Credential fb.Credential
	// Remember saves it (validated) as the person's token for the integration first.
	Remember bool
}

// CreateBranchInput is a request to create a branch for an issue.
type CreateBranchInput struct {
	RepositoryID string
	BaseBranch   string // "" → the repository's default branch
	Name         string // "" → the name suggested from the template
	Token        OneOffToken
	// PullRequest, when set, also opens a pull request from the new branch
	// with the same credential ("branch and pull request in one step").
	PullRequest *PullRequestOptions
}

// CreatedBranch is the answer to CreateBranch.
type CreatedBranch struct {
	fb.Branch
	RepositoryID string
	Actor        fb.Actor
	// With PullRequestOptions: the pull request opened, or why it was not
	// (the branch stands either way).
	PullRequest      *CreatedPullRequest
	PullRequestError *fb.Error
}

// CreatePullRequestInput is a request to open a pull request for an issue.
type CreatePullRequestInput struct {
	RepositoryID string
	SourceBranch string // "" → the first branch whose name contains the issue key
	TargetBranch string // "" → the repository's default branch
	Title        string // "" → "KEY summary"
	Description  string
	Draft        bool
	Token        OneOffToken
}

// CreatedPullRequest is the answer to CreatePullRequest.
type CreatedPullRequest struct {
	fb.PullRequest
	RepositoryID string
	Actor        fb.Actor
}

// target is what every action on a repository for an issue resolves first.
type target struct {
	issue    fb.Issue
	repo     fb.Repository
	integ    fb.Integration
	settings fb.Settings
}

// resolve loads the issue, the repository and its integration, and refuses
// before any provider call unless the person holds Browse and View
// Development Tools on the issue's project and the repository serves it.
func (s *Service) resolve(ctx context.Context, u fb.User, issueKey, repositoryID string) (target, error) {
	return s.resolveWith(ctx, u, issueKey, repositoryID, nil)
}

// resolveWith is resolve with the settings already read for this request,
// when settings is not nil.
func (s *Service) resolveWith(ctx context.Context, u fb.User, issueKey, repositoryID string, settings *fb.Settings) (target, error) {
	issue, err := s.issueWithDevTools(ctx, u, issueKey)
	if err != nil {
		return target{}, err
	}
	if repositoryID == "" {
		return target{}, fb.Errorf(fb.EInvalid, "repositoryId is required.")
	}
	repo, integ, err := s.Store.RepositoryWithIntegration(ctx, repositoryID)
	if err != nil {
		return target{}, err
	}
	if !integ.ServesProject(issue.Project) {
		return target{}, fb.Errorf(fb.EForbidden, "The repository %s is not associated with project %s.", repo.FullName, issue.Project)
	}
	// Under enforced host permissions, a repository the person's own token
	// does not read is not theirs to act on, even through the service
	// account: not found, as when reading it.
	if visible, err := s.hostVisible(ctx, u, integ, repo); err != nil {
		return target{}, err
	} else if !visible {
		return target{}, fb.Errorf(fb.ENotFound, "repository %s not found", repositoryID)
	}
	if settings == nil {
		st, err := s.Store.Settings(ctx)
		if err != nil {
			return target{}, err
		}
		settings = &st
	}
	return target{issue: issue, repo: repo, integ: integ, settings: *settings}, nil
}

// issueWithDevTools returns the issue if the person may use development tools on it.
func (s *Service) issueWithDevTools(ctx context.Context, u fb.User, key string) (fb.Issue, error) {
	issue, perms, err := s.issueAndPermissions(ctx, u, key)
	if err != nil {
		return fb.Issue{}, err
	}
	if !perms[fb.PermViewDevTools] {
		return fb.Issue{}, fb.Errorf(fb.EForbidden,
			"You need the View Development Tools permission on project %s to do this.", issue.Project)
	}
	return issue, nil
}

// issueAndPermissions returns the issue if the person may browse its project.
func (s *Service) issueAndPermissions(ctx context.Context, u fb.User, key string) (fb.Issue, map[string]bool, error) {
	if err := checkBounds(chars("issue key", key, MaxIssueKeyChars)); err != nil {
		return fb.Issue{}, nil, err
	}
	issue, err := s.Tracker.Issue(ctx, strings.ToUpper(key))
	if err != nil {
		return fb.Issue{}, nil, err
	}
	perms, err := s.Tracker.IssuePermissions(ctx, u, issue)
	if err != nil {
		return fb.Issue{}, nil, err
	}
	if !perms[fb.PermBrowseProjects] {
		return fb.Issue{}, nil, fb.Errorf(fb.EForbidden, "You may not browse %s (project %s).", issue.Key, issue.Project)
	}
	return issue, perms, nil
}

// credential applies the credential rule for an action, saving a remembered
// one-off token first and learning a one-off token's login. A blank one-off
// token is none: it neither removes the saved token nor lets the service
// account act where a person's token is required.
func (s *Service) credential(ctx context.Context, u fb.User, t target, tok OneOffToken) (CredentialChoice, error) {
	if BlankCredential(tok.Credential) {
		tok = OneOffToken{}
	}
	if tok.Remember {
		if _, err := s.SaveToken(ctx, u, t.integ.ID, tok.Credential); err != nil {
			return CredentialChoice{}, err
		}
		tok = OneOffToken{}
	}
	req := CredentialRequest{Integration: t.integ, RequireEverywhere: t.settings.RequireUserPATEverywhere, OneOff: tok.Credential,
		Now: s.now()}
	if tok.Credential.IsZero() {
		saved, err := s.Store.UserToken(ctx, u.Key, t.integ.ID)
		switch {
		case err == nil:
			req.Saved = &saved
		case fb.ErrorCode(err) != fb.ENotFound:
			return CredentialChoice{}, err
		}
	} else if err := checkCredentialShape(t.integ.Kind, tok.Credential); err != nil {
		return CredentialChoice{}, err
	}
	choice, err := ChooseCredential(req)
	if err != nil || choice.Source != SourceOneOff {
		return choice, err
	}
	p, err := s.provider(t.integ)
	if err != nil {
		return CredentialChoice{}, err
	}
	info, err := p.Validate(ctx, choice.Credential)
	if err != nil {
		return CredentialChoice{}, explainTokenError(err, t.integ, SourceOneOff)
	}
	if err := s.checkPersonal(ctx, u, t.integ, info.UserID); err != nil {
		return CredentialChoice{}, err
	}
	choice.Login = info.Login
	return choice, nil
}

// afterProviderError marks a saved token invalid when the provider rejected
// it, and turns the error into one that tells the person what to do.
func (s *Service) afterProviderError(ctx context.Context, u fb.User, t target, choice CredentialChoice, err error) error {
	if fb.ErrorCode(err) == fb.ETokenRejected && choice.Source == SourceSaved {
		tok := *choice.Token
		now := s.now()
		tok.Status, tok.CheckedAt = fb.TokenInvalid, &now
		switch serr := s.Store.RecordTokenCheck(context.WithoutCancel(ctx), &tok); {
		case serr == nil:
			s.audit(ctx, fb.AuditEntry{User: u.Name, Action: fb.AuditTokenInvalidated, IntegrationID: t.integ.ID,
				RepositoryID: t.repo.ID, Issue: t.issue.Key, Actor: choice.Actor()}, nil)
		case fb.ErrorCode(serr) != fb.ENotFound: // ENotFound: replaced or removed meanwhile
			s.log().Error("token status not saved", "user", u.Name, "integration", t.integ.ID, "err", serr)
		}
	}
	return explainTokenError(err, t.integ, choice.Source)
}

// explainTokenError says whose credential a token_rejected error is about.
func explainTokenError(err error, in fb.Integration, src Source) error {
	e := fb.AsError(err)
	if e == nil || e.Code != fb.ETokenRejected {
		return err
	}
	out := *e
	out.IntegrationID = in.ID
	switch src {
	case SourceSaved:
		out.Message = fmt.Sprintf("%s rejected your saved personal access token (wrong, expired or revoked). "+
			"Replace it under My tokens and try again.", in.Name)
	case SourceOneOff:
		out.Message = fmt.Sprintf("%s rejected the personal access token you typed (wrong, expired or revoked). "+
			"Check it, or create a new one, and try again.", in.Name)
	case SourceService:
		out.Message = fmt.Sprintf("%s rejected the integration's service credential. "+
			"An administrator must update it under Manage Git repositories.", in.Name)
	}
	return &out
}

// ActionRecord is what forgebridge keeps of a branch or pull request the host
// has created: the action's audit entry and the issue's record of it. It
// holds no secret (names, ids, addresses, the actor's login), so it may be
// queued and, as a last resort, logged whole.
type ActionRecord struct {
	Entry       fb.AuditEntry // with its ActionID: storing it again stores it once
	Branch      *fb.IssueBranch
	PullRequest *fb.IssuePullRequest
}

// RecordQueue is a Queue that can also store an action record later. The
// job queue is one; a Queue without it leaves failed records to the log.
type RecordQueue interface {
	// RetryRecord stores the record later, retried with backoff until the
	// store takes it.
	RetryRecord(ctx context.Context, r ActionRecord) error
}

// recordTimeout bounds each write of an action record, so that a database
// that does not answer cannot hold the request (the record is then kept).
const recordTimeout = 10 * time.Second

// keep records a branch or pull request the host has already created. The
// action happened whatever the store says, so its record is never dropped:
// when the write fails it is queued to be written later (idempotently, by
// its action id); when the queue, in the same database, fails too it is
// held in memory and written once the database is back (held.go); only
// past that is it logged whole at ERROR for an operator to recover.
func (s *Service) keep(ctx context.Context, e fb.AuditEntry, b *fb.IssueBranch, pr *fb.IssuePullRequest) {
	e = *s.stamp(&e, nil)
	e.ActionID = rand.Text()
	r := ActionRecord{Entry: e, Branch: b, PullRequest: pr}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	s.Metrics.action(e.Action, string(e.Actor.Type), e.Outcome)
	err := s.StoreRecord(ctx, r)
	if err == nil {
		return
	}
	q, ok := s.Queue.(RecordQueue)
	if !ok {
		s.log().Error("action not recorded and no queue to retry it: recover it from this record",
			"record", r, "err", err)
		return
	}
	if qerr := q.RetryRecord(ctx, r); qerr != nil {
		if s.hold(r) {
			s.log().Warn("action not recorded yet and the job queue is down too; held in memory until the database is back",
				"action", e.Action, "actionId", e.ActionID, "issue", e.Issue, "err", err, "queueErr", qerr)
			return
		}
		s.log().Error("action not recorded and its retry not queued: recover it from this record",
			"record", r, "err", err, "queueErr", qerr)
		return
	}
	s.log().Warn("action not recorded yet; queued to be recorded later", "action", e.Action,
		"actionId", e.ActionID, "issue", e.Issue, "err", err)
}

// StoreRecord writes an action record: the audit entry and the issue's
// record together. Writing one again changes nothing (the job queue's worker).
func (s *Service) StoreRecord(ctx context.Context, r ActionRecord) error {
	e := r.Entry
	return s.Store.RecordAction(ctx, &e, r.Branch, r.PullRequest)
}

// LogValue logs every field of the record, so that one logged because it
// could not be stored nor queued can be entered by hand.
func (r ActionRecord) LogValue() slog.Value {
	e := r.Entry
	attrs := []slog.Attr{slog.String("actionId", e.ActionID), slog.Time("time", e.Time),
		slog.String("user", e.User), slog.String("action", e.Action), slog.String("integrationId", e.IntegrationID),
		slog.String("repositoryId", e.RepositoryID), slog.String("issue", e.Issue), slog.String("target", e.Target),
		slog.String("actorType", string(e.Actor.Type)), slog.String("actorLogin", e.Actor.Login),
		slog.String("outcome", e.Outcome)}
	if b := r.Branch; b != nil {
		attrs = append(attrs, slog.Group("branch", "issue", b.IssueKey, "repositoryId", b.RepositoryID,
			"name", b.Name, "sha", b.SHA, "webUrl", b.WebURL, "createdAt", b.CreatedAt))
	}
	if pr := r.PullRequest; pr != nil {
		attrs = append(attrs, slog.Group("pullRequest", "issue", pr.IssueKey, "repositoryId", pr.RepositoryID,
			"id", pr.ID, "number", pr.Number, "title", pr.Title, "webUrl", pr.WebURL,
			"sourceBranch", pr.SourceBranch, "targetBranch", pr.TargetBranch, "state", string(pr.State),
			"draft", pr.Draft, "author", pr.Author, "createdAt", pr.CreatedAt))
	}
	return slog.GroupValue(attrs...)
}

// CreateBranch creates a branch for an issue with the credential the rule picks.
func (s *Service) CreateBranch(ctx context.Context, u fb.User, issueKey string, in CreateBranchInput) (CreatedBranch, error) {
	settings, err := s.branchBounds(ctx, issueKey, in)
	if err != nil {
		return CreatedBranch{}, err
	}
	entry := fb.AuditEntry{User: u.Name, Action: fb.AuditBranchCreate, RepositoryID: in.RepositoryID, Issue: issueKey, Target: in.Name}
	var t target
	var choice CredentialChoice
	out, err := s.createBranch(ctx, u, issueKey, in, settings, &entry, &t, &choice)
	if err != nil {
		s.audit(ctx, entry, err)
		return out, err
	}
	s.keep(ctx, entry, &fb.IssueBranch{IssueKey: t.issue.Key, RepositoryID: t.repo.ID,
		Name: out.Name, SHA: out.SHA, WebURL: out.WebURL, CreatedAt: s.now()}, nil)
	s.guards().branches.forget(t.repo.ID) // the dialogs list the new branch at once
	s.link(ctx, u, t, branchLink(t, out.Branch))
	if in.PullRequest != nil {
		s.oneStepPullRequest(ctx, u, t, choice, &out, *in.PullRequest)
	}
	s.indexSoon(ctx, []string{t.repo.ID}, IndexByWebhook)
	return out, nil
}

func (s *Service) createBranch(ctx context.Context, u fb.User, issueKey string, in CreateBranchInput, settings fb.Settings,
	entry *fb.AuditEntry, tp *target, chosen *CredentialChoice) (CreatedBranch, error) {
	t, err := s.resolveWith(ctx, u, issueKey, in.RepositoryID, &settings)
	if err != nil {
		return CreatedBranch{}, err
	}
	*tp = t
	entry.IntegrationID, entry.Issue = t.integ.ID, t.issue.Key
	if !t.integ.Settings.CreateBranch || !t.repo.CanCreateBranch {
		return CreatedBranch{}, fb.Errorf(fb.EFeatureDisabled, "Branch creation is switched off for %s.", t.repo.FullName)
	}
	if in.PullRequest != nil {
		if err := checkOneStep(t, *in.PullRequest); err != nil {
			return CreatedBranch{}, err
		}
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		if name, err = branchname.Suggest(t.settings.BranchNameTemplate, t.settings.BranchNameMaxLength, t.issue); err != nil {
			return CreatedBranch{}, err
		}
	}
	entry.Target = name
	if err := branchname.Valid(name); err != nil {
		return CreatedBranch{}, err
	}
	if in.BaseBranch != "" {
		if err := branchname.Valid(in.BaseBranch); err != nil {
			return CreatedBranch{}, fb.Errorf(fb.EInvalid, "baseBranch: %s", fb.ErrorMessage(err))
		}
	}
	choice, err := s.credential(ctx, u, t, in.Token)
	if err != nil {
		return CreatedBranch{}, err
	}
	entry.Actor, *chosen = choice.Actor(), choice
	p, err := s.provider(t.integ)
	if err != nil {
		return CreatedBranch{}, err
	}
	var b fb.Branch
	if cb, ok := provider.Capability[provider.CommitBrancher](p); ok && in.PullRequest != nil {
		b, err = cb.CreateBranchWithCommit(ctx, choice.Credential, t.repo, name, in.BaseBranch, firstCommitMessage(t.issue))
		b.WebURL = safeWebURL(b.WebURL)
		err = safeExisting(err)
	} else {
		b, err = p.CreateBranch(ctx, choice.Credential, t.repo, name, in.BaseBranch)
	}
	if err != nil {
		return CreatedBranch{}, s.afterProviderError(ctx, u, t, choice, err)
	}
	return CreatedBranch{Branch: b, RepositoryID: t.repo.ID, Actor: choice.Actor()}, nil
}

// CreatePullRequest opens a pull request for an issue with the credential the rule picks.
func (s *Service) CreatePullRequest(ctx context.Context, u fb.User, issueKey string, in CreatePullRequestInput) (CreatedPullRequest, error) {
	if err := in.bounds(issueKey); err != nil {
		return CreatedPullRequest{}, err
	}
	entry := fb.AuditEntry{User: u.Name, Action: fb.AuditPullRequestCreate, RepositoryID: in.RepositoryID, Issue: issueKey}
	var t target
	out, err := s.createPullRequest(ctx, u, issueKey, in, &entry, &t)
	if err != nil {
		s.audit(ctx, entry, err)
		return out, err
	}
	s.keep(ctx, entry, nil, &fb.IssuePullRequest{IssueKey: t.issue.Key, RepositoryID: t.repo.ID,
		PullRequest: out.PullRequest, CreatedAt: s.now()})
	s.link(ctx, u, t, pullRequestLink(t, out.PullRequest))
	s.indexSoon(ctx, []string{t.repo.ID}, IndexByWebhook)
	return out, nil
}

func (s *Service) createPullRequest(ctx context.Context, u fb.User, issueKey string, in CreatePullRequestInput, entry *fb.AuditEntry, tp *target) (CreatedPullRequest, error) {
	t, err := s.resolve(ctx, u, issueKey, in.RepositoryID)
	if err != nil {
		return CreatedPullRequest{}, err
	}
	*tp = t
	entry.IntegrationID, entry.Issue = t.integ.ID, t.issue.Key
	if !t.integ.Settings.CreatePullRequest || !t.repo.CanCreatePullRequest {
		return CreatedPullRequest{}, fb.Errorf(fb.EFeatureDisabled, "Pull request creation is switched off for %s.", t.repo.FullName)
	}
	pr := fb.NewPullRequest{SourceBranch: strings.TrimSpace(in.SourceBranch), TargetBranch: strings.TrimSpace(in.TargetBranch),
		Title: strings.TrimSpace(in.Title), Description: in.Description, Draft: in.Draft}
	if pr.TargetBranch == "" {
		pr.TargetBranch = t.repo.DefaultBranch
	}
	if pr.Title == "" {
		pr.Title = t.issue.Key + " " + t.issue.Summary
	}
	pr.Description = withIssueLink(pr.Description, t.issue.Key, s.IssueURL)
	for field, name := range map[string]string{"sourceBranch": pr.SourceBranch, "targetBranch": pr.TargetBranch} {
		if name == "" {
			continue
		}
		if err := branchname.Valid(name); err != nil {
			return CreatedPullRequest{}, fb.Errorf(fb.EInvalid, "%s: %s", field, fb.ErrorMessage(err))
		}
	}
	choice, err := s.credential(ctx, u, t, in.Token)
	if err != nil {
		return CreatedPullRequest{}, err
	}
	entry.Actor = choice.Actor()
	p, err := s.provider(t.integ)
	if err != nil {
		return CreatedPullRequest{}, err
	}
	if pr.SourceBranch == "" {
		if pr.SourceBranch, err = s.branchForIssue(ctx, u, t, choice); err != nil {
			return CreatedPullRequest{}, err
		}
	}
	entry.Target = pr.SourceBranch + " → " + pr.TargetBranch
	out, err := p.CreatePullRequest(ctx, choice.Credential, t.repo, pr)
	if err != nil {
		return CreatedPullRequest{}, s.afterProviderError(ctx, u, t, choice, err)
	}
	entry.Target = out.WebURL
	if out.State == "" {
		out.State = fb.PullOpen
		out.Draft = pr.Draft && HasDrafts(t.integ.Kind)
	}
	return CreatedPullRequest{PullRequest: out, RepositoryID: t.repo.ID, Actor: choice.Actor()}, nil
}

// branchForIssue finds the default source branch of a pull request: the
// first branch, in the provider's order, whose name contains the issue key.
func (s *Service) branchForIssue(ctx context.Context, u fb.User, t target, choice CredentialChoice) (string, error) {
	p, err := s.provider(t.integ)
	if err != nil {
		return "", err
	}
	branches, err := p.Branches(ctx, choice.Credential, t.repo)
	if err != nil {
		return "", s.afterProviderError(ctx, u, t, choice, err)
	}
	if b, ok := firstBranchFor(branches, t.issue.Key); ok {
		return b, nil
	}
	return "", fb.Errorf(fb.EInvalid, "sourceBranch: no branch of %s contains %s; create one first or name the source branch.",
		t.repo.FullName, t.issue.Key)
}

func firstBranchFor(branches []fb.Branch, key string) (string, bool) {
	for _, b := range branches {
		if MentionsIssue(b.Name, key) {
			return b.Name, true
		}
	}
	return "", false
}

// MentionsIssue reports whether a branch name contains the issue key as a
// key, in any letter case: PROJ-1 is in "feature/proj-1-x" but not in
// "PROJ-12-y" nor "XPROJ-1".
func MentionsIssue(name, key string) bool {
	name, key = strings.ToUpper(name), strings.ToUpper(key)
	for i := 0; ; {
		j := strings.Index(name[i:], key)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(key)
		before := start == 0 || !isAlnum(name[start-1])
		after := end == len(name) || !isDigit(name[end])
		if before && after {
			return true
		}
		i = start + 1
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isDigit(c) || c >= 'A' && c <= 'Z' }

// withIssueLink appends a link back to the issue to a pull request description.
func withIssueLink(description, key string, issueURL func(string) string) string {
	link := key
	if issueURL != nil {
		link = fmt.Sprintf("[%s](%s)", key, issueURL(key))
	}
	line := "Issue: " + link
	if strings.Contains(description, line) {
		return description
	}
	if strings.TrimSpace(description) == "" {
		return line
	}
	return strings.TrimRight(description, "\n") + "\n\n" + line
}
