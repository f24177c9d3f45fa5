package jira

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// TestKeptGrantAsksAsThePerson: a question about a person's own projects or
// permissions that comes without their Jira token (an API token's request)
// is asked as them with their kept grant, renewed through the one refresh
// path; whatever the grant cannot do, the service account answers instead.
func TestKeptGrantAsksAsThePerson(t *testing.T) {
	const projects = 1000
	var candidates []string
	for i := range projects {
		candidates = append(candidates, fmt.Sprintf("P%04d", i))
	}
	type counts struct{ asAlice, searches, refreshes, total int }
	tests := []struct {
		name   string
		setup  func(t *testing.T, g *grantEnv) // after alice signed in with Jira
		noSign bool                            // alice never signed in with Jira (a PAT: nothing kept)
		ctx    func(g *grantEnv) context.Context
		ask    string // "among" (the default) or "permissions" (on P0500)
		// want is the first question's calls at the fake; the same
		// question within the cache period must cost none.
		want     counts
		wantCode fb.Code
		kept     bool // the grant is still kept afterwards
	}{
		{name: "kept grant: her project list, one call as her", kept: true,
			want: counts{asAlice: 1, total: 1}},
		{name: "kept grant: her permissions on a project, one call as her", ask: "permissions", kept: true,
			want: counts{asAlice: 1, total: 1}},
		{name: "expired access token: exactly one refresh, then as her", setup: func(t *testing.T, g *grantEnv) { g.expire(t) },
			kept: true, want: counts{asAlice: 1, refreshes: 1, total: 2}},
		{name: "access token refused before its time: renewed once and asked again", setup: func(t *testing.T, g *grantEnv) {
			g.fake.ExpireAccessTokens()
		}, kept: true, want: counts{asAlice: 1, refreshes: 1, total: 3}},
		{name: "a grant that only reads is enough to read", setup: func(t *testing.T, g *grantEnv) {
			gr, _ := g.stored(t, g.alice.Key)
			gr.Scope = "READ"
			if err := g.store.PutJiraGrant(context.Background(), &gr); err != nil {
				t.Fatal(err)
			}
		}, kept: true, want: counts{asAlice: 1, total: 1}},
		{name: "the web session's token refused: the kept grant answers", ctx: func(g *grantEnv) context.Context {
			return WithPersonToken(context.Background(), g.alice.Key, "not-a-real-token-0005")
		}, kept: true, want: counts{asAlice: 1, total: 2}},
		{name: "revoked in Jira (invalid_grant): dropped, the service account answers", setup: func(t *testing.T, g *grantEnv) {
			g.fake.RevokeOAuth("alice")
			g.expire(t)
		}, want: counts{refreshes: 1, searches: projects, total: 1 + projects}},
		{name: "revoked, the permissions of a project: dropped, the service account answers", ask: "permissions", setup: func(t *testing.T, g *grantEnv) {
			g.fake.RevokeOAuth("alice")
			g.expire(t)
		}, want: counts{refreshes: 1, searches: 2, total: 3}},
		{name: "no kept grant: the service account checks every candidate", noSign: true,
			want: counts{searches: projects, total: projects}},
		{name: "Jira down: unavailable as without a grant, the grant kept", setup: func(t *testing.T, g *grantEnv) {
			g.expire(t)
			g.fake.SetDown(true)
		}, kept: true, wantCode: fb.ETrackerUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGrantEnv(t)
			for _, p := range candidates {
				g.fake.AddProject(p, p)
				g.fake.Grant("forgebridge-svc", p, "BROWSE_PROJECTS")
			}
			g.fake.Grant("alice", "P0500", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
			g.fake.Grant("alice", "P0501", "BROWSE_PROJECTS")
			c := &clock{now: time.Now()}
			g.tr.now = c.Now
			if !tt.noSign {
				g.signIn(t, "alice", g.alice)
			}
			if tt.setup != nil {
				tt.setup(t, g)
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx(g)
			}
			ask := func() error {
				if tt.ask == "permissions" {
					got, err := g.tr.Permissions(ctx, g.alice, "P0500")
					if err == nil && (!got[fb.PermBrowseProjects] || !got[fb.PermViewDevTools]) {
						t.Fatalf("permissions on P0500 %v, want both", got)
					}
					return err
				}
				got, err := g.tr.BrowsableProjectsAmong(ctx, g.alice, candidates)
				if err == nil && !slices.Equal(got, []string{"P0500", "P0501"}) {
					t.Fatalf("browsable %v, want [P0500 P0501]", got)
				}
				return err
			}
			count := func() counts {
				var n counts
				for _, call := range g.fake.Calls() {
					n.total++
					switch {
					case call.User == "alice":
						n.asAlice++
					case call.Path == "/rest/api/2/user/permission/search":
						n.searches++
					case strings.HasSuffix(call.Path, "/token"):
						n.refreshes++
					}
				}
				return n
			}

			g.fake.ResetCalls()
			err := ask()
			got := count()
			if tt.wantCode != "" {
				assertCode(t, err, tt.wantCode)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("first question: calls %+v, want %+v", got, tt.want)
				}
				g.fake.ResetCalls()
				c.Advance(DefaultCacheTTL - time.Second)
				if err := ask(); err != nil {
					t.Fatal(err)
				}
				if n := count(); n.total != 0 {
					t.Errorf("within the cache period: calls %+v, want none", n)
				}
			}
			if _, ok := g.stored(t, g.alice.Key); ok != tt.kept {
				t.Errorf("grant kept %v, want %v", ok, tt.kept)
			}
		})
	}
}

