package gitlab

import (
	"context"
	"fmt"
	"net/http"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	gl "gitlab.com/gitlab-org/api/client-go"
)

var _ provider.BranchDeleter = (*driver)(nil)

// DeleteBranch deletes a branch: DELETE /projects/:id/repository/branches/:branch
// (204). GitLab answers 404 "404 Branch Not Found" for a branch it does not
// have, and 405 (older versions 403) for the default branch and a protected one.
func (d *driver) DeleteBranch(ctx context.Context, cred fb.Credential, repo fb.Repository, name string) error {
	pid, err := projectID(repo)
	if err != nil {
		return err
	}
	if name == "" {
		return fb.Errorf(fb.EInvalid, "The branch needs a name.")
	}
	opts, err := d.call(ctx, cred)
	if err != nil {
		return err
	}
	resp, err := d.client.Branches.DeleteBranch(pid, name, opts...)
	if err == nil {
		return nil
	}
	e := d.mapError(cred, opDeleteBranch, "", resp, err)
	switch status := statusOf(resp); {
	case status == http.StatusNotFound && d.projectVisible(opts, pid):
		// The client reads no body of a 404, which would tell "404 Branch
		// Not Found" from "404 Project Not Found": the project answers.
		e.Code = fb.ENotFound
		e.Message = fmt.Sprintf("GitLab has no branch %s in %s.", name, repo.FullName)
	case status == http.StatusMethodNotAllowed:
		e.Code = fb.EProviderDenied
		e.Message = fmt.Sprintf("GitLab refused to delete the branch %s in %s: it is the default or a protected branch.", name, repo.FullName)
	}
	return e
}

// projectVisible reports whether the token can read the project.
func (d *driver) projectVisible(opts []gl.RequestOptionFunc, pid string) bool {
	_, _, err := d.client.Projects.GetProject(pid, nil, opts...)
	return err == nil
}
