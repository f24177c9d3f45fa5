package fakejira

import (
	"encoding/json"
	"testing"
)

// TestMyPermissions checks GET /rest/api/2/mypermissions as Jira answers
// it: every permission with havePermission for the caller, in one project or
// in any; a project missing or hidden from the caller is 404 alike.
func TestMyPermissions(t *testing.T) {
	s := newServer(t)
	s.AddProject("OPS", "Operations")
	s.Grant("alice", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	tests := []struct {
		name       string
		query      string
		token      string
		wantStatus int
		want       map[string]bool // havePermission of some permissions
	}{
		{name: "in a project she browses", query: "?projectKey=PROJ", token: "alice-pat", wantStatus: 200,
			want: map[string]bool{"BROWSE_PROJECTS": true, "VIEW_DEV_TOOLS": true, "LINK_ISSUES": false}},
		{name: "in any project", token: "alice-pat", wantStatus: 200,
			want: map[string]bool{"BROWSE_PROJECTS": true, "ADMINISTER_PROJECTS": false}},
		{name: "a project hidden from her", query: "?projectKey=OPS", token: "alice-pat", wantStatus: 404},
		{name: "no such project", query: "?projectKey=NOPE", token: "alice-pat", wantStatus: 404},
		{name: "anonymous", query: "?projectKey=PROJ", wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, s, "GET", "/rest/api/2/mypermissions"+tt.query, tt.token, "")
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.want == nil {
				return
			}
			var got struct {
				Permissions map[string]struct {
					Key            string `json:"key"`
					HavePermission bool   `json:"havePermission"`
				} `json:"permissions"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			for perm, want := range tt.want {
				if p, ok := got.Permissions[perm]; !ok || p.Key != perm || p.HavePermission != want {
					t.Errorf("%s: %+v (present %v), want havePermission %v", perm, p, ok, want)
				}
			}
		})
	}
}
