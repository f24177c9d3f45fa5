package fakegithub

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// Versions of the REST API the fake accepts in X-GitHub-Api-Version, as GitHub does.
var supportedVersions = []string{"2022-11-28", "2026-03-10"}

const (
	docsRoot   = "https://docs.github.com/rest"
	docsRefs   = "https://docs.github.com/rest/git/refs"
	docsPulls  = "https://docs.github.com/rest/pulls/pulls"
	docsRepos  = "https://docs.github.com/rest/repos/repos"
	docsLimits = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
)

// reply is an answer prepared under the lock and written after it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// request is one request being answered, with what the checks learnt of it.
type request struct {
	r       *http.Request
	body    []byte
	segs    []string // unescaped API path segments, without the /api/v3 prefix
	raw     []string // the same segments still escaped
	root    string   // http://host, the web address of the fake
	apiBase string   // root + "/" or root + "/api/v3/"
	token   string
	tok     Token
	login   string
	header  http.Header
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if owner, name, rest, ok := gitPath(r.URL.Path); ok {
		s.serveGit(w, r, owner, name, rest)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	q := &request{r: r, body: body, root: "http://" + r.Host, header: http.Header{}}
	q.apiBase = q.root + "/"
	escaped := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(escaped, "/api/v3"); ok && (rest == "" || rest[0] == '/') {
		escaped = rest
		q.apiBase = q.root + "/api/v3/"
	}
	for _, seg := range strings.Split(strings.Trim(escaped, "/"), "/") {
		if seg == "" {
			continue
		}
		u, err := url.PathUnescape(seg)
		if err != nil {
			u = seg
		}
		q.raw = append(q.raw, seg)
		q.segs = append(q.segs, u)
	}
	q.token = credential(r.Header.Get("Authorization"))

	s.mu.Lock()
	rep := s.handle(q)
	s.calls = append(s.calls, Call{Method: r.Method, Path: "/" + strings.Join(q.segs, "/"),
		Query: r.URL.RawQuery, Token: q.token, Body: body, Status: rep.status})
	s.mu.Unlock()

	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rep.status)
	w.Write(rep.body)
}

// credential returns the token of an Authorization header in any form GitHub
// accepts: "Bearer T", "token T" or Basic with the token as password.
func credential(h string) string {
	scheme, value, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return ""
	}
	value = strings.TrimSpace(value)
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		return value
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return ""
		}
		_, password, _ := strings.Cut(string(raw), ":")
		return password
	}
	return ""
}

