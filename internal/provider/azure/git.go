package azure

import (
	"context"
	"encoding/json"
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

// anonymousDescriptors start the descriptors of the identities Azure DevOps
// and TFS use for requests it did not authenticate.
var anonymousDescriptors = []string{"System:PublicAccess", "Microsoft.TeamFoundation.Anonymous",
	"Microsoft.TeamFoundation.UnauthenticatedIdentity"}

// Validate asks connectionData who the token belongs to. Azure tells neither
// the scopes nor the expiry of a PAT here.
func (p *Provider) Validate(ctx context.Context, cred fb.Credential) (fb.TokenInfo, error) {
	resp, err := p.do(ctx, cred, request{method: http.MethodGet, url: p.base + "/_apis/connectionData",
		what: "read who the token belongs to"})
	if err != nil {
		return fb.TokenInfo{}, err
	}
	var cd struct {
		AuthenticatedUser *struct {
			ID                  string `json:"id"`
			Descriptor          string `json:"descriptor"`
			ProviderDisplayName string `json:"providerDisplayName"`
			Properties          struct {
				Account struct {
					Value string `json:"$value"`
				} `json:"Account"`
			} `json:"properties"`
		} `json:"authenticatedUser"`
	}
	if err := p.decode(resp, &cd); err != nil {
		return fb.TokenInfo{}, err
	}
	u := cd.AuthenticatedUser
	anonymous := u == nil || u.ID == "" || strings.Trim(u.ID, "0-") == ""
	for _, d := range anonymousDescriptors {
		anonymous = anonymous || (u != nil && strings.HasPrefix(u.Descriptor, d))
	}
	if anonymous {
		return fb.TokenInfo{}, &fb.Error{Code: fb.ETokenRejected, IntegrationID: p.integrationID,
			Message: "Azure DevOps treated the request as anonymous: the personal access token was not accepted."}
	}
	login := u.Properties.Account.Value
	if login == "" {
		login = u.ProviderDisplayName
	}
	return fb.TokenInfo{Login: login}, nil
}

// gitRepo is a repository as the REST API describes it.
type gitRepo struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Project struct {
		Name string `json:"name"`
	} `json:"project"`
	DefaultBranch string `json:"defaultBranch"`
	WebURL        string `json:"webUrl"`
	IsDisabled    bool   `json:"isDisabled"`
}

