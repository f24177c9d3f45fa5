package gitlab

import (
	"context"
	"net/http"

	fb "github.com/forgebridge/forgebridge"
)

// CanRead asks GitLab for the project (GET projects/:id) with cred: GitLab
// answers 404 to a token that may not see it, and 403 to one whose scopes do
// not reach the API.
func (d *driver) CanRead(ctx context.Context, cred fb.Credential, repo fb.Repository) (bool, error) {
	pid, err := projectID(repo)
	if err != nil {
		return false, err
	}
	opts, err := d.call(ctx, cred)
	if err != nil {
		return false, err
	}
	_, resp, err := d.client.Projects.GetProject(pid, nil, opts...)
	if err != nil {
		if s := statusOf(resp); s == http.StatusNotFound || s == http.StatusForbidden {
			return false, nil
		}
		return false, d.mapError(cred, opListBranches, "", resp, err)
	}
	return true, nil
}
