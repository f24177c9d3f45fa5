package fakegitlab

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
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
	// git's requests carry pack data for git itself: they are not read here.
	if project, rest, ok := gitPath(r.URL.Path); ok && !strings.HasPrefix(r.URL.Path, apiPrefix) {
		s.serveGit(w, r, project, rest)
		return
	}
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

// hasScope reports whether the token has one of scopes.
func (t *tokenState) hasScope(scopes ...string) bool {
	for _, have := range t.scopes() {
		if slices.Contains(scopes, have) {
			return true
		}
	}
	return false
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
	if q.tok.hasScope(scopes...) {
		return true
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
		// One project's answer says what the caller's membership grants.
		out := q.s.projectJSON(p)
		out["permissions"] = map[string]any{"project_access": map[string]any{"access_level": level, "notification_level": 3},
			"group_access": nil}
		writeJSON(q.w, http.StatusOK, out)
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
	heads, err := p.headsLocked()
	if err != nil {
		q.error(http.StatusInternalServerError, "message", "500 Internal Server Error")
		return
	}
	switch {
	case rest[0] == "merge_requests" && m == http.MethodGet:
		q.listMergeRequests(p, heads)
	case rest[0] == "merge_requests" && m == http.MethodPost:
		q.createMergeRequest(p)
	case len(rest) == 2 && m == http.MethodGet:
		q.listBranches(p, heads)
	case len(rest) == 2 && m == http.MethodPost:
		q.createBranch(p, heads)
	case len(rest) == 3 && m == http.MethodDelete:
		q.deleteBranch(p, heads, rest[2])
	case len(rest) == 3 && m == http.MethodGet:
		if _, ok := heads[rest[2]]; !ok {
			q.error(http.StatusNotFound, "message", "404 Branch Not Found")
			return
		}
		q.writeBranches(p, []string{rest[2]}, heads, false)
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
	start, end := q.pageBounds(len(items))
	q.writePageOf(len(items), items[start:end])
}

// pageNumber is the page asked for, from 1.
func (q *request) pageNumber() int {
	page, _ := strconv.Atoi(q.params.Get("page"))
	return max(page, 1)
}

// pageBounds returns where the page asked for starts and ends among total items.
func (q *request) pageBounds(total int) (start, end int) {
	perPage := perPageOf(q.params)
	start = min((q.pageNumber()-1)*perPage, total)
	return start, min(start+perPage, total)
}

// writePageOf answers the items of the page asked for, out of total, with
// GitLab's offset pagination headers.
func (q *request) writePageOf(total int, items []any) {
	perPage := perPageOf(q.params)
	page := q.pageNumber()
	pages := max(1, (total+perPage-1)/perPage)

	// Past 10,000 items GitLab stops counting: no totals, no last link.
	counted := total <= 10000
	h := q.w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	if counted {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
	}
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
	links = append(links, link(1, "first"))
	if counted {
		links = append(links, link(pages, "last"))
	}
	h.Set("Link", strings.Join(links, ", "))
	writeJSON(q.w, http.StatusOK, items)
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

func (q *request) listBranches(p *Project, heads map[string]string) {
	names := make([]string, 0, len(heads))
	for n := range heads {
		names = append(names, n)
	}
	sort.Strings(names)
	// Only the page's branches are described (their commits read from git).
	start, end := q.pageBounds(len(names))
	items, err := q.branchItems(p, names[start:end], heads)
	if err != nil {
		q.error(http.StatusInternalServerError, "message", "500 Internal Server Error")
		return
	}
	q.writePageOf(len(names), items)
}

// writeBranches answers one branch (or, created, the new one) as GitLab shows it.
func (q *request) writeBranches(p *Project, names []string, heads map[string]string, created bool) {
	items, err := q.branchItems(p, names, heads)
	if err != nil {
		q.error(http.StatusInternalServerError, "message", "500 Internal Server Error")
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(q.w, status, items[0])
}

// branchItems describes branches, their head commits read from git.
func (q *request) branchItems(p *Project, names []string, heads map[string]string) ([]any, error) {
	shas := make([]string, len(names))
	for i, n := range names {
		shas[i] = heads[n]
	}
	r, err := p.gitLocked()
	if err != nil {
		return nil, err
	}
	commits, err := q.s.commitsLocked(r.Dir, shas)
	if err != nil {
		return nil, err
	}
	def := heads[p.defaultBranch]
	level := p.accessOf(q.tok.Username)
	items := make([]any, len(names))
	for i, n := range names {
		merged := n != p.defaultBranch && def != "" && q.s.isAncestorLocked(r, shas[i], def)
		items[i] = q.s.branchJSON(p, n, commits[shas[i]], merged, level)
	}
	return items, nil
}

func (q *request) createBranch(p *Project, heads map[string]string) {
	if missing := q.missing("branch", "ref"); missing != "" {
		q.error(http.StatusBadRequest, "error", missing)
		return
	}
	name, ref := q.params.Get("branch"), q.params.Get("ref")
	if !validBranchName(name) {
		q.error(http.StatusBadRequest, "message", "Branch name is invalid")
		return
	}
	if _, ok := heads[name]; ok {
		q.error(http.StatusBadRequest, "message", "Branch already exists")
		return
	}
	var sha string
	var ok bool
	if p.repo != nil {
		sha, ok = p.resolveLocked(p.repo, ref)
	}
	if !ok {
		q.error(http.StatusBadRequest, "message", "Invalid reference name: "+ref)
		return
	}
	if err := p.repo.UpdateRef("refs/heads/"+name, sha, ""); errors.Is(err, fakegit.ErrStale) {
		q.error(http.StatusBadRequest, "message", "Branch already exists")
		return
	} else if err != nil {
		q.error(http.StatusInternalServerError, "message", "500 Internal Server Error")
		return
	}
	heads[name] = sha
	q.writeBranches(p, []string{name}, heads, true)
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

// mrStates are the values of the state parameter of a merge request list.
var mrStates = []string{"opened", "closed", "locked", "merged", "all"}

// listMergeRequests answers GET /projects/:id/merge_requests with the
// filters, order and offset pagination of GitLab's list.
func (q *request) listMergeRequests(p *Project, heads map[string]string) {
	state := q.params.Get("state")
	if state == "" {
		state = "all"
	}
	orderBy := q.params.Get("order_by")
	if orderBy == "" {
		orderBy = "created_at"
	}
	dir := q.params.Get("sort")
	if dir == "" {
		dir = "desc"
	}
	// Grape's validation answers, in its words.
	switch {
	case !slices.Contains(mrStates, state):
		q.error(http.StatusBadRequest, "error", "state does not have a valid value")
		return
	case !slices.Contains([]string{"created_at", "updated_at", "title", "merged_at"}, orderBy):
		q.error(http.StatusBadRequest, "error", "order_by does not have a valid value")
		return
	case dir != "asc" && dir != "desc":
		q.error(http.StatusBadRequest, "error", "sort does not have a valid value")
		return
	}
	bounds := map[string]time.Time{}
	for _, k := range []string{"created_after", "created_before", "updated_after", "updated_before"} {
		if v := q.params.Get(k); v != "" {
			t, ok := parseDateTime(v)
			if !ok {
				q.error(http.StatusBadRequest, "error", k+" is invalid")
				return
			}
			bounds[k] = t
		}
	}
	in := func(t time.Time, after, before string) bool {
		a, hasA := bounds[after]
		b, hasB := bounds[before]
		return (!hasA || !t.Before(a)) && (!hasB || !t.After(b))
	}
	var list []*mergeRequest
	for _, m := range p.mrs {
		if state != "all" && m.state != state ||
			q.params.Has("source_branch") && m.source != q.params.Get("source_branch") ||
			q.params.Has("target_branch") && m.target != q.params.Get("target_branch") ||
			!in(m.createdAt, "created_after", "created_before") || !in(m.updatedAt, "updated_after", "updated_before") {
			continue
		}
		list = append(list, m)
	}
	compare := func(a, b *mergeRequest) int {
		switch orderBy {
		case "updated_at":
			return a.updatedAt.Compare(b.updatedAt)
		case "title":
			return strings.Compare(a.title, b.title)
		case "merged_at":
			return cmp.Compare(unixOrZero(a.mergedAt), unixOrZero(b.mergedAt))
		}
		return a.createdAt.Compare(b.createdAt)
	}
	// Ties are ordered by id, in the same direction, as GitLab does.
	slices.SortFunc(list, func(a, b *mergeRequest) int {
		c := cmp.Or(compare(a, b), cmp.Compare(a.id, b.id))
		if dir == "desc" {
			return -c
		}
		return c
	})
	items := make([]any, len(list))
	for i, m := range list {
		items[i] = q.s.mergeRequestJSON(p, m, heads)
	}
	q.writePage(items)
}

func unixOrZero(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}

// parseDateTime reads a datetime parameter as GitLab does (ISO 8601).
func parseDateTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (q *request) createMergeRequest(p *Project) {
	if missing := q.missing("title", "source_branch", "target_branch"); missing != "" {
		q.error(http.StatusBadRequest, "error", missing)
		return
	}
	m, refused := p.openLocked(q.tok.Username, q.params.Get("source_branch"), q.params.Get("target_branch"),
		q.params.Get("title"), q.params.Get("description"))
	if refused != nil {
		writeJSON(q.w, refused.status, refused.body)
		return
	}
	heads, _ := p.headsLocked()
	writeJSON(q.w, http.StatusCreated, q.s.mergeRequestJSON(p, m, heads))
}

// refusal is an API error answer.
type refusal struct {
	status int
	body   map[string]any
}

// openLocked opens a merge request, refusing what GitLab refuses.
func (p *Project) openLocked(author, src, dst, title, description string) (*mergeRequest, *refusal) {
	if src == dst {
		return nil, &refusal{http.StatusUnprocessableEntity, map[string]any{
			"message": []string{"You can't use same project/branch for source and target"}}}
	}
	for _, m := range p.mrs {
		if m.state == "opened" && m.source == src && m.target == dst {
			return nil, &refusal{http.StatusConflict, map[string]any{
				"message": []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", m.iid)}}}
		}
	}
	heads, err := p.headsLocked()
	if err != nil {
		return nil, &refusal{http.StatusInternalServerError, map[string]any{"message": "500 Internal Server Error"}}
	}
	invalid := map[string]any{}
	if _, ok := heads[src]; !ok {
		invalid["source_branch"] = []string{"does not exist"}
	}
	if _, ok := heads[dst]; !ok {
		invalid["target_branch"] = []string{"does not exist"}
	}
	if len(invalid) > 0 {
		return nil, &refusal{http.StatusBadRequest, map[string]any{"message": invalid}}
	}
	p.nextIID++
	p.s.nextMRID++
	p.s.userIDLocked(author)
	now := p.s.now()
	m := &mergeRequest{id: p.s.nextMRID, iid: p.nextIID, title: title, description: description,
		source: src, target: dst, state: "opened", author: author, createdAt: now, updatedAt: now, sha: heads[src]}
	p.mrs = append(p.mrs, m)
	return m, nil
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

// emptyLocked reports whether the project's repository has no branch,
// without making a repository that was never used.
func (p *Project) emptyLocked() bool {
	if p.repo == nil {
		return p.defaultBranch == ""
	}
	heads, err := p.headsLocked()
	return err == nil && len(heads) == 0
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
		"ssh_url_to_repo":  "git@" + s.host() + ":" + p.FullPath + ".git",
		"http_url_to_repo": web + ".git", "web_url": web, "readme_url": nil, "avatar_url": nil,
		"forks_count": 0, "star_count": 0, "empty_repo": p.emptyLocked(), "archived": p.archived,
		"visibility": "private", "merge_requests_enabled": !p.mrsDisabled,
		"merge_requests_access_level": map[bool]string{false: "enabled", true: "disabled"}[p.mrsDisabled],
		"namespace": map[string]any{"id": len(ns) + 1, "name": ns[strings.LastIndex(ns, "/")+1:],
			"path": ns[strings.LastIndex(ns, "/")+1:], "kind": "group", "full_path": ns, "web_url": s.URL() + "/groups/" + ns},
	}
}

// host is the server's host name and port, as in its SSH clone address.
func (s *Server) host() string {
	return strings.TrimPrefix(strings.TrimPrefix(s.URL(), "http://"), "https://")
}

func (s *Server) branchJSON(p *Project, name string, c commit, merged bool, level int) map[string]any {
	web := s.URL() + "/" + p.FullPath
	return map[string]any{
		"name": name, "merged": merged, "protected": name == p.defaultBranch, "default": name == p.defaultBranch,
		"developers_can_push": false, "developers_can_merge": false,
		"can_push": level >= Developer && !p.archived, "web_url": web + "/-/tree/" + name,
		"commit": s.commitJSON(p, c),
	}
}

// commitJSON is GitLab's commit entity.
func (s *Server) commitJSON(p *Project, c commit) map[string]any {
	parents := strings.Fields(c.parents)
	if parents == nil {
		parents = []string{}
	}
	return map[string]any{
		"id": c.sha, "short_id": c.sha[:min(8, len(c.sha))], "title": c.title(), "message": c.message,
		"author_name": c.authorName, "author_email": c.authorEmail, "authored_date": c.authoredAt,
		"committer_name": c.committerName, "committer_email": c.committerEmail, "committed_date": c.committed,
		"created_at": c.committed, "parent_ids": parents, "trailers": map[string]any{}, "extended_trailers": map[string]any{},
		"web_url": s.URL() + "/" + p.FullPath + "/-/commit/" + c.sha,
	}
}

// gitlabTime is how the API writes times.
func gitlabTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) userJSON(username string) map[string]any {
	return map[string]any{"id": s.userIDLocked(username), "username": username, "name": username,
		"state": "active", "locked": false, "avatar_url": nil, "web_url": s.URL() + "/" + username}
}

// mergeRequestJSON is GitLab's merge request entity; sha follows the source
// branch while the merge request is open.
func (s *Server) mergeRequestJSON(p *Project, m *mergeRequest, heads map[string]string) map[string]any {
	draft := isDraftTitle(m.title)
	sha := m.sha
	if h, ok := heads[m.source]; ok && (m.state == "opened" || m.state == "locked") {
		sha = h
	}
	var mergedAt, closedAt, mergedBy, closedBy, mergeCommit any
	if m.mergedAt != nil {
		mergedAt, mergedBy, mergeCommit = gitlabTime(*m.mergedAt), s.userJSON(helperUser), m.mergeCommit
	}
	if m.closedAt != nil && m.state == "closed" {
		closedAt, closedBy = gitlabTime(*m.closedAt), s.userJSON(helperUser)
	}
	status := "can_be_merged"
	if m.state != "opened" {
		status = "unchecked"
	}
	return map[string]any{
		"id": m.id, "iid": m.iid, "project_id": p.ID, "title": m.title, "description": m.description,
		"state": m.state, "created_at": gitlabTime(m.createdAt), "updated_at": gitlabTime(m.updatedAt),
		"merged_by": mergedBy, "merge_user": mergedBy, "merged_at": mergedAt, "closed_by": closedBy, "closed_at": closedAt,
		"source_branch": m.source, "target_branch": m.target,
		"source_project_id": p.ID, "target_project_id": p.ID,
		"author": s.userJSON(m.author), "assignees": []any{}, "assignee": nil, "reviewers": []any{},
		"labels": []string{}, "milestone": nil, "user_notes_count": 0, "upvotes": 0, "downvotes": 0,
		"draft": draft, "work_in_progress": draft, "merge_when_pipeline_succeeds": false,
		"merge_status": status, "detailed_merge_status": map[bool]string{true: "mergeable", false: "not_open"}[m.state == "opened"],
		"sha": sha, "merge_commit_sha": mergeCommit, "squash_commit_sha": nil, "squash": false,
		"discussion_locked": nil, "should_remove_source_branch": nil, "force_remove_source_branch": false,
		"references": map[string]any{"short": fmt.Sprintf("!%d", m.iid), "relative": fmt.Sprintf("!%d", m.iid),
			"full": fmt.Sprintf("%s!%d", p.FullPath, m.iid)},
		"web_url": fmt.Sprintf("%s/%s/-/merge_requests/%d", s.URL(), p.FullPath, m.iid),
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
