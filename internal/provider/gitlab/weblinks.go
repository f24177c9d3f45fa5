package gitlab

import (
	"net/url"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

var _ provider.WebLinker = (*driver)(nil)

// CommitURL, BranchURL and TagURL are pages of the project on GitLab's web.
func (d *driver) CommitURL(repo fb.Repository, sha string) string {
	return webOf(repo, "/-/commit/"+url.PathEscape(sha))
}

func (d *driver) BranchURL(repo fb.Repository, name string) string {
	return webOf(repo, "/-/tree/"+provider.EscapeRef(name))
}

func (d *driver) TagURL(repo fb.Repository, name string) string {
	return webOf(repo, "/-/tags/"+provider.EscapeRef(name))
}

func webOf(repo fb.Repository, path string) string {
	if repo.WebURL == "" {
		return ""
	}
	return strings.TrimRight(repo.WebURL, "/") + path
}
