package store_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestJiraGrants is a grant's life on each database: kept sealed and bound
// to its person, replaced, refreshed under a lock that lets one of many
// concurrent refreshers rotate it, and dropped.
func TestJiraGrants(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t, nil)
			ctx := context.Background()
			expires := time.Date(2026, 12, 3, 5, 0, 0, 0, time.UTC)

			if _, err := s.JiraGrant(ctx, "JIRAUSER1"); fb.ErrorCode(err) != fb.ENotFound {
				t.Fatalf("JiraGrant before any: %v, want not_found", err)
			}
			for _, bad := range []fb.JiraGrant{
				{AccessToken: "a", RefreshToken: "r"},
				{UserKey: "JIRAUSER1", RefreshToken: "r"},
				{UserKey: "JIRAUSER1", AccessToken: "a"},
			} {
				if err := s.PutJiraGrant(ctx, &bad); fb.ErrorCode(err) != fb.EInvalid {
					t.Errorf("PutJiraGrant(%+v) = %v, want invalid_request", bad, err)
				}
			}

			alice := fb.JiraGrant{UserKey: "JIRAUSER1", AccessToken: "alice-access-1", RefreshToken: "alice-refresh-1",
				ExpiresAt: expires, Scope: "WRITE", RedirectURI: "https://fb.example/login/jira/callback"}
			bob := fb.JiraGrant{UserKey: "JIRAUSER2", AccessToken: "bob-access-1", RefreshToken: "bob-refresh-1",
				ExpiresAt: expires, Scope: "WRITE", RedirectURI: "https://fb.example/login/jira/callback"}
			must(t, s.PutJiraGrant(ctx, &alice))
			must(t, s.PutJiraGrant(ctx, &bob))
			got, err := s.JiraGrant(ctx, "JIRAUSER1")
			must(t, err)
			deepEqual(t, "alice's grant", got, alice)

			// The tokens are sealed: neither is in the table in clear.
			var raw []byte
			must(t, s.DB().QueryRowContext(ctx, rebindFor(s.Dialect(), `SELECT tokens FROM jira_grants WHERE user_key = ?`), "JIRAUSER1").Scan(&raw))
			if bytes.Contains(raw, []byte("alice-access-1")) || bytes.Contains(raw, []byte("alice-refresh-1")) {
				t.Fatal("a token is stored in clear")
			}
			if n, err := s.CheckSecrets(ctx); err != nil || n != 2 {
				t.Fatalf("CheckSecrets = %d, %v; want the 2 grants", n, err)
			}
			if n, err := s.ReencryptSecrets(ctx); err != nil || n != 2 {
				t.Fatalf("ReencryptSecrets = %d, %v; want the 2 grants", n, err)
			}

			// Signing in again replaces the grant and keeps when it was first given.
			again := alice
			again.AccessToken, again.RefreshToken = "alice-access-2", "alice-refresh-2"
			must(t, s.PutJiraGrant(ctx, &again))
			got, err = s.JiraGrant(ctx, "JIRAUSER1")
			must(t, err)
			if got.AccessToken != "alice-access-2" || got.RefreshToken != "alice-refresh-2" || !got.CreatedAt.Equal(alice.CreatedAt) {
				t.Fatalf("after signing in again: %+v", got)
			}

			// A refresh: change sees the stored grant and its result is stored.
			refreshed, err := s.UpdateJiraGrant(ctx, "JIRAUSER1", func(g fb.JiraGrant) (*fb.JiraGrant, error) {
				if g.RefreshToken != "alice-refresh-2" {
					t.Errorf("change saw refresh token %q", g.RefreshToken)
				}
				g.AccessToken, g.RefreshToken, g.ExpiresAt = "alice-access-3", "alice-refresh-3", expires.Add(time.Hour)
				return &g, nil
			})
			must(t, err)
			got, err = s.JiraGrant(ctx, "JIRAUSER1")
			must(t, err)
			deepEqual(t, "refreshed grant", got, refreshed)
			if got.RefreshToken != "alice-refresh-3" || !got.ExpiresAt.Equal(expires.Add(time.Hour)) {
				t.Fatalf("refreshed grant: %+v", got)
			}

			// An error from change writes nothing.
			_, err = s.UpdateJiraGrant(ctx, "JIRAUSER1", func(g fb.JiraGrant) (*fb.JiraGrant, error) {
				return nil, fb.Errorf(fb.ETrackerUnavailable, "Jira is down")
			})
			if fb.ErrorCode(err) != fb.ETrackerUnavailable {
				t.Fatalf("UpdateJiraGrant with a failing change = %v", err)
			}
			got, err = s.JiraGrant(ctx, "JIRAUSER1")
			must(t, err)
			if got.RefreshToken != "alice-refresh-3" {
				t.Fatalf("a failed change wrote: %+v", got)
			}
			if _, err := s.UpdateJiraGrant(ctx, "nobody", func(g fb.JiraGrant) (*fb.JiraGrant, error) {
				t.Error("change called without a grant")
				return &g, nil
			}); fb.ErrorCode(err) != fb.ENotFound {
				t.Fatalf("UpdateJiraGrant of nobody = %v, want not_found", err)
			}

			// The sealed value is bound to its row: bob's moved to alice's row does not open.
			_, err = s.DB().ExecContext(ctx, rebindFor(s.Dialect(),
				`UPDATE jira_grants SET tokens = (SELECT tokens FROM jira_grants WHERE user_key = ?) WHERE user_key = ?`), "JIRAUSER2", "JIRAUSER1")
			must(t, err)
			if _, err := s.JiraGrant(ctx, "JIRAUSER1"); fb.ErrorCode(err) != fb.EInternal {
				t.Fatalf("bob's tokens in alice's row: %v, want internal", err)
			}
			must(t, s.PutJiraGrant(ctx, &alice))

			// Returning nil from change drops the grant (invalid_grant).
			dropped, err := s.UpdateJiraGrant(ctx, "JIRAUSER1", func(fb.JiraGrant) (*fb.JiraGrant, error) { return nil, nil })
			must(t, err)
			if dropped.UserKey != "" {
				t.Fatalf("UpdateJiraGrant returned %+v after dropping", dropped)
			}
			if _, err := s.JiraGrant(ctx, "JIRAUSER1"); fb.ErrorCode(err) != fb.ENotFound {
				t.Fatalf("grant after dropping: %v", err)
			}

			// Sign-out drops it; dropping none is fine.
			must(t, s.DeleteJiraGrant(ctx, "JIRAUSER2"))
			must(t, s.DeleteJiraGrant(ctx, "JIRAUSER2"))
			if _, err := s.JiraGrant(ctx, "JIRAUSER2"); fb.ErrorCode(err) != fb.ENotFound {
				t.Fatalf("grant after sign-out: %v", err)
			}
		})
	}
}

