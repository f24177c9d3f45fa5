package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

type errorReply struct {
	Error struct {
		Code, Message, RequestID string
		RetryAfter               int
	}
}

func (r reply) error() errorReply {
	var b errorReply
	_ = json.Unmarshal(r.body, &b)
	return b
}

// TestBounds sends each bounded field one character (or byte) over its
// bound: 400 naming the field, and nothing recorded or asked of GitHub.
func TestBounds(t *testing.T) {
	e := newEnv(t)
	long := func(n int) string { return strings.Repeat("a", n+1) }
	body := func(fields string) string { return fmt.Sprintf(`{"repositoryId":%q%s}`, e.repoID, fields) }
	tests := []struct {
		name, method, path, token, body, field string
	}{
		{"user name", "POST", "/api/v1/directory/users", e.admin, `{"name":"` + long(200) + `"}`, "name"},
		{"display name", "POST", "/api/v1/directory/users", e.admin, `{"name":"dora","displayName":"` + strings.Repeat("é", 201) + `"}`, "displayName"},
		{"project name", "POST", "/api/v1/directory/projects", e.admin, `{"key":"NEW","name":"` + long(200) + `"}`, "name"},
		{"issue key", "POST", "/api/v1/directory/issues", e.admin, `{"key":"` + long(255) + `","summary":"s"}`, "key"},
		{"issue summary", "POST", "/api/v1/directory/issues", e.admin, `{"key":"PROJ-7","summary":"` + long(1000) + `"}`, "summary"},
		{"integration name", "PATCH", "/api/v1/integrations/" + e.integrationID, e.admin, `{"name":"` + long(200) + `"}`, "name"},
		{"branch template", "PATCH", "/api/v1/settings", e.admin, `{"branchNameTemplate":"` + long(1000) + `"}`, "branchNameTemplate"},
		{"branch name", "POST", "/api/v1/issues/PROJ-1/branches", e.alice, body(`,"name":"` + long(1000) + `"`), "name"},
		{"branch name over the configured maximum", "POST", "/api/v1/issues/PROJ-1/branches", e.alice,
			body(`,"name":"` + long(fb.DefaultBranchNameMaxLength) + `"`), "name"},
		{"base branch", "POST", "/api/v1/issues/PROJ-1/branches", e.alice, body(`,"baseBranch":"` + long(1000) + `"`), "baseBranch"},
		{"issue key in the path", "POST", "/api/v1/issues/" + long(255) + "/branches", e.alice, body(""), "issue key"},
		{"pull request title", "POST", "/api/v1/issues/PROJ-1/pull-requests", e.alice,
			body(`,"sourceBranch":"PROJ-1-work","title":"` + long(256) + `"`), "title"},
		{"pull request description", "POST", "/api/v1/issues/PROJ-1/pull-requests", e.alice,
			body(`,"sourceBranch":"PROJ-1-work","description":"` + long(64<<10) + `"`), "description"},
		{"source branch", "POST", "/api/v1/issues/PROJ-1/pull-requests", e.alice, body(`,"sourceBranch":"` + long(1000) + `"`), "sourceBranch"},
		{"target branch", "POST", "/api/v1/issues/PROJ-1/pull-requests", e.alice,
			body(`,"sourceBranch":"PROJ-1-work","targetBranch":"` + long(1000) + `"`), "targetBranch"},
		{"typed token", "POST", "/api/v1/issues/PROJ-1/branches", e.alice, body(`,"token":"` + long(16<<10) + `"`), "token"},
		{"saved token", "PUT", "/api/v1/me/tokens/" + e.integrationID, e.alice, `{"token":"` + long(16<<10) + `"}`, "token"},
		{"repository search", "GET", "/api/v1/repositories?q=" + long(200), e.alice, "", "q"},
		{"branch search", "GET", "/api/v1/repositories/" + e.repoID + "/branches?q=" + long(200), e.alice, "", "q"},
		{"audit user", "GET", "/api/v1/audit?user=" + long(200), e.admin, "", "user"},
		{"cursor", "GET", "/api/v1/repositories?cursor=" + long(1000), e.alice, "", "cursor"},
	}
	callsBefore := e.gh.CallCount()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b any
			var h []string
			if tt.body != "" {
				b, h = tt.body, []string{"Content-Type", "application/json"}
			}
			r := e.do(tt.method, tt.path, tt.token, b, h...)
			if r.status != http.StatusBadRequest || r.code() != "invalid_request" || !strings.HasPrefix(r.error().Error.Message, tt.field+" ") {
				t.Fatalf("%d %s, want 400 invalid_request naming %s", r.status, truncateForLog(r.body), tt.field)
			}
		})
	}
	if n := e.gh.CallCount(); n != callsBefore {
		t.Errorf("GitHub was asked %d times for requests over a bound", n-callsBefore)
	}
	audit := e.do("GET", "/api/v1/audit?limit=1000", e.admin, nil)
	for _, action := range []string{"branch.create", "pullrequest.create", "token.save", "integration.update"} {
		if strings.Contains(string(audit.body), `"action":"`+action+`"`) {
			t.Errorf("a request over a bound was recorded as %s", action)
		}
	}
	// At the bound itself, in characters not bytes, a value is accepted.
	r := e.do("POST", "/api/v1/directory/users", e.admin, `{"name":"dora","displayName":"`+strings.Repeat("é", 200)+`"}`,
		"Content-Type", "application/json")
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("200 characters: %d %s", r.status, r.body)
	}
}

