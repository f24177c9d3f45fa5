package store_test

import (
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestAccounts runs the account lifecycle tests on every kind of store.
func TestAccounts(t *testing.T) {
	suite := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"UpdateUser", testUpdateUser},
		{"LastAdmin", testLastAdmin},
		{"LastAdminConcurrent", testLastAdminConcurrent},
		{"DeleteUser", testDeleteUser},
		{"APITokenLifecycle", testAPITokenLifecycle},
		{"Enrolment", testEnrolment},
		{"DirectoryAudit", testDirectoryAudit},
		{"ChangePassword", testChangePassword},
		{"LocalUserAPIToken", testLocalUserAPIToken},
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range suite {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, b.Open(t, storetest.NewCipher())) })
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// seedUsers makes two active admins (root, ada) and an active user (alice)
// with a long-lived API token and a session each.
func seedUsers(t *testing.T, s *store.Store) {
	ctx := t.Context()
	for _, u := range []fb.User{
		{Key: "root", Name: "root", Admin: true, Active: true},
		{Key: "ada", Name: "ada", Admin: true, Active: true},
		{Key: "alice", Name: "alice", Active: true},
	} {
		must(t, s.CreateUser(ctx, u, nil))
		expires := at(3600)
		for i, tok := range []fb.APIToken{
			{Hash: strings.Repeat("a", 60) + u.Key[:2] + "01", Name: "ci"},
			{Hash: strings.Repeat("a", 60) + u.Key[:2] + "02", Name: fb.SessionTokenName, ExpiresAt: &expires},
		} {
			tok.UserKey, tok.UserName, tok.CreatedAt = u.Key, u.Name, at(i)
			must(t, s.CreateAPIToken(ctx, &tok, nil))
		}
	}
}

func tokenCount(t *testing.T, s *store.Store, user string) int {
	list, err := s.APITokens(t.Context(), user)
	must(t, err)
	return len(list)
}

func testUpdateUser(t *testing.T, s *store.Store) {
	ctx := t.Context()
	seedUsers(t, s)
	for _, tc := range []struct {
		name       string
		patch      fb.UserPatch
		want       fb.User
		wantTokens int
		changes    fb.Changes // of the audit entry
	}{
		{"display name and email", fb.UserPatch{DisplayName: ptr("Alice A."), Email: ptr("a@example.com")},
			fb.User{Key: "alice", Name: "alice", DisplayName: "Alice A.", Email: "a@example.com", Active: true}, 2,
			fb.Changes{"displayName": {"", "Alice A."}, "email": {"", "a@example.com"}}},
		{"promoted; others kept", fb.UserPatch{Admin: ptr(true), Email: ptr("a@example.com")},
			fb.User{Key: "alice", Name: "alice", DisplayName: "Alice A.", Email: "a@example.com", Admin: true, Active: true}, 2,
			fb.Changes{"admin": {false, true}}},
		{"deactivated: every token goes", fb.UserPatch{Active: ptr(false)},
			fb.User{Key: "alice", Name: "alice", DisplayName: "Alice A.", Email: "a@example.com", Admin: true}, 0,
			fb.Changes{"active": {true, false}}},
		{"reactivated: still none", fb.UserPatch{Active: ptr(true), Admin: ptr(false)},
			fb.User{Key: "alice", Name: "alice", DisplayName: "Alice A.", Email: "a@example.com", Active: true}, 0,
			fb.Changes{"active": {false, true}, "admin": {true, false}}},
	} {
		got, err := s.UpdateUser(ctx, "alice", tc.patch, &fb.AuditEntry{User: "root", Action: fb.AuditUserUpdate, Target: "alice"})
		must(t, err)
		deepEqual(t, tc.name, got, tc.want)
		entries, _, err := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 1}, Action: fb.AuditUserUpdate})
		must(t, err)
		if len(entries) != 1 {
			t.Fatalf("%s: no audit entry", tc.name)
		}
		deepEqual(t, tc.name+" (audited changes)", entries[0].Changes, tc.changes)
		stored, err := s.User(ctx, "alice")
		must(t, err)
		deepEqual(t, tc.name+" (stored)", stored, tc.want)
		if n := tokenCount(t, s, "alice"); n != tc.wantTokens {
			t.Errorf("%s: %d API tokens left, want %d", tc.name, n, tc.wantTokens)
		}
	}
	_, err := s.UpdateUser(ctx, "nobody", fb.UserPatch{Admin: ptr(true)}, nil)
	wantCode(t, err, fb.ENotFound)
	if n := tokenCount(t, s, "root"); n != 2 {
		t.Errorf("another user's tokens changed: %d", n)
	}
}

