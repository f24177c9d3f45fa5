package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

const auditColumns = `created_at, user_name, action, integration_id, repository_id, issue, target,
	actor_type, actor_login, outcome, code, changes`

// AddAudit appends e to the audit log and sets e.ID, and e.Time to now when it is zero.
func (s *Store) AddAudit(ctx context.Context, e *fb.AuditEntry) (err error) {
	defer wrap(&err, "AddAudit(%q)", e.Action)
	if e.ActionID != "" {
		return s.inTx(ctx, func(c conn) error { return c.addAuditOnce(ctx, e) })
	}
	return s.conn().addAudit(ctx, e)
}

// RecordAction writes an action's audit entry and what it created for an
// issue (a branch, a pull request, or neither) in one transaction: one
// commit per action instead of two. On SQLite, actions recorded at the same
// time share one transaction (see recordGroup).
func (s *Store) RecordAction(ctx context.Context, e *fb.AuditEntry, b *fb.IssueBranch, pr *fb.IssuePullRequest) (err error) {
	defer wrap(&err, "RecordAction(%q)", e.Action)
	if s.records == nil {
		return s.inTx(ctx, func(c conn) error { return c.recordAction(ctx, e, b, pr) })
	}
	return s.records.do(s.writeRecords, &recordReq{ctx: ctx, e: e, b: b, pr: pr, done: make(chan recordResult, 1)})
}

func (c conn) recordAction(ctx context.Context, e *fb.AuditEntry, b *fb.IssueBranch, pr *fb.IssuePullRequest) error {
	if b != nil {
		if err := c.addIssueBranch(ctx, *b); err != nil {
			return err
		}
	}
	if pr != nil {
		if err := c.addIssuePullRequest(ctx, *pr); err != nil {
			return err
		}
	}
	return c.addAuditOnce(ctx, e)
}

// writeRecords writes a batch of action records in one transaction and
// answers each. When that fails, each is written in its own, so that one
// record's failure is its own.
func (s *Store) writeRecords(batch []*recordReq) {
	if len(batch) > 1 {
		ctx := context.WithoutCancel(batch[0].ctx)
		entries := make([]fb.AuditEntry, len(batch)) // e changes only if the transaction commits
		err := s.inTx(ctx, func(c conn) error {
			for i, r := range batch {
				entries[i] = *r.e
				if err := c.recordAction(ctx, &entries[i], r.b, r.pr); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			for i, r := range batch {
				*r.e = entries[i]
				r.done <- recordResult{}
			}
			return
		}
	}
	for _, r := range batch {
		err := s.inTx(r.ctx, func(c conn) error { return c.recordAction(r.ctx, r.e, r.b, r.pr) })
		r.done <- recordResult{err: err}
	}
}

func (c conn) addAudit(ctx context.Context, e *fb.AuditEntry) error {
	t := normalizeTime(e.Time)
	changes, err := marshalChanges(e.Changes)
	if err != nil {
		return err
	}
	err = c.queryRow(ctx, `INSERT INTO audit (`+auditColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		micros(t), e.User, e.Action, e.IntegrationID, e.RepositoryID, e.Issue, e.Target,
		string(e.Actor.Type), e.Actor.Login, e.Outcome, e.Code, changes).Scan(&e.ID)
	if err != nil {
		return err
	}
	e.Time = t
	return nil
}

// Audit lists the entries q selects, newest first; next is "" on the last page.
func (s *Store) Audit(ctx context.Context, q fb.AuditQuery) (_ []fb.AuditEntry, next string, err error) {
	defer wrap(&err, "Audit")
	var where []string
	var args []any
	if q.User != "" {
		where = append(where, "user_name = ?")
		args = append(args, q.User)
	}
	if q.Action != "" {
		where = append(where, "action = ?")
		args = append(args, q.Action)
	}
	if q.Cursor != "" {
		var before int64
		if err := decodeCursor(q.Cursor, &before); err != nil {
			return nil, "", err
		}
		where = append(where, "id < ?")
		args = append(args, before)
	}
	query := `SELECT id, ` + auditColumns + ` FROM audit`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := pageLimit(q.Page)
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit+1) // one more tells whether there is a next page

	rows, err := s.conn().query(ctx, query, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var entries []fb.AuditEntry
	for rows.Next() {
		if len(entries) == limit {
			next = encodeCursor(entries[limit-1].ID)
			break
		}
		var e fb.AuditEntry
		var at int64
		var actorType, changes string
		if err := rows.Scan(&e.ID, &at, &e.User, &e.Action, &e.IntegrationID, &e.RepositoryID, &e.Issue, &e.Target,
			&actorType, &e.Actor.Login, &e.Outcome, &e.Code, &changes); err != nil {
			return nil, "", err
		}
		if e.Changes, err = unmarshalChanges(changes); err != nil {
			return nil, "", fmt.Errorf("reading the changes of audit entry %d: %w", e.ID, err)
		}
		e.Time, e.Actor.Type = fromMicros(at), fb.ActorType(actorType)
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	return entries, next, nil
}

// marshalChanges keeps an entry's changes as a JSON object: empty for an entry
// without (nil), "{}" for an admin change that changed nothing.
func marshalChanges(ch fb.Changes) (string, error) {
	if ch == nil {
		return "", nil
	}
	b, err := json.Marshal(ch)
	return string(b), err
}

func unmarshalChanges(s string) (fb.Changes, error) {
	if s == "" {
		return nil, nil
	}
	ch := fb.Changes{}
	return ch, json.Unmarshal([]byte(s), &ch)
}
