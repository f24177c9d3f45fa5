package azure

import (
	"context"
	"net/http"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

var _ provider.BranchDeleter = (*Provider)(nil)

// DeleteBranch deletes a branch with one ref update from its current object
// id to the zero id (POST …/refs), after reading that id: Azure deletes
// only a ref still at oldObjectId, so a branch moved meanwhile is kept.
func (p *Provider) DeleteBranch(ctx context.Context, cred fb.Credential, repo fb.Repository, name string) error {
	if name == "" {
		return fb.Errorf(fb.EInvalid, "The branch needs a name.")
	}
	refs, err := p.refs(ctx, cred, repo, "heads/"+name)
	if err != nil {
		return err
	}
	sha := ""
	for _, r := range refs {
		if r.Name == "refs/heads/"+name {
			sha = r.ObjectID
		}
	}
	if sha == "" {
		return &fb.Error{Code: fb.ENotFound, IntegrationID: p.integrationID,
			Message: "Azure DevOps has no branch " + name + " in " + repo.FullName + "."}
	}
	update := []map[string]string{{"name": "refs/heads/" + name, "oldObjectId": sha, "newObjectId": zeroObjectID}}
	resp, err := p.do(ctx, cred, request{method: http.MethodPost, url: p.repoURL(repo) + "/refs", versioned: true,
		body: func(string) any { return update }, what: "delete branches in " + repo.FullName, write: true})
	if err != nil {
		return err
	}
	var result struct {
		Value []struct {
			Success      bool   `json:"success"`
			UpdateStatus string `json:"updateStatus"`
		} `json:"value"`
	}
	if err := p.decode(resp, &result); err != nil {
		return err
	}
	if len(result.Value) != 1 {
		return &fb.Error{Code: fb.EProviderUnavailable, IntegrationID: p.integrationID,
			Message: "Azure DevOps answered the branch deletion without its result. Try again later."}
	}
	r := result.Value[0]
	if r.Success {
		return nil
	}
	e := &fb.Error{Code: fb.EProviderDenied, IntegrationID: p.integrationID}
	switch r.UpdateStatus {
	case "staleOldObjectId":
		e.Code = fb.EProviderRejected
		e.Message = "The branch " + name + " moved or went while it was being deleted in " + repo.FullName + "; look at it and try again."
	case "forcePushRequired", "writePermissionRequired":
		e.Message = "The token's user may not delete branches in " + repo.FullName +
			": an administrator must grant it the Git \"Force push (rewrite history, delete branches and tags)\" permission."
	default: // locked, rejectedByPolicy, rejectedByPlugin, …
		e.Message = "Azure DevOps refused to delete the branch " + name + " in " + repo.FullName +
			": a branch policy, lock or server plugin does not allow it (" + r.UpdateStatus + ")."
	}
	return e
}
