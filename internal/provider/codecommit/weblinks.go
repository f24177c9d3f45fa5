package codecommit

import (
	"net/url"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

var _ provider.WebLinker = (*driver)(nil)

// CommitURL is the commit's page in the CodeCommit console.
func (d *driver) CommitURL(repo fb.Repository, sha string) string {
	return d.repoURL(repo.Name) + "/commit/" + url.PathEscape(sha) + "?region=" + d.region
}

// BranchURL is the branch's page in the CodeCommit console.
func (d *driver) BranchURL(repo fb.Repository, name string) string {
	return d.branchURL(repo.Name, name)
}

// TagURL is the tag's page in the CodeCommit console.
func (d *driver) TagURL(repo fb.Repository, name string) string {
	return d.repoURL(repo.Name) + "/browse/refs/tags/" + provider.EscapeRef(name) + "?region=" + d.region
}