// TestJiraGrantRefreshRace: of many callers (two stores stand for two
// instances on one database) that find the same access token stale at
// once, exactly one rotates the refresh token; the others see its result.
func TestJiraGrantRefreshRace(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dsn := filepath.Join(t.TempDir(), "forgebridge.db")
			if dialect == store.Postgres {
				dsn = storetest.NewPostgresDatabase(t)
			}
			c := storetest.NewCipher()
			instances := make([]*store.Store, 2)
			for i := range instances {
				st, err := store.Open(ctx, dsn, c)
				must(t, err)
				t.Cleanup(func() { st.Close() })
				instances[i] = st
			}
			s := instances[0]
			g := fb.JiraGrant{UserKey: "JIRAUSER1", AccessToken: "stale", RefreshToken: "refresh-0",
				ExpiresAt: time.Now().Add(-time.Minute), Scope: "WRITE", RedirectURI: "https://fb.example/cb"}
			must(t, s.PutJiraGrant(ctx, &g))

			var rotations atomic.Int32
			const callers = 8
			var wg sync.WaitGroup
			tokens := make([]string, callers)
			errs := make([]error, callers)
			for i := range callers {
				wg.Go(func() {
					out, err := instances[i%2].UpdateJiraGrant(ctx, "JIRAUSER1", func(cur fb.JiraGrant) (*fb.JiraGrant, error) {
						if cur.AccessToken != "stale" {
							return &cur, nil // another caller refreshed it meanwhile
						}
						n := rotations.Add(1)
						cur.AccessToken, cur.RefreshToken = fmt.Sprintf("fresh-%d", n), fmt.Sprintf("refresh-%d", n)
						cur.ExpiresAt = time.Now().Add(time.Hour)
						return &cur, nil
					})
					tokens[i], errs[i] = out.AccessToken, err
				})
			}
			wg.Wait()
			for i := range callers {
				if errs[i] != nil || tokens[i] != "fresh-1" {
					t.Errorf("caller %d: %q, %v; want fresh-1", i, tokens[i], errs[i])
				}
			}
			if n := rotations.Load(); n != 1 {
				t.Fatalf("%d rotations, want 1", n)
			}
		})
	}
}