func truncateForLog(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func TestLargeBodiesAre413(t *testing.T) {
	e := newEnv(t)
	big := `{"name":"` + strings.Repeat("a", maxBody) + `"}`
	r := e.do("POST", "/api/v1/directory/users", e.admin, big, "Content-Type", "application/json")
	if r.status != http.StatusRequestEntityTooLarge || r.code() != "invalid_request" || r.error().Error.RequestID == "" {
		t.Fatalf("a body over 1 MiB: %d %s", r.status, truncateForLog(r.body))
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/webhooks/"+e.integrationID, strings.NewReader("{}"))
	req.ContentLength = maxWebhookBody + 1
	req.Body = io.NopCloser(io.LimitReader(zeros{}, maxWebhookBody+1))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a delivery over 25 MB: %d", resp.StatusCode)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestRequestIDs(t *testing.T) {
	e := newEnv(t)
	ok := e.do("GET", "/api/v1/me", e.alice, nil)
	if id := ok.header.Get("X-Request-Id"); len(id) < 16 {
		t.Fatalf("a success has no request id: %q", id)
	}
	r := e.do("GET", "/api/v1/me", "", nil, "X-Request-Id", "proxy-1234.abc")
	if r.header.Get("X-Request-Id") != "proxy-1234.abc" || r.error().Error.RequestID != "proxy-1234.abc" {
		t.Fatalf("a safe inbound id is not kept: %v %s", r.header, r.body)
	}
	for _, bad := range []string{strings.Repeat("a", 65), "a b", "x\"}", "<script>"} {
		r := e.do("GET", "/api/v1/me", "", nil, "X-Request-Id", bad)
		if got := r.header.Get("X-Request-Id"); got == bad || got == "" || r.error().Error.RequestID != got {
			t.Fatalf("inbound id %q: answered %q, body %s", bad, got, r.body)
		}
	}
	for _, path := range []string{"/healthz", "/api/v1/nothing", "/api/v1/openapi.json"} {
		if r := e.do("GET", path, "", nil); r.header.Get("X-Request-Id") == "" {
			t.Errorf("%s has no X-Request-Id", path)
		}
	}
}

// TestInternalErrorsSayNothing checks that an internal error's details go
// to the log under the request id, never to the client.
func TestInternalErrorsSayNothing(t *testing.T) {
	var log strings.Builder
	logger := slog.New(slog.NewTextHandler(&log, nil))
	h := WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, logger, errors.New("pq: password authentication failed for db at 10.0.0.5"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/me", nil))
	r := reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	id := r.header.Get("X-Request-Id")
	if r.status != 500 || r.code() != "internal" || r.error().Error.RequestID != id || strings.Contains(string(r.body), "10.0.0.5") {
		t.Fatalf("internal error answer: %d %s", r.status, r.body)
	}
	if !strings.Contains(log.String(), id) || !strings.Contains(log.String(), "10.0.0.5") {
		t.Fatalf("the log lacks the details under the request id: %s", log.String())
	}
	// An *fb.Error with the internal code is generic too.
	rec = httptest.NewRecorder()
	WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, logger, &fb.Error{Code: fb.EInternal, Message: "row 7 of user_tokens did not decrypt"})
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if strings.Contains(rec.Body.String(), "row 7") {
		t.Fatalf("an internal message reached the client: %s", rec.Body.String())
	}
}

func TestCrossSiteIsJSON(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/directory/projects", e.admin, `{"key":"X"}`, "Content-Type", "application/json",
		"Sec-Fetch-Site", "cross-site")
	if r.status != http.StatusForbidden || r.code() != "forbidden" || r.error().Error.RequestID == "" ||
		r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("cross-site: %d %v %s", r.status, r.header, r.body)
	}
}

