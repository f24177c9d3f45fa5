package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// CLI is who the command-line administrative commands act as: an
// administrator named "cli" in the audit log and in a token's issuedBy.
var CLI = fb.User{Name: "cli", DisplayName: "command line", Admin: true, Active: true}

// DefaultAPITokenDays is how long an API token lasts when no expiry is asked for.
const DefaultAPITokenDays = 90

// maxAPITokenDays bounds an asked-for expiry (about ten years).
const maxAPITokenDays = 3650

// maxAPITokenNameChars bounds an API token's name.
const maxAPITokenNameChars = 200

// EnrolmentTTL is how long a one-time enrolment link works.
const EnrolmentTTL = 24 * time.Hour

// touchEvery is how often a token's last use is written at most: the hot
// authentication path reads, and writes once a minute per token.
const touchEvery = time.Minute

// TokenRequest asks for a named API token. ExpiresInDays nil means
// DefaultAPITokenDays; 0 means it never expires.
type TokenRequest struct {
	Name          string
	ExpiresInDays *int
}

// auditEntry starts the audit entry of a directory change made by actor,
// written by the store in the change's own transaction.
func (s *Service) auditEntry(actor fb.User, action, target string) *fb.AuditEntry {
	return &fb.AuditEntry{Time: s.now(), User: actor.Name, Action: action, Target: target, Outcome: fb.AuditOutcomeSuccess}
}

// UpdateUser changes a user of the local directory (admins). Deactivating
// revokes all their API tokens and sessions; the last active administrator
// cannot be demoted or deactivated.
func (s *Service) UpdateUser(ctx context.Context, actor fb.User, name string, p fb.UserPatch) (fb.User, error) {
	if err := requireAdmin(actor); err != nil {
		return fb.User{}, err
	}
	if p.DisplayName != nil {
		d := strings.TrimSpace(*p.DisplayName)
		if d == "" || len([]rune(d)) > 200 {
			return fb.User{}, fb.Errorf(fb.EInvalid, "displayName must be 1 to 200 characters.")
		}
		p.DisplayName = &d
	}
	if p.Email != nil {
		e, err := checkEmail(*p.Email)
		if err != nil {
			return fb.User{}, err
		}
		p.Email = &e
	}
	return s.Store.UpdateUser(ctx, name, p, s.auditEntry(actor, fb.AuditUserUpdate, name))
}

// DeleteUser removes a user of the local directory with their API tokens,
// sessions, permissions and saved provider tokens (admins).
func (s *Service) DeleteUser(ctx context.Context, actor fb.User, name string) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	return s.Store.DeleteUser(ctx, name, s.auditEntry(actor, fb.AuditUserDelete, name))
}

// checkEmail trims an email and checks its shape; "" is allowed (none).
func checkEmail(e string) (string, error) {
	e = strings.TrimSpace(e)
	if e != "" && (len(e) > 200 || !strings.Contains(e, "@") || strings.ContainsAny(e, " \t\r\n<>")) {
		return "", fb.Errorf(fb.EInvalid, "email must be an address such as alice@example.com, at most 200 characters.")
	}
	return e, nil
}

// expiry turns an asked-for number of days into an expiry time (nil: never).
func expiry(now time.Time, days *int) (*time.Time, error) {
	d := DefaultAPITokenDays
	if days != nil {
		d = *days
	}
	if d < 0 || d > maxAPITokenDays {
		return nil, fb.Errorf(fb.EInvalid, "expiresInDays must be between 0 (never expires) and %d.", maxAPITokenDays)
	}
	if d == 0 {
		return nil, nil
	}
	t := now.AddDate(0, 0, d)
	return &t, nil
}

