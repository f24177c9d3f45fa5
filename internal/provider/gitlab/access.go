package gitlab

import (
	"context"
	"net/http"

	fb "github.com/forgebridge/forgebridge"
	gl "gitlab.com/gitlab-org/api/client-go"
)

// CanRead asks GitLab for the project (GET projects/:id) with cred: GitLab
// answers 404 to a token that may not see it, and 403 to one whose scopes do
// not reach the API. A Guest of a private project sees the project but not
// its code: its answer's permissions decide. (An administrator who is no
// member gets no permissions at all, and reads everything.)
func (d *driver) CanRead(ctx context.Context, cred fb.Credential, repo fb.Repository) (bool, error) {
	pid, err := projectID(repo)
	if err != nil {
		return false, err
	}
	opts, err := d.call(ctx, cred)
	if err != nil {
		return false, err
	}
	p, resp, err := d.client.Projects.GetProject(pid, nil, opts...)
	if err != nil {
		if s := statusOf(resp); s == http.StatusNotFound || s == http.StatusForbidden {
			return false, nil
		}
		return false, d.mapError(cred, opListBranches, "", resp, err)
	}
	if p.Visibility != gl.PrivateVisibility || p.Permissions == nil {
		return true, nil
	}
	level, member := 0, false
	if a := p.Permissions.ProjectAccess; a != nil {
		level, member = max(level, int(a.AccessLevel)), true
	}
	if a := p.Permissions.GroupAccess; a != nil {
		level, member = max(level, int(a.AccessLevel)), true
	}
	return !member || level >= int(gl.ReporterPermissions), nil
}
