package gitmirror

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
)

// noSecret fails t when err shows any part of the test credential.
func noSecret(t *testing.T, err error) {
	t.Helper()
	header := gittest.BasicHeader("x-token", password)
	for _, s := range []string{err.Error(), fb.ErrorMessage(err)} {
		for _, secret := range []string{password, header, strings.TrimPrefix(header, "Authorization: Basic ")} {
			if strings.Contains(s, secret) {
				t.Errorf("error %q shows a secret", s)
			}
		}
	}
}

func TestFetchErrors(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	commit(t, h.repo(t, "app"), "main", "x\n")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the redirect was followed: %s %s", r.Method, r.URL)
	}))
	defer other.Close()
	status := func(code int) func(http.Handler) http.Handler {
		return func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if code/100 == 3 {
					w.Header().Set("Location", other.URL+r.URL.Path)
				}
				http.Error(w, http.StatusText(code), code)
			})
		}
	}
	tests := []struct {
		name   string
		remote func(Remote) Remote
		wrap   func(http.Handler) http.Handler
		want   fb.Code
	}{
		{"wrong password", func(r Remote) Remote { r.Header = gittest.BasicHeader("x-token", "wrong"); return r }, nil, fb.ETokenRejected},
		{"no header", func(r Remote) Remote { r.Header = ""; return r }, nil, fb.ETokenRejected},
		{"401 to a right password", nil, status(http.StatusUnauthorized), fb.ETokenRejected},
		{"403", nil, status(http.StatusForbidden), fb.EProviderDenied},
		{"missing repository", func(r Remote) Remote { r.URL = strings.Replace(r.URL, "/app.git", "/nope.git", 1); return r }, nil, fb.ENotFound},
		{"429", nil, status(http.StatusTooManyRequests), fb.ERateLimited},
		{"500", nil, status(http.StatusInternalServerError), fb.EProviderUnavailable},
		{"503", nil, status(http.StatusServiceUnavailable), fb.EProviderUnavailable},
		{"redirect elsewhere", nil, status(http.StatusMovedPermanently), fb.EProviderUnavailable},
		{"host down", func(r Remote) Remote { r.URL = "http://127.0.0.1:1/app.git"; return r }, nil, fb.EProviderUnavailable},
	}
	g := findGit(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hh := h
			if tt.wrap != nil {
				// A host of its own, serving the same repositories.
				hh = &host{root: h.root}
				hh.setWrap(tt.wrap)
				inner := gittest.Handler(hh.root, password)
				hh.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					(*hh.wrap.Load())(inner).ServeHTTP(w, r)
				}))
				defer hh.srv.Close()
			}
			r := hh.remote("app")
			if tt.remote != nil {
				r = tt.remote(r)
			}
			m := g.Mirror(filepath.Join(t.TempDir(), "m"))
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			err := m.Fetch(ctx, r)
			if err == nil {
				t.Fatal("Fetch succeeded")
			}
			t.Logf("%v", err)
			noSecret(t, err)
			e := fb.AsError(err)
			switch {
			case tt.want == "" && e != nil:
				t.Errorf("Fetch = %v (%s), want a plain error", err, e.Code)
			case tt.want != "" && (e == nil || e.Code != tt.want):
				t.Errorf("Fetch = %v, want code %s", err, tt.want)
			}
			// A failed first fetch leaves nothing, not even a temporary clone.
			if left, _ := os.ReadDir(filepath.Dir(m.Dir)); len(left) != 0 {
				t.Errorf("a failed first fetch left %v", left)
			}
		})
	}
}

// abortAfter breaks the connection once n bytes of a pack have been sent, as
// a host going down mid-fetch does.
func abortAfter(n int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
				w = &breakingWriter{ResponseWriter: w, left: n}
			}
			next.ServeHTTP(w, r)
		})
	}
}

type breakingWriter struct {
	http.ResponseWriter
	left int
}

func (b *breakingWriter) Write(p []byte) (int, error) {
	if len(p) >= b.left {
		b.ResponseWriter.Write(p[:b.left])
		b.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	b.left -= len(p)
	return b.ResponseWriter.Write(p)
}

func TestFailedFetchKeepsTheMirror(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	dir := filepath.Join(h.root, "app.git")
	gittest.Synth(t, dir, 300)
	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "m"))
	if err := m.Fetch(context.Background(), h.remote("app")); err != nil {
		t.Fatal(err)
	}
	before := refs(t, m)
	n := len(logAll(t, m, []string{"refs/heads/main"}, nil))

	// The same history, grown: the next fetch has a large pack to send.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	gittest.Synth(t, dir, 3000)
	for _, wrap := range []func(http.Handler) http.Handler{abortAfter(20000), func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", 500) })
	}} {
		h.setWrap(wrap)
		err := m.Fetch(context.Background(), h.remote("app"))
		if fb.ErrorCode(err) != fb.EProviderUnavailable {
			t.Fatalf("Fetch from a host that broke off = %v, want %s", err, fb.EProviderUnavailable)
		}
		t.Logf("%v", err)
		if got := refs(t, m); !reflect.DeepEqual(got, before) {
			t.Fatalf("Refs after a failed fetch = %v, want %v", got, before)
		}
		if got := len(logAll(t, m, []string{"refs/heads/main"}, nil)); got != n {
			t.Fatalf("Log after a failed fetch lists %d commits, want %d", got, n)
		}
	}
	h.setWrap(func(next http.Handler) http.Handler { return next })
	if err := m.Fetch(context.Background(), h.remote("app")); err != nil {
		t.Fatalf("Fetch once the host is back: %v", err)
	}
	if got := refs(t, m)["refs/heads/main"]; got == before["refs/heads/main"] {
		t.Fatal("main did not move")
	}
}

