// Package fakegithub is a fake GitHub for tests: the REST endpoints
// forgebridge uses (user, repository lists, branches, git refs, pull
// requests), answered with GitHub's payload shapes, status codes, headers and
// error bodies, and git itself over smart HTTP, for both the github.com
// layout (API paths at the root) and the Enterprise Server layout (API under
// /api/v3, git at the web root).
//
// Every repository is a real bare git repository (fakegit), created on first
// use in a directory the server removes when closed: branches, tags and the
// "ahead" checks of pull requests are that repository's refs and history, so
// what the API says and what git fetches always agree.
//
// It checks what GitHub checks (credentials, User-Agent, Accept, API version,
// request bodies, scopes and permissions) and rejects the rest the way GitHub
// does, so a driver that passes against it has met GitHub's rules, not the
// fake's good will. Every request is recorded with the token that made it.
package fakegithub

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
	// ("/repos/acme/app/git/ref/heads/feature/x"); for git, the web path
	// ("/acme/app.git/info/refs").
	Path string
	// Query is the raw query string.
	Query string
	// Token is the credential presented (Bearer, token or Basic password),
	// known or not; empty when none was sent.
	Token string
	// Body is the request body of an API call (git's are not kept).
	Body []byte
	// Status is the HTTP status the fake answered.
	Status int
}

// Server is a fake GitHub. It is safe for concurrent use.
type Server struct {
	srv *httptest.Server
	dir string // the git repositories, one directory each

	mu              sync.Mutex
	tokens          map[string]Token
	users           map[string]int64 // login → id
	repos           map[string]*Repo // lower-case full name → repo
	nextID          int64
	clock           time.Time // the last time handed out by now
	used            map[string]int
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
	empty         bool // created without a first commit
	archived      bool
	private       bool
	collaborators []string // logins that may see a private repository
	created       time.Time
	git           *fakegit.Repo // nil until first used
	aheadOf       map[[2]string]bool
	pulls         []*pull
	protected     map[string]bool // branches under a protection rule that forbids deletion
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
	state    string // "open" or "closed"
	merged   bool
	created  time.Time
	updated  time.Time
	closedAt time.Time // zero while open
	mergedAt time.Time // zero unless merged
}

// PullRequest is a snapshot of a pull request of the fake.
type PullRequest struct {
	ID        int64
	Number    int
	Title     string
	Body      string
	Draft     bool
	Head      string // branch name
	Base      string // branch name
	Author    string // login of who opened it
	State     string // "open" or "closed", as GitHub says
	Merged    bool
	UpdatedAt time.Time
	WebURL    string
}

