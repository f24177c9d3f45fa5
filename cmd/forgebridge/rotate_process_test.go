//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// serveProcess starts the built binary as `serve` with p's environment and
// waits for it to answer; the test ends it with SIGTERM.
func (p *program) serveProcess(bin string) {
	t := p.t
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p.stderr = &syncBuffer{}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	p.base = ""
	p.waitFor("the serve process answering", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("serve exited: %v\n%s", err, p.stderr.String())
		default:
		}
		if p.base == "" {
			p.base = servingAddr(p.stderr.String())
		}
		return p.base != "" && p.call("GET", "/healthz", "", nil).status == 200
	})
}

// TestRotationWithoutOutageTwoProcesses: two `serve` processes on one
// PostgreSQL database share a keyset file, which is rotated twice and
// retired down under load: no request fails.
func TestRotationWithoutOutageTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dsn := storetest.NewPostgresDatabase(t)
	bin := filepath.Join(t.TempDir(), "forgebridge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("ghp_service0000000000000000000000000001", fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo", "read:org"}})
	gh.AddRepo("acme/app", "main")

	first := newProgram(t, map[string]string{"FORGEBRIDGE_DATABASE": dsn, "PATH": os.Getenv("PATH")})
	// Set up in process, then serve from two processes.
	first.serve()
	admin, err := first.cli("", "users", "add", "admin", "--admin")
	if err != nil {
		t.Fatal(err)
	}
	admin = strings.TrimSpace(admin)
	first.must(first.call("POST", "/api/v1/directory/projects", admin, map[string]any{"key": "PROJ", "name": "Project"}), 201, "project")
	first.must(first.call("PUT", "/api/v1/directory/projects/PROJ/permissions/admin", admin,
		map[string]any{"permissions": []string{"BROWSE_PROJECTS", "VIEW_DEV_TOOLS"}}), 200, "permissions")
	first.must(first.call("POST", "/api/v1/integrations", admin, map[string]any{"name": "Acme", "kind": "github",
		"baseUrl": gh.URL(), "credential": map[string]any{"token": "ghp_service0000000000000000000000000001"}}), 201, "integration")
	repos := first.must(first.call("GET", "/api/v1/repositories?q=acme/app", admin, nil), 200, "repositories")
	repoID := repos.body["values"].([]any)[0].(map[string]any)["id"].(string)
	first.shutdown()

	second := newProgram(t, map[string]string{"FORGEBRIDGE_DATABASE": dsn, "PATH": os.Getenv("PATH"),
		"FORGEBRIDGE_KEYSET": filepath.Join(first.env["FORGEBRIDGE_DATA"], "keyset.json")})
	first.serveProcess(bin)
	second.serveProcess(bin)
	rotateUnderLoad(t, first, second, admin, repoID)
}
