package gitlab

import (
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// TestDeleteBranchRefused: GitLab's 405 for the default branch and a
// protected one leaves the branch; a 404 is a missing branch only where the
// token sees the project.
func TestDeleteBranchRefused(t *testing.T) {
	f := newFixture(t, fb.KindGitLab)
	d, _ := provider.Capability[provider.BranchDeleter](f.p)
	f.app.AddBranch("PROJ-1-keep")
	f.app.Protect("PROJ-1-keep")
	hidden := fb.Repository{ExternalID: "99999", FullName: "acme/hidden", DefaultBranch: "main"}
	for _, tt := range []struct {
		repo fb.Repository
		name string
		want fb.Code
	}{
		{f.appRepo(), "main", fb.EProviderDenied},
		{f.appRepo(), "PROJ-1-keep", fb.EProviderDenied},
		{f.appRepo(), "PROJ-1-never", fb.ENotFound},
		{hidden, "PROJ-1-x", fb.EProviderDenied},
	} {
		if err := d.DeleteBranch(ctx, good, tt.repo, tt.name); fb.ErrorCode(err) != tt.want {
			t.Errorf("DeleteBranch(%s, %s) = %v, want code %q", tt.repo.FullName, tt.name, err, tt.want)
		}
	}
	for _, name := range []string{"main", "PROJ-1-keep"} {
		if _, ok := f.app.BranchSHA(name); !ok {
			t.Errorf("%s was deleted", name)
		}
	}
}
