package store

import (
	"context"
	"database/sql"
	"errors"

	fb "github.com/forgebridge/forgebridge"
)

// addAuditOnce adds an audit entry unless one with the same action id is
// stored already, in which case e takes that entry's id and time. It runs in
// a transaction: the insert and the action id are written together, and of
// two concurrent writes of one action the second fails on the unique index
// (and finds the first's entry when tried again).
func (c conn) addAuditOnce(ctx context.Context, e *fb.AuditEntry) error {
	if e.ActionID == "" {
		return c.addAudit(ctx, e)
	}
	var at int64
	err := c.queryRow(ctx, `SELECT id, created_at FROM audit WHERE action_id = ?`, e.ActionID).Scan(&e.ID, &at)
	switch {
	case err == nil:
		e.Time = fromMicros(at)
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if err := c.addAudit(ctx, e); err != nil {
		return err
	}
	// Set apart from addAudit's insert, which lists the columns every entry has.
	_, err = c.exec(ctx, `UPDATE audit SET action_id = ? WHERE id = ?`, e.ActionID, e.ID)
	return err
}
