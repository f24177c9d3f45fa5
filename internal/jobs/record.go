package jobs

import (
	"context"
	"fmt"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/riverqueue/river"
)

// kindRecord stores the record of a branch or pull request the host has
// created when the store did not take it at the time.
const kindRecord = "action_record"

var _ app.RecordQueue = (*Queue)(nil)

// recordArgs is an app.ActionRecord as a stored job. It holds no secret:
// names, ids, addresses and the actor's login.
type recordArgs struct {
	Entry       auditArgs        `json:"entry"`
	Branch      *branchArgs      `json:"branch,omitempty"`
	PullRequest *pullRequestArgs `json:"pullRequest,omitempty"`
}

type auditArgs struct {
	ActionID      string    `json:"actionId"`
	Time          time.Time `json:"time"`
	User          string    `json:"user"`
	Action        string    `json:"action"`
	IntegrationID string    `json:"integrationId,omitempty"`
	RepositoryID  string    `json:"repositoryId,omitempty"`
	Issue         string    `json:"issue,omitempty"`
	Target        string    `json:"target,omitempty"`
	ActorType     string    `json:"actorType,omitempty"`
	ActorLogin    string    `json:"actorLogin,omitempty"`
	Outcome       string    `json:"outcome"`
	Code          string    `json:"code,omitempty"`
}

type branchArgs struct {
	IssueKey     string    `json:"issueKey"`
	RepositoryID string    `json:"repositoryId"`
	Name         string    `json:"name"`
	SHA          string    `json:"sha,omitempty"`
	WebURL       string    `json:"webUrl,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
}

type pullRequestArgs struct {
	IssueKey     string    `json:"issueKey"`
	RepositoryID string    `json:"repositoryId"`
	ID           string    `json:"id"`
	Number       int       `json:"number"`
	Title        string    `json:"title"`
	WebURL       string    `json:"webUrl,omitempty"`
	SourceBranch string    `json:"sourceBranch"`
	TargetBranch string    `json:"targetBranch"`
	State        string    `json:"state,omitempty"`
	Draft        bool      `json:"draft,omitempty"`
	Author       string    `json:"author,omitempty"`
	UpdatedAt    time.Time `json:"updatedAt,omitzero"`
	CreatedAt    time.Time `json:"createdAt"`
}

func (recordArgs) Kind() string { return kindRecord }

// InsertOpts: before the periodic sweeps, like a link; River's default
// attempts (25, backing off to about three weeks in all) outlast any outage
// worth waiting out.
func (recordArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Priority: priorityLink} }

func newRecordArgs(r app.ActionRecord) recordArgs {
	e := r.Entry
	a := recordArgs{Entry: auditArgs{ActionID: e.ActionID, Time: e.Time, User: e.User, Action: e.Action,
		IntegrationID: e.IntegrationID, RepositoryID: e.RepositoryID, Issue: e.Issue, Target: e.Target,
		ActorType: string(e.Actor.Type), ActorLogin: e.Actor.Login, Outcome: e.Outcome, Code: e.Code}}
	if b := r.Branch; b != nil {
		a.Branch = &branchArgs{IssueKey: b.IssueKey, RepositoryID: b.RepositoryID, Name: b.Name, SHA: b.SHA,
			WebURL: b.WebURL, CreatedAt: b.CreatedAt}
	}
	if pr := r.PullRequest; pr != nil {
		a.PullRequest = &pullRequestArgs{IssueKey: pr.IssueKey, RepositoryID: pr.RepositoryID, ID: pr.ID,
			Number: pr.Number, Title: pr.Title, WebURL: pr.WebURL, SourceBranch: pr.SourceBranch,
			TargetBranch: pr.TargetBranch, State: string(pr.State), Draft: pr.Draft, Author: pr.Author,
			UpdatedAt: pr.UpdatedAt, CreatedAt: pr.CreatedAt}
	}
	return a
}

func (a recordArgs) record() app.ActionRecord {
	e := a.Entry
	r := app.ActionRecord{Entry: fb.AuditEntry{ActionID: e.ActionID, Time: e.Time, User: e.User, Action: e.Action,
		IntegrationID: e.IntegrationID, RepositoryID: e.RepositoryID, Issue: e.Issue, Target: e.Target,
		Actor: fb.Actor{Type: fb.ActorType(e.ActorType), Login: e.ActorLogin}, Outcome: e.Outcome, Code: e.Code}}
	if b := a.Branch; b != nil {
		r.Branch = &fb.IssueBranch{IssueKey: b.IssueKey, RepositoryID: b.RepositoryID, Name: b.Name, SHA: b.SHA,
			WebURL: b.WebURL, CreatedAt: b.CreatedAt}
	}
	if pr := a.PullRequest; pr != nil {
		r.PullRequest = &fb.IssuePullRequest{IssueKey: pr.IssueKey, RepositoryID: pr.RepositoryID,
			CreatedAt: pr.CreatedAt, PullRequest: fb.PullRequest{ID: pr.ID, Number: pr.Number, Title: pr.Title,
				WebURL: pr.WebURL, SourceBranch: pr.SourceBranch, TargetBranch: pr.TargetBranch,
				State: fb.PullState(pr.State), Draft: pr.Draft, Author: pr.Author, UpdatedAt: pr.UpdatedAt}}
	}
	return r
}

// RetryRecord queues an action record to be stored later, retried with
// River's backoff until the store takes it.
func (q *Queue) RetryRecord(ctx context.Context, r app.ActionRecord) error {
	if _, err := q.client.Insert(ctx, newRecordArgs(r), nil); err != nil {
		return fmt.Errorf("jobs: queueing the record of %s %s: %w", r.Entry.Action, r.Entry.ActionID, err)
	}
	return nil
}

type recordWorker struct {
	river.WorkerDefaults[recordArgs]
	q *Queue
}

// Work stores the record. Every failure is retried: the store being down
// is the reason the record is here. The last attempt's failure logs the
// whole record for an operator, as nothing else will store it.
func (w *recordWorker) Work(ctx context.Context, job *river.Job[recordArgs]) error {
	r := job.Args.record()
	err := w.q.app.StoreRecord(ctx, r)
	switch {
	case err == nil:
		w.q.log.Info("action recorded late", "action", r.Entry.Action, "actionId", r.Entry.ActionID,
			"issue", r.Entry.Issue, "attempts", job.Attempt)
	case job.Attempt >= job.MaxAttempts:
		w.q.log.Error("gave up recording an action: recover it from this record", "record", r,
			"attempts", job.Attempt, "err", err)
	}
	return err
}
