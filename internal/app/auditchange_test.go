package app_test

import (
	"context"
	"errors"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

// noSeparateAudit is a store whose stand-alone audit writes fail: only
// entries written in a change's own transaction get through.
type noSeparateAudit struct{ fb.Store }

func (noSeparateAudit) AddAudit(context.Context, *fb.AuditEntry) error {
	return errors.New("audit log unavailable")
}

// TestAdminChangesAuditedWithTheChange: rotating a webhook secret writes
// its entry in the rotation's transaction; a reset reindex, which the queue
// (not the store) carries out, is not queued unless its entry was written.
func TestAdminChangesAuditedWithTheChange(t *testing.T) {
	ctx := t.Context()
	st := storetest.OpenSQLite(t, nil)
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main")
	queue := &scriptedQueue{}
	svc := &app.Service{Store: noSeparateAudit{st}, Tracker: &local.Tracker{Store: st}, Providers: drivers.New, Queue: queue,
		Index: app.Indexing{Store: st, Secrets: st, Webhooks: drivers.Webhook}}
	admin, _, err := svc.AddUser(ctx, fb.User{Name: "admin", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	kind, base := fb.KindGitHub, gh.URL()
	in, err := svc.CreateIntegration(ctx, admin, app.IntegrationInput{Name: new("GitHub"), Kind: &kind, BaseURL: &base,
		Credential: &fb.Credential{Token: "svc"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.NewWebhookSecret(ctx, admin, in.ID); err != nil {
		t.Fatal(err)
	}
	entries, _, err := st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: app.AuditWebhookSecret})
	if err != nil || len(entries) != 1 || entries[0].User != "admin" || entries[0].Outcome != fb.AuditOutcomeSuccess {
		t.Fatalf("webhook.secret entries = %+v, %v; want one, written with the rotation", entries, err)
	}
	queued := len(queue.indexed)
	if _, err := svc.ReindexIntegration(ctx, admin, in.ID, true); err == nil {
		t.Error("a reset reindex went ahead without its audit entry")
	}
	if len(queue.indexed) != queued {
		t.Errorf("a reset was queued without its audit entry")
	}
	if _, err := svc.ReindexIntegration(ctx, admin, in.ID, false); err != nil {
		t.Errorf("a plain reindex: %v", err)
	}
}
