package fakeazure

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Service hook deliveries, as a "Web Hooks" subscription posts them: the
// event's JSON (Microsoft's "Service hooks events" reference) with HTTP basic
// authentication whose password is the subscription's secret.

// hookUser is the subscription's basic authentication user name; receivers
// look at the password only.
const hookUser = "azure-devops"

// PushDelivery is the git.push delivery of a push that moved ref (a full
// ref name) from before to after (zeroes: created or deleted), signed with
// secret. It lists up to 20 of the pushed commits, newest first.
func (s *Server) PushDelivery(r *Repo, ref, before, after, secret string) (http.Header, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if before == "" {
		before = zeroSHA
	}
	if after == "" {
		after = zeroSHA
	}
	commits, err := r.pushedLocked(before, after)
	if err != nil {
		panic("fakeazure: " + err.Error())
	}
	s.notices++
	name := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/")
	text := fmt.Sprintf("%s pushed updates to %s of repository %s.", fakeAuthor.displayName, name, r.Name)
	resource := map[string]any{
		"commits":    commits,
		"refUpdates": []any{map[string]any{"name": ref, "oldObjectId": before, "newObjectId": after}},
		"repository": s.repoJSON(r),
		"pushedBy":   s.identityJSON(fakeAuthor),
		"pushId":     s.notices,
		"date":       date(s.now()),
		"url":        s.URL() + "/" + s.projects[r.Project] + "/_apis/git/repositories/" + r.ID + "/pushes/" + strconv.Itoa(s.notices),
	}
	return s.deliveryLocked("git.push", text, resource, r.Project, secret)
}

// PullRequestDelivery is the delivery of event eventType (git.pullrequest.created,
// git.pullrequest.updated, git.pullrequest.merged) about pull request id of
// r as it stands, signed with secret. It panics for an unknown pull request.
func (s *Server) PullRequestDelivery(r *Repo, id int, eventType, secret string) (http.Header, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pr *pullRequest
	for _, p := range s.prs {
		if p.repo == r && p.id == id {
			pr = p
		}
	}
	if pr == nil {
		panic(fmt.Sprintf("fakeazure: %s/%s has no pull request %d", r.Project, r.Name, id))
	}
	s.notices++
	text := pr.creator.displayName + " updated the pull request"
	switch {
	case eventType == "git.pullrequest.created":
		text = pr.creator.displayName + " created a new pull request"
	case eventType == "git.pullrequest.merged":
		text = pr.creator.displayName + " has created a pull request merge commit"
	case pr.status == "completed":
		text = pr.creator.displayName + " marked the pull request as completed"
	case pr.status == "abandoned":
		text = pr.creator.displayName + " abandoned the pull request"
	}
	resource := s.prJSON(pr, s.maxVer)
	resource["repository"] = s.repoJSON(r) // deliveries carry the whole repository
	return s.deliveryLocked(eventType, text, resource, r.Project, secret)
}

func (s *Server) deliveryLocked(eventType, text string, resource map[string]any, project, secret string) (http.Header, []byte) {
	message := map[string]any{"text": text, "html": text, "markdown": text}
	containers := map[string]any{
		"collection": map[string]any{"id": guid("collection", s.org)},
		"project":    map[string]any{"id": s.projects[project]},
	}
	if s.layout != OnPremises {
		containers["account"] = map[string]any{"id": guid("account", s.org)}
	}
	body, err := json.Marshal(map[string]any{
		"subscriptionId":     guid("subscription", s.org),
		"notificationId":     s.notices,
		"id":                 guid("event", s.org+"/"+strconv.Itoa(s.notices)),
		"eventType":          eventType,
		"publisherId":        "tfs",
		"message":            message,
		"detailedMessage":    message,
		"resource":           resource,
		"resourceVersion":    "1.0",
		"resourceContainers": containers,
		"createdDate":        date(s.now()),
	})
	if err != nil {
		panic("fakeazure: " + err.Error())
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(hookUser+":"+secret)))
	return h, body
}

// pushedLocked describes the commits reachable from after and not from
// before, newest first, at most 20, as git.push lists them.
func (r *Repo) pushedLocked(before, after string) ([]any, error) {
	commits := []any{}
	if after == zeroSHA {
		return commits, nil
	}
	g, err := r.gitLocked()
	if err != nil {
		return nil, err
	}
	if !isSHA(after) || (before != zeroSHA && !isSHA(before)) {
		return nil, fmt.Errorf("%q..%q are not commit ids", before, after)
	}
	args := []string{"-C", g.Dir, "log", "--max-count=20", "--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI", after}
	if before != zeroSHA {
		args = append(args, "^"+before)
	}
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git log %s: %v", after, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) != 7 {
			continue
		}
		msg, err := g.Message(f[0])
		if err != nil {
			return nil, err
		}
		commits = append(commits, map[string]any{
			"commitId":  f[0],
			"author":    map[string]any{"name": f[1], "email": f[2], "date": f[3]},
			"committer": map[string]any{"name": f[4], "email": f[5], "date": f[6]},
			"comment":   strings.TrimRight(msg, "\n"),
			"url":       r.WebURL() + "/commit/" + f[0],
		})
	}
	return commits, nil
}
