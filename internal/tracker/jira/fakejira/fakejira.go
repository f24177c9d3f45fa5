// Package fakejira is an in-memory Jira Data Center REST API v2 for tests:
// the endpoints forgebridge uses (myself, user, issue, project, permission
// search, mypermissions, remote links, server info) and its OAuth 2.0 provider (authorize
// and token with PKCE), answered with Jira's payload shapes, status codes,
// headers and error bodies.
//
// It checks what Jira checks: Bearer personal access tokens and OAuth access
// tokens (a bad one gets 401 with X-Seraph-LoginReason), the caller's own
// permissions and issue security levels (an issue the caller may not browse
// is 404, as in Jira), and the permission search matches
// users by prefix like Jira's, so a client must pick the exact user itself.
package fakejira

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// User is a Jira user.
type User struct {
	Key         string // the stable user key; defaults to the lower-cased Name
	Name        string // the user name people sign in with
	DisplayName string
	Email       string
	Active      bool
	Groups      []string
	Token       string // the user's personal access token; empty: none
}

// RemoteLinkRecord is a remote link as stored on an issue.
type RemoteLinkRecord struct {
	ID              int
	GlobalID        string
	ApplicationType string
	ApplicationName string
	Relationship    string
	URL             string
	Title           string
	Summary         string
	IconURL         string
	IconTitle       string
	Resolved        bool
	// CreatedBy and UpdatedBy are the names of the users whose token wrote it.
	CreatedBy, UpdatedBy string
	// Updates counts how often a POST with the same global id replaced it.
	Updates int
}

// Call is one request the fake received. Tokens are not recorded.
type Call struct {
	Method string
	Path   string // unescaped, e.g. /rest/api/2/issue/PROJ-1
	Query  string // the raw query string
	User   string // the name of the authenticated user; empty when anonymous or rejected
}

type project struct {
	ID   int
	Key  string
	Name string
}

type issue struct {
	ID        int
	Key       string
	Summary   string
	IssueType string
	Project   string
	// security, when not nil, is the issue's security level: the lower-case
	// names of the users it lets see the issue, besides Jira's administrators.
	security map[string]bool
	status   string // the workflow status; "" is Open (actions.go)
	comments []Comment
	worklogs []Worklog
}

// Server is the fake Jira. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu          sync.Mutex
	down        bool
	retryAfter  int // with down: the Retry-After of the 503 answers
	rateLimited int // > 0: every request answers 429 with this Retry-After
	linkDelay   time.Duration
	users       map[string]*User
	projects    map[string]*project
	issues      map[string]*issue
	grants      map[string]map[string]map[string]bool // project → lower-case user name → permission
	links       map[string][]*RemoteLinkRecord        // issue key → links
	calls       []Call
	nextID      int
	now         func() time.Time

	// OAuth 2.0 provider (oauth.go)
	oauthClients  map[string]*oauthClient // by client id
	oauthUser     string                  // who signs in at the authorization endpoint
	codes         map[string]*authCode
	accessTokens  map[string]*oauthGrant
	refreshTokens map[string]*oauthGrant
	refreshes     int
}

