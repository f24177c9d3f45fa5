package codecommit

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// The vector was computed apart from this package, by following the
// algorithm of `aws codecommit credential-helper` step by step with
// Python's hmac and hashlib: canonical request "GIT\n/v1/repos/MyDemoRepo\n\n
// host:git-codecommit.us-east-2.amazonaws.com\n\nhost\n", string to sign
// "AWS4-HMAC-SHA256\n20190612T102343\n20190612/us-east-2/codecommit/
// aws4_request\n" + its hex SHA-256, the SigV4 key chain from the
// documentation's example secret key.
func TestGitPasswordVector(t *testing.T) {
	got := gitPassword("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-2", "git-codecommit.us-east-2.amazonaws.com",
		"/v1/repos/MyDemoRepo", time.Date(2019, 6, 12, 10, 23, 43, 0, time.UTC))
	want := "20190612T102343Z33abcb097170bbdd2683168985ec2eff8bb94570eb8942693434983f4628e362"
	if got != want {
		t.Errorf("gitPassword = %s, want %s", got, want)
	}
}

var passwordShape = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z[0-9a-f]{64}$`)

func TestGitRemote(t *testing.T) {
	tests := []struct {
		name, region, baseURL, repo string
		wantURL, wantHost           string
	}{
		{"regional", "eu-west-1", "", "app",
			"https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/app", "git-codecommit.eu-west-1.amazonaws.com"},
		{"other region", "ap-southeast-4", "", "my.repo_1-x",
			"https://git-codecommit.ap-southeast-4.amazonaws.com/v1/repos/my.repo_1-x", "git-codecommit.ap-southeast-4.amazonaws.com"},
		{"china", "cn-north-1", "", "app",
			"https://git-codecommit.cn-north-1.amazonaws.com.cn/v1/repos/app", "git-codecommit.cn-north-1.amazonaws.com.cn"},
		{"base URL", "eu-west-1", "http://127.0.0.1:8123", "app", "http://127.0.0.1:8123/v1/repos/app", "127.0.0.1"},
		{"base URL with a slash", "eu-west-1", "https://codecommit.example.com/", "app",
			"https://codecommit.example.com/v1/repos/app", "codecommit.example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t, fb.Integration{Region: tc.region, BaseURL: tc.baseURL}).(provider.Mirrorer)
			before := time.Now().UTC().Truncate(time.Second)
			r, err := p.GitRemote(context.Background(), good, fb.Repository{Name: tc.repo, FullName: tc.repo})
			if err != nil {
				t.Fatal(err)
			}
			if r.URL != tc.wantURL {
				t.Errorf("URL %s, want %s", r.URL, tc.wantURL)
			}
			if strings.Contains(r.String(), good.SecretAccessKey) || strings.Contains(r.String(), "Basic") {
				t.Errorf("String() shows the header: %s", r)
			}
			b64, ok := strings.CutPrefix(r.Header, "Authorization: Basic ")
			raw, err := base64.StdEncoding.DecodeString(b64)
			user, password, _ := strings.Cut(string(raw), ":")
			if !ok || err != nil || user != good.AccessKeyID || !passwordShape.MatchString(password) {
				t.Fatalf("header %q: user %q password %q", r.Header, user, password)
			}
			// The password is the signature of this repository's path on
			// this host, in this region, now.
			signedAt, _ := time.Parse("20060102T150405", password[:15])
			path := strings.TrimSuffix(tc.wantURL[strings.Index(tc.wantURL, "/v1/"):], "/")
			if signedAt.Before(before) || signedAt.After(time.Now()) ||
				password != gitPassword(good.SecretAccessKey, tc.region, tc.wantHost, path, signedAt) {
				t.Errorf("password %s is not the signature of %s on %s in %s at %s", password, path, tc.wantHost, tc.region, signedAt)
			}
		})
	}

	p := newProvider(t, fb.Integration{Region: testRegion}).(provider.Mirrorer)
	for _, name := range []string{"", ".", "..", "a/b", "../x", "a b", "a?b", "a%2fb", strings.Repeat("x", 101)} {
		if _, err := p.GitRemote(context.Background(), good, fb.Repository{Name: name}); fb.ErrorCode(err) != fb.EInvalid {
			t.Errorf("GitRemote(%q) = %v, want %s", name, err, fb.EInvalid)
		}
	}
	if _, err := p.GitRemote(context.Background(), fb.Credential{AccessKeyID: good.AccessKeyID}, fb.Repository{Name: "app"}); fb.ErrorCode(err) != fb.ETokenRejected {
		t.Errorf("GitRemote without a secret = %v, want %s", err, fb.ETokenRejected)
	}
}

// TestGitCloneMirror runs git itself against the fake's git host, as the
// indexer does: the URL and header from GitRemote, the header through git's
// environment.
func TestGitCloneMirror(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required: ", err)
	}
	w := newWorld(t)
	feature, _ := w.app.Branch("feature")
	if err := w.app.Tag("v1.0", feature); err != nil {
		t.Fatal(err)
	}
	pushed, err := w.app.Push("PROJ-7-fix", "PROJ-7 fix the parser\n")
	if err != nil {
		t.Fatal(err)
	}
	mirrorer := w.p.(provider.Mirrorer)
	repo := w.repo(t, "app")
	wrongSecret := fb.Credential{AccessKeyID: good.AccessKeyID, SecretAccessKey: "not/the/secret/0000000000000000000000"}
	tests := []struct {
		name   string
		cred   fb.Credential
		header bool
		want   string // "" to succeed, else what git's error says
	}{
		{"good key", good, true, ""},
		{"read-only key", readOnly, true, ""},
		{"wrong secret", wrongSecret, true, "403"},
		{"unknown key", unknown, true, "403"},
		{"expired key", expired, true, "403"},
		{"no credentials", good, false, "could not read Username"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			remote, err := mirrorer.GitRemote(context.Background(), tc.cred, repo)
			if err != nil {
				t.Fatal(err)
			}
			w.fake.ResetCalls()
			dir := filepath.Join(t.TempDir(), "mirror.git")
			cmd := exec.Command("git", "clone", "--mirror", "--quiet", remote.URL, dir)
			cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
			if tc.header {
				cmd.Env = append(cmd.Env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0="+remote.Header)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err = cmd.Run()
			if tc.want != "" {
				if err == nil || !strings.Contains(stderr.String(), tc.want) {
					t.Errorf("clone: %v, stderr %q; want a failure saying %q", err, stderr.String(), tc.want)
				}
				if strings.Contains(stderr.String(), tc.cred.SecretAccessKey) {
					t.Errorf("git's error shows the secret")
				}
				return
			}
			if err != nil {
				t.Fatalf("clone: %v: %s", err, stderr.String())
			}
			out, err := exec.Command("git", "-C", dir, "for-each-ref", "--format=%(refname) %(objectname)").Output()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := w.app.Git().Refs()
			if len(want) != 4 || want["refs/heads/PROJ-7-fix"] != pushed || want["refs/tags/v1.0"] != feature {
				t.Fatalf("fake refs %v", want)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				ref, sha, _ := strings.Cut(line, " ")
				if want[ref] != sha {
					t.Errorf("mirror has %s at %s, want %s", ref, sha, want[ref])
				}
				delete(want, ref)
			}
			if len(want) != 0 {
				t.Errorf("mirror lacks %v", want)
			}
			for _, c := range w.fake.Calls() {
				if c.Service != "git" || c.AccessKeyID != tc.cred.AccessKeyID {
					t.Errorf("call %+v, want git calls by %s", c, tc.cred.AccessKeyID)
				}
			}
			if len(w.fake.Calls()) < 2 {
				t.Errorf("calls %+v, want info/refs and git-upload-pack", w.fake.Calls())
			}
		})
	}
}

func TestWebLinks(t *testing.T) {
	p, err := New(fb.Integration{Kind: fb.KindCodeCommit, Region: "eu-west-1"}, provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := p.(provider.WebLinker)
	repo := fb.Repository{Name: "my-app"}
	base := "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/my-app"
	for _, tt := range []struct{ got, want string }{
		{l.CommitURL(repo, "abc123"), base + "/commit/abc123?region=eu-west-1"},
		{l.BranchURL(repo, "feature/PROJ-1 x"), base + "/browse/refs/heads/feature/PROJ-1%20x?region=eu-west-1"},
		{l.TagURL(repo, "v1.0"), base + "/browse/refs/tags/v1.0?region=eu-west-1"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}
