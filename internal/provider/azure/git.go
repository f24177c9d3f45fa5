package azure

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// refsPageSize is the $top of a refs page; the service pages beyond it with
// x-ms-continuationtoken.
const refsPageSize = 1000

// maxPages stops a server that keeps answering with continuation tokens.
const maxPages = 10000

const zeroObjectID = "0000000000000000000000000000000000000000"

type gitRef struct {
	Name     string `json:"name"`
	ObjectID string `json:"objectId"`
}

// refs lists the refs starting with refs/{filter}, every page.
func (p *Provider) refs(ctx context.Context, cred fb.Credential, repo fb.Repository, filter string) ([]gitRef, error) {
	var out []gitRef
	q := url.Values{"filter": {filter}, "$top": {strconv.Itoa(refsPageSize)}}
	seen := map[string]bool{}
	for range maxPages {
		resp, err := p.do(ctx, cred, request{method: http.MethodGet, url: p.repoURL(repo) + "/refs", query: q,
			versioned: true, what: "list the branches of " + repo.FullName})
		if err != nil {
			return nil, err
		}
		var page struct {
			Value []gitRef `json:"value"`
		}
		if err := p.decode(resp, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		next := resp.header.Get("x-ms-continuationtoken")
		if next == "" {
			return out, nil
		}
		if seen[next] {
			return nil, p.pagingError()
		}
		seen[next] = true
		q.Set("continuationToken", next)
	}
	return nil, p.pagingError()
}

// Branches lists every branch of the repository.
func (p *Provider) Branches(ctx context.Context, cred fb.Credential, repo fb.Repository) ([]fb.Branch, error) {
	refs, err := p.refs(ctx, cred, repo, "heads/")
	if err != nil {
		return nil, err
	}
	out := make([]fb.Branch, 0, len(refs))
	for _, r := range refs {
		name, ok := strings.CutPrefix(r.Name, "refs/heads/")
		if !ok {
			continue
		}
		out = append(out, fb.Branch{Name: name, SHA: r.ObjectID, WebURL: branchWebURL(repo, name)})
	}
	return out, nil
}

func branchWebURL(repo fb.Repository, name string) string {
	if repo.WebURL == "" {
		return ""
	}
	return repo.WebURL + "?version=GB" + url.QueryEscape(name)
}

// CreateBranch creates name at the head of base with one ref update whose
// old object id is zero, so Azure creates it only if it does not exist.
// It costs two calls: the base branch's ref, then the update.
func (p *Provider) CreateBranch(ctx context.Context, cred fb.Credential, repo fb.Repository, name, base string) (fb.Branch, error) {
	if base == "" {
		base = repo.DefaultBranch
	}
	if base == "" {
		return fb.Branch{}, &fb.Error{Code: fb.EProviderRejected, IntegrationID: p.integrationID,
			Message: "The repository " + repo.FullName + " is empty: it has no default branch to start a branch from."}
	}
	// filter is a prefix match: "heads/main" also lists heads/main-old.
	refs, err := p.refs(ctx, cred, repo, "heads/"+base)
	if err != nil {
		return fb.Branch{}, err
	}
	sha := ""
	for _, r := range refs {
		if r.Name == "refs/heads/"+base {
			sha = r.ObjectID
		}
	}
	if sha == "" {
		return fb.Branch{}, &fb.Error{Code: fb.EProviderRejected, IntegrationID: p.integrationID,
			Message: "The base branch " + base + " does not exist in " + repo.FullName + "."}
	}

	update := []map[string]string{{"name": "refs/heads/" + name, "oldObjectId": zeroObjectID, "newObjectId": sha}}
	resp, err := p.do(ctx, cred, request{method: http.MethodPost, url: p.repoURL(repo) + "/refs", versioned: true,
		body: func(string) any { return update }, what: "create branches in " + repo.FullName, write: true})
	if err != nil {
		return fb.Branch{}, err
	}
	var result struct {
		Value []struct {
			Name         string `json:"name"`
			NewObjectID  string `json:"newObjectId"`
			Success      bool   `json:"success"`
			UpdateStatus string `json:"updateStatus"`
		} `json:"value"`
	}
	if err := p.decode(resp, &result); err != nil {
		return fb.Branch{}, err
	}
	if len(result.Value) != 1 {
		return fb.Branch{}, &fb.Error{Code: fb.EProviderUnavailable, IntegrationID: p.integrationID,
			Message: "Azure DevOps answered the branch creation without its result. Try again later."}
	}
	if r := result.Value[0]; !r.Success {
		return fb.Branch{}, p.refUpdateError(r.UpdateStatus, repo, name)
	}
	return fb.Branch{Name: name, SHA: sha, WebURL: branchWebURL(repo, name)}, nil
}

// refUpdateError maps the updateStatus of a refused ref update; Azure answers
// those with 200 and success:false.
func (p *Provider) refUpdateError(status string, repo fb.Repository, name string) error {
	e := &fb.Error{IntegrationID: p.integrationID}
	switch status {
	case "staleOldObjectId":
		e.Code = fb.EAlreadyExists
		e.Message = "The branch " + name + " already exists in " + repo.FullName + "."
		e.Existing = &fb.Existing{Name: name, WebURL: branchWebURL(repo, name)}
	case "refNameConflict":
		// Azure compares ref names without case: a branch differing only in case exists.
		e.Code = fb.EAlreadyExists
		e.Message = "A branch named " + name + " (differing at most in upper and lower case) already exists in " + repo.FullName + "."
		e.Existing = &fb.Existing{Name: name, WebURL: branchWebURL(repo, name)}
	case "createBranchPermissionRequired", "writePermissionRequired":
		// A Git permission of the token's user, not a scope of the token.
		perm := "CreateBranch"
		if status == "writePermissionRequired" {
			perm = "GenericContribute"
		}
		e.Code = fb.EProviderDenied
		e.Message = "The token's user may not create branches in " + repo.FullName +
			": an administrator must grant it the Git \"" + perm + "\" permission on the repository."
	case "locked", "rejectedByPolicy", "rejectedByPlugin", "forcePushRequired":
		e.Code = fb.EProviderDenied
		e.Message = "Azure DevOps refused to create the branch " + name + " in " + repo.FullName +
			": a branch policy, lock or server plugin does not allow it (" + status + ")."
	case "invalidRefName":
		e.Code = fb.EProviderRejected
		e.Message = name + " is not a valid branch name for Azure DevOps."
	default:
		e.Code = fb.EProviderRejected
		e.Message = "Azure DevOps did not create the branch " + name + " in " + repo.FullName + " (" + status + ")."
	}
	return e
}

// GitRemote reads the repository's clone URL (remoteUrl) and pairs it with
// the header git authenticates with: Azure Repos takes a PAT as the Basic
// password of any user name, as the REST API does. dev.azure.com puts the
// organisation in the URL's user info; it is dropped, git needing none.
func (p *Provider) GitRemote(ctx context.Context, cred fb.Credential, repo fb.Repository) (provider.GitRemote, error) {
	resp, err := p.do(ctx, cred, request{method: http.MethodGet, url: p.repoURL(repo), versioned: true,
		what: "read the repository " + repo.FullName})
	if err != nil {
		return provider.GitRemote{}, err
	}
	var r struct {
		RemoteURL string `json:"remoteUrl"`
	}
	if err := p.decode(resp, &r); err != nil {
		return provider.GitRemote{}, err
	}
	u, err := p.cloneURL(r.RemoteURL)
	if err != nil {
		return provider.GitRemote{}, err
	}
	return provider.GitRemote{URL: u,
		Header: "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(":"+cred.Token))}, nil
}

// cloneURL checks that a clone URL is on the integration's host, over
// HTTPS (or HTTP where the integration itself is), and drops its user info.
func (p *Provider) cloneURL(raw string) (string, error) {
	base, err := url.Parse(p.base)
	if err != nil {
		return "", &fb.Error{Code: fb.EInvalid, IntegrationID: p.integrationID,
			Message: "The organisation or collection URL is not a valid URL.", Err: err}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", &fb.Error{Code: fb.EInvalid, IntegrationID: p.integrationID,
			Message: "Azure DevOps gave the repository a clone URL that is not an HTTP address; forgebridge cannot fetch it."}
	}
	u.User = nil
	if u.Scheme != "https" && !(u.Scheme == "http" && base.Scheme == "http") || !sameHost(u, base) {
		return "", &fb.Error{Code: fb.EInvalid, IntegrationID: p.integrationID,
			Message: fmt.Sprintf("Azure DevOps gave the repository a clone URL on %s://%s, not on the integration's %s://%s; forgebridge sends the credential only there.",
				u.Scheme, u.Host, base.Scheme, base.Host)}
	}
	return u.String(), nil
}

// sameHost compares host and port, a scheme's default port being implied.
func sameHost(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "http" {
			return "80"
		}
		return "443"
	}
	return strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}
