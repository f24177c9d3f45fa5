package github

import (
	"context"
	"encoding/base64"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

var _ provider.Mirrorer = (*Driver)(nil)

// GitRemote returns the repository's clone URL, {web}/{owner}/{name}.git
// (GitHub's clone_url: https://github.com/o/r.git, or under an Enterprise
// server's or the integration's base), and the header that authenticates
// git there. GitHub takes a token over git's HTTP as the Basic password with
// any user name; x-access-token is the name GitHub's own tooling uses.
func (d *Driver) GitRemote(ctx context.Context, cred fb.Credential, repo fb.Repository) (provider.GitRemote, error) {
	if strings.ContainsAny(cred.Token, "\r\n\x00") {
		return provider.GitRemote{}, fb.Errorf(fb.ETokenRejected, "The GitHub token contains characters a token never has; paste it again.")
	}
	owner, name, err := split(repo)
	if err != nil {
		return provider.GitRemote{}, err
	}
	// The header goes wherever the URL points: names that could take it
	// off the integration's web host ("x@evil.example", "..", "a?b") are refused.
	if !gitName(owner) || !gitName(name) {
		return provider.GitRemote{}, fb.Errorf(fb.EInvalid,
			"%q is not a GitHub repository name (owner/name), so its clone URL would not be on the integration's host.", repo.FullName)
	}
	out := provider.GitRemote{URL: d.webBase + owner + "/" + name + ".git"}
	if cred.Token != "" {
		out.Header = "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+cred.Token))
	}
	return out, nil
}

// gitName reports whether s can be a GitHub owner or repository name:
// letters, digits, '-', '_' and '.', never "." or "..". Anything else could
// change where the clone URL points.
func gitName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