// New starts a fake Jira. Close it when done.
func New() *Server {
	s := &Server{
		users:    map[string]*User{},
		projects: map[string]*project{},
		issues:   map[string]*issue{},
		grants:   map[string]map[string]map[string]bool{},
		links:    map[string][]*RemoteLinkRecord{},
		nextID:   10000,
		now:      time.Now,

		oauthClients:  map[string]*oauthClient{},
		codes:         map[string]*authCode{},
		accessTokens:  map[string]*oauthGrant{},
		refreshTokens: map[string]*oauthGrant{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the fake's base URL (no context path).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server; calls made afterwards fail with connection refused.
func (s *Server) Close() { s.srv.Close() }

// AddUser adds or replaces a user.
func (s *Server) AddUser(u User) {
	if u.Key == "" {
		u.Key = strings.ToLower(u.Name)
	}
	u.Groups = slices.Clone(u.Groups)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.Key] = &u
}

// SetActive activates or deactivates the user with that name.
func (s *Server) SetActive(userName string, active bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userByName(userName); u != nil {
		u.Active = active
	}
}

// AddProject adds a project.
func (s *Server) AddProject(key, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addProject(key, name)
}

func (s *Server) addProject(key, name string) {
	if _, ok := s.projects[key]; !ok {
		s.nextID++
		s.projects[key] = &project{ID: s.nextID, Key: key, Name: name}
	}
}

// AddIssue adds an issue; its project is the key's prefix, added when missing.
func (s *Server) AddIssue(key, summary, issueType string) {
	proj, _, ok := strings.Cut(key, "-")
	if !ok {
		panic("fakejira: an issue key is PROJECT-N, got " + key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addProject(proj, proj)
	s.nextID++
	s.issues[key] = &issue{ID: s.nextID, Key: key, Summary: summary, IssueType: issueType, Project: proj}
}

// RestrictIssue gives the issue a security level that lets only the named
// users (and Jira's administrators, whom the level is taken to list too, so
// the service account keeps seeing every issue) see it. Others holding
// Browse Projects on its project get 404 for it, and the permission search
// for the issue lists only users the level lets in. Calling it again
// replaces the level.
func (s *Server) RestrictIssue(issueKey string, allowedUsers ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issues[issueKey]
	if is == nil {
		panic("fakejira: RestrictIssue of an issue never added: " + issueKey)
	}
	is.security = map[string]bool{}
	for _, name := range allowedUsers {
		is.security[strings.ToLower(name)] = true
	}
}

// Grant gives the user (by name) project permissions such as
// BROWSE_PROJECTS, VIEW_DEV_TOOLS, LINK_ISSUES or ADMINISTER_PROJECTS.
func (s *Server) Grant(userName, projectKey string, perms ...string) {
	s.setGrants(userName, projectKey, perms, true)
}

// Revoke takes project permissions away from the user.
func (s *Server) Revoke(userName, projectKey string, perms ...string) {
	s.setGrants(userName, projectKey, perms, false)
}

func (s *Server) setGrants(userName, projectKey string, perms []string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byUser := s.grants[projectKey]
	if byUser == nil {
		byUser = map[string]map[string]bool{}
		s.grants[projectKey] = byUser
	}
	name := strings.ToLower(userName)
	if byUser[name] == nil {
		byUser[name] = map[string]bool{}
	}
	for _, p := range perms {
		if on {
			byUser[name][p] = true
		} else {
			delete(byUser[name], p)
		}
	}
}

// RemoteLinks returns the remote links of the issue, oldest first.
func (s *Server) RemoteLinks(issueKey string) []RemoteLinkRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RemoteLinkRecord
	for _, l := range s.links[issueKey] {
		out = append(out, *l)
	}
	return out
}

// SetDown makes every request answer 503 Service Unavailable (as Jira behind
// a proxy does while it is down or restarting), with Retry-After when
// retryAfter is given. Close the server for connection refused.
func (s *Server) SetDown(on bool, retryAfter ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = on
	s.retryAfter = 0
	if len(retryAfter) > 0 {
		s.retryAfter = retryAfter[0]
	}
}

// SetRateLimited makes every request answer 429 with that Retry-After; 0 stops it.
func (s *Server) SetRateLimited(retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited = retryAfter
}

// SetRemoteLinkDelay makes each request adding a remote link wait d, or until
// its client gives up, before it is handled: a Jira slow to answer. The link
// is written even when the client has given up, as a request that reached
// Jira may be. 0 stops it.
func (s *Server) SetRemoteLinkDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.linkDelay = d
}

func (s *Server) delayLink(r *http.Request) {
	s.mu.Lock()
	d := s.linkDelay
	s.mu.Unlock()
	if d <= 0 || r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/remotelink") {
		return
	}
	// The server notices a client that gives up only once the body is read.
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// Calls returns the requests received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// ResetCalls forgets the requests received so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// userByName finds a user by name, case-insensitively as Jira does. s.mu is held.
func (s *Server) userByName(name string) *User {
	for _, u := range s.users {
		if strings.EqualFold(u.Name, name) {
			return u
		}
	}
	return nil
}

// has reports whether the user holds perm on the project. s.mu is held.
func (s *Server) has(u *User, projectKey, perm string) bool {
	return u != nil && u.Active && s.grants[projectKey][strings.ToLower(u.Name)][perm]
}

// hasOnIssue reports whether the user holds perm on the issue: on its
// project, and let in by its security level if it has one (as in Jira, a
// user who may not see an issue holds no permission on it). s.mu is held.
func (s *Server) hasOnIssue(u *User, is *issue, perm string) bool {
	if !s.has(u, is.Project, perm) {
		return false
	}
	return is.security == nil || isAdmin(u) || is.security[strings.ToLower(u.Name)]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.delayLink(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	defer func() { s.calls = append(s.calls, call) }()

	if s.down {
		if s.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(s.retryAfter))
		}
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "<html><body><h1>503 Service Unavailable</h1></body></html>")
		return
	}
	if s.rateLimited > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s.rateLimited))
		writeError(w, http.StatusTooManyRequests, "Rate limit exceeded.")
		return
	}

	// The OAuth endpoints authenticate the client themselves, not a user.
	switch r.URL.Path {
	case authorizePath:
		s.serveAuthorize(w, r)
		return
	case tokenPath:
		s.serveToken(w, r)
		return
	}

	caller, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if caller != nil {
		call.User = caller.Name
		w.Header().Set("X-AUSERNAME", caller.Name)
	} else {
		w.Header().Set("X-AUSERNAME", "anonymous")
	}

	path := r.URL.Path
	switch {
	case path == "/rest/api/2/serverInfo" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{
			"baseUrl": s.srv.URL, "version": "9.12.15", "versionNumbers": []int{9, 12, 15},
			"deploymentType": "Server", "buildNumber": 9120015, "serverTitle": "Fake Jira",
		})
	case path == "/rest/api/2/myself" && r.Method == http.MethodGet:
		if caller == nil {
			writeError(w, http.StatusUnauthorized, "You are not authenticated. Authentication required to perform this operation.")
			return
		}
		writeJSON(w, http.StatusOK, s.userJSON(caller, expands(r, "groups")))
	case caller == nil:
		// Anonymous access is off, as on most instances.
		writeError(w, http.StatusUnauthorized, "You are not authenticated. Authentication required to perform this operation.")
	case path == "/rest/api/2/user" && r.Method == http.MethodGet:
		s.serveUser(w, r)
	case path == "/rest/api/2/user/search" && r.Method == http.MethodGet:
		s.serveUserSearch(w, r)
	case path == "/rest/api/2/user/permission/search" && r.Method == http.MethodGet:
		s.servePermissionSearch(w, r, caller)
	case path == "/rest/api/2/mypermissions" && r.Method == http.MethodGet:
		s.serveMyPermissions(w, r, caller)
	case path == "/rest/api/2/project" && r.Method == http.MethodGet:
		s.serveProjects(w, caller)
	case strings.HasPrefix(path, "/rest/api/2/issue/"):
		key, rest, _ := strings.Cut(strings.TrimPrefix(path, "/rest/api/2/issue/"), "/")
		switch {
		case rest == "" && r.Method == http.MethodGet:
			s.serveIssue(w, r, caller, key)
		case rest == "remotelink" && r.Method == http.MethodPost:
			s.serveAddRemoteLink(w, r, caller, key)
		case rest == "remotelink" && r.Method == http.MethodGet:
			s.serveRemoteLinks(w, r, caller, key)
		case rest == "remotelink" && r.Method == http.MethodDelete:
			s.serveDeleteRemoteLink(w, r, caller, key)
		case s.serveIssueAction(w, r, caller, key, rest):
		default:
			writeError(w, http.StatusNotFound, "null for uri: "+r.URL.String())
		}
	default:
		writeError(w, http.StatusNotFound, "null for uri: "+r.URL.String())
	}
}

