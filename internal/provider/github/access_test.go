package github

import (
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

func TestCanRead(t *testing.T) {
	f, _ := newFake(t)
	secret := f.AddRepo("acme/secret", "main")
	secret.SetPrivate(true)
	secret.AddCollaborator("bob")
	f.AddToken("ghp_sso0000000000000000000000000000000000", fakegithub.Token{Login: "bob", Scopes: []string{"repo"}, SSOOrgs: []string{"acme"}})
	d := newDriver(t, integration(fb.KindGitHub, f), f)
	app := fb.Repository{FullName: "acme/app"}
	hidden := fb.Repository{FullName: "acme/secret"}
	for _, tt := range []struct {
		name  string
		token string
		repo  fb.Repository
		want  bool
		code  fb.Code
	}{
		{"public repository", goodToken, app, true, ""},
		{"private, not a collaborator (404)", goodToken, hidden, false, ""},
		{"private, a collaborator", fineToken, hidden, true, ""},
		{"no such repository", goodToken, fb.Repository{FullName: "acme/nope"}, false, ""},
		{"single sign-on not authorised (403)", "ghp_sso0000000000000000000000000000000000", app, false, ""},
		{"expired token", expiredToken, app, false, fb.ETokenRejected},
		{"unknown token", unknownToken, app, false, fb.ETokenRejected},
		{"not a GitHub name", goodToken, fb.Repository{FullName: "nope"}, false, fb.EInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.CanRead(ctx, cred(tt.token), tt.repo)
			if got != tt.want || fb.ErrorCode(err) != tt.code {
				t.Errorf("CanRead = %v, %v; want %v, %q", got, err, tt.want, tt.code)
			}
		})
	}
	var asked bool
	for _, c := range f.Calls() {
		if c.Method == "GET" && c.Path == "/repos/acme/secret" && c.Token == fineToken && c.Status == 200 {
			asked = true
		}
	}
	if !asked {
		t.Error("the repository was not read with the person's token")
	}

	f.SetRateLimited(true)
	if _, err := d.CanRead(ctx, cred(goodToken), app); fb.ErrorCode(err) != fb.ERateLimited {
		t.Errorf("rate limited: %v", err)
	}
}
