package gitlab

import (
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

func TestWebLinks(t *testing.T) {
	d := &driver{}
	repo := fb.Repository{WebURL: "https://gitlab.example.com/group/sub/app"}
	for _, tt := range []struct{ got, want string }{
		{d.CommitURL(repo, "abc"), "https://gitlab.example.com/group/sub/app/-/commit/abc"},
		{d.BranchURL(repo, "feature/PROJ-1 ä"), "https://gitlab.example.com/group/sub/app/-/tree/feature/PROJ-1%20%C3%A4"},
		{d.TagURL(repo, "v1.0"), "https://gitlab.example.com/group/sub/app/-/tags/v1.0"},
		{d.CommitURL(fb.Repository{}, "abc"), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