// authenticate resolves the Bearer token: a personal access token or an
// OAuth 2.0 access token. No Authorization header is an anonymous request
// (nil, true); a token Jira does not accept, or one of a deactivated user, is
// answered 401 with X-Seraph-LoginReason.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*User, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, true
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if ok && token != "" {
		for _, u := range s.users {
			if u.Token == token && u.Active {
				w.Header().Set("X-Seraph-LoginReason", "OK")
				return u, true
			}
		}
		if u := s.oauthUserFor(token); u != nil {
			w.Header().Set("X-Seraph-LoginReason", "OK")
			if r.Method != http.MethodGet && !writeScope(s.accessTokens[token].scope) {
				writeError(w, http.StatusForbidden, "The access token's scope does not allow this request.")
				return nil, false
			}
			return u, true
		}
	}
	w.Header().Set("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
	writeError(w, http.StatusUnauthorized, "You are not authenticated. Authentication required to perform this operation.")
	return nil, false
}

func (s *Server) serveUser(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var u *User
	switch {
	case q.Get("key") != "":
		u = s.users[q.Get("key")]
		if u == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("The user with the key '%s' does not exist", q.Get("key")))
			return
		}
	case q.Get("username") != "":
		u = s.userByName(q.Get("username"))
		if u == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("The user named '%s' does not exist", q.Get("username")))
			return
		}
	default:
		writeError(w, http.StatusNotFound, "Either the 'username' or the 'key' query parameters need to be provided")
		return
	}
	writeJSON(w, http.StatusOK, s.userJSON(u, expands(r, "groups")))
}

