package store

import (
	"context"
	"fmt"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

// ExecRaw runs a statement written with ? placeholders on the store's
// database, for tests that tamper with rows behind the store's back.
func (s *Store) ExecRaw(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.conn().exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ExplainIssueCommits returns the database's plans of the queries
// IssueCommits runs for q, the keys of commits included.
func (s *Store) ExplainIssueCommits(ctx context.Context, q fb.IssueDataQuery, commits []fb.Commit) (string, error) {
	page, pageArgs, count, countArgs, err := issueCommitsQuery(q, pageLimit(q.Page))
	if err != nil {
		return "", err
	}
	keys, keysArgs := commitKeysQuery(commits)
	explain := "EXPLAIN QUERY PLAN "
	if s.dialect == Postgres {
		explain = "EXPLAIN "
	}
	var out strings.Builder
	for _, query := range []struct {
		sql  string
		args []any
	}{{page, pageArgs}, {count, countArgs}, {keys, keysArgs}} {
		rows, err := s.conn().query(ctx, explain+query.sql, query.args...)
		if err != nil {
			return "", err
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			for i := range vals {
				vals[i] = new(any)
			}
			if err := rows.Scan(vals...); err != nil {
				rows.Close()
				return "", err
			}
			fmt.Fprintln(&out, *vals[len(vals)-1].(*any)) // the plan line is the last column
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", err
		}
		out.WriteString("--\n")
	}
	return out.String(), nil
}

// PreparedStatements counts the statements the SQLite store keeps prepared
// for its readers and its lookups by key.
func (s *Store) PreparedStatements() int {
	n := 0
	for _, c := range []*stmtCache{s.stmts, s.pstmts} {
		if c == nil {
			continue
		}
		c.mu.RLock()
		for _, st := range c.m {
			if st != nil {
				n++
			}
		}
		c.mu.RUnlock()
	}
	return n
}

// HoldWriter takes the SQLite store's in-process write turn until release.
func (s *Store) HoldWriter() (release func()) {
	s.writer <- struct{}{}
	return func() { <-s.writer }
}

// AgeEpoch returns ctx with its read epoch read long enough ago that the
// read cache no longer answers for it.
func AgeEpoch(ctx context.Context) context.Context {
	ev := ctx.Value(epochKey{}).(epochValue)
	ev.at = ev.at.Add(-2 * epochMaxAge)
	return context.WithValue(ctx, epochKey{}, ev)
}

// ReadCacheSize is how many entries and bytes the read cache holds.
func (s *Store) ReadCacheSize() (entries, bytes int) {
	s.reads.mu.Lock()
	defer s.reads.mu.Unlock()
	return len(s.reads.rows), s.reads.bytes
}