// New starts a fake GitHub with no tokens and no repositories. Close it when done.
func New() *Server {
	dir, err := os.MkdirTemp("", "fakegithub-")
	if err != nil {
		panic("fakegithub: " + err.Error())
	}
	s := &Server{
		dir:         dir,
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

// Close shuts the server down and removes its git repositories.
func (s *Server) Close() {
	s.srv.Close()
	os.RemoveAll(s.dir)
}

// URL is the github.com-style base: the root of the server, no trailing
// slash. The API and git are both served there.
func (s *Server) URL() string { return s.srv.URL }

// EnterpriseURL is the web address of the fake as an Enterprise Server: git
// is served there and the API under EnterpriseURL()+"/api/v3". (It is the
// same root as URL: the fake serves both layouts.)
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
	return s.newRepo(fullName, defaultBranch, false)
}

// AddEmptyRepo creates a repository without any commit, as GitHub has right
// after "create repository" without a README: git ref reads answer 409
// "Git Repository is empty.".
func (s *Server) AddEmptyRepo(fullName string) *Repo {
	return s.newRepo(fullName, "main", true)
}

func (s *Server) newRepo(fullName, defaultBranch string, empty bool) *Repo {
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
	r := &Repo{s: s, id: s.nextID, owner: owner, name: name, defaultBranch: defaultBranch, empty: empty,
		created: time.Now().UTC().Truncate(time.Second)}
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

// Git returns the repository's git repository, for tests that shape history
// themselves (authors, dates, odd messages). Refs changed there are what the
// API answers.
func (r *Repo) Git() *fakegit.Repo {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.mustGit()
}

// gitRepo creates the git repository on first use: most repositories of a
// test are only ever listed, and a git repository costs a few processes.
// Callers hold s.mu.
func (r *Repo) gitRepo() (*fakegit.Repo, error) {
	if r.git != nil {
		return r.git, nil
	}
	g, err := fakegit.New(filepath.Join(r.s.dir, strconv.FormatInt(r.id, 10)+".git"), r.defaultBranch)
	if err != nil {
		return nil, err
	}
	if !r.empty {
		if _, err := g.Commit(r.defaultBranch, []byte("Initial commit\n"), fakegit.Author{}); err != nil {
			return nil, err
		}
	}
	r.git = g
	return g, nil
}

// mustGit is gitRepo for the test helpers, which have no error to return
// for a broken git installation. Callers hold s.mu.
func (r *Repo) mustGit() *fakegit.Repo {
	g, err := r.gitRepo()
	if err != nil {
		panic("fakegithub: " + err.Error())
	}
	return g
}

// AddBranch creates name (or moves it) to a new commit on top of the
// default branch, so that it is ahead of it, and returns the commit's sha.
func (r *Repo) AddBranch(name string) string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	g := r.mustGit()
	base, _ := g.Resolve("refs/heads/" + r.defaultBranch)
	sha, err := g.CommitOn(base, []byte("Work on "+name+"\n"), fakegit.Author{})
	if err != nil {
		panic("fakegithub: " + err.Error())
	}
	old, _ := g.Resolve("refs/heads/" + name)
	if err := g.UpdateRef("refs/heads/"+name, sha, old); err != nil {
		panic("fakegithub: " + err.Error())
	}
	return sha
}

// PushFiles is Push with content: files written (path → content) or, for a
// nil content, removed, on top of the branch's tree.
func (r *Repo) PushFiles(branch, message string, files map[string][]byte) (string, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	g, err := r.gitRepo()
	if err != nil {
		return "", err
	}
	sha, err := g.CommitFiles(branch, []byte(message+"\n"), fakegit.Author{}, files)
	if err != nil {
		return "", err
	}
	return sha, r.syncPulls()
}

// Push adds a commit with message on top of branch (creating the branch,
// from no parent, when it does not exist) as a push would, and returns its
// sha.
func (r *Repo) Push(branch, message string) (string, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	g, err := r.gitRepo()
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(message, "\n") {
		message += "\n"
	}
	sha, err := g.Commit(branch, []byte(message), fakegit.Author{})
	if err != nil {
		return "", err
	}
	return sha, r.syncPulls()
}

// DeleteBranch deletes a branch, as a push deleting it would. GitHub
// refuses to delete the default branch.
func (r *Repo) DeleteBranch(name string) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if name == r.defaultBranch {
		return fmt.Errorf("fakegithub: %s is the default branch of %s", name, r.FullName())
	}
	g, err := r.gitRepo()
	if err != nil {
		return err
	}
	sha, ok := g.Resolve("refs/heads/" + name)
	if !ok {
		return fmt.Errorf("fakegithub: %s has no branch %s", r.FullName(), name)
	}
	if err := g.UpdateRef("refs/heads/"+name, "", sha); err != nil {
		return err
	}
	return r.syncPulls()
}

// syncPulls makes the open pull requests follow their head branches, as
// GitHub does after every push, however the branch moved (Push, Git(), the
// API): a moved head moves the pull request and its refs/pull/N/head and
// updates it; a deleted head closes it. Callers hold s.mu.
func (r *Repo) syncPulls() error {
	if r.git == nil || !slices.ContainsFunc(r.pulls, func(p *pull) bool { return p.state == "open" }) {
		return nil
	}
	refs, err := r.git.Refs()
	if err != nil {
		return err
	}
	for _, p := range r.pulls {
		if p.state != "open" {
			continue
		}
		switch sha, ok := refs["refs/heads/"+p.head]; {
		case !ok:
			p.state = "closed"
			p.updated = r.s.now()
			p.closedAt = p.updated
		case sha != p.headSHA:
			if err := r.git.UpdateRef(pullRef(p.number), sha, p.headSHA); err != nil {
				return err
			}
			p.headSHA = sha
			p.updated = r.s.now()
		}
	}
	return nil
}

// Tag creates the lightweight tag name at commit sha.
func (r *Repo) Tag(name, sha string) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	g, err := r.gitRepo()
	if err != nil {
		return err
	}
	if !hasCommit(g, sha) {
		return fmt.Errorf("fakegithub: %s has no commit %s", r.FullName(), sha)
	}
	if err := g.UpdateRef("refs/tags/"+name, sha, ""); err != nil {
		if errors.Is(err, fakegit.ErrStale) {
			return fmt.Errorf("fakegithub: %s already has a tag %s", r.FullName(), name)
		}
		return err
	}
	return nil
}

