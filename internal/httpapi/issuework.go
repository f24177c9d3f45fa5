package httpapi

import (
	"time"

	fb "github.com/forgebridge/forgebridge"
)

type commentJSON struct {
	Author  string    `json:"author"`
	Body    string    `json:"body"`
	Created time.Time `json:"created"`
}

type worklogJSON struct {
	Author           string    `json:"author"`
	TimeSpentSeconds int64     `json:"timeSpentSeconds"`
	Comment          string    `json:"comment"`
	Started          time.Time `json:"started"`
	Created          time.Time `json:"created"`
}

// addActivity adds the local tracker's status, comments and work logs to an
// issue's answer; a tracker that keeps none for forgebridge (Jira) adds nothing.
func addActivity(out *issueJSON, a *fb.IssueActivity) {
	if a == nil {
		return
	}
	// Pointers: an empty list is answered as [], a tracker without them omits them.
	comments, worklog := []commentJSON{}, []worklogJSON{}
	for _, c := range a.Comments {
		comments = append(comments, commentJSON{Author: c.Author, Body: c.Body, Created: c.Created.UTC()})
	}
	for _, w := range a.Worklog {
		worklog = append(worklog, worklogJSON{Author: w.Author, TimeSpentSeconds: w.TimeSpentSeconds,
			Comment: w.Comment, Started: w.Started.UTC(), Created: w.Created.UTC()})
	}
	out.Status, out.Comments, out.Worklog = &a.Status, &comments, &worklog
}
