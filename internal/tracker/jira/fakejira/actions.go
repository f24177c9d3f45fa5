package fakejira

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Acting on issues as their caller: comments, work logs and workflow
// transitions (Jira's classic default workflow), with Jira's permissions
// (ADD_COMMENTS, WORK_ON_ISSUES, TRANSITION_ISSUES), validation and error
// bodies. An OAuth access token must have the WRITE scope (or a higher
// one) for any request but a GET.

// Comment is a comment as stored on an issue.
type Comment struct {
	ID     int
	Author string // the name of the user whose token wrote it
	Body   string
}

// Worklog is a work log as stored on an issue.
type Worklog struct {
	ID               int
	Author           string
	TimeSpent        string // as sent
	TimeSpentSeconds int64  // with Jira's default 8-hour day and 5-day week
	Started          time.Time
	Comment          string
}

// transition is one transition of the workflow.
type transition struct {
	id, name, to string
}

// workflow is Jira's classic default workflow: the transitions offered
// from each status.
var workflow = map[string][]transition{
	"Open":        {{"4", "Start Progress", "In Progress"}, {"5", "Resolve Issue", "Resolved"}, {"2", "Close Issue", "Closed"}},
	"In Progress": {{"301", "Stop Progress", "Open"}, {"5", "Resolve Issue", "Resolved"}, {"2", "Close Issue", "Closed"}},
	"Reopened":    {{"4", "Start Progress", "In Progress"}, {"5", "Resolve Issue", "Resolved"}, {"2", "Close Issue", "Closed"}},
	"Resolved":    {{"701", "Close Issue", "Closed"}, {"3", "Reopen Issue", "Reopened"}},
	"Closed":      {{"3", "Reopen Issue", "Reopened"}},
}

var statusIDs = map[string]string{"Open": "1", "In Progress": "3", "Reopened": "4", "Resolved": "5", "Closed": "6"}

// Status returns the issue's workflow status ("Open" when never transitioned).
func (s *Server) Status(issueKey string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.issues[issueKey]; is != nil {
		return is.statusName()
	}
	return ""
}

// Comments returns the issue's comments, oldest first.
func (s *Server) Comments(issueKey string) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.issues[issueKey]; is != nil {
		return slices.Clone(is.comments)
	}
	return nil
}

// Worklogs returns the issue's work logs, oldest first.
func (s *Server) Worklogs(issueKey string) []Worklog {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.issues[issueKey]; is != nil {
		return slices.Clone(is.worklogs)
	}
	return nil
}

func (is *issue) statusName() string {
	if is.status == "" {
		return "Open"
	}
	return is.status
}

func (s *Server) statusJSON(name string) map[string]any {
	return map[string]any{"self": s.srv.URL + "/rest/api/2/status/" + statusIDs[name], "id": statusIDs[name], "name": name}
}

// serveIssueAction routes POST …/comment, POST …/worklog and GET/POST …/transitions.
func (s *Server) serveIssueAction(w http.ResponseWriter, r *http.Request, caller *User, key, rest string) bool {
	switch {
	case rest == "comment" && r.Method == http.MethodPost:
		s.serveAddComment(w, r, caller, key)
	case rest == "worklog" && r.Method == http.MethodPost:
		s.serveAddWorklog(w, r, caller, key)
	case rest == "transitions" && r.Method == http.MethodGet:
		s.serveTransitions(w, caller, key)
	case rest == "transitions" && r.Method == http.MethodPost:
		s.serveDoTransition(w, r, caller, key)
	default:
		return false
	}
	return true
}

// decodeJSON reads a JSON request body as Jira does: 415 without a JSON
// content type, 400 for a body that does not parse.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return false
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Unexpected character in the request body.")
		return false
	}
	return true
}

func writeFieldError(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"errorMessages": []string{}, "errors": map[string]string{field: msg}})
}

