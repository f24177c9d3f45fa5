// Package fakecodecommit is an in-memory AWS CodeCommit and STS for tests: one
// HTTP server that speaks CodeCommit's JSON 1.1 protocol and STS's query
// protocol, verifies SigV4 signatures with the secrets it was given, and
// answers errors the way AWS does, so drivers are tested against AWS's rules
// rather than against their own assumptions.
package fakecodecommit

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
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

// Call is one request the fake received, whatever its outcome.
type Call struct {
	Service     string // "codecommit" or "sts"
	Operation   string // "CreateBranch", "GetCallerIdentity", …
	AccessKeyID string // from the Authorization header; "" when there was none
	Body        []byte
}

// Server is a fake CodeCommit and STS endpoint for one region.
type Server struct {
	srv    *httptest.Server
	region string

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
	commits     int
}

type keyEntry struct {
	secret string
	Key
}

type tokenUse struct {
	params string // the request parameters the token was first used with
	prID   string
}

// Repo is a repository of the fake.
type Repo struct {
	s             *Server
	name, id      string
	defaultBranch string
	branches      map[string]string // name → commit id
	created       time.Time
}

type pullRequest struct {
	id, title, description, status string
	author, token, revision        string
	repo, source, destination      string // source and destination as full refs
	sourceCommit, destCommit       string
	created                        time.Time
}

// New starts a fake for region (for example "us-east-1"). Requests must be
// signed for that region. Close it when done.
func New(region string) *Server {
	s := &Server{region: region, keys: map[string]keyEntry{}, repos: map[string]*Repo{},
		prs: map[string]*pullRequest{}, tokens: map[string]tokenUse{}, pageSize: 2}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// URL is the endpoint of both services, for BaseEndpoint.
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
	r := &Repo{s: s, name: name, id: newUUID(), defaultBranch: defaultBranch,
		branches: map[string]string{}, created: time.Now()}
	if defaultBranch != "" {
		r.branches[defaultBranch] = s.newCommitLocked()
	}
	s.repos[name] = r
	return r
}

// Name is the repository's name.
func (r *Repo) Name() string { return r.name }

// ID is the repository's id (repositoryId).
func (r *Repo) ID() string { return r.id }

// AddBranch creates a branch with a new commit that no other branch has and
// returns that commit's id.
func (r *Repo) AddBranch(name string) string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	c := r.s.newCommitLocked()
	r.branches[name] = c
	if r.defaultBranch == "" {
		r.defaultBranch = name // CodeCommit makes the first branch pushed the default
	}
	return c
}

// Branch returns the commit id a branch points at.
func (r *Repo) Branch(name string) (string, bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	c, ok := r.branches[name]
	return c, ok
}

// SetPullRequestStatus sets a pull request's status ("OPEN" or "CLOSED"), as
// a person closing or merging it would.
func (s *Server) SetPullRequestStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pr, ok := s.prs[id]; ok {
		pr.status = status
	}
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
// (CodeCommit 400 ThrottlingException, STS 400 Throttling) until switched off.
func (s *Server) SetRateLimited(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited = on
}

// SetFailing makes every request fail (CodeCommit 500 InternalFailure, STS
// 503 ServiceUnavailable) until switched off.
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

func (s *Server) newCommitLocked() string {
	s.commits++
	sum := sha1.Sum([]byte("commit " + strconv.Itoa(s.commits)))
	return hex.EncodeToString(sum[:])
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

// serve routes a request to CodeCommit (X-Amz-Target) or STS (form Action),
// then applies what AWS checks before any operation: failures, the
// signature, the key's state and throttling.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
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
	deny := k.ReadOnly && (action == "codecommit:CreateBranch" || action == "codecommit:CreatePullRequest")
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