func testLastAdmin(t *testing.T, s *store.Store) {
	ctx := t.Context()
	seedUsers(t, s)
	_, err := s.UpdateUser(ctx, "ada", fb.UserPatch{Admin: ptr(false)}, nil)
	must(t, err) // root remains
	for _, tc := range []struct {
		name  string
		patch fb.UserPatch
	}{
		{"demote", fb.UserPatch{Admin: ptr(false)}},
		{"deactivate", fb.UserPatch{Active: ptr(false)}},
	} {
		audit := &fb.AuditEntry{User: "root", Action: fb.AuditUserUpdate, Target: "root"}
		_, err := s.UpdateUser(ctx, "root", tc.patch, audit)
		wantCode(t, err, fb.EInvalid)
		if audit.ID != 0 {
			t.Errorf("%s: a refused change was audited", tc.name)
		}
	}
	wantCode(t, s.DeleteUser(ctx, "root", nil), fb.EInvalid)
	// An inactive admin does not count as one.
	_, err = s.UpdateUser(ctx, "ada", fb.UserPatch{Admin: ptr(true), Active: ptr(false)}, nil)
	must(t, err)
	_, err = s.UpdateUser(ctx, "root", fb.UserPatch{Admin: ptr(false)}, nil)
	wantCode(t, err, fb.EInvalid)
	if u, err := s.User(ctx, "root"); err != nil || !u.Admin || !u.Active {
		t.Errorf("root after refused changes: %+v, %v", u, err)
	}
	// Other changes of the last admin are fine.
	_, err = s.UpdateUser(ctx, "root", fb.UserPatch{DisplayName: ptr("Root")}, nil)
	must(t, err)
}

