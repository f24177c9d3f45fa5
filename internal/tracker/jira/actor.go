package jira

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

var _ fb.IssueActor = (*Tracker)(nil)

// Smart commits in Jira (REST API v2), done as the person through their
// own grant (Bearer access token), never as the service account.

// worklogStarted is Jira's date-time format for a work log's start.
const worklogStarted = "2006-01-02T15:04:05.000-0700"

// Comment adds body to the issue as a comment written by as
// (POST /rest/api/2/issue/{key}/comment).
func (t *Tracker) Comment(ctx context.Context, as fb.User, issueKey, body string) error {
	if strings.TrimSpace(body) == "" {
		return fb.Errorf(fb.EInvalid, "A comment needs some text.")
	}
	return t.actAs(ctx, as, issueKey, "comment on", request{method: http.MethodPost,
		path: issuePath(issueKey) + "/comment", body: map[string]string{"body": body}}, nil)
}

// LogWork logs seconds of work on the issue as as (POST
// /rest/api/2/issue/{key}/worklog with timeSpent). The time is given in
// hours and minutes, which mean the same on every Jira whatever its
// working day and week; seconds are rounded to the nearest minute, at
// least one.
func (t *Tracker) LogWork(ctx context.Context, as fb.User, issueKey string, seconds int64, comment string, started time.Time) error {
	if seconds <= 0 {
		return fb.Errorf(fb.EInvalid, "Work logged must be a positive time.")
	}
	body := map[string]string{"timeSpent": timeSpent(seconds), "started": started.Format(worklogStarted)}
	if comment != "" {
		body["comment"] = comment
	}
	return t.actAs(ctx, as, issueKey, "log work on", request{method: http.MethodPost,
		path: issuePath(issueKey) + "/worklog", body: body}, nil)
}

// timeSpent writes seconds as Jira's duration in hours and minutes ("2h 30m").
func timeSpent(seconds int64) string {
	minutes := max((seconds+30)/60, 1)
	h, m := minutes/60, minutes%60
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh %dm", h, m)
}

// transitions is Jira's answer to GET …/transitions: those the caller may
// perform from the issue's status.
type transitions struct {
	Transitions []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"transitions"`
}

// TransitionKey is a transition's name as smart commits write it: lower
// case, spaces as hyphens ("Start Progress" is "start-progress").
func TransitionKey(name string) string {
	return strings.ToLower(strings.Join(strings.Fields(name), "-"))
}

// Transition performs the issue's transition named name (compared as
// TransitionKey) as as: it asks Jira which transitions as may perform from
// the issue's status, then performs the one that matches by its id. None
// matching is EInvalid, naming those offered. A comment is added after the
// transition, as its own call: a comment inside the transition request is
// refused when the transition has no screen.
func (t *Tracker) Transition(ctx context.Context, as fb.User, issueKey, name, comment string) error {
	want := TransitionKey(name)
	if want == "" {
		return fb.Errorf(fb.EInvalid, "A transition needs a name.")
	}
	var offered transitions
	if err := t.actAs(ctx, as, issueKey, "see the transitions of", request{method: http.MethodGet,
		path: issuePath(issueKey) + "/transitions"}, &offered); err != nil {
		return err
	}
	id := ""
	var names []string
	for _, tr := range offered.Transitions {
		names = append(names, tr.Name)
		if id == "" && TransitionKey(tr.Name) == want {
			id = tr.ID
		}
	}
	if id == "" {
		if len(names) == 0 {
			return fb.Errorf(fb.EInvalid, "Jira offers %s no transition of %s from its status.", as.Name, issueKey)
		}
		return fb.Errorf(fb.EInvalid, "Jira's workflow offers no transition %q of %s from its status; it offers: %s.",
			name, issueKey, strings.Join(names, ", "))
	}
	if err := t.actAs(ctx, as, issueKey, "transition", request{method: http.MethodPost,
		path: issuePath(issueKey) + "/transitions", body: map[string]any{"transition": map[string]string{"id": id}}}, nil); err != nil {
		return err
	}
	if comment == "" {
		return nil
	}
	return t.Comment(ctx, as, issueKey, comment)
}

func issuePath(key string) string { return "/rest/api/2/issue/" + url.PathEscape(key) }

// actAs sends r with the person's grant. An access token Jira refuses is
// renewed once and the request sent again (Jira refused the token, so it
// did nothing); a grant Jira no longer honours is EGrantRequired. Jira's
// 400 is EInvalid with its messages, 403 EForbidden and 404 ENotFound.
func (t *Tracker) actAs(ctx context.Context, as fb.User, issueKey, what string, r request, out any) error {
	token, err := t.grantToken(ctx, as, "", true)
	if err != nil {
		return err
	}
	r.whose = person
	r.token = token
	err = t.call(ctx, r, out)
	if fb.ErrorCode(err) == fb.EUnauthenticated {
		if token, err = t.grantToken(ctx, as, token, true); err != nil {
			return err
		}
		r.token = token
		err = t.call(ctx, r, out)
		if fb.ErrorCode(err) == fb.EUnauthenticated {
			return grantRequired(as, "gave forgebridge a Jira grant that Jira does not accept")
		}
	}
	if err == nil || fb.AsError(err) != nil {
		return err
	}
	msgs := strings.Join(messagesOf(err), " ")
	switch statusOf(err) {
	case http.StatusBadRequest:
		if msgs == "" {
			msgs = "Jira refused the request."
		}
		return &fb.Error{Code: fb.EInvalid, Message: fmt.Sprintf("Jira refused to %s %s: %s", what, issueKey, msgs), Err: err}
	case http.StatusForbidden:
		return &fb.Error{Code: fb.EForbidden, Message: fmt.Sprintf("Jira does not let %s %s %s.", as.Name, what, issueKey), Err: err}
	case http.StatusNotFound:
		return &fb.Error{Code: fb.ENotFound, Message: fmt.Sprintf("Issue %s does not exist in Jira, or %s may not see it.", issueKey, as.Name), Err: err}
	}
	return &fb.Error{Code: fb.ETrackerUnavailable, Message: unavailableMessage, Err: err}
}

// messagesOf returns the messages of a statusError.
func messagesOf(err error) []string {
	if se, ok := err.(*statusError); ok {
		return se.messages
	}
	return nil
}
