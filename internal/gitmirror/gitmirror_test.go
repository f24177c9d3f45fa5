package gitmirror

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

const password = "s3cret-Passw0rd"

// host is a git host in the test: bare repositories under root served over
// smart HTTP, behind Basic authentication, through an optional wrapper that
// misbehaves.
type host struct {
	root string
	srv  *httptest.Server
	wrap atomic.Pointer[func(http.Handler) http.Handler]
}

func newHost(t *testing.T) *host {
	t.Helper()
	h := &host{root: t.TempDir()}
	inner := gittest.Handler(h.root, password)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wrap := h.wrap.Load(); wrap != nil {
			(*wrap)(inner).ServeHTTP(w, r)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *host) setWrap(f func(http.Handler) http.Handler) { h.wrap.Store(&f) }

// repo makes an empty repository name on the host.
func (h *host) repo(t *testing.T, name string) *fakegit.Repo {
	t.Helper()
	r, err := fakegit.New(filepath.Join(h.root, name+".git"), "main")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (h *host) remote(name string) Remote {
	return Remote{URL: h.srv.URL + "/" + name + ".git", Header: gittest.BasicHeader("x-token", password)}
}

func findGit(t *testing.T) *Git {
	t.Helper()
	g, err := Find(context.Background())
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	return g
}

func commit(t *testing.T, r *fakegit.Repo, branch, msg string) string {
	t.Helper()
	sha, err := r.Commit(branch, []byte(msg), fakegit.Author{})
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

func refs(t *testing.T, m *Mirror) map[string]string {
	t.Helper()
	got, err := m.Refs(context.Background())
	if err != nil {
		t.Fatalf("Refs: %v", err)
	}
	return got
}

// logAll returns the commits Log lists, as sha → message.
func logAll(t *testing.T, m *Mirror, include, exclude []string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := m.Log(context.Background(), include, exclude, func(c Commit) error {
		if _, dup := got[c.SHA]; dup {
			t.Errorf("Log listed %s twice", c.SHA)
		}
		got[c.SHA] = c.Message
		return nil
	})
	if err != nil {
		t.Fatalf("Log(%v, %v): %v", include, exclude, err)
	}
	return got
}

func values(m map[string]string) []string {
	var v []string
	for _, s := range m {
		v = append(v, s)
	}
	slices.Sort(v)
	return v
}

func TestFetchIsIncremental(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	r := h.repo(t, "acme/app")
	c1 := commit(t, r, "main", "PROJ-1 first\n")
	c2 := commit(t, r, "main", "PROJ-2 second\n")
	f1 := commit(t, r, "feature", "OPS-1 feature root\n")

	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "mirrors", "1"))
	if err := m.Fetch(context.Background(), h.remote("acme/app")); err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	old := refs(t, m)
	if want := map[string]string{"refs/heads/main": c2, "refs/heads/feature": f1}; !reflect.DeepEqual(old, want) {
		t.Fatalf("Refs = %v, want %v", old, want)
	}
	if got := values(logAll(t, m, slices.Collect(mapValues(old)), nil)); !reflect.DeepEqual(got, []string{"OPS-1 feature root\n", "PROJ-1 first\n", "PROJ-2 second\n"}) {
		t.Fatalf("first Log = %q", got)
	}

	c3 := commit(t, r, "main", "PROJ-3 third\n")
	f2 := commit(t, r, "feature", "OPS-2 more\n")
	n1 := commit(t, r, "new", "PROJ-4 new branch\n")
	if err := m.Fetch(context.Background(), h.remote("acme/app")); err != nil {
		t.Fatalf("second Fetch: %v", err)
	}
	now := refs(t, m)
	if want := map[string]string{"refs/heads/main": c3, "refs/heads/feature": f2, "refs/heads/new": n1}; !reflect.DeepEqual(now, want) {
		t.Fatalf("Refs = %v, want %v", now, want)
	}
	// The old tips by sha and, once, by a ref name that is gone.
	got := logAll(t, m, slices.Collect(mapValues(now)), append(slices.Collect(mapValues(old)), "refs/heads/gone"))
	if want := map[string]string{c3: "PROJ-3 third\n", f2: "OPS-2 more\n", n1: "PROJ-4 new branch\n"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Log of what is new = %q, want %q", got, want)
	}
	if got := logAll(t, m, []string{"refs/heads/main"}, []string{c1}); len(got) != 2 || got[c2] == "" || got[c3] == "" {
		t.Fatalf("Log by ref name = %q", got)
	}
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func TestFetchForcePushAndPrune(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	r := h.repo(t, "app")
	base := commit(t, r, "main", "base\n")
	oldTip := commit(t, r, "main", "PROJ-1 to be rewritten\n")
	doomed := commit(t, r, "doomed", "OPS-1 doomed\n")
	if err := r.UpdateRef("refs/tags/v0", oldTip, ""); err != nil {
		t.Fatal(err)
	}
	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "m"))
	if err := m.Fetch(context.Background(), h.remote("app")); err != nil {
		t.Fatal(err)
	}

	// A force push replaces main's tip; the branch and the tag are deleted.
	newTip, err := r.CommitOn(base, []byte("PROJ-1 rewritten\n"), fakegit.Author{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range [][3]string{{"refs/heads/main", newTip, oldTip}, {"refs/heads/doomed", "", doomed}, {"refs/tags/v0", "", oldTip}} {
		if err := r.UpdateRef(u[0], u[1], u[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Fetch(context.Background(), h.remote("app")); err != nil {
		t.Fatalf("Fetch after a force push: %v", err)
	}
	if got := refs(t, m); !reflect.DeepEqual(got, map[string]string{"refs/heads/main": newTip}) {
		t.Fatalf("Refs after force push and deletions = %v", got)
	}
	tests := []struct {
		name    string
		exclude []string
		want    map[string]string
	}{
		{"old tip still in the mirror", []string{oldTip}, map[string]string{newTip: "PROJ-1 rewritten\n"}},
		{"old tip no longer in the mirror", []string{strings.Repeat("ab", 20)}, map[string]string{newTip: "PROJ-1 rewritten\n", base: "base\n"}},
		{"sha-256 name not in the mirror", []string{strings.Repeat("cd", 32), oldTip}, map[string]string{newTip: "PROJ-1 rewritten\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := logAll(t, m, []string{newTip}, tt.exclude); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Log = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEmptyRepository(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	h.repo(t, "empty")
	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "m"))
	for i := range 2 {
		if err := m.Fetch(context.Background(), h.remote("empty")); err != nil {
			t.Fatalf("Fetch %d of an empty repository: %v", i, err)
		}
	}
	if got := refs(t, m); len(got) != 0 {
		t.Fatalf("Refs = %v", got)
	}
	if got := logAll(t, m, nil, []string{strings.Repeat("0", 40)}); len(got) != 0 {
		t.Fatalf("Log = %v", got)
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	r := h.repo(t, "app")
	c1 := commit(t, r, "main", "one\n")
	c2 := commit(t, r, "main", "two\n")
	c3 := commit(t, r, "main", "three\n")
	side := commit(t, r, "side", "side\n")
	gittest.Git(t, r.Dir, "tag", "light", c1)
	gittest.Git(t, r.Dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "tag", "-a", "-m", "annotated", "annotated", c2)
	gittest.Git(t, r.Dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "tag", "-a", "-m", "tag of a tag", "nested", "annotated")
	gittest.Git(t, r.Dir, "tag", "side-tag", side)
	orphan, err := r.CommitOn("", []byte("on no branch\n"), fakegit.Author{})
	if err != nil {
		t.Fatal(err)
	}
	gittest.Git(t, r.Dir, "tag", "orphan", orphan)
	blob := strings.TrimSpace(gittest.Git(t, r.Dir, "hash-object", "-w", "/dev/null"))
	gittest.Git(t, r.Dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "tag", "-a", "-m", "not a commit", "blob-tag", blob)

	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "m"))
	if err := m.Fetch(context.Background(), h.remote("app")); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"refs/heads/main": c3, "refs/heads/side": side,
		"refs/tags/light": c1, "refs/tags/annotated": c2, "refs/tags/nested": c2, "refs/tags/side-tag": side,
		"refs/tags/orphan": orphan,
	}
	if got := refs(t, m); !reflect.DeepEqual(got, want) {
		t.Fatalf("Refs = %v, want %v", got, want)
	}
}

func TestOddMessages(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	r := h.repo(t, "app")
	big := bytes.Repeat([]byte("PROJ-9 a line of a very long message\n"), (1<<20)/37+1)
	msgs := map[string][]byte{
		"nul":     []byte("PROJ-1 with \x00 NUL \x00 bytes\n"),
		"invalid": []byte("PROJ-2 latin-1 caf\xe9 and \xff\xfe\n"),
		"big":     big,
		"empty":   nil,
		"crlf":    []byte("PROJ-3 subject\r\n\r\nbody\r\n"),
	}
	want := map[string]string{
		"nul":     "PROJ-1 with  NUL  bytes\n",
		"invalid": "PROJ-2 latin-1 caf\uFFFD and \uFFFD\n",
		"big":     string(big),
		"empty":   "",
		"crlf":    "PROJ-3 subject\r\n\r\nbody\r\n",
	}
	shas := map[string]string{}
	for name, msg := range msgs {
		shas[name] = commit(t, r, name, string(msg))
	}
	// A commit whose encoding header says ISO-8859-1, written by hand.
	tree := strings.TrimSpace(gittest.Git(t, r.Dir, "mktree", "--missing"))
	raw := "tree " + tree + "\nauthor Ren\xe9 <rene@example.com> 1700000000 -0230\ncommitter R <r@example.com> 1700000000 +0000\nencoding ISO-8859-1\n\nPROJ-4 caf\xe9\n"
	latin := hashObject(t, r.Dir, raw)
	if err := r.UpdateRef("refs/heads/latin", latin, ""); err != nil {
		t.Fatal(err)
	}
	want["latin"], shas["latin"] = "PROJ-4 café\n", latin

	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "m"))
	if err := m.Fetch(context.Background(), h.remote("app")); err != nil {
		t.Fatal(err)
	}
	got := map[string]Commit{}
	if err := m.Log(context.Background(), []string{"refs/heads/nul", "refs/heads/invalid", "refs/heads/big", "refs/heads/empty", "refs/heads/crlf", "refs/heads/latin"}, nil, func(c Commit) error {
		got[c.SHA] = c
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for name, sha := range shas {
		c, ok := got[sha]
		if !ok {
			t.Errorf("%s: commit %s not listed", name, sha)
			continue
		}
		if c.Message != want[name] {
			t.Errorf("%s: message %.80q…, want %.80q…", name, c.Message, want[name])
		}
	}
	c := got[latin]
	if c.AuthorName != "René" || c.AuthorEmail != "rene@example.com" {
		t.Errorf("latin author = %q <%q>", c.AuthorName, c.AuthorEmail)
	}
	if _, off := c.AuthoredAt.Zone(); c.AuthoredAt.Unix() != 1700000000 || off != -(2*3600+30*60) {
		t.Errorf("latin AuthoredAt = %v", c.AuthoredAt)
	}
	if c := got[shas["nul"]]; c.AuthorName != "Fake Author" || c.AuthorEmail != "author@example.com" || c.AuthoredAt.IsZero() {
		t.Errorf("author = %q <%q> %v", c.AuthorName, c.AuthorEmail, c.AuthoredAt)
	}
}

func hashObject(t *testing.T, dir, raw string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "obj")
	if err := os.WriteFile(f, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(gittest.Git(t, dir, "hash-object", "-t", "commit", "-w", "--literally", f))
}

func TestLogStopsOnError(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	r := h.repo(t, "app")
	for range 50 {
		commit(t, r, "main", "x\n")
	}
	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "m"))
	if err := m.Fetch(context.Background(), h.remote("app")); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	n := 0
	err := m.Log(context.Background(), []string{"refs/heads/main"}, nil, func(Commit) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("Log = %v after %d commits, want stop after 3", err, n)
	}
}

func TestLogRefusesWhatIsNotARevision(t *testing.T) {
	m := findGit(t).Mirror(t.TempDir())
	for _, rev := range []string{"--all", "HEAD", "main", "refs/heads/a b", "refs/heads/x\n^y", "refs/heads/a..b", "refs/heads/a~1", "ABCDEF" + strings.Repeat("0", 34), "", "^" + strings.Repeat("0", 40)} {
		called := false
		err := m.Log(context.Background(), []string{rev}, nil, func(Commit) error { called = true; return nil })
		if err == nil || called {
			t.Errorf("Log(include %q) = %v", rev, err)
		}
		if err := m.Log(context.Background(), []string{"refs/heads/main"}, []string{rev}, func(Commit) error { return nil }); err == nil {
			t.Errorf("Log(exclude %q) did not fail", rev)
		}
	}
}

func TestLogUnknownInclude(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	r := h.repo(t, "app")
	commit(t, r, "main", "x\n")
	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "m"))
	if err := m.Fetch(context.Background(), h.remote("app")); err != nil {
		t.Fatal(err)
	}
	err := m.Log(context.Background(), []string{strings.Repeat("ab", 20)}, nil, func(Commit) error { return nil })
	if err == nil {
		t.Fatal("Log of a commit the mirror lacks did not fail")
	}
}

