package store

import (
	"context"

	fb "github.com/forgebridge/forgebridge"
)

// IntegrationRepositories lists every repository of an integration, for
// webhooks and index runs that name repositories by the provider's id.
func (s *Store) IntegrationRepositories(ctx context.Context, integrationID string) (_ []fb.Repository, err error) {
	defer wrap(&err, "IntegrationRepositories(%q)", integrationID)
	rows, err := s.conn().query(ctx, `SELECT `+repositoryColumns+` FROM repositories WHERE integration_id = ? ORDER BY sort_name, id`, integrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fb.Repository
	for rows.Next() {
		r, err := scanRepository(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
