package secret

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/forgebridge/forgebridge"
)

// openNew creates a keyset file in a fresh directory and returns both.
func openNew(t *testing.T) (*Keyset, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "keyset.json")
	k, err := Open(path, true)
	if err != nil {
		t.Fatalf("Open(create): %v", err)
	}
	return k, path
}

func keyIDOf(t *testing.T, ct []byte) uint32 {
	t.Helper()
	if len(ct) < 5 || ct[0] != 0x01 {
		t.Fatalf("ciphertext has no TINK prefix: % x", ct[:min(len(ct), 5)])
	}
	return binary.BigEndian.Uint32(ct[1:5])
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}

func TestEncryptDecrypt(t *testing.T) {
	k, _ := openNew(t)
	other, _ := openNew(t)
	token := []byte("glpat-abcdefghijklmnopqrstuvwxyz0123456789")
	ad := UserTokenAD("alice", "int-1")
	ct, err := k.Encrypt(token, ad)
	if err != nil {
		t.Fatal(err)
	}
	if id := keyIDOf(t, ct); id != k.PrimaryKeyID() {
		t.Errorf("ciphertext key id = %d, want primary %d", id, k.PrimaryKeyID())
	}
	if bytes.Contains(ct, token) || bytes.Contains(ct, token[:8]) {
		t.Error("ciphertext contains the plaintext")
	}
	tampered := bytes.Clone(ct)
	tampered[len(tampered)-1] ^= 0x01

	tests := []struct {
		name    string
		cipher  *Keyset
		ct, ad  []byte
		wantErr string // "" means success
	}{
		{"round trip", k, ct, ad, ""},
		{"other user", k, ct, UserTokenAD("bob", "int-1"), "moved to another row"},
		{"other integration", k, ct, UserTokenAD("alice", "int-2"), "moved to another row"},
		{"integration credential AD", k, ct, IntegrationCredentialAD("int-1"), "moved to another row"},
		{"no AD", k, ct, nil, "moved to another row"},
		{"other keyset", other, ct, ad, "does not hold"},
		{"tampered", k, tampered, ad, "moved to another row or damaged"},
		{"truncated", k, ct[:3], ad, "not a forgebridge ciphertext"},
		{"plaintext stored", k, token, ad, "not a forgebridge ciphertext"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.cipher.Decrypt(tt.ct, tt.ad)
			if tt.wantErr == "" {
				if err != nil || !bytes.Equal(pt, token) {
					t.Fatalf("Decrypt = %q, %v; want the token", pt, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decrypt succeeded, want an error containing %q", tt.wantErr)
			}
			if pt != nil {
				t.Errorf("Decrypt returned %q with its error", pt)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), string(token)) {
				t.Errorf("error %q: want it to contain %q and not the token", err, tt.wantErr)
			}
			if forgebridge.ErrorCode(err) != forgebridge.EInternal {
				t.Errorf("code = %q, want %q", forgebridge.ErrorCode(err), forgebridge.EInternal)
			}
		})
	}
}