// handle runs GitHub's checks in GitHub's order and routes. Callers hold s.mu.
func (s *Server) handle(q *request) reply {
	r := q.r
	if s.failing {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
			return reply{http.StatusServiceUnavailable, h, []byte(unicornPage)}
		}
		return q.json(http.StatusInternalServerError, map[string]any{"message": "Server Error"})
	}
	if r.Header.Get("User-Agent") == "" {
		h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
		return reply{http.StatusForbidden, h, []byte("Request forbidden by administrative rules. " +
			"Please make sure your request has a User-Agent header " +
			"(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). " +
			"Check https://developer.github.com for other possible causes.\n")}
	}
	// The rate limit headers come with every answer from here on, counted
	// against the token's user when the token is good, else as anonymous.
	tok, known := s.tokens[q.token]
	valid := known && !tok.Expired && (tok.ExpiresAt == nil || time.Now().Before(*tok.ExpiresAt))
	if valid {
		s.rateHeaders(q, tok.Login)
	} else {
		s.rateHeaders(q, "")
	}
	if accept := r.Header.Get("Accept"); !acceptable(accept) {
		return q.errorf(http.StatusUnsupportedMediaType, docsRoot+"/using-the-rest-api/getting-started-with-the-rest-api#media-types",
			"Unsupported 'Accept' header: [%q]. Must accept 'application/json'.", accept)
	}
	version := r.Header.Get("X-GitHub-Api-Version")
	if version != "" && !slices.Contains(supportedVersions, version) {
		return q.errorf(http.StatusBadRequest, docsRoot+"/about-the-rest-api/api-versions",
			"API version %s is not supported.", version)
	}
	if version == "" {
		version = supportedVersions[0]
	}
	q.header.Set("X-GitHub-Api-Version-Selected", version)
	q.header.Set("X-GitHub-Media-Type", "github.v3; format=json")

	if q.token == "" {
		return q.errorf(http.StatusUnauthorized, docsRoot, "Requires authentication")
	}
	if !valid {
		return q.errorf(http.StatusUnauthorized, docsRoot, "Bad credentials")
	}
	q.tok, q.login = tok, tok.Login
	if tok.Scopes != nil {
		q.header.Set("X-OAuth-Scopes", strings.Join(tok.Scopes, ", "))
	}
	if tok.ExpiresAt != nil {
		q.header.Set("github-authentication-token-expiration", tok.ExpiresAt.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	if s.rateLimited {
		reset := time.Now().Add(60 * time.Second).Unix()
		q.header.Set("X-RateLimit-Remaining", "0")
		q.header.Set("X-RateLimit-Used", "5000")
		q.header.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		return q.errorf(http.StatusForbidden, docsLimits+"#about-primary-rate-limits",
			"API rate limit exceeded for user ID %d. If you reach out to GitHub Support for help, "+
				"please include the request ID %s.", s.userID(q.login), requestID(len(s.calls)))
	}
	if s.secondaryLimits {
		q.header.Set("Retry-After", "30")
		return q.errorf(http.StatusForbidden, docsLimits+"#about-secondary-rate-limits",
			"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "+
				"If you reach out to GitHub Support for help, please include the request ID %s.", requestID(len(s.calls)))
	}
	return s.route(q)
}

// acceptable reports whether GitHub serves JSON for this Accept header:
// absent, a wildcard, application/json or one of GitHub's media types.
func acceptable(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		switch {
		case mt == "*/*", mt == "application/*", mt == "application/json":
			return true
		case strings.HasPrefix(mt, "application/vnd.github"):
			return mt == "application/vnd.github" || strings.HasSuffix(mt, "+json") ||
				!strings.Contains(mt, "+") // application/vnd.github.v3, …preview
		}
	}
	return false
}

// rateHeaders sets the primary rate limit headers GitHub sends on every
// response and counts the request. The counts never run out on their own (a
// new window begins instead), so long tests and benchmarks are not cut
// short; SetRateLimited is how a test exhausts the limit. Callers hold s.mu.
func (s *Server) rateHeaders(q *request, login string) {
	limit := 5000
	if login == "" {
		limit = 60
	}
	if time.Now().After(s.windowReset) || s.used[login] >= limit-1 {
		s.used = map[string]int{}
		s.windowReset = time.Now().Add(time.Hour).Truncate(time.Second)
	}
	s.used[login]++
	used := s.used[login]
	q.header.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	q.header.Set("X-RateLimit-Remaining", strconv.Itoa(limit-used))
	q.header.Set("X-RateLimit-Used", strconv.Itoa(used))
	q.header.Set("X-RateLimit-Reset", strconv.FormatInt(s.windowReset.Unix(), 10))
	q.header.Set("X-RateLimit-Resource", "core")
}

func requestID(n int) string { return fmt.Sprintf("C0DE:%04X:%06X:%06X:FA4E", n, n*7919, n*104729) }

// route dispatches an authenticated request. Callers hold s.mu.
func (s *Server) route(q *request) reply {
	m, seg := q.r.Method, q.segs
	get := m == http.MethodGet || m == http.MethodHead
	switch {
	case len(seg) == 1 && seg[0] == "user" && get:
		return q.json(http.StatusOK, s.userJSON(q, q.login))
	case len(seg) == 2 && seg[0] == "user" && seg[1] == "repos" && get:
		return s.listRepos(q, "")
	case len(seg) == 3 && (seg[0] == "orgs" || seg[0] == "users") && seg[2] == "repos" && get:
		return s.listRepos(q, seg[1])
	case len(seg) >= 3 && seg[0] == "repos":
		// GitHub names the scope of repository routes even when it hides
		// the repository (404) from a classic token without it.
		q.header.Set("X-Accepted-OAuth-Scopes", "repo")
		repo := s.repos[strings.ToLower(seg[1]+"/"+seg[2])]
		if repo == nil || !repo.visibleTo(q.tok) {
			return q.notFound(docsRepos + "#get-a-repository")
		}
		if slices.ContainsFunc(q.tok.SSOOrgs, func(o string) bool { return strings.EqualFold(o, repo.owner) }) {
			q.header.Set("X-GitHub-SSO", "required; url="+q.root+"/orgs/"+repo.owner+"/sso?authorization_request=A1B2C3")
			return q.errorf(http.StatusForbidden, docsRoot+"/overview/other-authentication-methods#authenticating-for-saml-sso",
				"Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.")
		}
		return s.routeRepo(q, repo, seg[3:])
	}
	return q.notFound(docsRoot)
}

