package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

const apiTokenColumns = `id, hash, user_key, user_name, name, created_at, expires_at, last_used_at, issued_by`

func scanAPIToken(row interface{ Scan(...any) error }) (fb.APIToken, error) {
	var t fb.APIToken
	var created int64
	var expires, used sql.NullInt64
	if err := row.Scan(&t.ID, &t.Hash, &t.UserKey, &t.UserName, &t.Name, &created, &expires, &used, &t.IssuedBy); err != nil {
		return fb.APIToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = fromMicros(created), timePtr(expires), timePtr(used)
	return t, nil
}

func apiTokenNotFound() error { return fb.Errorf(fb.ENotFound, "API token not found") }

// CreateAPIToken stores an API token by its hash, with its audit entry.
// Its owner need not be in the local directory (a Jira user).
func (s *Store) CreateAPIToken(ctx context.Context, t *fb.APIToken, audit *fb.AuditEntry) (err error) {
	defer wrap(&err, "CreateAPIToken(%q)", t.UserKey)
	return s.createAPIToken(ctx, t, audit, false)
}

// CreateLocalUserAPIToken stores an API token of a user of the local
// directory, only while that user is there and active: the check and the
// insert are one statement in a transaction that holds the user's row, so
// a concurrent deactivation or removal (which deletes the user's tokens)
// either comes first and refuses the token, or comes after and removes it.
func (s *Store) CreateLocalUserAPIToken(ctx context.Context, t *fb.APIToken, audit *fb.AuditEntry) (err error) {
	defer wrap(&err, "CreateLocalUserAPIToken(%q)", t.UserKey)
	return s.createAPIToken(ctx, t, audit, true)
}

func (s *Store) createAPIToken(ctx context.Context, t *fb.APIToken, audit *fb.AuditEntry, localUser bool) error {
	if t.ID == "" {
		t.ID = newID()
	}
	t.CreatedAt = normalizeTime(t.CreatedAt)
	return s.inTx(ctx, func(c conn) error {
		if localUser {
			if err := c.requireActiveUser(ctx, t.UserKey, t.UserName); err != nil {
				return err
			}
		}
		_, err := c.exec(ctx, `INSERT INTO api_tokens (`+apiTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Hash, t.UserKey, t.UserName, t.Name, micros(t.CreatedAt), nullMicros(t.ExpiresAt), nullMicros(t.LastUsedAt), t.IssuedBy)
		if isUniqueViolation(err) {
			return fb.Errorf(fb.EAlreadyExists, "the API token already exists")
		}
		if err != nil {
			return err
		}
		return c.addAuditIf(ctx, audit)
	})
}

// requireActiveUser refuses unless the local user is there and active, and
// holds their row until the transaction ends (FOR SHARE on PostgreSQL;
// SQLite's write transaction holds the database): a deactivation or removal
// waits for the transaction, and then deletes what it wrote.
func (c conn) requireActiveUser(ctx context.Context, key, name string) error {
	lock := ""
	if c.postgres {
		lock = " FOR SHARE"
	}
	var active bool
	err := c.queryRow(ctx, `SELECT active FROM users WHERE user_key = ?`+lock, key).Scan(&active)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !active {
		return fb.Errorf(fb.EInvalid, "The account %s is deactivated or was removed; no token was issued.", name)
	}
	return err
}

// APIToken returns the API token whose hash is hash.
func (s *Store) APIToken(ctx context.Context, hash string) (_ fb.APIToken, err error) {
	defer wrap(&err, "APIToken")
	t, err := scanAPIToken(s.pointConn().queryRow(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return fb.APIToken{}, apiTokenNotFound()
	}
	return t, err
}

// APITokens lists the user's API tokens, newest first.
func (s *Store) APITokens(ctx context.Context, userKey string) (_ []fb.APIToken, err error) {
	defer wrap(&err, "APITokens(%q)", userKey)
	return s.apiTokens(ctx, "user_key", userKey)
}

// APITokensOfUserName lists the API tokens held under that user name,
// newest first: a Jira user has no local row to find their key by.
func (s *Store) APITokensOfUserName(ctx context.Context, userName string) (_ []fb.APIToken, err error) {
	defer wrap(&err, "APITokensOfUserName(%q)", userName)
	return s.apiTokens(ctx, "user_name", userName)
}

func (s *Store) apiTokens(ctx context.Context, column, value string) ([]fb.APIToken, error) {
	rows, err := s.conn().query(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE `+column+` = ?
		ORDER BY created_at DESC, id`, value)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []fb.APIToken{}
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken removes the API token with that id, of the user when
// userKey is set, with its audit entry, and returns what it removed.
func (s *Store) RevokeAPIToken(ctx context.Context, userKey, id string, audit *fb.AuditEntry) (_ fb.APIToken, err error) {
	defer wrap(&err, "RevokeAPIToken(%q)", id)
	var t fb.APIToken
	err = s.inTx(ctx, func(c conn) error {
		var err error
		t, err = scanAPIToken(c.queryRow(ctx, `DELETE FROM api_tokens WHERE id = ? AND (? = '' OR user_key = ?)
			RETURNING `+apiTokenColumns, id, userKey, userKey))
		if errors.Is(err, sql.ErrNoRows) {
			return apiTokenNotFound()
		}
		if err != nil {
			return err
		}
		if audit != nil && audit.User == "" {
			audit.User = t.UserName
		}
		return c.addAuditIf(ctx, audit)
	})
	return t, err
}

// TouchAPIToken records that the token was used at `at`, unless a use after
// since is recorded already: the condition makes most requests read only.
func (s *Store) TouchAPIToken(ctx context.Context, hash string, at, since time.Time) (err error) {
	defer wrap(&err, "TouchAPIToken")
	_, err = s.execWrite(ctx, `UPDATE api_tokens SET last_used_at = ?
		WHERE hash = ? AND (last_used_at IS NULL OR last_used_at < ?)`, micros(at), hash, micros(since))
	return err
}

// ChangePassword sets the user's password hash and ends their sign-in
// sessions, with the audit entry, in one transaction.
func (s *Store) ChangePassword(ctx context.Context, userKey, hash string, audit *fb.AuditEntry) (err error) {
	defer wrap(&err, "ChangePassword(%q)", userKey)
	return s.inTx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE users SET password_hash = ? WHERE user_key = ?`, hash, userKey)
		if err := expectOne(res, err, userNotFound(userKey)); err != nil {
			return err
		}
		if err := c.deleteSessions(ctx, userKey); err != nil {
			return err
		}
		return c.addAuditIf(ctx, audit)
	})
}

