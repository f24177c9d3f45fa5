package github

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

func TestGitRemote(t *testing.T) {
	const token = "ghp_remote000000000000000000000000000000"
	tests := []struct {
		name     string
		in       fb.Integration
		fullName string
		url      string
		code     fb.Code
	}{
		{"github.com", fb.Integration{Kind: fb.KindGitHub}, "acme/app", "https://github.com/acme/app.git", ""},
		{"github.com, dots and underscores", fb.Integration{Kind: fb.KindGitHub}, "acme-co/my_app.v2", "https://github.com/acme-co/my_app.v2.git", ""},
		{"github with a base URL", fb.Integration{Kind: fb.KindGitHub, BaseURL: "https://gh-proxy.example/"}, "acme/app", "https://gh-proxy.example/acme/app.git", ""},
		{"enterprise", fb.Integration{Kind: fb.KindGitHubEnterprise, BaseURL: "https://ghe.example.com"}, "acme/app", "https://ghe.example.com/acme/app.git", ""},
		{"enterprise API base", fb.Integration{Kind: fb.KindGitHubEnterprise, BaseURL: "https://ghe.example.com/api/v3/"}, "acme/app", "https://ghe.example.com/acme/app.git", ""},
		// Names that would take the URL, and the header, to another host.
		{"user info", fb.Integration{Kind: fb.KindGitHub}, "evil.example@x/app", "", fb.EInvalid},
		{"port", fb.Integration{Kind: fb.KindGitHub}, "x:1@evil.example/app", "", fb.EInvalid},
		{"fragment", fb.Integration{Kind: fb.KindGitHub}, "acme/app#@evil.example", "", fb.EInvalid},
		{"query", fb.Integration{Kind: fb.KindGitHub}, "acme/app?x=@evil.example", "", fb.EInvalid},
		{"dot dot", fb.Integration{Kind: fb.KindGitHub}, "../app", "", fb.EInvalid},
		{"backslash", fb.Integration{Kind: fb.KindGitHub}, `acme\@evil.example/app`, "", fb.EInvalid},
		{"no owner", fb.Integration{Kind: fb.KindGitHub}, "app", "", fb.EInvalid},
		{"too deep", fb.Integration{Kind: fb.KindGitHub}, "a/b/c", "", fb.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDriver(tt.in, provider.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := d.GitRemote(ctx, cred(token), fb.Repository{FullName: tt.fullName})
			if got := fb.ErrorCode(err); got != tt.code {
				t.Fatalf("GitRemote: %v, want code %q", err, tt.code)
			}
			if tt.code != "" {
				if r != (provider.GitRemote{}) {
					t.Errorf("refused, yet returned %+v", r)
				}
				return
			}
			if r.URL != tt.url {
				t.Errorf("URL %s, want %s", r.URL, tt.url)
			}
			cred, ok := strings.CutPrefix(r.Header, "Authorization: Basic ")
			raw, err := base64.StdEncoding.DecodeString(cred)
			if !ok || err != nil || string(raw) != "x-access-token:"+token {
				t.Errorf("header %q does not carry the token as the Basic password", r.Header)
			}
			if strings.Contains(r.String(), token) || strings.Contains(r.String(), cred) {
				t.Errorf("String() shows the credential: %s", r)
			}
		})
	}
	d, _ := NewDriver(fb.Integration{Kind: fb.KindGitHub}, provider.Options{})
	for _, bad := range []string{"ghp_x\r\nX-Evil: 1", "ghp_x\n", "ghp_\x00x"} {
		r, err := d.GitRemote(ctx, cred(bad), fb.Repository{FullName: "acme/app"})
		if fb.ErrorCode(err) != fb.ETokenRejected || r.Header != "" {
			t.Errorf("token %q: %+v, %v", bad, r, err)
		}
	}
}

// TestMirrorClone mirrors a repository of the fake with git itself, the
// credential reaching git only through its environment, as the indexer does.
func TestMirrorClone(t *testing.T) {
	f, repo := newFake(t)
	feature, _ := repo.Branch("feature")
	main, err := repo.Push("main", "PROJ-1 Second commit")
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Tag("v1.0", main); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.OpenPull("feature", "main", "PROJ-2 work", "", false); err != nil {
		t.Fatal(err)
	}
	app := fb.Repository{FullName: "acme/app"}
	clone := func(t *testing.T, d *Driver, token string) (string, error) {
		t.Helper()
		remote, err := d.GitRemote(ctx, cred(token), app)
		if err != nil {
			t.Fatal(err)
		}
		if remote.URL != f.URL()+"/acme/app.git" {
			t.Fatalf("URL %s, want the fake's web root", remote.URL)
		}
		dir := filepath.Join(t.TempDir(), "app.git")
		cmd := exec.Command("git", "clone", "--quiet", "--mirror", remote.URL, dir)
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0="+remote.Header)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return stderr.String(), err
		}
		refs, err := exec.Command("git", "-C", dir, "for-each-ref", "--format=%(refname) %(objectname)").Output()
		return string(refs), err
	}
	for _, kind := range []fb.Kind{fb.KindGitHub, fb.KindGitHubEnterprise} {
		t.Run(string(kind), func(t *testing.T) {
			d := newDriver(t, integration(kind, f), f)
			refs, err := clone(t, d, goodToken)
			if err != nil {
				t.Fatalf("clone: %v: %s", err, refs)
			}
			for _, want := range []string{"refs/heads/main " + main, "refs/heads/feature " + feature,
				"refs/tags/v1.0 " + main, "refs/pull/1/head " + feature} {
				if !strings.Contains(refs, want+"\n") {
					t.Errorf("mirror lacks %s:\n%s", want, refs)
				}
			}
			before := f.CallCount()
			out, err := clone(t, d, unknownToken)
			if err == nil {
				t.Fatalf("an unknown token cloned: %s", out)
			}
			if strings.Contains(out, unknownToken) {
				t.Errorf("git printed the token: %s", out)
			}
			calls := f.Calls()[before:]
			if len(calls) != 1 || calls[0].Path != "/acme/app.git/info/refs" || calls[0].Status != 401 || calls[0].Token != unknownToken {
				t.Errorf("calls %+v, want one refused ref advertisement", calls)
			}
		})
	}
}

func TestWebLinks(t *testing.T) {
	d, err := NewDriver(fb.Integration{Kind: fb.KindGitHubEnterprise, BaseURL: "https://ghe.example.com"}, provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	repo := fb.Repository{FullName: "acme/app"}
	for _, tt := range []struct{ got, want string }{
		{d.CommitURL(repo, "abc"), "https://ghe.example.com/acme/app/commit/abc"},
		{d.BranchURL(repo, "feature/PROJ-1 x"), "https://ghe.example.com/acme/app/tree/feature/PROJ-1%20x"},
		{d.TagURL(fb.Repository{WebURL: "https://ghe.example.com/acme/app"}, "v1.0"), "https://ghe.example.com/acme/app/releases/tag/v1.0"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
