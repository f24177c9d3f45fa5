package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// Demo accounts on the built-in sample git host. Their tokens are only good
// for that host, which lives in the demo's own process.
const (
	demoServiceToken = "ghp_demoServiceAccount0000000000000000"
	demoAliceToken   = "ghp_demoAlice000000000000000000000000000"
)

// cmdDemo starts the server on the embedded defaults with a sample git
// host: the GitHub fake, serving real git repositories whose history
// mentions the sample issues. It seeds a project, issues, two people with
// passwords and an integration, then serves until interrupted.
func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	data := fs.String("data", "", "a new data directory for the demo (default: a new temporary one)")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("demo takes no arguments, got %q", pos)
	}
	dir := *data
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "forgebridge-demo-"); err != nil {
			return err
		}
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("the demo needs a new, empty data directory; %s has files", dir)
	}

	host := fakegithub.New()
	defer host.Close()
	host.AddToken(demoServiceToken, fakegithub.Token{Login: "forgebridge-bot", Scopes: []string{"repo"}})
	host.AddToken(demoAliceToken, fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
	if err := seedHost(host); err != nil {
		return fmt.Errorf("building the sample git host: %w", err)
	}

	passwords, err := seedDirectory(ctx, config{data: dir}, host.URL())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `forgebridge demo
  data directory:   %s
  sample git host:  %s (a GitHub fake with real git repositories)
  open:             http://%s/browse/DEMO-1
  sign in as:       admin / %s   (administrator)
                    alice / %s   (may use DEMO's development tools)
  alice's token on the sample host, for "My tokens": %s
Stop with Ctrl-C.
`, dir, host.URL(), *addr, passwords["admin"], passwords["alice"], demoAliceToken)
	return cmdServe(ctx, []string{"--data", dir, "--addr", *addr, "--reindex", "1m"}, getenv, stderr)
}

// seedHost gives the sample host two repositories whose history, branches,
// tags and pull requests mention the demo's issues, with look-alikes that
// are not keys.
func seedHost(host *fakegithub.Server) error {
	type commit struct{ branch, msg, who string }
	people := map[string]fakegit.Author{
		"alice": {Name: "Alice Liddell", Email: "alice@example.com"},
		"bob":   {Name: "Bob Builder", Email: "bob@example.com"},
	}
	at := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
	for _, r := range []struct {
		name    string
		commits []commit
		tags    map[int]string // tag after the commit of that index
		pulls   []struct {
			head, title string
			draft       bool
			state       string
		}
	}{
		{name: "acme/webapp", commits: []commit{
			{"main", "Initial commit", "bob"},
			{"main", "DEMO-1 Fix the login redirect\n\nThe redirect lost the return address.", "alice"},
			{"main", "DEMO-1 Add a test for the login page", "alice"},
			{"main", "Convert the templates to UTF-8 (see CVE-2021-21300 notes)", "bob"},
			{"DEMO-2-dark-mode", "DEMO-2 Dark mode toggle", "alice"},
			{"main", "Refs DEMO-3: cache search results", "bob"},
		}, tags: map[int]string{2: "v1.0"}, pulls: []struct {
			head, title string
			draft       bool
			state       string
		}{{"DEMO-2-dark-mode", "DEMO-2 Add dark mode", true, "open"}}},
		{name: "acme/api", commits: []commit{
			{"main", "Initial commit", "bob"},
			{"main", "DEMO-3 Add a search index", "bob"},
			{"DEMO-1-session-timeout", "DEMO-1 Longer session timeout", "alice"},
		}, tags: map[int]string{1: "v0.9"}, pulls: []struct {
			head, title string
			draft       bool
			state       string
		}{{"DEMO-1-session-timeout", "Longer session timeout for DEMO-1", false, "merged"}}},
	} {
		repo := host.AddEmptyRepo(r.name)
		g := repo.Git()
		for i, c := range r.commits {
			a := people[c.who]
			at = at.Add(37 * time.Minute)
			a.When = at
			if c.branch != "main" {
				if _, ok := g.Resolve("refs/heads/" + c.branch); !ok {
					base, _ := g.Resolve("refs/heads/main")
					if err := g.UpdateRef("refs/heads/"+c.branch, base, ""); err != nil {
						return err
					}
				}
			}
			sha, err := g.Commit(c.branch, []byte(c.msg), a)
			if err != nil {
				return err
			}
			if tag, ok := r.tags[i]; ok {
				if err := repo.Tag(tag, sha); err != nil {
					return err
				}
			}
		}
		for _, p := range r.pulls {
			n, err := repo.OpenPull(p.head, "main", p.title, "", p.draft)
			if err != nil {
				return err
			}
			if p.state != "open" {
				if err := repo.SetPullState(n, p.state); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// seedDirectory makes the demo's database: people with passwords, the DEMO
// project and its issues, and the integration with the sample host. It
// returns the passwords.
func seedDirectory(ctx context.Context, c config, hostURL string) (map[string]string, error) {
	c.create = true // the demo's database is always a new one
	st, _, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	svc := service(st)
	passwords := map[string]string{}
	var admin fb.User
	for _, p := range []fb.User{{Name: "admin", DisplayName: "Demo Admin", Admin: true}, {Name: "alice", DisplayName: "Alice Liddell"}} {
		u, _, err := svc.AddUser(ctx, p)
		if err != nil {
			return nil, err
		}
		passwords[u.Name] = demoPassword()
		if err := svc.SetPassword(ctx, u.Name, passwords[u.Name]); err != nil {
			return nil, err
		}
		if u.Admin {
			admin = u
		}
	}
	if _, err := svc.CreateProject(ctx, admin, fb.Project{Key: "DEMO", Name: "Demo project"}); err != nil {
		return nil, err
	}
	for _, name := range []string{"admin", "alice"} {
		if _, err := svc.SetPermissions(ctx, admin, "DEMO", name, []string{fb.PermBrowseProjects, fb.PermViewDevTools}); err != nil {
			return nil, err
		}
	}
	for _, is := range []fb.Issue{
		{Key: "DEMO-1", Summary: "Fix the login page", Type: "Bug"},
		{Key: "DEMO-2", Summary: "Add dark mode", Type: "Story"},
		{Key: "DEMO-3", Summary: "Speed up search", Type: "Task"},
	} {
		if _, err := svc.CreateIssue(ctx, admin, is); err != nil {
			return nil, err
		}
	}
	name, kind, base := "Acme on the sample host", fb.KindGitHub, hostURL
	_, err = svc.CreateIntegration(ctx, admin, app.IntegrationInput{Name: &name, Kind: &kind, BaseURL: &base,
		Credential: &fb.Credential{Token: demoServiceToken}})
	if err != nil {
		return nil, fmt.Errorf("connecting the sample host: %w", err)
	}
	return passwords, nil
}

func demoPassword() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
