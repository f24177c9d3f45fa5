package store_test

import (
	"errors"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

func TestWebhookSecrets(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			c := storetest.NewCipher()
			s := b.Open(t, c)
			a := createIntegration(t, s, "a", "tok-a")
			other := createIntegration(t, s, "b", "tok-b")
			at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

			_, err := s.WebhookSecret(ctx, a.ID)
			wantCode(t, err, fb.ENotFound)
			wantCode(t, s.SetWebhookSecret(ctx, "nope", "x", at, nil), fb.ENotFound)
			wantCode(t, s.SetWebhookSecret(ctx, a.ID, "", at, nil), fb.EInvalid)

			must(t, s.SetWebhookSecret(ctx, a.ID, "first", at, nil))
			must(t, s.SetWebhookSecret(ctx, a.ID, "second", at, nil))
			got, err := s.WebhookSecret(ctx, a.ID)
			must(t, err)
			if got != "second" {
				t.Errorf("WebhookSecret = %q, want the replacement", got)
			}
			conf, err := s.WebhookSecretsConfigured(ctx)
			must(t, err)
			if !conf[a.ID] || conf[other.ID] {
				t.Errorf("WebhookSecretsConfigured = %v", conf)
			}

			// Sealed and swept with the other secrets: 2 credentials + 1 webhook secret.
			n, err := s.CheckSecrets(ctx)
			must(t, err)
			if n != 3 {
				t.Fatalf("CheckSecrets read %d, want 3", n)
			}
			c.RotateKey()
			_, err = s.ReencryptSecrets(ctx)
			must(t, err)
			c.RetireOldKeys()
			if got, err := s.WebhookSecret(ctx, a.ID); err != nil || got != "second" {
				t.Fatalf("after re-encryption: %q, %v", got, err)
			}

			// Bound to its integration: moved to another row, it does not open.
			_, err = s.ExecRaw(ctx, "INSERT INTO webhook_secrets (integration_id, secret, updated_at) SELECT ?, secret, updated_at FROM webhook_secrets WHERE integration_id = ?", other.ID, a.ID)
			must(t, err)
			_, err = s.WebhookSecret(ctx, other.ID)
			wantCode(t, err, fb.EInternal)

			must(t, s.DeleteIntegration(ctx, a.ID))
			_, err = s.WebhookSecret(ctx, a.ID)
			wantCode(t, err, fb.ENotFound)
		})
	}
}

func TestIntegrationRepositories(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			s := b.Open(t, nil)
			a := createIntegration(t, s, "a", "tok-a")
			other := createIntegration(t, s, "b", "tok-b")
			at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			must(t, s.ReplaceRepositories(ctx, a.ID, []fb.Repository{
				{ExternalID: "2", Name: "zeta", FullName: "acme/zeta", DefaultBranch: "main"},
				{ExternalID: "1", Name: "alpha", FullName: "acme/alpha", DefaultBranch: "main"},
			}, at))
			must(t, s.ReplaceRepositories(ctx, other.ID, []fb.Repository{{ExternalID: "1", Name: "x", FullName: "o/x", DefaultBranch: "main"}}, at))
			got, err := s.IntegrationRepositories(ctx, a.ID)
			must(t, err)
			if len(got) != 2 || got[0].FullName != "acme/alpha" || got[1].ExternalID != "2" || got[0].IntegrationID != a.ID {
				t.Fatalf("IntegrationRepositories = %+v", got)
			}
			got, err = s.IntegrationRepositories(ctx, "none")
			must(t, err)
			if len(got) != 0 {
				t.Fatalf("unknown integration lists %d", len(got))
			}
		})
	}
}

func TestUsersByEmail(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			s := b.Open(t, nil)
			for _, u := range []fb.User{
				{Key: "alice", Name: "alice", Active: true, Email: "Alice@Example.com"},
				{Key: "gone", Name: "gone", Active: false, Email: "gone@example.com"},
				{Key: "twin1", Name: "twin1", Active: true, Email: "twin@example.com"},
				{Key: "twin2", Name: "twin2", Active: true, Email: "TWIN@example.com"},
				{Key: "nomail", Name: "nomail", Active: true},
			} {
				must(t, s.CreateUser(ctx, u, nil))
			}
			got, err := s.UsersByEmail(ctx, []string{"alice@example.COM", "gone@example.com", "twin@example.com", "", "x@example.com"})
			must(t, err)
			if len(got) != 1 || got["alice@example.com"].Name != "alice" {
				t.Errorf("UsersByEmail = %+v, want alice alone (inactive and shared emails match no one)", got)
			}
			if u, err := s.User(ctx, "alice"); err != nil || u.Email != "Alice@Example.com" {
				t.Errorf("User(alice) = %+v, %v", u, err)
			}
		})
	}
}

func TestFinishIndexIsFenced(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			s := b.Open(t, nil)
			a := createIntegration(t, s, "a", "tok-a")
			must(t, s.ReplaceRepositories(ctx, a.ID, []fb.Repository{{ExternalID: "1", Name: "app", FullName: "acme/app", DefaultBranch: "main"}}, time.Now()))
			repos, err := s.IntegrationRepositories(ctx, a.ID)
			must(t, err)
			id := repos[0].ID
			ok, err := s.ClaimIndex(ctx, id, "successor", time.Now().Add(time.Minute))
			if err != nil || !ok {
				t.Fatalf("ClaimIndex = %v, %v", ok, err)
			}
			run := fb.IndexRun{RepositoryID: id, Owner: "stalled", StartedAt: time.Now(), Tips: map[string]string{"refs/heads/main": "old"},
				State: fb.IndexState{RepositoryID: id, State: fb.IndexIndexed, Commits: 1}}
			if err := s.FinishIndex(ctx, run); !errors.Is(err, fb.ErrLeaseLost) {
				t.Fatalf("FinishIndex of a run that lost its lease = %v, want ErrLeaseLost", err)
			}
			tips, _, err := s.IndexTips(ctx, id)
			must(t, err)
			if len(tips) != 0 {
				t.Errorf("the stalled run wrote its tips: %v", tips)
			}
			run.Owner = "successor"
			must(t, s.FinishIndex(ctx, run))
		})
	}
}
