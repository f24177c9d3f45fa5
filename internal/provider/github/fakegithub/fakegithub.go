// Package fakegithub is an in-memory GitHub REST API for tests: the endpoints
// forgebridge uses (user, repository lists, branches, git refs, pull
// requests), answered with GitHub's payload shapes, status codes, headers and
// error bodies, for both the github.com layout (paths at the root) and the
// Enterprise Server layout (paths under /api/v3).
//
// It checks what GitHub checks (credentials, User-Agent, Accept, API version,
// request bodies, scopes and permissions) and rejects the rest the way GitHub
// does, so a driver that passes against it has met GitHub's rules, not the
// fake's good will. Every request is recorded with the token that made it.
package fakegithub

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

// Token describes one credential the fake accepts.
type Token struct {
	// Login is the user the token belongs to; users are created on first use.
	Login string
	// Scopes are the OAuth scopes of a classic token, sent back in the
	// X-OAuth-Scopes header. Nil makes a fine-grained token: no such header.
	Scopes []string
	// ExpiresAt, when set, is sent in the github-authentication-token-expiration
	// header; once it has passed the token answers 401 like an expired one.
	ExpiresAt *time.Time
	// Expired makes every request with the token answer 401 Bad credentials.
	Expired bool
	// ReadOnly makes every write fail the way GitHub fails a token that may
	// read but not write: a fine-grained token gets 403 "Resource not
	// accessible by personal access token" with X-Accepted-GitHub-Permissions
	// (contents=write for refs, pull_requests=write for pull requests); a
	// classic token gets 404 Not Found, which is what GitHub answers a classic
	// token lacking the repo scope. A classic token whose Scopes hold neither
	// repo nor public_repo is treated as ReadOnly.
	ReadOnly bool
	// SSOOrgs are organisations enforcing SAML single sign-on for which the
	// token is not authorised: requests for their repositories answer 403
	// with an X-GitHub-SSO header naming the authorisation URL.
	SSOOrgs []string
}

// Call is one request the fake received.
type Call struct {
	Method string
	// Path is the API path without the Enterprise /api/v3 prefix, unescaped
	// ("/repos/acme/app/git/ref/heads/feature/x").
	Path string
	// Query is the raw query string.
	Query string
	// Token is the credential presented (Bearer, token or Basic password),
	// known or not; empty when none was sent.
	Token string
	Body  []byte
	// Status is the HTTP status the fake answered.
	Status int
}

// Server is a fake GitHub. It is safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu              sync.Mutex
	tokens          map[string]Token
	users           map[string]int64 // login → id
	repos           map[string]*Repo // lower-case full name → repo
	nextID          int64
	commitSeq       int
	used            map[string]int // requests per login in the current window
	windowReset     time.Time
	rateLimited     bool
	secondaryLimits bool
	failing         bool
	calls           []Call
}

// Repo is one repository of the fake. Its methods change the fake's state
// under the server's lock.
type Repo struct {
	s             *Server
	id            int64
	owner, name   string
	defaultBranch string
	archived      bool
	created       time.Time
	refs          map[string]string // full ref name → commit sha
	parent        map[string]string // commit sha → parent sha ("" for a root)
	pulls         []*pull
}

type pull struct {
	id       int64
	number   int
	title    string
	body     string
	draft    bool
	head     string
	base     string
	headSHA  string
	baseSHA  string
	author   string
	state    string
	created  time.Time
	htmlURL  string
	apiBase  string
	repoJSON map[string]any
}

// PullRequest is a snapshot of a pull request opened on the fake.
type PullRequest struct {
	ID     int64
	Number int
	Title  string
	Body   string
	Draft  bool
	Head   string // branch name
	Base   string // branch name
	Author string // login of the token that opened it
	State  string
	WebURL string
}

