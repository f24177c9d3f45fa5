package fakegithub

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// gitPath splits a smart HTTP request path, /{owner}/{repo}.git/{service}
// (GitHub also answers without the .git), where service is info/refs,
// git-upload-pack or git-receive-pack.
func gitPath(p string) (owner, name, rest string, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", "", false
	}
	switch parts[2] {
	case "info/refs", "git-upload-pack", "git-receive-pack":
	default:
		return "", "", "", false
	}
	return parts[0], strings.TrimSuffix(parts[1], ".git"), parts[2], true
}

// statusWriter remembers the status of an answer, for the call record.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// serveGit answers git over smart HTTP with GitHub's rules: the token is the
// Basic password (any user name); a public repository is also served to
// nobody. A credential GitHub does not know answers 401 with its Basic
// challenge, even for a public repository; a repository the caller cannot
// see answers 404 (401 when no credential came, so that git asks for one).
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request, owner, name, rest string) {
	token := ""
	if _, password, ok := r.BasicAuth(); ok {
		token = password
	}
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Token: credential(r.Header.Get("Authorization"))}

	s.mu.Lock()
	status, msg := 0, ""
	h := http.Header{}
	tok, known := s.tokens[token]
	repo := s.repos[strings.ToLower(owner+"/"+name)]
	switch {
	case s.failing:
		status, msg = http.StatusServiceUnavailable, "No server is currently available to service your request."
	case token != "" && (!known || tok.Expired || tok.ExpiresAt != nil && !time.Now().Before(*tok.ExpiresAt)):
		h.Set("WWW-Authenticate", `Basic realm="GitHub"`)
		status, msg = http.StatusUnauthorized, "Invalid username or token. Password authentication is not supported for Git operations."
	case repo == nil || !repo.visibleTo(tok):
		status, msg = http.StatusNotFound, "Repository not found."
		if token == "" {
			h.Set("WWW-Authenticate", `Basic realm="GitHub"`)
			status = http.StatusUnauthorized
		}
	case token != "" && slices.ContainsFunc(tok.SSOOrgs, func(o string) bool { return strings.EqualFold(o, repo.owner) }):
		status = http.StatusForbidden
		msg = fmt.Sprintf("The '%s' organization has enabled or enforced SAML SSO.\nTo access this repository, visit %s/orgs/%s/sso?authorization_request=A1B2C3",
			repo.owner, "http://"+r.Host, repo.owner)
	}
	if status != 0 {
		call.Status = status
		s.calls = append(s.calls, call)
		s.mu.Unlock()
		for k, v := range h {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
		return
	}
	g, err := repo.gitRepo()
	if err == nil {
		err = repo.syncPulls() // refs/pull/N/head as GitHub would have them
	}
	s.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w}
	if err != nil {
		http.Error(sw, err.Error(), http.StatusInternalServerError)
	} else {
		// Outside the lock: a fetch may take a while, and git keeps its
		// repository consistent while the API changes refs.
		g.Serve(sw, r, "/"+rest)
	}
	call.Status = cmp.Or(sw.status, http.StatusOK)
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
}
