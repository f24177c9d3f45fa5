package storetest

import (
	"context"
	"testing"
	"time"
)

// PostgresDatabase creates an empty PostgreSQL database with a random name
// for a test that opens it itself (as a forgebridge process would), and
// drops it when the test ends. It skips the test as OpenPostgres does.
func PostgresDatabase(t testing.TB) (dsn string) {
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
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
		admin.Close()
	})
	u.Path = "/" + name
	return u.String()
}
