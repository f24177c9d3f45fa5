package store

import (
	"context"
	"database/sql"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// ExpiringTokens counts the user tokens that are still usable (valid or
// unverified) and the API tokens (sign-in sessions aside) whose expiry falls
// in [now, until), for /metrics.
func (s *Store) ExpiringTokens(ctx context.Context, now, until time.Time) (_ []fb.TokenCount, err error) {
	defer wrap(&err, "ExpiringTokens")
	c := s.conn()
	rows, err := c.query(ctx, `SELECT i.kind, COUNT(*) FROM user_tokens t JOIN integrations i ON i.id = t.integration_id
		WHERE t.expires_at >= ? AND t.expires_at < ? AND t.status IN (?, ?) GROUP BY i.kind ORDER BY i.kind`,
		micros(now), micros(until), string(fb.TokenValid), string(fb.TokenUnverified))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fb.TokenCount
	for rows.Next() {
		tc := fb.TokenCount{Type: "user_token"}
		if err := rows.Scan(&tc.Kind, &tc.Count); err != nil {
			return nil, err
		}
		out = append(out, tc)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	api := fb.TokenCount{Type: "api_token"}
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM api_tokens WHERE expires_at >= ? AND expires_at < ? AND name NOT IN (?, ?)`,
		micros(now), micros(until), fb.SessionTokenName, fb.JiraSessionTokenName).Scan(&api.Count); err != nil {
		return nil, err
	}
	return append(out, api), nil
}

// RepositoryIndexes returns where the indexing of every repository stands,
// for /metrics; a repository never indexed is pending.
func (s *Store) RepositoryIndexes(ctx context.Context) (_ []fb.RepositoryIndex, err error) {
	defer wrap(&err, "RepositoryIndexes")
	rows, err := s.conn().query(ctx, `SELECT r.id, r.full_name, COALESCE(x.state, ''), x.indexed_at
		FROM repositories r LEFT JOIN index_state x ON x.repository_id = r.id ORDER BY r.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fb.RepositoryIndex
	for rows.Next() {
		var (
			ri      fb.RepositoryIndex
			state   string
			indexed sql.NullInt64
		)
		if err := rows.Scan(&ri.RepositoryID, &ri.Repository, &state, &indexed); err != nil {
			return nil, err
		}
		ri.State = fb.IndexStateName(state)
		if state == "" {
			ri.State = fb.IndexPending
		}
		ri.IndexedAt = timePtr(indexed)
		out = append(out, ri)
	}
	return out, rows.Err()
}
