package fakegitlab

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// gitlabVersion is the version the fake's webhook deliveries announce.
const gitlabVersion = "18.0.0"

const zeroSHA = "0000000000000000000000000000000000000000"

// maxHookCommits is how many commits a push delivery lists: the newest 20,
// total_commits_count counting them all.
const maxHookCommits = 20

// PushDelivery builds the webhook delivery GitLab sends for a push of ref
// (refs/heads/… as "Push Hook", refs/tags/… as "Tag Push Hook") from before
// to after (zeros for a created or deleted ref), with the project's real
// commits, and secret as X-Gitlab-Token (none when empty).
func (s *Server) PushDelivery(p *Project, ref, before, after, secret string) (http.Header, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := p.mustGitLocked()
	tag := strings.HasPrefix(ref, "refs/tags/")
	event, kind := "Push Hook", "push"
	if tag {
		event, kind = "Tag Push Hook", "tag_push"
	}
	var shas []string
	total := 0
	if !tag && after != zeroSHA {
		// A new branch brings the commits its default branch lacks.
		var not []string
		if before != zeroSHA {
			not = []string{before}
		} else if def, ok := r.Resolve("refs/heads/" + p.defaultBranch); ok && ref != "refs/heads/"+p.defaultBranch {
			not = []string{def}
		}
		all, err := revList(r.Dir, after, not...)
		if err != nil {
			panic(err.Error())
		}
		total = len(all)
		shas = all[max(0, len(all)-maxHookCommits):]
	}
	commits, err := s.commitsLocked(r.Dir, shas)
	if err != nil {
		panic(err.Error())
	}
	items := make([]any, 0, len(shas))
	for _, sha := range shas {
		items = append(items, s.hookCommitJSON(p, commits[sha], true))
	}
	var checkout any = after
	if after == zeroSHA {
		checkout = nil
	}
	body := map[string]any{
		"object_kind": kind, "event_name": kind, "before": before, "after": after, "ref": ref,
		"ref_protected": ref == "refs/heads/"+p.defaultBranch, "checkout_sha": checkout, "message": nil,
		"user_id": s.userIDLocked(helperUser), "user_name": "Administrator", "user_username": helperUser,
		"user_email": "[REDACTED]", "user_avatar": nil,
		"project_id": p.ID, "project": s.hookProjectJSON(p, true), "commits": items, "total_commits_count": total,
		"push_options": map[string]any{}, "repository": s.hookRepositoryJSON(p),
	}
	return s.delivery(event, secret, body)
}

// mrStateIDs are GitLab's numbers for merge request states (state_id).
var mrStateIDs = map[string]int{"opened": 1, "closed": 2, "merged": 3, "locked": 4}

