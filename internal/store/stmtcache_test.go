package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestPreparedStatements checks that the SQLite store comes to keep a read's
// statement prepared and answers the same through it, writes included.
func TestPreparedStatements(t *testing.T) {
	s := storetest.OpenSQLite(t, nil)
	ctx := t.Context()
	want := fb.Settings{BranchNameTemplate: "${issuekey}-x", BranchNameMaxLength: 80}
	if err := s.UpdateSettings(ctx, want); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.PreparedStatements() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no statement was prepared")
		}
		if _, err := s.Settings(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 3 {
		got, err := s.Settings(ctx)
		if err != nil || got.BranchNameTemplate != want.BranchNameTemplate || got.BranchNameMaxLength != want.BranchNameMaxLength {
			t.Fatalf("settings through a prepared statement: %+v, %v", got, err)
		}
		want.BranchNameMaxLength++
		if err := s.UpdateSettings(ctx, want); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteTurnHonoursContext checks that a write waiting for the SQLite
// store's write turn gives up when its context ends, instead of hanging.
func TestWriteTurnHonoursContext(t *testing.T) {
	s := storetest.OpenSQLite(t, nil)
	release := s.HoldWriter()
	defer release()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.UpdateSettings(ctx, fb.DefaultSettings)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("write while the turn is taken, context canceled: %v, want context.Canceled", err)
	}
}

// TestCloseWaitsForPrepares checks that when Close returns, no connection
// is left open by a statement still being prepared in the background:
// SQLite removes its -wal and -shm files as the last connection closes,
// and one closed later did so while the caller removed the directory.
func TestCloseWaitsForPrepares(t *testing.T) {
	for range 5 {
		dir := t.TempDir()
		s, err := store.Open(t.Context(), filepath.Join(dir, "forgebridge.db"), storetest.NewCipher())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 { // new queries: each starts a prepare
			if _, err := s.ExecRaw(t.Context(), fmt.Sprintf("UPDATE settings SET branch_name_max_length = %d WHERE id = -1", i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "forgebridge.db" {
				t.Fatalf("%s left in the directory after Close: a connection outlived it", e.Name())
			}
		}
	}
}
