// Package secret encrypts forgebridge's stored credentials (service
// credentials and users' personal access tokens) with a Tink AEAD keyset kept
// in a JSON file, and defines the associated data that binds each ciphertext
// to its row.
//
// The keyset file holds the keys in clear (there is no KMS to wrap them): it
// must be protected like a password, backed up, and never committed. Open
// refuses a file that the group or others may read or write, as ssh does with
// private keys.
package secret

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/aesgcm"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/forgebridge/forgebridge"
)

// keyParams is the only kind of key a keyset may hold: AES256-GCM with the
// TINK prefix (0x01 and the big-endian key id), so every ciphertext names the
// key that made it.
var keyParams = func() *aesgcm.Parameters {
	p, err := aesgcm.NewParameters(aesgcm.ParametersOpts{
		KeySizeInBytes: 32, IVSizeInBytes: 12, TagSizeInBytes: 16, Variant: aesgcm.VariantTink,
	})
	if err != nil {
		panic(err) // constant parameters; cannot fail
	}
	return p
}()

const tinkPrefix = 0x01 // first byte of a TINK-prefixed ciphertext

// Keyset is a loaded keyset. It implements forgebridge.Cipher and is safe for
// concurrent use.
type Keyset struct {
	mu     sync.RWMutex
	handle *keyset.Handle
	aead   tink.AEAD
	raw    []byte // the JSON it was read from or written as, to tell a changed file

	// unknownKey, when set, is called by Decrypt for a ciphertext of a key
	// this keyset lacks (another instance rotated first), to reload the
	// keyset; Decrypt then tries again once if the key is there.
	unknownKey func(id uint32) bool
}

var _ forgebridge.Cipher = (*Keyset)(nil)

// Open loads the keyset file at path. When the file does not exist and create
// is true, it generates a keyset with one new key and writes it with mode 0600
// (its directory with 0700 if missing); otherwise a missing file is ENotFound.
func Open(path string, create bool) (*Keyset, error) {
	k, err := load(path)
	if !create || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if k, err = Generate(); err != nil {
		return nil, err
	}
	if _, err := k.Create(path); err != nil {
		return nil, err
	}
	return k, nil
}

// Generate makes a keyset with one new key, in memory only.
func Generate() (*Keyset, error) {
	h, _, err := addPrimaryKey(keyset.NewManager())
	if err != nil {
		return nil, err
	}
	return newKeyset(h)
}

// Create writes k to path with mode 0600 (its directory with 0700 if
// missing), unless a file is there already (another process created it
// first): then k takes that file's keys instead and wrote is false.
func (k *Keyset) Create(path string) (wrote bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fileError(path, "cannot create the directory of the keyset file", err)
	}
	k.mu.RLock()
	h := k.handle
	k.mu.RUnlock()
	// Link never replaces a file: if another process created the keyset
	// meanwhile, use that one rather than overwrite keys it may already use.
	raw, err := writeFile(path, h, os.Link)
	if errors.Is(err, fs.ErrExist) {
		other, err := load(path)
		if err != nil {
			return false, err
		}
		k.replace(other)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	k.mu.Lock()
	k.raw = raw
	k.mu.Unlock()
	return true, nil
}

func load(path string) (*Keyset, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &forgebridge.Error{Code: forgebridge.ENotFound, Err: err,
				Message: "The keyset file " + path + " does not exist; check the keyset path."}
		}
		return nil, fileError(path, "cannot open the keyset file", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil {
		return nil, fileError(path, "cannot read the keyset file", err)
	} else if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, forgebridge.Errorf(forgebridge.EInvalid,
			"The keyset file %s has mode %v: other users may read the keys. Run chmod 600 on it.", path, info.Mode().Perm())
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fileError(path, "cannot read the keyset file", err)
	}
	return parse(data, "The keyset file "+path)
}

// Parse loads a keyset from its JSON (as FORGEBRIDGE_KEYSET_JSON holds it);
// source names where it came from in errors, such as "FORGEBRIDGE_KEYSET_JSON".
func Parse(data []byte, source string) (*Keyset, error) {
	return parse(data, "The keyset in "+source)
}