func (s *Server) routeRepo(q *request, repo *Repo, seg []string) reply {
	m := q.r.Method
	get := m == http.MethodGet || m == http.MethodHead
	switch {
	case len(seg) == 0 && get:
		return q.json(http.StatusOK, s.repoJSON(q, repo))
	case len(seg) == 1 && seg[0] == "branches" && get:
		return s.listBranches(q, repo)
	case len(seg) >= 3 && seg[0] == "git" && seg[1] == "ref" && get:
		return s.getRef(q, repo)
	case len(seg) == 2 && seg[0] == "git" && seg[1] == "refs" && m == http.MethodPost:
		return s.createRef(q, repo)
	case len(seg) >= 3 && seg[0] == "git" && seg[1] == "refs" && m == http.MethodDelete:
		return s.deleteRef(q, repo)
	case len(seg) == 2 && seg[0] == "git" && seg[1] == "commits" && m == http.MethodPost:
		return s.createCommit(q, repo)
	case len(seg) == 3 && seg[0] == "git" && seg[1] == "commits" && get:
		return s.getCommit(q, repo, seg[2])
	case len(seg) == 1 && seg[0] == "pulls" && m == http.MethodPost:
		return s.createPull(q, repo)
	case (len(seg) == 1 || len(seg) == 2) && seg[0] == "pulls" && get:
		// Pull requests follow their head branches however these moved.
		if err := repo.syncPulls(); err != nil {
			return q.gitFailed(err)
		}
		if len(seg) == 1 {
			return s.listPulls(q, repo)
		}
		n, err := strconv.Atoi(seg[1])
		for _, p := range repo.pulls {
			if err == nil && p.number == n {
				return q.json(http.StatusOK, s.pullDetail(q, repo, p))
			}
		}
		return q.notFound(docsPulls + "#get-a-pull-request")
	}
	return q.notFound(docsRoot)
}

func (s *Server) listRepos(q *request, owner string) reply {
	var list []*Repo
	var hidden []string
	for _, r := range s.repos {
		if owner != "" && !strings.EqualFold(r.owner, owner) || !r.visibleTo(q.tok) {
			continue
		}
		if slices.ContainsFunc(q.tok.SSOOrgs, func(o string) bool { return strings.EqualFold(o, r.owner) }) {
			if id := strconv.FormatInt(s.userID(r.owner), 10); !slices.Contains(hidden, id) {
				hidden = append(hidden, id)
			}
			continue
		}
		list = append(list, r)
	}
	if owner != "" && len(list) == 0 && len(hidden) == 0 {
		if _, exists := s.users[strings.ToLower(owner)]; !exists {
			return q.notFound(docsRepos + "#list-organization-repositories")
		}
	}
	if owner == "" {
		// GET /user/repos sorts by full_name by default; the org and user lists by creation.
		slices.SortFunc(list, func(a, b *Repo) int {
			return strings.Compare(strings.ToLower(a.FullName()), strings.ToLower(b.FullName()))
		})
	} else {
		slices.SortFunc(list, func(a, b *Repo) int { return int(a.id - b.id) })
	}
	if len(hidden) > 0 {
		slices.Sort(hidden)
		q.header.Set("X-GitHub-SSO", "partial-results; organizations="+strings.Join(hidden, ","))
	}
	items := make([]any, 0, len(list))
	for _, r := range list {
		items = append(items, s.repoJSON(q, r))
	}
	return q.json(http.StatusOK, q.paginate(items))
}

