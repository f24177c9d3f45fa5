package fakeazure

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// identity is a user as pull requests name it.
type identity struct {
	id, displayName, uniqueName string
}

// fakeAuthor is who OpenPull opens pull requests as: fakegit's default author.
var fakeAuthor = identity{id: guid("user", "fake-author"), displayName: "Fake Author", uniqueName: "author@example.com"}

type pullRequest struct {
	repo    *Repo
	id      int
	status  string // active, completed or abandoned
	title   string
	desc    string
	source  string // full ref names
	target  string
	draft   bool
	creator identity
	created time.Time
	closed  time.Time // zero while active
	// lastSource and lastTarget are the branches' heads when the pull
	// request was opened or last changed state.
	lastSource, lastTarget string
}

// apiError is a refusal the REST API answers with Azure's exception body.
type apiError struct {
	status           int
	typeKey, message string
}

func (e *apiError) Error() string { return "fakeazure: " + e.message }

const cannotBeActivated = "TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches"

// openPullLocked checks a new pull request as Azure does and records it.
func (s *Server) openPullLocked(repo *Repo, source, target, title, desc string, draft bool, by identity) (*pullRequest, *apiError) {
	if title == "" || source == "" || target == "" {
		return nil, &apiError{http.StatusBadRequest, "InvalidArgumentValueException",
			"The pull request needs a title, a source and a target ref."}
	}
	if strings.EqualFold(source, target) {
		// Unconfirmed: no public record of the service's answer to equal refs
		// was found; this 400 stands in for it.
		return nil, &apiError{http.StatusBadRequest, "InvalidArgumentValueException",
			"The source and target ref names of a pull request must be different."}
	}
	heads, err := s.headsLocked(repo, source, target)
	if err != nil {
		return nil, err
	}
	if s.activeLocked(repo, source, target) != nil {
		return nil, &apiError{http.StatusConflict, "GitPullRequestExistsException",
			"TF401179: An active pull request for the source and target branch already exists."}
	}
	pr := &pullRequest{repo: repo, id: s.nextPR, status: "active", title: title, desc: desc, source: source,
		target: target, draft: draft, creator: by, created: s.now().UTC(), lastSource: heads[0], lastTarget: heads[1]}
	s.nextPR++
	s.prs = append(s.prs, pr)
	return pr, nil
}

// headsLocked resolves a pull request's source and target branches in git.
func (s *Server) headsLocked(repo *Repo, source, target string) ([2]string, *apiError) {
	refs, err := repo.refsLocked()
	if err != nil {
		return [2]string{}, &apiError{http.StatusInternalServerError, "VssServiceException", "The repository could not be read: " + err.Error()}
	}
	var heads [2]string
	for i, ref := range []string{source, target} {
		sha, ok := refs[ref]
		if !ok || !strings.HasPrefix(ref, "refs/heads/") {
			return heads, &apiError{http.StatusBadRequest, "GitPullRequestCannotBeActivated", cannotBeActivated}
		}
		heads[i] = sha
	}
	return heads, nil
}

func (s *Server) activeLocked(repo *Repo, source, target string) *pullRequest {
	for _, pr := range s.prs {
		if pr.repo == repo && pr.status == "active" && pr.source == source && pr.target == target {
			return pr
		}
	}
	return nil
}

// OpenPull opens a pull request from branch source into target (short
// names) as fakegit's default author, with the checks the API makes, and
// returns its id.
func (r *Repo) OpenPull(source, target, title, description string, draft bool) (int, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	pr, err := r.s.openPullLocked(r, "refs/heads/"+source, "refs/heads/"+target, title, description, draft, fakeAuthor)
	if err != nil {
		return 0, err
	}
	return pr.id, nil
}

