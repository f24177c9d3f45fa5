package gitmirror

import (
	"context"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

// config reads the GIT_CONFIG_COUNT/KEY/VALUE entries of env, checking that
// they are consistent.
func config(t *testing.T, env []string) [][2]string {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := vars[k]; dup {
			t.Errorf("%s set twice", k)
		}
		vars[k] = v
	}
	n, err := strconv.Atoi(vars["GIT_CONFIG_COUNT"])
	if err != nil {
		t.Fatalf("GIT_CONFIG_COUNT = %q", vars["GIT_CONFIG_COUNT"])
	}
	var cfg [][2]string
	for i := range n {
		k, ok1 := vars["GIT_CONFIG_KEY_"+strconv.Itoa(i)]
		v, ok2 := vars["GIT_CONFIG_VALUE_"+strconv.Itoa(i)]
		if !ok1 || !ok2 {
			t.Fatalf("config entry %d missing", i)
		}
		cfg = append(cfg, [2]string{k, v})
	}
	if _, extra := vars["GIT_CONFIG_KEY_"+strconv.Itoa(n)]; extra {
		t.Errorf("more GIT_CONFIG_KEY entries than GIT_CONFIG_COUNT")
	}
	return cfg
}

func lookup(cfg [][2]string, key string) (string, bool) {
	for _, kv := range cfg {
		if strings.EqualFold(kv[0], key) {
			return kv[1], true
		}
	}
	return "", false
}

