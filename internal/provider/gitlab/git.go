package gitlab

import (
	"context"
	"encoding/base64"
	"net/url"
	"path"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

var _ provider.Mirrorer = (*driver)(nil)

// gitUser is the user name git sends with a token. GitLab reads a personal
// access token from the password and accepts any user name with it; "oauth2"
// makes an OAuth access token work too.
const gitUser = "oauth2"

// GitRemote answers the project's HTTPS clone address (GitLab's
// http_url_to_repo: the project's web address + ".git") and the Basic
// authorization that carries the token to git. An address off the
// integration's own scheme, host or path is refused with EInvalid.
func (d *driver) GitRemote(ctx context.Context, cred fb.Credential, repo fb.Repository) (provider.GitRemote, error) {
	if cred.Token == "" {
		return provider.GitRemote{}, fb.Errorf(fb.ETokenRejected, "No GitLab token was given.")
	}
	basePath := strings.TrimRight(d.web.EscapedPath(), "/")
	base := d.web.Scheme + "://" + d.web.Host + basePath
	web := strings.TrimRight(repo.WebURL, "/")
	if web == "" {
		if repo.FullName == "" {
			return provider.GitRemote{}, fb.Errorf(fb.EInvalid, "The repository has neither a web address nor a path.")
		}
		web = base + "/" + (&url.URL{Path: repo.FullName}).EscapedPath()
	}
	u, err := url.Parse(web + ".git")
	if err != nil || u.Scheme != d.web.Scheme || !strings.EqualFold(u.Host, d.web.Host) || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || path.Clean(u.Path) != u.Path ||
		!strings.HasPrefix(u.EscapedPath(), basePath+"/") {
		return provider.GitRemote{}, fb.Errorf(fb.EInvalid,
			"The clone address of %s is not on the integration's GitLab (%s); forgebridge sends the credential nowhere else.",
			repo.FullName, base)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(gitUser + ":" + cred.Token))
	return provider.GitRemote{URL: u.String(), Header: "Authorization: Basic " + auth}, nil
}