func parse(data []byte, what string) (*Keyset, error) {
	// Tink's parse errors may quote the file, that is key material: say only
	// that the file is unusable.
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(data)))
	if err != nil {
		return nil, forgebridge.Errorf(forgebridge.EInvalid,
			"%s is not a valid Tink JSON keyset (corrupt or truncated); restore it from a backup.", what)
	}
	for i := range h.Len() {
		e, err := h.Entry(i)
		if err != nil || !keyParams.Equal(e.Key().Parameters()) {
			return nil, forgebridge.Errorf(forgebridge.EInvalid,
				"%s holds a key that is not AES256-GCM with the TINK prefix; forgebridge uses no other kind.", what)
		}
	}
	k, err := newKeyset(h)
	if err == nil {
		k.raw = bytes.Clone(data)
	}
	return k, err
}

func newKeyset(h *keyset.Handle) (*Keyset, error) {
	a, err := aead.New(h)
	if err != nil {
		return nil, &forgebridge.Error{Code: forgebridge.EInternal, Message: "The keyset cannot be used for encryption.", Err: err}
	}
	return &Keyset{handle: h, aead: a}, nil
}

// addPrimaryKey adds a freshly generated key to m and makes it the primary.
func addPrimaryKey(m *keyset.Manager) (*keyset.Handle, uint32, error) {
	id, err := m.AddNewKeyFromParameters(keyParams)
	if err == nil {
		err = m.SetPrimary(id)
	}
	var h *keyset.Handle
	if err == nil {
		h, err = m.Handle()
	}
	if err != nil {
		return nil, 0, &forgebridge.Error{Code: forgebridge.EInternal, Message: "Generating a new key failed.", Err: err}
	}
	return h, id, nil
}

// writeFile writes h to a temporary file (mode 0600) beside path, then puts
// it in place with place (os.Rename or os.Link), so that path never holds a
// partial keyset.
func writeFile(path string, h *keyset.Handle, place func(oldpath, newpath string) error) ([]byte, error) {
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, &forgebridge.Error{Code: forgebridge.EInternal, Message: "Serialising the keyset failed.", Err: err}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".keyset-*.tmp") // CreateTemp uses mode 0600
	if err != nil {
		return nil, fileError(path, "cannot write the keyset file", err)
	}
	defer os.Remove(tmp.Name()) // after Rename it is gone; after Link it is a second name
	_, err = tmp.Write(buf.Bytes())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = place(tmp.Name(), path)
	}
	if err != nil { // wrapped: Open tells a lost Link race by fs.ErrExist
		return nil, fileError(path, "cannot write the keyset file", err)
	}
	// Make the new name durable too; not every system can sync a directory.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return buf.Bytes(), nil
}

func fileError(path, what string, err error) error {
	return &forgebridge.Error{Code: forgebridge.EInternal, Message: "forgebridge " + what + " " + path + ".", Err: err}
}

// Rotate adds a new AES256-GCM key, makes it the primary, keeps the older
// keys for decryption and saves the keyset to path. The keyset in memory
// changes only once the file is saved, so no value is ever encrypted under a
// key that is not on disk. Other processes using the file must reopen it.
func (k *Keyset) Rotate(path string) (newKeyID uint32, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	h, id, err := addPrimaryKey(keyset.NewManagerFromHandle(k.handle))
	if err != nil {
		return 0, err
	}
	a, err := aead.New(h)
	if err != nil {
		return 0, &forgebridge.Error{Code: forgebridge.EInternal, Message: "The rotated keyset cannot be used for encryption.", Err: err}
	}
	raw, err := writeFile(path, h, os.Rename)
	if err != nil {
		return 0, err
	}
	k.handle, k.aead, k.raw = h, a, raw
	return id, nil
}

