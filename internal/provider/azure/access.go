package azure

import (
	"context"
	"net/http"

	fb "github.com/forgebridge/forgebridge"
)

// CanRead asks Azure DevOps for the repository (GET
// {project}/_apis/git/repositories/{id}) with cred: it answers 404
// (TF401019) to a token whose user may not see it, 403 to one without the
// permission, and 401 naming the user to one without the Code (Read) scope.
func (p *Provider) CanRead(ctx context.Context, cred fb.Credential, repo fb.Repository) (bool, error) {
	resp, err := p.do(ctx, cred, request{method: http.MethodGet, url: p.repoURL(repo), versioned: true, what: "read the repository"})
	if err == nil {
		return true, nil
	}
	if resp != nil {
		switch s := resp.status; {
		case s == http.StatusNotFound, s == http.StatusForbidden, s == http.StatusUnauthorized && resp.apiErr.namesUser():
			return false, nil
		}
	}
	return false, err
}