// deleteSessions removes the user's sign-in sessions. Other API tokens,
// expiring or not, are the person's deliberate credentials and stay.
func (c conn) deleteSessions(ctx context.Context, userKey string) error {
	_, err := c.exec(ctx, `DELETE FROM api_tokens WHERE user_key = ? AND name IN (?, ?)`,
		userKey, fb.SessionTokenName, fb.JiraSessionTokenName)
	return err
}

// DeleteExpiredAPITokens removes every API token that expired before now.
func (s *Store) DeleteExpiredAPITokens(ctx context.Context, now time.Time) (n int, err error) {
	defer wrap(&err, "DeleteExpiredAPITokens")
	res, err := s.execWrite(ctx, `DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at <= ?`, micros(now))
	if err != nil {
		return 0, err
	}
	rows, err := res.RowsAffected()
	return int(rows), err
}

// DeleteAPIToken removes the API token whose hash is hash.
func (s *Store) DeleteAPIToken(ctx context.Context, hash string) (err error) {
	defer wrap(&err, "DeleteAPIToken")
	res, err := s.execWrite(ctx, `DELETE FROM api_tokens WHERE hash = ?`, hash)
	return expectOne(res, err, apiTokenNotFound())
}

func enrolmentNotFound() error {
	return fb.Errorf(fb.ENotFound, "This enrolment link is unknown, used or expired; ask an administrator for a new one.")
}

// CreateEnrolment stores an enrolment and removes the user's earlier ones
// (and any expired), so only the newest link works.
func (s *Store) CreateEnrolment(ctx context.Context, e fb.Enrolment, audit *fb.AuditEntry) (err error) {
	defer wrap(&err, "CreateEnrolment(%q)", e.UserKey)
	return s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM enrolments WHERE user_key = ? OR expires_at <= ?`,
			e.UserKey, micros(normalizeTime(e.CreatedAt))); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO enrolments (hash, user_key, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			e.Hash, e.UserKey, micros(normalizeTime(e.CreatedAt)), micros(normalizeTime(e.ExpiresAt)))
		if isForeignKeyViolation(err) {
			return userNotFound(e.UserKey)
		}
		if err != nil {
			return err
		}
		return c.addAuditIf(ctx, audit)
	})
}

// Enrolment returns a usable enrolment: not expired at now, of an active user.
func (s *Store) Enrolment(ctx context.Context, hash string, now time.Time) (_ fb.Enrolment, err error) {
	defer wrap(&err, "Enrolment")
	return s.conn().enrolment(ctx, hash, now)
}

func (c conn) enrolment(ctx context.Context, hash string, now time.Time) (fb.Enrolment, error) {
	var e fb.Enrolment
	var created, expires int64
	err := c.queryRow(ctx, `SELECT e.hash, e.user_key, e.created_at, e.expires_at FROM enrolments e
		JOIN users u ON u.user_key = e.user_key WHERE e.hash = ? AND e.expires_at > ? AND u.active`, hash, micros(now)).
		Scan(&e.Hash, &e.UserKey, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return fb.Enrolment{}, enrolmentNotFound()
	}
	e.CreatedAt, e.ExpiresAt = fromMicros(created), fromMicros(expires)
	return e, err
}

// RedeemEnrolment sets the user's password hash, removes the enrolment (it
// is used once), ends the user's sessions and writes the audit entry, all in
// one transaction: of two concurrent uses of one link, one succeeds and the
// other finds none.
func (s *Store) RedeemEnrolment(ctx context.Context, hash string, now time.Time, passwordHash string, audit *fb.AuditEntry) (_ fb.Enrolment, err error) {
	defer wrap(&err, "RedeemEnrolment")
	var e fb.Enrolment
	err = s.inTx(ctx, func(c conn) error {
		var err error
		if e, err = c.enrolment(ctx, hash, now); err != nil {
			return err
		}
		res, err := c.exec(ctx, `DELETE FROM enrolments WHERE hash = ?`, hash)
		if err := expectOne(res, err, enrolmentNotFound()); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE users SET password_hash = ? WHERE user_key = ?`, passwordHash, e.UserKey); err != nil {
			return err
		}
		if err := c.deleteSessions(ctx, e.UserKey); err != nil {
			return err
		}
		if audit != nil {
			audit.User, audit.Target = cmp.Or(audit.User, e.UserKey), cmp.Or(audit.Target, e.UserKey)
		}
		return c.addAuditIf(ctx, audit)
	})
	return e, err
}
