package fakejira

import (
	"net/url"
	"strings"
	"testing"
)

// TestActions: comments, work logs and transitions answer as Jira does,
// and refuse what Jira refuses.
func TestActions(t *testing.T) {
	type step struct {
		method, path, token, body string
		wantStatus                int
		wantBody                  string
	}
	const (
		comment = "/rest/api/2/issue/PROJ-1/comment"
		worklog = "/rest/api/2/issue/PROJ-1/worklog"
		trans   = "/rest/api/2/issue/PROJ-1/transitions"
	)
	tests := []struct {
		name       string
		steps      []step
		wantStatus string // the status after the steps
		comments   int
		worklogs   int
	}{
		{name: "comment", steps: []step{{"POST", comment, "alice-pat", `{"body":"Ready for review"}`, 201, `"body":"Ready for review"`}},
			wantStatus: "Open", comments: 1},
		{name: "empty comment", steps: []step{{"POST", comment, "alice-pat", `{"body":"  "}`, 400, `"comment":"Comment body can not be empty!"`}},
			wantStatus: "Open"},
		{name: "comment on an unknown issue", steps: []step{{"POST", "/rest/api/2/issue/PROJ-9/comment", "alice-pat", `{"body":"x"}`, 404, "Issue Does Not Exist"}},
			wantStatus: "Open"},
		{name: "comment without permission", steps: []step{{"POST", comment, "carol-pat", `{"body":"x"}`, 403, "permission to comment"}},
			wantStatus: "Open"},
		{name: "comment without a token", steps: []step{{"POST", comment, "", `{"body":"x"}`, 401, "not authenticated"}},
			wantStatus: "Open"},
		{name: "comment with a bad token", steps: []step{{"POST", comment, "nope", `{"body":"x"}`, 401, "not authenticated"}},
			wantStatus: "Open"},
		{name: "work log", steps: []step{{"POST", worklog, "alice-pat", `{"timeSpent":"2h 30m","started":"2026-12-03T03:00:00.000+0000","comment":"parser"}`,
			201, `"timeSpentSeconds":9000`}}, wantStatus: "Open", worklogs: 1},
		{name: "work log in weeks and days", steps: []step{{"POST", worklog, "alice-pat", `{"timeSpent":"1w 1d"}`, 201, `"timeSpentSeconds":172800`}},
			wantStatus: "Open", worklogs: 1},
		{name: "bad timeSpent", steps: []step{{"POST", worklog, "alice-pat", `{"timeSpent":"2 hours"}`, 400, `"timeLogged":"Invalid time duration entered."`}},
			wantStatus: "Open"},
		{name: "no time", steps: []step{{"POST", worklog, "alice-pat", `{"comment":"x"}`, 400, `"timeLogged":`}}, wantStatus: "Open"},
		{name: "bad started", steps: []step{{"POST", worklog, "alice-pat", `{"timeSpent":"1h","started":"2026-12-03 03:00"}`, 400, `"started":`}},
			wantStatus: "Open"},
		{name: "work log without permission", steps: []step{{"POST", worklog, "carol-pat", `{"timeSpent":"1h"}`, 403, "worklog"}}, wantStatus: "Open"},
		{name: "transitions offered from Open", steps: []step{{"GET", trans, "alice-pat", "", 200, `"name":"Start Progress"`}}, wantStatus: "Open"},
		{name: "start progress", steps: []step{{"POST", trans, "alice-pat", `{"transition":{"id":"4"}}`, 204, ""}}, wantStatus: "In Progress"},
		{name: "a transition not offered from the status", steps: []step{
			{"POST", trans, "alice-pat", `{"transition":{"id":"4"}}`, 204, ""},
			{"POST", trans, "alice-pat", `{"transition":{"id":"4"}}`, 400, `"errorMessages":["Transition id '4' is not valid for this issue."]`},
		}, wantStatus: "In Progress"},
		{name: "no transitions without permission", steps: []step{
			{"GET", trans, "carol-pat", "", 200, `"transitions":[]`},
			{"POST", trans, "carol-pat", `{"transition":{"id":"4"}}`, 400, "is not valid for this issue"},
		}, wantStatus: "Open"},
		{name: "transition without an id", steps: []step{{"POST", trans, "alice-pat", `{}`, 400, "Missing 'transition' identifier"}}, wantStatus: "Open"},
		{name: "a comment on a transition without a screen", steps: []step{
			{"POST", trans, "alice-pat", `{"transition":{"id":"4"},"update":{"comment":[{"add":{"body":"x"}}]}}`, 400, "not on the appropriate screen"},
		}, wantStatus: "Open"},
		{name: "transitions of an unknown issue", steps: []step{{"GET", "/rest/api/2/issue/PROJ-9/transitions", "alice-pat", "", 404, "Issue Does Not Exist"}},
			wantStatus: "Open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.AddUser(User{Key: "JIRAUSER4", Name: "carol", Active: true, Token: "carol-pat"})
			s.Grant("alice", "PROJ", "BROWSE_PROJECTS", "ADD_COMMENTS", "WORK_ON_ISSUES", "TRANSITION_ISSUES")
			s.Grant("carol", "PROJ", "BROWSE_PROJECTS")
			for i, st := range tt.steps {
				resp, body := do(t, s, st.method, st.path, st.token, st.body)
				if resp.StatusCode != st.wantStatus || !strings.Contains(body, st.wantBody) {
					t.Fatalf("step %d: %s %s = %d %s; want %d with %s", i, st.method, st.path, resp.StatusCode, body, st.wantStatus, st.wantBody)
				}
			}
			if got := s.Status("PROJ-1"); got != tt.wantStatus {
				t.Errorf("status %q, want %q", got, tt.wantStatus)
			}
			if got := s.Comments("PROJ-1"); len(got) != tt.comments || (len(got) > 0 && got[0].Author != "alice") {
				t.Errorf("comments %+v, want %d by alice", got, tt.comments)
			}
			if got := s.Worklogs("PROJ-1"); len(got) != tt.worklogs || (len(got) > 0 && got[0].Author != "alice") {
				t.Errorf("work logs %+v, want %d by alice", got, tt.worklogs)
			}
		})
	}
}

