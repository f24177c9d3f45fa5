package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// readFixture is a person with an API token, a project and issue, an
// integration with one repository, and the person's permissions.
type readFixture struct {
	hash, repoID string
	integ        fb.Integration
}

func newReadFixture(t *testing.T, s *store.Store) readFixture {
	t.Helper()
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fb.User{Key: "u1", Name: "alice", DisplayName: "Alice", Active: true, Email: "a@x"}, nil))
	tok := fb.APIToken{ID: "t1", Hash: "h1", UserKey: "u1", UserName: "alice", Name: "cli", CreatedAt: at(1)}
	must(t, s.CreateAPIToken(ctx, &tok, nil))
	// Requests are made as an administrator, whose token outlives alice's
	// deactivation.
	must(t, s.CreateUser(ctx, fb.User{Key: "u0", Name: "admin", Admin: true, Active: true}, nil))
	admin := fb.APIToken{ID: "t0", Hash: "h0", UserKey: "u0", UserName: "admin", Name: "cli", CreatedAt: at(1)}
	must(t, s.CreateAPIToken(ctx, &admin, nil))
	must(t, s.CreateProject(ctx, fb.Project{Key: "PROJ", Name: "Project"}, nil))
	must(t, s.CreateIssue(ctx, fb.Issue{Key: "PROJ-1", Summary: "First", Type: "Task", Project: "PROJ"}, nil))
	must(t, s.SetPermissions(ctx, "PROJ", "u1", []string{fb.PermBrowseProjects, fb.PermViewDevTools}, nil))
	repos := []fb.Repository{{ExternalID: "1", Name: "a", FullName: "acme/a", DefaultBranch: "main", WebURL: "https://x/acme/a",
		CanCreateBranch: true}}
	in := fb.Integration{Name: "GH", Kind: fb.KindGitHub, Credential: fb.Credential{Token: "secret-t"},
		Settings: fb.DefaultIntegrationSettings, Projects: []string{"PROJ"}}
	must(t, s.CreateIntegrationWithRepositories(ctx, &in, repos, at(5)))
	must(t, s.PutUserToken(ctx, &fb.UserToken{UserKey: "u1", IntegrationID: in.ID, Credential: fb.Credential{Token: "ghp_alice"},
		Login: "alice-gh", Scopes: []string{"repo"}, Status: fb.TokenValid, CreatedAt: at(6), UpdatedAt: at(6)}))
	return readFixture{hash: "h1", repoID: repos[0].ID, integ: in}
}

// request authenticates as the administrator, as a request does first.
func (f readFixture) request(t *testing.T, s *store.Store) context.Context {
	t.Helper()
	_, ctx, err := s.APITokenForRequest(t.Context(), "h0")
	must(t, err)
	return ctx
}

// reads are the cached reads, as a request makes them.
type reads struct {
	settings fb.Settings
	repo     fb.Repository
	integ    fb.Integration
	issue    fb.Issue
	perms    []string
	user     fb.User
	token    fb.UserToken
	tokenErr error
}

func readAll(t *testing.T, s *store.Store, ctx context.Context, f readFixture) reads {
	t.Helper()
	var r reads
	var err error
	r.settings, err = s.Settings(ctx)
	must(t, err)
	r.repo, r.integ, err = s.RepositoryWithIntegration(ctx, f.repoID)
	must(t, err)
	r.issue, err = s.Issue(ctx, "PROJ-1")
	must(t, err)
	r.perms, err = s.Permissions(ctx, "PROJ", "u1")
	must(t, err)
	r.user, err = s.User(ctx, "u1")
	must(t, err)
	r.token, r.tokenErr = s.UserToken(ctx, "u1", f.integ.ID)
	return r
}