// serveUserSearch is Jira's user search (GET /rest/api/2/user/search):
// the users whose name, e-mail address or a word of whose display name
// starts with username (required), active ones unless includeActive=false,
// inactive ones only with includeInactive=true, sorted by name and paged by
// startAt and maxResults (50 by default, at most 1000).
func (s *Server) serveUserSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := strings.ToLower(q.Get("username"))
	if filter == "" {
		writeError(w, http.StatusBadRequest, "The username query parameter was not provided")
		return
	}
	active, inactive := q.Get("includeActive") != "false", q.Get("includeInactive") == "true"
	var matched []*User
	for _, u := range s.users {
		if (u.Active && active || !u.Active && inactive) && matchesUser(u, filter) {
			matched = append(matched, u)
		}
	}
	slices.SortFunc(matched, func(a, b *User) int { return strings.Compare(a.Name, b.Name) })
	startAt, maxResults := intParam(q.Get("startAt"), 0), intParam(q.Get("maxResults"), 50)
	maxResults = min(max(maxResults, 1), 1000)
	out := []map[string]any{}
	for i := max(startAt, 0); i < len(matched) && len(out) < maxResults; i++ {
		out = append(out, s.userJSON(matched[i], false))
	}
	writeJSON(w, http.StatusOK, out)
}

// knownPermissions are the project permission keys the search accepts.
var knownPermissions = map[string]bool{
	"BROWSE_PROJECTS": true, "VIEW_DEV_TOOLS": true, "LINK_ISSUES": true, "ADMINISTER_PROJECTS": true,
	"CREATE_ISSUES": true, "EDIT_ISSUES": true, "ASSIGNABLE_USER": true, "VIEW_READONLY_WORKFLOW": true,
	"ADD_COMMENTS": true, "WORK_ON_ISSUES": true, "TRANSITION_ISSUES": true,
}

// servePermissionSearch lists the active users whose name, display name or
// e-mail address starts with the username filter and who hold all the
// permissions on the project or issue, paged by startAt and maxResults.
func (s *Server) servePermissionSearch(w http.ResponseWriter, r *http.Request, caller *User) {
	q := r.URL.Query()
	var perms []string
	for p := range strings.SplitSeq(q.Get("permissions"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !knownPermissions[p] {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Permission '%s' does not exist", p))
			return
		}
		perms = append(perms, p)
	}
	if len(perms) == 0 {
		writeError(w, http.StatusBadRequest, "At least one permission must be specified")
		return
	}
	projectKey := q.Get("projectKey")
	var onIssue *issue // the issue searched on; nil for a project
	if ik := q.Get("issueKey"); ik != "" {
		is := s.issues[ik]
		if is == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("Issue with key '%s' does not exist.", ik))
			return
		}
		projectKey, onIssue = is.Project, is
	} else if projectKey == "" {
		writeError(w, http.StatusBadRequest, "Either the 'issueKey' or the 'projectKey' query parameters need to be provided")
		return
	} else if s.projects[projectKey] == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("No project could be found with key '%s'.", projectKey))
		return
	}
	// Jira requires Administer Jira or Administer project for this search.
	if !isAdmin(caller) && !s.has(caller, projectKey, "ADMINISTER_PROJECTS") {
		writeError(w, http.StatusForbidden, "You do not have the permission to see the specified project.")
		return
	}
	startAt, maxResults := intParam(q.Get("startAt"), 0), intParam(q.Get("maxResults"), 50)
	maxResults = min(max(maxResults, 1), 1000)
	filter := strings.ToLower(q.Get("username"))

	var matched []*User
	for _, u := range s.users {
		if !u.Active || !matchesUser(u, filter) {
			continue
		}
		holdsAll := true
		for _, p := range perms {
			if onIssue != nil {
				holdsAll = holdsAll && s.hasOnIssue(u, onIssue, p)
			} else {
				holdsAll = holdsAll && s.has(u, projectKey, p)
			}
		}
		if holdsAll {
			matched = append(matched, u)
		}
	}
	slices.SortFunc(matched, func(a, b *User) int { return strings.Compare(a.Name, b.Name) })
	out := []map[string]any{}
	for i := startAt; i < len(matched) && len(out) < maxResults; i++ {
		out = append(out, s.userJSON(matched[i], false))
	}
	writeJSON(w, http.StatusOK, out)
}

