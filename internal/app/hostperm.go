package app

import (
	"context"
	"sync"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"golang.org/x/sync/errgroup"
)

// DefaultPermissionCache is how long a host's answer about a person's token
// and a repository is remembered when Service.PermissionCache is zero.
const DefaultPermissionCache = 24 * time.Hour

// hostChecksAtOnce bounds the host calls one listing makes at a time.
const hostChecksAtOnce = 8

func (s *Service) permissionCache() time.Duration {
	if s.PermissionCache > 0 {
		return s.PermissionCache
	}
	return DefaultPermissionCache
}

// hostVisible reports whether the person may see the repository: always,
// unless its integration enforces host permissions; then only when their
// own saved token reads it on the host.
func (s *Service) hostVisible(ctx context.Context, u fb.User, in fb.Integration, repo fb.Repository) (bool, error) {
	if !in.Settings.EnforcePermissions {
		return true, nil
	}
	hidden, err := s.hostHidden(ctx, u, map[string]fb.Integration{in.ID: in}, []fb.Repository{repo})
	return !hidden[repo.ID], err
}

// hostHidden returns the repositories the person may not see because their
// integration enforces host permissions and the person's saved token does
// not read them: none saved (or one the host refused, or expired) hides
// every repository of the integration. Answers come from the store while
// fresh (PermissionCache, asked with the same token), else from the host,
// with the person's token, and are remembered. A host that cannot answer
// now (rate limit, outage) hides the repository this time, unremembered.
func (s *Service) hostHidden(ctx context.Context, u fb.User, ins map[string]fb.Integration, repos []fb.Repository) (map[string]bool, error) {
	hidden := map[string]bool{}
	var enforced []fb.Repository
	for _, r := range repos {
		if in, ok := ins[r.IntegrationID]; ok && in.Settings.EnforcePermissions {
			enforced = append(enforced, r)
		}
	}
	if len(enforced) == 0 {
		return hidden, nil
	}
	tokens, err := s.Store.UserTokens(ctx, u.Key)
	if err != nil {
		return nil, err
	}
	now := s.now()
	tokenOf := map[string]fb.UserToken{}
	for _, t := range tokens {
		if st := t.StatusAt(now); st != fb.TokenInvalid && st != fb.TokenExpired {
			tokenOf[t.IntegrationID] = t
		}
	}
	var cache fb.HostPermissionStore
	if c, ok := s.Store.(fb.HostPermissionStore); ok {
		cache = c
	}
	known := map[string]fb.HostPermission{}
	if cache != nil {
		ids := make([]string, 0, len(enforced))
		for _, r := range enforced {
			ids = append(ids, r.ID)
		}
		if known, err = cache.HostPermissions(ctx, u.Key, ids); err != nil {
			return nil, err
		}
	}
	var ask []fb.Repository
	for _, r := range enforced {
		t, ok := tokenOf[r.IntegrationID]
		if !ok {
			hidden[r.ID] = true
			continue
		}
		p, ok := known[r.ID]
		if ok && p.TokenUpdatedAt.Equal(t.UpdatedAt) && !now.Before(p.CheckedAt) && now.Sub(p.CheckedAt) < s.permissionCache() {
			hidden[r.ID] = !p.Readable
			continue
		}
		ask = append(ask, r)
	}

	// Listings carry tokens sealed; the ones asked with are opened.
	opened := map[string]fb.UserToken{}
	for _, r := range ask {
		if _, ok := opened[r.IntegrationID]; ok {
			continue
		}
		t, err := s.Store.UserToken(ctx, u.Key, r.IntegrationID)
		if fb.ErrorCode(err) == fb.ENotFound {
			t = fb.UserToken{} // deleted meanwhile: nothing is readable
		} else if err != nil {
			return nil, err
		}
		opened[r.IntegrationID] = t
	}

	var mu sync.Mutex
	var g errgroup.Group // each check ends in an answer, never an error
	g.SetLimit(hostChecksAtOnce)
	for _, r := range ask {
		g.Go(func() error {
			t := opened[r.IntegrationID]
			if BlankCredential(t.Credential) {
				mu.Lock()
				hidden[r.ID] = true
				mu.Unlock()
				return nil
			}
			readable, err := s.canRead(ctx, ins[r.IntegrationID], t, r)
			mu.Lock()
			hidden[r.ID] = !readable
			mu.Unlock()
			if err != nil {
				s.log().Warn("host permission not checked", "user", u.Name, "repository", r.ID, "code", fb.ErrorCode(err), "err", err)
				return nil
			}
			if cache == nil {
				return nil
			}
			p := fb.HostPermission{RepositoryID: r.ID, Readable: readable, TokenUpdatedAt: t.UpdatedAt, CheckedAt: now}
			if err := cache.PutHostPermission(context.WithoutCancel(ctx), u.Key, p); err != nil {
				s.log().Warn("host permission not remembered", "user", u.Name, "repository", r.ID, "err", err)
			}
			return nil
		})
	}
	_ = g.Wait() // the checks return no errors
	return hidden, nil
}

