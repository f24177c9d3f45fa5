package fakegitlab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const apiPrefix = "/api/v4/"

// request is one API request being answered, with s.mu held.
type request struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	tok    *tokenState
	params url.Values // query string merged with a JSON or form body, as Grape does
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	token := tokenOf(r)
	rawPath, rawQuery, _ := strings.Cut(r.RequestURI, "?")

	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, RawPath: rawPath,
		Query: rawQuery, Token: token, Body: body})

	if !strings.HasPrefix(rawPath, apiPrefix) {
		http.NotFound(w, r)
		return
	}
	if s.failStatus != 0 {
		writeJSON(w, s.failStatus, map[string]any{"message": fmt.Sprintf("%d %s", s.failStatus, http.StatusText(s.failStatus))})
		return
	}
	if s.rateLimited {
		s.writeRateLimited(w)
		return
	}
	q := &request{s: s, w: w, r: r, params: mergeParams(r, body)}
	if !q.authenticate(token) {
		return
	}
	var segs []string
	for _, seg := range strings.Split(strings.TrimPrefix(rawPath, apiPrefix), "/") {
		v, err := url.PathUnescape(seg)
		if err != nil {
			q.error(http.StatusBadRequest, "message", "400 Bad request - invalid path encoding")
			return
		}
		segs = append(segs, v)
	}
	q.route(segs)
}

// tokenOf returns the token of a request: the PRIVATE-TOKEN header, a Bearer
// authorization or the private_token query parameter.
func tokenOf(r *http.Request) string {
	if t := r.Header.Get("Private-Token"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
		return a[7:]
	}
	return r.URL.Query().Get("private_token")
}

func mergeParams(r *http.Request, body []byte) url.Values {
	params := r.URL.Query()
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json") && len(bytes.TrimSpace(body)) > 0:
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			for k, v := range m {
				switch v := v.(type) {
				case string:
					params.Set(k, v)
				case nil:
				default:
					b, _ := json.Marshal(v)
					params.Set(k, string(b))
				}
			}
		}
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		if form, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range form {
				params[k] = v
			}
		}
	}
	return params
}

func (s *Server) writeRateLimited(w http.ResponseWriter) {
	// GitLab's throttle counts per 60-second period and tells when it ends.
	now := time.Now()
	retry := 60 - now.Unix()%60
	reset := now.Add(time.Duration(retry) * time.Second)
	h := w.Header()
	h.Set("RateLimit-Name", "throttle_authenticated_api")
	h.Set("RateLimit-Limit", "2000")
	h.Set("RateLimit-Observed", "2001")
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
	h.Set("Retry-After", strconv.FormatInt(retry, 10))
	h.Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	io.WriteString(w, "Retry later\n")
}

func (q *request) authenticate(token string) bool {
	if token == "" {
		q.error(http.StatusUnauthorized, "message", "401 Unauthorized")
		return false
	}
	t, ok := q.s.tokens[token]
	if !ok {
		q.error(http.StatusUnauthorized, "message", "401 Unauthorized")
		return false
	}
	switch {
	case t.Revoked:
		q.invalidToken("Token was revoked. You have to re-authorize from the user.")
		return false
	case t.Expired || (t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now())):
		q.invalidToken("Token is expired. You can either do re-authorization or token refresh.")
		return false
	}
	q.tok = t
	return true
}

func (q *request) invalidToken(desc string) {
	q.w.Header().Set("WWW-Authenticate",
		fmt.Sprintf(`Bearer realm="", error="invalid_token", error_description=%q`, desc))
	writeJSON(q.w, http.StatusUnauthorized, map[string]any{"error": "invalid_token", "error_description": desc})
}

func (t *tokenState) scopes() []string {
	switch {
	case t.ReadOnly:
		return []string{"read_api"}
	case len(t.Scopes) == 0:
		return []string{"api"}
	}
	return t.Scopes
}

// requireScope answers 403 insufficient_scope unless the token has one of scopes.
func (q *request) requireScope(scopes ...string) bool {
	for _, have := range q.tok.scopes() {
		for _, want := range scopes {
			if have == want {
				return true
			}
		}
	}
	// GitLab's 403 carries no WWW-Authenticate (rack-oauth2's Bearer::Forbidden
	// sets none; lib/api/api_guard.rb notes it).
	const desc = "The request requires higher privileges than provided by the access token."
	scope := strings.Join(scopes, " ")
	writeJSON(q.w, http.StatusForbidden, map[string]any{"error": "insufficient_scope", "error_description": desc, "scope": scope})
	return false
}

