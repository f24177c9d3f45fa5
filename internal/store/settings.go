package store

import (
	"context"
	"database/sql"
	"errors"

	fb "github.com/forgebridge/forgebridge"
)

// Settings returns the global settings, forgebridge.DefaultSettings until
// they are first updated.
func (s *Store) Settings(ctx context.Context) (_ fb.Settings, err error) {
	defer wrap(&err, "Settings")
	var st fb.Settings
	err = s.conn().queryRow(ctx, `SELECT require_user_pat_everywhere, branch_name_template, branch_name_max_length
		FROM settings WHERE id = 1`).Scan(&st.RequireUserPATEverywhere, &st.BranchNameTemplate, &st.BranchNameMaxLength)
	if errors.Is(err, sql.ErrNoRows) {
		return fb.DefaultSettings, nil
	}
	if err != nil {
		return fb.Settings{}, err
	}
	return st, nil
}

// UpdateSettings replaces the global settings.
func (s *Store) UpdateSettings(ctx context.Context, st fb.Settings) (err error) {
	defer wrap(&err, "UpdateSettings")
	_, err = s.conn().exec(ctx, `INSERT INTO settings (id, require_user_pat_everywhere, branch_name_template, branch_name_max_length)
		VALUES (1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			require_user_pat_everywhere = excluded.require_user_pat_everywhere,
			branch_name_template = excluded.branch_name_template,
			branch_name_max_length = excluded.branch_name_max_length`,
		st.RequireUserPATEverywhere, st.BranchNameTemplate, st.BranchNameMaxLength)
	return err
}
