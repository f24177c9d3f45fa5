package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/jira"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
)

// BenchmarkRepositoriesWithJira lists one person's repositories with 1,000
// Jira projects, counting Jira's calls for the first listing (fresh caches)
// for the second (within the cache period) and for one after the cache
// period. With signIn, the first
// counts the sign-in's calls too (/myself and the person's project list).
//
//	go test ./internal/app -run '^$' -bench RepositoriesWithJira -benchtime 5x
func BenchmarkRepositoriesWithJira(b *testing.B) {
	const projects = 1000
	fake := fakejira.New()
	b.Cleanup(fake.Close)
	fake.AddUser(fakejira.User{Key: "svc", Name: "forgebridge-svc", Active: true, Groups: []string{"jira-administrators"}, Token: "svc-token"})
	fake.AddUser(fakejira.User{Key: "JIRAUSER10100", Name: "alice", Active: true, Token: "alice-token"})
	fake.AddUser(fakejira.User{Key: "JIRAUSER10101", Name: "nobody", Active: true, Token: "nobody-token"})
	for i := range projects {
		key := fmt.Sprintf("P%04d", i)
		fake.AddProject(key, key)
		fake.Grant("forgebridge-svc", key, "BROWSE_PROJECTS")
	}
	fake.Grant("alice", "P0500", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")
	fake.Grant("alice", "P0501", "BROWSE_PROJECTS")
	alice := fb.User{Key: "JIRAUSER10100", Name: "alice", Active: true}
	nobody := fb.User{Key: "JIRAUSER10101", Name: "nobody", Active: true}

	named := [][]string{{"P0100", "P0200"}, {"P0300"}, {"P0400", "P0500"}}
	every := [][]string{nil}
	cases := []struct {
		name     string
		projects [][]string // each integration's projects; nil: every project
		who      fb.User
		token    string // the person's Jira OAuth token; "": a REST API token
		before   bool   // the listing as it was: every project checked
		signIn   string // a personal access token the person signs in with first, counted with the first listing
	}{
		{name: "before/every-project", projects: every, who: alice, before: true},
		{name: "integrations-name-5-projects", projects: named, who: alice},
		{name: "integrations-name-5-projects/signed-in-with-jira", projects: named, who: alice, token: "alice-token"},
		{name: "one-serves-every-project/signed-in-with-jira", projects: every, who: alice, token: "alice-token"},
		{name: "one-serves-every-project/signed-in-with-a-PAT", projects: every, who: alice, signIn: "alice-token"},
		{name: "one-serves-every-project/service-account/browses-P0500", projects: every, who: alice},
		{name: "one-serves-every-project/service-account/browses-none", projects: every, who: nobody},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			st := storetest.OpenSQLite(b, nil)
			ctx := context.Background()
			for i, ps := range c.projects {
				in := fb.Integration{Name: fmt.Sprint("GH", i), Kind: fb.KindGitHub, Projects: ps}
				repos := []fb.Repository{{ExternalID: fmt.Sprint(i), Name: "r", FullName: fmt.Sprint("o/r", i)}}
				if err := st.CreateIntegrationWithRepositories(ctx, &in, repos, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			ctx = jira.WithPersonToken(ctx, c.who.Key, c.token)
			var first, second, later int
			for b.Loop() {
				now := time.Now()
				clock := func() time.Time { return now }
				tr, err := jira.New(jira.Config{BaseURL: fake.URL(), ServiceToken: "svc-token", Now: clock})
				if err != nil {
					b.Fatal(err)
				}
				var tracker fb.Tracker = tr
				if c.before {
					tracker = everyProject{tr}
				}
				svc := &app.Service{Store: st, Tracker: tracker}
				fake.ResetCalls()
				if c.signIn != "" {
					if _, err := tr.UserForToken(ctx, c.signIn); err != nil {
						b.Fatal(err)
					}
				}
				for round, n := range []*int{&first, &second, &later} {
					if round > 0 {
						fake.ResetCalls()
					}
					if round == 2 {
						now = now.Add(jira.DefaultCacheTTL) // the cache period is over
					}
					if _, _, err := svc.Repositories(ctx, c.who, "", "", fb.Page{Limit: 50}); err != nil {
						b.Fatalf("round %d: %v", round, err)
					}
					*n = len(fake.Calls())
				}
			}
			b.ReportMetric(float64(first), "jira-calls/first")
			b.ReportMetric(float64(second), "jira-calls/second")
			b.ReportMetric(float64(later), "jira-calls/after-ttl")
		})
	}
}

// everyProject hides the Jira tracker's project-scoped methods, so the
// listing asks as it used to: every project the service account sees.
type everyProject struct{ fb.Tracker }
