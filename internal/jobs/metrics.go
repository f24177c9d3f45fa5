package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// JobCounts counts the jobs in River's table by kind and state, for
// /metrics. Finished jobs stay until River's cleaner removes them (completed
// after a day, discarded after a week).
func (q *Queue) JobCounts(ctx context.Context) ([]fb.JobCount, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM river_job GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("jobs: counting jobs: %w", err)
	}
	defer rows.Close()
	var out []fb.JobCount
	for rows.Next() {
		var c fb.JobCount
		if err := rows.Scan(&c.Kind, &c.State, &c.Count); err != nil {
			return nil, fmt.Errorf("jobs: counting jobs: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// maxWaitingListed bounds the index runs read for IndexWaiting: one waits
// per repository at most (two while one runs), so this covers 5,000.
const maxWaitingListed = 10000

// IndexWaiting returns, for each repository with an index run waiting
// (queued, retrying or scheduled), when the oldest such run was asked for.
func (q *Queue) IndexWaiting(ctx context.Context) (map[string]time.Time, error) {
	res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(kindIndex).
		States(rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateScheduled).
		First(maxWaitingListed))
	if err != nil {
		return nil, fmt.Errorf("jobs: listing waiting index runs: %w", err)
	}
	out := map[string]time.Time{}
	for _, j := range res.Jobs {
		var a indexArgs
		if json.Unmarshal(j.EncodedArgs, &a) != nil || a.RepositoryID == "" {
			continue
		}
		if t, ok := out[a.RepositoryID]; !ok || j.CreatedAt.Before(t) {
			out[a.RepositoryID] = j.CreatedAt
		}
	}
	return out, nil
}