func TestFetchCommand(t *testing.T) {
	// What the service's own environment holds must not reach git.
	t.Setenv("GIT_DIR", "/elsewhere")
	t.Setenv("GIT_ASKPASS", "/usr/bin/leak")
	t.Setenv("GIT_SSL_CAINFO", "/etc/other.pem")
	t.Setenv("GIT_CONFIG_PARAMETERS", "'credential.helper'='store'")
	t.Setenv("GIT_TRACE_CURL", "1")
	t.Setenv("HOME", "/root")
	t.Setenv("https_proxy", "http://machine-proxy:3128")

	const header = "Authorization: Basic c2VjcmV0LXZhbHVl"
	tests := []struct {
		name   string
		remote Remote
		want   map[string]string // config entries; "" value: must be absent
	}{
		{"https", Remote{URL: "https://git.example.com/a/b.git", Header: header}, map[string]string{
			"http.extraHeader": header, "protocol.https.allow": "always", "protocol.http.allow": "",
			"protocol.allow": "never", "credential.helper": "", "http.followRedirects": "false",
			"http.proxy": "", "http.sslVerify": "", "http.sslCAInfo": "",
		}},
		{"http", Remote{URL: "http://127.0.0.1:8080/b.git", Header: header}, map[string]string{
			"protocol.http.allow": "always", "protocol.https.allow": "always",
		}},
		{"proxy, CA and no verification", Remote{URL: "https://git.example.com/b.git", Header: header, ProxyURL: "http://u:p@proxy:3128", CAFile: "/tmp/ca.pem", InsecureSkipTLSVerify: true}, map[string]string{
			"http.proxy": "http://u:p@proxy:3128", "http.sslCAInfo": "/tmp/ca.pem", "http.sslVerify": "false",
		}},
		{"public repository", Remote{URL: "https://git.example.com/b.git"}, map[string]string{"http.extraHeader": ""}},
	}
	m := &Mirror{Dir: "/var/lib/forgebridge/mirrors/1", git: "/usr/bin/git"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := tt.remote.check()
			if err != nil {
				t.Fatal(err)
			}
			clone := m.cloneCommand(context.Background(), tt.remote, u, "/tmp/m.clone-1")
			if want := []string{"/usr/bin/git", "clone", "--bare", "--quiet", "--template=", "--no-recurse-submodules", "--", u.String(), "/tmp/m.clone-1"}; !reflect.DeepEqual(clone.Args, want) {
				t.Errorf("clone argv = %q, want %q", clone.Args, want)
			}
			if !reflect.DeepEqual(clone.Env, m.fetchCommand(context.Background(), tt.remote, u).Env) {
				t.Errorf("clone and fetch environments differ")
			}
			cmd := m.fetchCommand(context.Background(), tt.remote, u)
			for _, a := range cmd.Args {
				if strings.Contains(a, "c2VjcmV0LXZhbHVl") || strings.Contains(a, "Authorization") || strings.Contains(a, "u:p@") {
					t.Errorf("argv holds a secret: %q", cmd.Args)
				}
			}
			if want := []string{"/usr/bin/git", "--git-dir=" + m.Dir, "fetch"}; strings.Join(cmd.Args[:3], " ") != strings.Join(want, " ") {
				t.Errorf("argv = %q", cmd.Args)
			}
			if last := cmd.Args[len(cmd.Args)-3:]; last[0] != u.String() || last[1] != "+refs/heads/*:refs/heads/*" || last[2] != "+refs/tags/*:refs/tags/*" {
				t.Errorf("argv ends with %q", last)
			}
			cfg := config(t, cmd.Env)
			for k, want := range tt.want {
				got, ok := lookup(cfg, k)
				if want == "" && k != "credential.helper" {
					if ok {
						t.Errorf("config %s = %q, want it absent", k, got)
					}
					continue
				}
				if !ok || got != want {
					t.Errorf("config %s = %q (set: %v), want %q", k, got, ok, want)
				}
			}
			for _, kv := range cmd.Env {
				k, v, _ := strings.Cut(kv, "=")
				switch {
				case k == "GIT_DIR", k == "GIT_SSL_CAINFO", k == "GIT_CONFIG_PARAMETERS", k == "GIT_TRACE_CURL":
					t.Errorf("the service's %s reached git", kv)
				case k == "GIT_ASKPASS" && v != "", k == "HOME" && v != os.DevNull:
					t.Errorf("%s, want it neutral", kv)
				case strings.Contains(v, "c2VjcmV0LXZhbHVl") && !strings.HasPrefix(k, "GIT_CONFIG_VALUE_"):
					t.Errorf("the credential is in %s", k)
				}
			}
			env := strings.Join(cmd.Env, "\n")
			for _, want := range []string{"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull, "LC_ALL=C", "https_proxy=http://machine-proxy:3128"} {
				if !strings.Contains(env, want+"\n") {
					t.Errorf("env lacks %s", want)
				}
			}
		})
	}
}

func TestRemoteCheck(t *testing.T) {
	tests := []struct {
		name   string
		remote Remote
		ok     bool
	}{
		{"https", Remote{URL: "https://git.example.com/a.git", Header: "Authorization: Basic eDp5"}, true},
		{"http", Remote{URL: "http://127.0.0.1:9/a.git"}, true},
		{"user info", Remote{URL: "https://user:pa55word-x@git.example.com/a.git"}, false},
		{"user only", Remote{URL: "https://user@git.example.com/a.git"}, false},
		{"ssh", Remote{URL: "ssh://git@git.example.com/a.git"}, false},
		{"scp-like", Remote{URL: "git@git.example.com:a.git"}, false},
		{"file", Remote{URL: "file:///srv/a.git"}, false},
		{"ext", Remote{URL: "ext::sh -c touch% /tmp/pwned"}, false},
		{"no host", Remote{URL: "https:///a.git"}, false},
		{"option", Remote{URL: "--upload-pack=touch /tmp/pwned"}, false},
		{"header with a newline", Remote{URL: "https://h/a.git", Header: "Authorization: Basic x\nX-Other: y"}, false},
		{"header without a name", Remote{URL: "https://h/a.git", Header: "token"}, false},
		{"proxy with a newline", Remote{URL: "https://h/a.git", ProxyURL: "http://p\n"}, false},
		{"proxy not a URL", Remote{URL: "https://h/a.git", ProxyURL: "proxy"}, false},
		{"CA path with a newline", Remote{URL: "https://h/a.git", CAFile: "/tmp/a\nb"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.remote.check()
			if tt.ok != (err == nil) {
				t.Fatalf("check = %v, want ok %v", err, tt.ok)
			}
			if err != nil {
				if fb.ErrorCode(err) != fb.EInvalid {
					t.Errorf("check = %v, want %s", err, fb.EInvalid)
				}
				if strings.Contains(err.Error(), "pa55word-x") {
					t.Errorf("error %q shows the password", err)
				}
			}
		})
	}
}