func (s *Server) listBranches(q *request, repo *Repo) reply {
	refs, err := repo.refs()
	if err != nil {
		return q.gitFailed(err)
	}
	var items []any
	for _, name := range branchNames(refs) {
		items = append(items, branchJSON(q, repo, name, refs["refs/heads/"+name]))
	}
	return q.json(http.StatusOK, q.paginate(items))
}

func (s *Server) getRef(q *request, repo *Repo) reply {
	// GitHub does not match a ref whose slashes are escaped as %2F.
	for _, seg := range q.raw[5:] {
		if strings.Contains(strings.ToUpper(seg), "%2F") {
			return q.notFound(docsRefs + "#get-a-reference")
		}
	}
	refs, err := repo.refs()
	if err != nil {
		return q.gitFailed(err)
	}
	if len(refs) == 0 {
		return q.errorf(http.StatusConflict, docsRefs+"#get-a-reference", "Git Repository is empty.")
	}
	ref := "refs/" + strings.Join(q.segs[5:], "/")
	sha, ok := refs[ref]
	if !ok {
		return q.notFound(docsRefs + "#get-a-reference")
	}
	return q.json(http.StatusOK, refJSON(q, repo, ref, sha))
}

func (s *Server) createRef(q *request, repo *Repo) reply {
	const doc = docsRefs + "#create-a-reference"
	if rep, denied := s.denyWrite(q, repo, "contents=write", doc); denied {
		return rep
	}
	var in struct{ Ref, SHA string }
	if rep, bad := q.decode(doc, []string{"ref", "sha"}, map[string]any{"ref": &in.Ref, "sha": &in.SHA}); bad {
		return rep
	}
	g, err := repo.gitRepo()
	if err != nil {
		return q.gitFailed(err)
	}
	refs, err := g.Refs()
	if err != nil {
		return q.gitFailed(err)
	}
	if len(refs) == 0 {
		return q.errorf(http.StatusConflict, doc, "Git Repository is empty.")
	}
	if !strings.HasPrefix(in.Ref, "refs/") || strings.Count(in.Ref, "/") < 2 || !validRefName(in.Ref) {
		return q.errorf(http.StatusUnprocessableEntity, doc, "Reference name is invalid")
	}
	if !hasCommit(g, in.SHA) {
		return q.errorf(http.StatusUnprocessableEntity, doc, "Object does not exist")
	}
	if _, exists := refs[in.Ref]; exists {
		return q.errorf(http.StatusUnprocessableEntity, doc, "Reference already exists")
	}
	switch err := g.UpdateRef(in.Ref, in.SHA, ""); {
	case errors.Is(err, fakegit.ErrStale):
		return q.errorf(http.StatusUnprocessableEntity, doc, "Reference already exists")
	case err != nil:
		// Git cannot hold refs/heads/a next to refs/heads/a/b.
		return q.errorf(http.StatusUnprocessableEntity, doc, "Reference update failed")
	}
	body := refJSON(q, repo, in.Ref, in.SHA)
	q.header.Set("Location", body["url"].(string))
	return q.json(http.StatusCreated, body)
}