func TestFetchIntoExistingDirectory(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	commit(t, h.repo(t, "app"), "main", "x\n")
	g := findGit(t)
	parent := t.TempDir()

	empty := g.Mirror(filepath.Join(parent, "empty"))
	if err := os.Mkdir(empty.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// What a killed first fetch left beside it.
	if err := os.MkdirAll(filepath.Join(parent, "empty.clone-123", "objects"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := empty.Fetch(context.Background(), h.remote("app")); err != nil {
		t.Fatalf("Fetch into an empty directory: %v", err)
	}
	if len(refs(t, empty)) != 1 {
		t.Error("no refs")
	}
	if _, err := os.Stat(filepath.Join(parent, "empty.clone-123")); !os.IsNotExist(err) {
		t.Errorf("a stale clone is still there: %v", err)
	}

	other := g.Mirror(filepath.Join(parent, "other"))
	if err := os.MkdirAll(filepath.Join(other.Dir, "precious"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := other.Fetch(context.Background(), h.remote("app")); err == nil {
		t.Error("Fetch into a directory holding something else succeeded")
	}
	if _, err := os.Stat(filepath.Join(other.Dir, "precious")); err != nil {
		t.Errorf("Fetch touched what the directory held: %v", err)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	commit(t, h.repo(t, "app"), "main", "x\n")
	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "m"))
	if err := m.Fetch(context.Background(), h.remote("app")); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Dir); !os.IsNotExist(err) {
		t.Fatalf("mirror still there: %v", err)
	}
	if err := m.Fetch(context.Background(), h.remote("app")); err != nil || len(refs(t, m)) != 1 {
		t.Fatalf("Fetch after Remove: %v", err)
	}
}

// deadline bounds a call that must return promptly, so that a hang fails the
// test instead of stalling it; it is no timing assertion.
const deadline = 60 * time.Second
