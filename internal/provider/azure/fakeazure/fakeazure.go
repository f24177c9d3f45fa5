// Package fakeazure is an Azure DevOps organisation (or TFS collection)
// served over HTTP for tests: it checks what the real service checks (Basic
// auth with a PAT, the api-version range, JSON bodies) and answers with the
// shapes of Microsoft's REST documentation. Every repository is a real bare
// git repository (fakegit), also served over git's smart HTTP protocol, so
// refs, branches and pull request checks all read that one repository.
package fakeazure

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Token is what the fake knows of a personal access token.
type Token struct {
	Account     string // properties.Account of connectionData; empty: not told
	DisplayName string // providerDisplayName
	Expired     bool   // answered 401 like a revoked or expired PAT
	// ReadOnly is a token whose scopes stop at Code (Read) (vso.code): the
	// writes it tries answer 401 with TF400813 naming its user, as Azure
	// answers a call the token's scopes do not cover. It may fetch with git.
	ReadOnly bool
	// NoCodeScope is a token without any Code scope (only Work Items, say):
	// every Git REST call and git itself answer 401 with TF400813 naming
	// its user. connectionData still answers.
	NoCodeScope bool
	// NoGitPermission is a token with the Code (Read & write) scope whose user
	// lacks the Git CreateBranch and PullRequestContribute permissions on the
	// repositories: those writes answer 403 with TF401027 naming the permission.
	NoGitPermission bool
	// Unreadable names repositories ("Project/name") whose Read permission
	// the token's user lacks: Azure answers TF401019 (404) for them, as
	// for a repository that does not exist.
	Unreadable []string
}

// Call is one request the fake received, REST or git. Token is the PAT of
// its Basic auth. Body is empty for git requests.
type Call struct {
	Method string
	Path   string
	Query  string
	Token  string
	Body   []byte
}

// Layout is how the fake's URLs name the organisation or collection.
type Layout int

const (
	// DevAzure serves the organisation under a path, as
	// https://dev.azure.com/ORG does: http://127.0.0.1:PORT/ORG.
	DevAzure Layout = iota
	// VisualStudio serves the organisation at the root, its name being the
	// host's, as https://ORG.visualstudio.com does: http://127.0.0.1:PORT.
	VisualStudio
	// OnPremises serves a collection of Azure DevOps Server or TFS, as
	// https://tfs.example.com/tfs/COLLECTION does: http://127.0.0.1:PORT/tfs/COLLECTION.
	OnPremises
)

// Server is one fake organisation. Its methods are safe for concurrent use.
type Server struct {
	srv    *httptest.Server
	org    string
	layout Layout
	dir    string // holds the bare repositories; removed by Close

	mu          sync.Mutex
	tokens      map[string]Token
	projects    map[string]string // name -> id
	repos       []*Repo
	minVer      version
	maxVer      version
	pageSize    int
	rateLimited bool
	failing     bool
	calls       []Call
	prs         []*pullRequest
	nextPR      int
	notices     int // notificationId of the last service hook delivery
	commits     int // commits written, each a second newer than the last
	now         func() time.Time
}

const zeroSHA = "0000000000000000000000000000000000000000"

// New starts a fake organisation named org in the dev.azure.com layout. It
// accepts api-versions 1.0 to 7.1 (Azure DevOps Services) until
// SetAPIVersionRange says otherwise, and serves lists two items a page.
func New(org string) *Server { return NewLayout(org, DevAzure) }

