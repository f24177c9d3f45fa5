package fakegitlab

import (
	"errors"
	"net/http"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// Protect makes a branch protected: the branches API will not delete it.
func (p *Project) Protect(name string) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if p.protected == nil {
		p.protected = map[string]bool{}
	}
	p.protected[name] = true
}

// deleteBranch answers DELETE /projects/:id/repository/branches/:branch as
// GitLab's Branches::DeleteService does: 204; 404 for an unknown branch;
// 405 for the default branch and a protected one.
func (q *request) deleteBranch(p *Project, heads map[string]string, name string) {
	sha, ok := heads[name]
	switch {
	case !ok:
		q.error(http.StatusNotFound, "message", "404 Branch Not Found")
		return
	case name == p.defaultBranch:
		q.error(http.StatusMethodNotAllowed, "message", "The default branch of a project cannot be deleted.")
		return
	case p.protected[name]:
		q.error(http.StatusMethodNotAllowed, "message", "You don't have permission to delete the branch")
		return
	}
	switch err := p.repo.UpdateRef("refs/heads/"+name, "", sha); {
	case errors.Is(err, fakegit.ErrStale):
		q.error(http.StatusNotFound, "message", "404 Branch Not Found")
	case err != nil:
		q.error(http.StatusInternalServerError, "message", "500 Internal Server Error")
	default:
		q.w.WriteHeader(http.StatusNoContent)
	}
}
