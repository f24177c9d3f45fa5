package azure

import (
	"net/url"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

var _ provider.WebLinker = (*Provider)(nil)

// CommitURL, BranchURL and TagURL are the repository's pages on the web:
// Azure names a branch or tag in the version parameter (GB…, GT…).
func (p *Provider) CommitURL(repo fb.Repository, sha string) string {
	if repo.WebURL == "" {
		return ""
	}
	return repo.WebURL + "/commit/" + url.PathEscape(sha)
}

func (p *Provider) BranchURL(repo fb.Repository, name string) string { return branchWebURL(repo, name) }

func (p *Provider) TagURL(repo fb.Repository, name string) string {
	if repo.WebURL == "" {
		return ""
	}
	return repo.WebURL + "?version=GT" + url.QueryEscape(name)
}
