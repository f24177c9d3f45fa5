package fakegit

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeClonesWhatWasCommitted(t *testing.T) {
	dir := t.TempDir()
	r, err := New(filepath.Join(dir, "app.git"), "main")
	if err != nil {
		t.Fatal(err)
	}
	first, err := r.Commit("main", []byte("PROJ-1 first\n"), Author{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Commit("main", []byte("PROJ-2 odd \x00 bytes \xff\n"), Author{Name: "Bob", Email: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !r.IsAncestor(first, second) {
		t.Fatal("first commit is not an ancestor of the second")
	}
	if err := r.UpdateRef("refs/heads/main", first, first); err != ErrStale {
		t.Fatalf("stale update = %v, want ErrStale", err)
	}
	if err := r.UpdateRef("refs/tags/v1", first, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateRef("refs/tags/v1", second, ""); err != ErrStale {
		t.Fatalf("creating an existing ref = %v, want ErrStale", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, pw, ok := req.BasicAuth(); !ok || pw != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
			http.Error(w, "auth", http.StatusUnauthorized)
			return
		}
		r.Serve(w, req, strings.TrimPrefix(req.URL.Path, "/acme/app.git"))
	}))
	defer srv.Close()

	clone := func(header string) (string, error) {
		out := filepath.Join(t.TempDir(), "m.git")
		cmd := exec.Command("git", "clone", "--quiet", "--mirror", srv.URL+"/acme/app.git", out)
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0="+header)
		b, err := cmd.CombinedOutput()
		if err != nil {
			return string(b), err
		}
		log, err := exec.Command("git", "-C", out, "log", "--format=%H", "main").Output()
		return string(log), err
	}
	out, err := clone("Authorization: Basic eDpzZWNyZXQ=") // x:secret
	if err != nil {
		t.Fatalf("clone: %v: %s", err, out)
	}
	if !strings.Contains(out, first) || !strings.Contains(out, second) {
		t.Fatalf("cloned history %q lacks the commits", out)
	}
	if out, err := clone("Authorization: Basic eDp3cm9uZw=="); err == nil {
		t.Fatalf("a wrong password cloned: %s", out)
	}
	refs, err := r.Refs()
	if err != nil || refs["refs/tags/v1"] != first || refs["refs/heads/main"] != second {
		t.Fatalf("Refs = %v, %v", refs, err)
	}
}
