package store

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	fb "github.com/forgebridge/forgebridge"
)

var _ fb.IndexStore = (*Store)(nil)

const indexStateColumns = `repository_id, state, indexed_at, commits, error_code, error_message, retry_at, updated_at`

// IndexStates returns the state of each repository asked for; one without a
// row (never claimed nor indexed, or unknown) is pending.
func (s *Store) IndexStates(ctx context.Context, repositoryIDs []string) (_ map[string]fb.IndexState, err error) {
	defer wrap(&err, "IndexStates")
	out := make(map[string]fb.IndexState, len(repositoryIDs))
	for _, id := range repositoryIDs {
		out[id] = fb.IndexState{RepositoryID: id, State: fb.IndexPending}
	}
	for chunk := range slices.Chunk(repositoryIDs, inList) {
		if err := s.indexStates(ctx, chunk, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) indexStates(ctx context.Context, ids []string, out map[string]fb.IndexState) error {
	rows, err := s.conn().query(ctx, `SELECT `+indexStateColumns+` FROM index_state
		WHERE repository_id IN (`+placeholders(len(ids))+`)`, anys(ids)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			st             fb.IndexState
			state, code    string
			indexed, retry sql.NullInt64
			updated        int64
		)
		if err := rows.Scan(&st.RepositoryID, &state, &indexed, &st.Commits, &code, &st.ErrorMessage, &retry, &updated); err != nil {
			return err
		}
		st.State, st.ErrorCode = fb.IndexStateName(state), fb.Code(code)
		st.IndexedAt, st.RetryAt, st.UpdatedAt = timePtr(indexed), timePtr(retry), fromMicros(updated)
		out[st.RepositoryID] = st
	}
	return rows.Err()
}

// PutIndexState records where the indexing of st.RepositoryID stands; a zero
// UpdatedAt is now. The lease and the tips are left as they are. Like the
// lease's writes, it goes through inTx: on SQLite it then waits its turn
// behind the run's own background writes instead of meeting the busy
// timeout (which a loaded machine passed: SQLITE_BUSY mid-index).
func (s *Store) PutIndexState(ctx context.Context, st fb.IndexState) (err error) {
	defer wrap(&err, "PutIndexState(%q)", st.RepositoryID)
	return s.inTx(ctx, func(c conn) error { return c.putIndexState(ctx, st) })
}

func (c conn) putIndexState(ctx context.Context, st fb.IndexState) error {
	_, err := c.exec(ctx, `INSERT INTO index_state (`+indexStateColumns+`, lease_owner, lease_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', 0)
		ON CONFLICT (repository_id) DO UPDATE SET state = excluded.state, indexed_at = excluded.indexed_at,
			commits = excluded.commits, error_code = excluded.error_code, error_message = excluded.error_message,
			retry_at = excluded.retry_at, updated_at = excluded.updated_at`,
		st.RepositoryID, string(st.State), nullMicros(st.IndexedAt), st.Commits, string(st.ErrorCode), st.ErrorMessage,
		nullMicros(st.RetryAt), micros(normalizeTime(st.UpdatedAt)))
	if isForeignKeyViolation(err) {
		return repositoryNotFound(st.RepositoryID)
	}
	return err
}

// ClaimIndex takes the repository's lease for owner until until, when nobody
// holds it, owner holds it already, or its holder's lease ended before now.
// "Now" is this process's clock: the instances sharing a database must keep
// their clocks in step to well within a lease. A repository that was never
// indexed gets its state row, pending. In one statement, so that concurrent
// claimers, on any instance, see exactly one of them win.
func (s *Store) ClaimIndex(ctx context.Context, repositoryID, owner string, until time.Time) (_ bool, err error) {
	defer wrap(&err, "ClaimIndex(%q, %q)", repositoryID, owner)
	if owner == "" {
		return false, fb.Errorf(fb.EInvalid, "an index lease needs an owner")
	}
	t := micros(now())
	var n int64
	err = s.inTx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `INSERT INTO index_state (repository_id, state, commits, error_code, error_message,
				lease_owner, lease_until, updated_at)
			VALUES (?, ?, 0, '', '', ?, ?, ?)
			ON CONFLICT (repository_id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
			WHERE index_state.lease_owner = excluded.lease_owner OR index_state.lease_until < ?`,
			repositoryID, string(fb.IndexPending), owner, micros(until), t, t)
		if isForeignKeyViolation(err) {
			return repositoryNotFound(repositoryID)
		} else if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// ReleaseIndex gives the repository's lease up if owner holds it; otherwise
// it changes nothing (the lease expired and another owner took it).
func (s *Store) ReleaseIndex(ctx context.Context, repositoryID, owner string) (err error) {
	defer wrap(&err, "ReleaseIndex(%q, %q)", repositoryID, owner)
	return s.inTx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `UPDATE index_state SET lease_owner = '', lease_until = 0
			WHERE repository_id = ? AND lease_owner = ?`, repositoryID, owner)
		return err
	})
}

