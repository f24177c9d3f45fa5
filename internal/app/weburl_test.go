package app

import (
	"context"
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

// hostile answers with whatever web addresses it is given.
type hostile struct{ url string }

func (h hostile) Validate(context.Context, fb.Credential) (fb.TokenInfo, error) {
	return fb.TokenInfo{}, nil
}
func (h hostile) Repositories(context.Context, fb.Credential) ([]fb.Repository, error) {
	return []fb.Repository{{FullName: "a/b", WebURL: h.url}}, nil
}
func (h hostile) Branches(context.Context, fb.Credential, fb.Repository) ([]fb.Branch, error) {
	return []fb.Branch{{Name: "x", WebURL: h.url}}, nil
}
func (h hostile) CreateBranch(context.Context, fb.Credential, fb.Repository, string, string) (fb.Branch, error) {
	return fb.Branch{Name: "x", WebURL: h.url}, &fb.Error{Code: fb.EAlreadyExists, Message: "exists",
		Existing: &fb.Existing{Name: "x", WebURL: h.url}}
}
func (h hostile) CreatePullRequest(context.Context, fb.Credential, fb.Repository, fb.NewPullRequest) (fb.PullRequest, error) {
	return fb.PullRequest{ID: "1", WebURL: h.url}, nil
}

func TestWebSafe(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://github.com/acme/app", "https://github.com/acme/app"},
		{"http://gitlab.example.com/a/b/-/merge_requests/1", "http://gitlab.example.com/a/b/-/merge_requests/1"},
		{"javascript:alert(document.domain)", ""},
		{"JavaScript:alert(1)", ""},
		{"data:text/html,<script>alert(1)</script>", ""},
		{"//evil.example/x", ""},
		{"/relative/path", ""},
		{"", ""},
	}
	ctx := context.Background()
	for _, tt := range tests {
		p := webSafe{hostile{tt.url}}
		repos, _ := p.Repositories(ctx, fb.Credential{})
		branches, _ := p.Branches(ctx, fb.Credential{}, fb.Repository{})
		b, err := p.CreateBranch(ctx, fb.Credential{}, fb.Repository{}, "x", "")
		pr, _ := p.CreatePullRequest(ctx, fb.Credential{}, fb.Repository{}, fb.NewPullRequest{})
		e := fb.AsError(err)
		got := []string{repos[0].WebURL, branches[0].WebURL, b.WebURL, pr.WebURL, e.Existing.WebURL}
		for i, g := range got {
			if g != tt.want {
				t.Errorf("%q: address %d = %q, want %q", tt.url, i, g, tt.want)
			}
		}
		if e.Code != fb.EAlreadyExists || e.Existing.Name != "x" {
			t.Errorf("%q: the error changed: %+v", tt.url, e)
		}
	}
}
