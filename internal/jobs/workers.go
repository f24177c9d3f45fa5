package jobs

import (
	"context"
	"errors"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Job kinds, as stored in the river_job table.
const (
	kindRemoteLink = "remote_link"
	kindUnlink     = "remote_unlink"
	kindDiscover   = "discover"
	kindRevalidate = "revalidate_tokens"
	kindSchedule   = "schedule"
)

// River runs lower priorities first: a link someone waits to see on their
// issue goes before the periodic sweeps.
const (
	priorityLink     = 1
	prioritySchedule = 2
)

// integrationAttempts bounds the retries of a per-integration job: the next
// period's run takes over from one that keeps failing, so retrying it for
// River's default three weeks would only pile runs up.
const integrationAttempts = 5

// integrationTimeout bounds one discovery or re-validation run: listing a
// large organisation's repositories or checking many tokens takes longer
// than River's default minute.
const integrationTimeout = 10 * time.Minute

// defaultSnooze is how long a rate-limited job waits when the provider did
// not say.
const defaultSnooze = time.Minute

// remoteLinkArgs is a link to write to an issue. Its JSON is the stored job.
type remoteLinkArgs struct {
	IssueKey string   `json:"issueKey"`
	Link     linkArgs `json:"link"`
}

type linkArgs struct {
	GlobalID  string `json:"globalId"`
	URL       string `json:"url"`
	Title     string `json:"title,omitempty"`
	Summary   string `json:"summary,omitempty"`
	IconURL   string `json:"iconUrl,omitempty"`
	IconTitle string `json:"iconTitle,omitempty"`
	Resolved  bool   `json:"resolved,omitempty"`
}

func newRemoteLinkArgs(issueKey string, l app.IssueLink) remoteLinkArgs {
	return remoteLinkArgs{IssueKey: issueKey, Link: linkArgs(l)}
}

func (a remoteLinkArgs) issueLink() app.IssueLink { return app.IssueLink(a.Link) }

func (remoteLinkArgs) Kind() string { return kindRemoteLink }

// InsertOpts: the same link failing twice before a retry writes it is
// queued once. A written (completed) link does not count, unlike River's
// default, so a link that fails again later is queued again.
func (remoteLinkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Priority: priorityLink, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// unlinkArgs is a link to remove from an issue (a deleted branch's).
type unlinkArgs struct {
	IssueKey string `json:"issueKey"`
	GlobalID string `json:"globalId"`
}

func (unlinkArgs) Kind() string { return kindUnlink }

// InsertOpts: queued once while waiting or running, like a link to write
// (River's unique jobs must count running ones). A removal asked for again
// while one runs is dropped; the delete that asked tried it at once first.
func (unlinkArgs) InsertOpts() river.InsertOpts { return remoteLinkArgs{}.InsertOpts() }

// integrationArgs names the integration a discover or revalidate_tokens job is for.
type integrationArgs struct {
	IntegrationID string `json:"integrationId"`
}

type discoverArgs integrationArgs

func (discoverArgs) Kind() string { return kindDiscover }

type revalidateArgs integrationArgs

func (revalidateArgs) Kind() string { return kindRevalidate }

// scheduleArgs asks for one job of Task (discover or revalidate_tokens) per integration.
type scheduleArgs struct {
	Task string `json:"task"`
}

func (scheduleArgs) Kind() string { return kindSchedule }

// uniquePerPeriod inserts a job once per period whatever the number of
// instances or leader changes: a copy with the same arguments in the same
// period is skipped.
func uniquePerPeriod(every time.Duration) *river.InsertOpts {
	return &river.InsertOpts{Priority: prioritySchedule, MaxAttempts: integrationAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: every}}
}

// periodicJobs are the schedules that are on. RunOnStart runs them when an
// instance becomes leader, so a daily sweep still happens on a service
// restarted more often than daily; the uniqueness per period keeps that from
// running one twice.
func (q *Queue) periodicJobs() []*river.PeriodicJob {
	var jobs []*river.PeriodicJob
	for _, s := range []struct {
		task  string
		every time.Duration
	}{{kindDiscover, q.rediscover}, {kindRevalidate, q.revalidate}, {kindIndex, q.reindex}} {
		if s.every <= 0 {
			continue
		}
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(s.every),
			func() (river.JobArgs, *river.InsertOpts) { return scheduleArgs{Task: s.task}, uniquePerPeriod(s.every) },
			&river.PeriodicJobOpts{ID: s.task, RunOnStart: true}))
	}
	return jobs
}

// scheduleWorker inserts one discover or revalidate_tokens job per integration.
type scheduleWorker struct {
	river.WorkerDefaults[scheduleArgs]
	q *Queue
}

func (w *scheduleWorker) Work(ctx context.Context, job *river.Job[scheduleArgs]) error {
	_, err := w.q.enqueueAll(ctx, job.Args.Task)
	return err
}

