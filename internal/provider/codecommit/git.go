package codecommit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// repoNamePattern is what CodeCommit accepts as a repository name: letters,
// digits, '.', '_' and '-', 1 to 100 of them. Names made only of dots are
// refused too, as they would move the URL's path.
var repoNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// GitRemote gives git the repository's HTTPS clone URL on CodeCommit's git
// host (git-codecommit.REGION.amazonaws.com, or the integration's base URL)
// and a basic authorization header: the access key id as the user, and the
// SigV4-derived password that `aws codecommit credential-helper` and
// git-remote-codecommit compute. The password is good for about 15 minutes:
// ask for a remote right before each fetch.
func (d *driver) GitRemote(_ context.Context, cred fb.Credential, repo fb.Repository) (provider.GitRemote, error) {
	if err := checkCredential(cred); err != nil {
		return provider.GitRemote{}, err
	}
	if !repoNamePattern.MatchString(repo.Name) || strings.Trim(repo.Name, ".") == "" {
		return provider.GitRemote{}, fb.Errorf(fb.EInvalid, "%q is not an AWS CodeCommit repository name.", repo.Name)
	}
	u, err := url.Parse(d.gitBase + "/v1/repos/" + repo.Name)
	if err != nil || u.Hostname() == "" {
		return provider.GitRemote{}, fb.Errorf(fb.EInvalid, "The git address of %s is not a valid URL.", repo.Name)
	}
	// Temporary credentials would add "%" and the session token to the
	// user name; forgebridge keeps long-term access keys only.
	password := gitPassword(cred.SecretAccessKey, d.region, u.Hostname(), u.EscapedPath(), time.Now())
	basic := base64.StdEncoding.EncodeToString([]byte(cred.AccessKeyID + ":" + password))
	return provider.GitRemote{URL: u.String(), Header: "Authorization: Basic " + basic}, nil
}

// gitPassword is CodeCommit's git password for the repository at path on
// host, signed at t: "YYYYMMDDTHHMMSS" + "Z" + the hex SigV4 signature
// (service codecommit) of the canonical request
// "GIT\n{path}\n\nhost:{host}\n\nhost\n". Host has no port, and the
// string to sign carries the time without its "Z", as botocore's signer
// does with the credential helper's timestamp. No library computes this:
// the SDK signers sign HTTP requests (with a payload hash and x-amz-date),
// not this canonical request, so it is written out here.
func gitPassword(secret, region, host, path string, t time.Time) string {
	stamp := t.UTC().Format("20060102T150405")
	day := stamp[:8]
	canonical := sha256.Sum256([]byte("GIT\n" + path + "\n\nhost:" + host + "\n\nhost\n"))
	toSign := "AWS4-HMAC-SHA256\n" + stamp + "\n" + day + "/" + region + "/codecommit/aws4_request\n" +
		hex.EncodeToString(canonical[:])
	key := sign([]byte("AWS4"+secret), day)
	for _, part := range []string{region, "codecommit", "aws4_request"} {
		key = sign(key, part)
	}
	return stamp + "Z" + hex.EncodeToString(sign(key, toSign))
}

func sign(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

var _ provider.Mirrorer = (*driver)(nil)
