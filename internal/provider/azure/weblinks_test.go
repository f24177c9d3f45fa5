package azure

import (
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

func TestWebLinks(t *testing.T) {
	p := &Provider{}
	repo := fb.Repository{WebURL: "https://dev.azure.com/org/Proj/_git/app"}
	for _, tt := range []struct{ got, want string }{
		{p.CommitURL(repo, "abc"), "https://dev.azure.com/org/Proj/_git/app/commit/abc"},
		{p.BranchURL(repo, "feature/PROJ-1"), "https://dev.azure.com/org/Proj/_git/app?version=GBfeature%2FPROJ-1"},
		{p.TagURL(repo, "v1.0"), "https://dev.azure.com/org/Proj/_git/app?version=GTv1.0"},
		{p.TagURL(fb.Repository{}, "v1.0"), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