// TestReadCache checks that every change to what the read cache keeps is
// seen by the next request, whether this store or another process on the
// same file (the command line) made it, on both databases.
func TestReadCache(t *testing.T) {
	changes := []struct {
		name   string
		change func(t *testing.T, s *store.Store, f readFixture)
		check  func(t *testing.T, r reads)
	}{
		{"settings", func(t *testing.T, s *store.Store, f readFixture) {
			st := fb.DefaultSettings
			st.RequireUserPATEverywhere = true
			must(t, s.UpdateSettings(t.Context(), st))
		}, func(t *testing.T, r reads) {
			if !r.settings.RequireUserPATEverywhere {
				t.Error("Require User PAT everywhere not seen")
			}
		}},
		{"integration", func(t *testing.T, s *store.Store, f readFixture) {
			in := f.integ
			in.Settings.RequireUserPAT = true
			in.Projects = []string{"PROJ", "OTHER"}
			must(t, s.UpdateIntegration(t.Context(), &in))
		}, func(t *testing.T, r reads) {
			if !r.integ.Settings.RequireUserPAT || len(r.integ.Projects) != 2 {
				t.Errorf("integration change not seen: %+v %v", r.integ.Settings, r.integ.Projects)
			}
		}},
		{"repository", func(t *testing.T, s *store.Store, f readFixture) {
			repos := []fb.Repository{{ExternalID: "1", Name: "a", FullName: "acme/renamed", DefaultBranch: "trunk",
				WebURL: "https://x/acme/renamed"}}
			must(t, s.ReplaceRepositories(t.Context(), f.integ.ID, repos, at(9)))
		}, func(t *testing.T, r reads) {
			if r.repo.FullName != "acme/renamed" || r.repo.DefaultBranch != "trunk" || r.repo.CanCreateBranch {
				t.Errorf("repository change not seen: %+v", r.repo)
			}
		}},
		{"permissions revoked", func(t *testing.T, s *store.Store, f readFixture) {
			must(t, s.SetPermissions(t.Context(), "PROJ", "u1", []string{fb.PermBrowseProjects}, nil))
		}, func(t *testing.T, r reads) {
			if slices.Contains(r.perms, fb.PermViewDevTools) {
				t.Errorf("revoked permission still answered: %v", r.perms)
			}
		}},
	}
	changes = append(changes, []struct {
		name   string
		change func(t *testing.T, s *store.Store, f readFixture)
		check  func(t *testing.T, r reads)
	}{
		{"person deactivated", func(t *testing.T, s *store.Store, f readFixture) {
			inactive := false
			_, err := s.UpdateUser(t.Context(), "u1", fb.UserPatch{Active: &inactive}, nil)
			must(t, err)
		}, func(t *testing.T, r reads) {
			if r.user.Active {
				t.Error("deactivation not seen")
			}
		}},
		{"token replaced", func(t *testing.T, s *store.Store, f readFixture) {
			must(t, s.PutUserToken(t.Context(), &fb.UserToken{UserKey: "u1", IntegrationID: f.integ.ID,
				Credential: fb.Credential{Token: "ghp_alice_new"}, Login: "alice-gh", Status: fb.TokenValid, CreatedAt: at(7), UpdatedAt: at(7)}))
		}, func(t *testing.T, r reads) {
			if r.tokenErr != nil || r.token.Credential.Token != "ghp_alice_new" {
				t.Errorf("replaced token not seen: %q %v", r.token.Credential.Token, r.tokenErr)
			}
		}},
		{"token marked invalid", func(t *testing.T, s *store.Store, f readFixture) {
			tok, err := s.UserToken(t.Context(), "u1", f.integ.ID)
			must(t, err)
			tok.Status, tok.CheckedAt = fb.TokenInvalid, new(at(8))
			must(t, s.RecordTokenCheck(t.Context(), &tok))
		}, func(t *testing.T, r reads) {
			if r.token.Status != fb.TokenInvalid {
				t.Errorf("status = %q, want invalid", r.token.Status)
			}
		}},
		{"token deleted", func(t *testing.T, s *store.Store, f readFixture) {
			must(t, s.DeleteUserToken(t.Context(), "u1", f.integ.ID))
		}, func(t *testing.T, r reads) {
			if fb.ErrorCode(r.tokenErr) != fb.ENotFound {
				t.Errorf("deleted token still answered: %v", r.tokenErr)
			}
		}},
	}...)
	type writer struct {
		name string
		open func(t *testing.T) (reader, writer *store.Store)
	}
	writers := []writer{
		{"sqlite/same-store", func(t *testing.T) (*store.Store, *store.Store) {
			s := storetest.OpenSQLite(t, nil)
			return s, s
		}},
		{"sqlite/another-process", func(t *testing.T) (*store.Store, *store.Store) {
			path, c := filepath.Join(t.TempDir(), "forgebridge.db"), storetest.NewCipher()
			var both [2]*store.Store
			for i := range both {
				s, err := store.Open(context.Background(), path, c)
				must(t, err)
				t.Cleanup(func() { s.Close() })
				both[i] = s
			}
			return both[0], both[1]
		}},
		{"postgres", func(t *testing.T) (*store.Store, *store.Store) {
			s := storetest.OpenPostgres(t, nil)
			return s, s
		}},
	}
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			for _, c := range changes {
				t.Run(c.name, func(t *testing.T) {
					s, other := w.open(t)
					f := newReadFixture(t, s)
					readAll(t, s, f.request(t, s), f)
					readAll(t, s, f.request(t, s), f) // from the cache, on SQLite
					c.change(t, other, f)
					c.check(t, readAll(t, s, f.request(t, s), f))
				})
			}
		})
	}
}