func TestEncryptIsRandomised(t *testing.T) {
	k, _ := openNew(t)
	a, _ := k.Encrypt([]byte("same"), nil)
	b, _ := k.Encrypt([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Error("two encryptions of one value are equal; the nonce is not random")
	}
}

func TestCreateAndReopen(t *testing.T) {
	k, path := openNew(t)
	wantMode(t, path, 0o600)
	wantMode(t, filepath.Dir(path), 0o700)
	if got := k.KeyIDs(); len(got) != 1 || got[0] != k.PrimaryKeyID() {
		t.Errorf("KeyIDs = %v, want just the primary %d", got, k.PrimaryKeyID())
	}
	ct, err := k.Encrypt([]byte("secret"), IntegrationCredentialAD("i"))
	if err != nil {
		t.Fatal(err)
	}

	for _, create := range []bool{false, true} {
		again, err := Open(path, create)
		if err != nil {
			t.Fatalf("reopen (create=%v): %v", create, err)
		}
		if !slices.Equal(again.KeyIDs(), k.KeyIDs()) || again.PrimaryKeyID() != k.PrimaryKeyID() {
			t.Errorf("reopen (create=%v): keys %v primary %d, want %v primary %d",
				create, again.KeyIDs(), again.PrimaryKeyID(), k.KeyIDs(), k.PrimaryKeyID())
		}
		if pt, err := again.Decrypt(ct, IntegrationCredentialAD("i")); err != nil || string(pt) != "secret" {
			t.Errorf("reopen (create=%v): Decrypt = %q, %v", create, pt, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("data directory holds %d entries, want only the keyset (no temp files)", len(entries))
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is subject to umask
			t.Fatal(err)
		}
		return p
	}
	_, valid := openNew(t)
	validJSON, err := os.ReadFile(valid)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Key []struct{ KeyData struct{ Value string } }
	}
	if err := json.Unmarshal(validJSON, &parsed); err != nil || len(parsed.Key) != 1 {
		t.Fatalf("keyset file is not the expected JSON: %v", err)
	}
	keyValue := parsed.Key[0].KeyData.Value
	// A keyset with a key of another kind: AES128-GCM instead of AES256-GCM.
	aes128 := `{"primaryKeyId":42,"key":[{"keyData":{"typeUrl":"type.googleapis.com/google.crypto.tink.AesGcmKey",` +
		`"value":"GhAAAQIDBAUGBwgJCgsMDQ4P","keyMaterialType":"SYMMETRIC"},"status":"ENABLED","keyId":42,"outputPrefixType":"TINK"}]}`

	tests := []struct {
		name     string
		path     string
		code     forgebridge.Code
		wantText string
	}{
		{"missing", filepath.Join(dir, "nope.json"), forgebridge.ENotFound, "does not exist"},
		{"empty", write("empty.json", "", 0o600), forgebridge.EInvalid, "not a valid Tink JSON keyset"},
		{"not JSON", write("garbage.json", "primaryKeyId: 1", 0o600), forgebridge.EInvalid, "not a valid Tink JSON keyset"},
		{"truncated", write("trunc.json", string(validJSON[:len(validJSON)/2]), 0o600), forgebridge.EInvalid, "not a valid Tink JSON keyset"},
		{"other key kind", write("aes128.json", aes128, 0o600), forgebridge.EInvalid, "not AES256-GCM"},
		{"group readable", write("group.json", string(validJSON), 0o640), forgebridge.EInvalid, "chmod 600"},
		{"world readable", write("world.json", string(validJSON), 0o604), forgebridge.EInvalid, "chmod 600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Open(tt.path, false)
			if err == nil {
				t.Fatalf("Open = %v, want an error", k)
			}
			if forgebridge.ErrorCode(err) != tt.code || !strings.Contains(forgebridge.ErrorMessage(err), tt.wantText) {
				t.Errorf("error %q (code %s), want code %s and message containing %q",
					err, forgebridge.ErrorCode(err), tt.code, tt.wantText)
			}
			if strings.Contains(err.Error(), keyValue) || strings.Contains(err.Error(), "AAECAwQF") {
				t.Errorf("error %q quotes key material", err)
			}
		})
	}
}

func TestRotate(t *testing.T) {
	k, path := openNew(t)
	oldID := k.PrimaryKeyID()
	ad := UserTokenAD("alice", "int-1")
	oldCT, err := k.Encrypt([]byte("old token"), ad)
	if err != nil {
		t.Fatal(err)
	}

	newID, err := k.Rotate(path)
	if err != nil {
		t.Fatal(err)
	}
	wantMode(t, path, 0o600)
	if newID == oldID || k.PrimaryKeyID() != newID {
		t.Fatalf("Rotate = %d, primary %d, old %d: want a new primary", newID, k.PrimaryKeyID(), oldID)
	}
	if got := k.KeyIDs(); !slices.Equal(got, []uint32{oldID, newID}) {
		t.Errorf("KeyIDs = %v, want [%d %d]", got, oldID, newID)
	}
	newCT, err := k.Encrypt([]byte("new token"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if id := keyIDOf(t, newCT); id != newID {
		t.Errorf("new ciphertext key id = %d, want %d", id, newID)
	}

	reopened, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cipher *Keyset
		ct     []byte
		want   string
	}{
		{"old ciphertext, same keyset", k, oldCT, "old token"},
		{"new ciphertext, same keyset", k, newCT, "new token"},
		{"old ciphertext, reopened", reopened, oldCT, "old token"},
		{"new ciphertext, reopened", reopened, newCT, "new token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.cipher.Decrypt(tt.ct, ad)
			if err != nil || string(pt) != tt.want {
				t.Errorf("Decrypt = %q, %v; want %q", pt, err, tt.want)
			}
		})
	}
}

