package fakegithub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

const zeroSHA = "0000000000000000000000000000000000000000"

// hookAgent is the User-Agent of GitHub's webhook sender: GitHub-Hookshot/
// and the short hash of the sender's build.
const hookAgent = "GitHub-Hookshot/4e1c2b9"

// PushDelivery builds the delivery a repository webhook of r receives when
// ref (a full ref name) moves from before to after (all zeros for a created
// or deleted ref), as GitHub sends it: the push event's JSON with the
// pushed commits read from the repository, and GitHub's headers, signed
// with secret (no signature headers when secret is empty). A test posts
// it to forgebridge as it is.
func (s *Server) PushDelivery(r *Repo, ref, before, after, secret string) (http.Header, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.hookRequest()
	g := r.mustGit()
	web := q.root + "/" + r.FullName()
	var commits []map[string]any
	var head any
	if after != zeroSHA {
		var rng []string
		switch {
		case before == zeroSHA && strings.HasPrefix(ref, "refs/heads/"):
			// A new branch lists the commits no other branch has.
			rng = []string{after, "--not", "--exclude=" + strings.TrimPrefix(ref, "refs/heads/"), "--branches"}
		case before != zeroSHA:
			rng = []string{before + ".." + after}
		}
		if rng != nil {
			commits = mustLog(g.Dir, web, rng...)
		}
		if c := mustLog(g.Dir, web, "-1", after); len(c) == 1 {
			head = c[0]
		}
	}
	if commits == nil {
		commits = []map[string]any{}
	}
	compare := fmt.Sprintf("%s/compare/%s...%s", web, short(before), short(after))
	if before == zeroSHA {
		compare = web + "/compare/" + strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/")
	}
	payload := map[string]any{
		"ref": ref, "before": before, "after": after,
		"created": before == zeroSHA, "deleted": after == zeroSHA,
		"forced":   before != zeroSHA && after != zeroSHA && !g.IsAncestor(before, after),
		"base_ref": nil, "compare": compare, "commits": commits, "head_commit": head,
		"repository": s.hookRepoJSON(q, r, true),
		"pusher":     map[string]any{"name": r.owner, "email": r.owner + "@users.noreply.github.com"},
		"sender":     s.userJSON(q, r.owner),
	}
	return s.delivery("push", r, payload, secret)
}

// PullRequestDelivery builds the pull_request delivery for action (opened,
// closed, reopened, synchronize, edited, …) on pull request number of r,
// with the pull request as it is now, signed like PushDelivery.
func (s *Server) PullRequestDelivery(r *Repo, number int, action, secret string) (http.Header, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.hookRequest()
	if err := r.syncPulls(); err != nil {
		panic("fakegithub: " + err.Error())
	}
	for _, p := range r.pulls {
		if p.number == number {
			payload := map[string]any{
				"action": action, "number": number, "pull_request": s.pullDetail(q, r, p),
				"repository": s.hookRepoJSON(q, r, false), "sender": s.userJSON(q, p.author),
			}
			return s.delivery("pull_request", r, payload, secret)
		}
	}
	panic(fmt.Sprintf("fakegithub: %s has no pull request #%d", r.FullName(), number))
}

// hookRequest is the context payloads are rendered in: the github.com
// layout of the fake, seen by no token. Callers hold s.mu.
func (s *Server) hookRequest() *request {
	return &request{root: s.srv.URL, apiBase: s.srv.URL + "/", header: http.Header{}}
}

// hookRepoJSON is the repository of a webhook payload: no permissions
// block, and in push payloads GitHub's older shape (times as Unix seconds,
// url the web page, master_branch).
func (s *Server) hookRepoJSON(q *request, r *Repo, push bool) map[string]any {
	repo := s.repoJSON(q, r)
	delete(repo, "permissions")
	if push {
		repo["created_at"], repo["pushed_at"] = r.created.Unix(), time.Now().Unix()
		repo["url"] = repo["html_url"]
		repo["stargazers"], repo["master_branch"] = 0, r.defaultBranch
	}
	return repo
}

// delivery signs payload and adds the headers GitHub sends with it.
func (s *Server) delivery(event string, r *Repo, payload map[string]any, secret string) (http.Header, []byte) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(payload); err != nil {
		panic("fakegithub: " + err.Error())
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", hookAgent)
	h.Set("X-GitHub-Event", event)
	h.Set("X-GitHub-Delivery", guid())
	h.Set("X-GitHub-Hook-ID", strconv.FormatInt(400000000+r.id, 10))
	h.Set("X-GitHub-Hook-Installation-Target-Type", "repository")
	h.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(r.id, 10))
	if secret != "" {
		h.Set("X-Hub-Signature", "sha1="+sign(sha1.New, secret, body))
		h.Set("X-Hub-Signature-256", "sha256="+sign(sha256.New, secret, body))
	}
	return h, body
}

func sign(h func() hash.Hash, secret string, body []byte) string {
	mac := hmac.New(h, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// guid is a random version 4 UUID, the form of X-GitHub-Delivery.
func guid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func short(sha string) string { return sha[:min(12, len(sha))] }

// mustLog reads commits (at most 2048, GitHub's limit for a payload) in
// the shape of a push payload's commits, oldest first.
func mustLog(dir, web string, args ...string) []map[string]any {
	const sep, end = "\x1f", "\x1e"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir, "log", "--reverse", "-n", "2048",
		"--format=%H" + sep + "%T" + sep + "%an" + sep + "%ae" + sep + "%aI" + sep + "%cn" + sep + "%ce" + sep + "%B" + end}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		panic(fmt.Sprintf("fakegithub: git log %s: %v", strings.Join(args, " "), err))
	}
	var commits []map[string]any
	for _, rec := range strings.Split(string(out), end) {
		f := strings.Split(strings.TrimLeft(rec, "\n"), sep)
		if len(f) != 8 {
			continue
		}
		commits = append(commits, map[string]any{
			"id": f[0], "tree_id": f[1], "distinct": true,
			"message": strings.TrimRight(f[7], "\n"), "timestamp": f[4], "url": web + "/commit/" + f[0],
			"author":    map[string]any{"name": f[2], "email": f[3]},
			"committer": map[string]any{"name": f[5], "email": f[6]},
			"added":     []string{}, "removed": []string{}, "modified": []string{},
		})
	}
	return commits
}
