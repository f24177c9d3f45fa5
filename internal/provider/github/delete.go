package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

var _ provider.BranchDeleter = (*Driver)(nil)

// DeleteBranch deletes refs/heads/name: DELETE /repos/{owner}/{repo}/git/refs/heads/{name}
// (204). GitHub answers 422 "Reference does not exist" for a branch it does
// not have and 422 for one it will not delete (protected, the default).
func (d *Driver) DeleteBranch(ctx context.Context, cred fb.Credential, repo fb.Repository, name string) (err error) {
	defer scrub(&err, cred.Token)
	ctx, err = call(ctx, cred)
	if err != nil {
		return err
	}
	owner, rname, err := split(repo)
	if err != nil {
		return err
	}
	if name == "" {
		return fb.Errorf(fb.EInvalid, "The branch needs a name.")
	}
	// go-github escapes the ref's path itself, keeping its slashes.
	_, err = d.client.Git.DeleteRef(ctx, owner, rname, "heads/"+name)
	if err == nil {
		return nil
	}
	if status(err) == http.StatusUnprocessableEntity {
		msg := message(err)
		if strings.Contains(msg, "Reference does not exist") {
			return &fb.Error{Code: fb.ENotFound, Err: err,
				Message: fmt.Sprintf("GitHub has no branch %s in %s.", name, repo.FullName)}
		}
		return &fb.Error{Code: fb.EProviderDenied, Err: err,
			Message: fmt.Sprintf("GitHub refused to delete the branch %s in %s (%s).", name, repo.FullName, short(msg))}
	}
	return mapError(err, true)
}
