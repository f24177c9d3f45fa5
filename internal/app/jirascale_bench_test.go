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
)

// BenchmarkRepositoriesWithJira lists one person's repositories with 1,000
// Jira projects, counting Jira's calls for the first listing (fresh caches)
// for the second (within the cache period) and for one after the cache
// period. With signIn, the first counts the sign-in's calls too (/myself
// and the person's project list). With grant the person signed in with Jira
// earlier, so a request with an API token (no Jira token) asks as them
// through the kept grant; no-grant is the same person without one.
//
//	go test ./internal/app -run '^$' -bench RepositoriesWithJira -benchtime 5x
func BenchmarkRepositoriesWithJira(b *testing.B) {
	fake, alice := jiraAtScale(b) // 1,000 projects; alice browses P0500 and P0501
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
		thousand bool   // ten integrations naming 100 projects each
		grant    bool   // the person signed in with Jira before: their grant is kept
	}{
		{name: "before/every-project", projects: every, who: alice, before: true},
		{name: "integrations-name-5-projects", projects: named, who: alice},
		{name: "integrations-name-5-projects/signed-in-with-jira", projects: named, who: alice, token: "alice-token"},
		{name: "one-serves-every-project/signed-in-with-jira", projects: every, who: alice, token: "alice-token"},
		{name: "one-serves-every-project/signed-in-with-a-PAT", projects: every, who: alice, signIn: "alice-token"},
		{name: "one-serves-every-project/service-account/browses-P0500", projects: every, who: alice},
		{name: "one-serves-every-project/service-account/browses-none", projects: every, who: nobody},
		{name: "integrations-name-1000-projects/api-token/kept-grant", thousand: true, who: alice, grant: true},
		{name: "integrations-name-1000-projects/api-token/no-grant", thousand: true, who: alice},
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
			if c.thousand {
				thousandNamed(b, st)
			}
			if c.grant {
				signInWithJira(b, fake, grantTracker(b, fake, st, nil), c.who.Name, c.who)
			}
			ctx = jira.WithPersonToken(ctx, c.who.Key, c.token)
			var first, second, later int
			for b.Loop() {
				now := time.Now()
				clock := func() time.Time { return now }
				// Grants are kept (Sign in with Jira is set up) in every case.
				tr := grantTracker(b, fake, st, clock)
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