func TestRemoteString(t *testing.T) {
	r := Remote{URL: "https://h/a.git", Header: "Authorization: Basic c2VjcmV0", ProxyURL: "http://u:proxypw@p:3128"}
	s := r.String()
	if strings.Contains(s, "c2VjcmV0") || strings.Contains(s, "proxypw") || !strings.Contains(s, "https://h/a.git") {
		t.Errorf("String() = %q", s)
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		out, version string
		ok           bool
	}{
		{"git version 2.39.5\n", "2.39.5", true},
		{"git version 2.31.0.windows.1\n", "2.31.0.windows.1", true},
		{"git version 2.31.0", "2.31.0", true},
		{"git version 2.30.9\n", "2.30.9", false},
		{"git version 2.39.3 (Apple Git-146)\n", "2.39.3 (Apple Git-146)", true},
		{"git version 2.24.3 (Apple Git-128)\n", "2.24.3 (Apple Git-128)", false},
		{"git version 3.0.0\n", "3.0.0", true},
		{"git version 1.99.9\n", "1.99.9", false},
		{"git version 2.45.GIT\n", "2.45.GIT", true},
		{"git version 2\n", "2", false},
		{"hub version 2.14.2\n", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		version, ok := parseVersion(tt.out)
		if version != tt.version || ok != tt.ok {
			t.Errorf("parseVersion(%q) = %q, %v; want %q, %v", tt.out, version, ok, tt.version, tt.ok)
		}
	}
}

func TestFind(t *testing.T) {
	g, err := Find(context.Background())
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if _, ok := parseVersion("git version " + g.Version); !ok || g.Path == "" {
		t.Errorf("Find = %+v", g)
	}
	t.Setenv("PATH", t.TempDir())
	_, err = Find(context.Background())
	if e := fb.AsError(err); e == nil || e.Code != fb.ENotSupported || !strings.Contains(e.Message, "git is not installed") || !strings.Contains(e.Message, "2.31 or later") {
		t.Errorf("Find without git = %v", err)
	}
}

func TestFindTooOld(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho 'git version 2.30.9'\n"
	if err := os.WriteFile(dir+"/git", []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	_, err := Find(context.Background())
	if e := fb.AsError(err); e == nil || e.Code != fb.ENotSupported || e.Message != "git 2.31 or later is required for indexing; found 2.30.9." {
		t.Errorf("Find with git 2.30.9 = %v", err)
	}
}

func TestCABundleAddsToTheSystemRoots(t *testing.T) {
	dir := t.TempDir()
	system, extra := dir+"/system.pem", dir+"/extra.pem"
	if err := os.WriteFile(system, []byte("-----BEGIN CERTIFICATE-----\nsystem\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(extra, []byte("-----BEGIN CERTIFICATE-----\nextra\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", system)
	bundle, err := caBundle(extra)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(bundle)
	b, err := os.ReadFile(bundle)
	if err != nil || !strings.Contains(string(b), "\nsystem\n") || !strings.Contains(string(b), "\nextra\n") {
		t.Errorf("bundle = %q, %v; want both the system's roots and the extra ones", b, err)
	}
	if _, err := caBundle(dir + "/missing.pem"); err == nil {
		t.Error("caBundle of a missing file did not fail")
	}
}
