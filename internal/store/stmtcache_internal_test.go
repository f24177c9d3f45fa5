package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestCloseWhileAConnectionIsHeld checks that Close does not wait for a
// statement being prepared in the background when the connection it waits
// for is held (here, the writer's one connection by an open transaction).
func TestCloseWhileAConnectionIsHeld(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "forgebridge.db"), testCipher{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := s.wdb.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	s.wstmts.get("SELECT 41 + 1") // a new query: prepared in the background, waiting for the connection
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for a prepare that waits for a held connection")
	}
}

// testCipher seals nothing: this test stores no secret (storetest's
// cipher would import this package).
type testCipher struct{}

func (testCipher) Encrypt(p, _ []byte) ([]byte, error) { return append([]byte(nil), p...), nil }
func (testCipher) Decrypt(c, _ []byte) ([]byte, error) { return append([]byte(nil), c...), nil }
