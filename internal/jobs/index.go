package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

const (
	kindIndex  = "index"
	indexQueue = "index" // the River queue of index runs
)

// DefaultReindex is how often every repository is indexed when no webhook
// says it changed.
const DefaultReindex = 5 * time.Minute

// Index runs are limited by the history they read, not by River's minute: a
// first index of a large repository takes as long as git needs.
const indexTimeout = 6 * time.Hour

// busySnooze is how long a run waits when another instance is indexing the
// same repository.
const busySnooze = 5 * time.Second

// indexArgs is one index run of a repository. Its JSON is the stored job.
// After is set on a run asked for while run After was going: River's
// uniqueness always counts a running job, so a request arriving during a
// run would otherwise be dropped, and what was pushed meanwhile would wait
// for the schedule.
type indexArgs struct {
	RepositoryID string `json:"repositoryId"`
	Reset        bool   `json:"reset,omitempty"`
	After        int64  `json:"after,omitempty"`
}

func (indexArgs) Kind() string { return kindIndex }

// uniqueStates are those of a job that a request with the same arguments
// merges into (River requires at least these).
var uniqueStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

func indexOpts(by app.IndexPriority) *river.InsertOpts {
	return &river.InsertOpts{Queue: indexQueue, Priority: int(by), MaxAttempts: integrationAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

// Index queues an index run of each repository (app.Queue). A request that
// finds a run of the repository waiting merges into it, raising its
// priority if this one's is higher; one that finds a run going queues one
// run after it, into which later requests merge in turn.
func (q *Queue) Index(ctx context.Context, repositoryIDs []string, by app.IndexPriority, reset bool) error {
	if len(repositoryIDs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(repositoryIDs))
	for i, id := range repositoryIDs {
		params[i] = river.InsertManyParams{Args: indexArgs{RepositoryID: id, Reset: reset}, InsertOpts: indexOpts(by)}
	}
	for len(params) > 0 {
		res, err := q.client.InsertMany(ctx, params)
		if err != nil {
			return fmt.Errorf("jobs: queueing %d index runs: %w", len(params), err)
		}
		var after []river.InsertManyParams
		for i, r := range res {
			if !r.UniqueSkippedAsDuplicate || r.Job == nil {
				continue
			}
			if r.Job.State == rivertype.JobStateRunning {
				a := params[i].Args.(indexArgs)
				a.After = r.Job.ID
				after = append(after, river.InsertManyParams{Args: a, InsertOpts: indexOpts(by)})
				continue
			}
			if err := q.raise(ctx, r.Job, by); err != nil {
				return err
			}
		}
		params = after
	}
	q.markQueued(ctx, repositoryIDs)
	return nil
}

// raise gives a waiting job a higher priority. River has no call for it;
// the row is River's own table, written alike in both databases.
func (q *Queue) raise(ctx context.Context, job *rivertype.JobRow, by app.IndexPriority) error {
	if job.Priority <= int(by) {
		return nil
	}
	_, err := q.db.ExecContext(ctx, q.rebind(`UPDATE river_job SET priority = ? WHERE id = ? AND priority > ?
		AND state IN ('available', 'scheduled', 'retryable', 'pending')`), int(by), job.ID, int(by))
	if err != nil {
		return fmt.Errorf("jobs: raising the priority of index run %d: %w", job.ID, err)
	}
	return nil
}

// markQueued shows a repository as queued unless a run is going.
func (q *Queue) markQueued(ctx context.Context, ids []string) {
	st := q.app.Index.Store
	if st == nil {
		return
	}
	states, err := st.IndexStates(ctx, ids)
	if err != nil {
		q.log.Warn("index states not read", "err", err)
		return
	}
	now := time.Now().UTC()
	for _, id := range ids {
		s := states[id]
		if s.State == fb.IndexIndexing || s.State == fb.IndexQueued {
			continue
		}
		s.RepositoryID, s.State, s.UpdatedAt = id, fb.IndexQueued, now
		if err := st.PutIndexState(ctx, s); err != nil && fb.ErrorCode(err) != fb.ENotFound {
			q.log.Warn("index state not recorded", "repository", id, "err", err)
		}
	}
}

type indexWorker struct {
	river.WorkerDefaults[indexArgs]
	q *Queue
}

func (w *indexWorker) Timeout(*river.Job[indexArgs]) time.Duration { return indexTimeout }

func (w *indexWorker) Work(ctx context.Context, job *river.Job[indexArgs]) error {
	if w.q.indexer == nil {
		// Only instances with git work the index queue; should one get here
		// all the same, the run waits for another.
		return river.JobSnooze(time.Minute)
	}
	start := time.Now()
	res, err := w.q.indexer.Run(ctx, job.Args.RepositoryID, job.Args.Reset)
	if errors.Is(err, index.ErrBusy) {
		return river.JobSnooze(busySnooze)
	}
	if err != nil {
		w.q.log.Warn("index run failed", "repository", job.Args.RepositoryID, "code", fb.ErrorCode(err), "err", err)
		return indexOutcome(err)
	}
	w.q.log.Info("repository indexed", "repository", job.Args.RepositoryID, "commits", res.Commits,
		"linked", res.Linked, "keys", len(res.Keys), "took", time.Since(start).Round(time.Millisecond), "parts", res.Took)
	return nil
}

// indexOutcome is outcome for index runs: a run whose credential or
// configuration is refused is not retried (the state says why, and the
// next schedule or webhook tries again); an outage is retried with backoff.
func indexOutcome(err error) error {
	switch fb.ErrorCode(err) {
	case fb.ETokenRejected, fb.EProviderDenied, fb.ENotSupported, fb.EProviderRejected:
		return river.JobCancel(err)
	}
	return outcome(err)
}

// CancelIndex cancels every index run of the repositories, for
// repositories that left their integration: a waiting run never starts, and
// a running one has its context cancelled by the instance running it (River
// tells it within seconds, also without LISTEN).
func (q *Queue) CancelIndex(ctx context.Context, repositoryIDs []string) error {
	for _, id := range repositoryIDs {
		jobIDs, err := q.indexJobs(ctx, id)
		if err != nil {
			return err
		}
		for _, jobID := range jobIDs {
			_, err := q.client.JobCancel(ctx, jobID)
			if err != nil && !errors.Is(err, rivertype.ErrNotFound) {
				return fmt.Errorf("jobs: cancelling index run %d of repository %s: %w", jobID, id, err)
			}
		}
	}
	return nil
}

// indexJobs lists the unfinished index runs of a repository. Runs are
// keyed by their arguments' repositoryId (indexArgs); River stores them as
// JSON in PostgreSQL and as JSONB in SQLite, which read them alike but for
// the path syntax.
func (q *Queue) indexJobs(ctx context.Context, repositoryID string) ([]int64, error) {
	arg := `args->>'$.repositoryId'`
	if q.postgres {
		arg = `args->>'repositoryId'`
	}
	rows, err := q.db.QueryContext(ctx, q.rebind(`SELECT id FROM river_job WHERE kind = ? AND `+arg+` = ?
		AND state IN ('available', 'scheduled', 'retryable', 'pending', 'running')`), kindIndex, repositoryID)
	if err != nil {
		return nil, fmt.Errorf("jobs: listing the index runs of repository %s: %w", repositoryID, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("jobs: listing the index runs of repository %s: %w", repositoryID, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// sweepEvery is how often an instance deletes the mirrors of repositories
// that no longer exist. Each instance has its own data directory, so each
// sweeps its own: a repository removed through another instance leaves a
// mirror here until then.
const sweepEvery = time.Hour

// sweepMirrors sweeps at once and then every sweepEvery until ctx ends.
func (q *Queue) sweepMirrors(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		n, err := q.indexer.SweepMirrors(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			q.log.Warn("mirrors of removed repositories not swept", "err", err)
		case n > 0:
			q.log.Info("mirrors of removed repositories deleted", "mirrors", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
