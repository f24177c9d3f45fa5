package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// TestErrors checks that each error of API.md's table is produced where it
// applies, with its status and code.
func TestErrors(t *testing.T) {
	e := newEnv(t)
	branch := func(extra string) string {
		return fmt.Sprintf(`{"repositoryId":%q%s}`, e.repoID, extra)
	}
	tests := []struct {
		name         string
		method, path string
		token        func() string
		body         any
		header       []string
		status       int
		code         string
	}{
		{"no credentials", "GET", "/api/v1/me", nil, nil, nil, 401, "unauthenticated"},
		{"unknown token", "GET", "/api/v1/me", func() string { return "fbt_nope" }, nil, nil, 401, "unauthenticated"},
		{"not a bearer token", "GET", "/api/v1/me", nil, nil, []string{"Authorization", "Basic YTpi"}, 401, "unauthenticated"},
		{"malformed JSON", "POST", "/api/v1/issues/PROJ-1/branches", e.aliceTok, `{"repositoryId":`, nil, 400, "invalid_request"},
		{"unknown field", "POST", "/api/v1/issues/PROJ-1/branches", e.aliceTok, branch(`,"nmae":"x"`), nil, 400, "invalid_request"},
		{"wrong type", "POST", "/api/v1/issues/PROJ-1/branches", e.aliceTok, `{"repositoryId":5}`, nil, 400, "invalid_request"},
		{"two JSON values", "POST", "/api/v1/issues/PROJ-1/branches", e.aliceTok, branch("") + `{}`, nil, 400, "invalid_request"},
		{"not JSON content type", "POST", "/api/v1/issues/PROJ-1/branches", e.aliceTok, branch(""), []string{"Content-Type", "text/plain"}, 400, "invalid_request"},
		{"missing repositoryId", "POST", "/api/v1/issues/PROJ-1/branches", e.aliceTok, `{}`, nil, 400, "invalid_request"},
		{"invalid branch name", "POST", "/api/v1/issues/PROJ-1/branches", e.aliceTok, branch(`,"name":"a..b"`), nil, 400, "invalid_request"},
		{"limit too large", "GET", "/api/v1/repositories?limit=1001", e.aliceTok, nil, nil, 400, "invalid_request"},
		{"bad cursor", "GET", "/api/v1/repositories?cursor=bm90LWEtY3Vyc29y", e.aliceTok, nil, nil, 400, "invalid_request"},
		{"not an admin", "GET", "/api/v1/integrations", e.aliceTok, nil, nil, 403, "forbidden"},
		{"branches without View Development Tools", "GET", "/api/v1/repositories/" + e.repoID + "/branches", e.bobTok, nil, nil, 403, "forbidden"},
		{"new address without the credential again", "PATCH", "/api/v1/integrations/" + e.integrationID, e.adminTok,
			`{"baseUrl":"https://elsewhere.example"}`, nil, 400, "invalid_request"},
		{"proxy URL with a password", "PATCH", "/api/v1/integrations/" + e.integrationID, e.adminTok,
			`{"proxyUrl":"http://u:secret@proxy:3128","credential":{"token":"x"}}`, nil, 400, "invalid_request"},
		{"no View Development Tools", "POST", "/api/v1/issues/PROJ-1/branches", e.bobTok, branch(""), nil, 403, "forbidden"},
		{"repository not of the project", "POST", "/api/v1/issues/OTHER-1/branches", e.aliceTok, branch(""), nil, 403, "forbidden"},
		{"no such issue", "POST", "/api/v1/issues/PROJ-99/branches", e.aliceTok, branch(""), nil, 404, "not_found"},
		{"no such repository", "POST", "/api/v1/issues/PROJ-1/branches", e.aliceTok, `{"repositoryId":"nope"}`, nil, 404, "not_found"},
		{"no such integration", "GET", "/api/v1/integrations/nope", e.adminTok, nil, nil, 404, "not_found"},
		{"no such route", "GET", "/api/v1/nothing", e.aliceTok, nil, nil, 404, "not_found"},
		{"method not allowed", "DELETE", "/api/v1/me", e.aliceTok, nil, nil, 405, "invalid_request"},
		{"token of the wrong form", "PUT", "/api/v1/me/tokens/" + e.integrationID, e.aliceTok, `{"accessKeyId":"AKIA","secretAccessKey":"x"}`, nil, 400, "invalid_request"},
		{"token GitHub rejects", "PUT", "/api/v1/me/tokens/" + e.integrationID, e.aliceTok, `{"token":"ghp_wrong"}`, nil, 422, "token_rejected"},
		{"one-off token GitHub rejects", "POST", "/api/v1/issues/PROJ-1/branches", e.aliceTok, branch(`,"token":"ghp_wrong"`), nil, 422, "token_rejected"},
		{"unknown base branch", "POST", "/api/v1/issues/PROJ-1/branches", e.aliceTok, branch(`,"baseBranch":"nope"`), nil, 422, "provider_rejected"},
		{"no commits between", "POST", "/api/v1/issues/PROJ-1/pull-requests", e.aliceTok,
			fmt.Sprintf(`{"repositoryId":%q,"sourceBranch":"main"}`, e.repoID), nil, 422, "provider_rejected"},
		{"cross-site browser request", "POST", "/api/v1/issues/PROJ-1/branches", e.aliceTok, branch(""),
			[]string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 403, "forbidden"},
		{"jira sign-in without Jira", "POST", "/api/v1/session/jira", nil, `{"token":"x"}`, nil, 501, "not_supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := ""
			if tt.token != nil {
				token = tt.token()
			}
			header := tt.header
			if tt.body != nil && !hasHeader(header, "Content-Type") {
				header = append(header, "Content-Type", "application/json")
			}
			r := e.do(tt.method, tt.path, token, tt.body, header...)
			if r.status != tt.status || (tt.code != "" && r.code() != tt.code) {
				t.Fatalf("%s %s: %d %s, want %d %s", tt.method, tt.path, r.status, r.body, tt.status, tt.code)
			}
			if strings.Contains(string(r.body), "ghp_") {
				t.Errorf("the answer carries a token: %s", r.body)
			}
		})
	}
}

