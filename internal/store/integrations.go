package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

const integrationColumns = `id, name, kind, base_url, region, server_version, api_path, repository_filter,
	projects, create_branch, create_pull_request, require_user_pat, proxy_url, ca_bundle,
	insecure_skip_tls_verify, credential, credential_login, repository_count, discovered_at,
	created_at, updated_at`

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
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, in.Name, string(in.Kind), in.BaseURL, in.Region, in.ServerVersion, in.APIPath, in.RepositoryFilter,
		projects, in.Settings.CreateBranch, in.Settings.CreatePullRequest, in.Settings.RequireUserPAT, in.ProxyURL, in.CABundle,
		in.InsecureSkipTLSVerify, cred, in.CredentialLogin, in.RepositoryCount, nullMicros(in.DiscoveredAt),
		micros(t), micros(t))
	if isUniqueViolation(err) {
		return fb.Errorf(fb.EAlreadyExists, "an integration with id %s already exists", id)
	}
	if err != nil {
		return err
	}
	in.ID, in.CreatedAt, in.UpdatedAt, in.CredentialStored = id, t, t, cred != nil
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
// change, the credential included, and sets in.UpdatedAt. The repository
// count, discovery time and creation time are the store's: it fills them in.
func (s *Store) UpdateIntegration(ctx context.Context, in *fb.Integration) (err error) {
	defer wrap(&err, "UpdateIntegration(%q)", in.ID)
	updated := *in
	if err := s.inTx(ctx, func(c conn) error { return s.updateIntegration(ctx, c, &updated) }); err != nil {
		return err
	}
	*in = updated
	return nil
}

// updateIntegration writes the integration. When its address changes (base
// URL, region, proxy, CA bundle, TLS verification) it removes the people's
// tokens for it in the same transaction: they were given for the old address
// and must never be sent to the new one.
func (s *Store) updateIntegration(ctx context.Context, c conn, in *fb.Integration) error {
	var baseURL, region, proxyURL, caBundle string
	var insecure bool
	err := c.queryRow(ctx, `SELECT base_url, region, proxy_url, ca_bundle, insecure_skip_tls_verify FROM integrations WHERE id = ?`,
		in.ID).Scan(&baseURL, &region, &proxyURL, &caBundle, &insecure)
	if errors.Is(err, sql.ErrNoRows) {
		return integrationNotFound(in.ID)
	} else if err != nil {
		return err
	}
	if baseURL != in.BaseURL || region != in.Region || proxyURL != in.ProxyURL || caBundle != in.CABundle || insecure != in.InsecureSkipTLSVerify {
		if _, err := c.exec(ctx, `DELETE FROM user_tokens WHERE integration_id = ?`, in.ID); err != nil {
			return fmt.Errorf("removing the tokens given for the old address: %w", err)
		}
	}
	cred, err := s.seal(in.Credential, integrationCredentialAD(in.ID))
	if err != nil {
		return err
	}
	projects, err := marshalList(in.Projects)
	if err != nil {
		return err
	}
	t := now()
	var discovered sql.NullInt64
	var created int64
	err = c.queryRow(ctx, `UPDATE integrations SET name = ?, kind = ?, base_url = ?, region = ?, server_version = ?,
			api_path = ?, repository_filter = ?, projects = ?, create_branch = ?, create_pull_request = ?,
			require_user_pat = ?, proxy_url = ?, ca_bundle = ?, insecure_skip_tls_verify = ?, credential = ?,
			credential_login = ?, updated_at = ?
		WHERE id = ?
		RETURNING repository_count, discovered_at, created_at`,
		in.Name, string(in.Kind), in.BaseURL, in.Region, in.ServerVersion,
		in.APIPath, in.RepositoryFilter, projects, in.Settings.CreateBranch, in.Settings.CreatePullRequest,
		in.Settings.RequireUserPAT, in.ProxyURL, in.CABundle, in.InsecureSkipTLSVerify, cred,
		in.CredentialLogin, micros(t), in.ID).Scan(&in.RepositoryCount, &discovered, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return integrationNotFound(in.ID)
	}
	if err != nil {
		return err
	}
	in.DiscoveredAt, in.CreatedAt, in.UpdatedAt, in.CredentialStored = timePtr(discovered), fromMicros(created), t, cred != nil
	return nil
}

// DeleteIntegration removes the integration; its user tokens go with it,
// and its repositories with what was indexed of them and their links.
func (s *Store) DeleteIntegration(ctx context.Context, id string) (err error) {
	defer wrap(&err, "DeleteIntegration(%q)", id)
	return s.inTx(ctx, func(c conn) error {
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
	})
}

func (s *Store) scanIntegration(row interface{ Scan(...any) error }) (fb.Integration, error) {
	return s.scanSealedIntegration(row, true)
}

// scanSealedIntegration reads an integration, its credential decrypted only when open is set.
func (s *Store) scanSealedIntegration(row interface{ Scan(...any) error }, open bool) (fb.Integration, error) {
	var (
		in               fb.Integration
		kind, projects   string
		cred             []byte
		discovered       sql.NullInt64
		created, updated int64
	)
	err := row.Scan(&in.ID, &in.Name, &kind, &in.BaseURL, &in.Region, &in.ServerVersion, &in.APIPath, &in.RepositoryFilter,
		&projects, &in.Settings.CreateBranch, &in.Settings.CreatePullRequest, &in.Settings.RequireUserPAT, &in.ProxyURL, &in.CABundle,
		&in.InsecureSkipTLSVerify, &cred, &in.CredentialLogin, &in.RepositoryCount, &discovered,
		&created, &updated)
	if err != nil {
		return fb.Integration{}, err
	}
	in.Kind = fb.Kind(kind)
	if in.Projects, err = unmarshalList(projects); err != nil {
		return fb.Integration{}, fmt.Errorf("reading the projects of integration %s: %w", in.ID, err)
	}
	in.DiscoveredAt, in.CreatedAt, in.UpdatedAt = timePtr(discovered), fromMicros(created), fromMicros(updated)
	in.CredentialStored = len(cred) > 0
	if !open {
		return in, nil
	}
	if in.Credential, err = s.open(cred, integrationCredentialAD(in.ID)); err != nil {
		return fb.Integration{}, undecryptable(secretRow{integrationID: in.ID}, err)
	}
	return in, nil
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