// listPulls answers GET /repos/{owner}/{repo}/pulls with GitHub's filters,
// orders and pagination. The sorts that need data the fake does not keep
// (popularity, long-running) are refused rather than answered wrongly.
func (s *Server) listPulls(q *request, repo *Repo) reply {
	const doc = docsPulls + "#list-pull-requests"
	v := q.r.URL.Query()
	state := cmp.Or(v.Get("state"), "open")
	sortBy := cmp.Or(v.Get("sort"), "created")
	direction := v.Get("direction")
	if direction == "" {
		// GitHub's default: newest first for the creation order, else ascending.
		direction = "asc"
		if sortBy == "created" {
			direction = "desc"
		}
	}
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"state", state == "open" || state == "closed" || state == "all"},
		{"sort", sortBy == "created" || sortBy == "updated"},
		{"direction", direction == "asc" || direction == "desc"},
	} {
		if !f.ok {
			return q.validation(doc, map[string]any{"resource": "PullRequest", "field": f.name, "code": "invalid"})
		}
	}
	// Like GitHub, a head filter without the "owner:" part is ignored.
	headOwner, headRef, headFilter := strings.Cut(v.Get("head"), ":")
	base := v.Get("base")
	var list []*pull
	for _, p := range repo.pulls {
		if state != "all" && p.state != state {
			continue
		}
		if headFilter && (!strings.EqualFold(headOwner, repo.owner) || p.head != headRef) {
			continue
		}
		if base != "" && p.base != base {
			continue
		}
		list = append(list, p)
	}
	slices.SortFunc(list, func(a, b *pull) int {
		c := a.created.Compare(b.created)
		if sortBy == "updated" {
			c = a.updated.Compare(b.updated)
		}
		c = cmp.Or(c, cmp.Compare(a.number, b.number))
		if direction == "desc" {
			c = -c
		}
		return c
	})
	items := make([]any, 0, len(list))
	for _, p := range list {
		items = append(items, s.pullJSON(q, repo, p))
	}
	return q.json(http.StatusOK, q.paginate(items))
}

func (s *Server) createPull(q *request, repo *Repo) reply {
	const doc = docsPulls + "#create-a-pull-request"
	if rep, denied := s.denyWrite(q, repo, "pull_requests=write", doc); denied {
		return rep
	}
	var in struct {
		Title, Head, Base, Body string
		Draft                   bool
	}
	if rep, bad := q.decode(doc, []string{"head", "base"}, map[string]any{"title": &in.Title, "head": &in.Head,
		"base": &in.Base, "body": &in.Body, "draft": &in.Draft}); bad {
		return rep
	}
	if in.Title == "" {
		return q.validation(doc, map[string]any{"resource": "PullRequest", "code": "missing_field", "field": "title"})
	}
	headRef := in.Head
	if owner, ref, ok := strings.Cut(in.Head, ":"); ok {
		headRef = ref
		if !strings.EqualFold(owner, repo.owner) {
			headRef = "" // another owner's fork: the fake has none
		}
	}
	p, problems, err := repo.openPull(headRef, in.Base, in.Title, in.Body, in.Draft, q.login)
	if err != nil {
		return q.gitFailed(err)
	}
	if len(problems) > 0 {
		if m, _ := problems[0]["message"].(string); strings.HasPrefix(m, "No commits between") {
			// GitHub names the head as the request gave it.
			problems[0]["message"] = fmt.Sprintf("No commits between %s and %s", in.Base, in.Head)
		}
		errs := make([]any, len(problems))
		for i, p := range problems {
			errs[i] = p
		}
		return q.validation(doc, errs...)
	}
	body := s.pullDetail(q, repo, p)
	q.header.Set("Location", body["url"].(string))
	return q.json(http.StatusCreated, body)
}

// gitFailed is the fake's own failure (git could not run), answered as
// GitHub answers its internal errors.
func (q *request) gitFailed(err error) reply {
	return q.errorf(http.StatusInternalServerError, docsRoot, "Server Error: %v", err)
}

// denyWrite answers a write the token may not make the way GitHub does, or
// an archived repository's refusal. Callers hold s.mu.
func (s *Server) denyWrite(q *request, repo *Repo, permission, doc string) (reply, bool) {
	if q.readOnly() {
		if q.tok.Scopes == nil {
			q.header.Set("X-Accepted-GitHub-Permissions", permission)
			return q.errorf(http.StatusForbidden, doc, "Resource not accessible by personal access token"), true
		}
		return q.notFound(doc), true
	}
	if repo.archived {
		return q.errorf(http.StatusForbidden, doc, "Repository was archived so is read-only."), true
	}
	return reply{}, false
}

func (q *request) readOnly() bool {
	if q.tok.ReadOnly {
		return true
	}
	return q.tok.Scopes != nil && !slices.Contains(q.tok.Scopes, "repo") && !slices.Contains(q.tok.Scopes, "public_repo")
}

