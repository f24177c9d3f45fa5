// Package fakecodecommit is an AWS CodeCommit and STS for tests: one HTTP
// server that speaks CodeCommit's JSON 1.1 protocol and STS's query protocol,
// verifies SigV4 signatures with the secrets it was given, serves each
// repository over git's smart HTTP protocol behind CodeCommit's SigV4-derived
// git password, and answers errors the way AWS does, so drivers are tested
// against AWS's rules rather than against their own assumptions. Branches and
// tags live in real bare git repositories (fakegit), the one source of truth
// for the API and for git.
package fakecodecommit

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// Account is the AWS account id that owns the fake's repositories.
const Account = "123456789012"

// Key is what the fake knows of an IAM access key besides its secret.
type Key struct {
	// ARN is who the key belongs to, as STS GetCallerIdentity reports it.
	ARN string
	// Expired keys are refused with ExpiredTokenException (STS: ExpiredToken).
	Expired bool
	// ReadOnly keys may read but not write: CreateBranch and CreatePullRequest
	// answer AccessDeniedException naming the IAM action.
	ReadOnly bool
	// Deny lists further IAM actions the key may not perform, such as
	// "codecommit:ListRepositories".
	Deny []string
}

// AuthorARN is who the pull requests OpenPull opens are by.
const AuthorARN = "arn:aws:iam::" + Account + ":user/fake-author"

// Call is one request the fake received, whatever its outcome.
type Call struct {
	Service     string // "codecommit", "sts" or "git"
	Operation   string // "CreateBranch", "GetCallerIdentity", "info/refs", "git-upload-pack", …
	AccessKeyID string // from the Authorization header; "" when there was none
	Body        []byte // the API request's body (not recorded for git)
}

// Server is a fake CodeCommit and STS endpoint for one region, and the git
// host of its repositories.
type Server struct {
	srv    *httptest.Server
	region string
	dir    string // holds each repository's bare git repository

	mu          sync.Mutex
	keys        map[string]keyEntry
	repos       map[string]*Repo
	prs         map[string]*pullRequest
	nextPR      int
	tokens      map[string]tokenUse // clientRequestToken → the pull request it created
	pageSize    int
	rateLimited bool
	failing     bool
	calls       []Call
	tick        int64             // seconds added to imported commits' times
	mergeBases  map[string]string // "a b" → their merge base
}

type keyEntry struct {
	secret string
	Key
}

type tokenUse struct {
	params string // the request parameters the token was first used with
	prID   string
}

// Repo is a repository of the fake. Its branches and tags are the refs of a
// real bare git repository (Git), made when first needed: until then the
// repository is what AddRepo describes.
type Repo struct {
	s        *Server
	name, id string
	initial  string        // the default branch AddRepo gave it, "" for an empty repository
	git      *fakegit.Repo // nil until first needed
	created  time.Time
}

type pullRequest struct {
	id, title, description, status string
	author, token, revision        string
	repo, source, destination      string // source and destination as full refs
	// The commits a closed pull request was closed at; an open one's
	// follow its branches.
	sourceCommit, destCommit string
	merge                    *mergeMetadata
	created, updated         time.Time
}

type mergeMetadata struct {
	commit, option, by string
}

