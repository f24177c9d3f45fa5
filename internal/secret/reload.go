package secret

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/forgebridge/forgebridge"
)

// KeyIDOf returns the id of the key that sealed ciphertext, which Tink's
// output prefix carries; ok is false for a value that is not a forgebridge
// ciphertext.
func (k *Keyset) KeyIDOf(ciphertext []byte) (id uint32, ok bool) {
	if len(ciphertext) < 5 || ciphertext[0] != tinkPrefix {
		return 0, false
	}
	return binary.BigEndian.Uint32(ciphertext[1:5]), true
}

// has reports whether the keyset holds the key id.
func (k *Keyset) has(id uint32) bool {
	for _, known := range k.KeyIDs() {
		if known == id {
			return true
		}
	}
	return false
}

// reloadFor asks the reloader, when there is one, for a keyset holding the
// key of ciphertext, and reports whether the keyset holds it now, so that
// Decrypt tries again. It holds it too when a reload (this one, or another
// goroutine's poll) replaced the keys after Decrypt took the old ones.
func (k *Keyset) reloadFor(ciphertext []byte) bool {
	id, ok := k.KeyIDOf(ciphertext)
	if !ok {
		return false
	}
	k.mu.RLock()
	hook := k.unknownKey
	k.mu.RUnlock()
	if hook == nil {
		return false
	}
	if !k.has(id) {
		hook(id)
	}
	return k.has(id)
}

// replace puts the keys of other in place of k's: every user of k (the
// store, the web sessions) sees them at once.
func (k *Keyset) replace(other *Keyset) {
	other.mu.RLock()
	h, a, raw := other.handle, other.aead, other.raw
	other.mu.RUnlock()
	k.mu.Lock()
	k.handle, k.aead, k.raw = h, a, raw
	k.mu.Unlock()
}

// Retire removes the key id from the keyset and saves it to path. It
// refuses the primary key and a key the keyset does not hold; whether any
// stored value still uses the key is the caller's to check.
func (k *Keyset) Retire(path string, id uint32) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if id == k.handle.KeysetInfo().GetPrimaryKeyId() {
		return forgebridge.Errorf(forgebridge.EInvalid,
			"Key %d is the primary key, which seals every new value; rotate first, then retire it once nothing uses it.", id)
	}
	m := keyset.NewManagerFromHandle(k.handle)
	if err := m.Delete(id); err != nil {
		return forgebridge.Errorf(forgebridge.EInvalid, "The keyset has no key %d.", id)
	}
	h, err := m.Handle()
	if err != nil {
		return &forgebridge.Error{Code: forgebridge.EInternal, Message: "Removing the key failed.", Err: err}
	}
	a, err := aead.New(h)
	if err != nil {
		return &forgebridge.Error{Code: forgebridge.EInternal, Message: "The keyset without the key cannot be used.", Err: err}
	}
	raw, err := writeFile(path, h, os.Rename)
	if err != nil {
		return err
	}
	k.handle, k.aead, k.raw = h, a, raw
	return nil
}

// Reloader keeps a Keyset in step with its file, so that a rotation made by
// `keys rotate` (or another instance) reaches a running server without a
// restart. A keyset read from the file replaces the one in use only when
// Verify accepts it (it opens the database's check value).
type Reloader struct {
	Keyset *Keyset
	Path   string
	// Verify checks a candidate keyset before it is put in place.
	Verify func(ctx context.Context, candidate *Keyset) error
	// Changed is called after a new keyset is in place (to re-seal stored
	// values under the new primary key); it may be nil.
	Changed func()
	Logger  *slog.Logger

	mu sync.Mutex
}

// Install makes the keyset ask the reloader for its file again whenever it
// meets a ciphertext of a key it lacks: an instance that rotated or
// re-sealed first must not make another one's requests fail before its next
// poll.
func (r *Reloader) Install() {
	r.Keyset.mu.Lock()
	r.Keyset.unknownKey = func(id uint32) bool {
		changed, err := r.Reload(context.Background())
		if err != nil {
			r.logger().Warn("reloading the keyset for a value of an unknown key failed", "key", id, "err", err)
		}
		return changed
	}
	r.Keyset.mu.Unlock()
}

func (r *Reloader) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.Default()
	}
	return r.Logger
}

// Reload reads the keyset file and, when it differs from the keyset in use
// and Verify accepts it, puts it in place. It reports whether it did.
func (r *Reloader) Reload(ctx context.Context) (changed bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cand, err := load(r.Path)
	if err != nil {
		return false, err
	}
	r.Keyset.mu.RLock()
	same := bytes.Equal(cand.raw, r.Keyset.raw)
	r.Keyset.mu.RUnlock()
	if same {
		return false, nil
	}
	if r.Verify != nil {
		if err := r.Verify(ctx, cand); err != nil {
			return false, err
		}
	}
	r.Keyset.replace(cand)
	r.logger().Info("keyset reloaded", "path", r.Path, "primaryKey", cand.PrimaryKeyID(), "keys", len(cand.KeyIDs()))
	if r.Changed != nil {
		r.Changed()
	}
	return true, nil
}

// Run reloads the file every interval and whenever hup delivers (SIGHUP),
// until ctx ends. Failures are logged; the keyset in use stays.
func (r *Reloader) Run(ctx context.Context, every time.Duration, hup <-chan os.Signal) {
	t := time.NewTicker(every)
	defer t.Stop()
	var said string // the failure logged last: a bad file is reported once, not every poll
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-hup:
			r.logger().Info("SIGHUP: reloading the keyset", "path", r.Path)
		}
		_, err := r.Reload(ctx)
		switch {
		case err == nil:
			said = ""
		case ctx.Err() == nil && forgebridge.ErrorMessage(err) != said:
			said = forgebridge.ErrorMessage(err)
			r.logger().Error("the keyset file was not reloaded; the keys in use stay", "path", r.Path, "err", said)
		}
	}
}
