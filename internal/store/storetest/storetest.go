// Package storetest opens throwaway stores for tests: an SQLite file in a
// temporary directory or a fresh PostgreSQL database, dropped afterwards,
// with an in-memory AES-GCM cipher when the test brings none.
package storetest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
)

// PostgresEnv names the variable holding the URL of a PostgreSQL server
// where tests may create and drop databases.
const PostgresEnv = "FORGEBRIDGE_TEST_POSTGRES"

// DefaultPostgresURL is used when PostgresEnv is not set.
const DefaultPostgresURL = "postgres://root@127.0.0.1:5432/postgres?sslmode=disable"

// Backend opens a store of one kind for a test.
type Backend struct {
	Name string // "sqlite" or "postgres"
	Open func(t testing.TB, c fb.Cipher) *store.Store
}

// Backends are every kind of store, for suites that run on each.
func Backends() []Backend {
	return []Backend{{store.SQLite, OpenSQLite}, {store.Postgres, OpenPostgres}}
}

// OpenSQLite opens a store on a new SQLite file in a temporary directory,
// closed when the test ends. A nil cipher is replaced by NewCipher().
func OpenSQLite(t testing.TB, c fb.Cipher) *store.Store {
	t.Helper()
	if c == nil {
		c = NewCipher()
	}
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "forgebridge.db"), c)
	if err != nil {
		t.Fatalf("opening an SQLite store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// OpenPostgres creates a database with a random name on the server named by
// FORGEBRIDGE_TEST_POSTGRES (DefaultPostgresURL when unset), opens a store on
// it, and drops it when the test ends. It skips the test when the server
// cannot be reached, unless CI=true, where it fails it. A nil cipher is
// replaced by NewCipher().
func OpenPostgres(t testing.TB, c fb.Cipher) *store.Store {
	t.Helper()
	if c == nil {
		c = NewCipher()
	}
	dsn := NewPostgresDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, dsn, c)
	if err != nil {
		t.Fatalf("opening a PostgreSQL store: %v", err)
	}
	// Registered after the drop, so it runs before it.
	t.Cleanup(func() { s.Close() })
	return s
}

// NewPostgresDatabase creates an empty database with a random name on the
// test server, dropped when the test ends, and returns its URL. It skips
// as OpenPostgres does.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	admin, u := connectPostgres(t)
	name := "forgebridge_test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("creating test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends connections a failed test left open (PostgreSQL 13+).
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
		admin.Close()
	})
	u.Path = "/" + name
	return u.String()
}

// connectPostgres connects to the test server's maintenance database.
func connectPostgres(t testing.TB) (*sql.DB, *url.URL) {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		dsn = DefaultPostgresURL
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", PostgresEnv)
	}
	unreachable := func(err error) {
		unreachableMu.Lock()
		unreachableErr[dsn] = err
		unreachableMu.Unlock()
		msg := "PostgreSQL at %s (from %s) is not reachable: %v; start one or point %s at one to run the PostgreSQL tests"
		if os.Getenv("CI") == "true" {
			t.Fatalf(msg, u.Redacted(), PostgresEnv, err, PostgresEnv)
		}
		t.Skipf(msg, u.Redacted(), PostgresEnv, err, PostgresEnv)
	}
	unreachableMu.Lock()
	known := unreachableErr[dsn]
	unreachableMu.Unlock()
	if known != nil {
		unreachable(known) // once is enough to wait for a server that is not there
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		unreachable(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		unreachable(err)
	}
	return db, u
}

// unreachableErr remembers, by URL, the servers a test could not reach.
var (
	unreachableMu  sync.Mutex
	unreachableErr = map[string]error{}
)

// Cipher is an AES-256-GCM fb.Cipher for tests. Each ciphertext starts with
// the id of its key, so keys can rotate as they do in production.
type Cipher struct {
	mu      sync.RWMutex
	keys    map[byte]cipher.AEAD
	primary byte
}

// NewCipher returns a Cipher with one random key.
func NewCipher() *Cipher {
	c := &Cipher{keys: map[byte]cipher.AEAD{}}
	c.RotateKey()
	return c
}

// RotateKey adds a new random key and makes it the one that encrypts; the
// others still decrypt.
func (c *Cipher) RotateKey() {
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.primary++
	c.keys[c.primary] = aead
}

// RetireOldKeys forgets every key but the one that encrypts.
func (c *Cipher) RetireOldKeys() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.keys {
		if id != c.primary {
			delete(c.keys, id)
		}
	}
}

// Encrypt seals plaintext bound to associatedData: key id, nonce, sealed box.
func (c *Cipher) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	aead := c.keys[c.primary]
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = c.primary
	rand.Read(out[1:])
	return aead.Seal(out, out[1:], plaintext, associatedData), nil
}

// Decrypt opens what Encrypt sealed with the same associated data.
func (c *Cipher) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(ciphertext) < 1 {
		return nil, errors.New("storetest: ciphertext too short")
	}
	aead, ok := c.keys[ciphertext[0]]
	if !ok {
		return nil, errors.New("storetest: unknown key")
	}
	if len(ciphertext) < 1+aead.NonceSize() {
		return nil, errors.New("storetest: ciphertext too short")
	}
	nonce, box := ciphertext[1:1+aead.NonceSize()], ciphertext[1+aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, box, associatedData)
	if err != nil {
		return nil, errors.New("storetest: message authentication failed")
	}
	return plain, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
