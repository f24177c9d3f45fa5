// Package app holds forgebridge's use cases: creating branches and pull
// requests with the credential the rule picks, saving people's tokens, and
// administering integrations, settings and the local directory. It decides
// and records; the store, the tracker and the providers do the talking.
package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// Service is the application. Its fields are its dependencies.
type Service struct {
	Store     fb.Store
	Tracker   fb.Tracker
	Providers provider.Factory
	// ProviderOptions are passed to every provider built.
	ProviderOptions provider.Options
	Logger          *slog.Logger
	Metrics         *Metrics
	Now             func() time.Time
	// IssueURL gives the web address of an issue, linked from pull request
	// descriptions; nil links by key alone.
	IssueURL func(key string) string
	// PanelURL gives the web address of an issue's development panel in
	// forgebridge, linked from the tracker's issue; nil links none.
	PanelURL func(key string) string
	// Linker writes links to created branches and pull requests back to the issue; may be nil.
	Linker Linker
	// Queue retries failed work later and runs index passes; may be nil.
	Queue Queue
	// Index is what indexing needs; its zero value turns indexing off.
	Index Indexing
	// PermissionCache is how long a host's answer to "may this person's
	// token read this repository" is remembered (enforcePermissions);
	// zero: DefaultPermissionCache.
	PermissionCache time.Duration

	mu        sync.Mutex
	providers map[string]cachedProvider // by integration id
	guard     guards                    // sign-in limits, read limits, the branch cache
	held      heldRecords               // action records waiting for the database (held.go)
}

type cachedProvider struct {
	updated time.Time
	p       provider.Provider
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// provider returns the driver for an integration, reusing the one built for
// the same version of it so connections are pooled across requests.
func (s *Service) provider(in fb.Integration) (provider.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.providers[in.ID]; ok && in.ID != "" && c.updated.Equal(in.UpdatedAt) {
		return c.p, nil
	}
	p, err := s.Providers(in, s.ProviderOptions)
	if err != nil {
		return nil, err
	}
	p = instrument(webSafe{p}, string(in.Kind), s.Metrics)
	if in.ID != "" {
		if s.providers == nil {
			s.providers = map[string]cachedProvider{}
		}
		s.providers[in.ID] = cachedProvider{updated: in.UpdatedAt, p: p}
	}
	return p, nil
}

// forget drops the cached driver of an integration.
func (s *Service) forget(id string) {
	s.mu.Lock()
	delete(s.providers, id)
	s.mu.Unlock()
}

// audit records an entry; a failure to record is logged, not returned, so
// that an action that happened on a provider is never reported as failed.
// (A created branch or pull request goes through keep, which never drops it.)
func (s *Service) audit(ctx context.Context, e fb.AuditEntry, err error) {
	e = *s.stamp(&e, err)
	if werr := s.Store.AddAudit(context.WithoutCancel(ctx), &e); werr != nil {
		s.log().Error("action not recorded", "action", e.Action, "user", e.User, "issue", e.Issue, "err", werr)
	}
	s.Metrics.action(e.Action, string(e.Actor.Type), e.Outcome)
}

// stamp returns a copy of e with the time and the outcome of err, as it is
// recorded; for entries written in the transaction of the change itself.
func (s *Service) stamp(e *fb.AuditEntry, err error) *fb.AuditEntry {
	out := *e
	out.Time = s.now()
	boundAudit(&out)
	out.Outcome = fb.AuditOutcomeSuccess
	if err != nil {
		out.Outcome = fb.AuditOutcomeFailure
		out.Code = string(fb.ErrorCode(err))
	}
	return &out
}

// requireAdmin refuses a person who is not an administrator.
func requireAdmin(u fb.User) error {
	if !u.Admin {
		return fb.Errorf(fb.EForbidden, "Only forgebridge administrators may do this.")
	}
	return nil
}

// APITokenPrefix starts every forgebridge API token.
const APITokenPrefix = "fbt_"

// NewAPIToken makes a random API token and the hash under which it is stored.
func NewAPIToken() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	token = APITokenPrefix + hex.EncodeToString(b)
	return token, HashAPIToken(token)
}