// SetPullState moves pull request id to status "active", "completed" or
// "abandoned" as Azure allows: an active one completes or is abandoned (its
// closedDate is now), an abandoned one is reactivated; a completed one stays
// completed. It changes the state only: completing merges nothing into the
// target branch (push that with Push where a test needs it).
func (r *Repo) SetPullState(id int, status string) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	var pr *pullRequest
	for _, p := range r.s.prs {
		if p.repo == r && p.id == id {
			pr = p
		}
	}
	switch {
	case pr == nil:
		return fmt.Errorf("fakeazure: %s/%s has no pull request %d", r.Project, r.Name, id)
	case status == pr.status:
		return nil
	case status != "active" && status != "completed" && status != "abandoned":
		return fmt.Errorf("fakeazure: %q is not a pull request status", status)
	case pr.status == "completed":
		return fmt.Errorf("fakeazure: pull request %d is completed", id)
	case pr.status == "abandoned" && status == "completed":
		return fmt.Errorf("fakeazure: pull request %d is abandoned: reactivate it first", id)
	}
	heads, aerr := r.s.headsLocked(r, pr.source, pr.target)
	if status == "active" {
		if aerr != nil {
			return aerr
		}
		if r.s.activeLocked(r, pr.source, pr.target) != nil {
			return fmt.Errorf("fakeazure: another pull request from %s into %s is active", pr.source, pr.target)
		}
		pr.closed = time.Time{}
	} else {
		pr.closed = r.s.now().UTC()
	}
	if aerr == nil {
		pr.lastSource, pr.lastTarget = heads[0], heads[1]
	}
	pr.status = status
	return nil
}

func (s *Server) identityJSON(u identity) map[string]any {
	return map[string]any{
		"id":          u.id,
		"displayName": u.displayName,
		"uniqueName":  u.uniqueName,
		"url":         s.URL() + "/_apis/Identities/" + u.id,
		"imageUrl":    s.URL() + "/_api/_common/identityImage?id=" + u.id,
	}
}

