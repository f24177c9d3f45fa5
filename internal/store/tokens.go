package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	fb "github.com/forgebridge/forgebridge"
)

const userTokenColumns = `user_key, integration_id, credential, login, scopes, expires_at, status, checked_at,
	created_at, updated_at, provider_user_id`

// PutUserToken inserts or replaces the user's token for the integration. It
// sets t.UpdatedAt, and t.CreatedAt to when the user first saved a token for
// the integration; an empty Status becomes TokenUnverified. A token of an
// account (ProviderUserID) that another person already saved for the
// integration answers EAlreadyExists: one account's token is one person's.
func (s *Store) PutUserToken(ctx context.Context, t *fb.UserToken) (err error) {
	defer wrap(&err, "PutUserToken(%q, %q)", t.UserKey, t.IntegrationID)
	if t.Credential.IsZero() {
		return fb.Errorf(fb.EInvalid, "a user token needs a credential")
	}
	cred, err := s.seal(t.Credential, userTokenAD(t.UserKey, t.IntegrationID))
	if err != nil {
		return err
	}
	scopes, err := marshalList(t.Scopes)
	if err != nil {
		return err
	}
	if t.Status == "" {
		t.Status = fb.TokenUnverified
	}
	at := now()
	var created int64
	err = s.inTx(ctx, func(c conn) error {
		return c.queryRow(ctx, `INSERT INTO user_tokens (`+userTokenColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_key, integration_id) DO UPDATE SET
				credential = excluded.credential, login = excluded.login, scopes = excluded.scopes,
				expires_at = excluded.expires_at, status = excluded.status, checked_at = excluded.checked_at,
				updated_at = excluded.updated_at, provider_user_id = excluded.provider_user_id
			RETURNING created_at`,
			t.UserKey, t.IntegrationID, cred, t.Login, scopes, nullMicros(t.ExpiresAt), string(t.Status), nullMicros(t.CheckedAt),
			micros(at), micros(at), t.ProviderUserID).Scan(&created)
	})
	if isForeignKeyViolation(err) {
		return integrationNotFound(t.IntegrationID)
	}
	if isUniqueViolation(err) {
		return accountTaken(t.IntegrationID)
	}
	if err != nil {
		return err
	}
	t.CreatedAt, t.UpdatedAt = fromMicros(created), at
	return nil
}

// UserToken returns the user's token for the integration, decrypted.
func (s *Store) UserToken(ctx context.Context, userKey, integrationID string) (_ fb.UserToken, err error) {
	defer wrap(&err, "UserToken(%q, %q)", userKey, integrationID)
	// The cache keeps the credential sealed: it is opened for each use.
	sealed, err := cached(s, ctx, "user_token\x00"+userKey+"\x00"+integrationID, sealedUserToken.clone, func() (sealedUserToken, error) {
		var st sealedUserToken
		var err error
		st.t, st.credential, err = scanUserTokenRow(s.pointConn().queryRow(ctx, `SELECT `+userTokenColumns+` FROM user_tokens
			WHERE user_key = ? AND integration_id = ?`, userKey, integrationID))
		if errors.Is(err, sql.ErrNoRows) {
			return sealedUserToken{}, tokenNotFound(userKey, integrationID)
		}
		return st, err
	})
	if err != nil {
		return fb.UserToken{}, err
	}
	return s.openUserToken(sealed.t, sealed.credential)
}

// sealedUserToken is a user token with its credential still sealed.
type sealedUserToken struct {
	t          fb.UserToken // without its credential
	credential []byte
}

func (st sealedUserToken) clone() sealedUserToken {
	st.t.Scopes = slices.Clone(st.t.Scopes)
	st.t.ExpiresAt, st.t.CheckedAt = clonePtr(st.t.ExpiresAt), clonePtr(st.t.CheckedAt)
	st.credential = slices.Clone(st.credential)
	return st
}

// UserTokens returns every token of the user, by integration id, without
// their credentials: a listing to show, which one undecryptable row must not
// break. UserToken decrypts the one to use.
func (s *Store) UserTokens(ctx context.Context, userKey string) (_ []fb.UserToken, err error) {
	defer wrap(&err, "UserTokens(%q)", userKey)
	return s.userTokens(ctx, false, `user_key = ? ORDER BY integration_id`, userKey)
}

// IntegrationUserTokens lists every person's token for one integration.
func (s *Store) IntegrationUserTokens(ctx context.Context, integrationID string) (_ []fb.UserToken, err error) {
	defer wrap(&err, "IntegrationUserTokens(%q)", integrationID)
	return s.userTokens(ctx, true, `integration_id = ? ORDER BY user_key`, integrationID)
}

func (s *Store) userTokens(ctx context.Context, open bool, where string, arg string) ([]fb.UserToken, error) {
	rows, err := s.conn().query(ctx, `SELECT `+userTokenColumns+` FROM user_tokens WHERE `+where, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fb.UserToken
	for rows.Next() {
		t, err := s.scanSealedUserToken(rows, open)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UserTokenOwner returns the key of the person whose saved token for the
// integration belongs to the provider account providerUserID; ENotFound if
// nobody's does (an empty id is nobody's).
func (s *Store) UserTokenOwner(ctx context.Context, integrationID, providerUserID string) (_ string, err error) {
	defer wrap(&err, "UserTokenOwner(%q)", integrationID)
	var key string
	// "<> ''" lets both databases use the partial unique index.
	err = s.conn().queryRow(ctx, `SELECT user_key FROM user_tokens
		WHERE integration_id = ? AND provider_user_id = ? AND provider_user_id <> ''`, integrationID, providerUserID).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		e := fb.Errorf(fb.ENotFound, "nobody saved a token of that account for integration %s", integrationID)
		e.IntegrationID = integrationID
		return "", e
	}
	return key, err
}

// RecordCredentialUserID records the service account's provider id of an
// integration whose credential was validated before the id was kept. It
// writes only if the integration is still that version, and leaves
// UpdatedAt alone: nothing an administrator set has changed.
func (s *Store) RecordCredentialUserID(ctx context.Context, in fb.Integration, userID string) (err error) {
	defer wrap(&err, "RecordCredentialUserID(%q)", in.ID)
	res, err := s.execWrite(ctx, `UPDATE integrations SET credential_user_id = ? WHERE id = ? AND updated_at = ?`,
		userID, in.ID, micros(in.UpdatedAt))
	return expectOne(res, err, fb.Errorf(fb.ENotFound, "integration %s changed since its credential was checked", in.ID))
}

// accountTaken is the answer to saving a token of an account another person
// saved a token of: it never says who.
func accountTaken(integrationID string) error {
	e := fb.Errorf(fb.EAlreadyExists, "another person saved a token of this account for integration %s", integrationID)
	e.IntegrationID = integrationID
	return e
}

// DeleteUserToken removes the user's token for the integration.
func (s *Store) DeleteUserToken(ctx context.Context, userKey, integrationID string) (err error) {
	defer wrap(&err, "DeleteUserToken(%q, %q)", userKey, integrationID)
	res, err := s.execWrite(ctx, `DELETE FROM user_tokens WHERE user_key = ? AND integration_id = ?`, userKey, integrationID)
	return expectOne(res, err, tokenNotFound(userKey, integrationID))
}

// RecordTokenCheck records what the provider said of a token: its login,
// account id, scopes, expiry, status and when it was checked. It writes only if the row
// still holds the token that was checked (same UpdatedAt), so a token the
// person replaced or removed meanwhile is left alone: then it answers
// ENotFound. An account id another person's token already has answers
// EAlreadyExists, nothing written.
func (s *Store) RecordTokenCheck(ctx context.Context, t *fb.UserToken) (err error) {
	defer wrap(&err, "RecordTokenCheck(%q, %q)", t.UserKey, t.IntegrationID)
	scopes, err := marshalList(t.Scopes)
	if err != nil {
		return err
	}
	res, err := s.execWrite(ctx, `UPDATE user_tokens SET login = ?, provider_user_id = ?, scopes = ?, expires_at = ?,
			status = ?, checked_at = ?
		WHERE user_key = ? AND integration_id = ? AND updated_at = ?`,
		t.Login, t.ProviderUserID, scopes, nullMicros(t.ExpiresAt), string(t.Status), nullMicros(t.CheckedAt),
		t.UserKey, t.IntegrationID, micros(t.UpdatedAt))
	if isUniqueViolation(err) {
		return accountTaken(t.IntegrationID)
	}
	return expectOne(res, err, fb.Errorf(fb.ENotFound, "the token of %s for integration %s changed since it was checked", t.UserKey, t.IntegrationID))
}

func tokenNotFound(userKey, integrationID string) error {
	e := fb.Errorf(fb.ENotFound, "user %s has no token for integration %s", userKey, integrationID)
	e.IntegrationID = integrationID
	return e
}

// expectOne answers notFound when a statement changed no row.
func expectOne(res sql.Result, err error, notFound error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}

func (s *Store) scanUserToken(row interface{ Scan(...any) error }) (fb.UserToken, error) {
	return s.scanSealedUserToken(row, true)
}

// scanSealedUserToken reads a user token, its credential decrypted only when open is set.
func (s *Store) scanSealedUserToken(row interface{ Scan(...any) error }, open bool) (fb.UserToken, error) {
	t, cred, err := scanUserTokenRow(row)
	if err != nil || !open {
		return t, err
	}
	return s.openUserToken(t, cred)
}

// openUserToken sets the token's credential from its sealed form.
func (s *Store) openUserToken(t fb.UserToken, cred []byte) (fb.UserToken, error) {
	var err error
	if t.Credential, err = s.open(cred, userTokenAD(t.UserKey, t.IntegrationID)); err != nil {
		return fb.UserToken{}, undecryptable(secretRow{userToken: true, userKey: t.UserKey, integrationID: t.IntegrationID}, err)
	}
	return t, nil
}

// scanUserTokenRow reads a user token and its sealed credential.
func scanUserTokenRow(row interface{ Scan(...any) error }) (fb.UserToken, []byte, error) {
	var (
		t                fb.UserToken
		cred             []byte
		scopes, status   string
		expires, checked sql.NullInt64
		created, updated int64
	)
	err := row.Scan(&t.UserKey, &t.IntegrationID, &cred, &t.Login, &scopes, &expires, &status, &checked, &created, &updated,
		&t.ProviderUserID)
	if err != nil {
		return fb.UserToken{}, nil, err
	}
	if t.Scopes, err = unmarshalList(scopes); err != nil {
		return fb.UserToken{}, nil, fmt.Errorf("reading the scopes of the token of user %s for integration %s: %w", t.UserKey, t.IntegrationID, err)
	}
	t.Status = fb.TokenStatus(status)
	t.ExpiresAt, t.CheckedAt = timePtr(expires), timePtr(checked)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return t, cred, nil
}
