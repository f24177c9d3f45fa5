// Package fakegit gives the provider fakes real git repositories: bare
// repositories on disk whose refs are the fake's branches and tags, served
// over git's smart HTTP protocol by git's own http-backend, so that what
// forgebridge fetches is what a real host would send. Each fake checks its
// host's git authentication before handing a request to Serve.
package fakegit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Repo is one bare repository. It is safe for concurrent use; ref updates
// are compare-and-swap, as a host's are.
type Repo struct {
	Dir string

	mu   sync.Mutex
	tick int64 // seconds added to commit times so each commit is newer
}

// ErrStale is UpdateRef's answer when the ref is no longer at the old value.
var ErrStale = errors.New("fakegit: the ref moved")

// New makes an empty bare repository at dir (created when missing) whose
// HEAD names defaultBranch.
func New(dir, defaultBranch string) (*Repo, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir}
	if _, err := r.git(nil, "init", "--quiet", "--bare", "--initial-branch="+defaultBranch); err != nil {
		return nil, err
	}
	// upload-pack serves only what http.uploadpack allows; the defaults do.
	return r, nil
}

// Author is who a commit is written by.
type Author struct {
	Name  string
	Email string
	When  time.Time // zero: a clock that advances one second per commit
}

// Commit adds a commit with message on branch (created at its first commit,
// with no parent) and moves the branch to it. The message is written as it
// is, bytes that are not UTF-8 and NUL bytes included.
func (r *Repo) Commit(branch string, message []byte, a Author) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	parent, _ := r.resolve("refs/heads/" + branch)
	sha, err := r.writeCommit(parent, message, a)
	if err != nil {
		return "", err
	}
	if err := r.updateRef("refs/heads/"+branch, sha, parent); err != nil {
		return "", err
	}
	return sha, nil
}

// CommitOn adds a commit whose parent is parent ("" for a root commit)
// without moving any ref, and returns it.
func (r *Repo) CommitOn(parent string, message []byte, a Author) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writeCommit(parent, message, a)
}

// CommitFiles is Commit with content: the commit's tree is its parent's
// with files written (path → content) or, for a nil content, removed.
func (r *Repo) CommitFiles(branch string, message []byte, a Author, files map[string][]byte) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	parent, _ := r.resolve("refs/heads/" + branch)
	tree, err := r.changeTree(parent, files)
	if err != nil {
		return "", err
	}
	sha, err := r.writeCommitTree(parent, tree, message, a)
	if err != nil {
		return "", err
	}
	if err := r.updateRef("refs/heads/"+branch, sha, parent); err != nil {
		return "", err
	}
	return sha, nil
}

// changeTree writes the tree of parent (none: empty) with files changed,
// through a temporary index.
func (r *Repo) changeTree(parent string, files map[string][]byte) (string, error) {
	idx, err := os.CreateTemp("", "fakegit-index-*")
	if err != nil {
		return "", err
	}
	idx.Close()
	os.Remove(idx.Name()) // git makes it; an empty file is not an index
	defer os.Remove(idx.Name())
	env := "GIT_INDEX_FILE=" + idx.Name()
	if parent != "" {
		if _, err := r.gitEnv([]string{env}, nil, "read-tree", parent); err != nil {
			return "", err
		}
	}
	// --index-info takes "mode sha\tpath" lines; mode 0 removes the path.
	var info strings.Builder
	for path, content := range files {
		if content == nil {
			fmt.Fprintf(&info, "0 %s\t%s\n", strings.Repeat("0", 40), path)
			continue
		}
		blob, err := r.git(content, "hash-object", "-w", "--stdin")
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&info, "100644 %s\t%s\n", strings.TrimSpace(blob), path)
	}
	if _, err := r.gitEnv([]string{env}, []byte(info.String()), "update-index", "--index-info"); err != nil {
		return "", err
	}
	tree, err := r.gitEnv([]string{env}, nil, "write-tree")
	return strings.TrimSpace(tree), err
}

func (r *Repo) writeCommit(parent string, message []byte, a Author) (string, error) {
	tree, err := r.git(nil, "mktree")
	if err != nil {
		return "", err
	}
	return r.writeCommitTree(parent, strings.TrimSpace(tree), message, a)
}

