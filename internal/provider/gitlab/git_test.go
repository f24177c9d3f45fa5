package gitlab

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/gitlab/fakegitlab"
)

func TestGitRemote(t *testing.T) {
	const token = "glpat-GIT-secret-0008"
	basic := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("oauth2:"+token))
	tests := []struct {
		name string
		base string // the integration's address
		repo fb.Repository
		cred fb.Credential
		want string // the remote's URL; "" when refused
		code fb.Code
	}{
		{name: "web address", base: "https://gitlab.example.com",
			repo: fb.Repository{FullName: "acme/sub/app", WebURL: "https://gitlab.example.com/acme/sub/app"},
			want: "https://gitlab.example.com/acme/sub/app.git"},
		{name: "host in another case", base: "https://gitlab.example.com",
			repo: fb.Repository{FullName: "acme/app", WebURL: "https://GitLab.Example.com/acme/app/"},
			want: "https://GitLab.Example.com/acme/app.git"},
		{name: "relative URL root", base: "https://example.com/gitlab/",
			repo: fb.Repository{FullName: "acme/app", WebURL: "https://example.com/gitlab/acme/app"},
			want: "https://example.com/gitlab/acme/app.git"},
		{name: "from the path", base: "https://example.com/gitlab",
			repo: fb.Repository{FullName: "acme/my app"}, want: "https://example.com/gitlab/acme/my%20app.git"},
		{name: "API address as base", base: "https://gitlab.example.com/api/v4",
			repo: fb.Repository{FullName: "acme/app", WebURL: "https://gitlab.example.com/acme/app"},
			want: "https://gitlab.example.com/acme/app.git"},
		{name: "another host", base: "https://gitlab.example.com",
			repo: fb.Repository{FullName: "acme/app", WebURL: "https://evil.example/acme/app"}, code: fb.EInvalid},
		{name: "a host with the same suffix", base: "https://gitlab.example.com",
			repo: fb.Repository{FullName: "acme/app", WebURL: "https://gitlab.example.com.evil.example/acme/app"}, code: fb.EInvalid},
		{name: "another port", base: "https://gitlab.example.com",
			repo: fb.Repository{FullName: "acme/app", WebURL: "https://gitlab.example.com:8443/acme/app"}, code: fb.EInvalid},
		{name: "plain HTTP", base: "https://gitlab.example.com",
			repo: fb.Repository{FullName: "acme/app", WebURL: "http://gitlab.example.com/acme/app"}, code: fb.EInvalid},
		{name: "user info", base: "https://gitlab.example.com",
			repo: fb.Repository{FullName: "acme/app", WebURL: "https://x@gitlab.example.com/acme/app"}, code: fb.EInvalid},
		{name: "outside the relative URL root", base: "https://example.com/gitlab",
			repo: fb.Repository{FullName: "acme/app", WebURL: "https://example.com/other/acme/app"}, code: fb.EInvalid},
		{name: "dot segments", base: "https://example.com/gitlab",
			repo: fb.Repository{FullName: "acme/app", WebURL: "https://example.com/gitlab/../other/app"}, code: fb.EInvalid},
		{name: "path escaping the host", base: "https://gitlab.example.com",
			repo: fb.Repository{FullName: "@evil.example/app"}, want: "https://gitlab.example.com/@evil.example/app.git"},
		{name: "query", base: "https://gitlab.example.com",
			repo: fb.Repository{FullName: "acme/app", WebURL: "https://gitlab.example.com/acme/app?x=1"}, code: fb.EInvalid},
		{name: "javascript", base: "https://gitlab.example.com",
			repo: fb.Repository{FullName: "acme/app", WebURL: "javascript:alert(1)//gitlab.example.com"}, code: fb.EInvalid},
		{name: "nothing to go by", base: "https://gitlab.example.com", repo: fb.Repository{ExternalID: "4"}, code: fb.EInvalid},
		{name: "no token", base: "https://gitlab.example.com", cred: fb.Credential{},
			repo: fb.Repository{FullName: "acme/app"}, code: fb.ETokenRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cred := tt.cred
			if tt.name != "no token" {
				cred = fb.Credential{Token: token}
			}
			p := newProvider(t, fb.Integration{Kind: fb.KindGitLabSelfManaged, BaseURL: tt.base}, nil)
			remote, err := p.(provider.Mirrorer).GitRemote(ctx, cred, tt.repo)
			if fb.ErrorCode(err) != tt.code {
				t.Fatalf("GitRemote = %v, %v; want code %q", remote, err, tt.code)
			}
			if err != nil {
				if remote != (provider.GitRemote{}) || strings.Contains(err.Error(), token) || fb.ErrorMessage(err) == "" {
					t.Errorf("refused with %+v and %v: want no remote, a message and no token", remote, err)
				}
				return
			}
			if remote.URL != tt.want || remote.Header != basic {
				t.Errorf("remote %q %q, want %q with oauth2 and the token", remote.URL, remote.Header, tt.want)
			}
			if strings.Contains(remote.String(), token) || strings.Contains(remote.URL, token) {
				t.Errorf("the token shows in %v", remote)
			}
		})
	}
}

