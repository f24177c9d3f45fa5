// Package fakegitlab is a GitLab for tests: the REST API (v4) endpoints
// forgebridge's GitLab driver calls, answering with GitLab's JSON shapes,
// status codes, pagination and rate-limit headers, and git's smart HTTP
// protocol behind GitLab's git authentication. It checks what GitLab checks
// (token, scope, expiry, revocation, role, project visibility). Every project
// is backed by a real bare git repository (fakegit), the one source of truth
// for its branches, tags and commits; it also builds webhook deliveries as
// GitLab sends them.
package fakegitlab

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// Access levels of a project member, as GitLab numbers them.
const (
	NoAccess   = 0
	Guest      = 10
	Reporter   = 20
	Developer  = 30
	Maintainer = 40
	Owner      = 50
)

// helperUser is who the test helpers act as (OpenPull, Push, deliveries):
// GitLab's first administrator.
const helperUser = "root"

// Token describes a personal access token the fake accepts.
type Token struct {
	Username string
	// Scopes of the token; empty means ["api"].
	Scopes []string
	// ExpiresAt is the token's expiry date; a date in the past makes it expired.
	ExpiresAt *time.Time
	Expired   bool
	Revoked   bool
	// ReadOnly replaces the scopes with ["read_api"]: reads work, writes get 403 insufficient_scope.
	ReadOnly bool
	// Legacy simulates a server older than GitLab 15.5, which has no
	// /personal_access_tokens/self endpoint (it answers 404).
	Legacy bool
}

// Call is one request the fake received.
type Call struct {
	Method string
	Path   string // decoded path, e.g. /api/v4/projects/group/sub/proj/repository/branches
	// RawPath is the path exactly as it was sent, e.g. /api/v4/projects/group%2Fsub%2Fproj/repository/branches.
	RawPath string
	Query   string // the raw query string
	// Token is the token that made the call, empty when none was sent; for
	// a git request, the password of its Basic authorization.
	Token string
	Body  []byte // nil for git requests
	Git   bool   // a git smart HTTP request (info/refs, git-upload-pack, git-receive-pack)
}

// Server is a fake GitLab. All methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server
	dir string // the projects' bare repositories; removed by Close

	mu            sync.Mutex
	tokens        map[string]*tokenState
	userIDs       map[string]int
	projects      []*Project // in creation order, ids ascending
	nextProjectID int
	nextMRID      int
	nextTokenID   int
	clock         time.Time // the last time handed out by now
	commitCache   map[string]commit
	ancestorCache map[[2]string]bool
	rateLimited   bool
	failStatus    int
	calls         []Call
}

type tokenState struct {
	Token
	id int
}

// New starts a fake GitLab; Close stops it and removes its repositories.
func New() *Server {
	dir, err := os.MkdirTemp("", "fakegitlab-")
	if err != nil {
		panic("fakegitlab: " + err.Error())
	}
	s := &Server{
		dir:           dir,
		tokens:        map[string]*tokenState{},
		userIDs:       map[string]int{},
		nextProjectID: 100,
		nextMRID:      5000,
		nextTokenID:   1,
		commitCache:   map[string]commit{},
		ancestorCache: map[[2]string]bool{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server and removes the projects' repositories.
func (s *Server) Close() {
	s.srv.Close()
	os.RemoveAll(s.dir)
}

// URL is the web root of the fake (what an integration's BaseURL holds); the
// API is at URL()+"/api/v4" and a project's git repository at
// URL()+"/"+FullPath+".git".
func (s *Server) URL() string { return s.srv.URL }

// Client is an HTTP client that reaches the fake.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AddToken makes token a personal access token of t.Username.
func (s *Server) AddToken(token string, t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userIDLocked(t.Username)
	s.tokens[token] = &tokenState{Token: t, id: s.nextTokenID}
	s.nextTokenID++
}

func (s *Server) userIDLocked(username string) int {
	id, ok := s.userIDs[username]
	if !ok {
		id = len(s.userIDs) + 1
		s.userIDs[username] = id
	}
	return id
}

// now is the server's clock: the wall clock, but strictly increasing, so
// that updated_at orders every change.
func (s *Server) now() time.Time {
	t := time.Now().UTC().Truncate(time.Millisecond)
	if !t.After(s.clock) {
		t = s.clock.Add(time.Millisecond)
	}
	s.clock = t
	return t
}

// Advance moves the fake's clock d forward: what changes next is that much
// later (updated_at), without a test having to wait.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = s.now().Add(d)
}

// AddProject adds a private project at fullPath ("group/sub/name"). Every
// user is a Developer of it unless SetAccess says otherwise. With an empty
// defaultBranch the project has an empty repository (no branches, no
// default_branch); otherwise the default branch holds one commit. The git
// repository is made when first used, so that tests with hundreds of
// projects stay fast; until then it is exactly that state.
func (s *Server) AddProject(fullPath, defaultBranch string) *Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &Project{
		s:             s,
		ID:            s.nextProjectID,
		FullPath:      fullPath,
		defaultBranch: defaultBranch,
		access:        map[string]int{},
	}
	s.nextProjectID++
	s.projects = append(s.projects, p)
	return p
}

// SetRateLimited makes every API and git request answer 429 with
// Retry-After and RateLimit-* headers, as GitLab's throttle does, until
// turned off.
func (s *Server) SetRateLimited(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited = on
}

// SetFailing makes every API and git request answer 500 Internal Server
// Error until turned off.
func (s *Server) SetFailing(on bool) {
	if on {
		s.SetFailingStatus(http.StatusInternalServerError)
	} else {
		s.SetFailingStatus(0)
	}
}

// SetFailingStatus makes every API and git request answer with status (for
// example 502, as GitLab's proxy does when the application is down); 0 ends it.
func (s *Server) SetFailingStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus = status
}