// rebindFor turns ? placeholders into PostgreSQL's $n.
func rebindFor(dialect, q string) string {
	if dialect != "postgres" {
		return q
	}
	var out []byte
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = append(out, fmt.Sprintf("$%d", n)...)
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}

// TestJiraGrantRefreshKeepsWritesGoing: on SQLite, a refresh waiting for
// Jira (up to its timeout) does not hold the database's write lock: other
// writes go on meanwhile. A grant replaced while the refresh ran (a new
// sign-in) is kept rather than overwritten.
func TestJiraGrantRefreshKeepsWritesGoing(t *testing.T) {
	ctx := context.Background()
	s := storetest.OpenSQLite(t, nil)
	g := fb.JiraGrant{UserKey: "JIRAUSER1", AccessToken: "stale", RefreshToken: "refresh-0",
		ExpiresAt: time.Now().Add(-time.Minute), Scope: "WRITE", RedirectURI: "https://fb.example/cb"}
	must(t, s.PutJiraGrant(ctx, &g))
	out, err := s.UpdateJiraGrant(ctx, "JIRAUSER1", func(cur fb.JiraGrant) (*fb.JiraGrant, error) {
		// While "Jira" answers: another person's sign-in, and this
		// person's own new sign-in, are written.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		other := fb.JiraGrant{UserKey: "JIRAUSER2", AccessToken: "a2", RefreshToken: "r2",
			ExpiresAt: time.Now().Add(time.Hour), Scope: "WRITE"}
		if err := s.PutJiraGrant(wctx, &other); err != nil {
			t.Errorf("a write while a refresh waits for Jira: %v", err)
		}
		again := g
		again.AccessToken, again.RefreshToken, again.ExpiresAt = "signed-in-again", "refresh-new", time.Now().Add(time.Hour)
		if err := s.PutJiraGrant(wctx, &again); err != nil {
			t.Errorf("a sign-in while a refresh waits for Jira: %v", err)
		}
		cur.AccessToken, cur.RefreshToken = "refreshed", "refresh-1"
		return &cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := s.JiraGrant(ctx, "JIRAUSER1")
	must(t, err)
	if out.AccessToken != "signed-in-again" || kept.RefreshToken != "refresh-new" {
		t.Fatalf("answered %q, kept %q: the newer sign-in must stay", out.AccessToken, kept.RefreshToken)
	}
}

// TestJiraGrantRefreshOutlivesItsCaller: a caller that gives up once Jira
// has rotated the refresh token (a job stopped at shutdown) still has the
// new tokens stored: the old refresh token is good for nothing any more.
func TestJiraGrantRefreshOutlivesItsCaller(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "forgebridge.db")
			if dialect == store.Postgres {
				dsn = storetest.NewPostgresDatabase(t)
			}
			s, err := store.Open(context.Background(), dsn, storetest.NewCipher())
			must(t, err)
			t.Cleanup(func() { s.Close() })
			g := fb.JiraGrant{UserKey: "JIRAUSER1", AccessToken: "stale", RefreshToken: "refresh-0",
				ExpiresAt: time.Now().Add(-time.Minute), Scope: "WRITE", RedirectURI: "https://fb.example/cb"}
			must(t, s.PutJiraGrant(context.Background(), &g))
			ctx, cancel := context.WithCancel(context.Background())
			_, _ = s.UpdateJiraGrant(ctx, "JIRAUSER1", func(cur fb.JiraGrant) (*fb.JiraGrant, error) {
				cur.AccessToken, cur.RefreshToken = "fresh", "refresh-1" // Jira has rotated it
				cancel()                                                 // and the caller gives up
				return &cur, nil
			})
			kept, err := s.JiraGrant(context.Background(), "JIRAUSER1")
			must(t, err)
			if kept.RefreshToken != "refresh-1" {
				t.Fatalf("kept refresh token %q: the rotated one was lost with the caller", kept.RefreshToken)
			}
		})
	}
}
