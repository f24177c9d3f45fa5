package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// serveOnce runs serve with env and returns its error, for starts that
// must be refused (they return before serving).
func serveOnce(t *testing.T, env map[string]string) error {
	t.Helper()
	var stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] },
			strings.NewReader(""), io.Discard, &stderr)
	}()
	return <-done
}

// databases are the two kinds of database the tests share between
// instances: an SQLite file in a shared directory, or a PostgreSQL database.
func databases(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		store.SQLite:   func(t *testing.T) string { return filepath.Join(t.TempDir(), "shared.db") },
		store.Postgres: func(t *testing.T) string { return storetest.NewPostgresDatabase(t) },
	}
}

func TestKeysetBelongsToTheDatabase(t *testing.T) {
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			dsn := newDB(t)
			first := newProgram(t, map[string]string{"FORGEBRIDGE_DATABASE": dsn})
			// A new database: the first instance makes the keyset and seals
			// the check value, before any token exists.
			first.serve()
			firstKeyset := filepath.Join(first.env["FORGEBRIDGE_DATA"], "keyset.json")
			shared, err := os.ReadFile(firstKeyset)
			if err != nil {
				t.Fatal(err)
			}

			// Another instance with its own data directory and no keyset file:
			// the database is in use, so no keyset is made for it.
			other := newProgram(t, map[string]string{"FORGEBRIDGE_DATABASE": dsn})
			err = serveOnce(t, other.env)
			otherKeyset := filepath.Join(other.env["FORGEBRIDGE_DATA"], "keyset.json")
			if err == nil || !strings.Contains(err.Error(), otherKeyset) || !strings.Contains(err.Error(), "does not exist") {
				t.Fatalf("serve without the keyset file on a database in use: %v", err)
			}
			if _, err := os.Stat(otherKeyset); err == nil {
				t.Fatal("a keyset was generated for a database in use")
			}

			// Another keyset (an installation of its own) is refused by serve
			// and by the administrative commands.
			lone := newProgram(t, nil)
			if _, err := lone.cli("", "migrate", "--create"); err != nil {
				t.Fatal(err)
			}
			otherEnv := map[string]string{"FORGEBRIDGE_DATA": other.env["FORGEBRIDGE_DATA"], "FORGEBRIDGE_DATABASE": dsn,
				"FORGEBRIDGE_KEYSET": filepath.Join(lone.env["FORGEBRIDGE_DATA"], "keyset.json")}
			if err := serveOnce(t, otherEnv); err == nil || !strings.Contains(message(err), "cannot open the check value") {
				t.Fatalf("serve with another keyset: %v", err)
			}
			wrong := &program{t: t, env: otherEnv}
			if _, err := wrong.cli("", "users", "add", "eve", "--admin"); err == nil || !strings.Contains(err.Error(), "check value") {
				t.Fatalf("users add with another keyset: %v", err)
			}

			// The same keyset as JSON in the environment opens it.
			viaEnv := newProgram(t, map[string]string{"FORGEBRIDGE_DATABASE": dsn, keysetJSONEnv: string(shared)})
			token, err := viaEnv.cli("", "users", "add", "alice", "--admin")
			if err != nil {
				t.Fatalf("users add with the keyset in %s: %v", keysetJSONEnv, err)
			}
			viaEnv.serve()
			viaEnv.must(viaEnv.call("GET", "/api/v1/me", strings.TrimSpace(token), nil), 200, "me on the second instance")
			ready := viaEnv.must(viaEnv.call("GET", "/readyz", "", nil), 200, "readyz")
			if ready.str("keyset") != "ok" {
				t.Fatalf("readyz: %s", ready.raw)
			}
			// Rotating needs the file.
			if _, err := viaEnv.cli("", "keys", "rotate"); err == nil || !strings.Contains(err.Error(), keysetJSONEnv) {
				t.Fatalf("keys rotate with the keyset in the environment: %v", err)
			}
			// A file and the JSON together are ambiguous.
			both := map[string]string{"FORGEBRIDGE_DATABASE": dsn, keysetJSONEnv: string(shared), "FORGEBRIDGE_KEYSET": firstKeyset,
				"FORGEBRIDGE_DATA": other.env["FORGEBRIDGE_DATA"]}
			if err := serveOnce(t, both); err == nil || !strings.Contains(err.Error(), "given twice") {
				t.Fatalf("serve with a keyset file and JSON: %v", err)
			}
			viaEnv.shutdown()
			first.shutdown()
		})
	}
}
