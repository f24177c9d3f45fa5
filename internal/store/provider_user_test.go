package store_test

import (
	"fmt"
	"sync"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestProviderUserIDs runs the attribution part of the store on every
// backend: the provider account id of tokens and service credentials, and
// that one account's token is only ever one person's.
func TestProviderUserIDs(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				fn   func(t *testing.T, s *store.Store)
			}{
				{"TokenAccount", testTokenAccount},
				{"ConcurrentSameAccount", testConcurrentSameAccount},
				{"CredentialUserID", testCredentialUserID},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, b.Open(t, nil)) })
			}
		})
	}
}

func putAccountToken(s *store.Store, t *testing.T, user, integrationID, token, account string) error {
	t.Helper()
	return s.PutUserToken(t.Context(), &fb.UserToken{UserKey: user, IntegrationID: integrationID,
		Credential: fb.Credential{Token: token}, Login: user, ProviderUserID: account, Status: fb.TokenValid})
}

func testTokenAccount(t *testing.T, s *store.Store) {
	ctx := t.Context()
	a := createIntegration(t, s, "a", "svc")
	b := createIntegration(t, s, "b", "svc")
	must(t, putAccountToken(s, t, "alice", a.ID, "tok-1", "1001"))
	got, err := s.UserToken(ctx, "alice", a.ID)
	must(t, err)
	if got.ProviderUserID != "1001" {
		t.Fatalf("ProviderUserID = %q, want 1001", got.ProviderUserID)
	}
	owner, err := s.UserTokenOwner(ctx, a.ID, "1001")
	must(t, err)
	if owner != "alice" {
		t.Fatalf("UserTokenOwner = %q, want alice", owner)
	}
	for _, c := range []struct{ integration, account string }{{a.ID, "1002"}, {b.ID, "1001"}, {a.ID, ""}} {
		_, err := s.UserTokenOwner(ctx, c.integration, c.account)
		wantCode(t, err, fb.ENotFound)
	}

	// Another person cannot save a token of alice's account; she may replace hers.
	wantCode(t, putAccountToken(s, t, "bob", a.ID, "tok-2", "1001"), fb.EAlreadyExists)
	if _, err := s.UserToken(ctx, "bob", a.ID); fb.ErrorCode(err) != fb.ENotFound {
		t.Fatalf("bob's refused token was saved: %v", err)
	}
	must(t, putAccountToken(s, t, "alice", a.ID, "tok-3", "1001"))
	must(t, putAccountToken(s, t, "bob", b.ID, "tok-4", "1001")) // another integration
	// Tokens not checked yet (empty id) never collide.
	must(t, putAccountToken(s, t, "carol", a.ID, "tok-5", ""))
	must(t, putAccountToken(s, t, "dave", a.ID, "tok-6", ""))

	// A check learning an account id another person holds writes nothing.
	carol, err := s.UserToken(ctx, "carol", a.ID)
	must(t, err)
	carol.ProviderUserID = "1001"
	wantCode(t, s.RecordTokenCheck(ctx, &carol), fb.EAlreadyExists)
	carol.ProviderUserID = "1003"
	must(t, s.RecordTokenCheck(ctx, &carol))
	if owner, err := s.UserTokenOwner(ctx, a.ID, "1003"); err != nil || owner != "carol" {
		t.Fatalf("after the check UserTokenOwner = %q, %v; want carol", owner, err)
	}
	// Once alice removes hers, the account is free for someone else.
	must(t, s.DeleteUserToken(ctx, "alice", a.ID))
	must(t, putAccountToken(s, t, "bob", a.ID, "tok-7", "1001"))
}

// testConcurrentSameAccount saves one account's token for many people at
// once: exactly one succeeds, the others get EAlreadyExists.
func testConcurrentSameAccount(t *testing.T, s *store.Store) {
	in := createIntegration(t, s, "a", "svc")
	const people = 12
	var wg sync.WaitGroup
	errs := make([]error, people)
	for i := range people {
		wg.Go(func() {
			errs[i] = s.PutUserToken(t.Context(), &fb.UserToken{UserKey: fmt.Sprintf("user-%02d", i), IntegrationID: in.ID,
				Credential: fb.Credential{Token: "shared"}, ProviderUserID: "4242", Status: fb.TokenValid})
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch fb.ErrorCode(err) {
		case "":
			ok++
		case fb.EAlreadyExists:
		default:
			t.Errorf("person %d: %v", i, err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d people saved the same account's token, want exactly 1", ok)
	}
	toks, err := s.IntegrationUserTokens(t.Context(), in.ID)
	must(t, err)
	if len(toks) != 1 {
		t.Fatalf("%d tokens stored, want 1", len(toks))
	}
}

func testCredentialUserID(t *testing.T, s *store.Store) {
	ctx := t.Context()
	in := fb.Integration{Name: "a", Kind: fb.KindGitHub, Settings: fb.DefaultIntegrationSettings,
		Credential: fb.Credential{Token: "svc"}, CredentialLogin: "bot", CredentialUserID: "77"}
	must(t, s.CreateIntegration(ctx, &in))
	got, err := s.Integration(ctx, in.ID)
	must(t, err)
	if got.CredentialUserID != "77" {
		t.Fatalf("CredentialUserID = %q after create, want 77", got.CredentialUserID)
	}
	got.CredentialUserID = "78"
	must(t, s.UpdateIntegration(ctx, &got))
	got, err = s.Integration(ctx, in.ID)
	must(t, err)
	if got.CredentialUserID != "78" {
		t.Fatalf("CredentialUserID = %q after update, want 78", got.CredentialUserID)
	}

	// Learnt later for the version checked, without changing the version.
	must(t, s.RecordCredentialUserID(ctx, got, "79"))
	again, err := s.Integration(ctx, in.ID)
	must(t, err)
	if again.CredentialUserID != "79" || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("after RecordCredentialUserID: id %q, updated %v (was %v)", again.CredentialUserID, again.UpdatedAt, got.UpdatedAt)
	}
	stale := got
	stale.UpdatedAt = got.UpdatedAt.Add(-1)
	wantCode(t, s.RecordCredentialUserID(ctx, stale, "80"), fb.ENotFound)
}