// hangOnFetch stalls the request that asks for the pack until released.
func hangOnFetch(hung chan<- struct{}, release <-chan struct{}) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			plain := body
			if r.Header.Get("Content-Encoding") == "gzip" {
				if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
					plain, _ = io.ReadAll(zr)
				}
			}
			if bytes.Contains(plain, []byte("command=fetch")) || bytes.Contains(plain, []byte("want ")) {
				hung <- struct{}{}
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r)
		})
	}
}

func TestCancelKillsGit(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	commit(t, h.repo(t, "app"), "main", "x\n")
	hung, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	h.setWrap(hangOnFetch(hung, release))
	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "m"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Fetch(ctx, h.remote("app")) }()
	select {
	case <-hung:
	case err := <-done:
		t.Fatalf("Fetch returned before the host hung: %v", err)
	case <-time.After(deadline):
		t.Fatal("git never asked for the pack")
	}

	running := processes(t, h.srv.URL)
	if len(running) < 2 {
		t.Fatalf("git processes fetching from the host: %q, want git fetch and its remote helper", running)
	}
	// While git runs, no process shows the credential in its arguments.
	for _, p := range processes(t, "") {
		if strings.Contains(p, password) || strings.Contains(p, strings.TrimPrefix(gittest.BasicHeader("x-token", password), "Authorization: Basic ")) {
			t.Errorf("a process shows the credential in its arguments: %q", p)
		}
	}

	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(deadline):
		t.Fatal("Fetch did not return after cancel")
	}
	if fb.ErrorCode(err) != fb.EProviderUnavailable || !errors.Is(err, context.Canceled) {
		t.Errorf("Fetch after cancel = %v, want %s wrapping context.Canceled", err, fb.EProviderUnavailable)
	}
	if left := processes(t, h.srv.URL); len(left) > 0 {
		t.Errorf("git processes left after cancel: %q", left)
	}
	// Parallel tests run git too: a child of theirs may be between its exit
	// and its wait for a moment. Only a zombie that stays is a leak.
	z := zombies(t)
	for end := time.Now().Add(deadline); len(z) > 0 && time.Now().Before(end); z = zombies(t) {
		time.Sleep(50 * time.Millisecond)
	}
	if len(z) > 0 {
		t.Errorf("zombie children left: %v", z)
	}
}

// processes returns the command lines of the machine's processes that
// contain s.
func processes(t *testing.T, s string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("no /proc: %v", err)
	}
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		line := string(bytes.ReplaceAll(bytes.TrimRight(b, "\x00"), []byte{0}, []byte{' '}))
		if strings.Contains(line, s) {
			found = append(found, line)
		}
	}
	return found
}

// zombies returns the pids of this process's children that exited
// without being waited for.
func zombies(t *testing.T) []string {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var z []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[0] == "Z" && f[1] == strconv.Itoa(os.Getpid()) {
			z = append(z, e.Name())
		}
	}
	return z
}

func TestFetchThroughProxyAndTLS(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	sha := commit(t, h.repo(t, "app"), "main", "x\n")
	tlsSrv := httptest.NewTLSServer(gittest.Handler(h.root, password))
	defer tlsSrv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	var proxied atomic.Int32
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		proxied.Add(1)
		pr.Out.URL = pr.In.URL // the absolute URL a client sends its proxy
	}})
	defer proxy.Close()

	tlsRemote := Remote{URL: tlsSrv.URL + "/app.git", Header: gittest.BasicHeader("x", password)}
	tests := []struct {
		name    string
		remote  Remote
		want    fb.Code
		proxied bool
	}{
		{"untrusted certificate", tlsRemote, fb.EProviderUnavailable, false},
		{"CA file", Remote{URL: tlsRemote.URL, Header: tlsRemote.Header, CAFile: caFile}, "", false},
		{"TLS verification off", Remote{URL: tlsRemote.URL, Header: tlsRemote.Header, InsecureSkipTLSVerify: true}, "", false},
		{"proxy", Remote{URL: h.remote("app").URL, Header: tlsRemote.Header, ProxyURL: proxy.URL}, "", true},
		{"proxy down", Remote{URL: h.remote("app").URL, Header: tlsRemote.Header, ProxyURL: "http://127.0.0.1:1"}, fb.EProviderUnavailable, false},
	}
	g := findGit(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := proxied.Load()
			m := g.Mirror(filepath.Join(t.TempDir(), "m"))
			err := m.Fetch(context.Background(), tt.remote)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if got := refs(t, m)["refs/heads/main"]; got != sha {
					t.Errorf("main = %s, want %s", got, sha)
				}
			} else {
				t.Logf("%v", err)
				if fb.ErrorCode(err) != tt.want {
					t.Errorf("Fetch = %v, want %s", err, tt.want)
				}
			}
			if got := proxied.Load() > before; got != tt.proxied {
				t.Errorf("went through the proxy: %v, want %v", got, tt.proxied)
			}
		})
	}
}

