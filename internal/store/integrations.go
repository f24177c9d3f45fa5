package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

const integrationColumns = `id, name, kind, base_url, region, server_version, api_path, repository_filter,
	projects, create_branch, create_pull_request, require_user_pat, proxy_url, ca_bundle,
	insecure_skip_tls_verify, credential, credential_login, repository_count, discovered_at,
	created_at, updated_at, version, credential_user_id, smart_commits, enforce_permissions, diff_viewing`

// CreateIntegration stores a new integration, assigning in.ID, CreatedAt and UpdatedAt.
func (s *Store) CreateIntegration(ctx context.Context, in *fb.Integration) (err error) {
	defer wrap(&err, "CreateIntegration(%q)", in.Name)
	return s.createIntegration(ctx, s.conn(), in)
}

// CreateIntegrationWithRepositories stores a new integration and its
// repositories in one transaction: both or neither.
func (s *Store) CreateIntegrationWithRepositories(ctx context.Context, in *fb.Integration, repos []fb.Repository, at time.Time) (err error) {
	defer wrap(&err, "CreateIntegrationWithRepositories(%q)", in.Name)
	return s.withRepositories(ctx, in, repos, at, s.createIntegration)
}

// UpdateIntegrationWithRepositories updates the integration and makes repos
// its repositories in one transaction: both or neither.
func (s *Store) UpdateIntegrationWithRepositories(ctx context.Context, in *fb.Integration, repos []fb.Repository, at time.Time) (err error) {
	defer wrap(&err, "UpdateIntegrationWithRepositories(%q)", in.ID)
	return s.withRepositories(ctx, in, repos, at, s.updateIntegration)
}

// withRepositories saves the integration with save and replaces its
// repositories in one transaction; in changes only if both succeed.
func (s *Store) withRepositories(ctx context.Context, in *fb.Integration, repos []fb.Repository, at time.Time,
	save func(context.Context, conn, *fb.Integration) error) error {
	saved := *in
	err := s.inTx(ctx, func(c conn) error {
		if err := save(ctx, c, &saved); err != nil {
			return err
		}
		return c.replaceRepositories(ctx, saved.ID, nil, repos, at)
	})
	if err != nil {
		return err
	}
	saved.RepositoryCount, saved.DiscoveredAt = len(repos), &at
	*in = saved
	return nil
}

func (s *Store) createIntegration(ctx context.Context, c conn, in *fb.Integration) error {
	id := newID()
	cred, err := s.seal(in.Credential, integrationCredentialAD(id))
	if err != nil {
		return err
	}
	projects, err := marshalList(in.Projects)
	if err != nil {
		return err
	}
	t := now()
	_, err = c.exec(ctx, `INSERT INTO integrations (`+integrationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
		id, in.Name, string(in.Kind), in.BaseURL, in.Region, in.ServerVersion, in.APIPath, in.RepositoryFilter,
		projects, in.Settings.CreateBranch, in.Settings.CreatePullRequest, in.Settings.RequireUserPAT, in.ProxyURL, in.CABundle,
		in.InsecureSkipTLSVerify, cred, in.CredentialLogin, in.RepositoryCount, nullMicros(in.DiscoveredAt),
		micros(t), micros(t), in.CredentialUserID, in.Settings.SmartCommits, in.Settings.EnforcePermissions, in.Settings.DiffViewing)
	if isUniqueViolation(err) {
		return fb.Errorf(fb.EAlreadyExists, "an integration with id %s already exists", id)
	}
	if err != nil {
		return err
	}
	in.ID, in.CreatedAt, in.UpdatedAt, in.Version, in.CredentialStored = id, t, t, "1", cred != nil
	return nil
}