// TestOAuthScope: an OAuth access token with READ may read but not change
// issues; one with WRITE may.
func TestOAuthScope(t *testing.T) {
	for _, scope := range []string{"READ", "WRITE"} {
		t.Run(scope, func(t *testing.T) {
			s := newServer(t)
			s.Grant("alice", "PROJ", "BROWSE_PROJECTS", "ADD_COMMENTS")
			s.AddOAuthClient("cid", "csecret", cbURL)
			s.SetOAuthUser("alice")
			c := codeWithScope(t, s, scope)
			_, tok := postToken(t, s, exchangeForm(c))
			access := tok["access_token"].(string)
			if resp, _ := do(t, s, "GET", "/rest/api/2/issue/PROJ-1", access, ""); resp.StatusCode != 200 {
				t.Fatalf("GET with %s: %d", scope, resp.StatusCode)
			}
			resp, body := do(t, s, "POST", "/rest/api/2/issue/PROJ-1/comment", access, `{"body":"x"}`)
			want := 201
			if scope == "READ" {
				want = 403
			}
			if resp.StatusCode != want {
				t.Fatalf("POST with %s: %d %s, want %d", scope, resp.StatusCode, body, want)
			}
		})
	}
}

// TestRevokeAndExpire: a revoked grant's tokens stop working; an expired
// access token is refused while its refresh token still works, once.
func TestRevokeAndExpire(t *testing.T) {
	s := newServer(t)
	s.Grant("alice", "PROJ", "BROWSE_PROJECTS")
	s.AddOAuthClient("cid", "csecret", cbURL)
	s.SetOAuthUser("alice")
	_, tok := postToken(t, s, exchangeForm(codeWithScope(t, s, "WRITE")))
	s.ExpireAccessTokens()
	if resp, _ := do(t, s, "GET", "/rest/api/2/myself", tok["access_token"].(string), ""); resp.StatusCode != 401 {
		t.Fatalf("expired access token: %d", resp.StatusCode)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {"cid"}, "client_secret": {"csecret"},
		"refresh_token": {tok["refresh_token"].(string)}, "redirect_uri": {cbURL}}
	status, next := postToken(t, s, refresh)
	if status != 200 || s.Refreshes() != 1 {
		t.Fatalf("refresh: %d %v, %d refreshes", status, next, s.Refreshes())
	}
	s.RevokeOAuth("alice")
	if resp, _ := do(t, s, "GET", "/rest/api/2/myself", next["access_token"].(string), ""); resp.StatusCode != 401 {
		t.Fatalf("revoked access token: %d", resp.StatusCode)
	}
	refresh.Set("refresh_token", next["refresh_token"].(string))
	if status, out := postToken(t, s, refresh); status != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("revoked refresh token: %d %v", status, out)
	}
}

// codeWithScope is an authorization code for alice with that scope.
func codeWithScope(t *testing.T, s *Server, scope string) string {
	t.Helper()
	q := authorizeQuery()
	q.Set("scope", scope)
	resp := getAuthorize(t, s, q)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	c := loc.Query().Get("code")
	if c == "" {
		t.Fatalf("authorization: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}
