package app_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/jira"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
)

// Forgebridge's OAuth client in the fake Jira, for "Sign in with Jira".
const (
	grantClient   = "fb-client"
	grantSecret   = "fb-client-secret"
	grantCallback = "https://fb.example.com/login/jira/callback"
)

// jiraAtScale is a fake Jira with 1,000 projects that the service account
// browses; alice browses P0500 and P0501 only.
func jiraAtScale(tb testing.TB) (*fakejira.Server, fb.User) {
	tb.Helper()
	fake := fakejira.New()
	tb.Cleanup(fake.Close)
	fake.AddUser(fakejira.User{Key: "svc", Name: "forgebridge-svc", Active: true, Groups: []string{"jira-administrators"}, Token: "svc-token"})
	fake.AddUser(fakejira.User{Key: "JIRAUSER10100", Name: "alice", Active: true, Token: "alice-token"})
	fake.AddUser(fakejira.User{Key: "JIRAUSER10101", Name: "nobody", Active: true, Token: "nobody-token"})
	for i := range 1000 {
		key := fmt.Sprintf("P%04d", i)
		fake.AddProject(key, key)
		fake.Grant("forgebridge-svc", key, "BROWSE_PROJECTS")
	}
	fake.Grant("alice", "P0500", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	fake.Grant("alice", "P0501", "BROWSE_PROJECTS")
	fake.AddOAuthClient(grantClient, grantSecret, grantCallback)
	return fake, fb.User{Key: "JIRAUSER10100", Name: "alice", Active: true}
}

// thousandNamed is ten integrations naming 100 projects each, 1,000 in all,
// each with one repository.
func thousandNamed(tb testing.TB, st *store.Store) {
	tb.Helper()
	for i := range 10 {
		var ps []string
		for j := range 100 {
			ps = append(ps, fmt.Sprintf("P%04d", i*100+j))
		}
		in := fb.Integration{Name: fmt.Sprint("GH", i), Kind: fb.KindGitHub, Projects: ps}
		repos := []fb.Repository{{ExternalID: fmt.Sprint(i), Name: "r", FullName: fmt.Sprint("o/r", i)}}
		if err := st.CreateIntegrationWithRepositories(context.Background(), &in, repos, time.Now()); err != nil {
			tb.Fatal(err)
		}
	}
}

// grantTracker is the Jira tracker with Sign in with Jira configured and
// grants kept in st.
func grantTracker(tb testing.TB, fake *fakejira.Server, st *store.Store, now func() time.Time) *jira.Tracker {
	tb.Helper()
	tr, err := jira.New(jira.Config{BaseURL: fake.URL(), ServiceToken: "svc-token", Now: now,
		OAuth: &jira.OAuthConfig{ClientID: grantClient, ClientSecret: grantSecret}, Grants: st})
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

// signInWithJira is "Sign in with Jira" as the named person, as the web
// callback does it: the grant is kept under their Jira key.
func signInWithJira(tb testing.TB, fake *fakejira.Server, tr *jira.Tracker, name string, u fb.User) {
	tb.Helper()
	fake.SetOAuthUser(name)
	b := make([]byte, 32)
	rand.Read(b)
	verifier := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(tr.AuthorizeURL("st", base64.RawURLEncoding.EncodeToString(sum[:]), grantCallback))
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	grant, err := tr.ExchangeGrant(context.Background(), loc.Query().Get("code"), verifier, grantCallback)
	if err != nil {
		tb.Fatal(err)
	}
	if err := tr.SaveGrant(context.Background(), u.Key, grant); err != nil {
		tb.Fatal(err)
	}
}

// expireGrant makes the kept access token expired by forgebridge's clock.
func expireGrant(tb testing.TB, st *store.Store, key string) {
	tb.Helper()
	g, err := st.JiraGrant(context.Background(), key)
	if err != nil {
		tb.Fatal(err)
	}
	g.ExpiresAt = time.Now().Add(-time.Minute)
	if err := st.PutJiraGrant(context.Background(), &g); err != nil {
		tb.Fatal(err)
	}
}

// TestRepositoriesWithKeptGrant: a person who signed in with Jira lists
// repositories with a forgebridge API token (no Jira token in the request)
// among integrations naming 1,000 projects. Their kept grant asks Jira as
// them: at most 10 calls, none within the cache period; an expired access
// token costs one refresh; a grant Jira no longer honours is dropped and the
// service account answers, as for a person without a grant.
func TestRepositoriesWithKeptGrant(t *testing.T) {
	type calls struct{ asAlice, searches, refreshes int }
	tests := []struct {
		name     string
		signIn   bool
		setup    func(t *testing.T, fake *fakejira.Server, st *store.Store)
		maxCalls int
		want     calls
		wantKept bool
	}{
		{name: "kept grant", signIn: true, maxCalls: 10, want: calls{asAlice: 1}, wantKept: true},
		{name: "kept grant, access token expired: one refresh", signIn: true, maxCalls: 10,
			setup: func(t *testing.T, _ *fakejira.Server, st *store.Store) { expireGrant(t, st, "JIRAUSER10100") },
			want:  calls{asAlice: 1, refreshes: 1}, wantKept: true},
		{name: "kept grant, access token refused early: one refresh", signIn: true, maxCalls: 10,
			setup: func(t *testing.T, fake *fakejira.Server, _ *store.Store) { fake.ExpireAccessTokens() },
			want:  calls{asAlice: 1, refreshes: 1}, wantKept: true},
		{name: "grant revoked in Jira (invalid_grant): dropped, the service account answers", signIn: true, maxCalls: 1001,
			setup: func(t *testing.T, fake *fakejira.Server, st *store.Store) {
				fake.RevokeOAuth("alice")
				expireGrant(t, st, "JIRAUSER10100")
			},
			want: calls{searches: 1000, refreshes: 1}},
		{name: "no grant (signed in with a personal access token): one check per candidate", maxCalls: 1000,
			want: calls{searches: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, alice := jiraAtScale(t)
			st := storetest.OpenSQLite(t, nil)
			thousandNamed(t, st)
			now := time.Now()
			tr := grantTracker(t, fake, st, func() time.Time { return now })
			if tt.signIn {
				signInWithJira(t, fake, tr, "alice", alice)
			}
			if tt.setup != nil {
				tt.setup(t, fake, st)
			}
			svc := &app.Service{Store: st, Tracker: tr}
			list := func() (calls, int) {
				fake.ResetCalls()
				views, _, err := svc.Repositories(context.Background(), alice, "", "", fb.Page{Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				if len(views) != 1 || views[0].Integration.Name != "GH5" {
					t.Fatalf("repositories %+v, want GH5's only", views)
				}
				var n calls
				all := fake.Calls()
				for _, c := range all {
					switch {
					case c.User == "alice":
						n.asAlice++
					case c.Path == "/rest/api/2/user/permission/search":
						n.searches++
					case strings.HasSuffix(c.Path, "/oauth2/latest/token"):
						n.refreshes++
					}
				}
				return n, len(all)
			}
			got, total := list()
			if got != tt.want || total > tt.maxCalls {
				t.Errorf("first listing: %d calls %+v, want %+v and at most %d", total, got, tt.want, tt.maxCalls)
			}
			now = now.Add(jira.DefaultCacheTTL - time.Second)
			if _, total := list(); total != 0 {
				t.Errorf("within the cache period: %d calls, want none", total)
			}
			_, err := st.JiraGrant(context.Background(), alice.Key)
			if kept := err == nil; kept != tt.wantKept {
				t.Errorf("grant kept: %v (%v), want %v", kept, err, tt.wantKept)
			}
		})
	}
}