func TestRequestsHaveADeadline(t *testing.T) {
	var deadline time.Time
	var ok bool
	h := withDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline, ok = r.Context().Deadline()
	}), DefaultRequestTimeout)
	before := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/me", nil))
	if !ok || deadline.Sub(before) > DefaultRequestTimeout+time.Minute {
		t.Fatalf("API request deadline: %v %v", deadline, ok)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/api/v1/webhooks/x", nil))
	if !ok || deadline.Sub(before) < WebhookTimeout-time.Second {
		t.Fatalf("webhook deadline: %v", deadline.Sub(before))
	}
}

// TestJiraSessionLimits checks the sign-in limits of POST /api/v1/session/jira:
// counted by the client address, which only a trusted proxy may name.
func TestJiraSessionLimits(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	e.svc.Now = func() time.Time { return now }
	api := &Server{App: e.svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		JiraSession: func(ctx context.Context, token string) (fb.User, error) {
			if token == "good" {
				return fb.User{Key: "alice", Name: "alice", DisplayName: "Alice", Active: true}, nil
			}
			return fb.User{}, fb.Errorf(fb.EUnauthenticated, "Jira rejected the token.")
		}}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	post := func(token, from string) reply {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/session/jira", strings.NewReader(`{"token":"`+token+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", from)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return reply{status: resp.StatusCode, header: resp.Header, body: raw}
	}
	for i := range app.SignInFailsPerAddr {
		if r := post("bad", "203.0.113.5"); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := post("good", "203.0.113.5")
	if r.status != http.StatusTooManyRequests || r.code() != "rate_limited" || r.header.Get("Retry-After") != "300" ||
		r.error().Error.RetryAfter != 300 {
		t.Fatalf("a good token from the blocked address: %d %v %s", r.status, r.header, r.body)
	}
	if r := post("good", "203.0.113.6"); r.status != http.StatusOK {
		t.Fatalf("another address behind the proxy: %d %s", r.status, r.body)
	}
	audit := e.do("GET", "/api/v1/audit?action=signin.failure&limit=100", e.admin, nil)
	if n := strings.Count(string(audit.body), `"action":"signin.failure"`); n != app.SignInFailsPerAddr {
		t.Fatalf("%d signin.failure entries, want %d: %s", n, app.SignInFailsPerAddr, truncateForLog(audit.body))
	}
	now = now.Add(app.SignInWindow)
	if r := post("good", "203.0.113.5"); r.status != http.StatusOK {
		t.Fatalf("after the window: %d %s", r.status, r.body)
	}
}

// TestForwardedForFromAnyoneIsIgnored: without --trusted-proxies, a client
// cannot escape the address limit by naming other addresses.
func TestForwardedForFromAnyoneIsIgnored(t *testing.T) {
	e := newEnv(t)
	api := &Server{App: e.svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		JiraSession: func(ctx context.Context, token string) (fb.User, error) {
			return fb.User{}, fb.Errorf(fb.EUnauthenticated, "Jira rejected the token.")
		}}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	var last int
	for i := range app.SignInFailsPerAddr + 1 {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/session/jira", strings.NewReader(`{"token":"bad"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = resp.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("after %d failures with made-up X-Forwarded-For: %d, want 429", app.SignInFailsPerAddr, last)
	}
}

// TestDiscoveryDeadline: the requests that discover repositories while the
// admin waits get DiscoveryTimeout; others keep the request timeout.
func TestDiscoveryDeadline(t *testing.T) {
	var left time.Duration
	h := WithDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := r.Context().Deadline()
		left = time.Until(d)
	}), DefaultRequestTimeout)
	for _, tc := range []struct {
		method, path string
		long         bool
	}{
		{"POST", "/api/v1/integrations", true},
		{"PATCH", "/api/v1/integrations/abc", true},
		{"POST", "/api/v1/integrations/abc/sync", true},
		{"POST", "/admin/integrations", true},
		{"POST", "/admin/integrations/abc", true},
		{"POST", "/admin/integrations/abc/sync", true},
		{"GET", "/api/v1/integrations", false},
		{"GET", "/api/v1/integrations/abc", false},
		{"DELETE", "/api/v1/integrations/abc", false},
		{"POST", "/api/v1/integrations/abc/reindex", false},
		{"POST", "/admin/integrations/abc/delete", false},
		{"POST", "/api/v1/integrationsx", false},
		{"POST", "/api/v1/branches", false},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.path, nil))
		if long := left > DefaultRequestTimeout; long != tc.long || left > DiscoveryTimeout {
			t.Errorf("%s %s: %v left, want the longer deadline: %v", tc.method, tc.path, left, tc.long)
		}
	}
}
