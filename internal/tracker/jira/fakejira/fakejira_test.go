package fakejira

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func newServer(t *testing.T) *Server {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	s.AddUser(User{Key: "admin", Name: "admin", Active: true, Groups: []string{"jira-administrators"}, Token: "admin-pat"})
	s.AddUser(User{Key: "JIRAUSER1", Name: "alice", DisplayName: "Alice Liddell", Active: true, Token: "alice-pat"})
	s.AddUser(User{Key: "JIRAUSER2", Name: "al", DisplayName: "Al Bundy", Active: true})
	s.AddUser(User{Key: "JIRAUSER3", Name: "bert", DisplayName: "Bert Alberts", Active: true})
	s.AddIssue("PROJ-1", "Fix it", "Bug")
	s.Grant("admin", "PROJ", "BROWSE_PROJECTS", "LINK_ISSUES")
	return s
}

func do(t *testing.T, s *Server, method, path, token, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestWire(t *testing.T) {
	link := `{"globalId":"g1","application":{"type":"com.forgebridge","name":"forgebridge"},"relationship":"Development","object":{"url":"https://x/1","title":"Branch"}}`
	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		body       string
		wantStatus int
		wantReason string // X-Seraph-LoginReason; OK when empty and a token is sent
		wantBody   string // a substring of the answer
	}{
		{name: "unknown token", method: "GET", path: "/rest/api/2/myself", token: "nope", wantStatus: 401,
			wantReason: "AUTHENTICATED_FAILED", wantBody: `"errorMessages":["You are not authenticated. Authentication required to perform this operation."]`},
		{name: "anonymous myself", method: "GET", path: "/rest/api/2/myself", wantStatus: 401},
		{name: "myself", method: "GET", path: "/rest/api/2/myself", token: "alice-pat", wantStatus: 200,
			wantReason: "OK", wantBody: `"key":"JIRAUSER1"`},
		{name: "groups only when expanded", method: "GET", path: "/rest/api/2/user?key=admin", token: "admin-pat",
			wantStatus: 200, wantBody: `"groups":{"items":[],"size":1}`},
		{name: "issue the caller may not browse is 404", method: "GET", path: "/rest/api/2/issue/PROJ-1", token: "alice-pat",
			wantStatus: 404, wantBody: "Issue Does Not Exist"},
		{name: "issue with fields", method: "GET", path: "/rest/api/2/issue/PROJ-1?fields=summary,issuetype", token: "admin-pat",
			wantStatus: 200, wantBody: `"fields":{"issuetype":`},
		{name: "permission search needs a permission", method: "GET", path: "/rest/api/2/user/permission/search?username=al&projectKey=PROJ",
			token: "admin-pat", wantStatus: 400},
		{name: "permission search needs admin", method: "GET",
			path: "/rest/api/2/user/permission/search?username=al&permissions=BROWSE_PROJECTS&projectKey=PROJ", token: "alice-pat", wantStatus: 403},
		{name: "remote link created", method: "POST", path: "/rest/api/2/issue/PROJ-1/remotelink", token: "admin-pat", body: link,
			wantStatus: 201, wantBody: `"self":`},
		{name: "remote link without title", method: "POST", path: "/rest/api/2/issue/PROJ-1/remotelink", token: "admin-pat",
			body: `{"object":{"url":"https://x"}}`, wantStatus: 400, wantBody: `"title":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			resp, body := do(t, s, tt.method, tt.path, tt.token, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantReason == "" && tt.token != "" {
				tt.wantReason = "OK"
			}
			if got := resp.Header.Get("X-Seraph-LoginReason"); got != tt.wantReason {
				t.Errorf("X-Seraph-LoginReason %q, want %q", got, tt.wantReason)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body %s does not hold %s", body, tt.wantBody)
			}
		})
	}
}

func TestPermissionSearchMatchesByPrefix(t *testing.T) {
	s := newServer(t)
	for _, u := range []string{"alice", "al", "bert"} {
		s.Grant(u, "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	}
	s.Grant("al", "PROJ", "BROWSE_PROJECTS")
	tests := []struct {
		query string
		want  []string
	}{
		// "al" is a prefix of alice's name and of a word of Bert Alberts.
		{"username=al&permissions=BROWSE_PROJECTS", []string{"al", "alice", "bert"}},
		{"username=al&permissions=BROWSE_PROJECTS,VIEW_DEV_TOOLS", []string{"al", "alice", "bert"}},
		{"username=alice&permissions=VIEW_DEV_TOOLS", []string{"alice"}},
		{"username=al&permissions=BROWSE_PROJECTS&maxResults=1&startAt=1", []string{"alice"}},
		{"username=al&permissions=LINK_ISSUES", nil},
	}
	for _, tt := range tests {
		resp, body := do(t, s, "GET", "/rest/api/2/user/permission/search?projectKey=PROJ&"+tt.query, "admin-pat", "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", tt.query, resp.StatusCode, body)
		}
		var users []struct{ Name string }
		if err := json.Unmarshal([]byte(body), &users); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range users {
			got = append(got, u.Name)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: users %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestRemoteLinkGlobalIDUpdates(t *testing.T) {
	s := newServer(t)
	first := `{"globalId":"g1","object":{"url":"https://x/1","title":"Branch"}}`
	second := `{"globalId":"g1","object":{"url":"https://x/1","title":"Branch (merged)","status":{"resolved":true}}}`
	for i, body := range []string{first, second} {
		resp, answer := do(t, s, "POST", "/rest/api/2/issue/PROJ-1/remotelink", "admin-pat", body)
		if want := []int{201, 200}[i]; resp.StatusCode != want {
			t.Fatalf("POST %d: status %d, want %d: %s", i+1, resp.StatusCode, want, answer)
		}
	}
	links := s.RemoteLinks("PROJ-1")
	if len(links) != 1 || links[0].Title != "Branch (merged)" || !links[0].Resolved || links[0].Updates != 1 {
		t.Fatalf("links = %+v, want one updated link", links)
	}
	resp, body := do(t, s, "GET", "/rest/api/2/issue/PROJ-1/remotelink?globalId=g1", "admin-pat", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"globalId":"g1"`) {
		t.Errorf("GET by global id: %d %s", resp.StatusCode, body)
	}
}

// TestRestrictIssue checks the issue security level: people left out get 404
// for the issue and are not listed by the permission search for it, though
// they still hold the project's permissions; administrators still see it.
func TestRestrictIssue(t *testing.T) {
	s := newServer(t)
	s.AddUser(User{Key: "JIRAUSER4", Name: "carol", Active: true, Token: "carol-pat"})
	for _, u := range []string{"alice", "al", "carol"} {
		s.Grant(u, "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	}
	s.AddIssue("PROJ-2", "Open to the project", "Task")
	s.RestrictIssue("PROJ-1", "Alice", "al")

	views := []struct {
		token, issue string
		wantStatus   int
	}{
		{"alice-pat", "PROJ-1", 200},
		{"carol-pat", "PROJ-1", 404},
		{"carol-pat", "PROJ-2", 200},
		{"admin-pat", "PROJ-1", 200},
	}
	for _, v := range views {
		for _, path := range []string{"/rest/api/2/issue/" + v.issue, "/rest/api/2/issue/" + v.issue + "/remotelink"} {
			if resp, body := do(t, s, "GET", path, v.token, ""); resp.StatusCode != v.wantStatus {
				t.Errorf("GET %s with %s: status %d, want %d: %s", path, v.token, resp.StatusCode, v.wantStatus, body)
			}
		}
	}

	searches := []struct {
		query string
		want  []string
	}{
		// Administrators are let in by the level; admin lacks VIEW_DEV_TOOLS on PROJ.
		{"issueKey=PROJ-1&permissions=BROWSE_PROJECTS", []string{"admin", "al", "alice"}},
		{"issueKey=PROJ-1&permissions=VIEW_DEV_TOOLS", []string{"al", "alice"}},
		{"issueKey=PROJ-2&permissions=BROWSE_PROJECTS", []string{"admin", "al", "alice", "carol"}},
		{"projectKey=PROJ&permissions=BROWSE_PROJECTS", []string{"admin", "al", "alice", "carol"}},
	}
	for _, tt := range searches {
		resp, body := do(t, s, "GET", "/rest/api/2/user/permission/search?"+tt.query, "admin-pat", "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", tt.query, resp.StatusCode, body)
		}
		var users []struct{ Name string }
		if err := json.Unmarshal([]byte(body), &users); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range users {
			got = append(got, u.Name)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: users %v, want %v", tt.query, got, tt.want)
		}
	}
}

// TestUserSearch: Jira's user search matches prefixes of names, addresses
// and display-name words, lists active users unless told otherwise, and
// needs a username.
func TestUserSearch(t *testing.T) {
	s := newServer(t)
	s.AddUser(User{Key: "JIRAUSER4", Name: "carol", Email: "carol@example.com", Active: true})
	s.AddUser(User{Key: "JIRAUSER5", Name: "carl", Email: "carol@example.com.au", Active: false})
	for _, tt := range []struct {
		query      string
		wantStatus int
		want       []string
	}{
		{"", 400, nil},
		{"?username=carol%40example.com", 200, []string{"carol"}},
		{"?username=carol%40example.com&includeInactive=true", 200, []string{"carl", "carol"}},
		{"?username=carol%40example.com&includeActive=false&includeInactive=true", 200, []string{"carl"}},
		{"?username=al", 200, []string{"al", "alice", "bert"}}, // "Alberts"
		{"?username=al&maxResults=1&startAt=1", 200, []string{"alice"}},
		{"?username=nobody", 200, []string{}},
	} {
		resp, body := do(t, s, "GET", "/rest/api/2/user/search"+tt.query, "admin-pat", "")
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("%s: status %d, want %d (%s)", tt.query, resp.StatusCode, tt.wantStatus, body)
			continue
		}
		if tt.wantStatus != 200 {
			continue
		}
		var users []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal([]byte(body), &users); err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		got := []string{}
		for _, u := range users {
			got = append(got, u.Name)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
	if resp, _ := do(t, s, "GET", "/rest/api/2/user/search?username=al", "", ""); resp.StatusCode != 401 {
		t.Errorf("anonymous search: %d, want 401", resp.StatusCode)
	}
}
