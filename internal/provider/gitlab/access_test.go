package gitlab

import (
	"context"
	"fmt"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/gitlab/fakegitlab"
)

func TestCanRead(t *testing.T) {
	f := newFixture(t, fb.KindGitLab)
	f.app.SetAccess("bob", fakegitlab.Guest)     // sees the project, not its code
	f.app.SetAccess("erin", fakegitlab.NoAccess) // not a member: 404
	rr, ok := provider.Capability[provider.RepositoryReader](f.p)
	if !ok {
		t.Fatal("the GitLab driver cannot check read access")
	}
	app := f.appRepo()
	for _, tt := range []struct {
		name string
		cred fb.Credential
		repo fb.Repository
		want bool
		code fb.Code
	}{
		{"developer", good, app, true, ""},
		{"guest of a private project", ro, app, false, ""},
		{"no access (404)", legacy, app, false, ""},
		{"no such project", good, fb.Repository{ExternalID: "999999", FullName: "acme/nope"}, false, ""},
		{"expired token", expired, app, false, fb.ETokenRejected},
		{"revoked token", revoked, app, false, fb.ETokenRejected},
		{"unknown token", unknown, app, false, fb.ETokenRejected},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rr.CanRead(context.Background(), tt.cred, tt.repo)
			if got != tt.want || fb.ErrorCode(err) != tt.code {
				t.Errorf("CanRead = %v, %v; want %v, %q", got, err, tt.want, tt.code)
			}
		})
	}
	var asked bool
	for _, c := range f.fake.Calls() {
		if c.Method == "GET" && c.Path == fmt.Sprintf("/api/v4/projects/%d", f.app.ID) {
			asked = true
		}
	}
	if !asked {
		t.Errorf("GET projects/:id was not called: %+v", f.fake.Calls())
	}
	f.fake.SetRateLimited(true)
	if _, err := rr.CanRead(context.Background(), good, app); fb.ErrorCode(err) != fb.ERateLimited {
		t.Errorf("rate limited: %v", err)
	}
}
