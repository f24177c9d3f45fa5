package forgebridge

import (
	"context"
	"time"
)

// IssueComment is a comment on an issue of the local tracker.
type IssueComment struct {
	Author  string // the user's name
	Body    string
	Created time.Time
}

// WorkLog is work logged on an issue of the local tracker.
type WorkLog struct {
	Author           string // the user's name
	TimeSpentSeconds int64
	Comment          string
	Started          time.Time
	Created          time.Time
}

// IssueActivity is what the local tracker keeps of an issue's work: its
// status, comments and work logs, oldest first.
type IssueActivity struct {
	Status   string
	Comments []IssueComment
	Worklog  []WorkLog
}

// ActivityTracker is the optional part of a Tracker whose issues' status,
// comments and work logs forgebridge shows (the local tracker's).
type ActivityTracker interface {
	Activity(ctx context.Context, issueKey string) (IssueActivity, error)
}

// AuditSmartCommit is the audit action of one smart-commit command on one
// issue; its Target is the commit, its Outcome AuditOutcomeSuccess,
// AuditOutcomeSkipped or AuditOutcomeFailure, with Code saying why.
const (
	AuditSmartCommit    = "smartcommit"
	AuditOutcomeSkipped = "skipped"
)

// SmartCommitClaim names one smart-commit command on one issue: it acts
// once per commit, issue and command, whatever the number of repositories,
// branches or index runs that read the commit.
type SmartCommitClaim struct {
	SHA       string
	IssueKey  string
	CommandID string // smartcommit.Command.ID
}

// IssueWorkStore keeps the local tracker's statuses, comments and work logs,
// and the claims that make smart commits act once.
type IssueWorkStore interface {
	// IssueActivity returns the issue's status, comments and work logs;
	// ENotFound when there is no such issue.
	IssueActivity(ctx context.Context, issueKey string) (IssueActivity, error)
	// AddIssueComment and AddWorkLog add to an existing issue (ENotFound).
	AddIssueComment(ctx context.Context, issueKey string, c IssueComment) error
	AddWorkLog(ctx context.Context, issueKey string, w WorkLog) error
	// ChangeIssueStatus reads the issue's status in a transaction that
	// keeps other writers of it out, lets change return the new one (an
	// error aborts and is returned) and writes it, with comment (nil: none).
	ChangeIssueStatus(ctx context.Context, issueKey string, change func(status string) (string, error), comment *IssueComment) error

	// ClaimSmartCommit gives the claim to owner (a job) unless another
	// owner has it or it is finished: true when it is owner's, newly or
	// from an earlier try.
	ClaimSmartCommit(ctx context.Context, c SmartCommitClaim, owner string) (bool, error)
	// FinishSmartCommit marks the claim finished, so that no owner acts on
	// it again, and writes the audit entry of its outcome, in one transaction.
	FinishSmartCommit(ctx context.Context, c SmartCommitClaim, e *AuditEntry) error
	// UnclaimedSmartCommits returns those of claims no owner has, in order.
	UnclaimedSmartCommits(ctx context.Context, claims []SmartCommitClaim) ([]SmartCommitClaim, error)
}
