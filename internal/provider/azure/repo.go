package azure

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

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
