package fakecodecommit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// gitPrefix is where CodeCommit's git host serves repositories:
// https://git-codecommit.REGION.amazonaws.com/v1/repos/NAME.
const gitPrefix = "/v1/repos/"

// serveGit answers git's smart HTTP requests for a repository as CodeCommit's
// git host does: basic authentication whose user is the access key id and
// whose password is the SigV4-derived one (see gitSignature); none at all is
// 401, so git asks for credentials; a wrong, stale or denied one is 403, the
// answer git reports as "The requested URL returned error: 403"; throttling
// is 429 ("Rate Exceeded").
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request) {
	escapedName, sub, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), gitPrefix), "/")
	name, err := url.PathUnescape(escapedName)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	user, password, hasAuth := r.BasicAuth()
	akid, _, _ := strings.Cut(user, "%")

	s.mu.Lock()
	s.calls = append(s.calls, Call{Service: "git", Operation: sub, AccessKeyID: akid})
	failing, limited := s.failing, s.rateLimited
	k, known := s.keys[akid]
	s.mu.Unlock()

	switch {
	case failing:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	case !hasAuth:
		w.Header().Set("WWW-Authenticate", `Basic realm="AWS CodeCommit"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	case user != akid, // the fake issues no session tokens
		!known || k.Expired || s.allowed(k, "codecommit:GitPull", s.repoARN(name)) != nil,
		!validGitPassword(password, k.secret, s.region, hostname(r.Host), gitPrefix+escapedName, time.Now()):
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	case limited:
		http.Error(w, "Rate Exceeded", http.StatusTooManyRequests)
		return
	}
	s.mu.Lock()
	repo, ok := s.repos[name]
	var g *fakegit.Repo
	if ok {
		g = repo.gitLocked()
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "Repository not found", http.StatusNotFound)
		return
	}
	g.Serve(w, r, "/"+sub)
}

// hostname is a Host header without its port: the git password is signed
// for the bare host name.
func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// validGitPassword checks a CodeCommit git password: "YYYYMMDDTHHMMSS" + "Z"
// + the hex signature, signed within maxSkew of now.
func validGitPassword(password, secret, region, host, path string, now time.Time) bool {
	stamp, sig, ok := strings.Cut(password, "Z")
	if !ok || len(sig) != 64 {
		return false
	}
	t, err := time.Parse("20060102T150405", stamp)
	if err != nil || now.Sub(t) > maxSkew || t.Sub(now) > maxSkew {
		return false
	}
	want := gitSignature(secret, region, host, path, stamp)
	return hmac.Equal([]byte(want), []byte(sig))
}

// gitSignature is the SigV4 signature (service codecommit) of the canonical
// request "GIT\n{path}\n\nhost:{host}\n\nhost\n" at stamp (the password's
// time, without its "Z").
func gitSignature(secret, region, host, path, stamp string) string {
	canonical := sha256.Sum256([]byte("GIT\n" + path + "\n\nhost:" + host + "\n\nhost\n"))
	scope := stamp[:8] + "/" + region + "/codecommit/aws4_request"
	toSign := sigV4Algorithm + "\n" + stamp + "\n" + scope + "\n" + hex.EncodeToString(canonical[:])
	key := hmacSHA256([]byte("AWS4"+secret), stamp[:8])
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, "codecommit")
	key = hmacSHA256(key, "aws4_request")
	return hex.EncodeToString(hmacSHA256(key, toSign))
}
