package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/secret"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// sharedDatabases name one database of each kind that several stores open.
var sharedDatabases = map[string]func(t *testing.T) string{
	store.SQLite:   func(t *testing.T) string { return filepath.Join(t.TempDir(), "shared.db") },
	store.Postgres: func(t *testing.T) string { return storetest.NewPostgresDatabase(t) },
}

func newKeyset(t *testing.T) *secret.Keyset {
	t.Helper()
	k, err := secret.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openOn(t *testing.T, dsn string, c fb.Cipher) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestKeysetCheck(t *testing.T) {
	ctx := context.Background()
	for name, newDB := range sharedDatabases {
		t.Run(name, func(t *testing.T) {
			dsn := newDB(t)
			mine, theirs := newKeyset(t), newKeyset(t)
			s := openOn(t, dsn, mine)
			if unused, err := s.Unused(ctx); err != nil || !unused {
				t.Fatalf("a new database: unused %v, %v", unused, err)
			}
			if err := s.CheckKeyset(ctx, nil); fb.ErrorCode(err) != fb.ENotFound {
				t.Fatalf("CheckKeyset without a check value: %v, want not_found", err)
			}
			if err := s.EnsureKeysetCheck(ctx); err != nil {
				t.Fatal(err)
			}
			if unused, err := s.Unused(ctx); err != nil || unused {
				t.Fatalf("a database with a check value: unused %v, %v", unused, err)
			}
			if err := s.CheckKeyset(ctx, nil); err != nil {
				t.Fatalf("CheckKeyset with the database's keyset: %v", err)
			}
			if err := s.CheckKeyset(ctx, theirs); fb.ErrorCode(err) != fb.EInvalid {
				t.Fatalf("CheckKeyset with another keyset: %v, want invalid_request", err)
			}
			// A second instance with another keyset, before any secret is stored.
			other := openOn(t, dsn, theirs)
			if err := other.EnsureKeysetCheck(ctx); fb.ErrorCode(err) != fb.EInvalid {
				t.Fatalf("EnsureKeysetCheck with another keyset: %v, want invalid_request", err)
			}
			if stored, err := other.PutKeysetCheck(ctx); err != nil || stored {
				t.Fatalf("PutKeysetCheck over an existing check value: stored %v, %v", stored, err)
			}
			if err := s.CheckKeyset(ctx, nil); err != nil {
				t.Fatalf("the check value changed: %v", err)
			}
		})
	}
}

// TestResealSecrets: after a rotation the stored values move to the new
// primary key in the background; KeyUsage counts them by key, and two
// stores re-sealing at once lose nothing.
func TestResealSecrets(t *testing.T) {
	ctx := context.Background()
	for name, newDB := range sharedDatabases {
		t.Run(name, func(t *testing.T) {
			dsn := newDB(t)
			path := filepath.Join(t.TempDir(), "keyset.json")
			ks, err := secret.Open(path, true)
			if err != nil {
				t.Fatal(err)
			}
			s := openOn(t, dsn, ks)
			if err := s.EnsureKeysetCheck(ctx); err != nil {
				t.Fatal(err)
			}
			const n = 150 // more than one batch
			for i := range n {
				in := fb.Integration{Name: fmt.Sprintf("in-%03d", i), Kind: fb.KindGitHub,
					Credential: fb.Credential{Token: fmt.Sprintf("ghp_%03d", i)}}
				if err := s.CreateIntegration(ctx, &in); err != nil {
					t.Fatal(err)
				}
			}
			old := ks.PrimaryKeyID()
			if use, err := s.KeyUsage(ctx); err != nil || use[old] != n+1 || len(use) != 1 {
				t.Fatalf("KeyUsage before rotating: %v, %v; want %d values under key %d", use, err, n+1, old)
			}
			// Another instance with the same keyset file, not yet reloaded.
			other, err := secret.Open(path, false)
			if err != nil {
				t.Fatal(err)
			}
			s2 := openOn(t, dsn, other)
			primary, err := ks.Rotate(path)
			if err != nil {
				t.Fatal(err)
			}
			if changed, err := (&secret.Reloader{Keyset: other, Path: path}).Reload(ctx); err != nil || !changed {
				t.Fatalf("reloading the rotated file: %v %v", changed, err)
			}
			var wg sync.WaitGroup
			for _, st := range []*store.Store{s, s2} {
				wg.Go(func() {
					if _, err := st.ResealSecrets(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if use, err := s.KeyUsage(ctx); err != nil || use[primary] != n+1 || len(use) != 1 {
				t.Fatalf("KeyUsage after re-sealing: %v, %v; want %d values under key %d", use, err, n+1, primary)
			}
			if again, err := s.ResealSecrets(ctx); err != nil || again != 0 {
				t.Fatalf("a second run re-sealed %d: %v", again, err)
			}
			// Every value opens with the new key alone.
			if err := ks.Retire(path, old); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CheckSecrets(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.CheckKeyset(ctx, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestKeysetCheckForAnOlderDatabase: a database made before the check value
// existed gets one at the first open whose keyset opens every stored
// secret, and none from a keyset that cannot.
func TestKeysetCheckForAnOlderDatabase(t *testing.T) {
	ctx := context.Background()
	for name, newDB := range sharedDatabases {
		t.Run(name, func(t *testing.T) {
			dsn := newDB(t)
			mine := newKeyset(t)
			s := openOn(t, dsn, mine)
			in := fb.Integration{Name: "old", Kind: fb.KindGitHub, Credential: fb.Credential{Token: "ghp_old"}}
			if err := s.CreateIntegration(ctx, &in); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB().ExecContext(ctx, "DELETE FROM keyset_check"); err != nil {
				t.Fatal(err)
			}
			wrong := openOn(t, dsn, newKeyset(t))
			if err := wrong.EnsureKeysetCheck(ctx); err == nil {
				t.Fatal("a keyset that opens no stored secret sealed the check value")
			}
			if _, err := s.KeysetCheck(ctx); fb.ErrorCode(err) != fb.ENotFound {
				t.Fatalf("check value after the refused keyset: %v", err)
			}
			if err := s.EnsureKeysetCheck(ctx); err != nil {
				t.Fatal(err)
			}
			if err := wrong.CheckKeyset(ctx, nil); fb.ErrorCode(err) != fb.EInvalid {
				t.Fatalf("the other keyset against the new check value: %v", err)
			}
		})
	}
}
