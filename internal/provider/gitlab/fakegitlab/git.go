package fakegitlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// GitLab's answers to git clients (Repositories::GitHttpClientController,
// Gitlab::GitAccess).
const (
	gitAccessDenied = "HTTP Basic: Access denied. If a password was provided for Git authentication, " +
		"the password was incorrect or you're required to use a token instead of a password. " +
		"If a token was provided, it was either incorrect, expired, or improperly scoped."
	gitNoDownload        = "You are not allowed to download code."
	gitNoUpload          = "You are not allowed to upload code."
	gitProjectNotFound   = "The project you were looking for could not be found or you don't have permission to view it."
	gitNoProjectDownload = "You are not allowed to download code from this project."
	gitNoProjectUpload   = "You are not allowed to push code to this project."
	gitCommandNotAllowed = "The command you're trying to execute is not allowed."
)

// gitPath splits a git smart HTTP path, /group/project.git/info/refs, into
// the project's full path and what follows the repository.
func gitPath(path string) (project, rest string, ok bool) {
	i := strings.Index(path, ".git/")
	if i <= 1 {
		return "", "", false
	}
	rest = path[i+len(".git"):]
	switch rest {
	case "/info/refs", "/git-upload-pack", "/git-receive-pack":
		return path[1:i], rest, true
	}
	return "", "", false
}

// serveGit answers a git request as GitLab does: HTTP Basic authentication
// whose password is a personal access token (any user name), a token scope
// that lets it read code (api, read_api, read_repository, write_repository),
// then the project's visibility and the user's role.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request, projectPath, rest string) {
	_, password, basic := r.BasicAuth()
	rawPath, rawQuery, _ := strings.Cut(r.RequestURI, "?")

	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, RawPath: rawPath, Query: rawQuery,
		Token: password, Git: true})
	repo, status, msg := s.gitAccessLocked(r, basic, password, projectPath, rest)
	s.mu.Unlock()

	switch {
	case status == http.StatusTooManyRequests:
		s.writeRateLimited(w)
	case status == http.StatusUnauthorized:
		w.Header().Set("Www-Authenticate", `Basic realm="GitLab"`)
		fallthrough
	case status != 0:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprint(w, msg)
	default:
		repo.Serve(w, r, rest)
	}
}

// gitAccessLocked decides a git request: the repository to serve, or the
// status and message to refuse it with.
func (s *Server) gitAccessLocked(r *http.Request, basic bool, password, projectPath, rest string) (repo *fakegit.Repo, status int, msg string) {
	switch {
	case s.failStatus != 0:
		return nil, s.failStatus, http.StatusText(s.failStatus)
	case s.rateLimited:
		return nil, http.StatusTooManyRequests, ""
	case r.Method == http.MethodHead && rest == "/info/refs":
		return nil, http.StatusForbidden, ""
	}
	t := s.tokens[password]
	if !basic || password == "" || t == nil || t.Revoked || t.Expired || t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now()) {
		return nil, http.StatusUnauthorized, gitAccessDenied
	}
	cmd := strings.TrimPrefix(rest, "/")
	if rest == "/info/refs" {
		cmd = r.URL.Query().Get("service")
	}
	push := cmd == "git-receive-pack"
	switch {
	case cmd != "git-upload-pack" && !push:
		return nil, http.StatusForbidden, gitCommandNotAllowed
	case push && !t.hasScope("api", "write_repository"):
		return nil, http.StatusForbidden, gitNoUpload
	case !push && !t.hasScope("api", "read_api", "read_repository", "write_repository"):
		return nil, http.StatusForbidden, gitNoDownload
	}
	p := s.findProject(projectPath)
	if p == nil || p.accessOf(t.Username) == NoAccess {
		return nil, http.StatusNotFound, gitProjectNotFound
	}
	level := p.accessOf(t.Username)
	switch {
	case level < Reporter:
		return nil, http.StatusForbidden, gitNoProjectDownload
	case push && (level < Developer || p.archived):
		return nil, http.StatusForbidden, gitNoProjectUpload
	}
	gr, err := p.gitLocked()
	if err != nil {
		return nil, http.StatusInternalServerError, err.Error()
	}
	return gr, 0, ""
}