// testLastAdminConcurrent demotes the last two admins at once, many times:
// one of each pair must be refused, whatever the interleaving.
func testLastAdminConcurrent(t *testing.T, s *store.Store) {
	ctx := t.Context()
	seedUsers(t, s)
	for round := range 10 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, key := range []string{"root", "ada"} {
			wg.Go(func() {
				switch round % 3 {
				case 0:
					_, errs[i] = s.UpdateUser(ctx, key, fb.UserPatch{Admin: ptr(false)}, nil)
				case 1:
					_, errs[i] = s.UpdateUser(ctx, key, fb.UserPatch{Active: ptr(false)}, nil)
				default:
					errs[i] = s.DeleteUser(ctx, key, nil)
				}
			})
		}
		wg.Wait()
		refused := 0
		for _, err := range errs {
			switch fb.ErrorCode(err) {
			case "":
			case fb.EInvalid:
				refused++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if refused != 1 {
			t.Fatalf("round %d: %d of 2 concurrent changes refused, want 1 (%v)", round, refused, errs)
		}
		for _, key := range []string{"root", "ada"} {
			_, err := s.UpdateUser(ctx, key, fb.UserPatch{Admin: ptr(true), Active: ptr(true)}, nil)
			if fb.ErrorCode(err) == fb.ENotFound {
				err = s.CreateUser(ctx, fb.User{Key: key, Name: key, Admin: true, Active: true}, nil)
			}
			must(t, err)
		}
	}
}

func testDeleteUser(t *testing.T, s *store.Store) {
	ctx := t.Context()
	seedUsers(t, s)
	must(t, s.CreateProject(ctx, fb.Project{Key: "P", Name: "P"}, nil))
	must(t, s.SetPermissions(ctx, "P", "alice", []string{fb.PermBrowseProjects}, nil))
	in := fb.Integration{Name: "gh", Kind: fb.KindGitHub, Credential: fb.Credential{Token: "svc"}}
	must(t, s.CreateIntegration(ctx, &in))
	must(t, s.PutUserToken(ctx, &fb.UserToken{UserKey: "alice", IntegrationID: in.ID, Credential: fb.Credential{Token: "pat"}}))
	must(t, s.CreateEnrolment(ctx, fb.Enrolment{Hash: "e1", UserKey: "alice", CreatedAt: at(0), ExpiresAt: at(100)}, nil))

	audit := &fb.AuditEntry{User: "root", Action: fb.AuditUserDelete, Target: "alice"}
	must(t, s.DeleteUser(ctx, "alice", audit))
	if audit.ID == 0 {
		t.Error("the deletion was not audited")
	}
	_, err := s.User(ctx, "alice")
	wantCode(t, err, fb.ENotFound)
	_, err = s.UserToken(ctx, "alice", in.ID)
	wantCode(t, err, fb.ENotFound)
	if n := tokenCount(t, s, "alice"); n != 0 {
		t.Errorf("%d API tokens of a deleted user remain", n)
	}
	if perms, err := s.Permissions(ctx, "P", "alice"); err != nil || len(perms) != 0 {
		t.Errorf("permissions of a deleted user: %v, %v", perms, err)
	}
	_, err = s.Enrolment(ctx, "e1", at(1))
	wantCode(t, err, fb.ENotFound)
	wantCode(t, s.DeleteUser(ctx, "alice", nil), fb.ENotFound)
	// The name is free again, without the old tokens.
	must(t, s.CreateUser(ctx, fb.User{Key: "alice", Name: "alice", Active: true}, nil))
	if n := tokenCount(t, s, "alice"); n != 0 {
		t.Errorf("a new alice inherited %d API tokens", n)
	}
}

func testAPITokenLifecycle(t *testing.T, s *store.Store) {
	ctx := t.Context()
	seedUsers(t, s)
	expires := at(90 * 86400)
	tok := fb.APIToken{Hash: strings.Repeat("f", 64), UserKey: "alice", UserName: "alice", Name: "laptop",
		CreatedAt: at(10), ExpiresAt: &expires, IssuedBy: "root"}
	audit := &fb.AuditEntry{User: "root", Action: fb.AuditAPITokenIssue, Target: "alice"}
	must(t, s.CreateAPIToken(ctx, &tok, audit))
	if tok.ID == "" || audit.ID == 0 {
		t.Fatalf("CreateAPIToken: id %q, audit %d", tok.ID, audit.ID)
	}
	list, err := s.APITokens(ctx, "alice")
	must(t, err)
	if len(list) != 3 || list[0].ID != tok.ID {
		t.Fatalf("APITokens = %+v, want the new one first of 3", list)
	}
	deepEqual(t, "listed token", list[0], tok)

	// A use is recorded once, then not again within the interval.
	must(t, s.TouchAPIToken(ctx, tok.Hash, at(100), at(40)))
	must(t, s.TouchAPIToken(ctx, tok.Hash, at(120), at(60)))
	got, err := s.APIToken(ctx, tok.Hash)
	must(t, err)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(at(100)) {
		t.Errorf("LastUsedAt = %v, want %v (the second use was within the interval)", got.LastUsedAt, at(100))
	}
	must(t, s.TouchAPIToken(ctx, tok.Hash, at(200), at(140)))
	got, _ = s.APIToken(ctx, tok.Hash)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(at(200)) {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, at(200))
	}

	// Revoking by id: another user's id is not found for this user.
	rootTokens, err := s.APITokens(ctx, "root")
	must(t, err)
	_, err = s.RevokeAPIToken(ctx, "alice", rootTokens[0].ID, nil)
	wantCode(t, err, fb.ENotFound)
	revoke := &fb.AuditEntry{Action: fb.AuditAPITokenRevoke}
	gone, err := s.RevokeAPIToken(ctx, "alice", tok.ID, revoke)
	must(t, err)
	if gone.Hash != tok.Hash || revoke.ID == 0 || revoke.User != "alice" {
		t.Errorf("RevokeAPIToken = %+v, audit %+v", gone, revoke)
	}
	_, err = s.APIToken(ctx, tok.Hash)
	wantCode(t, err, fb.ENotFound)
	_, err = s.RevokeAPIToken(ctx, "alice", tok.ID, nil)
	wantCode(t, err, fb.ENotFound)
	// Any user's, when no user is named (the CLI).
	_, err = s.RevokeAPIToken(ctx, "", rootTokens[0].ID, nil)
	must(t, err)
}