// issueToken makes a named API token for owner on behalf of actor, and
// audits it in the same transaction. issuedBy is empty for a person's own.
func (s *Service) issueToken(ctx context.Context, actor, owner fb.User, req TokenRequest) (fb.APIToken, string, error) {
	if err := checkBounds(chars("name", req.Name, maxAPITokenNameChars)); err != nil {
		return fb.APIToken{}, "", err
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = "api token"
	}
	if fb.IsSessionTokenName(strings.ToLower(name)) {
		// Sign-ins' sessions go by these names, and a new password ends them.
		return fb.APIToken{}, "", fb.Errorf(fb.EInvalid, "The name %q is kept for sign-in sessions; choose another.", name)
	}
	if !owner.Active {
		return fb.APIToken{}, "", fb.Errorf(fb.EInvalid, "The account %s is deactivated; activate it first.", owner.Name)
	}
	now := s.now()
	expires, err := expiry(now, req.ExpiresInDays)
	if err != nil {
		return fb.APIToken{}, "", err
	}
	token, hash := NewAPIToken()
	t := fb.APIToken{Hash: hash, UserKey: owner.Key, UserName: owner.Name, Name: name, CreatedAt: now, ExpiresAt: expires}
	if actor.Name != owner.Name {
		t.IssuedBy = actor.Name
	}
	t.ID = newTokenID()
	if err := s.createAPIToken(ctx, &t, s.auditEntry(actor, fb.AuditAPITokenIssue, owner.Name+"/"+t.ID)); err != nil {
		return fb.APIToken{}, "", err
	}
	return t, token, nil
}

// createAPIToken stores an API token. With the local directory the owner's
// row must be there and active when it is stored, checked in the same
// transaction: the check made earlier may be stale by then. A Jira user has
// no row; Jira answers for them at each use.
func (s *Service) createAPIToken(ctx context.Context, t *fb.APIToken, audit *fb.AuditEntry) error {
	if d, ok := s.Tracker.(interface{ LocalDirectory() bool }); ok && d.LocalDirectory() {
		return s.Store.CreateLocalUserAPIToken(ctx, t, audit)
	}
	return s.Store.CreateAPIToken(ctx, t, audit)
}

func newTokenID() string {
	b := make([]byte, 10)
	rand.Read(b) // never fails (crypto/rand.Read's contract since Go 1.24)
	return hex.EncodeToString(b)
}

// MyAPITokens lists the person's own API tokens and web sessions.
func (s *Service) MyAPITokens(ctx context.Context, u fb.User) ([]fb.APIToken, error) {
	return s.Store.APITokens(ctx, u.Key)
}

// IssueMyAPIToken makes an API token for the person themselves.
func (s *Service) IssueMyAPIToken(ctx context.Context, u fb.User, req TokenRequest) (fb.APIToken, string, error) {
	return s.issueToken(ctx, u, u, req)
}

// RevokeMyAPIToken revokes one of the person's own API tokens or sessions.
func (s *Service) RevokeMyAPIToken(ctx context.Context, u fb.User, id string) error {
	_, err := s.Store.RevokeAPIToken(ctx, u.Key, id, s.auditEntry(u, fb.AuditAPITokenRevoke, u.Name+"/"+id))
	return err
}

// localUser returns a user of the local directory by name (admins).
func (s *Service) localUser(ctx context.Context, actor fb.User, name string) (fb.User, error) {
	if err := requireAdmin(actor); err != nil {
		return fb.User{}, err
	}
	return s.Store.User(ctx, name)
}

// UserAPITokens lists a user's API tokens and sessions (admins).
func (s *Service) UserAPITokens(ctx context.Context, actor fb.User, name string) ([]fb.APIToken, error) {
	owner, err := s.localUser(ctx, actor, name)
	if err == nil {
		return s.Store.APITokens(ctx, owner.Key)
	}
	return s.trackerUserTokens(ctx, name, err)
}

// trackerUserTokens lists the tokens held under name by someone not in the
// local directory (a Jira user, or with the command line, which reads the
// database alone); notFound stands when there are none.
func (s *Service) trackerUserTokens(ctx context.Context, name string, notFound error) ([]fb.APIToken, error) {
	if fb.ErrorCode(notFound) != fb.ENotFound {
		return nil, notFound
	}
	list, err := s.Store.APITokensOfUserName(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, notFound
	}
	return list, nil
}

// IssueUserAPIToken makes an API token for a user (admins); issuedBy names the admin.
func (s *Service) IssueUserAPIToken(ctx context.Context, actor fb.User, name string, req TokenRequest) (fb.APIToken, string, error) {
	owner, err := s.localUser(ctx, actor, name)
	if err != nil {
		return fb.APIToken{}, "", err
	}
	return s.issueToken(ctx, actor, owner, req)
}

