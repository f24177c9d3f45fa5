package secret

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/forgebridge/forgebridge"
)

func TestParseSharesTheFileKeyset(t *testing.T) {
	k, path := openNew(t)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env, err := Parse(raw, "FORGEBRIDGE_KEYSET_JSON")
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := k.Encrypt([]byte("tok"), []byte("ad"))
	if pt, err := env.Decrypt(ct, []byte("ad")); err != nil || string(pt) != "tok" {
		t.Fatalf("the same keyset from JSON: %q %v", pt, err)
	}
	if _, err := Parse([]byte(`{"key":`), "FORGEBRIDGE_KEYSET_JSON"); err == nil ||
		!strings.Contains(forgebridge.ErrorMessage(err), "FORGEBRIDGE_KEYSET_JSON is not a valid") {
		t.Fatalf("Parse of broken JSON: %v", err)
	}
}

func TestReloader(t *testing.T) {
	ctx := context.Background()
	inUse, path := openNew(t)
	writer, err := Open(path, false) // what `keys rotate` does, in another process
	if err != nil {
		t.Fatal(err)
	}
	changes := 0
	refuse := error(nil)
	r := &Reloader{Keyset: inUse, Path: path, Changed: func() { changes++ },
		Verify: func(ctx context.Context, cand *Keyset) error { return refuse }}
	if changed, err := r.Reload(ctx); err != nil || changed {
		t.Fatalf("Reload of an unchanged file: %v %v", changed, err)
	}
	id, err := writer.Rotate(path)
	if err != nil {
		t.Fatal(err)
	}
	refuse = errors.New("not this database's keyset")
	if changed, err := r.Reload(ctx); err == nil || changed || inUse.PrimaryKeyID() == id {
		t.Fatalf("Reload of a keyset Verify refuses: %v %v", changed, err)
	}
	refuse = nil
	if changed, err := r.Reload(ctx); err != nil || !changed || inUse.PrimaryKeyID() != id || changes != 1 {
		t.Fatalf("Reload after a rotation: %v %v, primary %d want %d, %d changes", changed, err, inUse.PrimaryKeyID(), id, changes)
	}

	// A value sealed by a key this keyset lacks makes it read the file again.
	lagging, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	(&Reloader{Keyset: lagging, Path: path}).Install()
	if _, err := writer.Rotate(path); err != nil {
		t.Fatal(err)
	}
	ct, _ := writer.Encrypt([]byte("tok"), []byte("ad"))
	if pt, err := lagging.Decrypt(ct, []byte("ad")); err != nil || string(pt) != "tok" {
		t.Fatalf("Decrypt of a value of a newer key: %q %v", pt, err)
	}
}

func TestRetire(t *testing.T) {
	k, path := openNew(t)
	first := k.PrimaryKeyID()
	old, _ := k.Encrypt([]byte("old"), nil)
	second, err := k.Rotate(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Retire(path, second); err == nil || !strings.Contains(forgebridge.ErrorMessage(err), "primary") {
		t.Fatalf("Retire of the primary key: %v", err)
	}
	if err := k.Retire(path, 7); err == nil || !strings.Contains(forgebridge.ErrorMessage(err), "no key 7") {
		t.Fatalf("Retire of an unknown key: %v", err)
	}
	if err := k.Retire(path, first); err != nil {
		t.Fatal(err)
	}
	reopened, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if ids := reopened.KeyIDs(); len(ids) != 1 || ids[0] != second {
		t.Fatalf("keys after retiring %d: %v", first, ids)
	}
	if _, err := reopened.Decrypt(old, nil); err == nil {
		t.Fatal("a retired key still decrypts")
	}
}
