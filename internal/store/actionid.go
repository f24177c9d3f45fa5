package store

import (
	"context"
	"database/sql"
	"errors"

	fb "github.com/forgebridge/forgebridge"
)

// addAuditOnce adds an audit entry unless one with the same action id is
// stored already, in which case e takes that entry's id and time. The entry
// and its action id are written in one statement; of two concurrent writes
// of one action the second inserts nothing and finds the first's entry.
func (c conn) addAuditOnce(ctx context.Context, e *fb.AuditEntry) error {
	if e.ActionID == "" {
		return c.addAudit(ctx, e)
	}
	// One statement in the usual case, the entry being new: the unique index
	// on action_id turns a second write of the same action into no row.
	t := normalizeTime(e.Time)
	changes, err := marshalChanges(e.Changes)
	if err != nil {
		return err
	}
	err = c.queryRow(ctx, `INSERT INTO audit (`+auditColumns+`, action_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (action_id) DO NOTHING RETURNING id`,
		micros(t), e.User, e.Action, e.IntegrationID, e.RepositoryID, e.Issue, e.Target,
		string(e.Actor.Type), e.Actor.Login, e.Outcome, e.Code, changes, e.ActionID).Scan(&e.ID)
	if err == nil {
		e.Time = t
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var at int64
	if err := c.queryRow(ctx, `SELECT id, created_at FROM audit WHERE action_id = ?`, e.ActionID).Scan(&e.ID, &at); err != nil {
		return err
	}
	e.Time = fromMicros(at)
	return nil
}
