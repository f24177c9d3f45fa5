package app

import (
	"context"

	fb "github.com/forgebridge/forgebridge"
)

// Queue runs work later, retried with backoff until it succeeds. Nil runs
// nothing later: a failed remote link is then only logged and audited.
type Queue interface {
	// RetryLink writes an issue link to the tracker later.
	RetryLink(ctx context.Context, issueKey string, l IssueLink) error
	// Index queues an index run of each repository. A repository already
	// waiting for a run is not queued again (a higher priority raises the
	// waiting run's); with reset the run first drops what was indexed.
	Index(ctx context.Context, repositoryIDs []string, by IndexPriority, reset bool) error
}

// BackgroundUser names forgebridge itself in the audit log, for work done by
// the job queue rather than for a person.
const BackgroundUser = "(forgebridge)"

// WriteLink writes an issue link to the tracker now (the queue's worker).
func (s *Service) WriteLink(ctx context.Context, issueKey string, l IssueLink) error {
	if s.Linker == nil {
		return nil
	}
	if err := s.Linker.LinkIssue(ctx, issueKey, l); err != nil {
		return err
	}
	s.recordLink(ctx, issueKey, l, fb.TrackerLinkLinked)
	s.audit(ctx, fb.AuditEntry{User: BackgroundUser, Action: AuditRemoteLink, Issue: issueKey, Target: l.URL}, nil)
	return nil
}

// Discover lists an integration's repositories with its service credential
// and records them, unless the integration was changed meanwhile (the
// periodic rediscovery and the admin's sync). It takes as long as ctx allows.
func (s *Service) Discover(ctx context.Context, integrationID string) (int, error) {
	i, err := s.Store.Integration(ctx, integrationID)
	if err != nil {
		return 0, err
	}
	p, err := s.provider(i)
	if err != nil {
		return 0, err
	}
	repos, err := p.Repositories(ctx, i.Credential)
	if err != nil {
		return 0, explainTokenError(err, i, SourceService)
	}
	before, err := s.Store.IntegrationRepositories(ctx, i.ID)
	if err != nil {
		return 0, err
	}
	if err := s.Store.ReplaceDiscoveredRepositories(ctx, i, repos, s.now()); err != nil {
		return 0, err
	}
	s.removeMirrors(ctx, before, repos)
	return len(repos), nil
}

// RevalidateTokens asks the integration's provider about every saved user
// token: a token it rejects turns invalid (and the person is asked to
// replace it before their next action); a valid one gets its login, scopes
// and expiry refreshed. It stops at the first rate limit or outage and
// reports it, so a queue can try again later.
func (s *Service) RevalidateTokens(ctx context.Context, integrationID string) (checked, invalidated int, err error) {
	in, err := s.Store.Integration(ctx, integrationID)
	if err != nil {
		return 0, 0, err
	}
	p, err := s.provider(in)
	if err != nil {
		return 0, 0, err
	}
	tokens, err := s.Store.IntegrationUserTokens(ctx, integrationID)
	if err != nil {
		return 0, 0, err
	}
	for _, t := range tokens {
		if !s.activeOwner(ctx, t.UserKey) {
			continue
		}
		info, verr := p.Validate(ctx, t.Credential)
		now := s.now()
		was := t.Status
		t.CheckedAt = &now
		switch code := fb.ErrorCode(verr); code {
		case "":
			t.Login, t.Scopes, t.ExpiresAt, t.Status = info.Login, info.Scopes, info.ExpiresAt, fb.TokenValid
			t.ProviderUserID = info.UserID
		case fb.ETokenRejected:
			t.Status = fb.TokenInvalid
		case fb.ERateLimited, fb.EProviderUnavailable:
			return checked, invalidated, verr
		default:
			// Denied or refused for another reason: the provider still knows
			// the token, so its status stands.
		}
		err = s.Store.RecordTokenCheck(ctx, &t)
		if fb.ErrorCode(err) == fb.EAlreadyExists {
			// Saved before ids were kept, it is a token of an account another
			// person holds: not this person's own, so never used as theirs.
			s.log().Warn("a saved token is of an account another person's token is", "integration", t.IntegrationID)
			t.ProviderUserID, t.Status = "", fb.TokenInvalid
			err = s.Store.RecordTokenCheck(ctx, &t)
		}
		if fb.ErrorCode(err) == fb.ENotFound {
			continue // the person replaced or removed it meanwhile
		} else if err != nil {
			return checked, invalidated, err
		}
		checked++
		if t.Status == fb.TokenInvalid && was != fb.TokenInvalid {
			invalidated++
			s.audit(ctx, fb.AuditEntry{User: s.userName(ctx, t.UserKey), Action: fb.AuditTokenInvalidated,
				IntegrationID: t.IntegrationID, Actor: fb.Actor{Type: fb.ActorUser, Login: t.Login}}, nil)
		}
	}
	return checked, invalidated, nil
}

// userName is the name of the person with that key, for the audit log; the
// key itself when the tracker cannot say.
func (s *Service) userName(ctx context.Context, key string) string {
	if u, err := s.Tracker.User(ctx, key); err == nil && u.Name != "" {
		return u.Name
	}
	return key
}
