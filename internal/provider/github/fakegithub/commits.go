package fakegithub

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

const docsCommits = "https://docs.github.com/rest/git/commits"

// getCommit answers GET /repos/{owner}/{repo}/git/commits/{sha}.
func (s *Server) getCommit(q *request, repo *Repo, sha string) reply {
	g, err := repo.gitRepo()
	if err != nil {
		return q.gitFailed(err)
	}
	if !hasCommit(g, sha) {
		return q.notFound(docsCommits + "#get-a-commit-object")
	}
	c, ok := g.ReadCommit(sha)
	if !ok {
		return q.notFound(docsCommits + "#get-a-commit-object")
	}
	return q.json(http.StatusOK, commitJSON(q, repo, c))
}

// createCommit answers POST /repos/{owner}/{repo}/git/commits {message,
// tree, parents, author?} as GitHub does: 201 with the commit, 422 for a
// tree or parent it does not have. Without author, the token's user wrote it.
func (s *Server) createCommit(q *request, repo *Repo) reply {
	const doc = docsCommits + "#create-a-commit"
	if rep, denied := s.denyWrite(q, repo, "contents=write", doc); denied {
		return rep
	}
	var in struct{ Message, Tree string }
	if rep, bad := q.decode(doc, []string{"message", "tree"}, map[string]any{"message": &in.Message, "tree": &in.Tree}); bad {
		return rep
	}
	var extra struct {
		Parents []string `json:"parents"`
		Author  *struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"author"`
	}
	if err := json.Unmarshal(q.body, &extra); err != nil {
		return q.errorf(http.StatusUnprocessableEntity, doc, "Invalid request.\n\nFor 'properties/parents', is not an array.")
	}
	g, err := repo.gitRepo()
	if err != nil {
		return q.gitFailed(err)
	}
	if len(in.Tree) != 40 || !g.IsTree(in.Tree) {
		return q.errorf(http.StatusUnprocessableEntity, doc, "Tree SHA does not exist")
	}
	for _, p := range extra.Parents {
		if !hasCommit(g, p) {
			return q.errorf(http.StatusUnprocessableEntity, doc, "Parent SHA does not exist or is not a commit object")
		}
	}
	a := fakegit.Author{Name: q.login, Email: q.login + "@users.noreply.github.com", When: time.Now().UTC().Truncate(time.Second)}
	if extra.Author != nil && extra.Author.Name != "" {
		a.Name, a.Email = extra.Author.Name, extra.Author.Email
	}
	sha, err := g.WriteCommit(in.Tree, extra.Parents, []byte(in.Message), a)
	if err != nil {
		return q.gitFailed(err)
	}
	c, _ := g.ReadCommit(sha)
	body := commitJSON(q, repo, c)
	q.header.Set("Location", body["url"].(string))
	return q.json(http.StatusCreated, body)
}

func commitJSON(q *request, r *Repo, c fakegit.CommitObject) map[string]any {
	api := q.apiBase + "repos/" + r.FullName() + "/git/"
	parents := []any{}
	for _, p := range c.Parents {
		parents = append(parents, map[string]any{"sha": p, "url": api + "commits/" + p,
			"html_url": q.root + "/" + r.FullName() + "/commit/" + p})
	}
	sig := map[string]any{"name": c.Author.Name, "email": c.Author.Email, "date": c.Author.When.Format(time.RFC3339)}
	return map[string]any{
		"sha": c.SHA, "node_id": "C_" + c.SHA[:16], "url": api + "commits/" + c.SHA,
		"html_url": q.root + "/" + r.FullName() + "/commit/" + c.SHA,
		"author":   sig, "committer": sig, "message": c.Message,
		"tree":    map[string]any{"sha": c.Tree, "url": api + "trees/" + c.Tree},
		"parents": parents,
		"verification": map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil,
			"verified_at": nil},
	}
}