// IndexTips returns the refs the last completed run saw (empty before the
// first) and where its pull request listing may start. Its two reads are not
// one snapshot: the caller holds the lease, so no run finishes meanwhile.
func (s *Store) IndexTips(ctx context.Context, repositoryID string) (_ map[string]string, _ *time.Time, err error) {
	defer wrap(&err, "IndexTips(%q)", repositoryID)
	tips, err := s.conn().tips(ctx, repositoryID)
	if err != nil {
		return nil, nil, err
	}
	var since sql.NullInt64
	err = s.conn().queryRow(ctx, `SELECT pulls_since FROM index_state WHERE repository_id = ?`, repositoryID).Scan(&since)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, err
	}
	return tips, timePtr(since), nil
}

func (c conn) tips(ctx context.Context, repositoryID string) (map[string]string, error) {
	rows, err := c.query(ctx, `SELECT ref, sha FROM index_tips WHERE repository_id = ?`, repositoryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tips := map[string]string{}
	for rows.Next() {
		var ref, sha string
		if err := rows.Scan(&ref, &sha); err != nil {
			return nil, err
		}
		tips[ref] = sha
	}
	return tips, rows.Err()
}

// AddCommits records commits and the keys they mention, in multi-row
// statements in one transaction. A commit or key link already recorded is
// left as it is; a commit without keys is not kept (nothing would show it).
// Large calls cost much less per commit than small ones: the rows land on
// index pages all over, and a transaction writes each page it touched once.
func (s *Store) AddCommits(ctx context.Context, repositoryID string, commits []fb.Commit) (err error) {
	defer wrap(&err, "AddCommits(%q, %d commits)", repositoryID, len(commits))
	if len(commits) == 0 {
		return nil
	}
	return s.inTx(ctx, func(c conn) error {
		if err := c.lockRepository(ctx, repositoryID); err != nil {
			return err
		}
		cb := c.batchArrays(`commits (repository_id, sha, message, author_name, author_email, authored_at)`,
			`ON CONFLICT (repository_id, sha) DO NOTHING`, "text[]", "text[]", "text[]", "text[]", "text[]", "bigint[]")
		defer cb.close()
		// The links inserted, not those already there, add to the counts.
		kb := c.batchArrays(`commit_keys (repository_id, sha, issue_key, authored_at)`,
			`ON CONFLICT (repository_id, sha, issue_key) DO NOTHING RETURNING issue_key`, "text[]", "text[]", "text[]", "bigint[]")
		defer kb.close()
		added := map[string]int64{}
		kb.returned = func(rows *sql.Rows) error {
			var key string
			err := rows.Scan(&key)
			added[key]++
			return err
		}
		for _, cm := range commits {
			if len(cm.Keys) == 0 {
				continue
			}
			at := micros(cm.AuthoredAt)
			if err := cb.add(ctx, repositoryID, cm.SHA, gitText(cm.Message), gitText(cm.AuthorName),
				gitText(cm.AuthorEmail), at); err != nil {
				return err
			}
			for _, k := range cm.Keys {
				if err := kb.add(ctx, repositoryID, cm.SHA, k, at); err != nil {
					return err
				}
			}
		}
		if err := cb.flush(ctx); err != nil {
			return err
		}
		if err := kb.flush(ctx); err != nil {
			return err
		}
		counts := c.batch(`issue_commit_counts (issue_key, repository_id, commits)`,
			`ON CONFLICT (issue_key, repository_id) DO UPDATE SET commits = issue_commit_counts.commits + excluded.commits`, 3)
		defer counts.close()
		for key, n := range added {
			if err := counts.add(ctx, key, repositoryID, n); err != nil {
				return err
			}
		}
		return counts.flush(ctx)
	})
}

// gitText is text read from git as both databases can keep it alike: valid
// UTF-8 (the indexer's promise, kept here too) without NUL, which
// PostgreSQL's text cannot hold.
func gitText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

// CommitKeys returns the keys of the repository's linked commits among shas.
func (s *Store) CommitKeys(ctx context.Context, repositoryID string, shas []string) (_ map[string][]string, err error) {
	defer wrap(&err, "CommitKeys(%q)", repositoryID)
	out := map[string][]string{}
	for chunk := range slices.Chunk(shas, inList) {
		rows, err := s.conn().query(ctx, `SELECT sha, issue_key FROM commit_keys
			WHERE repository_id = ? AND sha IN (`+placeholders(len(chunk))+`)`, append([]any{repositoryID}, anys(chunk)...)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var sha, key string
			if err := rows.Scan(&sha, &key); err != nil {
				rows.Close()
				return nil, err
			}
			out[sha] = append(out[sha], key)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pullRequestColumns are the columns of issue_pull_requests, in the order
// pullRequestRow gives their values.
const pullRequestColumns = `issue_key, repository_id, pull_request_id, number, title, web_url, source_branch,
	target_branch, state, draft, author_login, updated_at, created_at, from_action`

func pullRequestRow(issueKey, repositoryID string, pr fb.PullRequest, createdAt time.Time, fromAction bool) []any {
	state := pr.State
	if state == "" {
		state = fb.PullOpen // a pull request just created
	}
	var updated sql.NullInt64
	if !pr.UpdatedAt.IsZero() {
		updated = sql.NullInt64{Int64: micros(pr.UpdatedAt), Valid: true}
	}
	return []any{issueKey, repositoryID, pr.ID, pr.Number, pr.Title, pr.WebURL, pr.SourceBranch, pr.TargetBranch,
		string(state), pr.Draft, pr.Author, updated, micros(normalizeTime(createdAt)), fromAction}
}

// PutPullRequests records the repository's pull requests as listed: each
// one's links become its Keys, and its title, state and the rest are
// updated on every link. Links created from forgebridge stay whatever the
// keys (the person chose the issue). The last listing of a pull request
// given twice wins.
func (s *Store) PutPullRequests(ctx context.Context, repositoryID string, prs []fb.IndexedPullRequest) (err error) {
	defer wrap(&err, "PutPullRequests(%q, %d pull requests)", repositoryID, len(prs))
	if len(prs) == 0 {
		return nil
	}
	byID := make(map[string]fb.IndexedPullRequest, len(prs))
	for _, pr := range prs {
		byID[pr.ID] = pr
	}
	return s.inTx(ctx, func(c conn) error {
		if err := c.lockRepository(ctx, repositoryID); err != nil {
			return err
		}
		existing, err := c.pullRequestLinks(ctx, repositoryID, slices.Collect(maps.Keys(byID)))
		if err != nil {
			return err
		}
		upsert := c.batch(`issue_pull_requests (`+pullRequestColumns+`)`,
			`ON CONFLICT (issue_key, repository_id, pull_request_id) DO UPDATE SET number = excluded.number,
				title = excluded.title, web_url = excluded.web_url, source_branch = excluded.source_branch,
				target_branch = excluded.target_branch, state = excluded.state, draft = excluded.draft,
				author_login = excluded.author_login, updated_at = excluded.updated_at`, 14)
		defer upsert.close()
		closed := c.batch(`closed_pull_requests (repository_id, pull_request_id)`, `ON CONFLICT DO NOTHING`, 2)
		defer closed.close()
		var reopened []string
		created := now()
		for id, pr := range byID {
			if pr.State != fb.PullMerged && pr.State != fb.PullDeclined {
				reopened = append(reopened, id)
			} else if err := closed.add(ctx, repositoryID, id); err != nil {
				return err
			}
			keys := make(map[string]bool, len(pr.Keys))
			for _, k := range pr.Keys {
				keys[k] = true
			}
			for _, l := range existing[id] {
				switch {
				case keys[l.issueKey]:
				case l.fromAction:
					keys[l.issueKey] = true // kept, and brought up to date
				default:
					if _, err := c.exec(ctx, `DELETE FROM issue_pull_requests
						WHERE issue_key = ? AND repository_id = ? AND pull_request_id = ?`,
						l.issueKey, repositoryID, id); err != nil {
						return err
					}
				}
			}
			for k := range keys {
				if err := upsert.add(ctx, pullRequestRow(k, repositoryID, pr.PullRequest, created, false)...); err != nil {
					return err
				}
			}
		}
		// Hosts other than CodeCommit reopen pull requests.
		for chunk := range slices.Chunk(reopened, inList) {
			if _, err := c.exec(ctx, `DELETE FROM closed_pull_requests WHERE repository_id = ? AND pull_request_id IN (`+
				placeholders(len(chunk))+`)`, append([]any{repositoryID}, anys(chunk)...)...); err != nil {
				return err
			}
		}
		if err := closed.flush(ctx); err != nil {
			return err
		}
		return upsert.flush(ctx)
	})
}

// ClosedPullRequests returns the ids of the repository's pull requests that
// PutPullRequests last recorded merged or declined, sorted.
func (s *Store) ClosedPullRequests(ctx context.Context, repositoryID string) (_ []string, err error) {
	defer wrap(&err, "ClosedPullRequests(%q)", repositoryID)
	rows, err := s.conn().query(ctx, `SELECT pull_request_id FROM closed_pull_requests WHERE repository_id = ?
		ORDER BY pull_request_id`, repositoryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

type pullRequestLink struct {
	issueKey   string
	fromAction bool
}

// pullRequestLinks returns the links of the repository's pull requests with these ids.
func (c conn) pullRequestLinks(ctx context.Context, repositoryID string, ids []string) (map[string][]pullRequestLink, error) {
	out := map[string][]pullRequestLink{}
	for chunk := range slices.Chunk(ids, inList) {
		rows, err := c.query(ctx, `SELECT pull_request_id, issue_key, from_action FROM issue_pull_requests
			WHERE repository_id = ? AND pull_request_id IN (`+placeholders(len(chunk))+`)`,
			append([]any{repositoryID}, anys(chunk)...)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var l pullRequestLink
			if err := rows.Scan(&id, &l.issueKey, &l.fromAction); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = append(out[id], l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// unreferencedByRepository are the tables keyed by repository without a
// foreign key to it: deleteRepositories deletes their rows itself.
var unreferencedByRepository = []string{"commit_keys", "issue_branches", "issue_pull_requests"}

// lockRepository answers ENotFound when the repository is gone, and on
// PostgreSQL keeps it from being deleted until this transaction ends, so
// that no row written here outlives it (SQLite's write transactions take
// turns anyway).
func (c conn) lockRepository(ctx context.Context, id string) error {
	query := `SELECT 1 FROM repositories WHERE id = ?`
	if c.postgres {
		query += ` FOR KEY SHARE`
	}
	var one int
	err := c.queryRow(ctx, query, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return repositoryNotFound(id)
	}
	return err
}

// FinishIndex writes what a run found, in one transaction: the tips, the
// branch links, the tag links, the pull request listing's PullsSince and
// the state. Branch links created from forgebridge stay while their branch
// is among the tips, whatever its name.
func (s *Store) FinishIndex(ctx context.Context, run fb.IndexRun) (err error) {
	defer wrap(&err, "FinishIndex(%q)", run.RepositoryID)
	return s.inTx(ctx, func(c conn) error {
		if err := c.lockRepository(ctx, run.RepositoryID); err != nil {
			return err
		}
		if run.Owner != "" {
			// Fenced: taken in this transaction, the lease cannot change hands
			// before the run's results are in.
			query := `SELECT lease_owner FROM index_state WHERE repository_id = ?`
			if c.postgres {
				query += ` FOR UPDATE`
			}
			var owner string
			if err := c.queryRow(ctx, query, run.RepositoryID).Scan(&owner); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if owner != run.Owner {
				return fb.ErrLeaseLost
			}
		}
		if err := c.replaceTips(ctx, run.RepositoryID, run.Tips); err != nil {
			return err
		}
		if err := c.replaceBranchLinks(ctx, run); err != nil {
			return err
		}
		if err := c.addTagGraph(ctx, run.RepositoryID, run.Tags); err != nil {
			return err
		}
		st := run.State
		st.RepositoryID = run.RepositoryID
		if err := c.putIndexState(ctx, st); err != nil {
			return err
		}
		_, err = c.exec(ctx, `UPDATE index_state SET pulls_since = ? WHERE repository_id = ?`,
			nullMicros(run.PullsSince), run.RepositoryID)
		return err
	})
}

// replaceTips makes tips the repository's tips, writing only what changed.
func (c conn) replaceTips(ctx context.Context, repositoryID string, tips map[string]string) error {
	old, err := c.tips(ctx, repositoryID)
	if err != nil {
		return err
	}
	for ref := range old {
		if _, ok := tips[ref]; ok {
			continue
		}
		if _, err := c.exec(ctx, `DELETE FROM index_tips WHERE repository_id = ? AND ref = ?`, repositoryID, ref); err != nil {
			return err
		}
	}
	upsert := c.batch(`index_tips (repository_id, ref, sha)`,
		`ON CONFLICT (repository_id, ref) DO UPDATE SET sha = excluded.sha`, 3)
	defer upsert.close()
	for ref, sha := range tips {
		if was, ok := old[ref]; ok && was == sha {
			continue
		}
		if err := upsert.add(ctx, repositoryID, ref, sha); err != nil {
			return err
		}
	}
	return upsert.flush(ctx)
}

// replaceBranchLinks makes the run's branches the repository's branch
// links. It keeps the links recorded after the run started (a branch
// created meanwhile) and those created from forgebridge whose branch is
// still among the tips, moved to the tip.
func (c conn) replaceBranchLinks(ctx context.Context, run fb.IndexRun) error {
	type link struct{ key, name string }
	gone, err := c.branchesDeletedSince(ctx, run.RepositoryID, run.StartedAt)
	if err != nil {
		return err
	}
	want := map[link]fb.LinkedRef{}
	for _, b := range run.Branches {
		if gone[b.Name] {
			continue
		}
		for _, k := range b.Keys {
			want[link{k, b.Name}] = b
		}
	}
	rows, err := c.query(ctx, `SELECT issue_key, name, sha, web_url, created_at, from_action FROM issue_branches
		WHERE repository_id = ?`, run.RepositoryID)
	if err != nil {
		return err
	}
	type row struct {
		link
		sha, webURL string
		createdAt   int64
		fromAction  bool
	}
	var old []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.key, &r.name, &r.sha, &r.webURL, &r.createdAt, &r.fromAction); err != nil {
			rows.Close()
			return err
		}
		old = append(old, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	started := micros(run.StartedAt)
	for _, r := range old {
		query, args := `DELETE FROM issue_branches WHERE issue_key = ? AND repository_id = ? AND name = ?`, []any(nil)
		if b, ok := want[r.link]; ok {
			delete(want, r.link)
			if b.SHA == r.sha && b.WebURL == r.webURL {
				continue
			}
			query = `UPDATE issue_branches SET sha = ?, web_url = ? WHERE issue_key = ? AND repository_id = ? AND name = ?`
			args = []any{b.SHA, b.WebURL}
		} else if r.createdAt > started {
			continue
		} else if sha, ok := run.Tips["refs/heads/"+r.name]; ok && r.fromAction {
			if sha == r.sha {
				continue
			}
			query = `UPDATE issue_branches SET sha = ? WHERE issue_key = ? AND repository_id = ? AND name = ?`
			args = []any{sha}
		}
		if _, err := c.exec(ctx, query, append(args, r.key, run.RepositoryID, r.name)...); err != nil {
			return err
		}
	}
	insert := c.batch(`issue_branches (issue_key, repository_id, name, sha, web_url, created_at, from_action)`,
		`ON CONFLICT (issue_key, repository_id, name) DO NOTHING`, 7)
	defer insert.close()
	found := micros(now())
	for l, b := range want {
		if err := insert.add(ctx, l.key, run.RepositoryID, l.name, b.SHA, b.WebURL, found, false); err != nil {
			return err
		}
	}
	return insert.flush(ctx)
}

// branchesDeletedSince names the branches of the repository deleted from
// forgebridge (ForgetBranch, audited in its transaction) since a run began:
// the run read them from the mirror before the host lost them, so its
// results must not bring them back. The next run no longer sees them.
func (c conn) branchesDeletedSince(ctx context.Context, repositoryID string, since time.Time) (map[string]bool, error) {
	rows, err := c.query(ctx, `SELECT target FROM audit WHERE action = ? AND repository_id = ? AND outcome = ?
		AND created_at >= ?`, fb.AuditBranchDelete, repositoryID, fb.AuditOutcomeSuccess, micros(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	gone := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		gone[name] = true
	}
	return gone, rows.Err()
}

// addTagGraph adds tagged commits to the tags' graph: the keys each adds
// and its nearest tagged ancestors. Nothing is removed: a commit whose tags
// are gone is simply no longer named, and later tags still reach their
// history through it.
func (c conn) addTagGraph(ctx context.Context, repositoryID string, tags []fb.TaggedCommit) error {
	keys := c.batch(`tag_keys (repository_id, sha, issue_key)`, `ON CONFLICT (repository_id, sha, issue_key) DO NOTHING`, 3)
	defer keys.close()
	edges := c.batch(`tag_edges (repository_id, sha, parent_sha)`, `ON CONFLICT (repository_id, sha, parent_sha) DO NOTHING`, 3)
	defer edges.close()
	for _, t := range tags {
		for _, k := range t.Keys {
			if err := keys.add(ctx, repositoryID, t.SHA, k); err != nil {
				return err
			}
		}
		for _, p := range t.Parents {
			if err := edges.add(ctx, repositoryID, t.SHA, p); err != nil {
				return err
			}
		}
	}
	if err := keys.flush(ctx); err != nil {
		return err
	}
	return edges.flush(ctx)
}

// ResetIndex drops the repository's commits, tag links and tips and puts its
// state back to pending, so that the next run reads everything again. Branch
// and pull request links stay: the next run replaces the indexed ones, and
// those created from forgebridge must not vanish. A lease held stays held.
func (s *Store) ResetIndex(ctx context.Context, repositoryID string) (err error) {
	defer wrap(&err, "ResetIndex(%q)", repositoryID)
	return s.inTx(ctx, func(c conn) error {
		for _, table := range []string{"commit_keys", "issue_commit_counts", "commits", "tag_keys", "tag_edges", "index_tips", "closed_pull_requests"} {
			if _, err := c.exec(ctx, `DELETE FROM `+table+` WHERE repository_id = ?`, repositoryID); err != nil {
				return err
			}
		}
		_, err := c.exec(ctx, `UPDATE index_state SET state = ?, indexed_at = NULL, commits = 0, error_code = '',
			error_message = '', retry_at = NULL, pulls_since = NULL, updated_at = ?
			WHERE repository_id = ?`, string(fb.IndexPending), micros(now()), repositoryID)
		return err
	})
}

// commitCursor is the sort key of the last commit of a page.
type commitCursor struct {
	At   int64  `json:"t"`
	Repo string `json:"r"`
	SHA  string `json:"s"`
}

// issueCommitsQuery returns the query of a page of an issue's commits (one
// row more than limit) and the query of their count, both filtered alike.
// The page walks commit_keys_issue in order, newest first, and joins each
// row to its commit; the count adds up the issue's counts per repository.
func issueCommitsQuery(q fb.IssueDataQuery, limit int) (page string, pageArgs []any, count string, countArgs []any, err error) {
	join, where, args := "", "k.issue_key = ?", []any{q.IssueKey}
	count = `SELECT CAST(COALESCE(SUM(n.commits), 0) AS BIGINT) FROM issue_commit_counts n`
	if q.IntegrationIDs != nil {
		join = ` JOIN repositories r ON r.id = k.repository_id`
		where += ` AND r.integration_id IN (` + placeholders(len(q.IntegrationIDs)) + `)`
		args = append(args, anys(q.IntegrationIDs)...)
		count += ` JOIN repositories r ON r.id = n.repository_id AND r.integration_id IN (` +
			placeholders(len(q.IntegrationIDs)) + `)`
		countArgs = anys(q.IntegrationIDs)
	}
	count += ` WHERE n.issue_key = ?`
	countArgs = append(countArgs, q.IssueKey)
	if len(q.HiddenRepositoryIDs) > 0 {
		where += ` AND k.repository_id NOT IN (` + placeholders(len(q.HiddenRepositoryIDs)) + `)`
		args = append(args, anys(q.HiddenRepositoryIDs)...)
		count += ` AND n.repository_id NOT IN (` + placeholders(len(q.HiddenRepositoryIDs)) + `)`
		countArgs = append(countArgs, anys(q.HiddenRepositoryIDs)...)
	}
	pageArgs = slices.Clone(args)
	if q.Cursor != "" {
		var after commitCursor
		if err := decodeCursor(q.Cursor, &after); err != nil {
			return "", nil, "", nil, err
		}
		// The first bound narrows the index range; the rest is the strict "after".
		where += ` AND k.authored_at <= ? AND (k.authored_at < ? OR (k.authored_at = ? AND
			(k.repository_id > ? OR (k.repository_id = ? AND k.sha > ?))))`
		pageArgs = append(pageArgs, after.At, after.At, after.At, after.Repo, after.Repo, after.SHA)
	}
	page = `SELECT k.authored_at, k.repository_id, k.sha, c.message, c.author_name, c.author_email
		FROM commit_keys k` + join + `
		JOIN commits c ON c.repository_id = k.repository_id AND c.sha = k.sha
		WHERE ` + where + `
		ORDER BY k.authored_at DESC, k.repository_id, k.sha LIMIT ?`
	pageArgs = append(pageArgs, limit+1) // one more tells whether there is a next page
	return page, pageArgs, count, countArgs, nil
}

// IssueCommits lists a page of the issue's commits newest first (authored
// time, then repository id and sha), from the repositories of
// q.IntegrationIDs only (nil: every integration; empty: none) and not of
// q.HiddenRepositoryIDs, and how many there are in all under that filter. Each commit's Keys are all the keys
// it mentions, sorted.
func (s *Store) IssueCommits(ctx context.Context, q fb.IssueDataQuery) (_ []fb.Commit, count int, next string, err error) {
	defer wrap(&err, "IssueCommits(%q)", q.IssueKey)
	if q.IntegrationIDs != nil && len(q.IntegrationIDs) == 0 {
		return nil, 0, "", nil
	}
	limit := pageLimit(q.Page)
	page, pageArgs, countQuery, countArgs, err := issueCommitsQuery(q, limit)
	if err != nil {
		return nil, 0, "", err
	}
	if err := s.conn().queryRow(ctx, countQuery, countArgs...).Scan(&count); err != nil {
		return nil, 0, "", err
	}
	rows, err := s.conn().query(ctx, page, pageArgs...)
	if err != nil {
		return nil, 0, "", err
	}
	defer rows.Close()
	var commits []fb.Commit
	var last commitCursor
	for rows.Next() {
		if len(commits) == limit {
			next = encodeCursor(last)
			break
		}
		var cm fb.Commit
		if err := rows.Scan(&last.At, &cm.RepositoryID, &cm.SHA, &cm.Message, &cm.AuthorName, &cm.AuthorEmail); err != nil {
			return nil, 0, "", err
		}
		last.Repo, last.SHA = cm.RepositoryID, cm.SHA
		cm.AuthoredAt = fromMicros(last.At)
		commits = append(commits, cm)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, "", err
	}
	rows.Close()
	if err := s.commitKeys(ctx, commits); err != nil {
		return nil, 0, "", err
	}
	return commits, count, next, nil
}

// commitKeys fills in the Keys of commits.
func (s *Store) commitKeys(ctx context.Context, commits []fb.Commit) error {
	if len(commits) == 0 {
		return nil
	}
	type id struct{ repo, sha string }
	at := make(map[id]int, len(commits))
	for i, cm := range commits {
		at[id{cm.RepositoryID, cm.SHA}] = i
	}
	query, args := commitKeysQuery(commits)
	rows, err := s.conn().query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r id
		var key string
		if err := rows.Scan(&r.repo, &r.sha, &key); err != nil {
			return err
		}
		if i, ok := at[r]; ok {
			commits[i].Keys = append(commits[i].Keys, key)
		}
	}
	for i := range commits {
		slices.Sort(commits[i].Keys)
	}
	return rows.Err()
}

// commitKeysQuery selects the keys of commits by the primary key of
// commit_keys. Its repositories times its shas may name a few pairs more than
// the commits (the same sha in two repositories: forks); the caller drops them.
func commitKeysQuery(commits []fb.Commit) (string, []any) {
	var repos, shas []any
	for _, cm := range commits {
		if !slices.Contains(repos, any(cm.RepositoryID)) {
			repos = append(repos, cm.RepositoryID)
		}
		shas = append(shas, cm.SHA)
	}
	return `SELECT repository_id, sha, issue_key FROM commit_keys
		WHERE repository_id IN (` + placeholders(len(repos)) + `) AND sha IN (` + placeholders(len(shas)) + `)`,
		append(repos, shas...)
}

// IssueTags lists every tag containing the issue's commits, from the
// repositories of q.IntegrationIDs only (nil: every integration; empty:
// none), by repository then name. q.Page is not used: an issue is in few tags.
func (s *Store) IssueTags(ctx context.Context, q fb.IssueDataQuery) (_ []fb.IssueTag, err error) {
	defer wrap(&err, "IssueTags(%q)", q.IssueKey)
	if q.IntegrationIDs != nil && len(q.IntegrationIDs) == 0 {
		return nil, nil
	}
	// The tagged commits adding the key, then every tagged commit above
	// them in the graph; each named by the tags pointing at it now.
	start, args := `SELECT k.repository_id, k.sha FROM tag_keys k`, []any{}
	if q.IntegrationIDs != nil {
		start += ` JOIN repositories r ON r.id = k.repository_id AND r.integration_id IN (` +
			placeholders(len(q.IntegrationIDs)) + `)`
		args = anys(q.IntegrationIDs)
	}
	args = append(args, q.IssueKey)
	rows, err := s.conn().query(ctx, `WITH RECURSIVE hit (repository_id, sha) AS (
		`+start+` WHERE k.issue_key = ?
		UNION
		SELECT e.repository_id, e.sha FROM tag_edges e JOIN hit h ON e.repository_id = h.repository_id AND e.parent_sha = h.sha
	)
	SELECT t.repository_id, t.ref, t.sha FROM hit h
	JOIN index_tips t ON t.repository_id = h.repository_id AND t.sha = h.sha
	WHERE t.ref LIKE 'refs/tags/%' ORDER BY t.repository_id, t.ref`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fb.IssueTag
	for rows.Next() {
		t := fb.IssueTag{IssueKey: q.IssueKey}
		var ref string
		if err := rows.Scan(&t.RepositoryID, &ref, &t.SHA); err != nil {
			return nil, err
		}
		t.Name = strings.TrimPrefix(ref, "refs/tags/")
		out = append(out, t)
	}
	return out, rows.Err()
}

func repositoryNotFound(id string) error {
	return fb.Errorf(fb.ENotFound, "repository %s not found", id)
}