// decode parses a JSON object body strictly: required names must be present,
// and every known field must have the type of its destination (*string or
// *bool). Unknown fields are ignored, as GitHub does.
func (q *request) decode(doc string, required []string, fields map[string]any) (reply, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(q.body, &obj); err != nil || obj == nil {
		return q.errorf(http.StatusBadRequest, doc, "Problems parsing JSON"), true
	}
	var missing []string
	for _, name := range required {
		if v, ok := obj[name]; !ok || string(v) == "null" {
			missing = append(missing, strconv.Quote(name))
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		return q.errorf(http.StatusUnprocessableEntity, doc, "Invalid request.\n\n%s wasn't supplied.", missing[0]), true
	default:
		return q.errorf(http.StatusUnprocessableEntity, doc, "Invalid request.\n\n%s weren't supplied.", strings.Join(missing, ", ")), true
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		raw, ok := obj[name]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, fields[name]); err != nil {
			kind := "string"
			if _, isBool := fields[name].(*bool); isBool {
				kind = "boolean"
			}
			return q.errorf(http.StatusUnprocessableEntity, doc, "Invalid request.\n\nFor 'properties/%s', %s is not a %s.",
				name, string(raw), kind), true
		}
	}
	return reply{}, false
}

// hasCommit reports whether sha is the full name of a commit of g. Git
// would also resolve "main" or "HEAD~1"; GitHub takes only a full sha.
func hasCommit(g *fakegit.Repo, sha string) bool {
	if _, err := hex.DecodeString(sha); err != nil || len(sha) != 40 {
		return false
	}
	got, ok := g.Resolve(sha)
	return ok && got == strings.ToLower(sha)
}

// validRefName applies git check-ref-format's rules.
func validRefName(ref string) bool {
	if strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") || strings.Contains(ref, "..") ||
		strings.Contains(ref, "//") || strings.Contains(ref, "@{") || ref == "@" {
		return false
	}
	for _, c := range ref {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return false
		}
	}
	for _, part := range strings.Split(ref, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return false
		}
	}
	return true
}

