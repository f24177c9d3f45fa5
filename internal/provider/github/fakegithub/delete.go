package fakegithub

import (
	"errors"
	"net/http"
	"strings"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// Protect puts the branch under a protection rule that forbids its deletion.
func (r *Repo) Protect(name string) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.protected == nil {
		r.protected = map[string]bool{}
	}
	r.protected[name] = true
}

// deleteRef answers DELETE /repos/{owner}/{repo}/git/refs/{ref} as GitHub
// does: 204, or 422 "Reference does not exist" for a ref it does not have,
// and 422 for the default branch and a protected one.
func (s *Server) deleteRef(q *request, repo *Repo) reply {
	const doc = docsRefs + "#delete-a-reference"
	if rep, denied := s.denyWrite(q, repo, "contents=write", doc); denied {
		return rep
	}
	for _, seg := range q.raw[5:] {
		if strings.Contains(strings.ToUpper(seg), "%2F") {
			return q.errorf(http.StatusUnprocessableEntity, doc, "Reference does not exist")
		}
	}
	g, err := repo.gitRepo()
	if err != nil {
		return q.gitFailed(err)
	}
	ref := "refs/" + strings.Join(q.segs[5:], "/")
	refs, err := g.Refs()
	if err != nil {
		return q.gitFailed(err)
	}
	sha, ok := refs[ref]
	if !ok || !strings.HasPrefix(ref, "refs/heads/") && !strings.HasPrefix(ref, "refs/tags/") {
		return q.errorf(http.StatusUnprocessableEntity, doc, "Reference does not exist")
	}
	name := strings.TrimPrefix(ref, "refs/heads/")
	switch {
	case ref == "refs/heads/"+repo.defaultBranch:
		return q.errorf(http.StatusUnprocessableEntity, doc, "Reference update failed")
	case strings.HasPrefix(ref, "refs/heads/") && repo.protected[name]:
		return q.errorf(http.StatusUnprocessableEntity, doc, "Cannot delete this protected branch")
	}
	switch err := g.UpdateRef(ref, "", sha); {
	case errors.Is(err, fakegit.ErrStale):
		return q.errorf(http.StatusUnprocessableEntity, doc, "Reference cannot be updated")
	case err != nil:
		return q.gitFailed(err)
	}
	if err := repo.syncPulls(); err != nil {
		return q.gitFailed(err)
	}
	return reply{http.StatusNoContent, q.header, nil}
}