// matchesUser is Jira's user search: the filter is a prefix of the name, the
// e-mail address or a word of the display name.
func matchesUser(u *User, filter string) bool {
	if filter == "" {
		return true
	}
	if strings.HasPrefix(strings.ToLower(u.Name), filter) || strings.HasPrefix(strings.ToLower(u.Email), filter) {
		return true
	}
	for word := range strings.FieldsSeq(strings.ToLower(u.DisplayName)) {
		if strings.HasPrefix(word, filter) {
			return true
		}
	}
	return false
}

func isAdmin(u *User) bool {
	return u != nil && (slices.Contains(u.Groups, "jira-administrators") || slices.Contains(u.Groups, "jira-system-administrators"))
}

// serveProjects lists the projects the caller may browse.
func (s *Server) serveProjects(w http.ResponseWriter, caller *User) {
	out := []map[string]any{}
	keys := make([]string, 0, len(s.projects))
	for k := range s.projects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !s.has(caller, k, "BROWSE_PROJECTS") {
			continue
		}
		out = append(out, s.projectJSON(s.projects[k]))
	}
	writeJSON(w, http.StatusOK, out)
}

// visibleIssue returns the issue if the caller may browse it (its project,
// and its security level if any); Jira answers 404 alike for a missing issue
// and one the caller cannot see.
func (s *Server) visibleIssue(w http.ResponseWriter, caller *User, key string) *issue {
	is := s.issues[key]
	if is == nil || !s.hasOnIssue(caller, is, "BROWSE_PROJECTS") {
		writeError(w, http.StatusNotFound, "Issue Does Not Exist")
		return nil
	}
	return is
}