// NewLayout starts a fake organisation (or, OnPremises, collection) named
// org, served in the given layout.
func NewLayout(org string, layout Layout) *Server {
	dir, err := os.MkdirTemp("", "fakeazure-")
	if err != nil {
		panic("fakeazure: " + err.Error())
	}
	s := &Server{
		org:      org,
		layout:   layout,
		dir:      dir,
		tokens:   map[string]Token{},
		projects: map[string]string{},
		minVer:   version{1, 0},
		maxVer:   version{7, 1},
		pageSize: 2,
		nextPR:   1,
		now:      time.Now,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close shuts the server down and removes its repositories.
func (s *Server) Close() {
	s.srv.Close()
	os.RemoveAll(s.dir)
}

// URL is the organisation (collection) URL, in the server's layout.
func (s *Server) URL() string { return s.srv.URL + s.prefix() }

// prefix is the path of the organisation or collection ("" at the root).
func (s *Server) prefix() string {
	switch s.layout {
	case VisualStudio:
		return ""
	case OnPremises:
		return "/tfs/" + s.org
	default:
		return "/" + s.org
	}
}

// SetAPIVersionRange sets the api-versions the server accepts, as TFS 2017
// ("1.0", "3.2") … Azure DevOps Server 2022 ("1.0", "7.0") would.
func (s *Server) SetAPIVersionRange(min, max string) {
	lo, ok1 := parseVersion(min)
	hi, ok2 := parseVersion(max)
	if !ok1 || !ok2 {
		panic("fakeazure: bad api-version range " + min + ".." + max)
	}
	s.mu.Lock()
	s.minVer, s.maxVer = lo, hi
	s.mu.Unlock()
}

// SetPageSize sets how many repositories or refs one page holds at most.
// Pull requests page as the client asks ($top, $skip), as Azure's do.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	s.pageSize = max(n, 1)
	s.mu.Unlock()
}

// SetClock sets the clock that dates pull requests (creationDate,
// closedDate) and deliveries; time.Now until then.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// AddToken makes pat a known personal access token.
func (s *Server) AddToken(pat string, t Token) {
	s.mu.Lock()
	s.tokens[pat] = t
	s.mu.Unlock()
}

// AddRepo adds a repository to project (created on first use). When
// defaultBranch is not empty the repository gets that branch with one commit;
// otherwise it is empty and has no default branch.
func (s *Server) AddRepo(project, name, defaultBranch string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.projects[project]; !ok {
		s.projects[project] = guid("project", project)
	}
	r := &Repo{s: s, ID: guid("repo", project+"/"+name), Name: name, Project: project, initialBranch: defaultBranch}
	s.repos = append(s.repos, r)
	return r
}

// SetRateLimited makes every authenticated request answer 429 as Azure's
// throttling does, until switched off.
func (s *Server) SetRateLimited(on bool) {
	s.mu.Lock()
	s.rateLimited = on
	s.mu.Unlock()
}

// SetFailing makes every request answer 500 until switched off.
func (s *Server) SetFailing(on bool) {
	s.mu.Lock()
	s.failing = on
	s.mu.Unlock()
}

// Calls returns the requests received so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the recorded requests.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

// commitTimeLocked dates a new commit: a clock that advances one second per
// commit, as fakegit's does, so that shas are the same from run to run.
func (s *Server) commitTimeLocked() time.Time {
	s.commits++
	return time.Unix(1700000000+int64(s.commits), 0)
}

// guid makes a stable GUID-shaped id.
// userID is the identity id of a token's user, as connectionData's
// authenticatedUser.id gives it: one per account (its Account, else its
// display name), whichever of the account's PATs is used; a token naming
// neither is an account of its own.
func userID(pat string, tok Token) string {
	switch {
	case tok.Account != "":
		return guid("user", strings.ToLower(tok.Account))
	case tok.DisplayName != "":
		return guid("user", "name:"+tok.DisplayName)
	}
	return guid("user", "pat:"+pat)
}

func guid(kind, name string) string {
	sum := sha1.Sum([]byte(kind + ":" + name))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

type version struct{ major, minor int }

func (v version) less(o version) bool {
	return v.major < o.major || (v.major == o.major && v.minor < o.minor)
}

func (v version) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

// parseVersion reads "5.0", "7.1-preview" or "7.1-preview.1".
func parseVersion(s string) (version, bool) {
	s, _, _ = strings.Cut(s, "-")
	maj, min, ok := strings.Cut(s, ".")
	if !ok {
		return version{}, false
	}
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if err1 != nil || err2 != nil || a < 0 || b < 0 {
		return version{}, false
	}
	return version{a, b}, true
}

// inCollection returns the part of path below the organisation or collection.
func (s *Server) inCollection(path string) (string, bool) {
	p := s.prefix()
	switch {
	case p == "":
		return path, true
	case path == p:
		return "", true
	case strings.HasPrefix(path, p+"/"):
		return path[len(p):], true
	}
	return "", false
}

// serve authenticates, throttles and checks the api-version before routing,
// in the order Azure DevOps does. git's requests go to serveGit.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, inOrg := s.inCollection(r.URL.Path)
	if project, repo, gitPath, ok := gitRoute(rest); inOrg && ok {
		s.serveGit(w, r, project, repo, gitPath)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	// Azure takes the PAT as the password whatever the user name.
	_, pat, hasAuth := r.BasicAuth()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Token: pat, Body: body})

	if s.failing {
		writeError(w, http.StatusInternalServerError, "VssServiceException",
			"TF246017: The service could not connect to its database. Try again later.")
		return
	}
	tok, known := s.tokens[pat]
	if !hasAuth || !known || tok.Expired {
		if r.Header.Get("X-TFS-FedAuthRedirect") != "Suppress" {
			// Without the header the service redirects browsers to sign in;
			// API clients see the sign-in page with a 203.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNonAuthoritativeInfo)
			io.WriteString(w, "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>Sign in</body></html>")
			return
		}
		w.Header().Set("WWW-Authenticate", "Basic realm=\""+s.srv.URL+"/\"")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if s.rateLimited {
		s.throttle(w)
		return
	}

	if !inOrg {
		writeError(w, http.StatusNotFound, "CollectionDoesNotExistException",
			"TF400324: The organization or collection does not exist.")
		return
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")

	if len(segs) == 2 && segs[0] == "_apis" && segs[1] == "connectionData" {
		// connectionData answers without an api-version.
		if v := r.URL.Query().Get("api-version"); v != "" && !s.checkVersion(w, r.Method, v) {
			return
		}
		s.connectionData(w, r, pat, tok)
		return
	}
	v := r.URL.Query().Get("api-version")
	if v == "" {
		writeError(w, http.StatusBadRequest, "VssVersionNotSpecifiedException", fmt.Sprintf(
			"No api-version was supplied for the %q request. The version must be supplied either as part of the Accept header or as a query parameter (e.g. '?api-version=1.0').", r.Method))
		return
	}
	if !s.checkVersion(w, r.Method, v) {
		return
	}
	apiVer, _ := parseVersion(v)
	if r.Method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "VssRequestContentTypeNotSupportedException",
			"The request content type is not supported: send application/json.")
		return
	}

	// [project] _apis git repositories [id [refs|pullrequests [id]]]
	project := ""
	if len(segs) > 0 && segs[0] != "_apis" {
		project = segs[0]
		segs = segs[1:]
	}
	if len(segs) < 3 || segs[0] != "_apis" || segs[1] != "git" || segs[2] != "repositories" {
		writeError(w, http.StatusNotFound, "ApiResourceNotFoundException", "API resource location not found.")
		return
	}
	if project != "" {
		name, ok := s.projectName(project)
		if !ok {
			writeError(w, http.StatusNotFound, "ProjectDoesNotExistWithNameException",
				fmt.Sprintf("TF200016: The following project does not exist: %s.", project))
			return
		}
		project = name
	}
	if tok.NoCodeScope {
		writeError(w, http.StatusUnauthorized, "UnauthorizedRequestException", fmt.Sprintf(
			"TF400813: The user '%s' is not authorized to access this resource.", userID(pat, tok)))
		return
	}
	if len(segs) == 3 {
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "RouteMethodNotAllowed", "The requested resource does not support this http method.")
			return
		}
		s.listRepos(w, r, project)
		return
	}
	repo := s.findRepo(project, segs[3])
	if repo == nil || repo.disabled || slices.ContainsFunc(tok.Unreadable, func(n string) bool { return strings.EqualFold(n, repo.Project+"/"+repo.Name) }) {
		writeError(w, http.StatusNotFound, "GitRepositoryNotFoundException", fmt.Sprintf(
			"TF401019: The Git repository with name or identifier %s does not exist or you do not have permissions for the operation you are attempting.", segs[3]))
		return
	}
	write := r.Method == http.MethodPost
	if write && tok.ReadOnly {
		// The scope check runs before the call reaches the Git service.
		writeError(w, http.StatusUnauthorized, "UnauthorizedRequestException", fmt.Sprintf(
			"TF400813: The user '%s' is not authorized to access this resource.", userID(pat, tok)))
		return
	}
	resource := ""
	if len(segs) > 4 {
		resource = strings.ToLower(segs[4])
	}
	switch {
	case len(segs) == 4 && r.Method == http.MethodGet:
		s.getRepo(w, repo)
	case len(segs) == 5 && resource == "refs" && r.Method == http.MethodGet:
		s.listRefs(w, r, repo)
	case len(segs) == 5 && resource == "refs" && r.Method == http.MethodPost:
		s.updateRefs(w, body, repo, tok)
	case len(segs) == 5 && resource == "pullrequests" && r.Method == http.MethodGet:
		s.listPullRequests(w, r, repo, apiVer)
	case len(segs) == 5 && resource == "pullrequests" && r.Method == http.MethodPost:
		s.createPullRequest(w, body, repo, pat, tok, apiVer)
	case len(segs) == 6 && resource == "pullrequests" && r.Method == http.MethodGet:
		s.getPullRequest(w, repo, segs[5], apiVer)
	case len(segs) <= 6 && (resource == "" || resource == "refs" || resource == "pullrequests"):
		writeError(w, http.StatusMethodNotAllowed, "RouteMethodNotAllowed", "The requested resource does not support this http method.")
	default:
		writeError(w, http.StatusNotFound, "ApiResourceNotFoundException", "API resource location not found.")
	}
}