// New starts a fake for region (for example "us-east-1"). Requests must be
// signed for that region. Close it when done: that also removes its git
// repositories.
func New(region string) *Server {
	dir, err := os.MkdirTemp("", "fakecodecommit-")
	if err != nil {
		panic("fakecodecommit: " + err.Error())
	}
	s := &Server{region: region, dir: dir, keys: map[string]keyEntry{}, repos: map[string]*Repo{},
		prs: map[string]*pullRequest{}, tokens: map[string]tokenUse{}, pageSize: 2, mergeBases: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close shuts the server down and removes its git repositories.
func (s *Server) Close() {
	s.srv.Close()
	os.RemoveAll(s.dir)
}

// URL is the endpoint of both services and of the git host, for an
// integration's base URL.
func (s *Server) URL() string { return s.srv.URL }

// Region is the region requests must be signed for.
func (s *Server) Region() string { return s.region }

// AddKey registers an access key and its secret.
func (s *Server) AddKey(accessKeyID, secret string, k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[accessKeyID] = keyEntry{secret: secret, Key: k}
}

// AddRepo creates a repository. With a default branch it holds one commit on
// that branch; with "" it is empty, as a new CodeCommit repository is.
func (s *Server) AddRepo(name, defaultBranch string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Repo{s: s, name: name, id: newUUID(), initial: defaultBranch, created: time.Now()}
	s.repos[name] = r
	return r
}

// Name is the repository's name.
func (r *Repo) Name() string { return r.name }

// ID is the repository's id (repositoryId).
func (r *Repo) ID() string { return r.id }

// Git is the repository's git repository, made now if it was not yet.
// Changes made to it directly are seen by every API call and by git.
func (r *Repo) Git() *fakegit.Repo {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.gitLocked()
}

// gitLocked makes the git repository on first use: HEAD names the default
// branch, which holds one commit. A fake that cannot run git cannot serve
// any test, so failing to is a panic.
func (r *Repo) gitLocked() *fakegit.Repo {
	if r.git != nil {
		return r.git
	}
	head := r.initial
	if head == "" {
		head = "main" // HEAD of an empty repository names a branch that does not exist yet
	}
	g, err := fakegit.New(filepath.Join(r.s.dir, r.id+".git"), head)
	if err == nil && r.initial != "" {
		_, err = r.s.importCommits(g, []newCommit{{branch: r.initial, message: "Initial commit\n"}})
	}
	if err != nil {
		panic("fakecodecommit: " + err.Error())
	}
	r.git = g
	return g
}

// defaultBranchLocked is what CodeCommit reports as the default branch: the
// branch HEAD names once it exists, none in an empty repository.
func (r *Repo) defaultBranchLocked() string {
	if r.git == nil {
		return r.initial
	}
	head := readHead(r.git.Dir)
	if _, ok := readRef(r.git.Dir, "refs/heads/"+head); !ok {
		return ""
	}
	return head
}

// branchLocked returns the commit a branch points at.
func (r *Repo) branchLocked(name string) (string, bool) {
	if !validRefName(name) {
		return "", false
	}
	return readRef(r.gitLocked().Dir, "refs/heads/"+name)
}

// AddBranch creates a branch with a new commit on top of the default branch
// (a root commit in an empty repository) and returns that commit's id. It
// panics when the branch exists or its name is not valid, as a test setting
// up the fake would not mean that.
func (r *Repo) AddBranch(name string) string {
	return r.AddBranches(name)[0]
}

// AddBranches is AddBranch for several branches at once, each with its own
// commit, written by one git process.
func (r *Repo) AddBranches(names ...string) []string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	g := r.gitLocked()
	hadDefault := r.defaultBranchLocked() != ""
	parent, _ := r.branchLocked(r.defaultBranchLocked())
	commits := make([]newCommit, len(names))
	for i, name := range names {
		if _, exists := r.branchLocked(name); exists || !validRefName(name) {
			panic("fakecodecommit: AddBranch " + name + ": the branch exists or its name is not valid")
		}
		commits[i] = newCommit{branch: name, parent: parent, message: "Work on " + name + "\n"}
	}
	shas, err := r.s.importCommits(g, commits)
	if err == nil && !hadDefault && len(names) > 0 {
		err = g.SetHead(names[0]) // CodeCommit makes the first branch pushed the default
	}
	if err != nil {
		panic("fakecodecommit: AddBranch: " + err.Error())
	}
	return shas
}

// Branch returns the commit id a branch points at.
func (r *Repo) Branch(name string) (string, bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.branchLocked(name)
}

// Push adds a commit with message on branch, as a git push would: on top of
// the branch, or of the default branch when the branch is new (a root commit
// in an empty repository). It returns the commit's id. Open pull requests
// from the branch see the new commit.
func (r *Repo) Push(branch, message string) (string, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	g := r.gitLocked()
	old, exists := r.branchLocked(branch)
	parent := old
	if !exists {
		parent, _ = r.branchLocked(r.defaultBranchLocked())
	}
	sha, err := g.CommitOn(parent, []byte(message), fakegit.Author{})
	if err != nil {
		return "", err
	}
	if err := r.setRefLocked("refs/heads/"+branch, sha, old); err != nil {
		return "", err
	}
	now := time.Now()
	for _, pr := range r.s.prs {
		if pr.repo == r.name && pr.status == "OPEN" && pr.source == "refs/heads/"+branch {
			pr.updated = now
		}
	}
	return sha, nil
}

// DeleteBranch deletes a branch. CodeCommit refuses to delete the default
// branch, and so does the fake.
func (r *Repo) DeleteBranch(name string) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	sha, ok := r.branchLocked(name)
	switch {
	case !ok:
		return fmt.Errorf("fakecodecommit: no branch %s in %s", name, r.name)
	case name == r.defaultBranchLocked():
		return fmt.Errorf("fakecodecommit: %s is the default branch of %s", name, r.name)
	}
	return r.gitLocked().UpdateRef("refs/heads/"+name, "", sha)
}