// serveAddComment is POST /rest/api/2/issue/{key}/comment {"body": …}: 201 with the comment.
func (s *Server) serveAddComment(w http.ResponseWriter, r *http.Request, caller *User, key string) {
	is := s.visibleIssue(w, caller, key)
	if is == nil {
		return
	}
	if !s.hasOnIssue(caller, is, "ADD_COMMENTS") {
		writeError(w, http.StatusForbidden, "You do not have the permission to comment on this issue.")
		return
	}
	var body struct {
		Body string `json:"body"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if strings.TrimSpace(body.Body) == "" {
		writeFieldError(w, "comment", "Comment body can not be empty!")
		return
	}
	s.nextID++
	c := Comment{ID: s.nextID, Author: caller.Name, Body: body.Body}
	is.comments = append(is.comments, c)
	now := s.now().Format(jiraTime)
	writeJSON(w, http.StatusCreated, map[string]any{
		"self": fmt.Sprintf("%s/rest/api/2/issue/%d/comment/%d", s.srv.URL, is.ID, c.ID), "id": strconv.Itoa(c.ID),
		"author": s.userJSON(caller, false), "updateAuthor": s.userJSON(caller, false),
		"body": c.Body, "created": now, "updated": now,
	})
}

// jiraTime is how Jira writes and reads date-times.
const jiraTime = "2006-01-02T15:04:05.000-0700"

// durationPart is one part of Jira's duration: a number and a unit.
var durationPart = regexp.MustCompile(`^(\d+(?:\.\d+)?)([wdhm])$`)

// parseDuration reads Jira's "1w 2d 3h 4m" with the default 8-hour day and
// 5-day week; ok is false for anything else.
func parseDuration(v string) (int64, bool) {
	unit := map[string]float64{"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}
	parts := strings.Fields(v)
	if len(parts) == 0 {
		return 0, false
	}
	var total float64
	for _, p := range parts {
		m := durationPart.FindStringSubmatch(strings.ToLower(p))
		if m == nil {
			return 0, false
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		total += n * unit[m[2]]
	}
	return int64(total), true
}

// serveAddWorklog is POST /rest/api/2/issue/{key}/worklog with timeSpent
// (or timeSpentSeconds), started and comment: 201 with the work log.
func (s *Server) serveAddWorklog(w http.ResponseWriter, r *http.Request, caller *User, key string) {
	is := s.visibleIssue(w, caller, key)
	if is == nil {
		return
	}
	if !s.hasOnIssue(caller, is, "WORK_ON_ISSUES") {
		writeError(w, http.StatusForbidden, "You do not have the permission to associate a worklog to this issue.")
		return
	}
	var body struct {
		TimeSpent        string `json:"timeSpent"`
		TimeSpentSeconds *int64 `json:"timeSpentSeconds"`
		Started          string `json:"started"`
		Comment          string `json:"comment"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	var secs int64
	switch {
	case body.TimeSpent != "":
		n, ok := parseDuration(body.TimeSpent)
		if !ok {
			writeFieldError(w, "timeLogged", "Invalid time duration entered.")
			return
		}
		secs = n
	case body.TimeSpentSeconds != nil:
		secs = *body.TimeSpentSeconds
	default:
		writeFieldError(w, "timeLogged", "You must indicate the time spent working.")
		return
	}
	if secs < 60 {
		writeFieldError(w, "timeLogged", "Time Spent must be greater than zero.")
		return
	}
	started := s.now()
	if body.Started != "" {
		t, err := time.Parse(jiraTime, body.Started)
		if err != nil {
			writeFieldError(w, "started", "Invalid date format. Please enter the date in the format \"yyyy-MM-dd'T'HH:mm:ss.SSSZ\".")
			return
		}
		started = t
	}
	s.nextID++
	wl := Worklog{ID: s.nextID, Author: caller.Name, TimeSpent: body.TimeSpent, TimeSpentSeconds: secs, Started: started, Comment: body.Comment}
	is.worklogs = append(is.worklogs, wl)
	writeJSON(w, http.StatusCreated, map[string]any{
		"self": fmt.Sprintf("%s/rest/api/2/issue/%d/worklog/%d", s.srv.URL, is.ID, wl.ID), "id": strconv.Itoa(wl.ID),
		"issueId": strconv.Itoa(is.ID), "author": s.userJSON(caller, false), "updateAuthor": s.userJSON(caller, false),
		"comment": wl.Comment, "started": started.Format(jiraTime), "timeSpentSeconds": secs,
		"created": s.now().Format(jiraTime), "updated": s.now().Format(jiraTime),
	})
}

// offered returns the transitions the caller may perform from the issue's
// status: none without TRANSITION_ISSUES, as Jira lists them.
func (s *Server) offered(caller *User, is *issue) []transition {
	if !s.hasOnIssue(caller, is, "TRANSITION_ISSUES") {
		return nil
	}
	return workflow[is.statusName()]
}

// serveTransitions is GET /rest/api/2/issue/{key}/transitions.
func (s *Server) serveTransitions(w http.ResponseWriter, caller *User, key string) {
	is := s.visibleIssue(w, caller, key)
	if is == nil {
		return
	}
	out := []map[string]any{}
	for _, tr := range s.offered(caller, is) {
		out = append(out, map[string]any{"id": tr.id, "name": tr.name, "to": s.statusJSON(tr.to)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"expand": "transitions", "transitions": out})
}

// serveDoTransition is POST /rest/api/2/issue/{key}/transitions
// {"transition":{"id":…}}: 204, or 400 for a transition not offered from
// the issue's status.
func (s *Server) serveDoTransition(w http.ResponseWriter, r *http.Request, caller *User, key string) {
	is := s.visibleIssue(w, caller, key)
	if is == nil {
		return
	}
	var body struct {
		Transition *struct {
			ID string `json:"id"`
		} `json:"transition"`
		Update map[string]any `json:"update"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if body.Transition == nil || body.Transition.ID == "" {
		writeError(w, http.StatusBadRequest, "Missing 'transition' identifier")
		return
	}
	if len(body.Update) > 0 {
		// The default workflow's transitions have no screen.
		writeFieldError(w, "comment", "Field 'comment' cannot be set. It is not on the appropriate screen, or unknown.")
		return
	}
	for _, tr := range s.offered(caller, is) {
		if tr.id == body.Transition.ID {
			is.status = tr.to
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeError(w, http.StatusBadRequest, fmt.Sprintf("Transition id '%s' is not valid for this issue.", body.Transition.ID))
}