// throttle answers as Azure's rate limiting does.
func (s *Server) throttle(w http.ResponseWriter) {
	reset := time.Now().Add(30 * time.Second).Unix()
	h := w.Header()
	h.Set("Retry-After", "30")
	h.Set("X-RateLimit-Resource", "Core")
	h.Set("X-RateLimit-Delay", "12.5")
	h.Set("X-RateLimit-Limit", "200")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	writeError(w, http.StatusTooManyRequests, "RequestBlockedException",
		"TF400733: The request was blocked because the identity exceeded its usage of resource Core.")
}

func (s *Server) checkVersion(w http.ResponseWriter, method, v string) bool {
	ver, ok := parseVersion(v)
	if !ok {
		writeError(w, http.StatusBadRequest, "VssInvalidApiVersionException", fmt.Sprintf("The api-version %q is not valid.", v))
		return false
	}
	if s.maxVer.less(ver) {
		writeError(w, http.StatusBadRequest, "VssVersionOutOfRangeException", fmt.Sprintf(
			"The requested REST API version of %s is out of range for this server. The latest REST API version this server supports is %s.", v, s.maxVer))
		return false
	}
	if ver.less(s.minVer) {
		writeError(w, http.StatusBadRequest, "VssVersionOutOfRangeException", fmt.Sprintf(
			"The requested REST API version of %s is out of range for this server. The earliest REST API version this server supports is %s.", v, s.minVer))
		return false
	}
	return true
}

