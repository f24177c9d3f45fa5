package github

import (
	"context"
	"net/http"

	fb "github.com/forgebridge/forgebridge"
)

// CanRead asks GitHub for the repository (GET /repos/{owner}/{repo}) with
// cred: GitHub answers 404 to a token that may not see it, and 403 to one
// its organisation's single sign-on has not authorised.
func (d *Driver) CanRead(ctx context.Context, cred fb.Credential, repo fb.Repository) (ok bool, err error) {
	defer scrub(&err, cred.Token)
	ctx, err = call(ctx, cred)
	if err != nil {
		return false, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return false, err
	}
	if _, _, err := d.client.Repositories.Get(ctx, owner, name); err != nil {
		if s := status(err); s == http.StatusNotFound || s == http.StatusForbidden { // rate limits are other error types
			return false, nil
		}
		return false, mapError(err, false)
	}
	return true, nil
}