// Integration returns the integration with its credential decrypted.
func (s *Store) Integration(ctx context.Context, id string) (_ fb.Integration, err error) {
	defer wrap(&err, "Integration(%q)", id)
	in, err := s.scanIntegration(s.conn().queryRow(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return fb.Integration{}, integrationNotFound(id)
	}
	return in, err
}

// Integrations returns every integration by name. Credentials are not
// decrypted (CredentialStored says which have one): a listing must not fail
// for everyone because one row cannot be opened; Integration decrypts.
func (s *Store) Integrations(ctx context.Context) (_ []fb.Integration, err error) {
	defer wrap(&err, "Integrations")
	rows, err := s.conn().query(ctx, `SELECT `+integrationColumns+` FROM integrations ORDER BY lower(name), id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fb.Integration
	for rows.Next() {
		in, err := s.scanSealedIntegration(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// UpdateIntegration writes every field of the integration the caller may
// change, the credential included, whatever its version, and sets
// in.UpdatedAt and in.Version. The repository count, discovery time and
// creation time are the store's: it fills them in.
func (s *Store) UpdateIntegration(ctx context.Context, in *fb.Integration) (err error) {
	defer wrap(&err, "UpdateIntegration(%q)", in.ID)
	updated := *in
	if err := s.inTx(ctx, func(c conn) error { return s.updateIntegration(ctx, c, &updated) }); err != nil {
		return err
	}
	*in = updated
	return nil
}

func (s *Store) updateIntegration(ctx context.Context, c conn, in *fb.Integration) error {
	_, err := s.writeIntegration(ctx, c, in)
	return err
}

// writeIntegration writes the integration at its next version. When its
// address changes (base URL, region, proxy, CA bundle, TLS verification) it
// removes the people's tokens for it in the same transaction, and says
// whose: they were given for the old address and must never be sent to the
// new one.
func (s *Store) writeIntegration(ctx context.Context, c conn, in *fb.Integration) (dropped []string, err error) {
	var baseURL, region, proxyURL, caBundle string
	var insecure bool
	err = c.queryRow(ctx, `SELECT base_url, region, proxy_url, ca_bundle, insecure_skip_tls_verify FROM integrations WHERE id = ?`+c.forUpdate(),
		in.ID).Scan(&baseURL, &region, &proxyURL, &caBundle, &insecure)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, integrationNotFound(in.ID)
	} else if err != nil {
		return nil, err
	}
	if baseURL != in.BaseURL || region != in.Region || proxyURL != in.ProxyURL || caBundle != in.CABundle || insecure != in.InsecureSkipTLSVerify {
		if dropped, err = c.deleteIntegrationTokens(ctx, in.ID); err != nil {
			return nil, fmt.Errorf("removing the tokens given for the old address: %w", err)
		}
	}
	cred, err := s.seal(in.Credential, integrationCredentialAD(in.ID))
	if err != nil {
		return nil, err
	}
	projects, err := marshalList(in.Projects)
	if err != nil {
		return nil, err
	}
	t := now()
	var discovered sql.NullInt64
	var created, version int64
	err = c.queryRow(ctx, `UPDATE integrations SET name = ?, kind = ?, base_url = ?, region = ?, server_version = ?,
			api_path = ?, repository_filter = ?, projects = ?, create_branch = ?, create_pull_request = ?,
			require_user_pat = ?, proxy_url = ?, ca_bundle = ?, insecure_skip_tls_verify = ?, credential = ?,
			credential_login = ?, credential_user_id = ?, smart_commits = ?, enforce_permissions = ?, diff_viewing = ?,
			updated_at = ?, version = version + 1
		WHERE id = ?
		RETURNING repository_count, discovered_at, created_at, version`,
		in.Name, string(in.Kind), in.BaseURL, in.Region, in.ServerVersion,
		in.APIPath, in.RepositoryFilter, projects, in.Settings.CreateBranch, in.Settings.CreatePullRequest,
		in.Settings.RequireUserPAT, in.ProxyURL, in.CABundle, in.InsecureSkipTLSVerify, cred,
		in.CredentialLogin, in.CredentialUserID, in.Settings.SmartCommits, in.Settings.EnforcePermissions,
		in.Settings.DiffViewing, micros(t), in.ID).Scan(&in.RepositoryCount, &discovered, &created, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, integrationNotFound(in.ID)
	}
	if err != nil {
		return nil, err
	}
	in.DiscoveredAt, in.CreatedAt, in.UpdatedAt, in.CredentialStored = timePtr(discovered), fromMicros(created), t, cred != nil
	in.Version = strconv.FormatInt(version, 10)
	return dropped, nil
}

// deleteIntegrationTokens removes every person's token for the integration
// and returns their user keys.
func (c conn) deleteIntegrationTokens(ctx context.Context, integrationID string) ([]string, error) {
	rows, err := c.query(ctx, `DELETE FROM user_tokens WHERE integration_id = ? RETURNING user_key`, integrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(keys)
	return keys, nil
}

// CreateIntegrationWith creates the integration and writes w with it (its
// repositories, webhook secret, audit entry) in one transaction: all or
// nothing. in changes only if it all succeeds.
func (s *Store) CreateIntegrationWith(ctx context.Context, in *fb.Integration, w fb.IntegrationWrite) (err error) {
	defer wrap(&err, "CreateIntegrationWith(%q)", in.Name)
	saved := *in
	err = s.inTx(ctx, func(c conn) error {
		if err := s.createIntegration(ctx, c, &saved); err != nil {
			return err
		}
		if w.Audit != nil && w.Audit.IntegrationID == "" {
			w.Audit.IntegrationID = saved.ID
		}
		return s.writeWith(ctx, c, &saved, w)
	})
	if err != nil {
		return err
	}
	*in = saved
	return nil
}

// ChangeIntegration reads the integration under a lock (PostgreSQL: its
// row; SQLite: the write transaction), checks its version, lets change
// modify it and writes it at the next version with what change returns.
// Concurrent changes take turns, each merging into what the one before
// wrote, so a slow change never undoes a quicker one made meanwhile.
func (s *Store) ChangeIntegration(ctx context.Context, id, ifVersion string,
	change func(*fb.Integration) (fb.IntegrationWrite, error)) (_ fb.Integration, dropped []string, err error) {
	defer wrap(&err, "ChangeIntegration(%q)", id)
	var out fb.Integration
	err = s.inTx(ctx, func(c conn) error {
		cur, err := s.lockIntegration(ctx, c, id, ifVersion)
		if err != nil {
			return err
		}
		next := cur
		next.Projects = slices.Clone(cur.Projects)
		w, err := change(&next)
		if err != nil {
			return err
		}
		next.ID = id // the id is the row's, whatever change did
		if dropped, err = s.writeIntegration(ctx, c, &next); err != nil {
			return err
		}
		if err := s.writeWith(ctx, c, &next, w); err != nil {
			return err
		}
		if w.TokenDropped != nil {
			for _, key := range dropped {
				if err := c.addAudit(ctx, w.TokenDropped(key)); err != nil {
					return err
				}
			}
		}
		out = next
		return nil
	})
	if err != nil {
		return fb.Integration{}, nil, err
	}
	return out, dropped, nil
}

// lockIntegration reads the integration for a change and checks it is at
// ifVersion (when set).
func (s *Store) lockIntegration(ctx context.Context, c conn, id, ifVersion string) (fb.Integration, error) {
	cur, err := s.scanIntegration(c.queryRow(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE id = ?`+c.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return fb.Integration{}, integrationNotFound(id)
	} else if err != nil {
		return fb.Integration{}, err
	}
	if ifVersion != "" && ifVersion != cur.Version {
		return fb.Integration{}, versionMismatch(fmt.Sprintf("Integration %s", cur.Name))
	}
	return cur, nil
}

// writeWith writes what goes with a saved integration in its transaction.
func (s *Store) writeWith(ctx context.Context, c conn, in *fb.Integration, w fb.IntegrationWrite) error {
	if w.Discovered {
		if err := c.replaceRepositories(ctx, in.ID, nil, w.Repositories, w.At); err != nil {
			return err
		}
		at := w.At
		in.RepositoryCount, in.DiscoveredAt = len(w.Repositories), &at
	}
	if w.WebhookSecret != "" {
		if err := s.putWebhookSecret(ctx, c, in.ID, w.WebhookSecret, normalizeTime(w.At)); err != nil {
			return err
		}
	}
	if w.Audit != nil {
		return c.addAudit(ctx, w.Audit)
	}
	return nil
}

// DeleteIntegration removes the integration; its user tokens go with it,
// and its repositories with what was indexed of them and their links.
func (s *Store) DeleteIntegration(ctx context.Context, id string) (err error) {
	defer wrap(&err, "DeleteIntegration(%q)", id)
	return s.inTx(ctx, func(c conn) error { return c.deleteIntegration(ctx, id) })
}

// DeleteIntegrationWith is DeleteIntegration with a version check and the
// audit entry e written in the same transaction: both or neither.
func (s *Store) DeleteIntegrationWith(ctx context.Context, id, ifVersion string, e *fb.AuditEntry) (err error) {
	defer wrap(&err, "DeleteIntegrationWith(%q)", id)
	return s.inTx(ctx, func(c conn) error {
		if ifVersion != "" {
			if _, err := s.lockIntegration(ctx, c, id, ifVersion); err != nil {
				return err
			}
		}
		if err := c.deleteIntegration(ctx, id); err != nil {
			return err
		}
		if e != nil {
			return c.addAudit(ctx, e)
		}
		return nil
	})
}

func (c conn) deleteIntegration(ctx context.Context, id string) error {
	// Concurrent discoveries of the integration wait (existingRepositories),
	// so these are all its repositories.
	known, err := c.existingRepositories(ctx, id, nil)
	if err != nil {
		return err
	}
	if err := c.deleteRepositories(ctx, `integration_id = ?`, slices.Collect(maps.Values(known)), id); err != nil {
		return err
	}
	_, err = c.exec(ctx, `DELETE FROM integrations WHERE id = ?`, id)
	return err
}

func (s *Store) scanIntegration(row interface{ Scan(...any) error }) (fb.Integration, error) {
	return s.scanSealedIntegration(row, true)
}

// scanSealedIntegration reads an integration, its credential decrypted only when open is set.
func (s *Store) scanSealedIntegration(row interface{ Scan(...any) error }, open bool) (fb.Integration, error) {
	in, cred, err := scanIntegrationRow(row)
	if err != nil || !open {
		return in, err
	}
	return s.openIntegration(in, cred)
}

// openIntegration sets the integration's credential from its sealed form.
func (s *Store) openIntegration(in fb.Integration, cred []byte) (fb.Integration, error) {
	var err error
	if in.Credential, err = s.open(cred, integrationCredentialAD(in.ID)); err != nil {
		return fb.Integration{}, undecryptable(secretRow{integrationID: in.ID}, err)
	}
	return in, nil
}

// scanIntegrationRow reads an integration and its sealed credential.
func scanIntegrationRow(row interface{ Scan(...any) error }) (fb.Integration, []byte, error) {
	var (
		in               fb.Integration
		kind, projects   string
		cred             []byte
		discovered       sql.NullInt64
		created, updated int64
		version          int64
	)
	err := row.Scan(&in.ID, &in.Name, &kind, &in.BaseURL, &in.Region, &in.ServerVersion, &in.APIPath, &in.RepositoryFilter,
		&projects, &in.Settings.CreateBranch, &in.Settings.CreatePullRequest, &in.Settings.RequireUserPAT, &in.ProxyURL, &in.CABundle,
		&in.InsecureSkipTLSVerify, &cred, &in.CredentialLogin, &in.RepositoryCount, &discovered,
		&created, &updated, &version, &in.CredentialUserID, &in.Settings.SmartCommits, &in.Settings.EnforcePermissions,
		&in.Settings.DiffViewing)
	if err != nil {
		return fb.Integration{}, nil, err
	}
	in.Version = strconv.FormatInt(version, 10)
	in.Kind = fb.Kind(kind)
	if in.Projects, err = unmarshalList(projects); err != nil {
		return fb.Integration{}, nil, fmt.Errorf("reading the projects of integration %s: %w", in.ID, err)
	}
	in.DiscoveredAt, in.CreatedAt, in.UpdatedAt = timePtr(discovered), fromMicros(created), fromMicros(updated)
	in.CredentialStored = len(cred) > 0
	return in, cred, nil
}

// marshalList encodes a list of strings as a JSON array, [] for none.
func marshalList(l []string) (string, error) {
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(l)
	return string(b), err
}

// unmarshalList decodes a JSON array of strings; none is nil.
func unmarshalList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}
