package httpapi

import (
	_ "embed"
	"fmt"
	"net/http"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

//go:embed openapi.json
var openAPI []byte

// routes lists every route of the service in one place.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics())
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})

	mux.HandleFunc("POST /api/v1/session/jira", s.jiraSession)
	mux.Handle("DELETE /api/v1/session", s.authed(s.endSession))

	mux.Handle("POST /api/v1/directory/users", s.authed(s.createUser))
	mux.Handle("PATCH /api/v1/directory/users/{name}", s.authed(s.patchUser))
	mux.Handle("DELETE /api/v1/directory/users/{name}", s.authed(s.deleteUser))
	mux.Handle("GET /api/v1/directory/users/{name}/api-tokens", s.authed(s.userAPITokens))
	mux.Handle("POST /api/v1/directory/users/{name}/api-tokens", s.authed(s.createUserAPIToken))
	mux.Handle("DELETE /api/v1/directory/users/{name}/api-tokens/{id}", s.authed(s.revokeUserAPIToken))
	mux.Handle("POST /api/v1/directory/users/{name}/enrolment", s.authed(s.createEnrolment))
	mux.Handle("POST /api/v1/directory/projects", s.authed(s.createProject))
	mux.Handle("PUT /api/v1/directory/projects/{key}/permissions/{user}", s.authed(s.setPermissions))
	mux.Handle("POST /api/v1/directory/issues", s.authed(s.createIssue))

	mux.Handle("GET /api/v1/settings", s.authed(s.getSettings))
	mux.Handle("PATCH /api/v1/settings", s.authed(s.patchSettings))

	mux.Handle("POST /api/v1/integrations", s.authed(s.createIntegration))
	mux.Handle("GET /api/v1/integrations", s.authed(s.listIntegrations))
	mux.Handle("GET /api/v1/integrations/{id}", s.authed(s.getIntegration))
	mux.Handle("PATCH /api/v1/integrations/{id}", s.authed(s.patchIntegration))
	mux.Handle("DELETE /api/v1/integrations/{id}", s.authed(s.deleteIntegration))
	mux.Handle("POST /api/v1/integrations/{id}/sync", s.authed(s.syncIntegration))
	mux.Handle("POST /api/v1/integrations/{id}/reindex", s.authed(s.reindexIntegration))
	mux.Handle("POST /api/v1/integrations/{id}/webhook-secret", s.authed(s.newWebhookSecret))
	mux.HandleFunc("POST /api/v1/webhooks/{integrationId}", s.webhook)

	mux.Handle("GET /api/v1/repositories", s.authed(s.listRepositories))
	mux.Handle("GET /api/v1/repositories/{id}", s.authed(s.getRepository))
	mux.Handle("GET /api/v1/repositories/{id}/branches", s.authed(s.listBranches))
	mux.Handle("POST /api/v1/repositories/{id}/reindex", s.authed(s.reindexRepository))
	mux.Handle("GET /api/v1/repositories/{id}/commits/{sha}", s.authed(s.getCommit))

	mux.Handle("GET /api/v1/me", s.authed(s.me))
	mux.Handle("GET /api/v1/me/api-tokens", s.authed(s.myAPITokens))
	mux.Handle("POST /api/v1/me/api-tokens", s.authed(s.createMyAPIToken))
	mux.Handle("DELETE /api/v1/me/api-tokens/{id}", s.authed(s.revokeMyAPIToken))
	mux.Handle("GET /api/v1/me/tokens", s.authed(s.myTokens))
	mux.Handle("PUT /api/v1/me/tokens/{integrationId}", s.authed(s.putToken))
	mux.Handle("DELETE /api/v1/me/tokens/{integrationId}", s.authed(s.deleteToken))

	mux.Handle("GET /api/v1/issues/{key}", s.authed(s.getIssue))
	mux.Handle("GET /api/v1/issues/{key}/commits", s.authed(s.listIssueCommits))
	mux.Handle("POST /api/v1/issues/{key}/branches", s.authed(s.createBranch))
	mux.Handle("DELETE /api/v1/issues/{key}/branches", s.authed(s.deleteBranch))
	mux.Handle("POST /api/v1/issues/{key}/pull-requests", s.authed(s.createPullRequest))

	mux.Handle("GET /api/v1/search/issues", s.authed(s.searchIssues))

	mux.Handle("GET /api/v1/audit", s.authed(s.listAudit))

	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allowed := allowedMethods(mux, r); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorJSON{Code: fb.EInvalid, RequestID: RequestID(r.Context()),
				Message: fmt.Sprintf("%s is not allowed on %s; use %s.", r.Method, r.URL.Path, strings.Join(allowed, " or "))}})
			return
		}
		writeError(w, r, s.Logger, fb.Errorf(fb.ENotFound, "No such API route: %s %s.", r.Method, r.URL.Path))
	}))
}

// allowedMethods lists the methods that have a route for the request's path
// (the catch-all aside), for a 405 answer.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
			out = append(out, m)
		}
	}
	return out
}