func (s *Server) connectionData(w http.ResponseWriter, r *http.Request, pat string, tok Token) {
	id := userID(pat, tok)
	props := map[string]any{}
	if tok.Account != "" {
		props["Account"] = map[string]string{"$type": "System.String", "$value": tok.Account}
	}
	user := map[string]any{
		"id":                  id,
		"descriptor":          "Microsoft.IdentityModel.Claims.ClaimsIdentity;" + id + "\\" + tok.Account,
		"subjectDescriptor":   "aad." + base64.RawURLEncoding.EncodeToString([]byte(id)),
		"providerDisplayName": tok.DisplayName,
		"isActive":            true,
		"properties":          props,
		"resourceVersion":     2,
		"metaTypeId":          0,
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"authenticatedUser": user,
		"authorizedUser":    user,
		"instanceId":        guid("instance", s.org),
		"deploymentId":      guid("deployment", s.org),
		"deploymentType":    "hosted",
		"locationServiceData": map[string]any{
			"serviceOwner":                "00025394-6065-48ca-87d9-7f5672854ef7",
			"defaultAccessMappingMoniker": "PublicAccessMapping",
			"lastChangeId":                1,
			"lastChangeId64":              1,
		},
	})
}

// projectName resolves a project named by name or id.
func (s *Server) projectName(nameOrID string) (string, bool) {
	for name, id := range s.projects {
		if strings.EqualFold(name, nameOrID) || strings.EqualFold(id, nameOrID) {
			return name, true
		}
	}
	return "", false
}