func testEnrolment(t *testing.T, s *store.Store) {
	ctx := t.Context()
	seedUsers(t, s)
	wantCode(t, s.CreateEnrolment(ctx, fb.Enrolment{Hash: "x", UserKey: "nobody", CreatedAt: at(0), ExpiresAt: at(10)}, nil), fb.ENotFound)
	must(t, s.CreateEnrolment(ctx, fb.Enrolment{Hash: "old", UserKey: "alice", CreatedAt: at(0), ExpiresAt: at(100)}, nil))
	must(t, s.CreateEnrolment(ctx, fb.Enrolment{Hash: "new", UserKey: "alice", CreatedAt: at(1), ExpiresAt: at(100)}, nil))
	_, err := s.Enrolment(ctx, "old", at(2))
	wantCode(t, err, fb.ENotFound) // replaced by the newer link
	e, err := s.Enrolment(ctx, "new", at(2))
	must(t, err)
	if e.UserKey != "alice" || !e.ExpiresAt.Equal(at(100)) {
		t.Errorf("Enrolment = %+v", e)
	}
	_, err = s.Enrolment(ctx, "new", at(100))
	wantCode(t, err, fb.ENotFound) // expired
	_, err = s.RedeemEnrolment(ctx, "new", at(100), "h", nil)
	wantCode(t, err, fb.ENotFound)

	_, err = s.RedeemEnrolment(ctx, "new", at(3), "$argon2id$x", &fb.AuditEntry{Action: fb.AuditUserPassword, Outcome: fb.AuditOutcomeSuccess})
	must(t, err)
	entries, _, err := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: fb.AuditUserPassword})
	must(t, err)
	if len(entries) != 1 || entries[0].User != "alice" || entries[0].Target != "alice" {
		t.Errorf("audit of the enrolment's password = %+v, want one entry by and for alice", entries)
	}
	if h, _ := s.PasswordHash(ctx, "alice"); h != "$argon2id$x" {
		t.Errorf("password hash after enrolment = %q", h)
	}
	if n := tokenCount(t, s, "alice"); n != 1 {
		t.Errorf("%d API tokens after enrolment, want the long-lived one (sessions end)", n)
	}
	_, err = s.RedeemEnrolment(ctx, "new", at(4), "again", nil)
	wantCode(t, err, fb.ENotFound) // single use

	// A deactivated user's link does not work.
	must(t, s.CreateEnrolment(ctx, fb.Enrolment{Hash: "b", UserKey: "ada", CreatedAt: at(0), ExpiresAt: at(100)}, nil))
	_, err = s.UpdateUser(ctx, "ada", fb.UserPatch{Active: ptr(false)}, nil)
	must(t, err)
	_, err = s.Enrolment(ctx, "b", at(1))
	wantCode(t, err, fb.ENotFound)
}

func testDirectoryAudit(t *testing.T, s *store.Store) {
	ctx := t.Context()
	entry := func(action string) *fb.AuditEntry {
		return &fb.AuditEntry{User: "cli", Action: action, Outcome: fb.AuditOutcomeSuccess}
	}
	must(t, s.CreateUser(ctx, fb.User{Key: "u", Name: "u", Active: true}, entry(fb.AuditUserCreate)))
	must(t, s.CreateProject(ctx, fb.Project{Key: "P", Name: "P"}, entry(fb.AuditProjectCreate)))
	must(t, s.SetPermissions(ctx, "P", "u", []string{fb.PermBrowseProjects}, entry(fb.AuditPermissionsUpdate)))
	must(t, s.CreateIssue(ctx, fb.Issue{Key: "P-1", Project: "P", Summary: "s"}, entry(fb.AuditIssueCreate)))
	// A change that fails writes no entry.
	wantCode(t, s.CreateProject(ctx, fb.Project{Key: "P", Name: "P"}, entry(fb.AuditProjectCreate)), fb.EAlreadyExists)
	wantCode(t, s.CreateIssue(ctx, fb.Issue{Key: "Q-1", Project: "Q"}, entry(fb.AuditIssueCreate)), fb.ENotFound)
	entries, _, err := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}})
	must(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Action)
	}
	deepEqual(t, "audit actions", got, []string{fb.AuditIssueCreate, fb.AuditPermissionsUpdate, fb.AuditProjectCreate, fb.AuditUserCreate})
}