func (q *request) route(segs []string) {
	m := q.r.Method
	switch {
	case len(segs) == 1 && segs[0] == "user" && m == http.MethodGet:
		if q.requireScope("api", "read_api", "read_user") {
			q.getUser()
		}
	case len(segs) == 2 && segs[0] == "personal_access_tokens" && segs[1] == "self" && m == http.MethodGet:
		q.getTokenSelf()
	case len(segs) == 1 && segs[0] == "projects" && m == http.MethodGet:
		if q.requireScope("api", "read_api") {
			q.listProjects()
		}
	case len(segs) == 3 && segs[0] == "groups" && segs[2] == "projects" && m == http.MethodGet:
		if q.requireScope("api", "read_api") {
			q.listGroupProjects(segs[1])
		}
	case len(segs) >= 2 && segs[0] == "projects":
		q.routeProject(segs[1], segs[2:])
	default:
		q.error(http.StatusNotFound, "error", "404 Not Found")
	}
}

func (q *request) routeProject(id string, rest []string) {
	m := q.r.Method
	write := m != http.MethodGet && m != http.MethodHead
	scopes := []string{"api", "read_api"}
	if write {
		scopes = []string{"api"}
	}
	if !q.requireScope(scopes...) {
		return
	}
	p := q.s.findProject(id)
	if p == nil || p.accessOf(q.tok.Username) == NoAccess {
		q.error(http.StatusNotFound, "message", "404 Project Not Found")
		return
	}
	level := p.accessOf(q.tok.Username)
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		writeJSON(q.w, http.StatusOK, q.s.projectJSON(p))
		return
	case len(rest) >= 2 && rest[0] == "repository" && rest[1] == "branches":
	case len(rest) == 1 && rest[0] == "merge_requests":
	default:
		q.error(http.StatusNotFound, "error", "404 Not Found")
		return
	}
	// Code and merge requests of a private project need Reporter to read and
	// Developer to write; an archived project is read-only.
	if level < Reporter || write && (level < Developer || p.archived) || rest[0] == "merge_requests" && p.mrsDisabled {
		q.error(http.StatusForbidden, "message", "403 Forbidden")
		return
	}
	switch {
	case rest[0] == "merge_requests" && m == http.MethodGet:
		q.listMergeRequests(p)
	case rest[0] == "merge_requests" && m == http.MethodPost:
		q.createMergeRequest(p)
	case len(rest) == 2 && m == http.MethodGet:
		q.listBranches(p)
	case len(rest) == 2 && m == http.MethodPost:
		q.createBranch(p)
	case len(rest) == 3 && m == http.MethodGet:
		sha, ok := p.branches[rest[2]]
		if !ok {
			q.error(http.StatusNotFound, "message", "404 Branch Not Found")
			return
		}
		writeJSON(q.w, http.StatusOK, q.s.branchJSON(p, rest[2], sha, level))
	default:
		q.error(http.StatusMethodNotAllowed, "error", "405 Not Allowed")
	}
}

// findProject looks a project up by numeric id or full path.
func (s *Server) findProject(id string) *Project {
	n, err := strconv.Atoi(id)
	for _, p := range s.projects {
		if err == nil && p.ID == n || strings.EqualFold(p.FullPath, id) {
			return p
		}
	}
	return nil
}

func (q *request) getUser() {
	name := q.tok.Username
	writeJSON(q.w, http.StatusOK, map[string]any{
		"id": q.s.userIDs[name], "username": name, "name": name, "state": "active", "locked": false,
		"avatar_url": nil, "web_url": q.s.URL() + "/" + name, "created_at": "2020-01-01T00:00:00.000Z",
		"bio": "", "public_email": nil, "is_admin": false,
	})
}

func (q *request) getTokenSelf() {
	t := q.tok
	if t.Legacy {
		q.error(http.StatusNotFound, "error", "404 Not Found")
		return
	}
	var expires any
	if t.ExpiresAt != nil {
		expires = t.ExpiresAt.Format(time.DateOnly)
	}
	writeJSON(q.w, http.StatusOK, map[string]any{
		"id": t.id, "name": "token " + strconv.Itoa(t.id), "description": "", "revoked": false,
		"created_at": "2025-01-01T00:00:00.000Z", "scopes": t.scopes(), "user_id": q.s.userIDs[t.Username],
		"last_used_at": time.Now().UTC().Format(time.RFC3339), "active": true, "expires_at": expires,
	})
}