// TestReadCacheReadsOwnWrites checks that a request that changes a row
// reads the change back, although its read epoch is older.
func TestReadCacheReadsOwnWrites(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t, nil)
			f := newReadFixture(t, s)
			ctx := f.request(t, s)
			readAll(t, s, ctx, f)
			st := fb.DefaultSettings
			st.BranchNameMaxLength = 42
			must(t, s.UpdateSettings(ctx, st))
			must(t, s.SetPermissions(ctx, "PROJ", "u1", []string{fb.PermBrowseProjects}, nil))
			r := readAll(t, s, ctx, f)
			if r.settings.BranchNameMaxLength != 42 || slices.Contains(r.perms, fb.PermViewDevTools) {
				t.Errorf("the request's own writes not read back: %+v %v", r.settings, r.perms)
			}
		})
	}
}

// TestReadCacheKeepsCopies checks that a caller changing what it was given
// does not change what the next request is given.
func TestReadCacheKeepsCopies(t *testing.T) {
	s := storetest.OpenSQLite(t, nil)
	f := newReadFixture(t, s)
	first := readAll(t, s, f.request(t, s), f)
	first.integ.Projects[0] = "CHANGED"
	first.perms[0] = "CHANGED"
	first.token.Scopes[0] = "CHANGED"
	second := readAll(t, s, f.request(t, s), f)
	if second.integ.Projects[0] != "PROJ" || slices.Contains(second.perms, "CHANGED") || second.token.Scopes[0] != "repo" {
		t.Errorf("the cache handed out its own rows: %v %v %v", second.integ.Projects, second.perms, second.token.Scopes)
	}
	if second.token.Credential.Token != "ghp_alice" {
		t.Errorf("credential = %q", second.token.Credential.Token)
	}
}

// TestAPITokenForRequest checks that a request's token reads as APIToken
// reads it, and not found for an unknown hash.
func TestAPITokenForRequest(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t, nil)
			ctx := t.Context()
			f := newReadFixture(t, s)
			want, err := s.APIToken(ctx, f.hash)
			must(t, err)
			got, _, err := s.APITokenForRequest(ctx, f.hash)
			must(t, err)
			deepEqual(t, "token", got, want)
			_, _, err = s.APITokenForRequest(ctx, "nope")
			wantCode(t, err, fb.ENotFound)
		})
	}
}