func date(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// prJSON is a pull request as the API answers it at api-version v; the
// repository is the shallow reference pull requests carry.
func (s *Server) prJSON(pr *pullRequest, v version) map[string]any {
	repo := pr.repo
	apiRepo := s.URL() + "/" + s.projects[repo.Project] + "/_apis/git/repositories/" + repo.ID
	commit := func(sha string) map[string]any {
		return map[string]any{"commitId": sha, "url": apiRepo + "/commits/" + sha}
	}
	m := map[string]any{
		"repository": map[string]any{
			"id":        repo.ID,
			"name":      repo.Name,
			"url":       apiRepo,
			"project":   map[string]any{"id": s.projects[repo.Project], "name": repo.Project, "state": "unchanged"},
			"remoteUrl": repo.remoteURL(),
		},
		"pullRequestId":         pr.id,
		"codeReviewId":          pr.id,
		"status":                pr.status,
		"createdBy":             s.identityJSON(pr.creator),
		"creationDate":          date(pr.created),
		"title":                 pr.title,
		"description":           pr.desc,
		"sourceRefName":         pr.source,
		"targetRefName":         pr.target,
		"mergeStatus":           "succeeded",
		"mergeId":               guid("merge", strconv.Itoa(pr.id)),
		"lastMergeSourceCommit": commit(pr.lastSource),
		"lastMergeTargetCommit": commit(pr.lastTarget),
		"reviewers":             []any{},
		"url":                   apiRepo + "/pullRequests/" + strconv.Itoa(pr.id),
		"supportsIterations":    true,
	}
	if !pr.closed.IsZero() {
		m["closedDate"] = date(pr.closed)
	}
	if pr.status == "completed" {
		m["completionQueueTime"] = date(pr.closed)
	}
	// Drafts exist from api-version 5.1 (Azure DevOps Server 2019.1) on.
	if !v.less(version{5, 1}) {
		m["isDraft"] = pr.draft
	}
	return m
}

func (s *Server) createPullRequest(w http.ResponseWriter, body []byte, repo *Repo, pat string, tok Token, v version) {
	var in struct {
		SourceRefName string `json:"sourceRefName"`
		TargetRefName string `json:"targetRefName"`
		Title         string `json:"title"`
		Description   string `json:"description"`
		IsDraft       bool   `json:"isDraft"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidArgumentValueException", "The body of the request is not a valid pull request.")
		return
	}
	if tok.NoGitPermission {
		writeError(w, http.StatusForbidden, "GitNeedsPermissionException", fmt.Sprintf(
			"TF401027: You need the Git 'PullRequestContribute' permission to perform this action. Details: identity '%s', scope 'repository'.",
			tok.identity()))
		return
	}
	draft := in.IsDraft && !v.less(version{5, 1})
	by := identity{id: userID(pat, tok), displayName: tok.DisplayName, uniqueName: tok.Account}
	pr, err := s.openPullLocked(repo, in.SourceRefName, in.TargetRefName, in.Title, in.Description, draft, by)
	if err != nil {
		writeError(w, err.status, err.typeKey, err.message)
		return
	}
	writeJSON(w, http.StatusCreated, s.prJSON(pr, v))
}

// Pull request listings: $top defaults to 101 and is capped at 1000, and
// descriptions are cut to 400 characters (the single pull request has the
// whole one), as Azure's are.
const (
	pullsDefaultTop = 101
	pullsMaxTop     = 1000
	listDescription = 400 // UTF-16 code units, .NET's characters
)

func (s *Server) listPullRequests(w http.ResponseWriter, r *http.Request, repo *Repo, v version) {
	q := r.URL.Query()
	status := strings.ToLower(q.Get("searchCriteria.status"))
	switch status {
	case "":
		status = "active"
	case "active", "completed", "abandoned", "all":
	default:
		writeError(w, http.StatusBadRequest, "InvalidArgumentValueException",
			fmt.Sprintf("The value %q of searchCriteria.status is not valid.", q.Get("searchCriteria.status")))
		return
	}
	top, skip := pullsDefaultTop, 0
	for name, dst := range map[string]*int{"$top": &top, "$skip": &skip} {
		if raw := q.Get(name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, "InvalidArgumentValueException", "The value of "+name+" is not valid.")
				return
			}
			*dst = n
		}
	}
	top = min(top, pullsMaxTop)
	within, msg := timeRange(q, v)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "InvalidArgumentValueException", msg)
		return
	}
	var found []*pullRequest
	for _, pr := range s.prs {
		if pr.repo != repo || (status != "all" && pr.status != status) || !within(pr) {
			continue
		}
		if src := q.Get("searchCriteria.sourceRefName"); src != "" && src != pr.source {
			continue
		}
		if tgt := q.Get("searchCriteria.targetRefName"); tgt != "" && tgt != pr.target {
			continue
		}
		found = append(found, pr)
	}
	// Newest first, as the documented examples list them.
	sort.Slice(found, func(i, j int) bool { return found[i].id > found[j].id })
	lo := min(skip, len(found))
	hi := min(lo+top, len(found))
	value := []any{}
	for _, pr := range found[lo:hi] {
		m := s.prJSON(pr, v)
		m["description"] = cut(pr.desc, listDescription)
		value = append(value, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": value, "count": len(value)})
}

// timeRange reads searchCriteria.minTime, maxTime and queryTimeRangeType
// (created, the default, or closed), which api-version 7.1 added; older
// versions ignore them, as ASP.NET ignores query parameters it does not
// bind. With a bound on closing, a pull request still active is out.
func timeRange(q map[string][]string, v version) (within func(*pullRequest) bool, msg string) {
	all := func(*pullRequest) bool { return true }
	if v.less(version{7, 1}) {
		return all, ""
	}
	get := func(k string) string {
		if vs := q[k]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	closed := false
	switch strings.ToLower(get("searchCriteria.queryTimeRangeType")) {
	case "", "created":
	case "closed":
		closed = true
	default:
		return nil, fmt.Sprintf("The value %q of searchCriteria.queryTimeRangeType is not valid.", get("searchCriteria.queryTimeRangeType"))
	}
	var bounds [2]time.Time
	for i, name := range []string{"searchCriteria.minTime", "searchCriteria.maxTime"} {
		if raw := get(name); raw != "" {
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				return nil, fmt.Sprintf("The value %q of %s is not valid.", raw, name)
			}
			bounds[i] = t
		}
	}
	if bounds[0].IsZero() && bounds[1].IsZero() {
		return all, ""
	}
	return func(pr *pullRequest) bool {
		at := pr.created
		if closed {
			if pr.closed.IsZero() {
				return false
			}
			at = pr.closed
		}
		return (bounds[0].IsZero() || !at.Before(bounds[0])) && (bounds[1].IsZero() || !at.After(bounds[1]))
	}, ""
}

// cut keeps the first n UTF-16 code units of s, as .NET's Substring does
// (a surrogate pair it splits becomes U+FFFD).
func cut(s string, n int) string {
	u := utf16.Encode([]rune(s))
	if len(u) <= n {
		return s
	}
	return string(utf16.Decode(u[:n]))
}

func (s *Server) getPullRequest(w http.ResponseWriter, repo *Repo, rawID string, v version) {
	id, err := strconv.Atoi(rawID)
	for _, pr := range s.prs {
		if err == nil && pr.repo == repo && pr.id == id {
			writeJSON(w, http.StatusOK, s.prJSON(pr, v))
			return
		}
	}
	writeError(w, http.StatusNotFound, "GitPullRequestNotFoundException", "TF401180: The requested pull request was not found.")
}
