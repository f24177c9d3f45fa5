package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestTwoServeProcesses runs the real binary twice, as two processes on one
// PostgreSQL database with one keyset file: an API token issued by the CLI
// works on both, the token of a user made on one works on the other, concurrent
// creates of one name over both have one winner, and both stop on SIGTERM.
// TestProgramTwoInstances drives two in-process servers further.
func TestTwoServeProcesses(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "forgebridge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	env := append(os.Environ(), "FORGEBRIDGE_DATABASE="+storetest.NewPostgresDatabase(t),
		"FORGEBRIDGE_KEYSET="+filepath.Join(dir, "keyset.json"),
		"FORGEBRIDGE_REDISCOVER=-1s", "FORGEBRIDGE_REVALIDATE=-1s", "FORGEBRIDGE_REINDEX=-1s")
	cmd := exec.Command(bin, "users", "add", "admin", "--admin", "--create")
	cmd.Env = append(env, "FORGEBRIDGE_DATA="+filepath.Join(dir, "cli"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("users add: %v", err)
	}
	admin := strings.TrimSpace(string(out))

	var ps []*program
	for _, name := range []string{"a", "b"} {
		srv := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
		srv.Env = append(env, "FORGEBRIDGE_DATA="+filepath.Join(dir, name))
		logs := &syncBuffer{}
		srv.Stderr = logs
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Wait() }()
		defer func() {
			_ = srv.Process.Signal(os.Interrupt)
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve %s exited with %v after SIGINT:\n%s", name, err, logs.String())
				}
			case <-time.After(10 * time.Second):
				srv.Process.Kill()
				t.Errorf("serve %s did not stop within 10s of SIGINT", name)
			}
		}()
		p := &program{t: t, stderr: logs}
		p.waitFor("serve "+name+" answering", func() bool {
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
		ps = append(ps, p)
	}
	a, b := ps[0], ps[1]
	for _, p := range ps {
		p.must(p.call("GET", "/api/v1/me", admin, nil), 200, "the CLI's token")
	}
	dora := a.must(a.call("POST", "/api/v1/directory/users", admin, map[string]any{"name": "dora"}), 201, "dora on A").str("apiToken")
	if me := b.must(b.call("GET", "/api/v1/me", dora, nil), 200, "dora's token on B"); me.str("name") != "dora" {
		t.Fatalf("B answered %s", me.raw)
	}
	statuses := raceCreates(t, ps, 8, "/api/v1/directory/projects", admin, map[string]any{"key": "RACE"})
	if statuses[201] != 1 || statuses[409] != 7 {
		t.Fatalf("statuses %v, want one 201 and seven 409", statuses)
	}
}
