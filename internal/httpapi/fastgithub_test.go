package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// fastRefs answers the two calls of a create-branch (resolve the base
// branch, create the ref) from memory, in GitHub's wire format, and passes
// every other request to the fake GitHub behind it. The fake keeps real git
// repositories and runs git for each call, which costs milliseconds and is
// serialised: measured against it, forgebridge's own cost would drown in the
// fake's. Both sides of the side-by-side benchmark call this same front.
type fastRefs struct {
	next   http.Handler
	tokens map[string]bool
	sha    string // what refs/heads/main points at

	mu   sync.Mutex
	refs map[string]bool
}

func newFastRefs(t testing.TB, gh *fakegithub.Server, sha string, tokens ...string) *httptest.Server {
	u, _ := url.Parse(gh.URL())
	f := &fastRefs{next: httputil.NewSingleHostReverseProxy(u), tokens: map[string]bool{}, sha: sha, refs: map[string]bool{}}
	for _, tok := range tokens {
		f.tokens[tok] = true
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func (f *fastRefs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const repo = "/repos/acme/app/git/"
	path := r.URL.Path
	i := strings.Index(path, repo)
	if i < 0 || !(r.Method == "GET" && strings.HasSuffix(path, "/ref/heads/main") || r.Method == "POST" && strings.HasSuffix(path, "/refs")) {
		f.next.ServeHTTP(w, r)
		return
	}
	if !f.tokens[credential(r.Header.Get("Authorization"))] {
		writeGitHub(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials"})
		return
	}
	api := "http://" + r.Host + path[:i] + "/"
	if r.Method == "GET" {
		writeGitHub(w, http.StatusOK, ghRef(api, "refs/heads/main", f.sha))
		return
	}
	var in struct{ Ref, SHA string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || !strings.HasPrefix(in.Ref, "refs/heads/") || in.SHA != f.sha {
		writeGitHub(w, http.StatusUnprocessableEntity, map[string]any{"message": "Reference update failed"})
		return
	}
	f.mu.Lock()
	exists := f.refs[in.Ref]
	f.refs[in.Ref] = true
	f.mu.Unlock()
	if exists {
		writeGitHub(w, http.StatusUnprocessableEntity, map[string]any{"message": "Reference already exists"})
		return
	}
	writeGitHub(w, http.StatusCreated, ghRef(api, in.Ref, in.SHA))
}

func credential(h string) string {
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token") {
		return ""
	}
	return tok
}

func ghRef(api, ref, sha string) map[string]any {
	return map[string]any{"ref": ref, "node_id": "REF_" + ref,
		"url":    api + "repos/acme/app/git/" + ref,
		"object": map[string]any{"sha": sha, "type": "commit", "url": api + "repos/acme/app/git/commits/" + sha}}
}

func writeGitHub(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
