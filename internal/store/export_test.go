package store

import "context"

// ExecRaw runs a statement written with ? placeholders on the store's
// database, for tests that tamper with rows behind the store's back.
func (s *Store) ExecRaw(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.conn().exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
