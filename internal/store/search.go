package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

var _ fb.IssueSearchStore = (*Store)(nil)

// rangeChunk is how many of a range's commits one lookup names: the
// primary key of commit_keys answers each, and fewer, larger statements
// cost less per commit.
const rangeChunk = 2000

// SearchIssueActivity adds up the commits, branch links and pull request
// links of q's repositories by issue and repository, each kind filtered by
// its part of q. Three grouped queries (the commits of a range in chunks),
// merged here; the caller filters by permission and pages.
func (s *Store) SearchIssueActivity(ctx context.Context, q fb.IssueSearchQuery) (_ []fb.IssueGitActivity, err error) {
	defer wrap(&err, "SearchIssueActivity(%d repositories)", len(q.RepositoryIDs))
	if len(q.RepositoryIDs) == 0 {
		return nil, nil
	}
	type id struct{ key, repo string }
	rows := map[id]*fb.IssueGitActivity{}
	row := func(key, repo string) (*fb.IssueGitActivity, error) {
		r, ok := rows[id{key, repo}]
		if !ok {
			if q.MaxRows > 0 && len(rows) >= q.MaxRows {
				return nil, fb.Errorf(fb.EInvalid, "The search matches more than %d issues and repositories; narrow it (repository, range, author or time).", q.MaxRows)
			}
			r = &fb.IssueGitActivity{IssueKey: key, RepositoryID: repo}
			rows[id{key, repo}] = r
		}
		return r, nil
	}
	c := s.conn()
	for _, cq := range commitSearchQueries(q) {
		err := c.grouped(ctx, cq.query, cq.args, func(key, repo string, n, last int64) error {
			r, err := row(key, repo)
			if err != nil {
				return err
			}
			r.Commits += int(n)
			if t := fromMicros(last); t.After(r.LastCommit) {
				r.LastCommit = t
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for chunk := range slices.Chunk(q.RepositoryIDs, inList) {
		where, args := `repository_id IN (`+placeholders(len(chunk))+`)`, anys(chunk)
		if q.Branch != "" {
			where += ` AND name = ?`
			args = append(args, q.Branch)
		}
		err := c.grouped(ctx, `SELECT issue_key, repository_id, COUNT(*), MAX(created_at) FROM issue_branches
			WHERE `+where+` GROUP BY issue_key, repository_id`, args, func(key, repo string, n, last int64) error {
			r, err := row(key, repo)
			if err == nil {
				r.Branches, r.LastBranch = int(n), fromMicros(last)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		where, args = `repository_id IN (`+placeholders(len(chunk))+`)`, anys(chunk)
		if q.PullRequestState != "" {
			where += ` AND state = ?`
			args = append(args, string(q.PullRequestState))
		}
		err = c.grouped(ctx, `SELECT issue_key, repository_id, COUNT(*), MAX(COALESCE(updated_at, created_at))
			FROM issue_pull_requests WHERE `+where+` GROUP BY issue_key, repository_id`, args,
			func(key, repo string, n, last int64) error {
				r, err := row(key, repo)
				if err == nil {
					r.PullRequests, r.LastPullChange = int(n), fromMicros(last)
				}
				return err
			})
		if err != nil {
			return nil, err
		}
	}
	out := make([]fb.IssueGitActivity, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	return out, nil
}

type sqlQuery struct {
	query string
	args  []any
}

// commitSearchQueries are the grouped queries of the commits q selects:
// one per chunk of the range's commits, else one per chunk of repositories.
func commitSearchQueries(q fb.IssueSearchQuery) []sqlQuery {
	var filter string
	var filterArgs []any
	join := ""
	if len(q.AuthorEmails) > 0 {
		join = ` JOIN commits c ON c.repository_id = k.repository_id AND c.sha = k.sha`
		emails := make([]any, len(q.AuthorEmails))
		for i, e := range q.AuthorEmails {
			emails[i] = strings.ToLower(e)
		}
		filter += ` AND LOWER(c.author_email) IN (` + placeholders(len(emails)) + `)`
		filterArgs = append(filterArgs, emails...)
	}
	if q.Since != nil {
		filter += ` AND k.authored_at >= ?`
		filterArgs = append(filterArgs, micros(*q.Since))
	}
	if q.Until != nil {
		filter += ` AND k.authored_at < ?`
		filterArgs = append(filterArgs, micros(*q.Until))
	}
	group := ` GROUP BY k.issue_key, k.repository_id`
	sel := `SELECT k.issue_key, k.repository_id, COUNT(*), MAX(k.authored_at) FROM commit_keys k` + join
	var out []sqlQuery
	if q.InRange {
		// A range is of one repository; with several, each is looked up in
		// each (a sha is one commit wherever it is).
		for chunk := range slices.Chunk(q.RangeSHAs, rangeChunk) {
			for repos := range slices.Chunk(q.RepositoryIDs, inList) {
				args := slices.Concat(anys(repos), anys(chunk), filterArgs)
				out = append(out, sqlQuery{sel + ` WHERE k.repository_id IN (` + placeholders(len(repos)) +
					`) AND k.sha IN (` + placeholders(len(chunk)) + `)` + filter + group, args})
			}
		}
		return out
	}
	for repos := range slices.Chunk(q.RepositoryIDs, inList) {
		out = append(out, sqlQuery{sel + ` WHERE k.repository_id IN (` + placeholders(len(repos)) + `)` + filter + group,
			slices.Concat(anys(repos), filterArgs)})
	}
	return out
}

// grouped runs a query answering (issue_key, repository_id, count, max time)
// rows and hands each to fn.
func (c conn) grouped(ctx context.Context, query string, args []any, fn func(key, repo string, n, last int64) error) error {
	rows, err := c.q.QueryContext(ctx, c.rebind(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key, repo string
		var n int64
		var last sql.NullInt64
		if err := rows.Scan(&key, &repo, &n, &last); err != nil {
			return err
		}
		if err := fn(key, repo, n, last.Int64); err != nil {
			return err
		}
	}
	return rows.Err()
}