// gitMirror runs git clone --mirror of remote into a new directory, the
// header reaching git through its environment only.
func gitMirror(t *testing.T, remote provider.GitRemote) (string, string, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mirror.git")
	out, err := git(remote, "", "clone", "--quiet", "--mirror", remote.URL, dir)
	return dir, out, err
}

func git(remote provider.GitRemote, dir string, args ...string) (string, error) {
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0="+remote.Header)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestMirror clones and fetches a project of the fake GitLab with git
// itself, with the remote GitRemote gives for each credential.
func TestMirror(t *testing.T) {
	f := newFixture(t, fb.KindGitLabSelfManaged)
	readUser := fb.Credential{Token: "glpat-READUSER-secret-009"}
	f.fake.AddToken(readUser.Token, fakegitlab.Token{Username: "gina", Scopes: []string{"read_user"}})
	readRepo := fb.Credential{Token: "glpat-READREPO-secret-010"}
	f.fake.AddToken(readRepo.Token, fakegitlab.Token{Username: "hugo", Scopes: []string{"read_repository"}})
	guest := fb.Credential{Token: "glpat-GUEST-secret-00011"}
	f.fake.AddToken(guest.Token, fakegitlab.Token{Username: "ivan"})
	f.app.SetAccess("ivan", fakegitlab.Guest)
	stranger := fb.Credential{Token: "glpat-STRANGER-secret-12"}
	f.fake.AddToken(stranger.Token, fakegitlab.Token{Username: "judy"})
	f.app.SetAccess("judy", fakegitlab.NoAccess)

	head, err := f.app.Push("main", "PROJ-1 Second commit\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.app.Tag("v1.0", head); err != nil {
		t.Fatal(err)
	}
	want, err := f.app.Git().Refs()
	if err != nil {
		t.Fatal(err)
	}
	repo := f.appRepo()
	mirrorer := f.p.(provider.Mirrorer)

	// git answers GitLab's 401 (a Basic challenge) by asking for a user
	// name, which GIT_TERMINAL_PROMPT=0 forbids.
	const challenged = "could not read Username"
	for _, tt := range []struct {
		name   string
		cred   fb.Credential
		ok     bool
		status string // in git's error
	}{
		{"service token", good, true, ""},
		{"read_api token", ro, true, ""},
		{"read_repository token", readRepo, true, ""},
		{"unknown token", unknown, false, challenged},
		{"expired token", expired, false, challenged},
		{"revoked token", revoked, false, challenged},
		{"token without a repository scope", readUser, false, "You are not allowed to download code."},
		{"guest", guest, false, "You are not allowed to download code from this project."},
		{"no access", stranger, false, "The project you were looking for could not be found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			remote, err := mirrorer.GitRemote(ctx, tt.cred, repo)
			if err != nil {
				t.Fatalf("GitRemote: %v", err)
			}
			f.fake.ResetCalls()
			dir, out, err := gitMirror(t, remote)
			calls := f.fake.Calls()
			if len(calls) == 0 || !calls[0].Git || calls[0].Token != tt.cred.Token {
				t.Errorf("git requests %+v, want them recorded with the token", calls)
			}
			if !tt.ok {
				if err == nil || !strings.Contains(out, tt.status) {
					t.Errorf("clone = %v: %s; want a failure saying %q", err, out, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatalf("clone: %v: %s", err, out)
			}
			for ref, sha := range want {
				if got, _ := git(remote, dir, "rev-parse", ref); strings.TrimSpace(got) != sha {
					t.Errorf("mirror %s = %q, want %s", ref, got, sha)
				}
			}
			if tt.cred != good {
				return
			}
			// An incremental fetch brings what was pushed since.
			next, err := f.app.Push("PROJ-2-feature", "PROJ-2 Feature\n")
			if err != nil {
				t.Fatal(err)
			}
			if out, err := git(remote, dir, "fetch", "--quiet", "--prune", "origin"); err != nil {
				t.Fatalf("fetch: %v: %s", err, out)
			}
			if got, _ := git(remote, dir, "rev-parse", "refs/heads/PROJ-2-feature"); strings.TrimSpace(got) != next {
				t.Errorf("fetched PROJ-2-feature = %q, want %s", got, next)
			}
		})
	}
}