// canRead asks the host whether the token reads the repository. A token the
// host no longer accepts reads nothing, and that answer is remembered like
// any other (saving a new token asks again); other errors are returned.
func (s *Service) canRead(ctx context.Context, in fb.Integration, t fb.UserToken, repo fb.Repository) (bool, error) {
	p, err := s.provider(in)
	if err != nil {
		return false, err
	}
	rr, ok := provider.Capability[provider.RepositoryReader](p)
	if !ok {
		return false, fb.Errorf(fb.ENotSupported, "%s cannot say whether a token reads a repository.", in.Name)
	}
	readable, err := rr.CanRead(ctx, t.Credential, repo)
	if fb.ErrorCode(err) == fb.ETokenRejected {
		return false, nil
	}
	return readable, err
}

// forgetHostPermissions drops what hosts answered about the person's token
// for an integration: the next look asks with the token they have now.
func (s *Service) forgetHostPermissions(ctx context.Context, u fb.User, integrationID string) {
	cache, ok := s.Store.(fb.HostPermissionStore)
	if !ok {
		return
	}
	if err := cache.ForgetHostPermissions(context.WithoutCancel(ctx), u.Key, integrationID); err != nil {
		s.log().Warn("host permissions not forgotten", "user", u.Name, "integration", integrationID, "err", err)
	}
}

// visibleRepositories keeps the repositories the person may see on the host.
func (s *Service) visibleRepositories(ctx context.Context, u fb.User, ins []fb.Integration, repos []fb.Repository) ([]fb.Repository, []string, error) {
	byID := make(map[string]fb.Integration, len(ins))
	for _, in := range ins {
		byID[in.ID] = in
	}
	hidden, err := s.hostHidden(ctx, u, byID, repos)
	if err != nil || len(hidden) == 0 {
		return repos, nil, err
	}
	out := make([]fb.Repository, 0, len(repos))
	var gone []string
	for _, r := range repos {
		if hidden[r.ID] {
			gone = append(gone, r.ID)
			continue
		}
		out = append(out, r)
	}
	return out, gone, nil
}

// hiddenRepositories lists the repositories of the integrations that the
// person may not see on the host: of those enforcing host permissions only.
func (s *Service) hiddenRepositories(ctx context.Context, u fb.User, ins []fb.Integration) ([]string, error) {
	var enforcing []fb.Integration
	var repos []fb.Repository
	for _, in := range ins {
		if !in.Settings.EnforcePermissions {
			continue
		}
		rs, err := s.Store.IntegrationRepositories(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		enforcing = append(enforcing, in)
		repos = append(repos, rs...)
	}
	_, hidden, err := s.visibleRepositories(ctx, u, enforcing, repos)
	return hidden, err
}
