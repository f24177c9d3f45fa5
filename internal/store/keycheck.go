package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/secret"
)

// keysetCheckPlain is what the check value seals: opening it proves the
// keyset is the database's, whatever else is stored.
const keysetCheckPlain = "forgebridge keyset check v1"

var keysetCheckAD = secret.KeysetCheckAD()

// KeysetCheck returns the database's sealed keyset check value; ENotFound
// when it has none yet (a database made before the check existed).
func (s *Store) KeysetCheck(ctx context.Context) (_ []byte, err error) {
	defer wrap(&err, "KeysetCheck")
	return keysetCheck(ctx, s.conn())
}

func keysetCheck(ctx context.Context, c conn) ([]byte, error) {
	var ct []byte
	err := c.queryRow(ctx, "SELECT value FROM keyset_check WHERE id = 1").Scan(&ct)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fb.Errorf(fb.ENotFound, "The database has no keyset check value yet.")
	}
	return ct, err
}

// PutKeysetCheck seals the check value with the store's cipher and stores
// it, unless the database has one already (another process was first):
// then it changes nothing and reports false.
func (s *Store) PutKeysetCheck(ctx context.Context) (stored bool, err error) {
	defer wrap(&err, "PutKeysetCheck")
	ct, err := s.cipher.Encrypt([]byte(keysetCheckPlain), keysetCheckAD)
	if err != nil {
		return false, err
	}
	res, err := s.execWrite(ctx, "INSERT INTO keyset_check (id, value, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING",
		ct, micros(time.Now()))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CheckKeyset opens the database's check value with c (the store's own
// cipher when c is nil). ENotFound when there is no check value; EInvalid
// when c is not the database's keyset.
func (s *Store) CheckKeyset(ctx context.Context, c fb.Cipher) (err error) {
	defer wrap(&err, "CheckKeyset")
	if c == nil {
		c = s.cipher
	}
	ct, err := keysetCheck(ctx, s.conn())
	if err != nil {
		return err
	}
	plain, derr := c.Decrypt(ct, keysetCheckAD)
	if derr != nil || subtle.ConstantTimeCompare(plain, []byte(keysetCheckPlain)) != 1 {
		e := fb.Errorf(fb.EInvalid, "The keyset cannot open this database's check value: it is not the keyset the database was created with.")
		e.Err = derr
		return e
	}
	return nil
}

// EnsureKeysetCheck checks the store's cipher against the database: it
// opens the check value, or, for a database without one, decrypts every
// stored secret and then seals a check value. It fails when the cipher is
// not the database's keyset.
func (s *Store) EnsureKeysetCheck(ctx context.Context) (err error) {
	err = s.CheckKeyset(ctx, nil)
	if fb.ErrorCode(err) != fb.ENotFound {
		return err
	}
	if _, err := s.CheckSecrets(ctx); err != nil {
		return err
	}
	if _, err := s.PutKeysetCheck(ctx); err != nil {
		return err
	}
	// Another process may have sealed one first, with another keyset.
	return s.CheckKeyset(ctx, nil)
}

// Unused reports whether the database holds nothing sealed and nobody's
// data yet: no check value, no users, no integrations. Only for such a
// database may a new keyset be made.
func (s *Store) Unused(ctx context.Context) (_ bool, err error) {
	defer wrap(&err, "Unused")
	var used bool
	err = s.conn().queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM keyset_check) OR EXISTS (SELECT 1 FROM users)
		OR EXISTS (SELECT 1 FROM integrations)`).Scan(&used)
	return !used, err
}
