package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// TestLoad measures the real binary: its peak memory idle and under 50
// concurrent create-branch requests against the in-process fake GitHub, and
// the latency and throughput of those requests. It asserts no timing; it
// reports. Run it with FORGEBRIDGE_LOAD=1 go test -run TestLoad -v ./cmd/forgebridge.
func TestLoad(t *testing.T) {
	if os.Getenv("FORGEBRIDGE_LOAD") == "" {
		t.Skip("load test: set FORGEBRIDGE_LOAD=1 to run it")
	}
	const clients, perClient = 50, 40
	dir := t.TempDir()
	bin := filepath.Join(dir, "forgebridge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("ghp_service", fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo"}})
	gh.AddToken("ghp_alice", fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main")

	env := append(os.Environ(), "FORGEBRIDGE_DATA="+filepath.Join(dir, "data"))
	cli := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	admin := cli("users", "add", "admin", "--admin")
	srv := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	srv.Env = env
	logs := &syncBuffer{}
	srv.Stderr = logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	p := &program{t: t}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if p.base = servingAddr(logs.String()); p.base != "" {
			if resp, err := p.client().Get(p.base + "/healthz"); err == nil {
				resp.Body.Close()
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", logs.String())
		}
	}
	p.must(p.call("POST", "/api/v1/directory/projects", admin, map[string]any{"key": "PROJ"}), 201, "project")
	alice := p.must(p.call("POST", "/api/v1/directory/users", admin, map[string]any{"name": "alice"}), 201, "alice").str("apiToken")
	p.must(p.call("PUT", "/api/v1/directory/projects/PROJ/permissions/alice", admin,
		map[string]any{"permissions": []string{"BROWSE_PROJECTS", "VIEW_DEV_TOOLS"}}), 200, "permissions")
	p.must(p.call("POST", "/api/v1/directory/issues", admin, map[string]any{"key": "PROJ-1", "summary": "Load"}), 201, "issue")
	in := p.must(p.call("POST", "/api/v1/integrations", admin, map[string]any{"name": "GH", "kind": "github", "baseUrl": gh.URL(),
		"credential": map[string]any{"token": "ghp_service"}, "settings": map[string]any{"requireUserPat": true}}), 201, "integration")
	p.must(p.call("PUT", "/api/v1/me/tokens/"+in.str("id"), alice, map[string]any{"token": "ghp_alice"}), 200, "token")
	repoID := p.must(p.call("GET", "/api/v1/repositories", alice, nil), 200, "repos").body["values"].([]any)[0].(map[string]any)["id"].(string)

	time.Sleep(time.Second)
	idleRSS, idlePeak := memory(t, srv.Process.Pid)

	var mu sync.Mutex
	var took []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				s := time.Now()
				a := p.call("POST", "/api/v1/issues/PROJ-1/branches", alice,
					map[string]any{"repositoryId": repoID, "name": fmt.Sprintf("PROJ-1-c%d-%d", c, i)})
				d := time.Since(s)
				if a.status != 201 {
					t.Errorf("create: %d %s", a.status, a.raw)
					return
				}
				mu.Lock()
				took = append(took, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	_, loadPeak := memory(t, srv.Process.Pid)
	slices.Sort(took)
	q := func(f float64) time.Duration { return took[int(f*float64(len(took)-1))] }
	t.Logf("idle: RSS %d KiB (peak %d KiB)", idleRSS, idlePeak)
	t.Logf("%d clients × %d create-branch requests: %d in %v = %.0f req/s; latency p50 %v p90 %v p99 %v max %v; peak RSS %d KiB",
		clients, perClient, len(took), elapsed.Round(time.Millisecond), float64(len(took))/elapsed.Seconds(),
		q(0.5), q(0.9), q(0.99), took[len(took)-1], loadPeak)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGINT", err)
		}
	case <-ctx.Done():
		t.Error("serve did not stop within 10s of SIGINT")
	}
}

// memory reads a process's resident set size and its peak, in KiB.
func memory(t *testing.T, pid int) (rss, peak int) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fmt.Sscan(v, &rss)
		}
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fmt.Sscan(v, &peak)
		}
	}
	return rss, peak
}
