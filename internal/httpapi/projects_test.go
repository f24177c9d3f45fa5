package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestIntegrationUnknownProject checks that an integration naming a project
// the tracker does not know is refused with 400 invalid_request naming it,
// on create and on update.
func TestIntegrationUnknownProject(t *testing.T) {
	e := newEnv(t)
	create := map[string]any{"name": "Another", "kind": "github", "baseUrl": e.gh.URL(),
		"credential": map[string]string{"token": serviceToken}, "projects": []string{"PROJ", "NOPE"}}
	for _, r := range []struct {
		what   string
		method string
		path   string
		body   any
	}{
		{"create", http.MethodPost, "/api/v1/integrations", create},
		{"update", http.MethodPatch, "/api/v1/integrations/" + e.integrationID, map[string]any{"projects": []string{"nope"}}},
	} {
		got := e.do(r.method, r.path, e.adminTok(), r.body)
		if got.status != http.StatusBadRequest || got.code() != "invalid_request" || !strings.Contains(string(got.body), "NOPE") {
			t.Errorf("%s with an unknown project: %d %s, want 400 invalid_request naming NOPE", r.what, got.status, got.body)
		}
	}
}
