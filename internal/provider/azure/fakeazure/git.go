package fakeazure

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// Repo is one repository of the fake. Its branches and tags are the refs of
// a bare git repository, made on first use: most tests never read most
// repositories, and a repository nobody read is fully described by the
// branch AddRepo gave it.
type Repo struct {
	s             *Server
	ID            string
	Name          string
	Project       string
	initialBranch string // committed to when the git repository is made; "" for an empty one
	disabled      bool
	git           *fakegit.Repo   // nil until first used
	locked        map[string]bool // ref names whose updates Azure refuses ("locked")
}

// Lock locks a branch: every update of it, a deletion too, answers
// updateStatus "locked" as Azure does for a locked branch.
func (r *Repo) Lock(branch string) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.locked == nil {
		r.locked = map[string]bool{}
	}
	r.locked["refs/heads/"+branch] = true
}

// gitLocked returns the repository's git repository, making it on first use.
func (r *Repo) gitLocked() (*fakegit.Repo, error) {
	if r.git != nil {
		return r.git, nil
	}
	head := r.initialBranch
	if head == "" {
		head = "main" // HEAD of an empty repository names no existing branch
	}
	g, err := fakegit.New(filepath.Join(r.s.dir, r.ID+".git"), head)
	if err != nil {
		return nil, err
	}
	if r.initialBranch != "" {
		// Nothing else knows the repository yet: its first ref is written
		// as a plain file, without git's locking.
		sha, err := writeCommit(g.Dir, "", "Initial commit\n", r.s.commitTimeLocked())
		if err == nil {
			err = writeFile(filepath.Join(g.Dir, "refs", "heads", filepath.FromSlash(r.initialBranch)), sha+"\n")
		}
		if err != nil {
			return nil, err
		}
	}
	r.git = g
	return g, nil
}

// Git is the repository's bare git repository, for tests that write to it
// directly (commits with chosen authors or messages).
func (r *Repo) Git() *fakegit.Repo {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	g, err := r.gitLocked()
	if err != nil {
		panic("fakeazure: " + err.Error())
	}
	return g
}

// defaultBranchLocked is the short name of the default branch, "" while the
// repository is empty (Azure reports no defaultBranch then).
func (r *Repo) defaultBranchLocked() string {
	if r.git == nil {
		return r.initialBranch
	}
	head := headBranch(r.git.Dir)
	if refs, err := readRefs(r.git.Dir); err != nil || refs["refs/heads/"+head] == "" {
		return ""
	}
	return head
}

// refsLocked returns every branch and tag: full name -> commit.
func (r *Repo) refsLocked() (map[string]string, error) {
	g, err := r.gitLocked()
	if err != nil {
		return nil, err
	}
	return readRefs(g.Dir)
}

// applyLocked makes one ref update of the refs API and returns its
// updateStatus; err is for a repository that cannot be read.
func (r *Repo) applyLocked(u refUpdate) (string, error) {
	if !validRefName(u.Name) {
		return "invalidRefName", nil
	}
	if r.locked[u.Name] {
		return "locked", nil
	}
	g, err := r.gitLocked()
	if err != nil {
		return "", err
	}
	refs, err := readRefs(g.Dir)
	if err != nil {
		return "", err
	}
	oldID, newID := strings.ToLower(u.OldObjectID), strings.ToLower(u.NewObjectID)
	current, exists := refs[u.Name]
	old := oldID
	if old == zeroSHA {
		old = ""
	}
	switch {
	case newID == zeroSHA && (!exists || current != oldID):
		return "staleOldObjectId", nil
	case newID == zeroSHA:
		return updateStatus(g.UpdateRef(u.Name, "", old))
	case oldID == zeroSHA && exists:
		return "staleOldObjectId", nil
	case oldID == zeroSHA && conflicts(refs, u.Name):
		return "refNameConflict", nil
	case !isCommit(g, newID):
		return "unresolvableToCommit", nil
	case oldID != zeroSHA && (!exists || current != oldID):
		return "staleOldObjectId", nil
	}
	return updateStatus(g.UpdateRef(u.Name, newID, old))
}

func updateStatus(err error) (string, error) {
	switch {
	case err == nil:
		return "succeeded", nil
	case errors.Is(err, fakegit.ErrStale):
		return "staleOldObjectId", nil
	}
	return "", err
}

// isCommit reports whether sha is the full id of a commit of g.
func isCommit(g *fakegit.Repo, sha string) bool {
	if !isSHA(sha) {
		return false
	}
	switch looseKind(g.Dir, sha) {
	case "commit":
		return true
	case "":
		got, ok := g.Resolve(sha) // packed, or absent
		return ok && got == sha
	}
	return false
}

func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// conflicts reports whether a new ref name clashes with an existing one:
// Azure compares ref names without case, and git cannot hold both a/b and a.
func conflicts(refs map[string]string, name string) bool {
	lower := strings.ToLower(name)
	for existing := range refs {
		e := strings.ToLower(existing)
		if e == lower || strings.HasPrefix(e, lower+"/") || strings.HasPrefix(lower, e+"/") {
			return true
		}
	}
	return false
}

// Push adds a commit with message on branch and moves the branch to it, as
// a push of one new commit does, and returns the commit. A new branch starts
// at the default branch's head; the first branch pushed to an empty
// repository becomes its default branch, as on Azure.
func (r *Repo) Push(branch, message string) (string, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	ref := "refs/heads/" + branch
	if !validRefName(ref) {
		return "", fmt.Errorf("fakeazure: %q is not a valid branch name", branch)
	}
	g, err := r.gitLocked()
	if err != nil {
		return "", err
	}
	refs, err := readRefs(g.Dir)
	if err != nil {
		return "", err
	}
	old, exists := refs[ref]
	head, headExists := refs["refs/heads/"+headBranch(g.Dir)]
	parent := old
	if !exists {
		parent = head
	}
	sha, err := writeCommit(g.Dir, parent, message, r.s.commitTimeLocked())
	if err != nil {
		return "", err
	}
	if err := g.UpdateRef(ref, sha, old); err != nil {
		return "", err
	}
	if !headExists {
		if err := g.SetHead(branch); err != nil {
			return "", err
		}
	}
	return sha, nil
}