// TestKeptGrantFallsBackOncePerCachePeriod: after Jira refused the grant,
// the service account answers without Jira's token endpoint being tried
// again within the cache period; a new sign-in is used at once.
func TestKeptGrantFallsBackOncePerCachePeriod(t *testing.T) {
	tests := []struct {
		name   string
		refuse func(t *testing.T, g *grantEnv)
		kept   bool
		browse []string // what the service account answers she browses
	}{
		{name: "revoked (invalid_grant): dropped", refuse: func(t *testing.T, g *grantEnv) {
			g.fake.RevokeOAuth("alice")
			g.expire(t)
		}, browse: []string{"PROJ"}},
		{name: "even a renewed token refused: kept, not tried for the cache period", refuse: func(t *testing.T, g *grantEnv) {
			g.fake.SetActive("alice", false) // Jira turns her tokens away, yet renews them
		}, kept: true, browse: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGrantEnv(t)
			c := &clock{now: time.Now()}
			g.tr.now = c.Now
			g.signIn(t, "alice", g.alice)
			tt.refuse(t, g)
			ctx := context.Background()
			if got, err := g.tr.BrowsableProjectsAmong(ctx, g.alice, []string{"PROJ"}); err != nil || !slices.Equal(got, tt.browse) {
				t.Fatalf("browsable %v, %v; want %v", got, err, tt.browse)
			}
			if n := g.fake.Refreshes(); n != 1 {
				t.Fatalf("%d refreshes, want 1", n)
			}
			if _, ok := g.stored(t, g.alice.Key); ok != tt.kept {
				t.Fatalf("grant kept %v, want %v", ok, tt.kept)
			}
			// Her permissions on another project: the service account, no refresh.
			if _, err := g.tr.Permissions(ctx, g.alice, "OPS"); err != nil {
				t.Fatal(err)
			}
			if n := g.fake.Refreshes(); n != 1 {
				t.Fatalf("%d refreshes after Jira refused the grant, want 1", n)
			}
			// She signs in with Jira again: asked as her from then on.
			g.fake.SetActive("alice", true)
			g.signIn(t, "alice", g.alice)
			g.fake.ResetCalls()
			if _, err := g.tr.Permissions(ctx, g.alice, "SEC"); err != nil {
				t.Fatal(err)
			}
			if calls := g.fake.Calls(); len(calls) != 1 || calls[0].User != "alice" || calls[0].Path != "/rest/api/2/mypermissions" {
				t.Fatalf("after signing in again: calls %+v, want one mypermissions as alice", calls)
			}
		})
	}
}

// TestKeptGrantFailingEndpointAskedOnce: when Jira's token endpoint fails
// (here a rotated client secret: invalid_client), the grant is kept, the
// service account answers, and the endpoint is not asked again on every
// question, only after grantRetry.
func TestKeptGrantFailingEndpointAskedOnce(t *testing.T) {
	g := newGrantEnv(t)
	for _, p := range []string{"P1", "P2", "P3"} {
		g.fake.AddProject(p, p)
		g.fake.Grant("forgebridge-svc", p, "BROWSE_PROJECTS")
		g.fake.Grant("alice", p, "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	}
	c := &clock{now: time.Now()}
	g.tr.now = c.Now
	g.signIn(t, "alice", g.alice)
	g.expire(t)
	g.fake.AddOAuthClient(clientID, "a-rotated-secret", callback)
	refreshes := func() int {
		n := 0
		for _, call := range g.fake.Calls() {
			if strings.HasSuffix(call.Path, "/token") {
				n++
			}
		}
		return n
	}
	for i, step := range []struct {
		project string
		advance time.Duration
		want    int
	}{
		{"P1", 0, 1},
		{"P2", 0, 0},                        // within grantRetry: not asked again
		{"P3", grantRetry + time.Second, 1}, // then tried again
	} {
		c.Advance(step.advance)
		g.fake.ResetCalls()
		got, err := g.tr.Permissions(context.Background(), g.alice, step.project)
		if err != nil || !got[fb.PermViewDevTools] {
			t.Fatalf("step %d: permissions %v %v, want View Development Tools from the service account", i, got, err)
		}
		if n := refreshes(); n != step.want {
			t.Errorf("step %d (%s): %d refreshes, want %d", i, step.project, n, step.want)
		}
	}
	if _, ok := g.stored(t, g.alice.Key); !ok {
		t.Error("a failing token endpoint dropped the grant")
	}
}
