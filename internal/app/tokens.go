package app

import (
	"context"
	"slices"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// TokenEntry is what a person sees of their token for one integration.
type TokenEntry struct {
	Integration fb.Integration
	Required    bool
	Token       *fb.UserToken // nil when none is saved; Credential is cleared
}

// checkCredentialShape refuses a credential of the wrong form for the kind.
func checkCredentialShape(kind fb.Kind, c fb.Credential) error {
	if kind.UsesAccessKeys() {
		if c.Token != "" {
			return fb.Errorf(fb.EInvalid, "CodeCommit takes accessKeyId and secretAccessKey, not token.")
		}
		if strings.TrimSpace(c.AccessKeyID) == "" || strings.TrimSpace(c.SecretAccessKey) == "" {
			return fb.Errorf(fb.EInvalid, "accessKeyId and secretAccessKey are both required.")
		}
		return nil
	}
	if c.AccessKeyID != "" || c.SecretAccessKey != "" {
		return fb.Errorf(fb.EInvalid, "%s takes token, not accessKeyId/secretAccessKey.", kind)
	}
	if strings.TrimSpace(c.Token) == "" {
		return fb.Errorf(fb.EInvalid, "token is required.")
	}
	if strings.ContainsAny(c.Token, " \t\r\n") {
		return fb.Errorf(fb.EInvalid, "token must not contain spaces or line breaks.")
	}
	return nil
}

// SaveToken validates a credential with the integration's provider and saves
// it as the person's token for that integration. A blank credential removes
// the saved one. A credential the provider refuses is not saved.
func (s *Service) SaveToken(ctx context.Context, u fb.User, integrationID string, c fb.Credential) (TokenEntry, error) {
	if err := checkBounds(credentialBounds("", c)...); err != nil {
		return TokenEntry{}, err
	}
	in, err := s.Store.Integration(ctx, integrationID)
	if err != nil {
		return TokenEntry{}, err
	}
	c.Token = strings.TrimSpace(c.Token)
	c.AccessKeyID, c.SecretAccessKey = strings.TrimSpace(c.AccessKeyID), strings.TrimSpace(c.SecretAccessKey)
	if c.IsZero() {
		if err := s.DeleteToken(ctx, u, integrationID); err != nil {
			return TokenEntry{}, err
		}
		return s.tokenEntry(ctx, u, in)
	}
	entry := fb.AuditEntry{User: u.Name, Action: fb.AuditTokenSave, IntegrationID: in.ID}
	err = s.saveToken(ctx, u, in, c, &entry)
	s.audit(ctx, entry, err)
	if err != nil {
		return TokenEntry{}, err
	}
	s.forgetHostPermissions(ctx, u, in.ID) // a new token: ask the host again
	return s.tokenEntry(ctx, u, in)
}

func (s *Service) saveToken(ctx context.Context, u fb.User, in fb.Integration, c fb.Credential, entry *fb.AuditEntry) error {
	if err := checkCredentialShape(in.Kind, c); err != nil {
		return err
	}
	p, err := s.provider(in)
	if err != nil {
		return err
	}
	info, err := p.Validate(ctx, c)
	if err != nil {
		return explainTokenError(err, in, SourceOneOff)
	}
	entry.Actor = fb.Actor{Type: fb.ActorUser, Login: info.Login}
	if err := s.checkAccess(ctx, p, in, c); err != nil {
		return explainTokenError(err, in, SourceOneOff)
	}
	if err := s.checkPersonal(ctx, u, in, info.UserID); err != nil {
		return err
	}
	now := s.now()
	err = s.Store.PutUserToken(ctx, &fb.UserToken{UserKey: u.Key, IntegrationID: in.ID, Credential: c,
		Login: info.Login, ProviderUserID: info.UserID, Scopes: info.Scopes, ExpiresAt: info.ExpiresAt,
		Status: fb.TokenValid, CheckedAt: &now})
	if fb.ErrorCode(err) == fb.EAlreadyExists {
		return notPersonal(in, false) // someone saved it meanwhile: the unique index decided
	} else if err != nil {
		return err
	}
	// The token was checked at the address the integration had then; if an
	// administrator changed it meanwhile, the token is not kept for the new one.
	if cur, err := s.Store.Integration(ctx, in.ID); err != nil || !sameAddress(cur, in) {
		if derr := s.Store.DeleteUserToken(context.WithoutCancel(ctx), u.Key, in.ID); derr != nil && fb.ErrorCode(derr) != fb.ENotFound {
			s.log().Error("token checked at an old address not removed", "user", u.Name, "integration", in.ID, "err", derr)
		}
		if err != nil {
			return err
		}
		return fb.Errorf(fb.EInvalid, "The address of %s changed while your token was being checked; save it again.", in.Name)
	}
	return nil
}

// checkAccess proves, where the driver's Validate cannot (CodeCommit: STS
// answers for any valid key), that the credential reaches one repository of
// the integration, when it has one. A repository gone meanwhile proves nothing
// either way.
func (s *Service) checkAccess(ctx context.Context, p provider.Provider, in fb.Integration, c fb.Credential) error {
	ac, ok := provider.Capability[provider.AccessChecker](p)
	if !ok {
		return nil
	}
	repos, _, err := s.Store.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 1}, IntegrationIDs: []string{in.ID}})
	if err != nil || len(repos) == 0 {
		return err
	}
	if err := ac.CheckAccess(ctx, c, repos[0]); fb.ErrorCode(err) != fb.ENotFound {
		return err
	}
	return nil
}

