package jira

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// grantEnv is a fake Jira with forgebridge's OAuth client, and trackers
// that keep grants in one store (several stand for several instances).
type grantEnv struct {
	*env
	store    *store.Store
	signedIn fb.JiraGrant // alice's grant at sign-in
}

func newGrantEnv(t testing.TB) *grantEnv {
	t.Helper()
	e := newEnv(t)
	e.fake.AddOAuthClient(clientID, clientSecret, callback)
	for _, name := range []string{"alice", "al"} {
		e.fake.Grant(name, "PROJ", "BROWSE_PROJECTS")
	}
	e.fake.Grant("alice", "PROJ", "ADD_COMMENTS", "WORK_ON_ISSUES", "TRANSITION_ISSUES")
	g := &grantEnv{env: e, store: storetest.OpenSQLite(t, nil)}
	e.tr = g.instance(t)
	return g
}

// instance is one forgebridge's Jira tracker over the shared grant store.
func (g *grantEnv) instance(t testing.TB) *Tracker {
	t.Helper()
	tr, err := New(Config{BaseURL: g.fake.URL(), ServiceToken: svcToken,
		OAuth: &OAuthConfig{ClientID: clientID, ClientSecret: clientSecret}, Grants: g.store})
	if err != nil {
		t.Fatal(err)
	}
	tr.retryWaits = []time.Duration{time.Millisecond}
	return tr
}

// signIn is "Sign in with Jira" as the named person: the grant is kept.
func (g *grantEnv) signIn(t testing.TB, name string, u fb.User) fb.JiraGrant {
	t.Helper()
	g.fake.SetOAuthUser(name)
	verifier, challenge := newPKCE()
	q, status := authorize(t, g.tr.AuthorizeURL("st", challenge, callback), callback)
	if q == nil || q.Get("code") == "" {
		t.Fatalf("authorization: %d %v", status, q)
	}
	grant, err := g.tr.ExchangeGrant(context.Background(), q.Get("code"), verifier, callback)
	if err != nil {
		t.Fatal(err)
	}
	if grant.Scope != "WRITE" || grant.RefreshToken == "" || grant.RedirectURI != callback {
		t.Fatalf("grant %+v: want the WRITE scope, a refresh token and the callback", grant)
	}
	if err := g.tr.SaveGrant(context.Background(), u.Key, grant); err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, grant.AccessToken, grant.RefreshToken)
	if name == "alice" {
		g.signedIn = grant
	}
	return grant
}

