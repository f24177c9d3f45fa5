package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
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