func (s *Server) findRepo(project, idOrName string) *Repo {
	for _, r := range s.repos {
		if strings.EqualFold(r.ID, idOrName) {
			if project != "" && !strings.EqualFold(r.Project, project) {
				return nil
			}
			return r
		}
	}
	if project == "" {
		return nil // a name needs its project
	}
	for _, r := range s.repos {
		if strings.EqualFold(r.Project, project) && strings.EqualFold(r.Name, idOrName) {
			return r
		}
	}
	return nil
}

// projectJSON is a project as repositories carry it.
func (s *Server) projectJSON(project string) map[string]any {
	return map[string]any{
		"id":         s.projects[project],
		"name":       project,
		"url":        s.URL() + "/_apis/projects/" + s.projects[project],
		"state":      "wellFormed",
		"revision":   1,
		"visibility": "private",
	}
}

// repoJSON is a repository as the repositories API describes it.
func (s *Server) repoJSON(r *Repo) map[string]any {
	m := map[string]any{
		"id":         r.ID,
		"name":       r.Name,
		"url":        s.URL() + "/" + s.projects[r.Project] + "/_apis/git/repositories/" + r.ID,
		"project":    s.projectJSON(r.Project),
		"size":       0,
		"remoteUrl":  r.remoteURL(),
		"webUrl":     r.WebURL(),
		"isDisabled": r.disabled,
	}
	if b := r.defaultBranchLocked(); b != "" {
		m["defaultBranch"] = "refs/heads/" + b
		m["size"] = 1024
	}
	return m
}

// page cuts items by the continuation token (an offset here; opaque to
// clients) and sets x-ms-continuationtoken when more remain.
func (s *Server) page(w http.ResponseWriter, q url.Values, n int) (lo, hi int, ok bool) {
	size := s.pageSize
	if top := q.Get("$top"); top != "" {
		t, err := strconv.Atoi(top)
		if err != nil || t < 1 {
			writeError(w, http.StatusBadRequest, "InvalidArgumentValueException", "The value of $top is not valid.")
			return 0, 0, false
		}
		size = min(size, t)
	}
	if tok := q.Get("continuationToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		off, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || off < 0 || off > n {
			writeError(w, http.StatusBadRequest, "InvalidContinuationTokenException", "The continuation token is not valid.")
			return 0, 0, false
		}
		lo = off
	}
	hi = min(lo+size, n)
	if hi < n {
		w.Header().Set("x-ms-continuationtoken", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(hi))))
	}
	return lo, hi, true
}

