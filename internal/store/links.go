package store

import (
	"context"
	"database/sql"

	fb "github.com/forgebridge/forgebridge"
)

// AddIssueBranch records the branch against the issue. Recording it again
// changes nothing: the first record stands.
func (s *Store) AddIssueBranch(ctx context.Context, b fb.IssueBranch) (err error) {
	defer wrap(&err, "AddIssueBranch(%q, %q)", b.IssueKey, b.Name)
	return s.conn().addIssueBranch(ctx, b)
}

func (c conn) addIssueBranch(ctx context.Context, b fb.IssueBranch) error {
	_, err := c.exec(ctx, `INSERT INTO issue_branches (issue_key, repository_id, name, sha, web_url, created_at, from_action)
		VALUES (?, ?, ?, ?, ?, ?, TRUE)
		ON CONFLICT (issue_key, repository_id, name) DO NOTHING`,
		b.IssueKey, b.RepositoryID, b.Name, b.SHA, b.WebURL, micros(normalizeTime(b.CreatedAt)))
	return err
}

// AddIssuePullRequest records the pull request against the issue: open
// unless pr.State says otherwise. Recording it again changes nothing: the
// first record stands (indexing keeps it up to date).
func (s *Store) AddIssuePullRequest(ctx context.Context, pr fb.IssuePullRequest) (err error) {
	defer wrap(&err, "AddIssuePullRequest(%q, %q)", pr.IssueKey, pr.ID)
	return s.conn().addIssuePullRequest(ctx, pr)
}

func (c conn) addIssuePullRequest(ctx context.Context, pr fb.IssuePullRequest) error {
	_, err := c.exec(ctx, `INSERT INTO issue_pull_requests (`+pullRequestColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (issue_key, repository_id, pull_request_id) DO NOTHING`,
		pullRequestRow(pr.IssueKey, pr.RepositoryID, pr.PullRequest, pr.CreatedAt, true)...)
	return err
}

// IssueBranches returns the branches recorded against the issue, oldest first.
func (s *Store) IssueBranches(ctx context.Context, issueKey string) (_ []fb.IssueBranch, err error) {
	defer wrap(&err, "IssueBranches(%q)", issueKey)
	rows, err := s.conn().query(ctx, `SELECT issue_key, repository_id, name, sha, web_url, created_at
		FROM issue_branches WHERE issue_key = ? ORDER BY created_at, repository_id, name`, issueKey)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fb.IssueBranch
	for rows.Next() {
		var b fb.IssueBranch
		var at int64
		if err := rows.Scan(&b.IssueKey, &b.RepositoryID, &b.Name, &b.SHA, &b.WebURL, &at); err != nil {
			return nil, err
		}
		b.CreatedAt = fromMicros(at)
		out = append(out, b)
	}
	return out, rows.Err()
}

// IssuePullRequests returns the pull requests recorded against the issue, oldest first.
func (s *Store) IssuePullRequests(ctx context.Context, issueKey string) (_ []fb.IssuePullRequest, err error) {
	defer wrap(&err, "IssuePullRequests(%q)", issueKey)
	rows, err := s.conn().query(ctx, `SELECT issue_key, repository_id, pull_request_id, number, title, web_url,
			source_branch, target_branch, state, draft, author_login, updated_at, created_at
		FROM issue_pull_requests WHERE issue_key = ? ORDER BY created_at, repository_id, pull_request_id`, issueKey)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fb.IssuePullRequest
	for rows.Next() {
		var pr fb.IssuePullRequest
		var state string
		var updated sql.NullInt64
		var at int64
		if err := rows.Scan(&pr.IssueKey, &pr.RepositoryID, &pr.ID, &pr.Number, &pr.Title, &pr.WebURL,
			&pr.SourceBranch, &pr.TargetBranch, &state, &pr.Draft, &pr.Author, &updated, &at); err != nil {
			return nil, err
		}
		pr.State, pr.CreatedAt = fb.PullState(state), fromMicros(at)
		if updated.Valid {
			pr.UpdatedAt = fromMicros(updated.Int64)
		}
		out = append(out, pr)
	}
	return out, rows.Err()
}

// PutTrackerLink records the state of a link written back to the tracker.
func (s *Store) PutTrackerLink(ctx context.Context, l fb.TrackerLink) (err error) {
	defer wrap(&err, "PutTrackerLink(%q)", l.GlobalID)
	_, err = s.execWrite(ctx, `INSERT INTO tracker_links (global_id, issue_key, url, status, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (issue_key, global_id) DO UPDATE SET url = excluded.url, status = excluded.status, updated_at = excluded.updated_at`,
		l.GlobalID, l.IssueKey, l.URL, l.Status, micros(normalizeTime(l.UpdatedAt)))
	return err
}

// TrackerLinks returns the links written back to the issue.
func (s *Store) TrackerLinks(ctx context.Context, issueKey string) (_ []fb.TrackerLink, err error) {
	defer wrap(&err, "TrackerLinks(%q)", issueKey)
	rows, err := s.conn().query(ctx, `SELECT global_id, issue_key, url, status, updated_at
		FROM tracker_links WHERE issue_key = ? ORDER BY global_id`, issueKey)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fb.TrackerLink
	for rows.Next() {
		var l fb.TrackerLink
		var at int64
		if err := rows.Scan(&l.GlobalID, &l.IssueKey, &l.URL, &l.Status, &at); err != nil {
			return nil, err
		}
		l.UpdatedAt = fromMicros(at)
		out = append(out, l)
	}
	return out, rows.Err()
}