// AddBranch adds a commit on a branch (created at the default branch's head
// when new) and returns it. It panics when git fails: a test helper.
func (r *Repo) AddBranch(name string) string {
	sha, err := r.Push(name, "Add a change\n")
	if err != nil {
		panic("fakeazure: " + err.Error())
	}
	return sha
}

// DeleteBranch deletes a branch, as a push deleting it does.
func (r *Repo) DeleteBranch(name string) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	g, err := r.gitLocked()
	if err != nil {
		return err
	}
	ref := "refs/heads/" + name
	refs, err := readRefs(g.Dir)
	if err != nil {
		return err
	}
	old, ok := refs[ref]
	if !ok {
		return fmt.Errorf("fakeazure: %s/%s has no branch %q", r.Project, r.Name, name)
	}
	return g.UpdateRef(ref, "", old)
}

// Tag makes a lightweight tag name at commit sha.
func (r *Repo) Tag(name, sha string) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	g, err := r.gitLocked()
	if err != nil {
		return err
	}
	if !isCommit(g, strings.ToLower(sha)) {
		return fmt.Errorf("fakeazure: %s/%s has no commit %q", r.Project, r.Name, sha)
	}
	return g.UpdateRef("refs/tags/"+name, strings.ToLower(sha), "")
}

// SetDisabled marks the repository disabled, as an administrator can.
func (r *Repo) SetDisabled(on bool) {
	r.s.mu.Lock()
	r.disabled = on
	r.s.mu.Unlock()
}

// Branch returns the commit of a branch by short name.
func (r *Repo) Branch(name string) (string, bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	refs, err := r.refsLocked()
	sha, ok := refs["refs/heads/"+name]
	return sha, err == nil && ok
}

// WebURL is the repository's web address as the API reports it.
func (r *Repo) WebURL() string {
	return r.s.URL() + "/" + url.PathEscape(r.Project) + "/_git/" + url.PathEscape(r.Name)
}

// remoteURL is the clone URL as the API reports it: dev.azure.com puts the
// organisation in the user info; the other layouts clone at the web address.
func (r *Repo) remoteURL() string {
	if r.s.layout == DevAzure {
		return strings.Replace(r.WebURL(), "://", "://"+url.PathEscape(r.s.org)+"@", 1)
	}
	return r.WebURL()
}

// gitRoute splits a path below the collection that git asks for:
// /{project}/_git/{repository}/{info/refs|git-upload-pack|…}.
func gitRoute(rest string) (project, repo, path string, ok bool) {
	segs := strings.SplitN(strings.TrimPrefix(rest, "/"), "/", 4)
	if len(segs) < 4 || segs[0] == "" || !strings.EqualFold(segs[1], "_git") || segs[2] == "" {
		return "", "", "", false
	}
	return segs[0], segs[2], "/" + segs[3], true
}

// serveGit answers git's smart HTTP requests as Azure Repos does: Basic auth
// whose password is a PAT with a Code scope (any user name), then the
// repository served by git itself. Only fetching is served.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request, project, name, path string) {
	_, pat, hasAuth := r.BasicAuth()
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Token: pat})
	tok, known := s.tokens[pat]
	var repo *Repo
	if pname, ok := s.projectName(project); ok {
		repo = s.findRepo(pname, name)
	}
	failing, throttled := s.failing, s.rateLimited
	found := repo != nil && !repo.disabled
	var g *fakegit.Repo
	var err error
	if found {
		g, err = repo.gitLocked()
	}
	s.mu.Unlock()

	switch {
	case failing:
		http.Error(w, "TF246017: The service could not connect to its database. Try again later.", http.StatusInternalServerError)
	case !hasAuth || !known || tok.Expired:
		s.gitUnauthorized(w, "TF400813: Resource not available for anonymous access. Client authentication required.")
	case tok.NoCodeScope:
		s.gitUnauthorized(w, fmt.Sprintf("TF400813: The user '%s' is not authorized to access this resource.", userID(pat, tok)))
	case throttled:
		s.throttle(w)
	case !found:
		http.Error(w, fmt.Sprintf("TF401019: The Git repository with name or identifier %s does not exist or you do not have permissions for the operation you are attempting.", name), http.StatusNotFound)
	case err != nil:
		http.Error(w, "The repository could not be read: "+err.Error(), http.StatusInternalServerError)
	default:
		g.Serve(w, r, path)
	}
}

// gitUnauthorized is Azure's 401 to git: every scheme it takes, the realm
// being the service (Services) or the server's virtual directory (TFS).
func (s *Server) gitUnauthorized(w http.ResponseWriter, message string) {
	h := w.Header()
	h.Add("WWW-Authenticate", "Bearer")
	if s.layout == OnPremises {
		h.Add("WWW-Authenticate", `Basic realm="`+s.srv.URL+`/tfs"`)
		h.Add("WWW-Authenticate", "Negotiate")
		h.Add("WWW-Authenticate", "NTLM")
	} else {
		h.Add("WWW-Authenticate", `Basic realm="`+s.srv.URL+`/"`)
		h.Add("WWW-Authenticate", "TFS-Federated")
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	io.WriteString(w, message)
}