// TestExists: a database is there for SQLite when its file is, for
// PostgreSQL when forgebridge's tables are.
func TestExists(t *testing.T) {
	ctx := t.Context()
	check := func(what, dsn string, want bool) {
		t.Helper()
		got, err := store.Exists(ctx, dsn)
		if err != nil || got != want {
			t.Errorf("Exists(%s) = %v, %v; want %v", what, got, err, want)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "forgebridge.db")
		check("missing file", path, false)
		check("missing file as URI", "file:"+path+"?mode=rwc", false)
		s, err := store.Open(ctx, path, storetest.NewCipher())
		must(t, err)
		s.Close()
		check("created file", path, true)
		check("created file as URI", "file:"+path+"?mode=rwc", true)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.NewPostgresDatabase(t)
		check("empty database", dsn, false)
		s, err := store.Open(ctx, dsn, storetest.NewCipher())
		must(t, err)
		s.Close()
		check("migrated database", dsn, true)
		if shown := store.DisplayDSN("postgres://fb:s3cret@db.example/fb"); strings.Contains(shown, "s3cret") {
			t.Errorf("DisplayDSN shows the password: %s", shown)
		}
	})
}

// testChangePassword: a new password ends the sign-in sessions (web and
// Jira) and nothing else: API tokens stay, whether they expire or not.
func testChangePassword(t *testing.T, s *store.Store) {
	ctx := t.Context()
	seedUsers(t, s)
	expires := at(90 * 24 * 3600)
	for i, name := range []string{"ci with expiry", fb.JiraSessionTokenName} {
		tok := fb.APIToken{Hash: strings.Repeat("b", 62) + string(rune('0'+i)) + "0", UserKey: "alice", UserName: "alice",
			Name: name, CreatedAt: at(5), ExpiresAt: &expires}
		must(t, s.CreateAPIToken(ctx, &tok, nil))
	}
	audit := &fb.AuditEntry{User: "cli", Action: fb.AuditUserPassword, Target: "alice", Outcome: fb.AuditOutcomeSuccess,
		Changes: fb.Changes{"password": {fb.ChangeReplaced, fb.ChangeReplaced}}}
	must(t, s.ChangePassword(ctx, "alice", "$argon2id$new", audit))
	list, err := s.APITokens(ctx, "alice")
	must(t, err)
	var names []string
	for _, tok := range list {
		names = append(names, tok.Name)
	}
	slices.Sort(names)
	deepEqual(t, "API tokens after a new password", names, []string{"ci", "ci with expiry"})
	if h, _ := s.PasswordHash(ctx, "alice"); h != "$argon2id$new" {
		t.Errorf("password hash = %q", h)
	}
	if n := tokenCount(t, s, "ada"); n != 2 {
		t.Errorf("another user's tokens changed: %d left, want 2", n)
	}
	entries, _, err := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: fb.AuditUserPassword})
	must(t, err)
	if len(entries) != 1 || entries[0].Target != "alice" || entries[0].Changes["password"] != [2]any{fb.ChangeReplaced, fb.ChangeReplaced} {
		t.Errorf("audit entries = %+v", entries)
	}
	wantCode(t, s.ChangePassword(ctx, "nobody", "x", audit), fb.ENotFound)
	if entries, _, _ := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: fb.AuditUserPassword}); len(entries) != 1 {
		t.Errorf("a failed change wrote an audit entry: %d entries", len(entries))
	}
}

// testLocalUserAPIToken: a local user's token is stored only while the
// user is there and active.
func testLocalUserAPIToken(t *testing.T, s *store.Store) {
	ctx := t.Context()
	seedUsers(t, s)
	_, err := s.UpdateUser(ctx, "ada", fb.UserPatch{Active: ptr(false)}, nil)
	must(t, err)
	for i, key := range []string{"ada", "nobody", "alice"} {
		tok := fb.APIToken{Hash: strings.Repeat("c", 62) + string(rune('0'+i)) + "0", UserKey: key, UserName: key, Name: "ci", CreatedAt: at(1)}
		audit := &fb.AuditEntry{User: "cli", Action: fb.AuditAPITokenIssue, Target: key, Outcome: fb.AuditOutcomeSuccess}
		err := s.CreateLocalUserAPIToken(ctx, &tok, audit)
		if key == "alice" {
			must(t, err)
			continue
		}
		wantCode(t, err, fb.EInvalid)
		if list, _ := s.APITokens(ctx, key); len(list) != 0 {
			t.Errorf("%s: %d tokens stored", key, len(list))
		}
	}
	entries, _, err := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: fb.AuditAPITokenIssue})
	must(t, err)
	if len(entries) != 1 || entries[0].Target != "alice" {
		t.Errorf("audit entries = %+v, want alice's only", entries)
	}
}