// SetArchived archives the repository (read-only: writes answer 403) or unarchives it.
func (r *Repo) SetArchived(on bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.archived = on
}

// SetPrivate makes the repository private (or public again). A private
// repository is seen only by its owner's tokens and its collaborators' (a
// classic token also needs the repo scope); to anyone else it does not
// exist (404, over the API and git alike).
func (r *Repo) SetPrivate(on bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.private = on
}

// AddCollaborator lets login see the repository while it is private.
func (r *Repo) AddCollaborator(login string) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.collaborators = append(r.collaborators, login)
}

// visibleTo reports whether tok may see the repository; the zero Token is
// nobody's. Callers hold s.mu.
func (r *Repo) visibleTo(tok Token) bool {
	switch {
	case !r.private:
		return true
	case tok.Login == "", tok.Scopes != nil && !slices.Contains(tok.Scopes, "repo"):
		return false
	}
	return strings.EqualFold(tok.Login, r.owner) ||
		slices.ContainsFunc(r.collaborators, func(c string) bool { return strings.EqualFold(c, tok.Login) })
}

// Branch returns the sha of branch name and whether it exists.
func (r *Repo) Branch(name string) (string, bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.mustGit().Resolve("refs/heads/" + name)
}

// Branches returns the names of the repository's branches, sorted.
func (r *Repo) Branches() []string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	refs, err := r.refs()
	if err != nil {
		panic("fakegithub: " + err.Error())
	}
	return branchNames(refs)
}

// refs returns the branches and tags. Callers hold s.mu.
func (r *Repo) refs() (map[string]string, error) {
	g, err := r.gitRepo()
	if err != nil {
		return nil, err
	}
	return g.Refs()
}

// OpenPull opens a pull request from head into base as the repository's
// owner, with GitHub's checks (both branches exist, head is ahead of base,
// no other open pull request between them), and returns its number.
func (r *Repo) OpenPull(head, base, title, body string, draft bool) (int, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	p, problems, err := r.openPull(head, base, title, body, draft, r.owner)
	if err != nil {
		return 0, err
	}
	if len(problems) > 0 {
		return 0, fmt.Errorf("fakegithub: GitHub would refuse this pull request: %v", problems)
	}
	return p.number, nil
}

// openPull opens a pull request, or returns GitHub's validation errors for
// it. Callers hold s.mu.
func (r *Repo) openPull(head, base, title, body string, draft bool, author string) (*pull, []map[string]any, error) {
	g, err := r.gitRepo()
	if err != nil {
		return nil, nil, err
	}
	refs, err := g.Refs()
	if err != nil {
		return nil, nil, err
	}
	headSHA, headOK := refs["refs/heads/"+head]
	baseSHA, baseOK := refs["refs/heads/"+base]
	var problems []map[string]any
	if !baseOK || base == "" {
		problems = append(problems, map[string]any{"resource": "PullRequest", "field": "base", "code": "invalid"})
	}
	if !headOK || head == "" {
		problems = append(problems, map[string]any{"resource": "PullRequest", "field": "head", "code": "invalid"})
	}
	if len(problems) > 0 {
		return nil, problems, nil
	}
	for _, p := range r.pulls {
		if p.state == "open" && p.head == head && p.base == base {
			return nil, []map[string]any{{"resource": "PullRequest", "code": "custom",
				"message": fmt.Sprintf("A pull request already exists for %s:%s.", r.owner, head)}}, nil
		}
	}
	if !r.ahead(headSHA, baseSHA) {
		return nil, []map[string]any{{"resource": "PullRequest", "code": "custom",
			"message": fmt.Sprintf("No commits between %s and %s", base, head)}}, nil
	}
	r.s.nextID++
	p := &pull{id: r.s.nextID, number: len(r.pulls) + 1, title: title, body: body, draft: draft,
		head: head, base: base, headSHA: headSHA, baseSHA: baseSHA, author: author, state: "open"}
	p.created = r.s.now()
	p.updated = p.created
	// GitHub keeps every pull request's head under refs/pull/N/head, which
	// a mirror fetches along with the branches.
	if err := g.UpdateRef(pullRef(p.number), headSHA, ""); err != nil {
		return nil, nil, err
	}
	r.pulls = append(r.pulls, p)
	return p, nil, nil
}