// New starts a fake GitHub with no tokens and no repositories. Close it when done.
func New() *Server {
	s := &Server{
		tokens:      map[string]Token{},
		users:       map[string]int64{},
		repos:       map[string]*Repo{},
		used:        map[string]int{},
		nextID:      1000,
		windowReset: time.Now().Add(time.Hour).Truncate(time.Second),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// URL is the github.com-style API base: the root of the server, no trailing slash.
func (s *Server) URL() string { return s.srv.URL }

// EnterpriseURL is the web address of the fake as an Enterprise Server; its
// API is under EnterpriseURL()+"/api/v3". (It is the same root as URL: the
// fake serves both layouts.)
func (s *Server) EnterpriseURL() string { return s.srv.URL }

// Client returns an HTTP client that reaches the fake.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AddToken makes the fake accept token with the given properties, replacing
// any earlier definition.
func (s *Server) AddToken(token string, t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = t
	s.userID(t.Login)
}

// AddRepo creates a public repository with one commit on defaultBranch. Every
// token can see it. fullName is "owner/name".
func (s *Server) AddRepo(fullName, defaultBranch string) *Repo {
	r := s.newRepo(fullName, defaultBranch)
	s.mu.Lock()
	defer s.mu.Unlock()
	sha := s.newCommit(r, "")
	r.refs["refs/heads/"+defaultBranch] = sha
	return r
}

// AddEmptyRepo creates a repository without any commit, as GitHub has right
// after "create repository" without a README: git ref reads answer 409
// "Git Repository is empty.".
func (s *Server) AddEmptyRepo(fullName string) *Repo {
	return s.newRepo(fullName, "main")
}

func (s *Server) newRepo(fullName, defaultBranch string) *Repo {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		panic("fakegithub: repository name must be owner/name, got " + fullName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(fullName)
	if _, dup := s.repos[key]; dup {
		panic("fakegithub: repository already exists: " + fullName)
	}
	s.nextID++
	r := &Repo{s: s, id: s.nextID, owner: owner, name: name, defaultBranch: defaultBranch,
		created: time.Now().UTC().Truncate(time.Second),
		refs:    map[string]string{}, parent: map[string]string{}}
	s.repos[key] = r
	s.userID(owner)
	return r
}

// Repo returns the repository named fullName, or nil.
func (s *Server) Repo(fullName string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repos[strings.ToLower(fullName)]
}

// FullName is "owner/name".
func (r *Repo) FullName() string { return r.owner + "/" + r.name }

// ID is GitHub's numeric id of the repository.
func (r *Repo) ID() int64 { return r.id }

// AddBranch creates name with a new commit on top of the default branch, so
// that it is ahead of it, and returns the commit's sha.
func (r *Repo) AddBranch(name string) string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	base := r.refs["refs/heads/"+r.defaultBranch]
	sha := r.s.newCommit(r, base)
	r.refs["refs/heads/"+name] = sha
	return sha
}

// SetArchived archives the repository (read-only: writes answer 403) or unarchives it.
func (r *Repo) SetArchived(on bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.archived = on
}

// Branch returns the sha of branch name and whether it exists.
func (r *Repo) Branch(name string) (string, bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	sha, ok := r.refs["refs/heads/"+name]
	return sha, ok
}

// Branches returns the names of the repository's branches, sorted.
func (r *Repo) Branches() []string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.branchNames()
}

// PullRequests returns the pull requests opened on the repository, oldest first.
func (r *Repo) PullRequests() []PullRequest {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	out := make([]PullRequest, 0, len(r.pulls))
	for _, p := range r.pulls {
		out = append(out, PullRequest{ID: p.id, Number: p.number, Title: p.title, Body: p.body,
			Draft: p.draft, Head: p.head, Base: p.base, Author: p.author, State: p.state, WebURL: p.htmlURL})
	}
	return out
}

// SetRateLimited switches the primary rate limit on or off: while on, every
// authenticated request answers 403 with X-RateLimit-Remaining: 0, a reset
// 60 seconds ahead and GitHub's "API rate limit exceeded for user ID …" body.
func (s *Server) SetRateLimited(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited = on
}

// SetSecondaryRateLimited switches the secondary rate limit on or off: while
// on, every authenticated request answers 403 with Retry-After: 30 and
// GitHub's "You have exceeded a secondary rate limit" body.
func (s *Server) SetSecondaryRateLimited(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secondaryLimits = on
}

// SetFailing switches an outage on or off: while on, reads (GET, HEAD) answer
// 503 with GitHub's HTML "unicorn" page and writes answer 500 with a JSON
// "Server Error" body, before any other check.
func (s *Server) SetFailing(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = on
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallCount is len(Calls()).
func (s *Server) CallCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// userID returns the id of login, creating the user. Callers hold s.mu.
func (s *Server) userID(login string) int64 {
	if id, ok := s.users[strings.ToLower(login)]; ok {
		return id
	}
	s.nextID++
	s.users[strings.ToLower(login)] = s.nextID
	return s.nextID
}

// newCommit records a commit with the given parent and returns its 40-hex
// sha. Callers hold s.mu.
func (s *Server) newCommit(r *Repo, parent string) string {
	s.commitSeq++
	sum := sha1.Sum(fmt.Appendf(nil, "%s#%d#%s", r.FullName(), s.commitSeq, parent))
	sha := hex.EncodeToString(sum[:])
	r.parent[sha] = parent
	return sha
}

// ahead reports whether commit head has commits that base lacks, i.e. head is
// not base and not one of base's ancestors. Callers hold s.mu.
func (r *Repo) ahead(head, base string) bool {
	for c := base; c != ""; c = r.parent[c] {
		if c == head {
			return false
		}
	}
	return true
}

// branchNames lists branch names sorted. Callers hold s.mu.
func (r *Repo) branchNames() []string {
	var names []string
	for ref := range r.refs {
		if name, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