// Tag makes a lightweight tag name pointing at the commit sha.
func (r *Repo) Tag(name, sha string) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	g := r.gitLocked()
	if got, ok := g.Resolve(sha); !ok || got != sha {
		return fmt.Errorf("fakecodecommit: no commit %s in %s", sha, r.name)
	}
	return g.UpdateRef("refs/tags/"+name, sha, "")
}

// setRefLocked moves ref from old to sha and, in a repository that had no
// default branch, makes a new branch the default, as CodeCommit does with
// the first branch pushed.
func (r *Repo) setRefLocked(ref, sha, old string) error {
	hadDefault := r.defaultBranchLocked() != ""
	if err := r.gitLocked().UpdateRef(ref, sha, old); err != nil {
		return err
	}
	if branch, ok := strings.CutPrefix(ref, "refs/heads/"); ok && !hadDefault {
		return r.git.SetHead(branch)
	}
	return nil
}

// OpenPull opens a pull request from source into target ("" for the default
// branch) as the fake's own user, and returns its id.
func (r *Repo) OpenPull(source, target, title, description string) (int, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	pr, e := r.s.openPullLocked(r, source, target, title, description, AuthorARN, "")
	if e != nil {
		return 0, fmt.Errorf("fakecodecommit: %s: %s", e.code, e.message)
	}
	n, _ := strconv.Atoi(pr.id)
	return n, nil
}

// SetPullState moves a pull request of the repository to "OPEN", "CLOSED"
// or "MERGED" (closed and merged: the target branch is fast-forwarded to
// the source, or gets a merge commit of both). As on CodeCommit, a closed
// pull request cannot change again.
func (r *Repo) SetPullState(id int, state string) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	pr, ok := r.s.prs[strconv.Itoa(id)]
	if !ok || pr.repo != r.name {
		return fmt.Errorf("fakecodecommit: no pull request %d in %s", id, r.name)
	}
	return r.s.setPullStateLocked(pr, state)
}

// SetPullRequestStatus sets a pull request's status ("OPEN", "CLOSED" or
// "MERGED"), as a person closing or merging it would; see SetPullState.
func (s *Server) SetPullRequestStatus(id, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, ok := s.prs[id]
	if !ok {
		return fmt.Errorf("fakecodecommit: no pull request %s", id)
	}
	return s.setPullStateLocked(pr, status)
}

// PullRequestCount is how many pull requests exist, open or closed.
func (s *Server) PullRequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.prs)
}

// SetPageSize sets how many items ListRepositories, ListBranches and
// ListPullRequests return a page (default 2, so paging is exercised).
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = max(n, 1)
}

// SetRateLimited makes every authenticated request answer throttled
// (CodeCommit 400 ThrottlingException, STS 400 Throttling, git 429) until
// switched off.
func (s *Server) SetRateLimited(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited = on
}

// SetFailing makes every request fail (CodeCommit 500 InternalFailure, STS
// 503 ServiceUnavailable, git 500) until switched off.
func (s *Server) SetFailing(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = on
}

