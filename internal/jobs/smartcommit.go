package jobs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/smartcommit"
	"github.com/riverqueue/river"
)

const kindSmartCommit = "smartcommit"

// smartCommitArgs is one command of a commit on one issue (app.SmartCommitJob)
// as a stored job. It holds no secret.
type smartCommitArgs struct {
	IntegrationID string    `json:"integrationId"`
	RepositoryID  string    `json:"repositoryId"`
	SHA           string    `json:"sha"`
	AuthorEmail   string    `json:"authorEmail"`
	AuthoredAt    time.Time `json:"authoredAt"`
	IssueKey      string    `json:"issueKey"`
	CommandID     string    `json:"commandId"`
	CommandKind   string    `json:"commandKind"`
	Name          string    `json:"name"`
	Text          string    `json:"text,omitempty"`
	Seconds       int64     `json:"seconds,omitempty"`
}

func (smartCommitArgs) Kind() string { return kindSmartCommit }

func (a smartCommitArgs) job() app.SmartCommitJob {
	return app.SmartCommitJob{IntegrationID: a.IntegrationID, RepositoryID: a.RepositoryID, SHA: a.SHA,
		AuthorEmail: a.AuthorEmail, AuthoredAt: a.AuthoredAt, IssueKey: a.IssueKey,
		Command: smartcommit.Command{ID: a.CommandID, Kind: smartcommit.Kind(a.CommandKind), Name: a.Name, Text: a.Text, Seconds: a.Seconds}}
}

// smartCommitInsertChunk bounds one insert of jobs.
const smartCommitInsertChunk = 1000

// queueSmartCommits queues a job per command and issue of the commits
// (index.Indexer.SmartCommits), leaving out the commands already claimed:
// a reindex reads the commits again, and adds no job for them.
func (q *Queue) queueSmartCommits(ctx context.Context, b index.SmartCommitBatch) error {
	var claims []fb.SmartCommitClaim
	args := map[fb.SmartCommitClaim]smartCommitArgs{}
	for _, sc := range b.Commits {
		c := sc.Commit
		for _, cmd := range sc.Commands {
			for _, key := range cmd.Keys {
				cl := fb.SmartCommitClaim{SHA: c.SHA, IssueKey: key, CommandID: cmd.ID}
				if _, dup := args[cl]; dup {
					continue
				}
				claims = append(claims, cl)
				args[cl] = smartCommitArgs{IntegrationID: b.Integration.ID, RepositoryID: b.Repository.ID, SHA: c.SHA,
					AuthorEmail: c.AuthorEmail, AuthoredAt: c.AuthoredAt, IssueKey: key, CommandID: cmd.ID,
					CommandKind: string(cmd.Kind), Name: cmd.Name, Text: cmd.Text, Seconds: cmd.Seconds}
			}
		}
	}
	todo, err := q.app.Store.UnclaimedSmartCommits(ctx, claims)
	if err != nil {
		return err
	}
	for len(todo) > 0 {
		n := min(len(todo), smartCommitInsertChunk)
		params := make([]river.InsertManyParams, n)
		for i, cl := range todo[:n] {
			params[i] = river.InsertManyParams{Args: args[cl], InsertOpts: &river.InsertOpts{MaxAttempts: integrationAttempts}}
		}
		if _, err := q.client.InsertMany(ctx, params); err != nil {
			return fmt.Errorf("jobs: queueing %d smart-commit commands: %w", n, err)
		}
		todo = todo[n:]
	}
	return nil
}

type smartCommitWorker struct {
	river.WorkerDefaults[smartCommitArgs]
	q *Queue
}

func (w *smartCommitWorker) Work(ctx context.Context, job *river.Job[smartCommitArgs]) error {
	err := w.q.app.RunSmartCommit(ctx, job.Args.job(), strconv.FormatInt(job.ID, 10), job.Attempt >= job.MaxAttempts)
	if err != nil && job.Attempt >= job.MaxAttempts {
		w.q.log.Error("gave up on a smart-commit command", "commit", job.Args.SHA, "issue", job.Args.IssueKey,
			"command", job.Args.Name, "attempts", job.Attempt, "err", err)
	}
	return outcome(err)
}