// paginate cuts items to the requested page (per_page default 30, max 100)
// and sets GitHub's Link header, built from the request's own URL.
func (q *request) paginate(items []any) []any {
	v := q.r.URL.Query()
	per, err := strconv.Atoi(v.Get("per_page"))
	if err != nil || per < 1 {
		per = 30
	}
	per = min(per, 100)
	page, err := strconv.Atoi(v.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	last := max(1, (len(items)+per-1)/per)
	link := func(p int, rel string) string {
		v.Set("page", strconv.Itoa(p))
		return fmt.Sprintf("<%s%s?%s>; rel=%q", q.root, q.r.URL.EscapedPath(), v.Encode(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		q.header.Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*per, len(items))
	out := items[start:min(start+per, len(items))]
	if out == nil {
		out = []any{}
	}
	return out
}

func (q *request) json(status int, v any) reply {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	q.header.Set("Content-Type", "application/json; charset=utf-8")
	return reply{status, q.header, buf.Bytes()}
}

func (q *request) errorf(status int, doc, format string, args ...any) reply {
	return q.json(status, map[string]any{"message": fmt.Sprintf(format, args...),
		"documentation_url": doc, "status": strconv.Itoa(status)})
}

func (q *request) notFound(doc string) reply { return q.errorf(http.StatusNotFound, doc, "Not Found") }

func (q *request) validation(doc string, errs ...any) reply {
	return q.json(http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
		"errors": errs, "documentation_url": doc, "status": "422"})
}

func (s *Server) userJSON(q *request, login string) map[string]any {
	id := s.userID(login)
	typ := "Organization"
	for _, t := range s.tokens {
		if strings.EqualFold(t.Login, login) {
			typ = "User"
			break
		}
	}
	return map[string]any{
		"login": login, "id": id, "node_id": nodeID("U_", id), "type": typ, "site_admin": false,
		"avatar_url": fmt.Sprintf("%s/avatars/u/%d", q.root, id),
		"html_url":   q.root + "/" + login, "url": q.apiBase + "users/" + login,
		"repos_url": q.apiBase + "users/" + login + "/repos",
	}
}

func (s *Server) repoJSON(q *request, r *Repo) map[string]any {
	full := r.FullName()
	write := !q.readOnly()
	ts := r.created.Format(time.RFC3339)
	visibility := "public"
	if r.private {
		visibility = "private"
	}
	return map[string]any{
		"id": r.id, "node_id": nodeID("R_", r.id), "name": r.name, "full_name": full,
		"private": r.private, "visibility": visibility, "fork": false, "description": nil,
		"owner":    s.userJSON(q, r.owner),
		"html_url": q.root + "/" + full, "url": q.apiBase + "repos/" + full,
		"branches_url":   q.apiBase + "repos/" + full + "/branches{/branch}",
		"pulls_url":      q.apiBase + "repos/" + full + "/pulls{/number}",
		"git_refs_url":   q.apiBase + "repos/" + full + "/git/refs{/sha}",
		"clone_url":      q.root + "/" + full + ".git",
		"default_branch": r.defaultBranch, "archived": r.archived, "disabled": false,
		"created_at": ts, "updated_at": ts, "pushed_at": ts,
		"permissions": map[string]bool{"admin": false, "maintain": false, "push": write, "triage": write, "pull": true},
	}
}

func branchJSON(q *request, r *Repo, name, sha string) map[string]any {
	return map[string]any{
		"name":      name,
		"commit":    map[string]any{"sha": sha, "url": q.apiBase + "repos/" + r.FullName() + "/commits/" + sha},
		"protected": false,
	}
}

func refJSON(q *request, r *Repo, ref, sha string) map[string]any {
	parts := strings.Split(strings.TrimPrefix(ref, "refs/"), "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return map[string]any{
		"ref": ref, "node_id": "REF_" + base64.RawURLEncoding.EncodeToString([]byte(r.FullName()+":"+ref)),
		"url": q.apiBase + "repos/" + r.FullName() + "/git/refs/" + strings.Join(parts, "/"),
		"object": map[string]any{"sha": sha, "type": "commit",
			"url": q.apiBase + "repos/" + r.FullName() + "/git/commits/" + sha},
	}
}

// pullJSON is a pull request as GitHub lists it ("pull-request-simple").
func (s *Server) pullJSON(q *request, r *Repo, p *pull) map[string]any {
	full := r.FullName()
	api := fmt.Sprintf("%srepos/%s/pulls/%d", q.apiBase, full, p.number)
	web := fmt.Sprintf("%s/%s/pull/%d", q.root, full, p.number)
	end := func(ref, sha string) map[string]any {
		return map[string]any{"label": r.owner + ":" + ref, "ref": ref, "sha": sha,
			"user": s.userJSON(q, r.owner), "repo": s.repoJSON(q, r)}
	}
	stamp := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.Format(time.RFC3339)
	}
	return map[string]any{
		"url": api, "id": p.id, "node_id": nodeID("PR_", p.id), "number": p.number,
		"html_url": web, "diff_url": web + ".diff", "patch_url": web + ".patch",
		"state": p.state, "locked": false, "title": p.title, "body": p.body, "draft": p.draft,
		"user": s.userJSON(q, p.author), "created_at": stamp(p.created), "updated_at": stamp(p.updated),
		"closed_at": stamp(p.closedAt), "merged_at": stamp(p.mergedAt),
		"head": end(p.head, p.headSHA), "base": end(p.base, p.baseSHA),
		"author_association": "MEMBER",
	}
}

// pullDetail is a pull request as GitHub answers it alone (created or
// read by number): the list's fields and a few more.
func (s *Server) pullDetail(q *request, r *Repo, p *pull) map[string]any {
	body := s.pullJSON(q, r, p)
	body["merged"], body["mergeable"], body["commits"], body["comments"] = p.merged, nil, 1, 0
	return body
}

func nodeID(prefix string, id int64) string {
	return prefix + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

// unicornPage is the shape of GitHub's HTML error page during an outage.
const unicornPage = `<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8">
    <title>Unicorn! &middot; GitHub</title>
  </head>
  <body>
    <p><strong>No server is currently available to service your request.</strong></p>
    <p>Sorry about that. Please try refreshing and contact us if the problem persists.</p>
  </body>
</html>
`