// KeyIDs returns the ids of all keys in the keyset, in keyset order.
func (k *Keyset) KeyIDs() []uint32 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	info := k.handle.KeysetInfo()
	ids := make([]uint32, 0, len(info.GetKeyInfo()))
	for _, ki := range info.GetKeyInfo() {
		ids = append(ids, ki.GetKeyId())
	}
	return ids
}

// PrimaryKeyID returns the id of the key that Encrypt uses.
func (k *Keyset) PrimaryKeyID() uint32 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.handle.KeysetInfo().GetPrimaryKeyId()
}

func (k *Keyset) primitive() tink.AEAD {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.aead
}

// Encrypt encrypts plaintext under the primary key, bound to associatedData.
func (k *Keyset) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	ct, err := k.primitive().Encrypt(plaintext, associatedData)
	if err != nil {
		return nil, &forgebridge.Error{Code: forgebridge.EInternal, Message: "Encrypting a secret failed.", Err: err}
	}
	return ct, nil
}

// Decrypt decrypts a ciphertext made by Encrypt with the same associatedData.
// Its error never contains the plaintext; it names the key id the ciphertext
// carries and whether this keyset has that key.
func (k *Keyset) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	pt, err := k.primitive().Decrypt(ciphertext, associatedData)
	if err == nil {
		return pt, nil
	}
	if k.reloadFor(ciphertext) {
		if pt, err := k.primitive().Decrypt(ciphertext, associatedData); err == nil {
			return pt, nil
		}
	}
	if len(ciphertext) < 5 || ciphertext[0] != tinkPrefix {
		return nil, forgebridge.Errorf(forgebridge.EInternal,
			"The keyset cannot decrypt a stored secret: the value is not a forgebridge ciphertext (damaged or not encrypted).")
	}
	id := binary.BigEndian.Uint32(ciphertext[1:5])
	for _, known := range k.KeyIDs() {
		if known == id {
			return nil, forgebridge.Errorf(forgebridge.EInternal,
				"The keyset cannot decrypt a stored secret made by its key %d: the value was moved to another row or damaged.", id)
		}
	}
	return nil, forgebridge.Errorf(forgebridge.EInternal,
		"The keyset cannot decrypt a stored secret: it was made by key %d, which this keyset does not hold (wrong keyset file?).", id)
}

// Associated data purposes. Each names what the value is and the version of
// the encoding, so a ciphertext of one kind never decrypts as another.
const (
	userTokenPurpose             = "forgebridge/user-token/v1\x00"
	integrationCredentialPurpose = "forgebridge/integration-credential/v1\x00"
	webhookSecretPurpose         = "forgebridge/webhook-secret/v1\x00"
	keysetCheckPurpose           = "forgebridge/keyset-check/v1\x00"
	jiraGrantPurpose             = "forgebridge/jira-grant/v1\x00"
)

// JiraGrantAD is the associated data of a person's Jira OAuth grant.
func JiraGrantAD(userKey string) []byte { return encodeAD(jiraGrantPurpose, userKey) }

// KeysetCheckAD is the associated data of the database's keyset check value.
func KeysetCheckAD() []byte { return encodeAD(keysetCheckPurpose) }

// WebhookSecretAD is the associated data of an integration's webhook secret.
func WebhookSecretAD(integrationID string) []byte {
	return encodeAD(webhookSecretPurpose, integrationID)
}

// UserTokenAD is the associated data of a user's token for an integration.
func UserTokenAD(userKey, integrationID string) []byte {
	return encodeAD(userTokenPurpose, userKey, integrationID)
}

// IntegrationCredentialAD is the associated data of an integration's service
// credential.
func IntegrationCredentialAD(integrationID string) []byte {
	return encodeAD(integrationCredentialPurpose, integrationID)
}

// encodeAD writes the purpose, then each part preceded by its length as a
// 4-byte big-endian number: parts may hold any byte, and no two different
// lists of parts encode alike.
func encodeAD(purpose string, parts ...string) []byte {
	n := len(purpose)
	for _, p := range parts {
		n += 4 + len(p)
	}
	b := make([]byte, 0, n)
	b = append(b, purpose...)
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}
