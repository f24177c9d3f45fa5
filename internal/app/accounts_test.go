package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

type accountsEnv struct {
	svc   *app.Service
	now   *time.Time
	admin fb.User
}

func newAccountsEnv(t *testing.T) accountsEnv {
	st := storetest.OpenSQLite(t, nil)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Now: func() time.Time { return now }}
	admin, _, err := svc.AddUser(t.Context(), fb.User{Name: "root", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	return accountsEnv{svc: svc, now: &now, admin: admin}
}

func wantErrCode(t *testing.T, what string, err error, code fb.Code) {
	t.Helper()
	if fb.ErrorCode(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

// TestDeactivatedUserRefused: deactivating or deleting a user refuses
// every token and session they had at once; reactivating brings none back.
func TestDeactivatedUserRefused(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name   string
		remove func(e accountsEnv) error
	}{
		{"deactivated", func(e accountsEnv) error {
			_, err := e.svc.UpdateUser(ctx, e.admin, "alice", fb.UserPatch{Active: new(false)})
			return err
		}},
		{"deleted", func(e accountsEnv) error { return e.svc.DeleteUser(ctx, e.admin, "alice") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAccountsEnv(t)
			u, token, err := e.svc.AddUser(ctx, fb.User{Name: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			session, err := e.svc.IssueAPIToken(ctx, u, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{token, session} {
				if _, err := e.svc.Authenticate(ctx, tok); err != nil {
					t.Fatalf("before: %v", err)
				}
			}
			if err := tc.remove(e); err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{token, session} {
				_, err := e.svc.Authenticate(ctx, tok)
				wantErrCode(t, "after", err, fb.EUnauthenticated)
			}
			if tc.name == "deactivated" {
				if _, err := e.svc.UpdateUser(ctx, e.admin, "alice", fb.UserPatch{Active: new(true)}); err != nil {
					t.Fatal(err)
				}
				_, err := e.svc.Authenticate(ctx, token)
				wantErrCode(t, "after reactivation", err, fb.EUnauthenticated)
			}
		})
	}
}

func TestUpdateUserRules(t *testing.T) {
	ctx := t.Context()
	e := newAccountsEnv(t)
	alice, _, err := e.svc.AddUser(ctx, fb.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		actor fb.User
		user  string
		patch fb.UserPatch
		code  fb.Code
	}{
		{"not an admin", alice, "alice", fb.UserPatch{Admin: new(true)}, fb.EForbidden},
		{"last admin demoted", e.admin, "root", fb.UserPatch{Admin: new(false)}, fb.EInvalid},
		{"last admin deactivated", e.admin, "root", fb.UserPatch{Active: new(false)}, fb.EInvalid},
		{"blank display name", e.admin, "alice", fb.UserPatch{DisplayName: new(" ")}, fb.EInvalid},
		{"bad email", e.admin, "alice", fb.UserPatch{Email: new("not an address")}, fb.EInvalid},
		{"no such user", e.admin, "nobody", fb.UserPatch{Admin: new(true)}, fb.ENotFound},
		{"promoted", e.admin, "alice", fb.UserPatch{Admin: new(true), Email: new(" a@example.com ")}, ""},
		{"then the first admin may go", e.admin, "root", fb.UserPatch{Admin: new(false)}, ""},
	} {
		_, err := e.svc.UpdateUser(ctx, tc.actor, tc.user, tc.patch)
		wantErrCode(t, tc.name, err, tc.code)
	}
	wantErrCode(t, "delete the last admin", e.svc.DeleteUser(ctx, e.admin, "alice"), fb.EInvalid)
	if u, _ := e.svc.Store.User(ctx, "alice"); u.Email != "a@example.com" || !u.Admin {
		t.Errorf("alice = %+v", u)
	}
}

func TestAPITokenManagement(t *testing.T) {
	ctx := t.Context()
	e := newAccountsEnv(t)
	alice, _, err := e.svc.AddUser(ctx, fb.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		days *int
		want *time.Time
		code fb.Code
	}{
		{"default 90 days", nil, new(e.now.AddDate(0, 0, 90)), ""},
		{"never", new(0), nil, ""},
		{"7 days", new(7), new(e.now.AddDate(0, 0, 7)), ""},
		{"negative", new(-1), nil, fb.EInvalid},
		{"too long", new(100000), nil, fb.EInvalid},
	} {
		tok, secret, err := e.svc.IssueMyAPIToken(ctx, alice, app.TokenRequest{Name: tc.name, ExpiresInDays: tc.days})
		wantErrCode(t, tc.name, err, tc.code)
		if err != nil {
			continue
		}
		if (tok.ExpiresAt == nil) != (tc.want == nil) || (tc.want != nil && !tok.ExpiresAt.Equal(*tc.want)) {
			t.Errorf("%s: expires %v, want %v", tc.name, tok.ExpiresAt, tc.want)
		}
		if tok.IssuedBy != "" || tok.ID == "" || tok.Name != tc.name {
			t.Errorf("%s: %+v", tc.name, tok)
		}
		if _, err := e.svc.Authenticate(ctx, secret); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	// An admin's token for alice names the admin; alice cannot do the same for root.
	byAdmin, secret, err := e.svc.IssueUserAPIToken(ctx, e.admin, "alice", app.TokenRequest{Name: "ci"})
	if err != nil || byAdmin.IssuedBy != "root" {
		t.Fatalf("IssueUserAPIToken = %+v, %v", byAdmin, err)
	}
	_, _, err = e.svc.IssueUserAPIToken(ctx, alice, "root", app.TokenRequest{Name: "x"})
	wantErrCode(t, "non-admin issues for another", err, fb.EForbidden)

	// lastUsedAt: the first use is recorded, a use within a minute is not written.
	if _, err := e.svc.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	first := *e.now
	*e.now = e.now.Add(30 * time.Second)
	_, _ = e.svc.Authenticate(ctx, secret)
	list, err := e.svc.UserAPITokens(ctx, e.admin, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if tok.ID == byAdmin.ID && (tok.LastUsedAt == nil || !tok.LastUsedAt.Equal(first)) {
			t.Errorf("lastUsedAt = %v, want %v", tok.LastUsedAt, first)
		}
	}
	*e.now = e.now.Add(time.Minute)
	_, _ = e.svc.Authenticate(ctx, secret)
	list, _ = e.svc.MyAPITokens(ctx, alice)
	for _, tok := range list {
		if tok.ID == byAdmin.ID && (tok.LastUsedAt == nil || !tok.LastUsedAt.Equal(*e.now)) {
			t.Errorf("lastUsedAt a minute later = %v, want %v", tok.LastUsedAt, *e.now)
		}
	}

	// Revoking: 401 at once; alice cannot revoke root's; the CLI can revoke any by id.
	wantErrCode(t, "revoke another's", e.svc.RevokeMyAPIToken(ctx, alice, "nope"), fb.ENotFound)
	if err := e.svc.RevokeMyAPIToken(ctx, alice, byAdmin.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(ctx, secret)
	wantErrCode(t, "after revoke", err, fb.EUnauthenticated)
	rootTokens, _ := e.svc.MyAPITokens(ctx, e.admin)
	wantErrCode(t, "alice revokes root's", e.svc.RevokeMyAPIToken(ctx, alice, rootTokens[0].ID), fb.ENotFound)
	if _, err := e.svc.RevokeUserAPIToken(ctx, app.CLI, "", rootTokens[0].ID); err != nil {
		t.Fatal(err)
	}

	entries, _, _ := e.svc.Store.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 100}})
	count := map[string]int{}
	for _, a := range entries {
		count[a.User+" "+a.Action]++
	}
	for key, want := range map[string]int{"cli user.create": 2, "cli apitoken.issue": 2, "alice apitoken.issue": 3,
		"root apitoken.issue": 1, "alice apitoken.revoke": 1, "cli apitoken.revoke": 1} {
		if count[key] != want {
			t.Errorf("audit %q: %d entries, want %d (all: %v)", key, count[key], want, count)
		}
	}
}

func TestEnrolment(t *testing.T) {
	ctx := context.Background()
	e := newAccountsEnv(t)
	alice, _, err := e.svc.AddUser(ctx, fb.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Enrol(ctx, alice, "alice")
	wantErrCode(t, "a non-admin enrols", err, fb.EForbidden)
	en, err := e.svc.Enrol(ctx, e.admin, "alice")
	if err != nil || !en.ExpiresAt.Equal(e.now.Add(app.EnrolmentTTL)) {
		t.Fatalf("Enrol = %+v, %v", en, err)
	}
	if u, err := e.svc.EnrolmentUser(ctx, en.Secret); err != nil || u.Name != "alice" {
		t.Fatalf("EnrolmentUser = %v, %v", u, err)
	}
	_, err = e.svc.CompleteEnrolment(ctx, en.Secret, "short")
	wantErrCode(t, "short password", err, fb.EInvalid)
	if _, err := e.svc.CompleteEnrolment(ctx, en.Secret, "a-good-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SignIn(ctx, "alice", "a-good-password", "192.0.2.1"); err != nil {
		t.Errorf("sign-in with the enrolled password: %v", err)
	}
	_, err = e.svc.CompleteEnrolment(ctx, en.Secret, "another-password")
	wantErrCode(t, "second use", err, fb.ENotFound)

	late, err := e.svc.Enrol(ctx, e.admin, "alice")
	if err != nil {
		t.Fatal(err)
	}
	*e.now = e.now.Add(app.EnrolmentTTL)
	_, err = e.svc.CompleteEnrolment(ctx, late.Secret, "another-password")
	wantErrCode(t, "expired link", err, fb.ENotFound)
}

// jiraLike is a tracker whose people are not in the local directory.
type jiraLike struct{ fb.Tracker }

func (jiraLike) User(_ context.Context, key string) (fb.User, error) {
	return fb.User{Key: key, Name: key, Active: true}, nil
}

// TestTokenNotIssuedToARemovedOwner: the owner read before the token is
// stored may be stale; a local user deactivated or removed meanwhile gets
// no token. A Jira user, who has no local row, still gets one.
func TestTokenNotIssuedToARemovedOwner(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name   string
		remove func(e accountsEnv) error
	}{
		{"deactivated", func(e accountsEnv) error {
			_, err := e.svc.UpdateUser(ctx, e.admin, "alice", fb.UserPatch{Active: new(false)})
			return err
		}},
		{"deleted", func(e accountsEnv) error { return e.svc.DeleteUser(ctx, e.admin, "alice") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAccountsEnv(t)
			stale, _, err := e.svc.AddUser(ctx, fb.User{Name: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.remove(e); err != nil {
				t.Fatal(err)
			}
			_, _, err = e.svc.IssueMyAPIToken(ctx, stale, app.TokenRequest{Name: "ci"})
			wantErrCode(t, "API token", err, fb.EInvalid)
			_, err = e.svc.IssueAPIToken(ctx, stale, time.Hour)
			wantErrCode(t, "session", err, fb.EInvalid)
			if list, _ := e.svc.Store.APITokens(ctx, stale.Key); len(list) != 0 {
				t.Fatalf("%d tokens stored for a removed owner", len(list))
			}
		})
	}
	t.Run("jira user", func(t *testing.T) {
		e := newAccountsEnv(t)
		e.svc.Tracker = jiraLike{e.svc.Tracker}
		u := fb.User{Key: "jira-42", Name: "jdoe", Active: true}
		if _, _, err := e.svc.IssueMyAPIToken(ctx, u, app.TokenRequest{Name: "ci"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.IssueAPIToken(ctx, u, time.Hour); err != nil {
			t.Fatal(err)
		}
	})
}

// TestAdminManagesJiraUsersTokens: with Jira, people have no local row;
// an admin lists and revokes their API tokens by the name they hold them under.
func TestAdminManagesJiraUsersTokens(t *testing.T) {
	ctx := t.Context()
	e := newAccountsEnv(t)
	e.svc.Tracker = jiraLike{e.svc.Tracker}
	jdoe := fb.User{Key: "JIRAUSER10100", Name: "jdoe", Active: true}
	tok, _, err := e.svc.IssueMyAPIToken(ctx, jdoe, app.TokenRequest{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.UserAPITokens(ctx, e.admin, "jdoe")
	if err != nil || len(list) != 1 || list[0].ID != tok.ID {
		t.Fatalf("UserAPITokens(jdoe) = %v, %v; want the one token", list, err)
	}
	_, err = e.svc.UserAPITokens(ctx, e.admin, "nobody")
	wantErrCode(t, "an unknown name", err, fb.ENotFound)
	_, err = e.svc.UserAPITokens(ctx, jdoe, "jdoe")
	wantErrCode(t, "not an admin", err, fb.EForbidden)
	_, err = e.svc.RevokeUserAPIToken(ctx, e.admin, "jdoe", "0000")
	wantErrCode(t, "another id", err, fb.ENotFound)
	if _, err := e.svc.RevokeUserAPIToken(ctx, e.admin, "jdoe", tok.ID); err != nil {
		t.Fatal(err)
	}
	if left, _ := e.svc.MyAPITokens(ctx, jdoe); len(left) != 0 {
		t.Fatalf("%d tokens left after revoking", len(left))
	}
}

// TestEnrolmentPasswordBounds: completing an enrolment bounds the password
// and hashes it only in one of the few hashing slots.
func TestEnrolmentPasswordBounds(t *testing.T) {
	ctx := context.Background()
	e := newAccountsEnv(t)
	if _, _, err := e.svc.AddUser(ctx, fb.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	en, err := e.svc.Enrol(ctx, e.admin, "alice")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.CompleteEnrolment(ctx, en.Secret, strings.Repeat("p", app.MaxPasswordBytes+1))
	wantErrCode(t, "an overlong password", err, fb.EInvalid)
	release := app.HoldPasswordSlots(e.svc, time.Millisecond)
	_, err = e.svc.CompleteEnrolment(ctx, en.Secret, "a-good-password")
	wantErrCode(t, "no hashing slot free", err, fb.ERateLimited)
	release()
	if _, err := e.svc.CompleteEnrolment(ctx, en.Secret, "a-good-password"); err != nil {
		t.Fatalf("the link after the refusals: %v", err)
	}
}

// TestReservedNames: nobody may be named "cli" (the command line in the
// audit log), nor an API token like a sign-in session, which a new
// password ends; token names are bounded.
func TestReservedNames(t *testing.T) {
	ctx := t.Context()
	e := newAccountsEnv(t)
	for _, name := range []string{"cli", "CLI"} {
		_, _, err := e.svc.CreateUser(ctx, e.admin, fb.User{Name: name})
		wantErrCode(t, "a user named "+name, err, fb.EInvalid)
	}
	alice, _, err := e.svc.AddUser(ctx, fb.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{fb.SessionTokenName, fb.JiraSessionTokenName, " Web Session ", strings.Repeat("n", 201)} {
		_, _, err := e.svc.IssueMyAPIToken(ctx, alice, app.TokenRequest{Name: name})
		wantErrCode(t, "an API token named "+name[:min(len(name), 20)], err, fb.EInvalid)
		_, _, err = e.svc.IssueUserAPIToken(ctx, e.admin, "alice", app.TokenRequest{Name: name})
		wantErrCode(t, "an admin's API token named "+name[:min(len(name), 20)], err, fb.EInvalid)
	}
	if _, _, err := e.svc.IssueMyAPIToken(ctx, alice, app.TokenRequest{Name: strings.Repeat("n", 200)}); err != nil {
		t.Errorf("a 200-character name: %v", err)
	}
}