// ahead reports whether commit head has commits that base lacks. Commits
// never change, so the answer is kept. Callers hold s.mu.
func (r *Repo) ahead(head, base string) bool {
	key := [2]string{head, base}
	if v, ok := r.aheadOf[key]; ok {
		return v
	}
	v := !r.git.IsAncestor(head, base)
	if r.aheadOf == nil {
		r.aheadOf = map[[2]string]bool{}
	}
	r.aheadOf[key] = v
	return v
}

func pullRef(number int) string { return "refs/pull/" + strconv.Itoa(number) + "/head" }

// SetPullState closes ("closed"), merges ("merged") or reopens ("open") a
// pull request, as GitHub allows: only an open pull request that is not a
// draft is merged, and a merged one is never reopened. Merging records the
// merge on the pull request; the branches are left as they are (push to the
// base branch when a test needs the merged commits there).
func (r *Repo) SetPullState(number int, state string) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	var p *pull
	for _, q := range r.pulls {
		if q.number == number {
			p = q
		}
	}
	if p == nil {
		return fmt.Errorf("fakegithub: %s has no pull request #%d", r.FullName(), number)
	}
	switch state {
	case "open":
		if p.merged {
			return fmt.Errorf("fakegithub: pull request #%d is merged and cannot be reopened", number)
		}
		if p.state == "open" {
			return nil
		}
		for _, q := range r.pulls {
			if q.state == "open" && q.head == p.head && q.base == p.base {
				return fmt.Errorf("fakegithub: another pull request from %s into %s is open", p.head, p.base)
			}
		}
		if _, ok := r.mustGit().Resolve("refs/heads/" + p.head); !ok {
			return fmt.Errorf("fakegithub: the head branch %s of pull request #%d is gone", p.head, number)
		}
		p.state, p.closedAt = "open", time.Time{}
	case "closed":
		if p.state == "closed" {
			return nil
		}
		p.state = "closed"
	case "merged":
		if p.state != "open" || p.draft {
			return fmt.Errorf("fakegithub: pull request #%d is not open and ready, so it cannot be merged", number)
		}
		p.state, p.merged = "closed", true
	default:
		return fmt.Errorf("fakegithub: unknown pull request state %q", state)
	}
	p.updated = r.s.now()
	if p.state == "closed" {
		p.closedAt = p.updated
	}
	if p.merged {
		p.mergedAt = p.updated
	}
	return r.syncPulls() // a reopened pull request takes its branch's head
}

// PullRequests returns the repository's pull requests, oldest first.
func (r *Repo) PullRequests() []PullRequest {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if err := r.syncPulls(); err != nil {
		panic("fakegithub: " + err.Error())
	}
	out := make([]PullRequest, 0, len(r.pulls))
	for _, p := range r.pulls {
		out = append(out, PullRequest{ID: p.id, Number: p.number, Title: p.title, Body: p.body,
			Draft: p.draft, Head: p.head, Base: p.base, Author: p.author, State: p.state, Merged: p.merged,
			UpdatedAt: p.updated, WebURL: r.s.srv.URL + "/" + r.FullName() + "/pull/" + strconv.Itoa(p.number)})
	}
	return out
}

// SetRateLimited switches the primary rate limit on or off: while on, every
// authenticated API request answers 403 with X-RateLimit-Remaining: 0, a
// reset 60 seconds ahead and GitHub's "API rate limit exceeded for user ID …"
// body. Git is not rate limited this way.
func (s *Server) SetRateLimited(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited = on
}

// SetSecondaryRateLimited switches the secondary rate limit on or off: while
// on, every authenticated API request answers 403 with Retry-After: 30 and
// GitHub's "You have exceeded a secondary rate limit" body.
func (s *Server) SetSecondaryRateLimited(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secondaryLimits = on
}

// SetFailing switches an outage on or off: while on, reads (GET, HEAD) answer
// 503 with GitHub's HTML "unicorn" page and writes answer 500 with a JSON
// "Server Error" body, before any other check; git answers 503.
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

// now is the time of a change: the wall clock to the second, but always
// after the previous change, so that sorting by updated_at is never a tie.
// Callers hold s.mu.
func (s *Server) now() time.Time {
	t := time.Now().UTC().Truncate(time.Second)
	if !t.After(s.clock) {
		t = s.clock.Add(time.Second)
	}
	s.clock = t
	return t
}

// branchNames lists the branch names of refs, sorted.
func branchNames(refs map[string]string) []string {
	var names []string
	for ref := range refs {
		if name, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