func TestFetchErrorClassification(t *testing.T) {
	u, _ := url.Parse("https://git.example.com/acme/app.git")
	r := Remote{URL: u.String(), Header: gittest.BasicHeader("x-token", password), ProxyURL: "http://proxyuser:proxy-pass@proxy.example.com:3128"}
	tests := []struct {
		stderr string
		want   fb.Code
	}{
		{"fatal: could not read Username for 'https://git.example.com': terminal prompts disabled\n", fb.ETokenRejected},
		{"remote: HTTP Basic: Access denied\nfatal: Authentication failed for 'https://git.example.com/acme/app.git/'\n", fb.ETokenRejected},
		{"fatal: unable to access 'https://git.example.com/acme/app.git/': The requested URL returned error: 401\n", fb.ETokenRejected},
		{"fatal: unable to access 'https://git.example.com/acme/app.git/': The requested URL returned error: 403\n", fb.EProviderDenied},
		{"remote: Repository not found.\nfatal: repository 'https://git.example.com/acme/app.git/' not found\n", fb.ENotFound},
		{"fatal: unable to access 'https://git.example.com/acme/app.git/': The requested URL returned error: 404\n", fb.ENotFound},
		{"error: RPC failed; HTTP 500 curl 22 The requested URL returned error: 500\nfatal: expected flush after ref listing\n", fb.EProviderUnavailable},
		{"fatal: unable to access 'https://git.example.com/acme/app.git/': The requested URL returned error: 502\n", fb.EProviderUnavailable},
		{"fatal: unable to access 'https://git.example.com/acme/app.git/': Could not resolve host: git.example.com\n", fb.EProviderUnavailable},
		{"fatal: unable to access 'https://git.example.com/acme/app.git/': Failed to connect to git.example.com port 443 after 2 ms: Couldn't connect to server\n", fb.EProviderUnavailable},
		{"error: RPC failed; curl 18 transfer closed with outstanding read data remaining\nfatal: early EOF\nfatal: fetch-pack: invalid index-pack output\n", fb.EProviderUnavailable},
		{"fatal: unable to access 'https://git.example.com/acme/app.git/': SSL certificate problem: unable to get local issuer certificate\n", fb.EProviderUnavailable},
		{"fatal: unable to access 'https://git.example.com/acme/app.git/': server certificate verification failed. CAfile: none CRLfile: none\n", fb.EProviderUnavailable},
		{"fatal: unable to access 'https://git.example.com/acme/app.git/': Received HTTP code 407 from proxy after CONNECT\n", fb.EProviderUnavailable},
		{"fatal: unable to access 'https://git.example.com/acme/app.git/': Operation timed out after 300000 milliseconds with 0 out of 0 bytes received\n", fb.EProviderUnavailable},
		{"error: RPC failed; HTTP 429 curl 22 The requested URL returned error: 429\n", fb.ERateLimited},
		{"fatal: bad object refs/heads/main\n", ""},
		{"remote: echoing " + r.Header + " and " + password + " and proxy-pass\nfatal: something odd\n", ""},
	}
	for _, tt := range tests {
		err := fetchError(context.Background(), r, u, errors.New("exit status 128"), tt.stderr)
		if got := fb.AsError(err); tt.want == "" && got != nil || tt.want != "" && (got == nil || got.Code != tt.want) {
			t.Errorf("fetchError(%q) = %v, want code %q", tt.stderr, err, tt.want)
		}
		noSecret(t, err)
		if strings.Contains(err.Error(), "proxy-pass") {
			t.Errorf("fetchError(%q) = %v shows the proxy password", tt.stderr, err)
		}
	}
}

func TestTailKeepsWholeLastLines(t *testing.T) {
	tl := &tail{}
	io.WriteString(tl, "first "+password+"\n")
	for i := range 5000 {
		io.WriteString(tl, "line "+strconv.Itoa(i)+" of noise\n")
	}
	io.WriteString(tl, "fatal: the end\n")
	s := tl.String()
	if len(s) > tailSize || !strings.HasSuffix(s, "fatal: the end\n") || strings.Contains(s, password) || !strings.HasPrefix(s, "line ") {
		t.Errorf("tail kept %d bytes: %.60q … %q", len(s), s, s[max(0, len(s)-40):])
	}
	big := &tail{}
	big.Write(bytes.Repeat([]byte("x"), 3*tailSize))
	if got := big.String(); got != "" {
		t.Errorf("a line longer than the bound left %d bytes", len(got))
	}
}
