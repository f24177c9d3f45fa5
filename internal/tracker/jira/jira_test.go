package jira

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
)

const (
	svcToken   = "svc-secret-token-0001"
	aliceToken = "alice-secret-pat-0002"
	alToken    = "al-secret-pat-0003"
	bobToken   = "bob-secret-pat-0004"
)

var secrets = []string{svcToken, aliceToken, alToken, bobToken, "not-a-real-token-0005"}

// assertNoSecret fails when an error shows a token in any of its renderings.
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, text := range []string{err.Error(), fb.ErrorMessage(err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Fatalf("error shows a token: %s", text)
			}
		}
	}
}

func assertCode(t *testing.T, err error, want fb.Code) {
	t.Helper()
	assertNoSecret(t, err)
	if got := fb.ErrorCode(err); got != want {
		t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a fake Jira with a service account, people, projects and an issue.
type env struct {
	fake  *fakejira.Server
	tr    *Tracker
	clock *clock
	alice fb.User
	al    fb.User
	bob   fb.User
}

func newEnv(t testing.TB) *env {
	t.Helper()
	fake := fakejira.New()
	t.Cleanup(fake.Close)
	fake.AddUser(fakejira.User{Key: "svc", Name: "forgebridge-svc", DisplayName: "forgebridge", Active: true,
		Groups: []string{"jira-users", "jira-administrators"}, Token: svcToken})
	fake.AddUser(fakejira.User{Key: "JIRAUSER10100", Name: "alice", DisplayName: "Alice Liddell", Email: "alice@example.com",
		Active: true, Groups: []string{"jira-users", "JIRA-Administrators"}, Token: aliceToken})
	fake.AddUser(fakejira.User{Key: "JIRAUSER10101", Name: "al", DisplayName: "Al Bundy", Email: "al@example.com",
		Active: true, Groups: []string{"jira-users"}, Token: alToken})
	fake.AddUser(fakejira.User{Key: "JIRAUSER10102", Name: "bob", DisplayName: "Bob Gone", Active: false,
		Groups: []string{"jira-users"}, Token: bobToken})
	for _, p := range []string{"OPS", "PROJ", "SEC"} {
		fake.AddProject(p, p+" project")
		fake.Grant("forgebridge-svc", p, "BROWSE_PROJECTS", "LINK_ISSUES")
	}
	fake.AddProject("HIDDEN", "Not for the service account")
	fake.AddIssue("PROJ-1", "Fix the login page", "Bug")
	fake.AddIssue("HIDDEN-1", "Secret work", "Task")

	tr, err := New(Config{BaseURL: fake.URL(), ServiceToken: svcToken})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	tr.now = c.Now
	tr.retryWaits = []time.Duration{time.Millisecond, time.Millisecond}
	return &env{fake: fake, tr: tr, clock: c,
		alice: fb.User{Key: "JIRAUSER10100", Name: "alice", Active: true},
		al:    fb.User{Key: "JIRAUSER10101", Name: "al", Active: true},
		bob:   fb.User{Key: "JIRAUSER10102", Name: "bob"},
	}
}

// calls counts the fake's requests to a path.
func (e *env) calls(path string) int {
	n := 0
	for _, c := range e.fake.Calls() {
		if c.Path == path {
			n++
		}
	}
	return n
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no URL", Config{ServiceToken: svcToken}},
		{"not http", Config{BaseURL: "ftp://jira.example.com", ServiceToken: svcToken}},
		{"credentials in URL", Config{BaseURL: "https://u:p@jira.example.com", ServiceToken: svcToken}},
		{"query in URL", Config{BaseURL: "https://jira.example.com/?a=b", ServiceToken: svcToken}},
		{"no token", Config{BaseURL: "https://jira.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			assertCode(t, err, fb.EInvalid)
		})
	}
	tr, err := New(Config{BaseURL: "https://jira.example.com/jira/", ServiceToken: svcToken})
	if err != nil {
		t.Fatal(err)
	}
	if tr.base != "https://jira.example.com/jira" || tr.adminGroup != DefaultAdminGroup || tr.ttl != DefaultCacheTTL {
		t.Errorf("defaults: base %q, admin group %q, ttl %v", tr.base, tr.adminGroup, tr.ttl)
	}
	if s := fmt.Sprintf("%v %+v %#v", tr, tr, tr); strings.Contains(s, svcToken) {
		t.Errorf("printing the tracker shows the service token: %s", s)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		down     bool
		want     fb.User
		wantCode fb.Code
		wantMsg  string
	}{
		{name: "good token", token: svcToken,
			want: fb.User{Key: "svc", Name: "forgebridge-svc", DisplayName: "forgebridge", Active: true}},
		{name: "rejected token", token: "not-a-real-token-0005", wantCode: fb.EUnauthenticated, wantMsg: "Jira rejected the service token"},
		{name: "Jira down", token: svcToken, down: true, wantCode: fb.ETrackerUnavailable, wantMsg: "Jira could not be reached or failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tr, err := New(Config{BaseURL: e.fake.URL(), ServiceToken: tt.token})
			if err != nil {
				t.Fatal(err)
			}
			tr.retryWaits = e.tr.retryWaits
			e.fake.SetDown(tt.down)
			got, err := tr.Check(context.Background())
			if tt.wantCode != "" {
				assertCode(t, err, tt.wantCode)
				if !strings.Contains(fb.ErrorMessage(err), tt.wantMsg) {
					t.Errorf("message %q does not say %q", fb.ErrorMessage(err), tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Check() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPing(t *testing.T) {
	e := newEnv(t)
	if err := e.tr.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	e.fake.SetDown(true)
	assertCode(t, e.tr.Ping(context.Background()), fb.ETrackerUnavailable)
	e.fake.Close()
	assertCode(t, e.tr.Ping(context.Background()), fb.ETrackerUnavailable)
}

func TestUserForToken(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		down     bool
		want     fb.User
		wantCode fb.Code
	}{
		{name: "good token, admin by group (any case)", token: aliceToken,
			want: fb.User{Key: "JIRAUSER10100", Name: "alice", DisplayName: "Alice Liddell", Active: true, Admin: true}},
		{name: "good token, not admin", token: alToken,
			want: fb.User{Key: "JIRAUSER10101", Name: "al", DisplayName: "Al Bundy", Active: true}},
		{name: "unknown token", token: "not-a-real-token-0005", wantCode: fb.EUnauthenticated},
		{name: "deactivated user", token: bobToken, wantCode: fb.EUnauthenticated},
		{name: "empty token", token: " ", wantCode: fb.EUnauthenticated},
		{name: "Jira down", token: aliceToken, down: true, wantCode: fb.ETrackerUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.SetDown(tt.down)
			got, err := e.tr.UserForToken(context.Background(), tt.token)
			if tt.wantCode != "" {
				assertCode(t, err, tt.wantCode)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("UserForToken() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestAuthenticationAnswers covers Jira answers the fake does not give: a
// CAPTCHA demand, a failed login answered anonymously with 200, and an
// inactive account that still authenticates.
func TestAuthenticationAnswers(t *testing.T) {
	tests := []struct {
		name     string
		reason   string
		status   int
		body     string
		wantCode fb.Code
		wantMsg  string
	}{
		{name: "CAPTCHA required", reason: "AUTHENTICATION_DENIED", status: 401,
			body: `{"errorMessages":["CAPTCHA"],"errors":{}}`, wantCode: fb.EUnauthenticated, wantMsg: "CAPTCHA"},
		{name: "failed login answered anonymously", reason: "AUTHENTICATED_FAILED", status: 200,
			body: `{"key":"anon","name":"anon","active":true}`, wantCode: fb.EUnauthenticated, wantMsg: "Jira did not accept your token"},
		{name: "HTML 401 without a reason", status: 401, body: `<html>Unauthorized</html>`,
			wantCode: fb.EUnauthenticated, wantMsg: "Jira did not accept your token"},
		{name: "inactive account", reason: "OK", status: 200,
			body: `{"key":"JIRAUSER1","name":"carol","active":false}`, wantCode: fb.EUnauthenticated, wantMsg: "deactivated"},
		{name: "sign-in page instead of JSON", reason: "OK", status: 200, body: `<html>Log in</html>`,
			wantCode: fb.ETrackerUnavailable, wantMsg: "not the JSON expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.reason != "" {
					w.Header().Set("X-Seraph-LoginReason", tt.reason)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			tr, err := New(Config{BaseURL: srv.URL, ServiceToken: svcToken})
			if err != nil {
				t.Fatal(err)
			}
			_, err = tr.UserForToken(context.Background(), aliceToken)
			assertCode(t, err, tt.wantCode)
			if !strings.Contains(fb.ErrorMessage(err), tt.wantMsg) {
				t.Errorf("message %q does not say %q", fb.ErrorMessage(err), tt.wantMsg)
			}
		})
	}
}

func TestUser(t *testing.T) {
	tests := []struct {
		name       string
		key        string
		adminGroup string
		want       fb.User
		wantCode   fb.Code
	}{
		{name: "admin by default group", key: "JIRAUSER10100",
			want: fb.User{Key: "JIRAUSER10100", Name: "alice", DisplayName: "Alice Liddell", Active: true, Admin: true}},
		{name: "not admin", key: "JIRAUSER10101",
			want: fb.User{Key: "JIRAUSER10101", Name: "al", DisplayName: "Al Bundy", Active: true}},
		{name: "configured admin group", key: "JIRAUSER10101", adminGroup: "jira-users",
			want: fb.User{Key: "JIRAUSER10101", Name: "al", DisplayName: "Al Bundy", Active: true, Admin: true}},
		{name: "deactivated user is returned inactive", key: "JIRAUSER10102",
			want: fb.User{Key: "JIRAUSER10102", Name: "bob", DisplayName: "Bob Gone"}},
		{name: "unknown key", key: "JIRAUSER99999", wantCode: fb.ENotFound},
		{name: "a name is not a key", key: "alice", wantCode: fb.ENotFound},
		{name: "empty key", key: "", wantCode: fb.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tr := e.tr
			if tt.adminGroup != "" {
				var err error
				if tr, err = New(Config{BaseURL: e.fake.URL(), ServiceToken: svcToken, AdminGroup: tt.adminGroup}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := tr.User(context.Background(), tt.key)
			if tt.wantCode != "" {
				assertCode(t, err, tt.wantCode)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("User() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestIssue(t *testing.T) {
	tests := []struct {
		name      string
		key       string
		setup     func(e *env)
		want      fb.Issue
		wantCode  fb.Code
		wantMsg   string
		wantCalls int // requests for the issue; 0: not checked
	}{
		{name: "found", key: "PROJ-1", want: fb.Issue{Key: "PROJ-1", Summary: "Fix the login page", Type: "Bug", Project: "PROJ"}, wantCalls: 1},
		{name: "missing", key: "PROJ-404", wantCode: fb.ENotFound},
		{name: "not visible to the service account", key: "HIDDEN-1", wantCode: fb.ENotFound},
		{name: "Jira down: brief retries", key: "PROJ-1", setup: func(e *env) { e.fake.SetDown(true) },
			wantCode: fb.ETrackerUnavailable, wantMsg: "Jira could not be reached or failed", wantCalls: 3},
		{name: "Jira down with Retry-After: not waited out", key: "PROJ-1", setup: func(e *env) { e.fake.SetDown(true, 30) },
			wantCode: fb.ETrackerUnavailable, wantMsg: "try again in 30 seconds", wantCalls: 1},
		{name: "rate limited: not waited out", key: "PROJ-1", setup: func(e *env) { e.fake.SetRateLimited(7) },
			wantCode: fb.ETrackerUnavailable, wantMsg: "try again in 7 seconds", wantCalls: 1},
		{name: "connection refused", key: "PROJ-1", setup: func(e *env) { e.fake.Close() }, wantCode: fb.ETrackerUnavailable},
		{name: "service token revoked", key: "PROJ-1", setup: func(e *env) { e.fake.SetActive("forgebridge-svc", false) },
			wantCode: fb.ETrackerUnavailable, wantMsg: "Jira rejected the service token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			got, err := e.tr.Issue(context.Background(), tt.key)
			if tt.wantCalls > 0 {
				if n := e.calls("/rest/api/2/issue/" + tt.key); n != tt.wantCalls {
					t.Errorf("%d requests, want %d", n, tt.wantCalls)
				}
			}
			if tt.wantCode != "" {
				assertCode(t, err, tt.wantCode)
				if !strings.Contains(fb.ErrorMessage(err), tt.wantMsg) {
					t.Errorf("message %q does not say %q", fb.ErrorMessage(err), tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Issue() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPermissionsExactUser(t *testing.T) {
	both := map[string]bool{fb.PermBrowseProjects: true, fb.PermViewDevTools: true}
	none := map[string]bool{fb.PermBrowseProjects: false, fb.PermViewDevTools: false}
	browseOnly := map[string]bool{fb.PermBrowseProjects: true, fb.PermViewDevTools: false}
	tests := []struct {
		name   string
		grant  func(f *fakejira.Server)
		wantAl map[string]bool
		// wantAlice is alice's answer; al's name is a prefix of hers, so
		// Jira's search for "al" lists her too.
		wantAlice map[string]bool
		wantBob   map[string]bool
	}{
		{name: "alice granted, not al",
			grant:  func(f *fakejira.Server) { f.Grant("alice", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS") },
			wantAl: none, wantAlice: both, wantBob: none},
		{name: "al granted, not alice",
			grant:  func(f *fakejira.Server) { f.Grant("al", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS") },
			wantAl: both, wantAlice: none, wantBob: none},
		{name: "browse without development tools",
			grant:  func(f *fakejira.Server) { f.Grant("al", "PROJ", "BROWSE_PROJECTS") },
			wantAl: browseOnly, wantAlice: none, wantBob: none},
		{name: "granted on another project only",
			grant:  func(f *fakejira.Server) { f.Grant("alice", "OPS", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS") },
			wantAl: none, wantAlice: none, wantBob: none},
		{name: "deactivated user holds nothing",
			grant:  func(f *fakejira.Server) { f.Grant("bob", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS") },
			wantAl: none, wantAlice: none, wantBob: none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.grant(e.fake)
			for _, c := range []struct {
				u    fb.User
				want map[string]bool
			}{{e.al, tt.wantAl}, {e.alice, tt.wantAlice}, {e.bob, tt.wantBob}} {
				got, err := e.tr.Permissions(context.Background(), c.u, "PROJ")
				if err != nil {
					t.Fatalf("%s: %v", c.u.Name, err)
				}
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("Permissions(%s) = %v, want %v", c.u.Name, got, c.want)
				}
			}
		})
	}
}

// TestPermissionsByNameWithoutKey checks the name match when a user comes
// without a key: exact, case-insensitive, never a prefix.
func TestPermissionsByNameWithoutKey(t *testing.T) {
	e := newEnv(t)
	e.fake.Grant("alice", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	for name, want := range map[string]bool{"alice": true, "ALICE": true, "al": false} {
		got, err := e.tr.Permissions(context.Background(), fb.User{Name: name}, "PROJ")
		if err != nil {
			t.Fatal(err)
		}
		if got[fb.PermBrowseProjects] != want || got[fb.PermViewDevTools] != want {
			t.Errorf("Permissions(%s) = %v, want both %v", name, got, want)
		}
	}
}

func TestPermissionsCache(t *testing.T) {
	const search = "/rest/api/2/user/permission/search"
	e := newEnv(t)
	ctx := context.Background()
	e.fake.Grant("alice", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	steps := []struct {
		name      string
		do        func()
		wantBoth  bool
		wantCalls int // permission searches made by this step
	}{
		{name: "first call asks Jira, once per permission", wantBoth: true, wantCalls: 2},
		{name: "within the TTL: answered from the cache", do: func() { e.clock.Advance(59 * time.Second) }, wantBoth: true, wantCalls: 0},
		{name: "revoked in Jira: still cached until the TTL ends",
			do: func() { e.fake.Revoke("alice", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS") }, wantBoth: true, wantCalls: 0},
		{name: "after the TTL: asks again", do: func() { e.clock.Advance(time.Second) }, wantBoth: false, wantCalls: 2},
		{name: "Jira down: not cached",
			do: func() { e.clock.Advance(time.Minute); e.fake.SetDown(true) }, wantCalls: -1},
		{name: "Jira back: asks again", do: func() {
			e.fake.SetDown(false)
			e.fake.Grant("alice", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
		}, wantBoth: true, wantCalls: 2},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		e.fake.ResetCalls()
		got, err := e.tr.Permissions(ctx, e.alice, "PROJ")
		if st.wantCalls < 0 {
			assertCode(t, err, fb.ETrackerUnavailable)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got[fb.PermBrowseProjects] != st.wantBoth || got[fb.PermViewDevTools] != st.wantBoth {
			t.Errorf("%s: Permissions = %v, want both %v", st.name, got, st.wantBoth)
		}
		if n := e.calls(search); n != st.wantCalls {
			t.Errorf("%s: %d permission searches, want %d", st.name, n, st.wantCalls)
		}
	}

	// The cache is per user: al's decision is asked for, not taken from alice's.
	e.fake.ResetCalls()
	if got, err := e.tr.Permissions(ctx, e.al, "PROJ"); err != nil || got[fb.PermBrowseProjects] {
		t.Errorf("Permissions(al) = %v, %v; want no permissions", got, err)
	}
	if n := e.calls(search); n != 2 {
		t.Errorf("al: %d permission searches, want 2", n)
	}
}

func TestPermissionsNoCache(t *testing.T) {
	e := newEnv(t)
	tr, err := New(Config{BaseURL: e.fake.URL(), ServiceToken: svcToken, CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := tr.Permissions(context.Background(), e.alice, "PROJ"); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.calls("/rest/api/2/user/permission/search"); n != 4 {
		t.Errorf("%d permission searches, want 4 without a cache", n)
	}
}

func TestPermissionsErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(e *env)
		project  string
		wantCode fb.Code
	}{
		{name: "unknown project", project: "NOPE", wantCode: fb.ENotFound},
		{name: "service account may not search", project: "PROJ",
			setup: func(e *env) {
				e.fake.AddUser(fakejira.User{Key: "svc", Name: "forgebridge-svc", Active: true, Token: svcToken})
			}, wantCode: fb.ETrackerUnavailable},
		{name: "connection refused", project: "PROJ", setup: func(e *env) { e.fake.Close() }, wantCode: fb.ETrackerUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			_, err := e.tr.Permissions(context.Background(), e.alice, tt.project)
			assertCode(t, err, tt.wantCode)
		})
	}
}

func TestBrowsableProjects(t *testing.T) {
	tests := []struct {
		name   string
		grant  func(f *fakejira.Server)
		user   func(e *env) fb.User
		want   []string
		wantEr fb.Code
	}{
		{name: "two of three projects",
			grant: func(f *fakejira.Server) {
				f.Grant("alice", "PROJ", "BROWSE_PROJECTS")
				f.Grant("alice", "OPS", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
				f.Grant("al", "SEC", "BROWSE_PROJECTS")
			},
			user: func(e *env) fb.User { return e.alice }, want: []string{"OPS", "PROJ"}},
		{name: "prefix user gets nothing of alice's",
			grant: func(f *fakejira.Server) { f.Grant("alice", "PROJ", "BROWSE_PROJECTS") },
			user:  func(e *env) fb.User { return e.al }, want: nil},
		{name: "projects the service account cannot see are not listed",
			grant: func(f *fakejira.Server) { f.Grant("al", "HIDDEN", "BROWSE_PROJECTS") },
			user:  func(e *env) fb.User { return e.al }, want: nil},
		{name: "Jira down", grant: func(f *fakejira.Server) { f.SetDown(true) },
			user: func(e *env) fb.User { return e.alice }, wantEr: fb.ETrackerUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.grant(e.fake)
			got, err := e.tr.BrowsableProjects(context.Background(), tt.user(e))
			if tt.wantEr != "" {
				assertCode(t, err, tt.wantEr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("BrowsableProjects() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAddRemoteLink(t *testing.T) {
	branch := RemoteLink{GlobalID: "forgebridge:repo-1:branch:PROJ-1-fix", URL: "https://github.com/acme/app/tree/PROJ-1-fix",
		Title: "Branch PROJ-1-fix", Summary: "acme/app", IconURL: "https://forgebridge.example.com/icons/github.png", IconTitle: "GitHub"}
	merged := branch
	merged.Title, merged.Resolved = "Branch PROJ-1-fix (merged)", true
	other := branch
	other.GlobalID, other.Title = "forgebridge:repo-1:pr:7", "Pull request #7"

	e := newEnv(t)
	ctx := context.Background()
	for _, l := range []RemoteLink{branch, merged} {
		if err := e.tr.AddRemoteLink(ctx, "PROJ-1", l); err != nil {
			t.Fatal(err)
		}
	}
	links := e.fake.RemoteLinks("PROJ-1")
	if len(links) != 1 {
		t.Fatalf("%d links after adding one twice, want 1: %+v", len(links), links)
	}
	want := fakejira.RemoteLinkRecord{ID: links[0].ID, GlobalID: branch.GlobalID, ApplicationType: "com.forgebridge",
		ApplicationName: "forgebridge", Relationship: "Development", URL: branch.URL, Title: merged.Title, Summary: "acme/app",
		IconURL: branch.IconURL, IconTitle: "GitHub", Resolved: true, CreatedBy: "forgebridge-svc", UpdatedBy: "forgebridge-svc", Updates: 1}
	if links[0] != want {
		t.Errorf("link = %+v\nwant %+v", links[0], want)
	}
	if err := e.tr.AddRemoteLink(ctx, "PROJ-1", other); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.RemoteLinks("PROJ-1")); n != 2 {
		t.Errorf("%d links after a second global id, want 2", n)
	}

	errs := []struct {
		name     string
		issue    string
		link     RemoteLink
		setup    func(e *env)
		wantCode fb.Code
		posts    int
	}{
		{name: "no global id", issue: "PROJ-1", link: RemoteLink{URL: "https://x", Title: "x"}, wantCode: fb.EInvalid},
		{name: "no title", issue: "PROJ-1", link: RemoteLink{GlobalID: "g", URL: "https://x"}, wantCode: fb.EInvalid},
		{name: "unknown issue", issue: "PROJ-404", link: branch, wantCode: fb.ENotFound, posts: 1},
		{name: "no Link Issues permission", issue: "PROJ-1", link: branch,
			setup: func(e *env) { e.fake.Revoke("forgebridge-svc", "PROJ", "LINK_ISSUES") }, wantCode: fb.EForbidden, posts: 1},
		{name: "Jira down: a write is not retried", issue: "PROJ-1", link: branch,
			setup: func(e *env) { e.fake.SetDown(true) }, wantCode: fb.ETrackerUnavailable, posts: 1},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			err := e.tr.AddRemoteLink(ctx, tt.issue, tt.link)
			assertCode(t, err, tt.wantCode)
			if n := e.calls("/rest/api/2/issue/" + tt.issue + "/remotelink"); n != tt.posts {
				t.Errorf("%d requests, want %d", n, tt.posts)
			}
		})
	}
}

// TestContextPath runs against Jira served below /jira.
func TestContextPath(t *testing.T) {
	e := newEnv(t)
	target, _ := url.Parse(e.fake.URL())
	mux := http.NewServeMux()
	mux.Handle("/jira/", http.StripPrefix("/jira", httputil.NewSingleHostReverseProxy(target)))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tr, err := New(Config{BaseURL: srv.URL + "/jira/", ServiceToken: svcToken})
	if err != nil {
		t.Fatal(err)
	}
	is, err := tr.Issue(context.Background(), "PROJ-1")
	if err != nil || is.Key != "PROJ-1" {
		t.Fatalf("Issue below a context path = %+v, %v", is, err)
	}
}

// TestRedirectElsewhereRefused checks that no token follows a redirect to another host.
func TestRedirectElsewhereRefused(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(true)
	}))
	defer other.Close()
	var jiraCalls atomic.Int32
	jira := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jiraCalls.Add(1)
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer jira.Close()
	tr, err := New(Config{BaseURL: jira.URL, ServiceToken: svcToken})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Issue(context.Background(), "PROJ-1")
	assertCode(t, err, fb.ETrackerUnavailable)
	if n := jiraCalls.Load(); n != 1 {
		t.Errorf("%d requests to Jira, want 1: a refused redirect is not retried", n)
	}
	if leaked.Load() {
		t.Error("the request followed a redirect to another host")
	}
}

func TestUserCache(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	steps := []struct {
		name       string
		do         func()
		wantActive bool
		wantCode   fb.Code
		wantCalls  int
	}{
		{name: "first lookup asks Jira", wantActive: true, wantCalls: 1},
		{name: "within the TTL: cached", do: func() { e.clock.Advance(30 * time.Second) }, wantActive: true, wantCalls: 0},
		{name: "deactivated in Jira: cached until the TTL ends", do: func() { e.fake.SetActive("alice", false) }, wantActive: true, wantCalls: 0},
		{name: "after the TTL: asks again", do: func() { e.clock.Advance(30 * time.Second) }, wantActive: false, wantCalls: 1},
		{name: "Jira down: an error, not cached", do: func() { e.clock.Advance(time.Minute); e.fake.SetDown(true) },
			wantCode: fb.ETrackerUnavailable, wantCalls: 3},
		{name: "Jira back: asks again", do: func() { e.fake.SetDown(false) }, wantActive: false, wantCalls: 1},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		e.fake.ResetCalls()
		u, err := e.tr.User(ctx, "JIRAUSER10100")
		if n := e.calls("/rest/api/2/user"); n != st.wantCalls {
			t.Errorf("%s: %d requests, want %d", st.name, n, st.wantCalls)
		}
		if st.wantCode != "" {
			assertCode(t, err, st.wantCode)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if u.Active != st.wantActive {
			t.Errorf("%s: Active = %v, want %v", st.name, u.Active, st.wantActive)
		}
	}
}

// TestIssuePermissions checks that an issue security level narrows what the
// project grants: Permissions answers for the project, IssuePermissions for
// the issue.
func TestIssuePermissions(t *testing.T) {
	both := map[string]bool{fb.PermBrowseProjects: true, fb.PermViewDevTools: true}
	none := map[string]bool{fb.PermBrowseProjects: false, fb.PermViewDevTools: false}
	browseOnly := map[string]bool{fb.PermBrowseProjects: true, fb.PermViewDevTools: false}
	tests := []struct {
		name        string
		setup       func(f *fakejira.Server)
		user        func(e *env) fb.User
		issue       string
		want        map[string]bool // IssuePermissions
		wantProject map[string]bool // Permissions on PROJ
	}{
		{name: "project Browse, left out of the security level",
			setup: func(f *fakejira.Server) { f.RestrictIssue("PROJ-1", "alice") },
			user:  func(e *env) fb.User { return e.al }, issue: "PROJ-1", want: none, wantProject: both},
		{name: "let in by the security level",
			setup: func(f *fakejira.Server) { f.RestrictIssue("PROJ-1", "alice") },
			user:  func(e *env) fb.User { return e.alice }, issue: "PROJ-1", want: both, wantProject: both},
		// al's name is a prefix of alice's: the search for al lists alice,
		// who must not be taken for him.
		{name: "a user whose name extends the user's is let in, not the user",
			setup: func(f *fakejira.Server) { f.RestrictIssue("PROJ-1", "alice") },
			user:  func(e *env) fb.User { return fb.User{Name: "al"} }, issue: "PROJ-1", want: none, wantProject: both},
		{name: "no security level: the project's permissions",
			user: func(e *env) fb.User { return e.al }, issue: "PROJ-1", want: both, wantProject: both},
		{name: "let in, without Development Tools on the project",
			setup: func(f *fakejira.Server) {
				f.Revoke("al", "PROJ", "VIEW_DEV_TOOLS")
				f.RestrictIssue("PROJ-1", "al")
			},
			user: func(e *env) fb.User { return e.al }, issue: "PROJ-1", want: browseOnly, wantProject: browseOnly},
		{name: "let in by the level, without Browse on the project",
			setup: func(f *fakejira.Server) {
				f.Revoke("al", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
				f.RestrictIssue("PROJ-1", "al")
			},
			user: func(e *env) fb.User { return e.al }, issue: "PROJ-1", want: none, wantProject: none},
		{name: "another issue of the project is not restricted",
			setup: func(f *fakejira.Server) { f.RestrictIssue("PROJ-1", "alice") },
			user:  func(e *env) fb.User { return e.al }, issue: "PROJ-2", want: both, wantProject: both},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.AddIssue("PROJ-2", "Another", "Task")
			for _, name := range []string{"al", "alice"} {
				e.fake.Grant(name, "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
			}
			if tt.setup != nil {
				tt.setup(e.fake)
			}
			u := tt.user(e)
			got, err := e.tr.IssuePermissions(context.Background(), u, fb.Issue{Key: tt.issue, Project: "PROJ"})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("IssuePermissions(%s, %s) = %v, want %v", u.Name, tt.issue, got, tt.want)
			}
			got, err = e.tr.Permissions(context.Background(), u, "PROJ")
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantProject) {
				t.Errorf("Permissions(%s, PROJ) = %v, want %v", u.Name, got, tt.wantProject)
			}
		})
	}
}

func TestIssuePermissionsAsksForTheIssue(t *testing.T) {
	e := newEnv(t)
	if _, err := e.tr.IssuePermissions(context.Background(), e.al, fb.Issue{Key: "PROJ-1", Project: "PROJ"}); err != nil {
		t.Fatal(err)
	}
	var perms []string
	for _, c := range e.fake.Calls() {
		q, err := url.ParseQuery(c.Query)
		if err != nil {
			t.Fatal(err)
		}
		if q.Get("issueKey") != "PROJ-1" || q.Has("projectKey") || q.Get("username") != "al" {
			t.Errorf("permission search %s, want issueKey=PROJ-1 for al without projectKey", c.Query)
		}
		perms = append(perms, q.Get("permissions"))
	}
	slices.Sort(perms)
	if want := []string{fb.PermBrowseProjects, fb.PermViewDevTools}; !slices.Equal(perms, want) {
		t.Errorf("searched for %v, want %v", perms, want)
	}
}

func TestIssuePermissionsErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(e *env)
		issue    string
		wantCode fb.Code
		wantMsg  string
	}{
		{name: "unknown issue", issue: "PROJ-404", wantCode: fb.ENotFound, wantMsg: "Issue PROJ-404 does not exist"},
		{name: "no issue key", issue: "", wantCode: fb.ENotFound},
		{name: "Jira down", issue: "PROJ-1", setup: func(e *env) { e.fake.SetDown(true) },
			wantCode: fb.ETrackerUnavailable, wantMsg: "Jira could not be reached or failed"},
		{name: "connection refused", issue: "PROJ-1", setup: func(e *env) { e.fake.Close() }, wantCode: fb.ETrackerUnavailable},
		{name: "service account may not search", issue: "PROJ-1",
			setup: func(e *env) {
				e.fake.AddUser(fakejira.User{Key: "svc", Name: "forgebridge-svc", Active: true, Token: svcToken})
			}, wantCode: fb.ETrackerUnavailable, wantMsg: "Jira refused forgebridge's service account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			_, err := e.tr.IssuePermissions(context.Background(), e.alice, fb.Issue{Key: tt.issue, Project: "PROJ"})
			assertCode(t, err, tt.wantCode)
			if !strings.Contains(fb.ErrorMessage(err), tt.wantMsg) {
				t.Errorf("message %q does not say %q", fb.ErrorMessage(err), tt.wantMsg)
			}
		})
	}
}

// TestIssuePermissionsCache checks that issue decisions are cached per issue,
// apart from the project's, for the TTL, and that failures are not cached.
func TestIssuePermissionsCache(t *testing.T) {
	const search = "/rest/api/2/user/permission/search"
	e := newEnv(t)
	ctx := context.Background()
	e.fake.AddIssue("PROJ-2", "Another", "Task")
	e.fake.Grant("al", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	onIssue := func(key string) func() (map[string]bool, error) {
		return func() (map[string]bool, error) {
			return e.tr.IssuePermissions(ctx, e.al, fb.Issue{Key: key, Project: "PROJ"})
		}
	}
	onProject := func() (map[string]bool, error) { return e.tr.Permissions(ctx, e.al, "PROJ") }
	steps := []struct {
		name      string
		do        func()
		ask       func() (map[string]bool, error)
		wantBoth  bool
		wantCalls int // permission searches made by this step; -1: Jira is down
	}{
		{name: "first call asks Jira, once per permission", ask: onIssue("PROJ-1"), wantBoth: true, wantCalls: 2},
		{name: "restricted in Jira: still cached until the TTL ends",
			do:  func() { e.clock.Advance(30 * time.Second); e.fake.RestrictIssue("PROJ-1", "alice") },
			ask: onIssue("PROJ-1"), wantBoth: true, wantCalls: 0},
		{name: "another issue: its own decisions", ask: onIssue("PROJ-2"), wantBoth: true, wantCalls: 2},
		{name: "the project: its own decisions, not the issue's", ask: onProject, wantBoth: true, wantCalls: 2},
		{name: "after the TTL: asks again and sees the security level",
			do: func() { e.clock.Advance(30 * time.Second) }, ask: onIssue("PROJ-1"), wantBoth: false, wantCalls: 2},
		{name: "Jira down: an error",
			do:  func() { e.clock.Advance(time.Minute); e.fake.SetDown(true) },
			ask: onIssue("PROJ-1"), wantCalls: -1},
		{name: "Jira back: the failure was not cached",
			do:  func() { e.fake.SetDown(false); e.fake.RestrictIssue("PROJ-1", "alice", "al") },
			ask: onIssue("PROJ-1"), wantBoth: true, wantCalls: 2},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		e.fake.ResetCalls()
		got, err := st.ask()
		if st.wantCalls < 0 {
			assertCode(t, err, fb.ETrackerUnavailable)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got[fb.PermBrowseProjects] != st.wantBoth || got[fb.PermViewDevTools] != st.wantBoth {
			t.Errorf("%s: %v, want both %v", st.name, got, st.wantBoth)
		}
		if n := e.calls(search); n != st.wantCalls {
			t.Errorf("%s: %d permission searches, want %d", st.name, n, st.wantCalls)
		}
	}
}

// TestForbiddenWording checks that a 403 is put to the one whose token it
// was: a person is told about their own token, an administrator about the
// service account.
func TestForbiddenWording(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seraph-LoginReason", "OK")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errorMessages":["Forbidden"],"errors":{}}`)
	}))
	defer srv.Close()
	tr, err := New(Config{BaseURL: srv.URL, ServiceToken: svcToken})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		call      func() error
		wantCode  fb.Code
		wantMsg   string
		wantNoMsg string
	}{
		{name: "a person's token", call: func() error { _, err := tr.UserForToken(context.Background(), aliceToken); return err },
			wantCode: fb.EUnauthenticated, wantMsg: "Jira did not accept your token while signing you in", wantNoMsg: "service account"},
		{name: "the service token", call: func() error { _, err := tr.User(context.Background(), "JIRAUSER10100"); return err },
			wantCode: fb.ETrackerUnavailable, wantMsg: "Jira refused forgebridge's service account while looking up a user", wantNoMsg: "your token"},
		{name: "the service token at start-up", call: func() error { _, err := tr.Check(context.Background()); return err },
			// A token Jira turns away from /myself stops the start, as a 401 does.
			wantCode: fb.EUnauthenticated, wantMsg: "Jira rejected the service token (HTTP 403)", wantNoMsg: "your token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			assertCode(t, err, tt.wantCode)
			msg := fb.ErrorMessage(err)
			if !strings.Contains(msg, tt.wantMsg) || strings.Contains(msg, tt.wantNoMsg) {
				t.Errorf("message %q: want %q, not %q", msg, tt.wantMsg, tt.wantNoMsg)
			}
		})
	}
}

func TestProjectKeys(t *testing.T) {
	e := newEnv(t)
	got, err := e.tr.ProjectKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	// HIDDEN exists in Jira, but the service account may not browse it.
	if want := []string{"OPS", "PROJ", "SEC"}; !slices.Equal(got, want) {
		t.Errorf("ProjectKeys() = %v, want %v", got, want)
	}
	// Within the cache period the list is not asked again.
	e.fake.SetDown(true)
	if again, err := e.tr.ProjectKeys(context.Background()); err != nil || len(again) != 3 || e.calls("/rest/api/2/project") != 1 {
		t.Fatalf("ProjectKeys within the cache period = %v, %v after %d calls", again, err, e.calls("/rest/api/2/project"))
	}
	e.clock.Advance(DefaultCacheTTL)
	_, err = e.tr.ProjectKeys(context.Background())
	assertCode(t, err, fb.ETrackerUnavailable)
}