// Calls returns the requests received so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// ResetCalls forgets the recorded requests.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// Project is a project of the fake.
type Project struct {
	s        *Server
	ID       int    // read-only
	FullPath string // read-only

	// Guarded by s.mu.
	repo          *fakegit.Repo // nil until first used; see gitLocked
	defaultBranch string
	archived      bool
	mrsDisabled   bool
	access        map[string]int // username → access level; absent: Developer
	mrs           []*mergeRequest
	nextIID       int
	protected     map[string]bool // branches only a Maintainer could delete, and not through the API
}

type mergeRequest struct {
	id, iid     int
	title       string
	description string
	source      string
	target      string
	state       string // opened, closed, locked or merged
	author      string
	createdAt   time.Time
	updatedAt   time.Time
	mergedAt    *time.Time
	closedAt    *time.Time
	sha         string // the source branch's head when last seen
	mergeCommit string
}

// MergeRequest is a merge request as the fake holds it.
type MergeRequest struct {
	ID, IID      int
	Title        string
	Description  string
	SourceBranch string
	TargetBranch string
	State        string
	Draft        bool
	Author       string
	UpdatedAt    time.Time
}

// gitLocked returns the project's repository, making it on first use.
func (p *Project) gitLocked() (*fakegit.Repo, error) {
	if p.repo != nil {
		return p.repo, nil
	}
	head := p.defaultBranch
	if head == "" {
		head = "main" // GitLab's default for new projects
	}
	r, err := fakegit.New(filepath.Join(p.s.dir, strconv.Itoa(p.ID)+".git"), head)
	if err != nil {
		return nil, err
	}
	if p.defaultBranch != "" {
		sha, err := r.CommitOn("", []byte("Initial commit\n"), fakegit.Author{})
		if err == nil {
			err = r.UpdateRef("refs/heads/"+p.defaultBranch, sha, "")
		}
		if err != nil {
			return nil, err
		}
	}
	p.repo = r
	return r, nil
}

// mustGitLocked is gitLocked for helpers that cannot return an error: git
// failing here means the test machine cannot run the fake at all.
func (p *Project) mustGitLocked() *fakegit.Repo {
	r, err := p.gitLocked()
	if err != nil {
		panic("fakegitlab: " + err.Error())
	}
	return r
}

// Git returns the project's bare repository.
func (p *Project) Git() *fakegit.Repo {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.mustGitLocked()
}

// headsLocked returns the project's branches: short name → head.
func (p *Project) headsLocked() (map[string]string, error) {
	if p.repo == nil && p.defaultBranch == "" {
		return map[string]string{}, nil
	}
	r, err := p.gitLocked()
	if err != nil {
		return nil, err
	}
	refs, err := readRefs(r.Dir)
	if err != nil {
		return nil, err
	}
	heads := map[string]string{}
	for ref, sha := range refs {
		if name, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			heads[name] = sha
		}
	}
	return heads, nil
}