func hasHeader(h []string, name string) bool {
	for i := 0; i < len(h); i += 2 {
		if strings.EqualFold(h[i], name) {
			return true
		}
	}
	return false
}

func (e *env) aliceTok() string { return e.alice }
func (e *env) bobTok() string   { return e.bob }
func (e *env) adminTok() string { return e.admin }

// TestProviderErrorsReachThePerson checks the provider's rate limit, outage
// and conflict answers as a client sees them.
func TestProviderErrorsReachThePerson(t *testing.T) {
	e := newEnv(t)
	body := fmt.Sprintf(`{"repositoryId":%q,"name":"PROJ-1-x"}`, e.repoID)
	post := func() reply {
		return e.do("POST", "/api/v1/issues/PROJ-1/branches", e.alice, body, "Content-Type", "application/json")
	}
	if r := post(); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := post(); r.status != 409 || r.code() != "already_exists" || !strings.Contains(string(r.body), `"existing":{"name":"PROJ-1-x"`) {
		t.Fatalf("again: %d %s", r.status, r.body)
	}
	e.gh.SetSecondaryRateLimited(true)
	r := post()
	if r.status != 429 || r.code() != "rate_limited" || r.header.Get("Retry-After") != "30" || !strings.Contains(string(r.body), `"retryAfter":30`) {
		t.Fatalf("secondary rate limit: %d %v %s", r.status, r.header, r.body)
	}
	e.gh.SetSecondaryRateLimited(false)
	e.gh.SetFailing(true)
	if r := post(); r.status != 502 || r.code() != "provider_unavailable" {
		t.Fatalf("GitHub failing: %d %s", r.status, r.body)
	}
}

// TestMovedIntegrationDropsUserTokens checks that people's tokens never
// follow an integration to a new address.
func TestMovedIntegrationDropsUserTokens(t *testing.T) {
	e := newEnv(t)
	if r := e.do("PUT", "/api/v1/me/tokens/"+e.integrationID, e.alice, fmt.Sprintf(`{"token":%q}`, aliceToken),
		"Content-Type", "application/json"); r.status != 200 {
		t.Fatalf("save token: %d %s", r.status, r.body)
	}
	other := fakegithub.New()
	defer other.Close()
	other.AddToken("ghp_other_service", fakegithub.Token{Login: "other-bot", Scopes: []string{"repo"}})
	other.AddToken(aliceToken, fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
	other.AddRepo("acme/app", "main")
	r := e.do("PATCH", "/api/v1/integrations/"+e.integrationID, e.admin,
		fmt.Sprintf(`{"baseUrl":%q,"credential":{"token":"ghp_other_service"}}`, other.URL()), "Content-Type", "application/json")
	if r.status != 200 {
		t.Fatalf("move: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/me/tokens", e.alice, nil); !strings.Contains(string(r.body), `"configured":false`) {
		t.Fatalf("alice's token after the move: %s", r.body)
	}
	for _, c := range other.Calls() {
		if c.Token == aliceToken {
			t.Fatalf("alice's token reached the new address: %s %s", c.Method, c.Path)
		}
	}
}

// TestProviderMetricsCountFailures checks the provider metrics label each
// call with its outcome.
func TestProviderMetricsCountFailures(t *testing.T) {
	e := newEnv(t)
	e.gh.SetRateLimited(true)
	e.do("POST", "/api/v1/issues/PROJ-1/branches", e.alice, fmt.Sprintf(`{"repositoryId":%q}`, e.repoID), "Content-Type", "application/json")
	m := e.do("GET", "/metrics", "", nil)
	if !strings.Contains(string(m.body), `forgebridge_provider_calls_total{code="rate_limited",kind="github",op="create_branch"} 1`) {
		t.Fatalf("metrics lack the rate-limited create: %s", m.body)
	}
}

func TestEndSessionRevokesTheToken(t *testing.T) {
	e := newEnv(t)
	if r := e.do("DELETE", "/api/v1/session", e.alice, nil); r.status != http.StatusNoContent {
		t.Fatalf("end session: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/me", e.alice, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("the revoked token still works: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/me", e.bob, nil); r.status != http.StatusOK {
		t.Fatalf("another person's token stopped working: %d", r.status)
	}
}
