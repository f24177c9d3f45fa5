package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/secret"
)

// People's Jira OAuth grants ("Sign in with Jira"): both tokens sealed
// together in one value bound to the user key, so neither can be moved to
// another person's row.

var jiraGrantAD = secret.JiraGrantAD

const jiraGrantColumns = `user_key, tokens, expires_at, scope, redirect_uri, created_at, updated_at`

// sealedGrant is the plaintext of a sealed grant.
type sealedGrant struct {
	Access  string `json:"a"`
	Refresh string `json:"r"`
}

func (s *Store) sealGrant(g *fb.JiraGrant) ([]byte, error) {
	plain, err := json.Marshal(sealedGrant{Access: g.AccessToken, Refresh: g.RefreshToken})
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	ct, err := s.cipher.Encrypt(plain, jiraGrantAD(g.UserKey))
	if err != nil {
		return nil, fmt.Errorf("encrypting a Jira grant: %w", err)
	}
	return ct, nil
}

// PutJiraGrant inserts or replaces the person's grant. It sets UpdatedAt,
// and CreatedAt to when the person first gave one.
func (s *Store) PutJiraGrant(ctx context.Context, g *fb.JiraGrant) (err error) {
	defer wrap(&err, "PutJiraGrant(%q)", g.UserKey)
	return s.putJiraGrant(ctx, s.conn(), g)
}