func TestRotateFailureKeepsKeyset(t *testing.T) {
	k, _ := openNew(t)
	before := k.KeyIDs()
	if _, err := k.Rotate(filepath.Join(t.TempDir(), "missing-dir", "keyset.json")); err == nil {
		t.Fatal("Rotate into a missing directory succeeded")
	}
	if !slices.Equal(k.KeyIDs(), before) {
		t.Errorf("after a failed Rotate KeyIDs = %v, want %v", k.KeyIDs(), before)
	}
}

func TestConcurrentUse(t *testing.T) {
	k, path := openNew(t)
	ad := IntegrationCredentialAD("int-1")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				ct, err := k.Encrypt([]byte("v"), ad)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := k.Decrypt(ct, ad); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 3 {
			if _, err := k.Rotate(path); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if n := len(k.KeyIDs()); n != 4 {
		t.Errorf("%d keys after 3 rotations, want 4", n)
	}
}

func TestAssociatedDataIsInjective(t *testing.T) {
	ads := []struct {
		name string
		ad   []byte
	}{
		{`user("a:b","c")`, UserTokenAD("a:b", "c")},
		{`user("a","b:c")`, UserTokenAD("a", "b:c")},
		{`user("ab","")`, UserTokenAD("ab", "")},
		{`user("a","b")`, UserTokenAD("a", "b")},
		{`user("","ab")`, UserTokenAD("", "ab")},
		{`user("a\x00\x00\x00\x01b","")`, UserTokenAD("a\x00\x00\x00\x01b", "")},
		{`user("","")`, UserTokenAD("", "")},
		{`integration("a")`, IntegrationCredentialAD("a")},
		{`integration("")`, IntegrationCredentialAD("")},
	}
	seen := map[string]string{}
	for _, a := range ads {
		if prev, ok := seen[string(a.ad)]; ok {
			t.Errorf("%s and %s encode alike: %q", prev, a.name, a.ad)
		}
		seen[string(a.ad)] = a.name
	}
	if got := UserTokenAD("alice", "i1"); !bytes.HasPrefix(got, []byte("forgebridge/user-token/v1")) {
		t.Errorf("UserTokenAD = %q, want the purpose prefix", got)
	}
	if got := IntegrationCredentialAD("i1"); !bytes.HasPrefix(got, []byte("forgebridge/integration-credential/v1")) {
		t.Errorf("IntegrationCredentialAD = %q, want the purpose prefix", got)
	}
}

func BenchmarkEncryptDecryptToken(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keyset.json")
	k, err := Open(path, true)
	if err != nil {
		b.Fatal(err)
	}
	token := bytes.Repeat([]byte("t"), 40)
	ad := UserTokenAD("alice@example.com", "0192f0c4-7d1e-7b3a-9c2d-5e6f7a8b9c0d")
	b.ReportAllocs()
	for b.Loop() {
		ct, err := k.Encrypt(token, ad)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k.Decrypt(ct, ad); err != nil {
			b.Fatal(err)
		}
	}
}

// Processes starting together on a new data directory must end up with one
// keyset: none may overwrite a keyset another has begun to use.
func TestConcurrentCreateAgreesOnOneKeyset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyset.json")
	ids := make([]uint32, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, err := Open(path, true)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.PrimaryKeyID()
		})
	}
	wg.Wait()
	final, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if id != final.PrimaryKeyID() {
			t.Errorf("opener %d uses key %d, the file holds %d", i, id, final.PrimaryKeyID())
		}
	}
}