// AddBranch adds a branch with one commit on top of the default branch (a
// commit the default branch lacks) and returns its head; an existing branch
// is moved there. On an empty project the branch holds the first commit and
// becomes the default branch, as a first push does on GitLab.
func (p *Project) AddBranch(name string) string {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	r := p.mustGitLocked()
	heads, err := p.headsLocked()
	sha := ""
	if err == nil {
		sha, err = r.CommitOn(heads[p.defaultBranch], []byte("Add "+name+"\n"), fakegit.Author{})
	}
	if err == nil {
		err = r.UpdateRef("refs/heads/"+name, sha, heads[name])
	}
	if err == nil {
		err = p.adoptDefaultLocked(name)
	}
	if err != nil {
		panic("fakegitlab: " + err.Error())
	}
	return sha
}

// adoptDefaultLocked makes branch the default branch of a project that has none.
func (p *Project) adoptDefaultLocked(branch string) error {
	if p.defaultBranch != "" {
		return nil
	}
	p.defaultBranch = branch
	return p.repo.SetHead(branch)
}

// Push adds a commit with message on branch, as a person's git push would,
// and returns it. A new branch starts from the default branch. Open merge
// requests from the branch are updated (updated_at), as GitLab updates them
// on a push to their source branch.
func (p *Project) Push(branch, message string) (string, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	r, err := p.gitLocked()
	if err != nil {
		return "", err
	}
	if !validBranchName(branch) {
		return "", fmt.Errorf("fakegitlab: %q is not a valid branch name", branch)
	}
	heads, err := p.headsLocked()
	if err != nil {
		return "", err
	}
	old, exists := heads[branch]
	parent := old
	if !exists {
		parent = heads[p.defaultBranch]
	}
	sha, err := r.CommitOn(parent, []byte(message), fakegit.Author{})
	if err != nil {
		return "", err
	}
	if err := r.UpdateRef("refs/heads/"+branch, sha, old); err != nil {
		return "", err
	}
	if err := p.adoptDefaultLocked(branch); err != nil {
		return "", err
	}
	for _, m := range p.mrs {
		if m.source == branch && (m.state == "opened" || m.state == "locked") {
			m.sha = sha
			m.updatedAt = p.s.now()
		}
	}
	return sha, nil
}

// DeleteBranch deletes a branch. GitLab refuses to delete the default branch.
func (p *Project) DeleteBranch(name string) error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	r, err := p.gitLocked()
	if err != nil {
		return err
	}
	if name == p.defaultBranch {
		return fmt.Errorf("fakegitlab: %s is the default branch of %s and cannot be deleted", name, p.FullPath)
	}
	heads, err := p.headsLocked()
	if err != nil {
		return err
	}
	old, ok := heads[name]
	if !ok {
		return fmt.Errorf("fakegitlab: %s has no branch %s", p.FullPath, name)
	}
	return r.UpdateRef("refs/heads/"+name, "", old)
}

// Tag adds a lightweight tag name at sha (a commit id or a branch name).
func (p *Project) Tag(name, sha string) error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	r, err := p.gitLocked()
	if err != nil {
		return err
	}
	target, ok := p.resolveLocked(r, sha)
	if !ok {
		return fmt.Errorf("fakegitlab: %s has no commit or branch %q", p.FullPath, sha)
	}
	if !validBranchName(name) {
		return fmt.Errorf("fakegitlab: %q is not a valid tag name", name)
	}
	if err := r.UpdateRef("refs/tags/"+name, target, ""); errors.Is(err, fakegit.ErrStale) {
		return fmt.Errorf("fakegitlab: tag %s already exists", name)
	} else if err != nil {
		return err
	}
	return nil
}

// resolveLocked finds the commit a ref parameter names as GitLab reads one:
// a branch, a tag or a commit id.
func (p *Project) resolveLocked(r *fakegit.Repo, ref string) (string, bool) {
	refs, err := readRefs(r.Dir)
	if err != nil {
		return "", false
	}
	if sha, ok := refs["refs/heads/"+ref]; ok {
		return sha, true
	}
	if _, ok := refs["refs/tags/"+ref]; ok {
		return r.Resolve("refs/tags/" + ref) // peeled
	}
	if isHex(ref) && len(ref) >= 7 && len(ref) <= 40 {
		return r.Resolve(ref)
	}
	return "", false
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// OpenPull opens a merge request from source into target as the fake's
// administrator and returns its iid; draft marks it as GitLab does, with a
// "Draft: " title. It refuses what the API refuses.
func (p *Project) OpenPull(source, target, title, description string, draft bool) (int, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if draft && !isDraftTitle(title) {
		title = "Draft: " + title
	}
	m, refusal := p.openLocked(helperUser, source, target, title, description)
	if refusal != nil {
		return 0, fmt.Errorf("fakegitlab: %d %v", refusal.status, refusal.body)
	}
	return m.iid, nil
}

// SetPullState moves a merge request to state ("opened", "closed",
// "merged", or the transitional "locked"), as its page's buttons do:
// merging makes a merge commit of the source branch on the target branch
// (GitLab's default merge method); a merged merge request cannot change
// again. updated_at changes.
func (p *Project) SetPullState(iid int, state string) error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	m := p.mrLocked(iid)
	if m == nil {
		return fmt.Errorf("fakegitlab: %s has no merge request !%d", p.FullPath, iid)
	}
	if m.state == "merged" {
		return fmt.Errorf("fakegitlab: !%d is merged", iid)
	}
	now := p.s.now()
	switch state {
	case "opened":
		m.closedAt = nil
	case "closed":
		m.closedAt = &now
	case "locked":
		if m.state != "opened" {
			return fmt.Errorf("fakegitlab: only an open merge request can be locked")
		}
	case "merged":
		if err := p.mergeLocked(m, now); err != nil {
			return err
		}
		m.mergedAt = &now
	default:
		return fmt.Errorf("fakegitlab: unknown merge request state %q", state)
	}
	m.state = state
	m.updatedAt = now
	return nil
}