func (g *grantEnv) stored(t testing.TB, key string) (fb.JiraGrant, bool) {
	t.Helper()
	got, err := g.store.JiraGrant(context.Background(), key)
	if fb.ErrorCode(err) == fb.ENotFound {
		return got, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return got, true
}

// TestIssueActor: each command is done in Jira by the person, with their
// grant, and what Jira refuses is reported in the project's words.
func TestIssueActor(t *testing.T) {
	started := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		setup    func(t *testing.T, g *grantEnv) // after alice signed in
		act      func(g *grantEnv) error
		wantCode fb.Code
		wantMsg  string
		check    func(t *testing.T, g *grantEnv)
	}{
		{name: "comment", act: func(g *grantEnv) error {
			return g.tr.Comment(context.Background(), g.alice, "PROJ-1", "Ready for review")
		}, check: func(t *testing.T, g *grantEnv) {
			c := g.fake.Comments("PROJ-1")
			if len(c) != 1 || c[0].Author != "alice" || c[0].Body != "Ready for review" {
				t.Fatalf("comments %+v", c)
			}
		}},
		{name: "work log", act: func(g *grantEnv) error {
			return g.tr.LogWork(context.Background(), g.alice, "PROJ-1", 9000, "Fixed the parser", started)
		}, check: func(t *testing.T, g *grantEnv) {
			w := g.fake.Worklogs("PROJ-1")
			if len(w) != 1 || w[0].Author != "alice" || w[0].TimeSpent != "2h 30m" || w[0].TimeSpentSeconds != 9000 ||
				!w[0].Started.Equal(started) || w[0].Comment != "Fixed the parser" {
				t.Fatalf("work logs %+v", w)
			}
		}},
		{name: "transition by its smart-commit name, with a comment", act: func(g *grantEnv) error {
			return g.tr.Transition(context.Background(), g.alice, "PROJ-1", "start-progress", "On it")
		}, check: func(t *testing.T, g *grantEnv) {
			if s := g.fake.Status("PROJ-1"); s != "In Progress" {
				t.Fatalf("status %q", s)
			}
			if c := g.fake.Comments("PROJ-1"); len(c) != 1 || c[0].Author != "alice" || c[0].Body != "On it" {
				t.Fatalf("comments %+v", c)
			}
		}},
		{name: "transition names compare case-insensitively, spaces as hyphens", act: func(g *grantEnv) error {
			return g.tr.Transition(context.Background(), g.alice, "PROJ-1", "RESOLVE issue", "")
		}, check: func(t *testing.T, g *grantEnv) {
			if s := g.fake.Status("PROJ-1"); s != "Resolved" {
				t.Fatalf("status %q", s)
			}
		}},
		{name: "a transition the workflow does not offer from the status", act: func(g *grantEnv) error {
			return g.tr.Transition(context.Background(), g.alice, "PROJ-1", "stop-progress", "")
		}, wantCode: fb.EInvalid, wantMsg: `offers no transition "stop-progress" of PROJ-1 from its status; it offers: Start Progress, Resolve Issue, Close Issue`,
			check: func(t *testing.T, g *grantEnv) {
				if s := g.fake.Status("PROJ-1"); s != "Open" {
					t.Fatalf("status %q", s)
				}
			}},
		{name: "unknown issue", act: func(g *grantEnv) error {
			return g.tr.Comment(context.Background(), g.alice, "PROJ-99", "x")
		}, wantCode: fb.ENotFound, wantMsg: "PROJ-99 does not exist in Jira"},
		{name: "no permission", setup: func(t *testing.T, g *grantEnv) {
			g.fake.Revoke("alice", "PROJ", "WORK_ON_ISSUES")
		}, act: func(g *grantEnv) error {
			return g.tr.LogWork(context.Background(), g.alice, "PROJ-1", 3600, "", started)
		}, wantCode: fb.EForbidden, wantMsg: "Jira does not let alice log work on PROJ-1"},
		{name: "no time", act: func(g *grantEnv) error {
			return g.tr.LogWork(context.Background(), g.alice, "PROJ-1", 0, "", started)
		}, wantCode: fb.EInvalid},
		{name: "no grant: nothing is done, not even as the service account", act: func(g *grantEnv) error {
			return g.tr.Comment(context.Background(), g.al, "PROJ-1", "x")
		}, wantCode: fb.EGrantRequired, wantMsg: "al has not given forgebridge a Jira grant",
			check: func(t *testing.T, g *grantEnv) {
				if n := g.calls("/rest/api/2/issue/PROJ-1/comment"); n != 0 || len(g.fake.Comments("PROJ-1")) != 0 {
					t.Fatalf("%d comment calls", n)
				}
			}},
		{name: "a grant that only reads", setup: func(t *testing.T, g *grantEnv) {
			gr, _ := g.stored(t, g.alice.Key)
			gr.Scope = "READ"
			if err := g.store.PutJiraGrant(context.Background(), &gr); err != nil {
				t.Fatal(err)
			}
		}, act: func(g *grantEnv) error {
			return g.tr.Comment(context.Background(), g.alice, "PROJ-1", "x")
		}, wantCode: fb.EGrantRequired, wantMsg: "only lets it read"},
		{name: "expired access token: refreshed once, rotation stored", setup: func(t *testing.T, g *grantEnv) {
			g.expire(t)
		}, act: func(g *grantEnv) error {
			return g.tr.Comment(context.Background(), g.alice, "PROJ-1", "x")
		}, check: func(t *testing.T, g *grantEnv) {
			g.wantRotated(t, 1)
		}},
		{name: "access token refused before its time: refreshed and sent again", setup: func(t *testing.T, g *grantEnv) {
			g.fake.ExpireAccessTokens()
		}, act: func(g *grantEnv) error {
			return g.tr.Comment(context.Background(), g.alice, "PROJ-1", "x")
		}, check: func(t *testing.T, g *grantEnv) {
			g.wantRotated(t, 1)
			if c := g.fake.Comments("PROJ-1"); len(c) != 1 {
				t.Fatalf("comments %+v", c)
			}
		}},
		{name: "revoked in Jira: invalid_grant drops the grant", setup: func(t *testing.T, g *grantEnv) {
			g.fake.RevokeOAuth("alice")
			g.expire(t)
		}, act: func(g *grantEnv) error {
			return g.tr.Comment(context.Background(), g.alice, "PROJ-1", "x")
		}, wantCode: fb.EGrantRequired, wantMsg: "Jira no longer accepts",
			check: func(t *testing.T, g *grantEnv) {
				if _, ok := g.stored(t, g.alice.Key); ok {
					t.Fatal("the grant Jira refused is still kept")
				}
			}},
		{name: "Jira refuses forgebridge's client (401 invalid_client) at the refresh: the grant is kept", setup: func(t *testing.T, g *grantEnv) {
			g.expire(t)
			g.tr.oauth = &OAuthConfig{ClientID: clientID, ClientSecret: "wrong-secret-0009"}
		}, act: func(g *grantEnv) error {
			return g.tr.Comment(context.Background(), g.alice, "PROJ-1", "x")
		}, wantCode: fb.ETrackerUnavailable, wantMsg: "an administrator must correct them", check: func(t *testing.T, g *grantEnv) {
			if _, ok := g.stored(t, g.alice.Key); !ok {
				t.Fatal("a misconfigured client secret dropped the person's grant")
			}
		}},
		{name: "Jira down at the refresh: the grant is kept", setup: func(t *testing.T, g *grantEnv) {
			g.expire(t)
			g.fake.SetDown(true)
		}, act: func(g *grantEnv) error {
			return g.tr.Comment(context.Background(), g.alice, "PROJ-1", "x")
		}, wantCode: fb.ETrackerUnavailable, check: func(t *testing.T, g *grantEnv) {
			if _, ok := g.stored(t, g.alice.Key); !ok {
				t.Fatal("the grant was dropped while Jira was down")
			}
		}},
		{name: "signed out: the grant is gone", setup: func(t *testing.T, g *grantEnv) {
			if err := g.tr.DropGrant(context.Background(), g.alice.Key); err != nil {
				t.Fatal(err)
			}
		}, act: func(g *grantEnv) error {
			return g.tr.Comment(context.Background(), g.alice, "PROJ-1", "x")
		}, wantCode: fb.EGrantRequired, check: func(t *testing.T, g *grantEnv) {
			if _, ok := g.stored(t, g.alice.Key); ok {
				t.Fatal("the grant outlived sign-out")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGrantEnv(t)
			g.signIn(t, "alice", g.alice)
			if tt.setup != nil {
				tt.setup(t, g)
			}
			err := tt.act(g)
			if tt.wantCode == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != "" {
				assertCode(t, err, tt.wantCode)
				if !strings.Contains(fb.ErrorMessage(err), tt.wantMsg) {
					t.Errorf("message %q does not say %q", fb.ErrorMessage(err), tt.wantMsg)
				}
			}
			if tt.check != nil {
				tt.check(t, g)
			}
		})
	}
}

// expire makes alice's stored access token expired by forgebridge's clock.
func (g *grantEnv) expire(t testing.TB) {
	t.Helper()
	gr, _ := g.stored(t, g.alice.Key)
	gr.ExpiresAt = time.Now().Add(-time.Second)
	if err := g.store.PutJiraGrant(context.Background(), &gr); err != nil {
		t.Fatal(err)
	}
}

// wantRotated checks n refreshes reached Jira and the stored grant holds new tokens.
func (g *grantEnv) wantRotated(t *testing.T, n int) {
	t.Helper()
	if got := g.fake.Refreshes(); got != n {
		t.Fatalf("%d refreshes, want %d", got, n)
	}
	gr, ok := g.stored(t, g.alice.Key)
	if !ok || gr.RefreshToken == g.signedIn.RefreshToken || gr.AccessToken == g.signedIn.AccessToken || !gr.ExpiresAt.After(time.Now()) {
		t.Fatalf("stored grant not rotated: %+v", gr)
	}
	secrets = append(secrets, gr.AccessToken, gr.RefreshToken)
}

// TestGrantRefreshRace: two instances that find alice's access token
// expired at once use one refresh of it between them, and both act.
func TestGrantRefreshRace(t *testing.T) {
	g := newGrantEnv(t)
	g.signIn(t, "alice", g.alice)
	g.expire(t)
	instances := []*Tracker{g.tr, g.instance(t)}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			errs[i] = instances[i%2].Comment(context.Background(), g.alice, "PROJ-1", "x")
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	g.wantRotated(t, 1)
	if c := g.fake.Comments("PROJ-1"); len(c) != len(errs) {
		t.Fatalf("%d comments, want %d", len(c), len(errs))
	}
}

func TestTimeSpent(t *testing.T) {
	for _, tt := range []struct {
		seconds int64
		want    string
	}{{1, "1m"}, {29, "1m"}, {60, "1m"}, {89, "1m"}, {90, "2m"}, {3600, "1h"}, {9000, "2h 30m"}, {8 * 3600, "8h"}, {40 * 3600, "40h"}} {
		if got := timeSpent(tt.seconds); got != tt.want {
			t.Errorf("timeSpent(%d) = %q, want %q", tt.seconds, got, tt.want)
		}
	}
}

func TestTransitionKey(t *testing.T) {
	for in, want := range map[string]string{"Start Progress": "start-progress", " resolve  ISSUE ": "resolve-issue", "start-progress": "start-progress"} {
		if got := TransitionKey(in); got != want {
			t.Errorf("TransitionKey(%q) = %q, want %q", in, got, want)
		}
	}
}