func (s *Server) listRepos(w http.ResponseWriter, r *http.Request, project string) {
	var all []*Repo
	for _, repo := range s.repos {
		if project == "" || strings.EqualFold(repo.Project, project) {
			all = append(all, repo)
		}
	}
	lo, hi, ok := s.page(w, r.URL.Query(), len(all))
	if !ok {
		return
	}
	value := []any{}
	for _, repo := range all[lo:hi] {
		value = append(value, s.repoJSON(repo))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": value, "count": len(value)})
}

func (s *Server) getRepo(w http.ResponseWriter, repo *Repo) {
	writeJSON(w, http.StatusOK, s.repoJSON(repo))
}

func (s *Server) refJSON(repo *Repo, name, sha string) map[string]any {
	return map[string]any{
		"name":     name,
		"objectId": sha,
		"creator": map[string]any{
			"displayName": "Project Collection Build Service",
			"id":          guid("user", "creator"),
			"uniqueName":  "build@" + s.org,
		},
		"url": s.URL() + "/" + s.projects[repo.Project] + "/_apis/git/repositories/" + repo.ID +
			"/refs?filter=" + url.QueryEscape(strings.TrimPrefix(name, "refs/")),
	}
}

func (s *Server) listRefs(w http.ResponseWriter, r *http.Request, repo *Repo) {
	refs, err := repo.refsLocked()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "VssServiceException", "The repository could not be read: "+err.Error())
		return
	}
	q := r.URL.Query()
	prefix := "refs/" + q.Get("filter")
	var names []string
	for name := range refs {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	lo, hi, ok := s.page(w, q, len(names))
	if !ok {
		return
	}
	value := []any{}
	for _, name := range names[lo:hi] {
		value = append(value, s.refJSON(repo, name, refs[name]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": value, "count": len(value)})
}

type refUpdate struct {
	Name        string `json:"name"`
	OldObjectID string `json:"oldObjectId"`
	NewObjectID string `json:"newObjectId"`
}

// updateRefs applies each update as a compare-and-swap on the git
// repository, so of concurrent creates of one name exactly one sees the zero
// old object id. A zero new object id deletes the ref.
func (s *Server) updateRefs(w http.ResponseWriter, body []byte, repo *Repo, tok Token) {
	var updates []refUpdate
	if err := json.Unmarshal(body, &updates); err != nil || len(updates) == 0 {
		writeError(w, http.StatusBadRequest, "InvalidArgumentValueException",
			"The body of the request must be a list of ref updates.")
		return
	}
	if tok.NoGitPermission {
		// Creating a branch without the permission fails the whole call with
		// GitNeedsPermissionException, not a per-ref updateStatus.
		writeError(w, http.StatusForbidden, "GitNeedsPermissionException", fmt.Sprintf(
			"TF401027: You need the Git 'CreateBranch' permission to perform this action. Details: identity '%s', scope 'repository'.",
			tok.identity()))
		return
	}
	value := []any{}
	for _, u := range updates {
		status, err := repo.applyLocked(u)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "VssServiceException", "The ref could not be updated: "+err.Error())
			return
		}
		value = append(value, map[string]any{
			"repositoryId":  repo.ID,
			"name":          u.Name,
			"oldObjectId":   u.OldObjectID,
			"newObjectId":   u.NewObjectID,
			"isLocked":      false,
			"rejectedBy":    nil,
			"updateStatus":  status,
			"success":       status == "succeeded",
			"customMessage": nil,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": value, "count": len(value)})
}

// validRefName applies git's ref name rules to a refs/heads/ name.
func validRefName(name string) bool {
	short, ok := strings.CutPrefix(name, "refs/heads/")
	if !ok || short == "" || strings.HasPrefix(short, "/") || strings.HasSuffix(short, "/") ||
		strings.HasSuffix(short, ".") || strings.HasSuffix(short, ".lock") ||
		strings.Contains(short, "..") || strings.Contains(short, "//") || strings.Contains(short, "@{") {
		return false
	}
	for _, c := range short {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return false
		}
	}
	for _, part := range strings.Split(short, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// identity is how TF401027 names the token's user.
func (t Token) identity() string {
	if t.DisplayName != "" {
		return t.DisplayName
	}
	return t.Account
}

// typeNames are the .NET types behind the typeKeys whose assembly is known;
// others get the server framework's.
var typeNames = map[string]string{
	"GitNeedsPermissionException":     "Microsoft.TeamFoundation.Git.Server.GitNeedsPermissionException, Microsoft.TeamFoundation.Git.Server",
	"GitPullRequestCannotBeActivated": "Microsoft.TeamFoundation.Git.Server.GitPullRequestCannotBeActivated, Microsoft.TeamFoundation.Git.Server",
	"GitPullRequestExistsException":   "Microsoft.TeamFoundation.Git.Server.GitPullRequestExistsException, Microsoft.TeamFoundation.Git.Server",
	"GitPullRequestNotFoundException": "Microsoft.TeamFoundation.Git.Server.GitPullRequestNotFoundException, Microsoft.TeamFoundation.Git.Server",
	"GitRepositoryNotFoundException":  "Microsoft.TeamFoundation.Git.Server.GitRepositoryNotFoundException, Microsoft.TeamFoundation.Git.Server",
	"UnauthorizedRequestException":    "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server",
}

// writeError answers with the body Azure DevOps gives its exceptions.
func writeError(w http.ResponseWriter, status int, typeKey, message string) {
	typeName, ok := typeNames[typeKey]
	if !ok {
		typeName = "Microsoft.TeamFoundation.Framework.Server." + typeKey + ", Microsoft.TeamFoundation.Framework.Server"
	}
	writeJSON(w, status, map[string]any{
		"$id":            "1",
		"innerException": nil,
		"message":        message,
		"typeName":       typeName,
		"typeKey":        typeKey,
		"errorCode":      0,
		"eventId":        3000,
	})
}
