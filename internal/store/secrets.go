package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/secret"
)

// Associated data binds a sealed credential to its row (secret's encoding),
// so that a ciphertext copied to another row does not decrypt.
var (
	userTokenAD             = secret.UserTokenAD
	integrationCredentialAD = secret.IntegrationCredentialAD
	webhookSecretAD         = secret.WebhookSecretAD
)

// sealedCredential is the plaintext of a sealed credential.
type sealedCredential struct {
	Token           string `json:"token,omitempty"`
	AccessKeyID     string `json:"accessKeyId,omitempty"`
	SecretAccessKey string `json:"secretAccessKey,omitempty"`
}

// seal encrypts c bound to ad. A zero credential seals to nil (NULL).
func (s *Store) seal(c fb.Credential, ad []byte) ([]byte, error) {
	if c.IsZero() {
		return nil, nil
	}
	plain, err := json.Marshal(sealedCredential{Token: c.Token, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey})
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	ct, err := s.cipher.Encrypt(plain, ad)
	if err != nil {
		return nil, fmt.Errorf("encrypting a credential: %w", err)
	}
	return ct, nil
}

// open decrypts a credential sealed bound to ad. A nil ciphertext is the zero credential.
func (s *Store) open(ct, ad []byte) (fb.Credential, error) {
	if ct == nil {
		return fb.Credential{}, nil
	}
	plain, err := s.cipher.Decrypt(ct, ad)
	if err != nil {
		return fb.Credential{}, err
	}
	defer clear(plain)
	var sc sealedCredential
	if err := json.Unmarshal(plain, &sc); err != nil {
		// The decoder's message could quote the plaintext: leave it out.
		return fb.Credential{}, fmt.Errorf("the decrypted credential is not valid JSON")
	}
	return fb.Credential{Token: sc.Token, AccessKeyID: sc.AccessKeyID, SecretAccessKey: sc.SecretAccessKey}, nil
}

// secretRow is one stored secret: an integration credential (userKey empty),
// a user token or an integration's webhook secret.
type secretRow struct {
	userKey       string
	integrationID string
	userToken     bool
	webhook       bool
	jiraGrant     bool // a person's Jira OAuth grant (userKey only)
	ciphertext    []byte
}

func (r secretRow) ad() []byte {
	switch {
	case r.jiraGrant:
		return jiraGrantAD(r.userKey)
	case r.userToken:
		return userTokenAD(r.userKey, r.integrationID)
	case r.webhook:
		return webhookSecretAD(r.integrationID)
	}
	return integrationCredentialAD(r.integrationID)
}

// describe names the row for a person, never its secret.
func (r secretRow) describe() string {
	switch {
	case r.jiraGrant:
		return fmt.Sprintf("the Jira grant of user %s", r.userKey)
	case r.userToken:
		return fmt.Sprintf("the token of user %s for integration %s", r.userKey, r.integrationID)
	case r.webhook:
		return fmt.Sprintf("the webhook secret of integration %s", r.integrationID)
	}
	return fmt.Sprintf("the credential of integration %s", r.integrationID)
}

func undecryptable(r secretRow, err error) error {
	e := fb.Errorf(fb.EInternal, "%s cannot be decrypted: the encryption keys do not match the one that sealed it", r.describe())
	e.IntegrationID = r.integrationID
	e.Err = err
	return e
}

// secretSources are the tables holding sealed secrets, each with how to
// read a row of it.
var secretSources = []struct {
	query string
	scan  func(rows *sql.Rows) (secretRow, error)
}{
	{"SELECT id, credential FROM integrations WHERE credential IS NOT NULL ORDER BY id",
		func(rows *sql.Rows) (r secretRow, err error) { return r, rows.Scan(&r.integrationID, &r.ciphertext) }},
	{"SELECT user_key, integration_id, credential FROM user_tokens ORDER BY user_key, integration_id",
		func(rows *sql.Rows) (r secretRow, err error) {
			r.userToken = true
			return r, rows.Scan(&r.userKey, &r.integrationID, &r.ciphertext)
		}},
	{"SELECT integration_id, secret FROM webhook_secrets ORDER BY integration_id",
		func(rows *sql.Rows) (r secretRow, err error) {
			r.webhook = true
			return r, rows.Scan(&r.integrationID, &r.ciphertext)
		}},
	{"SELECT user_key, tokens FROM jira_grants ORDER BY user_key",
		func(rows *sql.Rows) (r secretRow, err error) {
			r.jiraGrant = true
			return r, rows.Scan(&r.userKey, &r.ciphertext)
		}},
}

