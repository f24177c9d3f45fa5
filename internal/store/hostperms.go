package store

import (
	"context"
	"slices"

	fb "github.com/forgebridge/forgebridge"
)

var _ fb.HostPermissionStore = (*Store)(nil)

// HostPermissions returns the person's remembered host answers for the
// repositories, in chunks of the driver's parameter limit.
func (s *Store) HostPermissions(ctx context.Context, userKey string, repositoryIDs []string) (_ map[string]fb.HostPermission, err error) {
	defer wrap(&err, "HostPermissions(%q, %d repositories)", userKey, len(repositoryIDs))
	out := make(map[string]fb.HostPermission, len(repositoryIDs))
	for chunk := range slices.Chunk(repositoryIDs, inList) {
		rows, err := s.conn().query(ctx, `SELECT repository_id, readable, token_updated_at, checked_at FROM host_permissions
			WHERE user_key = ? AND repository_id IN (`+placeholders(len(chunk))+`)`, append([]any{userKey}, anys(chunk)...)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var p fb.HostPermission
			var token, checked int64
			if err := rows.Scan(&p.RepositoryID, &p.Readable, &token, &checked); err != nil {
				rows.Close()
				return nil, err
			}
			p.TokenUpdatedAt, p.CheckedAt = fromMicros(token), fromMicros(checked)
			out[p.RepositoryID] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PutHostPermission records an answer; one for a repository removed
// meanwhile is dropped (there is nothing left to see).
func (s *Store) PutHostPermission(ctx context.Context, userKey string, p fb.HostPermission) (err error) {
	defer wrap(&err, "PutHostPermission(%q, %q)", userKey, p.RepositoryID)
	_, err = s.execWrite(ctx, `INSERT INTO host_permissions (user_key, repository_id, readable, token_updated_at, checked_at)
		SELECT ?, id, ?, ?, ? FROM repositories WHERE id = ?
		ON CONFLICT (user_key, repository_id) DO UPDATE SET readable = excluded.readable,
			token_updated_at = excluded.token_updated_at, checked_at = excluded.checked_at`,
		userKey, p.Readable, micros(p.TokenUpdatedAt), micros(p.CheckedAt), p.RepositoryID)
	return err
}

// ForgetHostPermissions drops the person's answers for the integration's repositories.
func (s *Store) ForgetHostPermissions(ctx context.Context, userKey, integrationID string) (err error) {
	defer wrap(&err, "ForgetHostPermissions(%q, %q)", userKey, integrationID)
	_, err = s.execWrite(ctx, `DELETE FROM host_permissions WHERE user_key = ?
		AND repository_id IN (SELECT id FROM repositories WHERE integration_id = ?)`, userKey, integrationID)
	return err
}
