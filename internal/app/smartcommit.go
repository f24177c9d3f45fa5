package app

import (
	"context"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/smartcommit"
)

// SmartCommitJob is one smart-commit command of a commit on one issue: what
// the job queue stores and runs.
type SmartCommitJob struct {
	IntegrationID string
	RepositoryID  string
	SHA           string
	AuthorEmail   string
	AuthoredAt    time.Time
	IssueKey      string
	Command       smartcommit.Command // its Keys are not read
}

// Claim is the job's once-only key.
func (j SmartCommitJob) Claim() fb.SmartCommitClaim {
	return fb.SmartCommitClaim{SHA: j.SHA, IssueKey: j.IssueKey, CommandID: j.Command.ID}
}

// RunSmartCommit carries out a smart-commit command as the tracker user
// whose email is the commit author's, once per commit, issue and command:
// owner names the job, and only the job that claims the command first acts
// (its retries too). The outcome (success, skipped or failure) is an audit
// entry `smartcommit`. An error is returned only for a fault that may pass
// (tracker or database unreachable) while final is false: the queue tries
// again, and the last try records the failure.
func (s *Service) RunSmartCommit(ctx context.Context, job SmartCommitJob, owner string, final bool) error {
	mine, err := s.Store.ClaimSmartCommit(ctx, job.Claim(), owner)
	if err != nil {
		return err
	}
	if !mine {
		return nil // another job has it: done or being done there
	}
	entry := &fb.AuditEntry{ActionID: "smartcommit:" + job.SHA + ":" + job.IssueKey + ":" + job.Command.ID,
		Action: fb.AuditSmartCommit, IntegrationID: job.IntegrationID, RepositoryID: job.RepositoryID,
		Issue: job.IssueKey, Target: job.SHA}
	as, err := s.smartCommit(ctx, job)
	entry.User = as.Name
	switch code := fb.ErrorCode(err); {
	case err == nil:
		entry.Outcome = fb.AuditOutcomeSuccess
	case passing(code) && !final:
		return err
	case skipping(code):
		entry.Outcome, entry.Code = fb.AuditOutcomeSkipped, string(code)
	default:
		entry.Outcome, entry.Code = fb.AuditOutcomeFailure, string(code)
	}
	if err != nil {
		s.log().Info("smart-commit command not carried out", "commit", job.SHA, "issue", job.IssueKey,
			"command", job.Command.Name, "outcome", entry.Outcome, "code", entry.Code, "err", err)
	}
	entry.Time = s.now()
	return s.Store.FinishSmartCommit(ctx, job.Claim(), entry)
}

// passing says whether a failure may pass if tried again.
func passing(code fb.Code) bool {
	switch code {
	case fb.ETrackerUnavailable, fb.ERateLimited, fb.EInternal:
		return true
	}
	return false
}

// skipping says whether a command was not tried at all, rather than refused
// by the tracker: no one to act as, no grant to act with, nothing to act on.
func skipping(code fb.Code) bool {
	switch code {
	case fb.EGrantRequired, fb.ENotSupported, fb.EFeatureDisabled, errNoAuthor:
		return true
	}
	return false
}

// errNoAuthor is the code of a command skipped because no single active
// tracker user has the commit author's email.
const errNoAuthor fb.Code = "author_unknown"

// smartCommit carries out the command and returns who it acted as.
func (s *Service) smartCommit(ctx context.Context, job SmartCommitJob) (fb.User, error) {
	in, err := s.Store.Integration(ctx, job.IntegrationID)
	if fb.ErrorCode(err) == fb.ENotFound {
		return fb.User{}, fb.Errorf(fb.EFeatureDisabled, "The integration was removed before the command ran.")
	} else if err != nil {
		return fb.User{}, err
	}
	if !in.Settings.SmartCommits {
		return fb.User{}, fb.Errorf(fb.EFeatureDisabled, "Smart commits were switched off for integration %s before the command ran.", in.Name)
	}
	if project, _, ok := strings.Cut(job.IssueKey, "-"); !ok || !in.ServesProject(project) {
		return fb.User{}, fb.Errorf(fb.EFeatureDisabled, "Integration %s does not serve the project of %s.", in.Name, job.IssueKey)
	}
	people, ok := s.Tracker.(fb.PeopleByEmail)
	actor, ok2 := s.Tracker.(fb.IssueActor)
	if !ok || !ok2 {
		return fb.User{}, fb.Errorf(fb.ENotSupported, "The tracker cannot carry out smart-commit commands.")
	}
	email := strings.ToLower(strings.TrimSpace(job.AuthorEmail))
	users, err := people.UsersByEmail(ctx, []string{email})
	if err != nil {
		return fb.User{}, err
	}
	as, ok := users[email]
	if email == "" || !ok {
		return fb.User{}, &fb.Error{Code: errNoAuthor,
			Message: "No single active tracker user has the commit author's email, so there is no one to act as."}
	}
	c := job.Command
	switch c.Kind {
	case smartcommit.KindComment:
		err = actor.Comment(ctx, as, job.IssueKey, c.Text)
	case smartcommit.KindTime:
		if c.Seconds <= 0 {
			err = fb.Errorf(fb.EInvalid, "#time needs a duration such as 2h or 1w 2d 4h 30m.")
		} else {
			err = actor.LogWork(ctx, as, job.IssueKey, c.Seconds, c.Text, job.AuthoredAt)
		}
	case smartcommit.KindTransition:
		err = actor.Transition(ctx, as, job.IssueKey, c.Name, c.Text)
	default:
		err = fb.Errorf(fb.EInvalid, "Unknown smart-commit command %q.", c.Kind)
	}
	return as, err
}
