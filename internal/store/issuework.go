package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

var _ fb.IssueWorkStore = (*Store)(nil)

// IssueActivity returns the issue's status, comments and work logs, oldest first.
func (s *Store) IssueActivity(ctx context.Context, issueKey string) (_ fb.IssueActivity, err error) {
	defer wrap(&err, "IssueActivity(%q)", issueKey)
	var a fb.IssueActivity
	c := s.conn()
	err = c.queryRow(ctx, `SELECT status FROM issues WHERE issue_key = ?`, issueKey).Scan(&a.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return a, issueNotFound(issueKey)
	} else if err != nil {
		return a, err
	}
	rows, err := c.query(ctx, `SELECT author, body, created_at FROM issue_comments WHERE issue_key = ? ORDER BY id`, issueKey)
	if err != nil {
		return a, err
	}
	for rows.Next() {
		var ic fb.IssueComment
		var at int64
		if err := rows.Scan(&ic.Author, &ic.Body, &at); err != nil {
			rows.Close()
			return a, err
		}
		ic.Created = fromMicros(at)
		a.Comments = append(a.Comments, ic)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return a, err
	}
	rows, err = c.query(ctx, `SELECT author, seconds, comment, started_at, created_at FROM issue_worklogs
		WHERE issue_key = ? ORDER BY id`, issueKey)
	if err != nil {
		return a, err
	}
	defer rows.Close()
	for rows.Next() {
		var w fb.WorkLog
		var started, at int64
		if err := rows.Scan(&w.Author, &w.TimeSpentSeconds, &w.Comment, &started, &at); err != nil {
			return a, err
		}
		w.Started, w.Created = fromMicros(started), fromMicros(at)
		a.Worklog = append(a.Worklog, w)
	}
	return a, rows.Err()
}

func issueNotFound(key string) error { return fb.Errorf(fb.ENotFound, "Issue %s does not exist.", key) }

// AddIssueComment adds a comment to an existing issue.
func (s *Store) AddIssueComment(ctx context.Context, issueKey string, ic fb.IssueComment) (err error) {
	defer wrap(&err, "AddIssueComment(%q)", issueKey)
	return s.inTx(ctx, func(c conn) error { return c.addIssueComment(ctx, issueKey, ic) })
}

func (c conn) addIssueComment(ctx context.Context, issueKey string, ic fb.IssueComment) error {
	_, err := c.exec(ctx, `INSERT INTO issue_comments (issue_key, author, body, created_at) VALUES (?, ?, ?, ?)`,
		issueKey, ic.Author, ic.Body, micros(normalizeTime(ic.Created)))
	if isForeignKeyViolation(err) {
		return issueNotFound(issueKey)
	}
	return err
}

// AddWorkLog logs work on an existing issue.
func (s *Store) AddWorkLog(ctx context.Context, issueKey string, w fb.WorkLog) (err error) {
	defer wrap(&err, "AddWorkLog(%q)", issueKey)
	if w.TimeSpentSeconds <= 0 {
		return fb.Errorf(fb.EInvalid, "Work logged must last at least a second.")
	}
	return s.inTx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO issue_worklogs (issue_key, author, seconds, comment, started_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, issueKey, w.Author, w.TimeSpentSeconds, w.Comment,
			micros(normalizeTime(w.Started)), micros(normalizeTime(w.Created)))
		if isForeignKeyViolation(err) {
			return issueNotFound(issueKey)
		}
		return err
	})
}

// ChangeIssueStatus changes the issue's status as change says, with the
// comment, in one transaction; on PostgreSQL the issue's row is locked
// meanwhile (SQLite's write transactions take turns anyway).
func (s *Store) ChangeIssueStatus(ctx context.Context, issueKey string, change func(string) (string, error), ic *fb.IssueComment) (err error) {
	defer wrap(&err, "ChangeIssueStatus(%q)", issueKey)
	return s.inTx(ctx, func(c conn) error {
		query := `SELECT status FROM issues WHERE issue_key = ?`
		if c.postgres {
			query += ` FOR UPDATE`
		}
		var status string
		err := c.queryRow(ctx, query, issueKey).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return issueNotFound(issueKey)
		} else if err != nil {
			return err
		}
		next, err := change(status)
		if err != nil {
			return err
		}
		if strings.TrimSpace(next) == "" {
			return fb.Errorf(fb.EInvalid, "An issue's status cannot be empty.")
		}
		if _, err := c.exec(ctx, `UPDATE issues SET status = ? WHERE issue_key = ?`, next, issueKey); err != nil {
			return err
		}
		if ic != nil {
			return c.addIssueComment(ctx, issueKey, *ic)
		}
		return nil
	})
}

// ClaimSmartCommit gives the claim to owner unless another owner has it.
func (s *Store) ClaimSmartCommit(ctx context.Context, cl fb.SmartCommitClaim, owner string) (_ bool, err error) {
	defer wrap(&err, "ClaimSmartCommit")
	if owner == "" {
		return false, fb.Errorf(fb.EInvalid, "A claim needs an owner.") // "" marks a finished claim
	}
	var got string
	err = s.inTx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO smart_commit_claims (commit_sha, issue_key, command_id, owner, claimed_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (commit_sha, issue_key, command_id) DO NOTHING`,
			cl.SHA, cl.IssueKey, cl.CommandID, owner, micros(now()))
		if err != nil {
			return err
		}
		return c.queryRow(ctx, `SELECT owner FROM smart_commit_claims WHERE commit_sha = ? AND issue_key = ? AND command_id = ?`,
			cl.SHA, cl.IssueKey, cl.CommandID).Scan(&got)
	})
	return got == owner, err
}

// FinishSmartCommit marks the claim finished (no owner) with the audit
// entry of its outcome.
func (s *Store) FinishSmartCommit(ctx context.Context, cl fb.SmartCommitClaim, e *fb.AuditEntry) (err error) {
	defer wrap(&err, "FinishSmartCommit")
	return s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `UPDATE smart_commit_claims SET owner = '' WHERE commit_sha = ? AND issue_key = ? AND command_id = ?`,
			cl.SHA, cl.IssueKey, cl.CommandID); err != nil {
			return err
		}
		return c.addAuditOnce(ctx, e)
	})
}

// UnclaimedSmartCommits returns those of claims no owner has, in order.
func (s *Store) UnclaimedSmartCommits(ctx context.Context, claims []fb.SmartCommitClaim) (_ []fb.SmartCommitClaim, err error) {
	defer wrap(&err, "UnclaimedSmartCommits")
	var shas []any
	seen := map[string]bool{}
	for _, cl := range claims {
		if !seen[cl.SHA] {
			seen[cl.SHA] = true
			shas = append(shas, cl.SHA)
		}
	}
	claimed := map[fb.SmartCommitClaim]bool{}
	// In chunks: a database bounds the parameters of one statement.
	for len(shas) > 0 {
		n := min(len(shas), 500)
		rows, err := s.conn().query(ctx, `SELECT commit_sha, issue_key, command_id FROM smart_commit_claims
			WHERE commit_sha IN (`+placeholders(n)+`)`, shas[:n]...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var cl fb.SmartCommitClaim
			if err := rows.Scan(&cl.SHA, &cl.IssueKey, &cl.CommandID); err != nil {
				rows.Close()
				return nil, err
			}
			claimed[cl] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		shas = shas[n:]
	}
	var out []fb.SmartCommitClaim
	for _, cl := range claims {
		if !claimed[cl] {
			out = append(out, cl)
		}
	}
	return out, nil
}