func (q *request) listProjects() {
	min := 0
	if v := q.params.Get("min_access_level"); v != "" {
		min, _ = strconv.Atoi(v)
	}
	var list []*Project
	for _, p := range q.s.projects {
		// Every visible project of the fake is private, so the user is a member.
		if l := p.accessOf(q.tok.Username); l > NoAccess && l >= min && q.archivedMatches(p) {
			list = append(list, p)
		}
	}
	q.writeProjects(list, true)
}

func (q *request) listGroupProjects(group string) {
	found := false
	var list []*Project
	sub := q.params.Get("include_subgroups") == "true"
	for _, p := range q.s.projects {
		ns := p.namespace()
		in := strings.EqualFold(ns, group) || sub && strings.HasPrefix(strings.ToLower(ns), strings.ToLower(group)+"/")
		found = found || in || strings.HasPrefix(strings.ToLower(ns), strings.ToLower(group)+"/")
		if in && p.accessOf(q.tok.Username) > NoAccess && q.archivedMatches(p) {
			list = append(list, p)
		}
	}
	if !found {
		q.error(http.StatusNotFound, "message", "404 Group Not Found")
		return
	}
	q.writeProjects(list, false)
}

func (q *request) archivedMatches(p *Project) bool {
	switch q.params.Get("archived") {
	case "true":
		return p.archived
	case "false":
		return !p.archived
	}
	return true
}

// writeProjects answers a project list ordered as asked (GitLab's default is
// newest first), with offset pagination, or keyset pagination by id where
// keyset is allowed.
func (q *request) writeProjects(list []*Project, keysetAllowed bool) {
	asc := q.params.Get("sort") == "asc"
	sort.Slice(list, func(i, j int) bool {
		if asc {
			return list[i].ID < list[j].ID
		}
		return list[i].ID > list[j].ID
	})
	if q.params.Get("pagination") == "keyset" {
		if !keysetAllowed || q.params.Get("order_by") != "id" {
			q.error(http.StatusMethodNotAllowed, "error", "Keyset pagination is not yet available for this type of request")
			return
		}
		q.writeKeyset(list, asc)
		return
	}
	items := make([]any, len(list))
	for i, p := range list {
		items[i] = q.s.projectJSON(p)
	}
	q.writePage(items)
}

func (q *request) writeKeyset(list []*Project, asc bool) {
	perPage := perPageOf(q.params)
	var after, before int
	after, _ = strconv.Atoi(q.params.Get("id_after"))
	before, _ = strconv.Atoi(q.params.Get("id_before"))
	var rest []*Project
	for _, p := range list {
		if (after == 0 || p.ID > after) && (before == 0 || p.ID < before) {
			rest = append(rest, p)
		}
	}
	page := rest[:min(perPage, len(rest))]
	items := make([]any, len(page))
	for i, p := range page {
		items[i] = q.s.projectJSON(p)
	}
	q.w.Header().Set("X-Per-Page", strconv.Itoa(perPage))
	if len(rest) > len(page) {
		next := q.linkQuery()
		next.Del("id_after")
		next.Del("id_before")
		key := "id_before"
		if asc {
			key = "id_after"
		}
		next.Set(key, strconv.Itoa(page[len(page)-1].ID))
		q.w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, q.linkURL(next)))
	}
	writeJSON(q.w, http.StatusOK, items)
}

// writePage answers one page of items with GitLab's offset pagination headers.
func (q *request) writePage(items []any) {
	perPage := perPageOf(q.params)
	page, _ := strconv.Atoi(q.params.Get("page"))
	if page < 1 {
		page = 1
	}
	total := len(items)
	pages := max(1, (total+perPage-1)/perPage)
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)

	h := q.w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	link := func(n int, rel string) string {
		v := q.linkQuery()
		v.Set("page", strconv.Itoa(n))
		v.Set("per_page", strconv.Itoa(perPage))
		return fmt.Sprintf(`<%s>; rel="%s"`, q.linkURL(v), rel)
	}
	var links []string
	if page > 1 && page <= pages {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
		links = append(links, link(page-1, "prev"))
	}
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, link(page+1, "next"))
	}
	links = append(links, link(1, "first"), link(pages, "last"))
	h.Set("Link", strings.Join(links, ", "))
	writeJSON(q.w, http.StatusOK, items[start:end])
}

func perPageOf(params url.Values) int {
	n, err := strconv.Atoi(params.Get("per_page"))
	switch {
	case err != nil || n < 1:
		return 20
	case n > 100:
		return 100
	}
	return n
}