// commit is what GitLab shows of a commit in branches and webhook payloads.
type commit struct {
	sha, parents                             string
	authorName, authorEmail, authoredAt      string
	committerName, committerEmail, committed string
	message                                  string
}

func (c commit) title() string {
	t, _, _ := strings.Cut(c.message, "\n")
	return t
}

// commitsLocked reads the commits named, with at most one git process:
// commits never change, so what was read once is remembered.
func (s *Server) commitsLocked(dir string, shas []string) (map[string]commit, error) {
	out := map[string]commit{}
	var missing []string
	for _, sha := range shas {
		if c, ok := s.commitCache[sha]; ok {
			out[sha] = c
		} else if !slices.Contains(missing, sha) {
			missing = append(missing, sha)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	args := append([]string{"log", "--no-walk=unsorted", "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e"}, missing...)
	text, err := runGit(dir, nil, args...)
	if err != nil {
		return nil, err
	}
	for _, rec := range strings.Split(text, "\x1e") {
		f := strings.SplitN(strings.TrimLeft(rec, "\n"), "\x00", 9)
		if len(f) != 9 {
			continue
		}
		c := commit{sha: f[0], parents: f[1], authorName: f[2], authorEmail: f[3], authoredAt: f[4],
			committerName: f[5], committerEmail: f[6], committed: f[7], message: strings.TrimRight(f[8], "\n") + "\n"}
		s.commitCache[c.sha], out[c.sha] = c, c
	}
	return out, nil
}

// isAncestorLocked reports whether commit a is reachable from commit b,
// remembering the answer (the commit graph never changes).
func (s *Server) isAncestorLocked(r *fakegit.Repo, a, b string) bool {
	if a == b {
		return true
	}
	k := [2]string{a, b}
	is, ok := s.ancestorCache[k]
	if !ok {
		is = r.IsAncestor(a, b)
		s.ancestorCache[k] = is
	}
	return is
}

// revList lists the commits reachable from tip and not from any of not,
// oldest first.
func revList(dir, tip string, not ...string) ([]string, error) {
	args := []string{"rev-list", "--reverse", tip}
	for _, n := range not {
		args = append(args, "^"+n)
	}
	text, err := runGit(dir, nil, args...)
	if err != nil {
		return nil, err
	}
	return strings.Fields(text), nil
}

// mergeCommit writes a merge commit of source into target (GitLab's "Merge
// commit" method) with source's tree, and returns it.
func mergeCommit(dir, target, source, message string, when time.Time) (string, error) {
	date := strconv.FormatInt(when.Unix(), 10) + " +0000"
	env := []string{"GIT_AUTHOR_NAME=Administrator", "GIT_AUTHOR_EMAIL=admin@example.com", "GIT_AUTHOR_DATE=" + date,
		"GIT_COMMITTER_NAME=Administrator", "GIT_COMMITTER_EMAIL=admin@example.com", "GIT_COMMITTER_DATE=" + date}
	out, err := runGit(dir, env, "commit-tree", source+"^{tree}", "-p", target, "-p", source, "-m", message)
	return strings.TrimSpace(out), err
}

func runGit(dir string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("fakegitlab: git %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// readRefs reads a bare repository's branches and tags (full name → object
// id) from git's files ref backend, loose refs over packed-refs, as git
// does. A git process per API request would make the fake slow; the
// repository stays the one source of truth. Annotated tags are not peeled.
func readRefs(dir string) (map[string]string, error) {
	refs := map[string]string{}
	packed, err := os.ReadFile(filepath.Join(dir, "packed-refs"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, line := range strings.Split(string(packed), "\n") {
		if sha, name, ok := strings.Cut(line, " "); ok && isObjectID(sha) {
			refs[name] = sha
		}
	}
	for _, root := range []string{"refs/heads", "refs/tags"} {
		err := filepath.WalkDir(filepath.Join(dir, root), func(path string, d fs.DirEntry, err error) error {
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return nil
			case err != nil:
				return err
			case d.IsDir() || strings.HasSuffix(path, ".lock"):
				return nil
			}
			b, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) { // deleted meanwhile
				return nil
			} else if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			if sha := strings.TrimSpace(string(b)); err == nil && isObjectID(sha) {
				refs[filepath.ToSlash(rel)] = sha
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return refs, nil
}

func isObjectID(s string) bool { return len(s) == 40 && isHex(s) }
