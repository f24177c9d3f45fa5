package jira

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
)

// TestReadyAsksAtMostEvery30s checks that readiness probes, however many,
// ask Jira at most once per ReadyInterval, and that an answer learnt from
// another call stands in for a probe.
func TestReadyAsksAtMostEvery30s(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name      string
		advance   time.Duration
		down      bool
		probes    int
		wantCalls int // server information calls so far
		wantErr   bool
	}{
		{name: "the first probes share one call", probes: 50, wantCalls: 1},
		{name: "within 30 s: the last answer", advance: 29 * time.Second, probes: 50, wantCalls: 1},
		{name: "Jira goes down within 30 s: not asked yet", down: true, advance: 999 * time.Millisecond, probes: 10, wantCalls: 1},
		{name: "at 30 s: asked again, down", advance: time.Millisecond, down: true, probes: 50, wantCalls: 1 + 3, wantErr: true}, // a call and its two retries
		{name: "down is kept as long", advance: 20 * time.Second, probes: 10, wantCalls: 4, wantErr: true},
		{name: "back after 30 s", advance: 10 * time.Second, probes: 10, wantCalls: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.SetDown(tt.down)
			e.clock.Advance(tt.advance)
			errs := make([]error, tt.probes)
			var wg sync.WaitGroup
			for i := range tt.probes {
				wg.Go(func() { errs[i] = e.tr.Ready(context.Background()) })
			}
			wg.Wait()
			if got := e.calls("/rest/api/2/serverInfo"); got != tt.wantCalls {
				t.Errorf("server information asked %d times, want %d", got, tt.wantCalls)
			}
			for _, err := range errs {
				if (err != nil) != tt.wantErr {
					t.Fatalf("Ready() = %v, want error %v", err, tt.wantErr)
				}
				if err != nil {
					assertCode(t, err, fb.ETrackerUnavailable)
				}
			}
		})
	}

	// Any call that finds Jira down is the probes' answer, with no call of their own.
	e.clock.Advance(ReadyInterval)
	e.fake.SetDown(true)
	if _, err := e.tr.Issue(context.Background(), "PROJ-1"); fb.ErrorCode(err) != fb.ETrackerUnavailable {
		t.Fatalf("Issue with Jira down: %v", err)
	}
	before := e.calls("/rest/api/2/serverInfo")
	if err := e.tr.Ready(context.Background()); err == nil || e.calls("/rest/api/2/serverInfo") != before {
		t.Fatalf("Ready after a failed call: %v, %d calls of its own", err, e.calls("/rest/api/2/serverInfo")-before)
	}
}

// TestReadyCallerGivesUp checks that a probe whose context ends gets an
// answer at once, and that the call it started still answers the others.
func TestReadyCallerGivesUp(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assertCode(t, e.tr.Ready(ctx), fb.ETrackerUnavailable)
	if err := e.tr.Ready(context.Background()); err != nil {
		t.Fatalf("Ready() = %v", err)
	}
	if got := e.calls("/rest/api/2/serverInfo"); got != 1 {
		t.Errorf("server information asked %d times, want 1", got)
	}
}

