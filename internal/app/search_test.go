package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

// searchEnv is a service whose one repository's mirror holds gittest.Synth's
// history, every commit of it indexed.
type searchEnv struct {
	svc               *app.Service
	admin, alice, bob fb.User
	repo              fb.Repository
	mirror            string
	indexer           *index.Indexer
}

const synthCommits = 4500

// synthIndex is commit i of the synthetic history as indexing records it.
func synthIndex(t testing.TB, dir string) []fb.Commit {
	t.Helper()
	var out []fb.Commit
	for line := range strings.Lines(gittest.Git(t, "", "--git-dir="+dir, "log", "--all", "--format=%H %at %ae")) {
		f := strings.Fields(line)
		at, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		i := int((at - 1600000000) / 60)
		if keys := gittest.Keys(i); len(keys) > 0 {
			out = append(out, fb.Commit{SHA: f[0], Message: gittest.Message(i), AuthorEmail: f[2],
				AuthoredAt: time.Unix(at, 0).UTC(), Keys: keys})
		}
	}
	return out
}

func newSearchEnv(t testing.TB, st *store.Store, commits int) *searchEnv {
	t.Helper()
	ctx := context.Background()
	git, err := gitmirror.Find(ctx)
	if err != nil {
		t.Skip(err)
	}
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddToken("svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main")
	x := &index.Indexer{Git: git, Dir: t.TempDir()}
	svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: drivers.New,
		Index: app.Indexing{Store: st, Secrets: st, Webhooks: drivers.Webhook, Search: st, Range: x.RangeCommits}}
	e := &searchEnv{svc: svc, indexer: x}
	check := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	e.admin, _, err = svc.AddUser(ctx, fb.User{Name: "admin", Admin: true})
	check(nil, err)
	e.alice, _, err = svc.CreateUser(ctx, e.admin, fb.User{Name: "alice", Email: "Grace@Example.com"})
	check(nil, err)
	e.bob, _, err = svc.CreateUser(ctx, e.admin, fb.User{Name: "bob"})
	check(nil, err)
	for _, p := range []string{"PROJ", "OPS"} {
		check(svc.CreateProject(ctx, e.admin, fb.Project{Key: p}))
	}
	// alice: development tools on PROJ, only browsing on OPS; bob: browsing PROJ.
	check(svc.SetPermissions(ctx, e.admin, "PROJ", "alice", []string{fb.PermBrowseProjects, fb.PermViewDevTools}))
	check(svc.SetPermissions(ctx, e.admin, "OPS", "alice", []string{fb.PermBrowseProjects}))
	check(svc.SetPermissions(ctx, e.admin, "PROJ", "bob", []string{fb.PermBrowseProjects}))
	kind, base := fb.KindGitHub, gh.URL()
	in, err := svc.CreateIntegration(ctx, e.admin, app.IntegrationInput{Name: new("Acme"), Kind: &kind, BaseURL: &base,
		Credential: &fb.Credential{Token: "svc"}})
	check(in, err)
	repos, err := st.IntegrationRepositories(ctx, in.ID)
	if err != nil || len(repos) != 1 {
		t.Fatalf("repositories: %v %v", repos, err)
	}
	e.repo = repos[0]
	e.mirror = gittest.Synth(t, x.MirrorDir(e.repo.ID), commits)
	check(nil, st.AddCommits(ctx, e.repo.ID, synthIndex(t, e.mirror)))
	return e
}

// wantKeys are the PROJ keys (alice's only) of Synth's commits i for which keep is true.
func wantKeys(keep func(i int) bool) []string {
	var out []string
	for i := 1; i <= synthCommits; i++ {
		if keep(i) && (i%7 == 0 || i%11 == 0) {
			out = append(out, fmt.Sprintf("PROJ-%d", i))
		}
	}
	slices.Sort(out)
	return out
}

func keysOf(rs []app.IssueResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Key)
	}
	slices.Sort(out)
	return out
}

func onMain(i int) bool { return i%gittest.BranchEvery != gittest.BranchEvery/2 }

