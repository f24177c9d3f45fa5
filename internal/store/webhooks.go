package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// SetWebhookSecret seals and stores the integration's webhook secret,
// replacing the one it had, with the audit entry of the change.
func (s *Store) SetWebhookSecret(ctx context.Context, integrationID, secret string, at time.Time, audit *fb.AuditEntry) (err error) {
	defer wrap(&err, "SetWebhookSecret(%q)", integrationID)
	return s.inTx(ctx, func(c conn) error {
		if err := s.putWebhookSecret(ctx, c, integrationID, secret, at); err != nil {
			return err
		}
		return c.addAuditIf(ctx, audit)
	})
}

// putWebhookSecret seals and stores the integration's webhook secret in c's
// transaction.
func (s *Store) putWebhookSecret(ctx context.Context, c conn, integrationID, secret string, at time.Time) error {
	ct, err := s.seal(fb.Credential{Token: secret}, webhookSecretAD(integrationID))
	if err != nil {
		return err
	}
	if ct == nil {
		return fb.Errorf(fb.EInvalid, "A webhook secret cannot be empty.")
	}
	var one int
	err = c.queryRow(ctx, "SELECT 1 FROM integrations WHERE id = ?", integrationID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fb.Errorf(fb.ENotFound, "Integration %s does not exist.", integrationID)
	} else if err != nil {
		return err
	}
	_, err = c.exec(ctx, `INSERT INTO webhook_secrets (integration_id, secret, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (integration_id) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at`,
		integrationID, ct, micros(at))
	return err
}

// WebhookSecret returns the integration's webhook secret; ENotFound when it
// has none (or the integration does not exist).
func (s *Store) WebhookSecret(ctx context.Context, integrationID string) (_ string, err error) {
	defer wrap(&err, "WebhookSecret(%q)", integrationID)
	var ct []byte
	err = s.conn().queryRow(ctx, "SELECT secret FROM webhook_secrets WHERE integration_id = ?", integrationID).Scan(&ct)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fb.Errorf(fb.ENotFound, "Integration %s has no webhook secret.", integrationID)
	} else if err != nil {
		return "", err
	}
	c, err := s.open(ct, webhookSecretAD(integrationID))
	if err != nil {
		return "", undecryptable(secretRow{integrationID: integrationID, webhook: true}, err)
	}
	return c.Token, nil
}

// WebhookSecretsConfigured says which of the integrations have a webhook
// secret, without decrypting any.
func (s *Store) WebhookSecretsConfigured(ctx context.Context) (_ map[string]bool, err error) {
	defer wrap(&err, "WebhookSecretsConfigured")
	rows, err := s.conn().query(ctx, "SELECT integration_id FROM webhook_secrets")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

var _ fb.WebhookSecretStore = (*Store)(nil)