// HashAPIToken is how API tokens are stored and looked up. A fast hash is
// right here: the tokens are 256 random bits, not guessable passwords.
func HashAPIToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// IssueAPIToken creates and stores a session token for a user (a web
// sign-in, a Jira token exchange) and returns it. A ttl above zero makes
// it expire after that long. Sessions are listed with SessionTokenName and
// not audited: signing in is not an administrative change.
func (s *Service) IssueAPIToken(ctx context.Context, u fb.User, ttl time.Duration) (string, error) {
	return s.IssueSessionToken(ctx, u, fb.SessionTokenName, ttl)
}

// IssueSessionToken is IssueAPIToken with the name the token is listed under.
func (s *Service) IssueSessionToken(ctx context.Context, u fb.User, name string, ttl time.Duration) (string, error) {
	token, hash := NewAPIToken()
	t := fb.APIToken{Hash: hash, UserKey: u.Key, UserName: u.Name, Name: name, CreatedAt: s.now()}
	if ttl > 0 {
		expires := t.CreatedAt.Add(ttl)
		t.ExpiresAt = &expires
		// Expiring tokens (sessions) are made often: clear out the dead ones.
		if _, err := s.Store.DeleteExpiredAPITokens(ctx, t.CreatedAt); err != nil {
			s.log().Warn("expired API tokens not removed", "err", err)
		}
	}
	if err := s.createAPIToken(ctx, &t, nil); err != nil {
		return "", err
	}
	return token, nil
}

// RevokeAPIToken removes an API token, as signing out does.
func (s *Service) RevokeAPIToken(ctx context.Context, token string) error {
	err := s.Store.DeleteAPIToken(ctx, HashAPIToken(token))
	if fb.ErrorCode(err) == fb.ENotFound {
		return nil
	}
	return err
}

// Authenticate returns the person an API token belongs to.
func (s *Service) Authenticate(ctx context.Context, token string) (fb.User, error) {
	_, u, err := s.Authenticated(ctx, token)
	return u, err
}

// requestReader is a store that reads an API token together with what lets
// it answer the request's later reads from a cache the database keeps
// valid, carried by the context it returns (internal/store readcache.go).
type requestReader interface {
	APITokenForRequest(ctx context.Context, hash string) (fb.APIToken, context.Context, error)
}

// Authenticated is Authenticate for a request: it also returns the context
// the request's further work runs in, which lets the store answer repeated
// reads from its cache.
func (s *Service) Authenticated(ctx context.Context, token string) (context.Context, fb.User, error) {
	unauth := fb.Errorf(fb.EUnauthenticated, "The API token is missing, unknown or revoked.")
	if !strings.HasPrefix(token, APITokenPrefix) {
		return ctx, fb.User{}, unauth
	}
	var t fb.APIToken
	var err error
	if rr, ok := s.Store.(requestReader); ok {
		t, ctx, err = rr.APITokenForRequest(ctx, HashAPIToken(token))
	} else {
		t, err = s.Store.APIToken(ctx, HashAPIToken(token))
	}
	if fb.ErrorCode(err) == fb.ENotFound {
		return ctx, fb.User{}, unauth
	} else if err != nil {
		return ctx, fb.User{}, err
	}
	if t.ExpiresAt != nil && !s.now().Before(*t.ExpiresAt) {
		return ctx, fb.User{}, fb.Errorf(fb.EUnauthenticated, "The API token has expired; sign in again.")
	}
	u, err := s.Tracker.User(ctx, t.UserKey)
	if fb.ErrorCode(err) == fb.ENotFound {
		return ctx, fb.User{}, unauth
	} else if err != nil {
		return ctx, fb.User{}, err
	}
	if !u.Active {
		return ctx, fb.User{}, fb.Errorf(fb.EUnauthenticated, "The account %s is deactivated.", u.Name)
	}
	s.touch(ctx, t)
	return ctx, u, nil
}
