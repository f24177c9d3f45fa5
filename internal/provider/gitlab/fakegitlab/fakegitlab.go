// Package fakegitlab is an in-memory GitLab REST API (v4) for tests: the
// endpoints forgebridge's GitLab driver calls, answering with GitLab's JSON
// shapes, status codes, pagination and rate-limit headers, and checking what
// GitLab checks (token, scope, expiry, revocation, role, project visibility).
package fakegitlab

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
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
	Token   string // the token that made the call, empty when none was sent
	Body    []byte
}

// Server is a fake GitLab. All methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu            sync.Mutex
	tokens        map[string]*tokenState
	userIDs       map[string]int
	projects      []*Project // in creation order, ids ascending
	nextProjectID int
	nextMRID      int
	nextTokenID   int
	commitSeq     int
	rateLimited   bool
	failStatus    int
	calls         []Call
}

type tokenState struct {
	Token
	id int
}

// New starts a fake GitLab; Close stops it.
func New() *Server {
	s := &Server{
		tokens:        map[string]*tokenState{},
		userIDs:       map[string]int{},
		nextProjectID: 100,
		nextMRID:      5000,
		nextTokenID:   1,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the web root of the fake (what an integration's BaseURL holds); the
// API is at URL()+"/api/v4".
func (s *Server) URL() string { return s.srv.URL }

// Client is an HTTP client that reaches the fake.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AddToken makes token a personal access token of t.Username.
func (s *Server) AddToken(token string, t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.userIDs[t.Username]; !ok {
		s.userIDs[t.Username] = len(s.userIDs) + 1
	}
	s.tokens[token] = &tokenState{Token: t, id: s.nextTokenID}
	s.nextTokenID++
}

// AddProject adds a private project at fullPath ("group/sub/name"). Every
// user is a Developer of it unless SetAccess says otherwise. With an empty
// defaultBranch the project has an empty repository (no branches, no
// default_branch); otherwise the default branch holds one commit.
func (s *Server) AddProject(fullPath, defaultBranch string) *Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &Project{
		s:             s,
		ID:            s.nextProjectID,
		FullPath:      fullPath,
		defaultBranch: defaultBranch,
		branches:      map[string]string{},
		commits:       map[string]bool{},
		access:        map[string]int{},
	}
	s.nextProjectID++
	if defaultBranch != "" {
		sha := s.newCommitLocked(fullPath)
		p.branches[defaultBranch] = sha
		p.commits[sha] = true
	}
	s.projects = append(s.projects, p)
	return p
}

// SetRateLimited makes every API request answer 429 with Retry-After and
// RateLimit-* headers, as GitLab's throttle does, until turned off.
func (s *Server) SetRateLimited(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited = on
}

// SetFailing makes every API request answer 500 Internal Server Error until turned off.
func (s *Server) SetFailing(on bool) {
	if on {
		s.SetFailingStatus(http.StatusInternalServerError)
	} else {
		s.SetFailingStatus(0)
	}
}

// SetFailingStatus makes every API request answer with status (for example
// 502, as GitLab's proxy does when the application is down); 0 ends it.
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

func (s *Server) newCommitLocked(seed string) string {
	s.commitSeq++
	sum := sha1.Sum(fmt.Appendf(nil, "%s/%d", seed, s.commitSeq))
	return hex.EncodeToString(sum[:])
}

// Project is a project of the fake.
type Project struct {
	s        *Server
	ID       int    // read-only
	FullPath string // read-only

	// Guarded by s.mu.
	defaultBranch string
	archived      bool
	mrsDisabled   bool
	branches      map[string]string // name → head sha
	commits       map[string]bool
	access        map[string]int // username → access level; absent: Developer
	mrs           []*mergeRequest
	nextIID       int
}

type mergeRequest struct {
	id, iid     int
	title       string
	description string
	source      string
	target      string
	state       string
	author      string
	createdAt   time.Time
	sha         string
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
}

// AddBranch adds a branch with one commit that the default branch lacks and
// returns its head sha. On an empty project the branch holds the first commit.
func (p *Project) AddBranch(name string) string {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	sha := p.s.newCommitLocked(p.FullPath + ":" + name)
	p.branches[name] = sha
	p.commits[sha] = true
	return sha
}

// BranchSHA returns the head of a branch and whether it exists.
func (p *Project) BranchSHA(name string) (string, bool) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	sha, ok := p.branches[name]
	return sha, ok
}

// SetAccess gives username an access level on the project (NoAccess hides
// the project from them, Reporter lets them read but not push).
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
			SourceBranch: m.source, TargetBranch: m.target, State: m.state, Draft: isDraftTitle(m.title), Author: m.author})
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