func secretRows(ctx context.Context, c conn) ([]secretRow, error) {
	var out []secretRow
	for _, src := range secretSources {
		rows, err := c.query(ctx, src.query)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			r, err := src.scan(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, r)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// replace stores ct in place of the row's ciphertext, compare-and-set on
// the old one: a value written meanwhile is not lost.
func (r secretRow) replace(ctx context.Context, c conn, ct []byte) (err error) {
	switch {
	case r.jiraGrant:
		_, err = c.exec(ctx, "UPDATE jira_grants SET tokens = ? WHERE user_key = ? AND tokens = ?",
			ct, r.userKey, r.ciphertext)
	case r.userToken:
		_, err = c.exec(ctx, "UPDATE user_tokens SET credential = ? WHERE user_key = ? AND integration_id = ? AND credential = ?",
			ct, r.userKey, r.integrationID, r.ciphertext)
	case r.webhook:
		_, err = c.exec(ctx, "UPDATE webhook_secrets SET secret = ? WHERE integration_id = ? AND secret = ?",
			ct, r.integrationID, r.ciphertext)
	default:
		_, err = c.exec(ctx, "UPDATE integrations SET credential = ? WHERE id = ? AND credential = ?",
			ct, r.integrationID, r.ciphertext)
	}
	return err
}

// maxReported caps how many undecryptable rows an error lists.
const maxReported = 5

// CheckSecrets decrypts every stored secret and reports how many it read. It
// fails naming the rows (never the secrets) that the cipher cannot decrypt.
func (s *Store) CheckSecrets(ctx context.Context) (n int, err error) {
	defer wrap(&err, "CheckSecrets")
	rows, err := secretRows(ctx, s.conn())
	if err != nil {
		return 0, err
	}
	var bad []secretRow
	var firstErr error
	for _, r := range rows {
		plain, err := s.cipher.Decrypt(r.ciphertext, r.ad())
		clear(plain)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			bad = append(bad, r)
		}
	}
	switch len(bad) {
	case 0:
		return len(rows), nil
	case 1:
		return len(rows), undecryptable(bad[0], firstErr)
	}
	var names []string
	for i, r := range bad {
		if i == maxReported {
			names = append(names, fmt.Sprintf("and %d more", len(bad)-maxReported))
			break
		}
		names = append(names, r.describe())
	}
	e := fb.Errorf(fb.EInternal, "%d of %d stored secrets cannot be decrypted with the current encryption keys: %s",
		len(bad), len(rows), strings.Join(names, "; "))
	e.Err = firstErr
	return len(rows), e
}

// ReencryptSecrets decrypts and encrypts again every stored secret in one
// transaction, so that all are sealed with the cipher's current primary key.
// A secret replaced meanwhile (PostgreSQL lets another writer in) keeps its
// new value, which was sealed with the current key anyway.
func (s *Store) ReencryptSecrets(ctx context.Context) (n int, err error) {
	defer wrap(&err, "ReencryptSecrets")
	err = s.inTx(ctx, func(c conn) error {
		rows, err := secretRows(ctx, c)
		if err != nil {
			return err
		}
		for _, r := range rows {
			ad := r.ad()
			plain, err := s.cipher.Decrypt(r.ciphertext, ad)
			if err != nil {
				return undecryptable(r, err)
			}
			ct, err := s.cipher.Encrypt(plain, ad)
			clear(plain)
			if err != nil {
				return fmt.Errorf("encrypting %s: %w", r.describe(), err)
			}
			if err := r.replace(ctx, c, ct); err != nil {
				return fmt.Errorf("storing %s: %w", r.describe(), err)
			}
		}
		n = len(rows)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