func TestSearchIssues(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newSearchEnv(t, b.Open(t, storetest.NewCipher()), synthCommits)
			since, until := time.Unix(1600000000+1000*60, 0), time.Unix(1600000000+1100*60, 0)
			for _, tc := range []struct {
				name string
				q    app.IssueSearch
				want []string
			}{
				{"release range", app.IssueSearch{RepositoryID: e.repo.ID, Range: "v1.1..v1.2"},
					wantKeys(func(i int) bool { return i > 2000 && i <= 4000 && onMain(i) })},
				{"range to a branch", app.IssueSearch{RepositoryID: e.repo.ID, Range: "v1.2..main"},
					wantKeys(func(i int) bool { return i > 4000 && onMain(i) })},
				{"range from a branch to a tag: nothing", app.IssueSearch{RepositoryID: e.repo.ID, Range: "main..v1.2"}, nil},
				{"author by user name", app.IssueSearch{Author: "alice"},
					wantKeys(func(i int) bool { return i%3 == 2 })},
				{"author by email, any case", app.IssueSearch{Author: "ADA@example.com", RepositoryID: e.repo.ID},
					wantKeys(func(i int) bool { return i%3 == 0 })},
				{"time", app.IssueSearch{Since: &since, Until: &until},
					wantKeys(func(i int) bool { return i >= 1000 && i < 1100 })},
				{"everything alice may see", app.IssueSearch{}, wantKeys(func(int) bool { return true })},
				{"no pull requests merged", app.IssueSearch{PullRequestState: fb.PullMerged}, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, _, err := e.svc.ExportIssues(ctx, e.alice, tc.q)
					if err != nil {
						t.Fatal(err)
					}
					if g := keysOf(got); !slices.Equal(g, tc.want) {
						t.Fatalf("got %d issues, want %d\n got %v\nwant %v", len(g), len(tc.want), g, tc.want)
					}
					for _, r := range got {
						if r.Commits != 1 || r.Branches != 0 || r.PullRequests != 0 || r.LastActivity.IsZero() {
							t.Fatalf("%+v: want one commit and its time", r)
						}
					}
				})
			}

			// Pages walk the export's order, each issue once.
			q := app.IssueSearch{RepositoryID: e.repo.ID, Range: "v1.1..v1.2"}
			all, title, err := e.svc.ExportIssues(ctx, e.alice, q)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(title, "v1.1..v1.2") || !strings.Contains(title, "acme/app") {
				t.Errorf("title %q", title)
			}
			var paged []app.IssueResult
			page := fb.Page{Limit: 37}
			for {
				got, next, err := e.svc.SearchIssues(ctx, e.alice, q, page)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, got...)
				if next == "" {
					break
				}
				page.Cursor = next
			}
			if !slices.Equal(paged, all) {
				t.Errorf("pages gave %d issues, the export %d, or another order", len(paged), len(all))
			}
			if !slices.IsSortedFunc(all, func(a, b app.IssueResult) int { return b.LastActivity.Compare(a.LastActivity) }) {
				t.Error("not newest activity first")
			}

			// bob may browse PROJ but not use its development tools: nothing,
			// and the repository's refs are not his to probe.
			if got, _, err := e.svc.SearchIssues(ctx, e.bob, app.IssueSearch{}, fb.Page{}); err != nil || len(got) != 0 {
				t.Errorf("bob's search: %v %v, want nothing", got, err)
			}
			if _, _, err := e.svc.SearchIssues(ctx, e.bob, app.IssueSearch{RepositoryID: e.repo.ID, Range: "v1.1..nope"}, fb.Page{}); fb.ErrorCode(err) != fb.EForbidden {
				t.Errorf("bob's range: %v, want forbidden", err)
			}

			for _, bad := range []struct {
				q    app.IssueSearch
				code fb.Code
				says string
			}{
				{app.IssueSearch{RepositoryID: e.repo.ID, Range: "v1.1..v9"}, fb.EInvalid, `no tag or branch "v9"`},
				{app.IssueSearch{RepositoryID: e.repo.ID, Range: "--output=x..v1.2"}, fb.EInvalid, "no tag or branch"},
				{app.IssueSearch{RepositoryID: e.repo.ID, Range: "v1.1...v1.2"}, fb.EInvalid, "FROM..TO"},
				{app.IssueSearch{RepositoryID: e.repo.ID, Range: "v1.1"}, fb.EInvalid, "FROM..TO"},
				{app.IssueSearch{Range: "v1.1..v1.2"}, fb.EInvalid, "repositoryId"},
				{app.IssueSearch{RepositoryID: "nope"}, fb.ENotFound, "not found"},
				{app.IssueSearch{PullRequestState: "closed"}, fb.EInvalid, "pullRequestState"},
				{app.IssueSearch{Author: "nobody"}, fb.EInvalid, "no user"},
				{app.IssueSearch{Author: "bob"}, fb.EInvalid, "no email"},
				{app.IssueSearch{Since: &until, Until: &since}, fb.EInvalid, "since"},
			} {
				_, _, err := e.svc.SearchIssues(ctx, e.alice, bad.q, fb.Page{})
				if fb.ErrorCode(err) != bad.code || !strings.Contains(fb.ErrorMessage(err), bad.says) {
					t.Errorf("%+v: %v, want %s saying %q", bad.q, err, bad.code, bad.says)
				}
				if strings.Contains(fb.ErrorMessage(err), os.TempDir()) || strings.Contains(fb.ErrorMessage(err), "fatal") {
					t.Errorf("%+v: the error leaks git's words: %v", bad.q, err)
				}
			}
		})
	}
}

