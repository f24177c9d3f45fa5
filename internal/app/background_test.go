package app_test

import (
	"context"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

func TestRevalidateTokens(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenSQLite(t, nil)
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
	gh.AddToken("alice-t", fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
	gh.AddToken("bob-t", fakegithub.Token{Login: "bob-gh", Scopes: []string{"repo"}})
	gh.AddToken("carol-t", fakegithub.Token{Login: "carol-gh", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main")
	svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: drivers.New}
	admin := fb.User{Key: "admin", Name: "admin", Admin: true}
	kind, base := fb.KindGitHub, gh.URL()
	in, err := svc.CreateIntegration(ctx, admin, app.IntegrationInput{Name: new("GH"), Kind: &kind, BaseURL: &base,
		Credential: &fb.Credential{Token: "svc"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, _, err := svc.AddUser(ctx, fb.User{Name: u}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SaveToken(ctx, fb.User{Key: u, Name: u}, in.ID, fb.Credential{Token: u + "-t"}); err != nil {
			t.Fatal(err)
		}
	}
	// carol's account is deactivated: her saved token is not checked again.
	if _, err := svc.UpdateUser(ctx, app.CLI, "carol", fb.UserPatch{Active: new(false)}); err != nil {
		t.Fatal(err)
	}
	gh.AddToken("carol-t", fakegithub.Token{Login: "carol-gh", Expired: true})

	// GitHub now tells alice's expiry and has revoked bob's token.
	expiry := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	gh.AddToken("alice-t", fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo", "workflow"}, ExpiresAt: &expiry})
	gh.AddToken("bob-t", fakegithub.Token{Login: "bob-gh", Expired: true})
	checked, invalidated, err := svc.RevalidateTokens(ctx, in.ID)
	if err != nil || checked != 2 || invalidated != 1 {
		t.Fatalf("RevalidateTokens = %d checked, %d invalidated, %v; want 2, 1, nil", checked, invalidated, err)
	}
	alice, _ := st.UserToken(ctx, "alice", in.ID)
	if alice.Status != fb.TokenValid || alice.ExpiresAt == nil || !alice.ExpiresAt.Equal(expiry) || len(alice.Scopes) != 2 {
		t.Errorf("alice's token after revalidation: %+v", alice)
	}
	if carol, _ := st.UserToken(ctx, "carol", in.ID); carol.Status != fb.TokenValid {
		t.Errorf("a deactivated user's token was checked again: status %s", carol.Status)
	}
	bob, _ := st.UserToken(ctx, "bob", in.ID)
	if bob.Status != fb.TokenInvalid || bob.Credential.Token != "bob-t" {
		t.Errorf("bob's token after revalidation: status %s", bob.Status)
	}
	entries, _, _ := st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: fb.AuditTokenInvalidated})
	if len(entries) != 1 || entries[0].User != "bob" {
		t.Errorf("token.invalidated audit entries: %+v", entries)
	}
	// A second run does not audit bob's token again.
	if _, _, err := svc.RevalidateTokens(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if entries, _, _ := st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: fb.AuditTokenInvalidated}); len(entries) != 1 {
		t.Errorf("%d token.invalidated entries after a second run, want 1", len(entries))
	}

	// A rate limit stops the run and is reported, so a queue retries later.
	gh.SetRateLimited(true)
	_, _, err = svc.RevalidateTokens(ctx, in.ID)
	if fb.ErrorCode(err) != fb.ERateLimited {
		t.Errorf("rate limited run: %v, want %s", err, fb.ERateLimited)
	}
}