// Repositories lists the repositories of the organisation or collection (or
// of the integration's API path), every page, through the filter. Disabled
// repositories are left out: Azure refuses every operation on them.
// Repositories without a default branch are empty and cannot get branches.
func (p *Provider) Repositories(ctx context.Context, cred fb.Credential) ([]fb.Repository, error) {
	var out []fb.Repository
	q := url.Values{}
	seen := map[string]bool{}
	for range maxPages {
		resp, err := p.do(ctx, cred, request{method: http.MethodGet, url: p.reposURL, query: q, versioned: true,
			what: "list the repositories"})
		if err != nil {
			return nil, err
		}
		var page struct {
			Value json.RawMessage `json:"value"`
		}
		if err := p.decode(resp, &page); err != nil {
			return nil, err
		}
		if len(page.Value) == 0 {
			page.Value = []byte("[]")
		}
		kept, err := provider.FilterPage(p.filter, page.Value)
		if err != nil {
			return nil, err
		}
		var repos []gitRepo
		if err := json.Unmarshal(kept, &repos); err != nil {
			return nil, p.filterShapeError()
		}
		for _, r := range repos {
			if r.ID == "" || r.Name == "" {
				return nil, p.filterShapeError()
			}
			if r.IsDisabled {
				continue
			}
			canCreate := r.DefaultBranch != ""
			out = append(out, fb.Repository{
				IntegrationID:        p.integrationID,
				ExternalID:           r.ID,
				Name:                 r.Name,
				FullName:             r.Project.Name + "/" + r.Name,
				DefaultBranch:        strings.TrimPrefix(r.DefaultBranch, "refs/heads/"),
				WebURL:               r.WebURL,
				CanCreateBranch:      canCreate,
				CanCreatePullRequest: canCreate,
			})
		}
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

func (p *Provider) filterShapeError() error {
	return &fb.Error{Code: fb.EInvalid, IntegrationID: p.integrationID,
		Message: "The repository filter must keep whole repositories (with their id and name), not parts of them."}
}

func (p *Provider) pagingError() error {
	return &fb.Error{Code: fb.EProviderUnavailable, IntegrationID: p.integrationID,
		Message: "Azure DevOps kept answering with more pages than it has. Try again later."}
}

// repoURL is the REST address of a repository, under its project.
func (p *Provider) repoURL(repo fb.Repository) string {
	project, _, ok := strings.Cut(repo.FullName, "/")
	if !ok || project == "" {
		return p.base + "/_apis/git/repositories/" + url.PathEscape(repo.ExternalID)
	}
	return p.base + "/" + url.PathEscape(project) + "/_apis/git/repositories/" + url.PathEscape(repo.ExternalID)
}

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

type gitPullRequest struct {
	PullRequestID int    `json:"pullRequestId"`
	Title         string `json:"title"`
	SourceRefName string `json:"sourceRefName"`
	TargetRefName string `json:"targetRefName"`
}

func (p *Provider) toPullRequest(repo fb.Repository, pr gitPullRequest) fb.PullRequest {
	id := strconv.Itoa(pr.PullRequestID)
	return fb.PullRequest{
		ID:     id,
		Number: pr.PullRequestID,
		Title:  pr.Title,
		// The API's url is the REST address; people need the web page.
		WebURL:       repo.WebURL + "/pullrequest/" + id,
		SourceBranch: strings.TrimPrefix(pr.SourceRefName, "refs/heads/"),
		TargetBranch: strings.TrimPrefix(pr.TargetRefName, "refs/heads/"),
	}
}

// CreatePullRequest opens a pull request with one call. A draft is asked
// for only where the api-version knows drafts (5.1, Azure DevOps Server
// 2019 Update 1, and later); older servers open a normal pull request.
func (p *Provider) CreatePullRequest(ctx context.Context, cred fb.Credential, repo fb.Repository, pr fb.NewPullRequest) (fb.PullRequest, error) {
	// Azure compares ref names without case. Refused here because no public
	// record shows which error the service gives equal refs.
	if strings.EqualFold(pr.SourceBranch, pr.TargetBranch) {
		return fb.PullRequest{}, &fb.Error{Code: fb.EProviderRejected, IntegrationID: p.integrationID,
			Message: "A pull request needs two different branches; both are " + pr.SourceBranch + "."}
	}
	source, target := "refs/heads/"+pr.SourceBranch, "refs/heads/"+pr.TargetBranch
	body := func(version string) any {
		m := map[string]any{"sourceRefName": source, "targetRefName": target,
			"title": pr.Title, "description": pr.Description}
		if v, ok := parseAPIVersion(version); pr.Draft && ok && v.atLeast(draftAPIVersion) {
			m["isDraft"] = true
		}
		return m
	}
	resp, err := p.do(ctx, cred, request{method: http.MethodPost, url: p.repoURL(repo) + "/pullrequests", versioned: true,
		body: body, what: "open pull requests in " + repo.FullName, write: true})
	if err != nil {
		if resp != nil && resp.status == http.StatusConflict && resp.apiErr != nil &&
			(resp.apiErr.code() == "TF401179" || resp.apiErr.TypeKey == "GitPullRequestExistsException") {
			return fb.PullRequest{}, p.existingPullRequest(ctx, cred, repo, source, target)
		}
		return fb.PullRequest{}, err
	}
	var created gitPullRequest
	if err := p.decode(resp, &created); err != nil {
		return fb.PullRequest{}, err
	}
	return p.toPullRequest(repo, created), nil
}

// existingPullRequest is the EAlreadyExists of a pull request that is already
// open between the branches, naming it when Azure lists it.
func (p *Provider) existingPullRequest(ctx context.Context, cred fb.Credential, repo fb.Repository, source, target string) error {
	e := &fb.Error{Code: fb.EAlreadyExists, IntegrationID: p.integrationID,
		Message: "An active pull request from " + strings.TrimPrefix(source, "refs/heads/") + " into " +
			strings.TrimPrefix(target, "refs/heads/") + " already exists in " + repo.FullName + " (TF401179)."}
	q := url.Values{"searchCriteria.sourceRefName": {source}, "searchCriteria.targetRefName": {target},
		"searchCriteria.status": {"active"}}
	resp, err := p.do(ctx, cred, request{method: http.MethodGet, url: p.repoURL(repo) + "/pullrequests", query: q,
		versioned: true, what: "list the pull requests of " + repo.FullName})
	if err != nil {
		return e // the conflict is the answer; naming the pull request is a courtesy
	}
	var list struct {
		Value []gitPullRequest `json:"value"`
	}
	if p.decode(resp, &list) == nil && len(list.Value) > 0 {
		found := p.toPullRequest(repo, list.Value[0])
		e.Existing = &fb.Existing{ID: found.ID, Number: found.Number, WebURL: found.WebURL}
	}
	return e
}