// PullRequestDelivery builds the "Merge Request Hook" delivery GitLab sends
// when the merge request iid is acted on (action: open, update, close,
// reopen, merge, approved…), with its current state, and secret as
// X-Gitlab-Token (none when empty).
func (s *Server) PullRequestDelivery(p *Project, iid int, action, secret string) (http.Header, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := p.mrLocked(iid)
	if m == nil {
		panic(fmt.Sprintf("fakegitlab: %s has no merge request !%d", p.FullPath, iid))
	}
	heads, err := p.headsLocked()
	if err != nil {
		panic(err.Error())
	}
	mr := s.mergeRequestJSON(p, m, heads)
	var last any
	if sha, _ := mr["sha"].(string); sha != "" {
		commits, err := s.commitsLocked(p.repo.Dir, []string{sha})
		if err != nil {
			panic(err.Error())
		}
		last = s.hookCommitJSON(p, commits[sha], false)
	}
	draft := isDraftTitle(m.title)
	attrs := map[string]any{
		"id": m.id, "iid": m.iid, "target_branch": m.target, "source_branch": m.source,
		"source_project_id": p.ID, "target_project_id": p.ID, "author_id": s.userIDLocked(m.author),
		"assignee_ids": []int{}, "assignee_id": nil, "reviewer_ids": []int{}, "title": m.title,
		"created_at": hookTime(m.createdAt), "updated_at": hookTime(m.updatedAt), "last_edited_at": nil,
		"milestone_id": nil, "state_id": mrStateIDs[m.state], "state": m.state,
		"blocking_discussions_resolved": true, "work_in_progress": draft, "draft": draft, "first_contribution": false,
		"merge_status": mr["merge_status"], "detailed_merge_status": mr["detailed_merge_status"],
		"merge_commit_sha": mr["merge_commit_sha"], "description": m.description, "url": mr["web_url"],
		"source": s.hookProjectJSON(p, false), "target": s.hookProjectJSON(p, false), "last_commit": last,
		"labels": []any{}, "action": action,
	}
	body := map[string]any{
		"object_kind": "merge_request", "event_type": "merge_request",
		"user": map[string]any{"id": s.userIDLocked(m.author), "name": m.author, "username": m.author,
			"avatar_url": nil, "email": "[REDACTED]"},
		"project": s.hookProjectJSON(p, true), "repository": s.hookRepositoryJSON(p),
		"object_attributes": attrs, "labels": []any{}, "changes": map[string]any{},
		"assignees": []any{}, "reviewers": []any{},
	}
	return s.delivery("Merge Request Hook", secret, body)
}

// delivery is a webhook request's headers and body, as WebHookService sends them.
func (s *Server) delivery(event, secret string, body map[string]any) (http.Header, []byte) {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err.Error())
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitLab/"+gitlabVersion)
	h.Set("Idempotency-Key", newUUID())
	h.Set("X-Gitlab-Event", event)
	h.Set("X-Gitlab-Event-UUID", newUUID())
	h.Set("X-Gitlab-Webhook-UUID", newUUID())
	h.Set("X-Gitlab-Instance", s.URL())
	if secret != "" {
		h.Set("X-Gitlab-Token", secret)
	}
	return h, b
}

// hookProjectJSON is a project as webhook payloads describe it; withID adds
// its id (the project key has one, a merge request's source and target do not).
func (s *Server) hookProjectJSON(p *Project, withID bool) map[string]any {
	web := s.URL() + "/" + p.FullPath
	ssh := "git@" + s.host() + ":" + p.FullPath + ".git"
	var def any
	if p.defaultBranch != "" {
		def = p.defaultBranch
	}
	out := map[string]any{
		"name": p.name(), "description": "", "web_url": web, "avatar_url": nil,
		"git_ssh_url": ssh, "git_http_url": web + ".git", "namespace": p.namespace(), "visibility_level": 0,
		"path_with_namespace": p.FullPath, "default_branch": def, "ci_config_path": nil,
		"homepage": web, "url": ssh, "ssh_url": ssh, "http_url": web + ".git",
	}
	if withID {
		out["id"] = p.ID
	}
	return out
}

func (s *Server) hookRepositoryJSON(p *Project) map[string]any {
	web := s.URL() + "/" + p.FullPath
	ssh := "git@" + s.host() + ":" + p.FullPath + ".git"
	return map[string]any{"name": p.name(), "url": ssh, "description": "", "homepage": web,
		"git_http_url": web + ".git", "git_ssh_url": ssh, "visibility_level": 0}
}

// hookCommitJSON is a commit as webhook payloads describe it; files adds
// the (empty: the fake's commits change no file) added, modified and removed lists.
func (s *Server) hookCommitJSON(p *Project, c commit, files bool) map[string]any {
	out := map[string]any{
		"id": c.sha, "message": c.message, "title": c.title(), "timestamp": c.authoredAt,
		"url":    s.URL() + "/" + p.FullPath + "/-/commit/" + c.sha,
		"author": map[string]any{"name": c.authorName, "email": c.authorEmail},
	}
	if files {
		out["added"], out["modified"], out["removed"] = []string{}, []string{}, []string{}
	}
	return out
}

// hookTime is how webhook payloads write times.
func hookTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
