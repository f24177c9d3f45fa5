package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// startServe starts the binary's serve and waits until it is ready.
func startServe(t *testing.T, bin string, env []string) (*program, *exec.Cmd, chan error) {
	t.Helper()
	srv := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	srv.Env = env
	logs := &syncBuffer{}
	srv.Stderr = logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	t.Cleanup(func() { srv.Process.Kill() })
	p := &program{t: t, stderr: logs}
	p.waitFor("serve answering", func() bool {
		if p.base = servingAddr(logs.String()); p.base == "" {
			return false
		}
		resp, err := p.client().Get(p.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p, srv, done
}

// TestSIGTERMUnderLoad runs the real binary, drives concurrent branch
// creates against a host that takes a moment to answer each, and sends
// SIGTERM among them: every request the server took gets its complete
// answer (none is cut off), the others are refused at connect or, when the
// connect raced the port's closing, end without an answer and are retried
// by their client; the process exits 0, and after a restart every branch
// on the host has exactly one audit entry — none lost, none twice.
func TestSIGTERMUnderLoad(t *testing.T) {
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("ghp_svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
	repo := gh.AddRepo("acme/app", "main")
	target, _ := url.Parse(gh.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	slowHost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/git/refs") {
			time.Sleep(300 * time.Millisecond) // in flight when the signal comes
		}
		rp.ServeHTTP(w, r)
	}))
	defer slowHost.Close()

	dir := t.TempDir()
	bin := filepath.Join(dir, "forgebridge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	env := append(os.Environ(), "FORGEBRIDGE_DATA="+filepath.Join(dir, "data"),
		"FORGEBRIDGE_REDISCOVER=-1s", "FORGEBRIDGE_REVALIDATE=-1s", "FORGEBRIDGE_REINDEX=-1s")
	cmd := exec.Command(bin, "users", "add", "admin", "--admin", "--create")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("users add: %v", err)
	}
	admin := strings.TrimSpace(string(out))

	p, srv, done := startServe(t, bin, env)
	p.must(p.call("POST", "/api/v1/directory/projects", admin, map[string]any{"key": "PROJ"}), 201, "project")
	p.must(p.call("PUT", "/api/v1/directory/projects/PROJ/permissions/admin", admin,
		map[string]any{"permissions": []string{"BROWSE_PROJECTS", "VIEW_DEV_TOOLS"}}), 200, "permissions")
	p.must(p.call("POST", "/api/v1/directory/issues", admin, map[string]any{"key": "PROJ-1", "summary": "Work"}), 201, "issue")
	p.must(p.call("POST", "/api/v1/integrations", admin, map[string]any{"name": "GH", "kind": "github", "baseUrl": slowHost.URL,
		"credential": map[string]any{"token": "ghp_svc"}}), 201, "integration")
	repoID := p.must(p.call("GET", "/api/v1/repositories", admin, nil), 200, "repositories").list_("values")[0].(map[string]any)["id"].(string)

	// Each request on a connection of its own: a refused connect then
	// tells for sure that the server never saw the request.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	lp := &program{t: t, base: p.base}
	var (
		mu       sync.Mutex
		answered = map[string]int{} // branch name → status
		refused  int
		broken   []string // accepted but not answered completely
		wg       sync.WaitGroup
		started  = make(chan struct{}, 1000)
	)
	for c := range 8 {
		wg.Go(func() {
			for n := 0; ; n++ {
				name := fmt.Sprintf("PROJ-1-c%d-%d", c, n)
				a, err := lp.send(client, "POST", "/api/v1/issues/PROJ-1/branches", admin, map[string]any{"repositoryId": repoID, "name": name})
				mu.Lock()
				switch {
				case err == nil:
					answered[name] = a.status
				case isRefused(err):
					refused++
				default:
					broken = append(broken, name+": "+err.Error())
				}
				mu.Unlock()
				if err != nil {
					return // the server is going or gone
				}
				started <- struct{}{}
			}
		})
	}
	for range 16 { // some creates done, more in flight
		<-started
	}
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range started {
		}
	}()
	wg.Wait()
	close(started)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM:\n%s", err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop within 20s of SIGTERM:\n%s", p.stderr.String())
	}
	if strings.Contains(p.stderr.String(), "cut off") {
		t.Fatalf("requests in flight were cut off at the end of the grace period:\n%s", p.stderr.String())
	}
	for name, status := range answered {
		if status != 201 {
			t.Errorf("%s answered %d, want 201", name, status)
		}
	}
	t.Logf("%d answered 201 around SIGTERM, %d refused at connect, %d connected as the port closed: %v",
		len(answered), refused, len(broken), broken)

	// After a restart: one audit entry per branch the host has.
	p2, _, _ := startServe(t, bin, env)
	// A connect that raced the port's closing (the kernel had queued it,
	// the server never took it) ends without an answer. Its client retries
	// with the same name: a create the server did make answers 409 with
	// the branch (so it is never made twice), one it never saw 201.
	for _, b := range broken {
		name, _, _ := strings.Cut(b, ":")
		a := p2.call("POST", "/api/v1/issues/PROJ-1/branches", admin, map[string]any{"repositoryId": repoID, "name": name})
		switch {
		case a.status == 201:
		case a.status == 409 && a.errCode() == "already_exists" && strings.Contains(a.raw, name):
		default:
			t.Fatalf("the retry of %s answered %d: %s", name, a.status, a.raw)
		}
		answered[name] = 201
	}
	audited := map[string]int{}
	for next := "/api/v1/audit?action=branch.create&limit=100"; next != ""; {
		a := p2.must(p2.call("GET", next, admin, nil), 200, "audit")
		for _, v := range a.list_("values") {
			if e := v.(map[string]any); e["outcome"] == "success" {
				audited[e["target"].(string)]++
			}
		}
		next = a.str("next")
	}
	onHost := 0
	for _, name := range repo.Branches() {
		if !strings.HasPrefix(name, "PROJ-1-") {
			continue
		}
		onHost++
		if audited[name] != 1 {
			t.Errorf("branch %s on the host audited %d times, want once", name, audited[name])
		}
		if answered[name] != 201 {
			t.Errorf("branch %s on the host was never answered 201", name)
		}
	}
	if onHost != len(answered) || len(audited) != onHost {
		t.Fatalf("%d branches on the host, %d answered 201, %d audited", onHost, len(answered), len(audited))
	}
}

// isRefused reports whether a request failed at connect (refused, or reset
// while connecting): the server never saw it.
func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
