package store

import (
	"context"
	"fmt"

	fb "github.com/forgebridge/forgebridge"
)

// keyedCipher is a cipher whose ciphertexts name their key (secret.Keyset):
// what the key usage count and the re-sealing after a rotation need.
type keyedCipher interface {
	PrimaryKeyID() uint32
	KeyIDOf(ciphertext []byte) (id uint32, ok bool)
}

func (s *Store) keyed() (keyedCipher, error) {
	k, ok := s.cipher.(keyedCipher)
	if !ok {
		return nil, fb.Errorf(fb.EInternal, "The store's cipher does not name the keys of its ciphertexts.")
	}
	return k, nil
}

// sealedValues are every stored sealed value: the secrets and, last, the
// keyset check value (a row with check set).
func sealedValues(ctx context.Context, c conn) (rows []secretRow, check []byte, err error) {
	if rows, err = secretRows(ctx, c); err != nil {
		return nil, nil, err
	}
	check, err = keysetCheck(ctx, c)
	if fb.ErrorCode(err) == fb.ENotFound {
		err = nil
	}
	return rows, check, err
}

// KeyUsage counts the stored sealed values (credentials, user tokens,
// webhook secrets and the keyset check value) by the id of the key that
// sealed them.
func (s *Store) KeyUsage(ctx context.Context) (_ map[uint32]int, err error) {
	defer wrap(&err, "KeyUsage")
	k, err := s.keyed()
	if err != nil {
		return nil, err
	}
	rows, check, err := sealedValues(ctx, s.conn())
	if err != nil {
		return nil, err
	}
	use := map[uint32]int{}
	count := func(ct []byte) {
		if id, ok := k.KeyIDOf(ct); ok {
			use[id]++
		}
	}
	for _, r := range rows {
		count(r.ciphertext)
	}
	if check != nil {
		count(check)
	}
	return use, nil
}

// resealBatch bounds the values re-sealed in one transaction, so that a
// large database is never locked long (SQLite has one writer).
const resealBatch = 100

// ResealSecrets seals again under the primary key every stored value that
// another key sealed, a batch per transaction, and reports how many it
// re-sealed. A value that cannot be opened is left as it is and reported
// after the others are done. Each update is compare-and-set on the old
// ciphertext, so several instances may run it at once.
func (s *Store) ResealSecrets(ctx context.Context) (n int, err error) {
	defer wrap(&err, "ResealSecrets")
	k, err := s.keyed()
	if err != nil {
		return 0, err
	}
	rows, check, err := sealedValues(ctx, s.conn())
	if err != nil {
		return 0, err
	}
	primary := k.PrimaryKeyID()
	var stale []secretRow
	for _, r := range rows {
		if id, ok := k.KeyIDOf(r.ciphertext); ok && id != primary {
			stale = append(stale, r)
		}
	}
	var firstErr error
	for len(stale) > 0 {
		batch := stale[:min(resealBatch, len(stale))]
		stale = stale[len(batch):]
		m := 0 // counted once the batch commits
		err := s.inTx(ctx, func(c conn) error {
			for _, r := range batch {
				plain, err := s.cipher.Decrypt(r.ciphertext, r.ad())
				if err != nil {
					if firstErr == nil {
						firstErr = undecryptable(r, err)
					}
					continue
				}
				if err := s.resealOne(ctx, c, r, plain); err != nil {
					return err
				}
				m++
			}
			return nil
		})
		if err == nil {
			n += m
		} else if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
	}
	if id, ok := k.KeyIDOf(check); ok && id != primary {
		if err := s.resealCheck(ctx, check); err != nil && firstErr == nil {
			firstErr = err
		} else if err == nil {
			n++
		}
	}
	return n, firstErr
}

// resealOne seals the opened plaintext of a row again, under the primary key.
func (s *Store) resealOne(ctx context.Context, c conn, r secretRow, plain []byte) error {
	ct, err := s.cipher.Encrypt(plain, r.ad())
	clear(plain)
	if err != nil {
		return fmt.Errorf("encrypting %s: %w", r.describe(), err)
	}
	if err := r.replace(ctx, c, ct); err != nil {
		return fmt.Errorf("storing %s: %w", r.describe(), err)
	}
	return nil
}

func (s *Store) resealCheck(ctx context.Context, old []byte) error {
	plain, err := s.cipher.Decrypt(old, keysetCheckAD)
	if err != nil {
		return fb.Errorf(fb.EInvalid, "The keyset cannot open this database's check value.")
	}
	ct, err := s.cipher.Encrypt(plain, keysetCheckAD)
	clear(plain)
	if err != nil {
		return err
	}
	_, err = s.execWrite(ctx, "UPDATE keyset_check SET value = ? WHERE id = 1 AND value = ?", ct, old)
	return err
}