func (r *Repo) writeCommitTree(parent, tree string, message []byte, a Author) (string, error) {
	if a.Name == "" {
		a.Name, a.Email = "Fake Author", "author@example.com"
	}
	when := a.When
	if when.IsZero() {
		r.tick++
		when = time.Unix(1700000000+r.tick, 0)
	}
	var obj bytes.Buffer
	fmt.Fprintf(&obj, "tree %s\n", strings.TrimSpace(tree))
	if parent != "" {
		fmt.Fprintf(&obj, "parent %s\n", parent)
	}
	sig := fmt.Sprintf("%s <%s> %d +0000", a.Name, a.Email, when.Unix())
	fmt.Fprintf(&obj, "author %s\ncommitter %s\n\n", sig, sig)
	obj.Write(message)
	// --literally: git's own checks would refuse the odd messages (NUL
	// bytes) that forgebridge must survive.
	out, err := r.git(obj.Bytes(), "hash-object", "-t", "commit", "-w", "--stdin", "--literally")
	return strings.TrimSpace(out), err
}

// UpdateRef moves a full ref name (refs/heads/x, refs/tags/y) to sha if it
// is still at old ("" meaning it must not exist yet); ErrStale otherwise.
// An empty sha deletes the ref.
func (r *Repo) UpdateRef(ref, sha, old string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.updateRef(ref, sha, old)
}

func (r *Repo) updateRef(ref, sha, old string) error {
	const zero = "0000000000000000000000000000000000000000"
	if old == "" {
		old = zero
	}
	var err error
	if sha == "" {
		_, err = r.git(nil, "update-ref", "-d", ref, old)
	} else {
		_, err = r.git(nil, "update-ref", ref, sha, old)
	}
	if err != nil && strings.Contains(err.Error(), "but expected") || err != nil && strings.Contains(err.Error(), "reference already exists") {
		return ErrStale
	}
	return err
}

// Resolve returns the commit a revision names (a full ref name, a short
// branch name or a sha).
func (r *Repo) Resolve(rev string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resolve(rev)
}

func (r *Repo) resolve(rev string) (string, bool) {
	out, err := r.git(nil, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(out), true
}

// Refs returns every branch and tag: full ref name → commit (tags peeled).
func (r *Repo) Refs() (map[string]string, error) {
	out, err := r.git(nil, "for-each-ref", "--format=%(refname) %(objectname) %(*objectname)", "refs/heads", "refs/tags")
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		switch len(f) {
		case 2:
			refs[f[0]] = f[1]
		case 3:
			refs[f[0]] = f[2]
		}
	}
	return refs, nil
}

// IsAncestor reports whether commit a is reachable from commit b.
func (r *Repo) IsAncestor(a, b string) bool {
	_, err := r.git(nil, "merge-base", "--is-ancestor", a, b)
	return err == nil
}

// Message returns a commit's message.
func (r *Repo) Message(sha string) (string, error) {
	return r.git(nil, "log", "-1", "--format=%B", sha)
}

// Head returns the short name of the branch HEAD names (the default branch).
func (r *Repo) Head() string {
	out, err := r.git(nil, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// SetHead makes branch the default branch.
func (r *Repo) SetHead(branch string) error {
	_, err := r.git(nil, "symbolic-ref", "HEAD", "refs/heads/"+branch)
	return err
}

func (r *Repo) git(stdin []byte, args ...string) (string, error) {
	return r.gitEnv(nil, stdin, args...)
}

func (r *Repo) gitEnv(env []string, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", r.Dir}, args...)...)
	cmd.Env = append(append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0"), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Serve answers one smart HTTP request for the repository: path is what
// follows the repository in the URL ("/info/refs" or "/git-upload-pack").
// Only fetching is served; a push (git-receive-pack) answers 403, as a
// read-only credential would get. The caller has authenticated the request.
func (r *Repo) Serve(w http.ResponseWriter, req *http.Request, path string) {
	if req.URL.Query().Get("service") == "git-receive-pack" || strings.HasSuffix(path, "/git-receive-pack") {
		http.Error(w, "pushing is not served by this fake", http.StatusForbidden)
		return
	}
	if path != "/info/refs" && path != "/git-upload-pack" {
		http.NotFound(w, req)
		return
	}
	backend, err := exec.LookPath("git")
	if err != nil {
		http.Error(w, "git is not installed", http.StatusInternalServerError)
		return
	}
	h := &cgi.Handler{
		Path: backend,
		Args: []string{"http-backend"},
		Dir:  r.Dir,
		Env: []string{
			"GIT_PROJECT_ROOT=" + filepath.Dir(r.Dir),
			"GIT_HTTP_EXPORT_ALL=1",
			"PATH_INFO=/" + filepath.Base(r.Dir) + path,
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_HTTP_MAX_REQUEST_BUFFER=" + strconv.Itoa(100<<20),
		},
		InheritEnv: []string{"PATH", "HOME"},
	}
	// Env's PATH_INFO overrides the one cgi.Handler derives from the URL:
	// http-backend finds the repository whatever the host's URL layout.
	h.ServeHTTP(w, req)
}