func TestLRU(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type step struct {
		put  string        // key to put, or
		get  string        // key to get
		at   time.Duration // after start
		want bool          // get: found
	}
	tests := []struct {
		name  string
		ttl   time.Duration
		max   int
		steps []step
	}{
		{name: "the least recently used goes, not all", ttl: time.Minute, max: 2, steps: []step{
			{put: "a"}, {put: "b"}, {get: "a", want: true}, {put: "c"},
			{get: "b", want: false}, {get: "a", want: true}, {get: "c", want: true}}},
		{name: "expired at the TTL", ttl: time.Minute, max: 10, steps: []step{
			{put: "a"}, {get: "a", at: time.Minute - time.Nanosecond, want: true}, {get: "a", at: time.Minute, want: false}}},
		{name: "a put renews", ttl: time.Minute, max: 10, steps: []step{
			{put: "a"}, {put: "a", at: 30 * time.Second}, {get: "a", at: 80 * time.Second, want: true}}},
		{name: "a negative TTL keeps nothing", ttl: -1, max: 10, steps: []step{{put: "a"}, {get: "a", want: false}}},
		{name: "a zero TTL keeps until evicted", ttl: 0, max: 1, steps: []step{
			{put: "a"}, {get: "a", at: 1000 * time.Hour, want: true}, {put: "b"}, {get: "a", want: false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newLRU[string, int](tt.ttl, tt.max)
			for i, s := range tt.steps {
				if s.put != "" {
					c.put(s.put, i, start.Add(s.at))
					continue
				}
				if _, ok := c.get(s.get, start.Add(s.at)); ok != s.want {
					t.Fatalf("step %d: get(%q) found %v, want %v", i, s.get, ok, s.want)
				}
			}
			if c.len() > tt.max {
				t.Errorf("holds %d entries, more than %d", c.len(), tt.max)
			}
		})
	}
}

// TestDecisionsPerPerson checks that one person's many decisions do not
// evict another's: each person's cache is bounded on its own.
func TestDecisionsPerPerson(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fake.Grant("alice", "PROJ", "BROWSE_PROJECTS")
	if _, err := e.tr.Permissions(ctx, e.alice, "PROJ"); err != nil {
		t.Fatal(err)
	}
	// al fills his own cache to the brim and beyond.
	al := e.tr.personDecisions(e.al.Key, e.al.Name)
	for i := range maxDecisionsEach + 10 {
		al.put(decisionKey{userKey: e.al.Key, scope: projectScope(fmt.Sprint("P", i)), perm: fb.PermBrowseProjects}, false, e.clock.Now())
	}
	if al.len() != maxDecisionsEach {
		t.Errorf("al's cache holds %d, want its bound %d", al.len(), maxDecisionsEach)
	}
	e.fake.ResetCalls()
	if perms, err := e.tr.Permissions(ctx, e.alice, "PROJ"); err != nil || !perms[fb.PermBrowseProjects] {
		t.Fatalf("alice's PROJ: %v %v", perms, err)
	}
	if n := len(e.fake.Calls()); n != 0 {
		t.Errorf("alice's decisions were evicted by al's: %d calls", n)
	}
}

// scaleEnv is a fake Jira with n projects, a service account that browses
// them all and alice, who browses the projects in hers.
func scaleEnv(t testing.TB, n int, hers ...string) (*fakejira.Server, *Tracker, fb.User) {
	fake := fakejira.New()
	t.Cleanup(fake.Close)
	fake.AddUser(fakejira.User{Key: "svc", Name: "forgebridge-svc", Active: true, Groups: []string{"jira-administrators"}, Token: svcToken})
	fake.AddUser(fakejira.User{Key: "JIRAUSER10100", Name: "alice", Active: true, Token: aliceToken})
	for i := range n {
		key := fmt.Sprintf("P%04d", i)
		fake.AddProject(key, key)
		fake.Grant("forgebridge-svc", key, "BROWSE_PROJECTS")
	}
	for _, p := range hers {
		fake.Grant("alice", p, "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	}
	tr, err := New(Config{BaseURL: fake.URL(), ServiceToken: svcToken})
	if err != nil {
		t.Fatal(err)
	}
	return fake, tr, fb.User{Key: "JIRAUSER10100", Name: "alice", Active: true}
}

// TestBrowsableAtScale counts Jira's calls for what a repository list asks,
// with 1,000 projects.
func TestBrowsableAtScale(t *testing.T) {
	tests := []struct {
		name       string
		token      string // alice's token in the context; "" for none
		ask        func(ctx context.Context, tr *Tracker, u fb.User) (any, error)
		want       any
		maxCalls   int
		wantAsHer  int
		noSearches bool
	}{
		{name: "among the integrations' projects: those alone",
			ask: func(ctx context.Context, tr *Tracker, u fb.User) (any, error) {
				return tr.BrowsableProjectsAmong(ctx, u, []string{"P0001", "P0500", "P0999", "NOPE"})
			}, want: []string{"P0500", "P0999"}, maxCalls: 4},
		{name: "among them, as her: one call",
			token: aliceToken,
			ask: func(ctx context.Context, tr *Tracker, u fb.User) (any, error) {
				return tr.BrowsableProjectsAmong(ctx, u, []string{"P0001", "P0500", "P0999"})
			}, want: []string{"P0500", "P0999"}, maxCalls: 1, wantAsHer: 1, noSearches: true},
		{name: "all her projects, as her: one call", token: aliceToken,
			ask:  func(ctx context.Context, tr *Tracker, u fb.User) (any, error) { return tr.BrowsableProjects(ctx, u) },
			want: []string{"P0500", "P0999"}, maxCalls: 1, wantAsHer: 1, noSearches: true},
		{name: "a token Jira no longer accepts: the service account instead", token: "expired",
			ask: func(ctx context.Context, tr *Tracker, u fb.User) (any, error) {
				return tr.BrowsableProjectsAmong(ctx, u, []string{"P0500", "P0001"})
			}, want: []string{"P0500"}, maxCalls: 1 + 2},
		{name: "any project, as the service account: stops at the first found",
			ask:  func(ctx context.Context, tr *Tracker, u fb.User) (any, error) { return tr.BrowsesAnyProject(ctx, u) },
			want: true, maxCalls: 1 + 500 + 1 + checkConcurrency},
		{name: "any project, as her: one call", token: aliceToken,
			ask:  func(ctx context.Context, tr *Tracker, u fb.User) (any, error) { return tr.BrowsesAnyProject(ctx, u) },
			want: true, maxCalls: 1, wantAsHer: 1, noSearches: true},
		{name: "her permissions on a project, as her: one call", token: aliceToken,
			ask:  func(ctx context.Context, tr *Tracker, u fb.User) (any, error) { return tr.Permissions(ctx, u, "P0500") },
			want: map[string]bool{fb.PermBrowseProjects: true, fb.PermViewDevTools: true}, maxCalls: 1, wantAsHer: 1, noSearches: true},
		{name: "on one she may not browse, as her: holds nothing", token: aliceToken,
			ask:  func(ctx context.Context, tr *Tracker, u fb.User) (any, error) { return tr.Permissions(ctx, u, "P0002") },
			want: map[string]bool{fb.PermBrowseProjects: false, fb.PermViewDevTools: false}, maxCalls: 1, wantAsHer: 1, noSearches: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, tr, alice := scaleEnv(t, 1000, "P0500", "P0999")
			ctx := WithPersonToken(context.Background(), alice.Key, tt.token)
			for round := range 2 {
				fake.ResetCalls()
				got, err := tt.ask(ctx, tr, alice)
				if err != nil {
					t.Fatal(err)
				}
				if s, ok := got.([]string); ok {
					slices.Sort(s)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("round %d: got %v, want %v", round, got, tt.want)
				}
				calls := fake.Calls()
				asHer, searches := 0, 0
				for _, c := range calls {
					if c.User == "alice" {
						asHer++
					}
					if c.Path == "/rest/api/2/user/permission/search" {
						searches++
					}
				}
				switch {
				case round == 1 && len(calls) != 0:
					t.Errorf("within the cache period: %d calls, want none", len(calls))
				case round == 0 && (len(calls) > tt.maxCalls || asHer != tt.wantAsHer || tt.noSearches && searches > 0):
					t.Errorf("%d calls (at most %d), %d as her (want %d), %d permission searches", len(calls), tt.maxCalls, asHer, tt.wantAsHer, searches)
				}
			}
		})
	}
}

// TestPersonTokenOnlyForThem checks that a person's token is never used to
// answer about someone else.
func TestPersonTokenOnlyForThem(t *testing.T) {
	e := newEnv(t)
	e.fake.Grant("al", "PROJ", "BROWSE_PROJECTS")
	ctx := WithPersonToken(context.Background(), e.alice.Key, aliceToken)
	got, err := e.tr.BrowsableProjectsAmong(ctx, e.al, []string{"PROJ", "OPS"})
	if err != nil || !slices.Equal(got, []string{"PROJ"}) {
		t.Fatalf("al's projects: %v %v", got, err)
	}
	for _, c := range e.fake.Calls() {
		if c.User == "alice" {
			t.Errorf("asked as alice about al: %+v", c)
		}
	}
}

// TestBrowsesAnyRemembersLast checks that after the cache period the project
// a person was last found to browse is asked about first: one search, not a
// scan; and that a scan follows when they lost it.
func TestBrowsesAnyRemembersLast(t *testing.T) {
	fake, tr, alice := scaleEnv(t, 1000, "P0700")
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	tr.now = c.Now
	ctx := context.Background()
	tests := []struct {
		name     string
		change   func()
		want     bool
		minCalls int
		maxCalls int
	}{
		{name: "first: a scan", want: true, minCalls: 700, maxCalls: 1 + 701 + checkConcurrency},
		{name: "after the cache period: the project list and P0700", change: func() { c.Advance(DefaultCacheTTL) },
			want: true, minCalls: 2, maxCalls: 2},
		{name: "P0700 taken away: a scan again", change: func() {
			c.Advance(DefaultCacheTTL)
			fake.Revoke("alice", "P0700", "BROWSE_PROJECTS")
			fake.Grant("alice", "P0010", "BROWSE_PROJECTS")
		}, want: true, minCalls: 3, maxCalls: 2 + 11 + checkConcurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.change != nil {
				tt.change()
			}
			fake.ResetCalls()
			got, err := tr.BrowsesAnyProject(ctx, alice)
			if err != nil || got != tt.want {
				t.Fatalf("BrowsesAnyProject() = %v, %v; want %v", got, err, tt.want)
			}
			if n := len(fake.Calls()); n < tt.minCalls || n > tt.maxCalls {
				t.Errorf("%d calls, want %d to %d", n, tt.minCalls, tt.maxCalls)
			}
		})
	}
}

// TestReadyFollowsTheServiceToken checks what calls tell Ready: a service
// call that Jira fails or whose token it rejects is down; a person's call,
// accepted or not, tells nothing; a refusal of one request is Jira up.
func TestReadyFollowsTheServiceToken(t *testing.T) {
	tests := []struct {
		name    string
		token   string // the service token
		call    func(e *env) error
		wantErr bool
	}{
		{name: "a service call answered", token: svcToken, call: func(e *env) error { _, err := e.tr.Issue(context.Background(), "PROJ-1"); return err }},
		{name: "a service call refused for its issue", token: svcToken, call: func(e *env) error {
			_, err := e.tr.Issue(context.Background(), "NOPE-1")
			return err
		}},
		{name: "the service token rejected", token: "revoked", wantErr: true, call: func(e *env) error {
			_, err := e.tr.Issue(context.Background(), "PROJ-1")
			return err
		}},
		{name: "the service token rejected, a person signs in", token: "revoked", wantErr: true, call: func(e *env) error {
			_, _ = e.tr.Issue(context.Background(), "PROJ-1")
			_, err := e.tr.UserForToken(context.Background(), aliceToken)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tr, err := New(Config{BaseURL: e.fake.URL(), ServiceToken: tt.token, Now: e.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			tr.retryWaits = e.tr.retryWaits
			e.tr = tr
			_ = tt.call(e)
			before := e.calls("/rest/api/2/serverInfo")
			if err := tr.Ready(context.Background()); (err != nil) != tt.wantErr {
				t.Errorf("Ready() = %v, want error %v", err, tt.wantErr)
			}
			if e.calls("/rest/api/2/serverInfo") != before {
				t.Error("Ready asked Jira although a call had just told")
			}
		})
	}
}
