package store

import (
	"context"
	"slices"

	fb "github.com/forgebridge/forgebridge"
)

// ForgetBranch takes a branch deleted on its host off every issue at once:
// its rows in issue_branches, and the tracker link state of globalID, with
// the audit entry e, in one transaction. It returns the keys of the issues
// the branch or its link was recorded against, sorted, so that the caller
// can remove their tracker links.
func (s *Store) ForgetBranch(ctx context.Context, repositoryID, name, globalID string, e *fb.AuditEntry) (keys []string, err error) {
	defer wrap(&err, "ForgetBranch(%q, %q)", repositoryID, name)
	err = s.inTx(ctx, func(c conn) error {
		keys = keys[:0]
		for _, q := range []struct{ query, arg1, arg2 string }{
			{`SELECT issue_key FROM issue_branches WHERE repository_id = ? AND name = ?`, repositoryID, name},
			{`SELECT issue_key FROM tracker_links WHERE global_id = ? AND global_id <> ?`, globalID, ""},
		} {
			rows, err := c.query(ctx, q.query, q.arg1, q.arg2)
			if err != nil {
				return err
			}
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					rows.Close()
					return err
				}
				keys = append(keys, k)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		if _, err := c.exec(ctx, `DELETE FROM issue_branches WHERE repository_id = ? AND name = ?`, repositoryID, name); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM tracker_links WHERE global_id = ?`, globalID); err != nil {
			return err
		}
		if e != nil {
			return c.addAudit(ctx, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}