// checkPersonal refuses, as a person's own, a token of the provider account
// userID when that account is the integration's service account or another
// person saved a token of it. The provider's stable id decides, never the
// login, which can be renamed or reused.
func (s *Service) checkPersonal(ctx context.Context, u fb.User, in fb.Integration, userID string) error {
	if userID == "" {
		return nil
	}
	if userID == s.serviceUserID(ctx, in) {
		return notPersonal(in, true)
	}
	owner, err := s.Store.UserTokenOwner(ctx, in.ID, userID)
	switch {
	case err == nil && owner != u.Key:
		return notPersonal(in, false)
	case err != nil && fb.ErrorCode(err) != fb.ENotFound:
		return err
	}
	return nil
}

// serviceUserID is the provider id of the integration's service account.
// An integration saved before forgebridge kept it learns it now, once; if
// the service credential cannot be checked, "" (the other checks stand).
func (s *Service) serviceUserID(ctx context.Context, in fb.Integration) string {
	if in.CredentialUserID != "" || in.Credential.IsZero() {
		return in.CredentialUserID
	}
	p, err := s.provider(in)
	if err != nil {
		return ""
	}
	info, err := p.Validate(ctx, in.Credential)
	if err != nil {
		s.log().Warn("service account id not learnt", "integration", in.ID, "err", err)
		return ""
	}
	if err := s.Store.RecordCredentialUserID(context.WithoutCancel(ctx), in, info.UserID); err != nil && fb.ErrorCode(err) != fb.ENotFound {
		s.log().Warn("service account id not saved", "integration", in.ID, "err", err)
	}
	return info.UserID
}

// sameAddress reports whether two versions of an integration reach the same service the same way.
func sameAddress(a, b fb.Integration) bool {
	return a.BaseURL == b.BaseURL && a.Region == b.Region && a.ProxyURL == b.ProxyURL &&
		a.CABundle == b.CABundle && a.InsecureSkipTLSVerify == b.InsecureSkipTLSVerify
}

// DeleteToken removes the person's token for an integration, if any.
func (s *Service) DeleteToken(ctx context.Context, u fb.User, integrationID string) error {
	if _, err := s.Store.Integration(ctx, integrationID); err != nil {
		return err
	}
	err := s.Store.DeleteUserToken(ctx, u.Key, integrationID)
	if fb.ErrorCode(err) == fb.ENotFound {
		return nil
	}
	if err == nil {
		s.forgetHostPermissions(ctx, u, integrationID)
	}
	s.audit(ctx, fb.AuditEntry{User: u.Name, Action: fb.AuditTokenDelete, IntegrationID: integrationID}, err)
	return err
}

func (s *Service) tokenEntry(ctx context.Context, u fb.User, in fb.Integration) (TokenEntry, error) {
	settings, err := s.Store.Settings(ctx)
	if err != nil {
		return TokenEntry{}, err
	}
	e := TokenEntry{Integration: in, Required: RequiresUserToken(in, settings.RequireUserPATEverywhere)}
	t, err := s.Store.UserToken(ctx, u.Key, in.ID)
	switch {
	case err == nil:
		e.Token = shownToken([]fb.UserToken{t}, in.ID, s.now())
	case fb.ErrorCode(err) != fb.ENotFound:
		return TokenEntry{}, err
	}
	return e, nil
}

// MyTokens lists the person's tokens, one entry per integration: those
// serving a project the person may browse, and any where they hold a token.
func (s *Service) MyTokens(ctx context.Context, u fb.User) ([]TokenEntry, error) {
	ins, err := s.Store.Integrations(ctx)
	if err != nil {
		return nil, err
	}
	browsable, err := s.Tracker.BrowsableProjects(ctx, u)
	if err != nil {
		return nil, err
	}
	settings, err := s.Store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	tokens, err := s.Store.UserTokens(ctx, u.Key)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]TokenEntry, 0, len(ins))
	for _, in := range ins {
		e := TokenEntry{Integration: in, Required: RequiresUserToken(in, settings.RequireUserPATEverywhere)}
		e.Token = shownToken(tokens, in.ID, now)
		if e.Token == nil && !slices.ContainsFunc(browsable, in.ServesProject) {
			continue // nothing of theirs, and serving nothing they may see
		}
		out = append(out, e)
	}
	return out, nil
}

// shownToken is the person's token for an integration as it may be shown:
// a copy without its credential, its status as of now (expired once past
// its expiry); nil if they have none.
func shownToken(tokens []fb.UserToken, integrationID string, now time.Time) *fb.UserToken {
	i := slices.IndexFunc(tokens, func(t fb.UserToken) bool { return t.IntegrationID == integrationID })
	if i < 0 {
		return nil
	}
	t := tokens[i]
	t.Credential = fb.Credential{}
	t.Status = t.StatusAt(now)
	return &t
}
