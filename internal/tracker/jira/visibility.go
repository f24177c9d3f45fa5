package jira

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

// searchPage is how many issue keys one search asks about.
const searchPage = 100

// VisibleIssues reports which of the keys name issues the person may
// browse (their project's Browse Projects and the issue's security level),
// asked as them with JQL (POST /rest/api/2/search, `key in (…)`, searchPage
// keys a call) instead of one permission question per issue: an export of
// release notes over thousands of issues then costs a call per hundred. A
// key Jira does not know, or hides from them, is simply not among the
// answers (validateQuery false: Jira would otherwise refuse the whole
// query for it). ok is false when no token of theirs can ask (no session
// token and no kept grant) or Jira refused the query itself: the caller
// then asks about each issue.
func (t *Tracker) VisibleIssues(ctx context.Context, u fb.User, keys []string) (visible map[string]bool, ok bool, err error) {
	if len(keys) == 0 {
		return map[string]bool{}, true, nil
	}
	ok, err = t.asPerson(ctx, u, func(token string) error {
		visible = make(map[string]bool, len(keys))
		for chunk := range slices.Chunk(keys, searchPage) {
			quoted := make([]string, len(chunk))
			for i, k := range chunk {
				quoted[i] = strconv.Quote(k)
			}
			body := map[string]any{"jql": "key in (" + strings.Join(quoted, ", ") + ")", "startAt": 0,
				"maxResults": len(chunk), "fields": []string{"key"}, "validateQuery": false}
			var answer struct {
				Issues []struct {
					Key string `json:"key"`
				} `json:"issues"`
			}
			err := t.call(ctx, request{method: http.MethodPost, path: "/rest/api/2/search", body: body, token: token, whose: person}, &answer)
			if err != nil {
				return err
			}
			for _, is := range answer.Issues {
				visible[is.Key] = true
			}
		}
		return nil
	})
	switch {
	case ok && statusOf(err) == http.StatusBadRequest:
		return nil, false, nil // a query Jira would not take: the caller asks per issue
	case err != nil:
		return nil, ok, describe(err, "searching your issues")
	}
	return visible, ok, nil
}