// RevokeUserAPIToken revokes one of a user's API tokens (admins). An empty
// name revokes the token with that id whoever holds it (the CLI).
func (s *Service) RevokeUserAPIToken(ctx context.Context, actor fb.User, name, id string) (fb.APIToken, error) {
	key := ""
	if name != "" {
		owner, err := s.localUser(ctx, actor, name)
		if err != nil {
			if key, err = s.trackerTokenOwner(ctx, name, id, err); err != nil {
				return fb.APIToken{}, err
			}
		} else {
			key = owner.Key
		}
	} else if err := requireAdmin(actor); err != nil {
		return fb.APIToken{}, err
	}
	audit := s.auditEntry(actor, fb.AuditAPITokenRevoke, name+"/"+id)
	t, err := s.Store.RevokeAPIToken(ctx, key, id, audit)
	return t, err
}

// trackerTokenOwner is the key of whoever not in the local directory holds
// the token id under name; ENotFound when nobody does.
func (s *Service) trackerTokenOwner(ctx context.Context, name, id string, notFound error) (string, error) {
	list, err := s.trackerUserTokens(ctx, name, notFound)
	if err != nil {
		return "", err
	}
	for _, t := range list {
		if t.ID == id {
			return t.UserKey, nil
		}
	}
	return "", fb.Errorf(fb.ENotFound, "API token not found")
}

// touch records a token's use, at most once a minute: the row it read
// tells whether a write is due, so most requests write nothing.
func (s *Service) touch(ctx context.Context, t fb.APIToken) {
	now := s.now()
	if t.LastUsedAt != nil && now.Sub(*t.LastUsedAt) < touchEvery {
		return
	}
	if err := s.Store.TouchAPIToken(ctx, t.Hash, now, now.Add(-touchEvery)); err != nil {
		s.log().Warn("last use of an API token not recorded", "token", t.ID, "err", err)
	}
}

// enrolmentPrefix starts every enrolment secret.
const enrolmentPrefix = "fbe_"

// Enrolment is a new one-time enrolment link's secret and expiry.
type Enrolment struct {
	User      fb.User
	Secret    string // goes into the link; only its hash is stored
	ExpiresAt time.Time
}

// Enrol makes a one-time link with which a local user sets their own web
// password (admins). It works once, for EnrolmentTTL, and replaces the
// user's earlier links.
func (s *Service) Enrol(ctx context.Context, actor fb.User, name string) (Enrolment, error) {
	u, err := s.localUser(ctx, actor, name)
	if err != nil {
		return Enrolment{}, err
	}
	if !u.Active {
		return Enrolment{}, fb.Errorf(fb.EInvalid, "The account %s is deactivated; activate it first.", u.Name)
	}
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand.Read's contract since Go 1.24)
	secret := enrolmentPrefix + hex.EncodeToString(b)
	now := s.now()
	e := fb.Enrolment{Hash: HashAPIToken(secret), UserKey: u.Key, CreatedAt: now, ExpiresAt: now.Add(EnrolmentTTL)}
	if err := s.Store.CreateEnrolment(ctx, e, s.auditEntry(actor, fb.AuditUserEnrol, u.Name)); err != nil {
		return Enrolment{}, err
	}
	return Enrolment{User: u, Secret: secret, ExpiresAt: e.ExpiresAt}, nil
}

// EnrolmentUser returns whom a usable enrolment link is for.
func (s *Service) EnrolmentUser(ctx context.Context, secret string) (fb.User, error) {
	e, err := s.Store.Enrolment(ctx, HashAPIToken(secret), s.now())
	if err != nil {
		return fb.User{}, err
	}
	return s.Store.User(ctx, e.UserKey)
}

// CompleteEnrolment sets the password through a one-time link and uses
// the link up; the person's earlier sessions end.
func (s *Service) CompleteEnrolment(ctx context.Context, secret, password string) (fb.User, error) {
	if err := checkBounds(octets("password", password, MaxPasswordBytes)); err != nil {
		return fb.User{}, err
	}
	if _, err := s.EnrolmentUser(ctx, secret); err != nil {
		return fb.User{}, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return fb.User{}, err
	}
	e, err := s.Store.RedeemEnrolment(ctx, HashAPIToken(secret), s.now(), hash, s.passwordAudit(fb.User{}, ""))
	if err != nil {
		return fb.User{}, err
	}
	return s.Store.User(ctx, e.UserKey)
}

// activeOwner reports whether a saved provider token's owner is an active
// user: an inactive or removed account's tokens are neither used nor
// checked again. When the tracker cannot say, the token waits too.
func (s *Service) activeOwner(ctx context.Context, userKey string) bool {
	u, err := s.Tracker.User(ctx, userKey)
	return err == nil && u.Active
}