func (s *Store) putJiraGrant(ctx context.Context, c conn, g *fb.JiraGrant) error {
	if g.UserKey == "" || g.AccessToken == "" || g.RefreshToken == "" {
		return fb.Errorf(fb.EInvalid, "a Jira grant needs a user key, an access token and a refresh token")
	}
	ct, err := s.sealGrant(g)
	if err != nil {
		return err
	}
	at := now()
	var created int64
	err = c.queryRow(ctx, `INSERT INTO jira_grants (`+jiraGrantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_key) DO UPDATE SET tokens = excluded.tokens, expires_at = excluded.expires_at,
			scope = excluded.scope, redirect_uri = excluded.redirect_uri, updated_at = excluded.updated_at
		RETURNING created_at`,
		g.UserKey, ct, micros(g.ExpiresAt), g.Scope, g.RedirectURI, micros(at), micros(at)).Scan(&created)
	if err != nil {
		return err
	}
	g.CreatedAt, g.UpdatedAt = fromMicros(created), at
	g.ExpiresAt = normalizeTime(g.ExpiresAt)
	return nil
}

// JiraGrant returns the person's grant, decrypted; ENotFound when there is none.
func (s *Store) JiraGrant(ctx context.Context, userKey string) (_ fb.JiraGrant, err error) {
	defer wrap(&err, "JiraGrant(%q)", userKey)
	return s.jiraGrant(ctx, s.conn(), userKey, false)
}

func (s *Store) jiraGrant(ctx context.Context, c conn, userKey string, lock bool) (fb.JiraGrant, error) {
	q := `SELECT ` + jiraGrantColumns + ` FROM jira_grants WHERE user_key = ?`
	if lock && c.postgres {
		// SQLite's immediate transaction already holds the database's write lock.
		q += ` FOR UPDATE`
	}
	var (
		g                         fb.JiraGrant
		ct                        []byte
		expires, created, updated int64
	)
	err := c.queryRow(ctx, q, userKey).Scan(&g.UserKey, &ct, &expires, &g.Scope, &g.RedirectURI, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return fb.JiraGrant{}, fb.Errorf(fb.ENotFound, "user %s has no Jira grant", userKey)
	}
	if err != nil {
		return fb.JiraGrant{}, err
	}
	plain, err := s.cipher.Decrypt(ct, jiraGrantAD(g.UserKey))
	if err != nil {
		return fb.JiraGrant{}, undecryptable(secretRow{jiraGrant: true, userKey: g.UserKey}, err)
	}
	defer clear(plain)
	var sg sealedGrant
	if json.Unmarshal(plain, &sg) != nil {
		return fb.JiraGrant{}, fmt.Errorf("the decrypted Jira grant of user %s is not valid JSON", g.UserKey)
	}
	g.AccessToken, g.RefreshToken = sg.Access, sg.Refresh
	g.ExpiresAt, g.CreatedAt, g.UpdatedAt = fromMicros(expires), fromMicros(created), fromMicros(updated)
	return g, nil
}

// DeleteJiraGrant removes the person's grant; having none is not an error.
func (s *Store) DeleteJiraGrant(ctx context.Context, userKey string) (err error) {
	defer wrap(&err, "DeleteJiraGrant(%q)", userKey)
	_, err = s.execWrite(ctx, `DELETE FROM jira_grants WHERE user_key = ?`, userKey)
	return err
}

// UpdateJiraGrant reads the person's grant in a transaction that keeps
// every other UpdateJiraGrant of it out, in this process and in others
// (PostgreSQL: the row is locked; SQLite: the database's write lock), and
// lets change decide: the grant it returns is stored, nil deletes the
// grant, an error aborts with nothing written. So of two instances that
// find the access token expired, one refreshes and the other sees the
// refreshed grant: one rotation of the refresh token. It returns what was
// stored (the zero grant when deleted); ENotFound when there is none.
func (s *Store) UpdateJiraGrant(ctx context.Context, userKey string,
	change func(g fb.JiraGrant) (*fb.JiraGrant, error)) (out fb.JiraGrant, err error) {
	defer wrap(&err, "UpdateJiraGrant(%q)", userKey)
	if s.writer != nil {
		return s.updateJiraGrantSQLite(ctx, userKey, change)
	}
	// Jira may rotate the refresh token in change: its answer is stored even
	// when the caller gives up meanwhile (a cancelled transaction would lose
	// the only refresh token Jira still honours).
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grantWriteTimeout)
	defer cancel()
	err = s.inTx(wctx, func(c conn) error {
		g, err := s.jiraGrant(wctx, c, userKey, true)
		if err != nil {
			return err
		}
		next, err := change(g)
		if err != nil {
			return err
		}
		out, err = s.writeJiraGrant(wctx, c, userKey, next)
		return err
	})
	if err != nil {
		return fb.JiraGrant{}, err
	}
	return out, nil
}

// writeJiraGrant stores what an update's change decided: next as the
// person's grant, or no grant when next is nil. It returns what was stored
// (the zero grant when deleted).
func (s *Store) writeJiraGrant(ctx context.Context, c conn, userKey string, next *fb.JiraGrant) (fb.JiraGrant, error) {
	if next == nil {
		_, err := c.exec(ctx, `DELETE FROM jira_grants WHERE user_key = ?`, userKey)
		return fb.JiraGrant{}, err
	}
	next.UserKey = userKey
	if err := s.putJiraGrant(ctx, c, next); err != nil {
		return fb.JiraGrant{}, err
	}
	return *next, nil
}

// grantWriteTimeout bounds an update of a grant once the caller has gone:
// longer than a call to Jira.
const grantWriteTimeout = time.Minute

// grantLocks keeps this process's updaters of one grant apart on SQLite
// (one process writes a SQLite database: instances share PostgreSQL), by
// user key, whichever Store they go through.
var grantLocks sync.Map // user key → *sync.Mutex

// updateJiraGrantSQLite is UpdateJiraGrant on SQLite: change (a call to
// Jira, up to its timeout) runs under a lock of the grant alone, not the
// database's write lock, which would stop every other write meanwhile.
// A grant replaced (a new sign-in) or deleted (sign-out) while change ran
// is left as it is and answered.
func (s *Store) updateJiraGrantSQLite(ctx context.Context, userKey string,
	change func(g fb.JiraGrant) (*fb.JiraGrant, error)) (fb.JiraGrant, error) {
	mu, _ := grantLocks.LoadOrStore(userKey, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	g, err := s.jiraGrant(ctx, s.conn(), userKey, false)
	if err != nil {
		return fb.JiraGrant{}, err
	}
	next, err := change(g)
	if err != nil {
		return fb.JiraGrant{}, err
	}
	// Jira may have rotated the refresh token: what it answered is kept
	// even when the caller has given up meanwhile.
	wctx := context.WithoutCancel(ctx)
	var out fb.JiraGrant
	err = s.inTx(wctx, func(c conn) error {
		cur, err := s.jiraGrant(wctx, c, userKey, false)
		if err != nil {
			return err // ENotFound: signed out meanwhile, not brought back
		}
		if !cur.UpdatedAt.Equal(g.UpdatedAt) {
			out = cur // replaced meanwhile: the newer grant stays
			return nil
		}
		out, err = s.writeJiraGrant(wctx, c, userKey, next)
		return err
	})
	if err != nil {
		return fb.JiraGrant{}, err
	}
	return out, nil
}
