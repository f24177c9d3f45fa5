package jira

import (
	"context"
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

// TestDeleteRemoteLink removes a link by its global id and leaves the
// issue's others; a link already gone is success; Jira's refusals map.
func TestDeleteRemoteLink(t *testing.T) {
	ctx := context.Background()
	branch := RemoteLink{GlobalID: "forgebridge:repo-1:branch:PROJ-1-fix", URL: "https://x/b", Title: "Branch"}
	pr := RemoteLink{GlobalID: "forgebridge:repo-1:pr:7", URL: "https://x/pr/7", Title: "Pull request"}
	tests := []struct {
		name     string
		issue    string
		gid      string
		setup    func(e *env)
		wantCode fb.Code
		left     int // links left on PROJ-1
	}{
		{name: "removed", issue: "PROJ-1", gid: branch.GlobalID, left: 1},
		{name: "already gone", issue: "PROJ-1", gid: "forgebridge:repo-1:branch:never", left: 2},
		{name: "unknown issue", issue: "PROJ-404", gid: branch.GlobalID, left: 2},
		{name: "no global id", issue: "PROJ-1", gid: "", wantCode: fb.EInvalid, left: 2},
		{name: "no Link Issues permission", issue: "PROJ-1", gid: branch.GlobalID,
			setup: func(e *env) { e.fake.Revoke("forgebridge-svc", "PROJ", "LINK_ISSUES") }, wantCode: fb.EForbidden, left: 2},
		{name: "Jira down", issue: "PROJ-1", gid: branch.GlobalID,
			setup: func(e *env) { e.fake.SetDown(true) }, wantCode: fb.ETrackerUnavailable, left: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			for _, l := range []RemoteLink{branch, pr} {
				if err := e.tr.AddRemoteLink(ctx, "PROJ-1", l); err != nil {
					t.Fatal(err)
				}
			}
			if tt.setup != nil {
				tt.setup(e)
			}
			err := e.tr.DeleteRemoteLink(ctx, tt.issue, tt.gid)
			assertCode(t, err, tt.wantCode)
			e.fake.SetDown(false)
			if n := len(e.fake.RemoteLinks("PROJ-1")); n != tt.left {
				t.Errorf("%d links left on PROJ-1, want %d", n, tt.left)
			}
		})
	}
}