// enqueueAll inserts a job of task for every integration, once per period,
// and returns how many were inserted (duplicates skipped).
func (q *Queue) enqueueAll(ctx context.Context, task string) (int, error) {
	var every time.Duration
	var args func(id string) river.JobArgs
	switch task {
	case kindDiscover:
		every, args = q.rediscover, func(id string) river.JobArgs { return discoverArgs{IntegrationID: id} }
	case kindRevalidate:
		every, args = q.revalidate, func(id string) river.JobArgs { return revalidateArgs{IntegrationID: id} }
	case kindIndex:
		return q.indexAll(ctx)
	default:
		// Written by an instance of a later version: nothing to do here.
		return 0, river.JobCancel(fb.Errorf(fb.EInvalid, "unknown scheduled task %q", task))
	}
	if every <= 0 {
		return 0, nil // turned off on this instance since the job was queued
	}
	ins, err := q.app.Store.Integrations(ctx)
	if err != nil {
		return 0, err
	}
	params := make([]river.InsertManyParams, 0, len(ins))
	for _, in := range ins {
		params = append(params, river.InsertManyParams{Args: args(in.ID), InsertOpts: uniquePerPeriod(every)})
	}
	if len(params) == 0 {
		return 0, nil
	}
	res, err := q.client.InsertMany(ctx, params)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}

// indexAll queues a scheduled index run of every repository; those already
// waiting for one are not queued twice.
func (q *Queue) indexAll(ctx context.Context) (int, error) {
	if q.reindex <= 0 {
		return 0, nil
	}
	ins, err := q.app.Store.Integrations(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, in := range ins {
		k, err := q.app.IndexAll(ctx, in.ID)
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

type remoteLinkWorker struct {
	river.WorkerDefaults[remoteLinkArgs]
	q *Queue
}

func (w *remoteLinkWorker) Work(ctx context.Context, job *river.Job[remoteLinkArgs]) error {
	a := job.Args
	err := outcome(w.q.app.WriteLink(ctx, a.IssueKey, a.issueLink()))
	if gaveUp(err, job.JobRow) {
		w.q.log.Error("gave up writing a link to the tracker's issue", "issue", a.IssueKey, "url", a.Link.URL,
			"attempts", job.Attempt, "err", err)
		w.q.app.AbandonLink(context.WithoutCancel(ctx), a.IssueKey, a.issueLink())
	}
	return err
}

// gaveUp reports whether a job's error ends it for good: cancelled, or a
// failure on its last attempt.
func gaveUp(err error, job *rivertype.JobRow) bool {
	var cancelled *river.JobCancelError
	return errors.As(err, &cancelled) || err != nil && !isCancelOrSnooze(err) && job.Attempt >= job.MaxAttempts
}

type unlinkWorker struct {
	river.WorkerDefaults[unlinkArgs]
	q *Queue
}

func (w *unlinkWorker) Work(ctx context.Context, job *river.Job[unlinkArgs]) error {
	a := job.Args
	err := outcome(w.q.app.RemoveLink(ctx, a.IssueKey, a.GlobalID))
	if gaveUp(err, job.JobRow) {
		w.q.log.Error("gave up removing a link from the tracker's issue", "issue", a.IssueKey, "globalId", a.GlobalID,
			"attempts", job.Attempt, "err", err)
	}
	return err
}

type discoverWorker struct {
	river.WorkerDefaults[discoverArgs]
	q *Queue
}

func (w *discoverWorker) Timeout(*river.Job[discoverArgs]) time.Duration { return integrationTimeout }

func (w *discoverWorker) Work(ctx context.Context, job *river.Job[discoverArgs]) error {
	n, err := w.q.app.Discover(ctx, job.Args.IntegrationID)
	if err == nil {
		w.q.log.Info("repositories rediscovered", "integration", job.Args.IntegrationID, "repositories", n)
	}
	return outcome(err)
}

type revalidateWorker struct {
	river.WorkerDefaults[revalidateArgs]
	q *Queue
}

func (w *revalidateWorker) Timeout(*river.Job[revalidateArgs]) time.Duration {
	return integrationTimeout
}

func (w *revalidateWorker) Work(ctx context.Context, job *river.Job[revalidateArgs]) error {
	checked, invalidated, err := w.q.app.RevalidateTokens(ctx, job.Args.IntegrationID)
	if err == nil {
		w.q.log.Info("user tokens re-validated", "integration", job.Args.IntegrationID,
			"checked", checked, "invalidated", invalidated)
	}
	return outcome(err)
}

// outcome tells River what to do with a job that returned err: nothing more
// when the object it is about is gone, wait as long as the provider asks when
// rate limited, and otherwise retry with backoff.
func outcome(err error) error {
	e := fb.AsError(err)
	switch {
	case err == nil || e == nil:
		return err
	case e.Code == fb.ENotFound, e.Code == fb.EForbidden, e.Code == fb.EInvalid:
		// Gone, or a fault of configuration (e.g. the service account may not
		// link issues): trying again changes nothing.
		return river.JobCancel(err)
	case e.Code == fb.ERateLimited:
		wait := time.Duration(e.RetryAfter) * time.Second
		if wait <= 0 {
			wait = defaultSnooze
		}
		return river.JobSnooze(wait)
	}
	return err
}

func isCancelOrSnooze(err error) bool {
	switch err.(type) {
	case *river.JobCancelError, *river.JobSnoozeError:
		return true
	}
	return false
}
