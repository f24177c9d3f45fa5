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

// PreparedStatements counts the statements the SQLite store keeps prepared.
func (s *Store) PreparedStatements() int {
	if s.stmts == nil {
		return 0
	}
	s.stmts.mu.RLock()
	defer s.stmts.mu.RUnlock()
	n := 0
	for _, st := range s.stmts.m {
		if st != nil {
			n++
		}
	}
	return n
}

// HoldWriter takes the SQLite store's in-process write turn until release.
func (s *Store) HoldWriter() (release func()) {
	s.writer <- struct{}{}
	return func() { <-s.writer }
}