func (s *Server) serveIssue(w http.ResponseWriter, r *http.Request, caller *User, key string) {
	is := s.visibleIssue(w, caller, key)
	if is == nil {
		return
	}
	all := map[string]any{
		"summary":   is.Summary,
		"issuetype": map[string]any{"self": s.srv.URL + "/rest/api/2/issuetype/1", "id": "1", "name": is.IssueType, "subtask": false},
		"project":   s.projectJSON(s.projects[is.Project]),
		"status":    s.statusJSON(is.statusName()),
	}
	fields := all
	if f := r.URL.Query().Get("fields"); f != "" && f != "*all" {
		fields = map[string]any{}
		for name := range strings.SplitSeq(f, ",") {
			if v, ok := all[strings.TrimSpace(name)]; ok {
				fields[strings.TrimSpace(name)] = v
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":     strconv.Itoa(is.ID),
		"self":   s.srv.URL + "/rest/api/2/issue/" + strconv.Itoa(is.ID),
		"key":    is.Key,
		"fields": fields,
	})
}

// remoteLinkBody is what POST …/remotelink accepts.
type remoteLinkBody struct {
	GlobalID    string `json:"globalId"`
	Application *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"application"`
	Relationship string `json:"relationship"`
	Object       *struct {
		URL     string `json:"url"`
		Title   string `json:"title"`
		Summary string `json:"summary"`
		Icon    *struct {
			URL16x16 string `json:"url16x16"`
			Title    string `json:"title"`
		} `json:"icon"`
		Status *struct {
			Resolved bool `json:"resolved"`
		} `json:"status"`
	} `json:"object"`
}

// serveAddRemoteLink creates a remote link, or updates the issue's link with
// the same globalId (201 created, 200 updated; both {id, self}).
func (s *Server) serveAddRemoteLink(w http.ResponseWriter, r *http.Request, caller *User, key string) {
	is := s.visibleIssue(w, caller, key)
	if is == nil {
		return
	}
	if !s.has(caller, is.Project, "LINK_ISSUES") {
		writeError(w, http.StatusForbidden, "You do not have permission to link issues in this project.")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	var body remoteLinkBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "Unexpected character in the request body.")
		return
	}
	if body.Object == nil || body.Object.URL == "" || body.Object.Title == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errorMessages": []string{},
			"errors": map[string]string{"title": "'title' is required.", "url": "'url' is required."}})
		return
	}
	if len(body.GlobalID) > 255 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errorMessages": []string{},
			"errors": map[string]string{"globalId": "'globalId' must be less than 255 characters."}})
		return
	}
	rec := RemoteLinkRecord{
		GlobalID: body.GlobalID, Relationship: body.Relationship,
		URL: body.Object.URL, Title: body.Object.Title, Summary: body.Object.Summary,
		CreatedBy: caller.Name, UpdatedBy: caller.Name,
	}
	if body.Application != nil {
		rec.ApplicationType, rec.ApplicationName = body.Application.Type, body.Application.Name
	}
	if body.Object.Icon != nil {
		rec.IconURL, rec.IconTitle = body.Object.Icon.URL16x16, body.Object.Icon.Title
	}
	if body.Object.Status != nil {
		rec.Resolved = body.Object.Status.Resolved
	}
	status := http.StatusCreated
	var stored *RemoteLinkRecord
	if rec.GlobalID != "" {
		for _, l := range s.links[key] {
			if l.GlobalID == rec.GlobalID {
				rec.ID, rec.CreatedBy, rec.Updates = l.ID, l.CreatedBy, l.Updates+1
				*l = rec
				stored, status = l, http.StatusOK
				break
			}
		}
	}
	if stored == nil {
		s.nextID++
		rec.ID = s.nextID
		stored = &rec
		s.links[key] = append(s.links[key], stored)
	}
	writeJSON(w, status, map[string]any{
		"id":   stored.ID,
		"self": fmt.Sprintf("%s/rest/api/2/issue/%s/remotelink/%d", s.srv.URL, key, stored.ID),
	})
}

// serveRemoteLinks lists the issue's remote links, or the one with globalId.
func (s *Server) serveRemoteLinks(w http.ResponseWriter, r *http.Request, caller *User, key string) {
	if s.visibleIssue(w, caller, key) == nil {
		return
	}
	out := []map[string]any{}
	gid := r.URL.Query().Get("globalId")
	for _, l := range s.links[key] {
		if gid != "" && l.GlobalID != gid {
			continue
		}
		obj := map[string]any{"url": l.URL, "title": l.Title, "summary": l.Summary,
			"icon":   map[string]any{"url16x16": l.IconURL, "title": l.IconTitle},
			"status": map[string]any{"resolved": l.Resolved, "icon": map[string]any{}}}
		out = append(out, map[string]any{
			"id":           l.ID,
			"self":         fmt.Sprintf("%s/rest/api/2/issue/%s/remotelink/%d", s.srv.URL, key, l.ID),
			"globalId":     l.GlobalID,
			"application":  map[string]any{"type": l.ApplicationType, "name": l.ApplicationName},
			"relationship": l.Relationship,
			"object":       obj,
		})
	}
	if gid != "" {
		if len(out) == 0 {
			writeError(w, http.StatusNotFound, "No remote link with the given global ID exists.")
			return
		}
		writeJSON(w, http.StatusOK, out[0])
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// userJSON is Jira's user bean; groups are listed only when expanded.
func (s *Server) userJSON(u *User, withGroups bool) map[string]any {
	groups := []map[string]any{}
	if withGroups {
		for _, g := range u.Groups {
			groups = append(groups, map[string]any{"name": g, "self": s.srv.URL + "/rest/api/2/group?groupname=" + g})
		}
	}
	return map[string]any{
		"self":             s.srv.URL + "/rest/api/2/user?username=" + u.Name,
		"key":              u.Key,
		"name":             u.Name,
		"emailAddress":     u.Email,
		"avatarUrls":       map[string]string{"16x16": s.srv.URL + "/secure/useravatar?size=xsmall", "48x48": s.srv.URL + "/secure/useravatar"},
		"displayName":      u.DisplayName,
		"active":           u.Active,
		"deleted":          false,
		"timeZone":         "UTC",
		"locale":           "en_US",
		"groups":           map[string]any{"size": len(u.Groups), "items": groups},
		"applicationRoles": map[string]any{"size": 1, "items": []any{}},
		"expand":           "groups,applicationRoles",
	}
}

func (s *Server) projectJSON(p *project) map[string]any {
	return map[string]any{
		"self": s.srv.URL + "/rest/api/2/project/" + strconv.Itoa(p.ID),
		"id":   strconv.Itoa(p.ID), "key": p.Key, "name": p.Name, "projectTypeKey": "software",
	}
}

func expands(r *http.Request, what string) bool {
	return slices.Contains(strings.Split(r.URL.Query().Get("expand"), ","), what)
}

func intParam(v string, def int) int {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return n
	}
	return def
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes Jira's error body.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}})
}
