package main

import (
	"context"
	"slices"
	"testing"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// TestDemoSeeds builds the demo's sample host and database: the history
// mentions the sample issues, and the integration connects to the host.
func TestDemoSeeds(t *testing.T) {
	host := fakegithub.New()
	defer host.Close()
	host.AddToken(demoServiceToken, fakegithub.Token{Login: "forgebridge-bot", Scopes: []string{"repo"}})
	if err := seedHost(host); err != nil {
		t.Fatal(err)
	}
	webapp := host.Repo("acme/webapp")
	if !slices.Contains(webapp.Branches(), "DEMO-2-dark-mode") {
		t.Errorf("acme/webapp branches = %v", webapp.Branches())
	}
	prs := host.Repo("acme/api").PullRequests()
	if len(prs) != 1 || prs[0].State != "closed" || !prs[0].Merged {
		t.Errorf("acme/api pull requests = %+v, want one merged", prs)
	}
	c := config{data: t.TempDir()}
	passwords, err := seedDirectory(context.Background(), c, host.URL())
	if err != nil {
		t.Fatal(err)
	}
	if len(passwords["admin"]) < 12 || len(passwords["alice"]) < 12 || passwords["admin"] == passwords["alice"] {
		t.Errorf("passwords %v", passwords)
	}
	st, _, err := c.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ins, err := st.Integrations(context.Background())
	if err != nil || len(ins) != 1 || ins[0].RepositoryCount != 2 {
		t.Fatalf("integrations %+v, %v", ins, err)
	}
	if _, err := st.Issue(context.Background(), "DEMO-3"); err != nil {
		t.Error(err)
	}
	if _, err := service(st).SignIn(context.Background(), "alice", passwords["alice"], "127.0.0.1"); err != nil {
		t.Errorf("alice cannot sign in: %v", err)
	}
}