// linkQuery is the request's query without the token, for Link headers.
func (q *request) linkQuery() url.Values {
	v := q.r.URL.Query()
	v.Del("private_token")
	return v
}

// linkURL builds a pagination link on the server's own address, as GitLab
// does from its external_url.
func (q *request) linkURL(query url.Values) string {
	rawPath, _, _ := strings.Cut(q.r.RequestURI, "?")
	return q.s.URL() + rawPath + "?" + query.Encode()
}

func (q *request) listBranches(p *Project) {
	names := make([]string, 0, len(p.branches))
	for n := range p.branches {
		names = append(names, n)
	}
	sort.Strings(names)
	level := p.accessOf(q.tok.Username)
	items := make([]any, len(names))
	for i, n := range names {
		items[i] = q.s.branchJSON(p, n, p.branches[n], level)
	}
	q.writePage(items)
}

func (q *request) createBranch(p *Project) {
	if missing := q.missing("branch", "ref"); missing != "" {
		q.error(http.StatusBadRequest, "error", missing)
		return
	}
	name, ref := q.params.Get("branch"), q.params.Get("ref")
	if !validBranchName(name) {
		q.error(http.StatusBadRequest, "message", "Branch name is invalid")
		return
	}
	if _, ok := p.branches[name]; ok {
		q.error(http.StatusBadRequest, "message", "Branch already exists")
		return
	}
	sha, ok := p.branches[ref]
	if !ok && p.commits[ref] {
		sha, ok = ref, true
	}
	if !ok {
		q.error(http.StatusBadRequest, "message", "Invalid reference name: "+ref)
		return
	}
	p.branches[name] = sha
	writeJSON(q.w, http.StatusCreated, q.s.branchJSON(p, name, sha, p.accessOf(q.tok.Username)))
}

