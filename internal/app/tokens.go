package app

import (
	"context"
	"slices"
	"strings"

	fb "github.com/forgebridge/forgebridge"
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
	now := s.now()
	if err := s.Store.PutUserToken(ctx, &fb.UserToken{UserKey: u.Key, IntegrationID: in.ID, Credential: c,
		Login: info.Login, Scopes: info.Scopes, ExpiresAt: info.ExpiresAt, Status: fb.TokenValid, CheckedAt: &now}); err != nil {
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
		t.Credential = fb.Credential{}
		e.Token = &t
	case fb.ErrorCode(err) != fb.ENotFound:
		return TokenEntry{}, err
	}
	return e, nil
}

// MyTokens lists the person's tokens, one entry per integration.
func (s *Service) MyTokens(ctx context.Context, u fb.User) ([]TokenEntry, error) {
	ins, err := s.Store.Integrations(ctx)
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
	out := make([]TokenEntry, 0, len(ins))
	for _, in := range ins {
		e := TokenEntry{Integration: in, Required: RequiresUserToken(in, settings.RequireUserPATEverywhere)}
		e.Token = shownToken(tokens, in.ID)
		out = append(out, e)
	}
	return out, nil
}

// shownToken is the person's token for an integration as it may be shown:
// a copy without its credential; nil if they have none.
func shownToken(tokens []fb.UserToken, integrationID string) *fb.UserToken {
	i := slices.IndexFunc(tokens, func(t fb.UserToken) bool { return t.IntegrationID == integrationID })
	if i < 0 {
		return nil
	}
	t := tokens[i]
	t.Credential = fb.Credential{}
	return &t
}