func TestIssueExports(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	issues := []app.IssueResult{{Key: "PROJ-2", Commits: 3, Branches: 1, PullRequests: 0, LastActivity: at},
		{Key: "=HYPERLINK(1)", Commits: 1, LastActivity: at}}
	var csv, md bytes.Buffer
	if err := app.WriteIssuesCSV(&csv, issues); err != nil {
		t.Fatal(err)
	}
	want := "key,commits,branches,pullRequests,lastActivity\nPROJ-2,3,1,0,2026-01-02T03:04:05Z\n'=HYPERLINK(1),1,0,0,2026-01-02T03:04:05Z\n"
	if csv.String() != want {
		t.Errorf("CSV:\n%s\nwant\n%s", csv.String(), want)
	}
	err := app.WriteIssuesMarkdown(&md, "Issues v1.0..v1.1 in acme/app", issues[:1], func(k string) string { return "https://t/browse/" + k })
	if err != nil {
		t.Fatal(err)
	}
	want = "# Issues v1.0..v1.1 in acme/app\n\n- [PROJ-2](https://t/browse/PROJ-2): 3 commits, 1 branch, 0 pull requests (last activity 2026-01-02)\n"
	if md.String() != want {
		t.Errorf("Markdown:\n%s\nwant\n%s", md.String(), want)
	}
	md.Reset()
	_ = app.WriteIssuesMarkdown(&md, "Issues *bold* [x](y)", nil, nil)
	if want := "# Issues \\*bold\\* \\[x\\]\\(y\\)\n\nNo issues.\n"; md.String() != want {
		t.Errorf("Markdown of nothing: %q, want %q", md.String(), want)
	}
}

// TestSearchHostPermissions: with enforcePermissions, a person without a
// saved token that reads the repository on the host finds none of its
// issues, and naming the repository finds no repository.
func TestSearchHostPermissions(t *testing.T) {
	ctx := context.Background()
	e := newSearchEnv(t, storetest.OpenSQLite(t, nil), 300)
	q := app.IssueSearch{Author: "alice"}
	if got, _, err := e.svc.ExportIssues(ctx, e.alice, q); err != nil || len(got) == 0 {
		t.Fatalf("before the switch: %d issues, %v", len(got), err)
	}
	on := true
	if _, err := e.svc.UpdateIntegration(ctx, e.admin, e.repo.IntegrationID, app.IntegrationInput{EnforcePermissions: &on}); err != nil {
		t.Fatal(err)
	}
	if got, _, err := e.svc.ExportIssues(ctx, e.alice, q); err != nil || len(got) != 0 {
		t.Errorf("with host permissions and no saved token: %v %v, want nothing", keysOf(got), err)
	}
	q.RepositoryID = e.repo.ID
	if _, _, err := e.svc.SearchIssues(ctx, e.alice, q, fb.Page{}); fb.ErrorCode(err) != fb.ENotFound {
		t.Errorf("naming the repository: %v, want not_found", err)
	}
}