// TestReadEpochTriggers checks that every table the cache reads has its
// three triggers after all migrations, and that a store whose triggers are
// not all there (a table rebuilt by a later migration) keeps no cache.
func TestReadEpochTriggers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "forgebridge.db")
	c := storetest.NewCipher()
	s, err := store.Open(t.Context(), path, c)
	must(t, err)
	if !s.ReadCacheOn() {
		t.Fatal("a new SQLite store keeps no read cache: a trigger of the read epoch is missing")
	}
	// A table rebuilt the usual SQLite way loses its triggers.
	for _, q := range []string{
		`CREATE TABLE users_new AS SELECT * FROM users`,
		`DROP TABLE users`,
		`ALTER TABLE users_new RENAME TO users`,
	} {
		if _, err := s.ExecRaw(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	s, err = store.Open(t.Context(), path, c)
	must(t, err)
	defer s.Close()
	if s.ReadCacheOn() {
		t.Fatal("the read cache is on although the users table has lost its triggers")
	}
	if pg := storetest.OpenPostgres(t, nil); pg.ReadCacheOn() {
		t.Error("PostgreSQL keeps a read cache")
	}
}

// TestReadCacheCascades checks that rows removed by a foreign key's
// cascade raise the epoch too: deleting an integration takes its
// repositories and saved tokens with it.
func TestReadCacheCascades(t *testing.T) {
	s := storetest.OpenSQLite(t, nil)
	f := newReadFixture(t, s)
	readAll(t, s, f.request(t, s), f)
	if _, err := s.ExecRaw(t.Context(), `DELETE FROM integrations WHERE id = ?`, f.integ.ID); err != nil {
		t.Fatal(err)
	}
	ctx := f.request(t, s)
	if _, _, err := s.RepositoryWithIntegration(ctx, f.repoID); fb.ErrorCode(err) != fb.ENotFound {
		t.Errorf("repository of a deleted integration: %v, want not_found", err)
	}
	if _, err := s.UserToken(ctx, "u1", f.integ.ID); fb.ErrorCode(err) != fb.ENotFound {
		t.Errorf("token for a deleted integration: %v, want not_found", err)
	}
}

// TestReadCacheEpochAges checks that work outliving its request (a context
// kept past it) reads the database again, not the rows of its old epoch,
// even when no newer request has moved the cache on.
func TestReadCacheEpochAges(t *testing.T) {
	path, c := filepath.Join(t.TempDir(), "forgebridge.db"), storetest.NewCipher()
	s, err := store.Open(t.Context(), path, c)
	must(t, err)
	defer s.Close()
	f := newReadFixture(t, s)
	ctx := f.request(t, s)
	readAll(t, s, ctx, f)
	other, err := store.Open(t.Context(), path, c) // the command line, say
	must(t, err)
	defer other.Close()
	must(t, other.SetPermissions(t.Context(), "PROJ", "u1", nil, nil))
	if r := readAll(t, s, ctx, f); len(r.perms) == 0 {
		t.Fatal("the request read past its epoch: the test no longer shows what it checks")
	}
	if r := readAll(t, s, store.AgeEpoch(ctx), f); len(r.perms) != 0 {
		t.Errorf("an aged context read permissions revoked since: %v", r.perms)
	}
}

// TestReadCacheBounded checks that a flood of distinct lookups keeps the
// cache within its bounds.
func TestReadCacheBounded(t *testing.T) {
	s := storetest.OpenSQLite(t, nil)
	f := newReadFixture(t, s)
	ctx := f.request(t, s)
	for i := range 5000 {
		_, err := s.Permissions(ctx, fmt.Sprintf("P%d", i), "u1")
		must(t, err)
	}
	if n, bytes := s.ReadCacheSize(); n > 4096 || bytes > 16<<20 || n == 0 {
		t.Errorf("read cache holds %d entries, %d bytes", n, bytes)
	}
}