// mergeLocked writes the merge commit of m's source branch on its target branch.
func (p *Project) mergeLocked(m *mergeRequest, when time.Time) error {
	r, err := p.gitLocked()
	if err != nil {
		return err
	}
	heads, err := p.headsLocked()
	if err != nil {
		return err
	}
	src, ok := heads[m.source]
	if !ok {
		return fmt.Errorf("fakegitlab: the source branch %s is gone", m.source)
	}
	dst, ok := heads[m.target]
	if !ok {
		return fmt.Errorf("fakegitlab: the target branch %s is gone", m.target)
	}
	msg := fmt.Sprintf("Merge branch '%s' into '%s'\n\n%s\n\nSee merge request %s!%d\n", m.source, m.target, m.title, p.FullPath, m.iid)
	merge, err := mergeCommit(r.Dir, dst, src, msg, when)
	if err != nil {
		return err
	}
	if err := r.UpdateRef("refs/heads/"+m.target, merge, dst); err != nil {
		return err
	}
	m.sha, m.mergeCommit = src, merge
	return nil
}

func (p *Project) mrLocked(iid int) *mergeRequest {
	for _, m := range p.mrs {
		if m.iid == iid {
			return m
		}
	}
	return nil
}

// BranchSHA returns the head of a branch and whether it exists.
func (p *Project) BranchSHA(name string) (string, bool) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	heads, err := p.headsLocked()
	if err != nil {
		return "", false
	}
	sha, ok := heads[name]
	return sha, ok
}

// SetAccess gives username an access level on the project (NoAccess hides
// the project from them, Guest lets them see it but not its code, Reporter
// lets them read but not push).
func (p *Project) SetAccess(username string, level int) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	p.access[username] = level
}

// SetArchived archives the project: it stays readable, writes answer 403.
func (p *Project) SetArchived(on bool) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	p.archived = on
}

// SetMergeRequestsEnabled switches the project's merge requests feature;
// while it is off, merge request endpoints answer 403.
func (p *Project) SetMergeRequestsEnabled(on bool) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	p.mrsDisabled = !on
}

// MergeRequests returns the project's merge requests, oldest first.
func (p *Project) MergeRequests() []MergeRequest {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	out := make([]MergeRequest, 0, len(p.mrs))
	for _, m := range p.mrs {
		out = append(out, MergeRequest{ID: m.id, IID: m.iid, Title: m.title, Description: m.description,
			SourceBranch: m.source, TargetBranch: m.target, State: m.state, Draft: isDraftTitle(m.title),
			Author: m.author, UpdatedAt: m.updatedAt})
	}
	return out
}

func (p *Project) accessOf(username string) int {
	if l, ok := p.access[username]; ok {
		return l
	}
	return Developer
}

func (p *Project) name() string {
	return p.FullPath[strings.LastIndex(p.FullPath, "/")+1:]
}

func (p *Project) namespace() string {
	if i := strings.LastIndex(p.FullPath, "/"); i >= 0 {
		return p.FullPath[:i]
	}
	return ""
}

// isDraftTitle reports whether GitLab treats a title as a draft: it starts
// with "Draft:", "[Draft]" or "(Draft)", in any case.
func isDraftTitle(title string) bool {
	t := strings.ToLower(strings.TrimSpace(title))
	return strings.HasPrefix(t, "draft:") || strings.HasPrefix(t, "[draft]") || strings.HasPrefix(t, "(draft)")
}