// validBranchName applies git's ref name rules (git check-ref-format) as
// GitLab does for new branches.
func validBranchName(name string) bool {
	if name == "" || name == "HEAD" || name == "@" || strings.HasPrefix(name, "-") ||
		strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") || strings.HasSuffix(name, ".lock") ||
		strings.Contains(name, "..") || strings.Contains(name, "//") || strings.Contains(name, "@{") ||
		strings.ContainsAny(name, " ~^:?*[\\\x7f") || strings.HasPrefix(name, "/") {
		return false
	}
	for _, c := range name {
		if c < 0x20 {
			return false
		}
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}

func (q *request) listMergeRequests(p *Project) {
	state := q.params.Get("state")
	var items []any
	for i := len(p.mrs) - 1; i >= 0; i-- { // newest first
		m := p.mrs[i]
		if state != "" && state != "all" && m.state != state ||
			q.params.Has("source_branch") && m.source != q.params.Get("source_branch") ||
			q.params.Has("target_branch") && m.target != q.params.Get("target_branch") {
			continue
		}
		items = append(items, q.s.mergeRequestJSON(p, m))
	}
	if items == nil {
		items = []any{}
	}
	q.writePage(items)
}

func (q *request) createMergeRequest(p *Project) {
	if missing := q.missing("title", "source_branch", "target_branch"); missing != "" {
		q.error(http.StatusBadRequest, "error", missing)
		return
	}
	src, dst := q.params.Get("source_branch"), q.params.Get("target_branch")
	if src == dst {
		q.errorList(http.StatusUnprocessableEntity, "You can't use same project/branch for source and target")
		return
	}
	for _, m := range p.mrs {
		if m.state == "opened" && m.source == src && m.target == dst {
			q.errorList(http.StatusConflict, fmt.Sprintf("Another open merge request already exists for this source branch: !%d", m.iid))
			return
		}
	}
	invalid := map[string]any{}
	if _, ok := p.branches[src]; !ok {
		invalid["source_branch"] = []string{"does not exist"}
	}
	if _, ok := p.branches[dst]; !ok {
		invalid["target_branch"] = []string{"does not exist"}
	}
	if len(invalid) > 0 {
		writeJSON(q.w, http.StatusBadRequest, map[string]any{"message": invalid})
		return
	}
	p.nextIID++
	q.s.nextMRID++
	m := &mergeRequest{id: q.s.nextMRID, iid: p.nextIID, title: q.params.Get("title"),
		description: q.params.Get("description"), source: src, target: dst, state: "opened",
		author: q.tok.Username, createdAt: time.Now().UTC(), sha: p.branches[src]}
	p.mrs = append(p.mrs, m)
	writeJSON(q.w, http.StatusCreated, q.s.mergeRequestJSON(p, m))
}

// missing returns Grape's message for absent required parameters, or "".
func (q *request) missing(names ...string) string {
	var out []string
	for _, n := range names {
		if q.params.Get(n) == "" {
			out = append(out, n+" is missing")
		}
	}
	return strings.Join(out, ", ")
}

func (s *Server) projectJSON(p *Project) map[string]any {
	web := s.URL() + "/" + p.FullPath
	var def any
	if p.defaultBranch != "" {
		def = p.defaultBranch
	}
	ns := p.namespace()
	return map[string]any{
		"id": p.ID, "description": nil, "name": p.name(),
		"name_with_namespace": strings.ReplaceAll(p.FullPath, "/", " / "),
		"path":                p.name(), "path_with_namespace": p.FullPath,
		"created_at": "2024-01-01T00:00:00.000Z", "last_activity_at": "2025-01-01T00:00:00.000Z",
		"default_branch": def, "tag_list": []string{}, "topics": []string{},
		"ssh_url_to_repo":  "git@" + strings.TrimPrefix(strings.TrimPrefix(s.URL(), "http://"), "https://") + ":" + p.FullPath + ".git",
		"http_url_to_repo": web + ".git", "web_url": web, "readme_url": nil, "avatar_url": nil,
		"forks_count": 0, "star_count": 0, "empty_repo": len(p.branches) == 0, "archived": p.archived,
		"visibility": "private", "merge_requests_enabled": !p.mrsDisabled,
		"merge_requests_access_level": map[bool]string{false: "enabled", true: "disabled"}[p.mrsDisabled],
		"namespace": map[string]any{"id": len(ns) + 1, "name": ns[strings.LastIndex(ns, "/")+1:],
			"path": ns[strings.LastIndex(ns, "/")+1:], "kind": "group", "full_path": ns, "web_url": s.URL() + "/groups/" + ns},
	}
}

func (s *Server) branchJSON(p *Project, name, sha string, level int) map[string]any {
	web := s.URL() + "/" + p.FullPath
	return map[string]any{
		"name": name, "merged": false, "protected": name == p.defaultBranch, "default": name == p.defaultBranch,
		"developers_can_push": false, "developers_can_merge": false,
		"can_push": level >= Developer && !p.archived, "web_url": web + "/-/tree/" + name,
		"commit": map[string]any{
			"id": sha, "short_id": sha[:8], "title": "Commit " + sha[:8], "message": "Commit " + sha[:8],
			"author_name": "Fake", "author_email": "fake@example.com", "authored_date": "2025-01-01T00:00:00.000Z",
			"committer_name": "Fake", "committer_email": "fake@example.com", "committed_date": "2025-01-01T00:00:00.000Z",
			"created_at": "2025-01-01T00:00:00.000Z", "parent_ids": []string{}, "web_url": web + "/-/commit/" + sha,
		},
	}
}

func (s *Server) mergeRequestJSON(p *Project, m *mergeRequest) map[string]any {
	created := m.createdAt.Format("2006-01-02T15:04:05.000Z")
	draft := isDraftTitle(m.title)
	return map[string]any{
		"id": m.id, "iid": m.iid, "project_id": p.ID, "title": m.title, "description": m.description,
		"state": m.state, "created_at": created, "updated_at": created,
		"source_branch": m.source, "target_branch": m.target,
		"source_project_id": p.ID, "target_project_id": p.ID,
		"author": map[string]any{"id": s.userIDs[m.author], "username": m.author, "name": m.author,
			"state": "active", "web_url": s.URL() + "/" + m.author},
		"draft": draft, "work_in_progress": draft, "merge_status": "checking", "detailed_merge_status": "checking",
		"sha":        m.sha,
		"references": map[string]any{"short": fmt.Sprintf("!%d", m.iid), "full": fmt.Sprintf("%s!%d", p.FullPath, m.iid)},
		"web_url":    fmt.Sprintf("%s/%s/-/merge_requests/%d", s.URL(), p.FullPath, m.iid),
	}
}

func (q *request) error(status int, key, msg string) {
	writeJSON(q.w, status, map[string]any{key: msg})
}

// errorList answers the way GitLab renders a model's base errors: a list.
func (q *request) errorList(status int, msgs ...string) {
	writeJSON(q.w, status, map[string]any{"message": msgs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