// Calls returns the requests received so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the requests received so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// apiError is an AWS error answer: its HTTP status, code and message.
type apiError struct {
	status  int
	code    string
	message string
}

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// serve routes a request to git (/v1/repos/…), CodeCommit (X-Amz-Target) or STS (form Action),
// then applies what AWS checks before any operation: failures, the
// signature, the key's state and throttling.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, gitPrefix) {
		s.serveGit(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	auth, authErr := parseAuthorization(r.Header.Get("Authorization"))
	call := Call{AccessKeyID: auth.AccessKeyID, Body: body}

	var (
		service string
		reply   func(w http.ResponseWriter, out any, err *apiError)
		op      string
	)
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		service, reply = "codecommit", writeJSON
		op, _ = strings.CutPrefix(target, "CodeCommit_20150413.")
		if op == target || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
			op = ""
		}
	} else {
		service, reply = "sts", writeQuery
		form, err := parseForm(body)
		if err == nil && form.Get("Version") == "2011-06-15" && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
			op = form.Get("Action")
		}
	}
	call.Service, call.Operation = service, op
	s.mu.Lock()
	s.calls = append(s.calls, call)
	failing := s.failing
	s.mu.Unlock()

	if r.Method != http.MethodPost || r.URL.Path != "/" {
		reply(w, nil, errorf(http.StatusNotFound, "UnknownOperationException", "No such resource %s %s.", r.Method, r.URL.Path))
		return
	}
	if failing {
		if service == "sts" {
			reply(w, nil, errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "Service is unavailable."))
		} else {
			reply(w, nil, errorf(http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error."))
		}
		return
	}
	if op == "" {
		if service == "sts" {
			reply(w, nil, errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation for this request."))
		} else {
			reply(w, nil, errorf(http.StatusBadRequest, "UnknownOperationException", "Unknown operation."))
		}
		return
	}
	key, aerr := s.authenticate(r, body, auth, authErr, service)
	if aerr != nil {
		reply(w, nil, aerr)
		return
	}
	s.mu.Lock()
	limited := s.rateLimited
	s.mu.Unlock()
	if limited {
		code := "ThrottlingException"
		if service == "sts" {
			code = "Throttling"
		}
		reply(w, nil, errorf(http.StatusBadRequest, code, "Rate exceeded"))
		return
	}
	if service == "sts" {
		s.sts(w, op, key)
		return
	}
	out, err := s.codecommit(op, body, key)
	reply(w, out, err)
}

// authenticate checks the SigV4 signature against the known keys: the error
// codes differ between the JSON (CodeCommit) and query (STS) protocols.
func (s *Server) authenticate(r *http.Request, body []byte, a authorization, parseErr error, service string) (keyEntry, *apiError) {
	sts := service == "sts"
	pick := func(jsonCode, queryCode string) string {
		if sts {
			return queryCode
		}
		return jsonCode
	}
	status := http.StatusBadRequest
	if sts {
		status = http.StatusForbidden // STS answers authentication failures with 403
	}
	switch parseErr {
	case nil:
	case errMissingAuth:
		return keyEntry{}, errorf(status, pick("MissingAuthenticationTokenException", "MissingAuthenticationToken"),
			"Missing Authentication Token")
	default:
		return keyEntry{}, errorf(http.StatusBadRequest, pick("IncompleteSignatureException", "IncompleteSignature"),
			"Authorization header requires Credential, SignedHeaders and Signature parameters.")
	}
	s.mu.Lock()
	k, known := s.keys[a.AccessKeyID]
	s.mu.Unlock()
	if !known {
		return k, errorf(status, pick("UnrecognizedClientException", "InvalidClientTokenId"),
			"The security token included in the request is invalid.")
	}
	if a.Service != service {
		return k, errorf(status, pick("InvalidSignatureException", "SignatureDoesNotMatch"),
			"Credential should be scoped to correct service: '%s'.", service)
	}
	if a.Region != s.region {
		return k, errorf(status, pick("InvalidSignatureException", "SignatureDoesNotMatch"),
			"Credential should be scoped to a valid region.")
	}
	if why := verifySignature(r, body, a, k.secret, time.Now()); why != "" {
		return k, errorf(status, pick("InvalidSignatureException", "SignatureDoesNotMatch"), "%s", why)
	}
	if k.Expired {
		return k, errorf(http.StatusBadRequest, pick("ExpiredTokenException", "ExpiredToken"),
			"The security token included in the request is expired")
	}
	return k, nil
}

// allowed reports whether k may perform action; it answers AccessDenied otherwise.
func (s *Server) allowed(k keyEntry, action, resource string) *apiError {
	deny := k.ReadOnly && (action == "codecommit:CreateBranch" || action == "codecommit:CreatePullRequest" ||
		action == "codecommit:DeleteBranch")
	for _, d := range k.Deny {
		deny = deny || d == action
	}
	if deny {
		return errorf(http.StatusBadRequest, "AccessDeniedException",
			"User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
			k.ARN, action, resource, action)
	}
	return nil
}

func (s *Server) repoARN(name string) string {
	return fmt.Sprintf("arn:aws:codecommit:%s:%s:%s", s.region, Account, name)
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func requestID() string { return newUUID() }
