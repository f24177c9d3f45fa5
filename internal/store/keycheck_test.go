package store_test

import (
	"context"
	"path/filepath"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/secret"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// sharedDatabases name one database of each kind that several stores open.
var sharedDatabases = map[string]func(t *testing.T) string{
	store.SQLite:   func(t *testing.T) string { return filepath.Join(t.TempDir(), "shared.db") },
	store.Postgres: func(t *testing.T) string { return storetest.PostgresDatabase(t) },
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
