package local

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	fb "github.com/forgebridge/forgebridge"
)

// The local tracker's statuses.
const (
	StatusToDo       = "To Do"
	StatusInProgress = "In Progress"
	StatusDone       = "Done"
)

// Transition is a step of the workflow: from any of From to To.
type Transition struct {
	Name string
	From []string
	To   string
}

// Workflow is the local tracker's one workflow, Jira's simplest: To Do →
// In Progress → Done, and back.
var Workflow = []Transition{
	{"Start Progress", []string{StatusToDo}, StatusInProgress},
	{"Stop Progress", []string{StatusInProgress}, StatusToDo},
	{"Done", []string{StatusToDo, StatusInProgress}, StatusDone},
	{"Resolve Issue", []string{StatusToDo, StatusInProgress}, StatusDone},
	{"Reopen Issue", []string{StatusDone}, StatusToDo},
}

// CommandName is a transition's name in a smart commit: lower case, spaces
// as hyphens ("start-progress").
func CommandName(name string) string {
	return strings.ToLower(strings.Join(strings.Fields(name), "-"))
}

// Transitions returns the transitions the workflow offers from status.
func Transitions(status string) []Transition {
	var out []Transition
	for _, t := range Workflow {
		for _, f := range t.From {
			if f == status {
				out = append(out, t)
			}
		}
	}
	return out
}

// FindTransition returns the transition from status that name (a command
// name) asks for: the one whose command name it is, else, as Atlassian's
// smart commits allow, the only one whose command name starts with name up
// to a hyphen ("resolve" for "Resolve Issue"). EInvalid when there is none
// or more than one.
func FindTransition(status, name string) (Transition, error) {
	offered := Transitions(status)
	var prefixed []Transition
	for _, t := range offered {
		cn := CommandName(t.Name)
		if cn == name {
			return t, nil
		}
		if name != "" && strings.HasPrefix(cn, name+"-") {
			prefixed = append(prefixed, t)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0], nil
	}
	names := make([]string, len(offered))
	for i, t := range offered {
		names[i] = CommandName(t.Name)
	}
	if len(prefixed) > 1 {
		return Transition{}, fb.Errorf(fb.EInvalid, "%q names more than one transition from %s; use one of: %s.",
			name, status, strings.Join(names, ", "))
	}
	return Transition{}, fb.Errorf(fb.EInvalid, "The workflow offers no transition %q from %s; it offers: %s.",
		name, status, strings.Join(names, ", "))
}

// Activity returns the issue's status, comments and work logs.
func (t *Tracker) Activity(ctx context.Context, issueKey string) (fb.IssueActivity, error) {
	return t.Store.IssueActivity(ctx, strings.ToUpper(issueKey))
}

var (
	_ fb.IssueActor      = (*Tracker)(nil)
	_ fb.ActivityTracker = (*Tracker)(nil)
)

// maxCommentLength bounds a comment, as Jira's default does.
const maxCommentLength = 32767

// Comment adds a comment written by as, who must be active and may browse
// the issue's project.
func (t *Tracker) Comment(ctx context.Context, as fb.User, issueKey, body string) error {
	key, err := t.mayWork(ctx, as, issueKey)
	if err != nil {
		return err
	}
	if err := checkComment(body, true); err != nil {
		return err
	}
	return t.Store.AddIssueComment(ctx, key, fb.IssueComment{Author: as.Name, Body: body, Created: t.now()})
}

// LogWork logs work done by as on the issue.
func (t *Tracker) LogWork(ctx context.Context, as fb.User, issueKey string, seconds int64, comment string, started time.Time) error {
	key, err := t.mayWork(ctx, as, issueKey)
	if err != nil {
		return err
	}
	if seconds <= 0 {
		return fb.Errorf(fb.EInvalid, "Work logged needs a duration such as 2h or 1w 2d 4h 30m.")
	}
	if err := checkComment(comment, false); err != nil {
		return err
	}
	return t.Store.AddWorkLog(ctx, key, fb.WorkLog{Author: as.Name, TimeSpentSeconds: seconds, Comment: comment,
		Started: started, Created: t.now()})
}

// Transition moves the issue along the workflow as as, with an optional
// comment written by as.
func (t *Tracker) Transition(ctx context.Context, as fb.User, issueKey, name, comment string) error {
	key, err := t.mayWork(ctx, as, issueKey)
	if err != nil {
		return err
	}
	if err := checkComment(comment, false); err != nil {
		return err
	}
	var ic *fb.IssueComment
	if comment != "" {
		ic = &fb.IssueComment{Author: as.Name, Body: comment, Created: t.now()}
	}
	return t.Store.ChangeIssueStatus(ctx, key, func(status string) (string, error) {
		tr, err := FindTransition(status, name)
		return tr.To, err
	}, ic)
}

// mayWork checks that as may work on the issue: an active user with Browse
// on its project (the local tracker has no finer permissions).
func (t *Tracker) mayWork(ctx context.Context, as fb.User, issueKey string) (string, error) {
	u, err := t.Store.User(ctx, as.Key)
	if fb.ErrorCode(err) == fb.ENotFound || err == nil && !u.Active {
		return "", fb.Errorf(fb.EForbidden, "%s is not an active user of the directory.", as.Name)
	} else if err != nil {
		return "", err
	}
	is, err := t.Issue(ctx, issueKey)
	if err != nil {
		return "", err
	}
	perms, err := t.Permissions(ctx, u, is.Project)
	if err != nil {
		return "", err
	}
	if !perms[fb.PermBrowseProjects] {
		return "", fb.Errorf(fb.EForbidden, "%s may not browse project %s.", u.Name, is.Project)
	}
	return is.Key, nil
}

func checkComment(body string, required bool) error {
	switch {
	case required && strings.TrimSpace(body) == "":
		return fb.Errorf(fb.EInvalid, "A comment needs some text.")
	case utf8.RuneCountInString(body) > maxCommentLength:
		return fb.Errorf(fb.EInvalid, "A comment may have at most %d characters.", maxCommentLength)
	}
	return nil
}

func (t *Tracker) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC()
}
