package index_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

const goodToken = "service-token"

// host is a git host for one repository: real git over smart HTTP with
// Basic authentication, and a pull request list.
type host struct {
	git  *fakegit.Repo
	srv  *httptest.Server
	down bool

	mu    sync.Mutex
	pulls []fb.PullRequest
}

func newHost(t *testing.T) *host {
	t.Helper()
	g, err := fakegit.New(filepath.Join(t.TempDir(), "app.git"), "main")
	if err != nil {
		t.Fatal(err)
	}
	h := &host{git: g}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		down := h.down
		h.mu.Unlock()
		if down {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		if _, pw, ok := r.BasicAuth(); !ok || pw != goodToken {
			w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		g.Serve(w, r, strings.TrimPrefix(r.URL.Path, "/acme/app.git"))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *host) push(t *testing.T, branch, msg string) string {
	t.Helper()
	sha, err := h.git.Commit(branch, []byte(msg), fakegit.Author{Name: "Bob", Email: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

func (h *host) setDown(on bool) {
	h.mu.Lock()
	h.down = on
	h.mu.Unlock()
}

// driver is a provider with the indexing capabilities, over host.
type driver struct{ h *host }

var notSupported = fb.Errorf(fb.ENotSupported, "not in this test")

func (d driver) Validate(context.Context, fb.Credential) (fb.TokenInfo, error) {
	return fb.TokenInfo{}, notSupported
}
func (d driver) Repositories(context.Context, fb.Credential) ([]fb.Repository, error) {
	return nil, notSupported
}
func (d driver) Branches(context.Context, fb.Credential, fb.Repository) ([]fb.Branch, error) {
	return nil, notSupported
}
func (d driver) CreateBranch(context.Context, fb.Credential, fb.Repository, string, string) (fb.Branch, error) {
	return fb.Branch{}, notSupported
}
func (d driver) CreatePullRequest(context.Context, fb.Credential, fb.Repository, fb.NewPullRequest) (fb.PullRequest, error) {
	return fb.PullRequest{}, notSupported
}

func (d driver) GitRemote(_ context.Context, cred fb.Credential, _ fb.Repository) (provider.GitRemote, error) {
	return provider.GitRemote{URL: d.h.srv.URL + "/acme/app.git",
		Header: "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+cred.Token))}, nil
}

func (d driver) PullRequests(_ context.Context, cred fb.Credential, _ fb.Repository, _ time.Time, fn func(fb.PullRequest) error) error {
	if cred.Token != goodToken {
		return fb.Errorf(fb.ETokenRejected, "rejected")
	}
	d.h.mu.Lock()
	pulls := slices.Clone(d.h.pulls)
	d.h.mu.Unlock()
	for _, p := range pulls {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

func (d driver) CommitURL(r fb.Repository, sha string) string  { return r.WebURL + "/commit/" + sha }
func (d driver) BranchURL(r fb.Repository, name string) string { return r.WebURL + "/tree/" + name }
func (d driver) TagURL(r fb.Repository, name string) string    { return r.WebURL + "/tree/" + name }

type projects []string

func (p projects) ProjectKeys(context.Context) ([]string, error) { return p, nil }
func (projects) User(context.Context, string) (fb.User, error)   { return fb.User{}, notSupported }
func (projects) Issue(context.Context, string) (fb.Issue, error) { return fb.Issue{}, notSupported }
func (projects) Permissions(context.Context, fb.User, string) (map[string]bool, error) {
	return nil, notSupported
}
func (projects) IssuePermissions(context.Context, fb.User, fb.Issue) (map[string]bool, error) {
	return nil, notSupported
}
func (projects) BrowsableProjects(context.Context, fb.User) ([]string, error) {
	return nil, notSupported
}

type env struct {
	h    *host
	st   *store.Store
	x    *index.Indexer
	in   fb.Integration
	repo fb.Repository
}

func newEnv(t *testing.T, b storetest.Backend) *env {
	t.Helper()
	git, err := gitmirror.Find(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t)
	st := b.Open(t, nil)
	in := fb.Integration{Name: "acme", Kind: fb.KindGitHub, Credential: fb.Credential{Token: goodToken}}
	repos := []fb.Repository{{ExternalID: "1", Name: "app", FullName: "acme/app", DefaultBranch: "main", WebURL: "https://git.example/acme/app"}}
	if err := st.CreateIntegrationWithRepositories(t.Context(), &in, repos, time.Now()); err != nil {
		t.Fatal(err)
	}
	x := &index.Indexer{Store: st, Tracker: projects{"PROJ", "OPS"}, Git: git, Dir: t.TempDir(),
		Providers: func(fb.Integration, provider.Options) (provider.Provider, error) { return driver{h}, nil }}
	return &env{h: h, st: st, x: x, in: in, repo: repos[0]}
}

func (e *env) run(t *testing.T, reset bool) index.Result {
	t.Helper()
	res, err := e.x.Run(t.Context(), e.repo.ID, reset)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func (e *env) commits(t *testing.T, key string) []fb.Commit {
	t.Helper()
	cs, n, _, err := e.st.IssueCommits(t.Context(), fb.IssueDataQuery{Page: fb.Page{Limit: 100}, IssueKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(cs) {
		t.Fatalf("count %d, %d listed", n, len(cs))
	}
	return cs
}

func (e *env) state(t *testing.T) fb.IndexState {
	t.Helper()
	m, err := e.st.IndexStates(t.Context(), []string{e.repo.ID})
	if err != nil {
		t.Fatal(err)
	}
	return m[e.repo.ID]
}

func shas(cs []fb.Commit) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.SHA)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func TestRun(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Run("first index, then incremental", func(t *testing.T) {
				e := newEnv(t, b)
				c1 := e.h.push(t, "main", "PROJ-1 fix the parser")
				e.h.push(t, "main", "Use UTF-8 and SHA-256 (see CVE-2021-21300)\n\nxproj-1 PROJ-01 PROJ-1x lower proj-2")
				c3 := e.h.push(t, "main", "Refactor\n\nRefs: PROJ-12, OPS-3")
				res := e.run(t, false)
				if res.Commits != 3 || res.Linked != 2 {
					t.Fatalf("first run read %d and linked %d, want 3 and 2", res.Commits, res.Linked)
				}
				if got := shas(e.commits(t, "PROJ-1")); !slices.Equal(got, []string{c1}) {
					t.Errorf("PROJ-1 commits = %v, want only %s", got, c1)
				}
				if got := shas(e.commits(t, "OPS-3")); !slices.Equal(got, []string{c3}) {
					t.Errorf("OPS-3 commits = %v", got)
				}
				if st := e.state(t); st.State != fb.IndexIndexed || st.Commits != 3 || st.IndexedAt == nil {
					t.Errorf("state = %+v", st)
				}

				c4 := e.h.push(t, "PROJ-1-more", "PROJ-1 more work")
				res = e.run(t, false)
				if res.Commits != 1 {
					t.Errorf("incremental run read %d commits, want 1", res.Commits)
				}
				if got := shas(e.commits(t, "PROJ-1")); !slices.Equal(got, sorted(c1, c4)) {
					t.Errorf("PROJ-1 commits = %v", got)
				}
				if st := e.state(t); st.Commits != 4 {
					t.Errorf("state counts %d commits, want 4", st.Commits)
				}
				if res := e.run(t, false); res.Commits != 0 {
					t.Errorf("a run with nothing new read %d commits", res.Commits)
				}
			})

			t.Run("branches come and go", func(t *testing.T) {
				e := newEnv(t, b)
				e.h.push(t, "main", "initial")
				e.h.push(t, "proj-7-login", "work")
				e.run(t, false)
				bs, err := e.st.IssueBranches(t.Context(), "PROJ-7")
				if err != nil || len(bs) != 1 || bs[0].Name != "proj-7-login" || bs[0].WebURL != "https://git.example/acme/app/tree/proj-7-login" {
					t.Fatalf("PROJ-7 branches = %+v, %v", bs, err)
				}
				if err := e.h.git.UpdateRef("refs/heads/proj-7-login", "", bs[0].SHA); err != nil {
					t.Fatal(err)
				}
				e.run(t, false)
				if bs, _ := e.st.IssueBranches(t.Context(), "PROJ-7"); len(bs) != 0 {
					t.Errorf("a deleted branch stays on the issue: %+v", bs)
				}
			})

			t.Run("force push keeps links and reads the new history", func(t *testing.T) {
				e := newEnv(t, b)
				base := e.h.push(t, "main", "initial")
				old := e.h.push(t, "feature", "PROJ-2 first try")
				e.run(t, false)
				rewritten, err := e.h.git.CommitOn(base, []byte("PROJ-2 second try"), fakegit.Author{})
				if err != nil {
					t.Fatal(err)
				}
				if err := e.h.git.UpdateRef("refs/heads/feature", rewritten, old); err != nil {
					t.Fatal(err)
				}
				if res := e.run(t, false); res.Commits != 1 {
					t.Errorf("after a force push the run read %d commits, want 1", res.Commits)
				}
				if got := shas(e.commits(t, "PROJ-2")); !slices.Equal(got, sorted(old, rewritten)) {
					t.Errorf("PROJ-2 commits = %v, want both tries", got)
				}
			})

			t.Run("tags contain the work", func(t *testing.T) {
				e := newEnv(t, b)
				e.h.push(t, "main", "PROJ-1 one")
				v1, _ := e.h.git.Resolve("main")
				must(t, e.h.git.UpdateRef("refs/tags/v1.0", v1, ""))
				e.h.push(t, "main", "PROJ-2 two")
				v2, _ := e.h.git.Resolve("main")
				must(t, e.h.git.UpdateRef("refs/tags/v2.0", v2, ""))
				// A maintenance release branches off v1.0: it holds v1.0's work and its own.
				side, err := e.h.git.CommitOn(v1, []byte("OPS-2 backport"), fakegit.Author{})
				must(t, err)
				must(t, e.h.git.UpdateRef("refs/heads/release-1", side, ""))
				must(t, e.h.git.UpdateRef("refs/tags/v1.1", side, ""))
				e.run(t, false)
				if got := e.tags(t, "OPS-2"); !slices.Equal(got, []string{"v1.1"}) {
					t.Errorf("OPS-2 tags = %v, want only the maintenance release", got)
				}
				if got := e.tags(t, "PROJ-2"); !slices.Equal(got, []string{"v2.0"}) {
					t.Errorf("PROJ-2 tags = %v, want v2.0 alone (v1.1 does not contain it)", got)
				}
				if got := e.tags(t, "PROJ-1"); !slices.Equal(got, []string{"v1.0", "v1.1", "v2.0"}) {
					t.Errorf("PROJ-1 tags = %v", got)
				}
				if got := e.tags(t, "PROJ-2"); !slices.Equal(got, []string{"v2.0"}) {
					t.Errorf("PROJ-2 tags = %v", got)
				}
				// A new tag is computed from the older ones it contains.
				e.h.push(t, "main", "OPS-1 three")
				v3, _ := e.h.git.Resolve("main")
				must(t, e.h.git.UpdateRef("refs/tags/v3.0", v3, ""))
				must(t, e.h.git.UpdateRef("refs/tags/v1.0", "", v1))
				e.run(t, false)
				if got := e.tags(t, "PROJ-1"); !slices.Equal(got, []string{"v1.1", "v2.0", "v3.0"}) {
					t.Errorf("PROJ-1 tags after v3.0 and without v1.0 = %v", got)
				}
				if got := e.tags(t, "OPS-1"); !slices.Equal(got, []string{"v3.0"}) {
					t.Errorf("OPS-1 tags = %v", got)
				}
				// A tag made later on old work: its keys come from what earlier runs read.
				must(t, e.h.git.UpdateRef("refs/tags/late", v1, ""))
				e.run(t, false)
				if got := e.tags(t, "PROJ-1"); !slices.Equal(got, []string{"late", "v1.1", "v2.0", "v3.0"}) {
					t.Errorf("PROJ-1 tags with a late tag on old work = %v", got)
				}
				// A merge brings the maintenance release back into main. A
				// reset reads everything again as a first index, in one walk
				// (not a walk per tag), and finds the same tags.
				dir := "--git-dir=" + e.h.git.Dir
				tree := strings.TrimSpace(gittest.Git(t, "", dir, "rev-parse", v3+"^{tree}"))
				merge := strings.TrimSpace(gittest.Git(t, "", dir, "-c", "user.name=T", "-c", "user.email=t@example.com",
					"commit-tree", tree, "-p", v3, "-p", side, "-m", "PROJ-3 merge release-1"))
				must(t, e.h.git.UpdateRef("refs/heads/main", merge, v3))
				must(t, e.h.git.UpdateRef("refs/tags/v4.0", merge, ""))
				for _, reset := range []bool{false, true} {
					e.run(t, reset)
					for key, want := range map[string][]string{
						"PROJ-1": {"late", "v1.1", "v2.0", "v3.0", "v4.0"},
						"PROJ-2": {"v2.0", "v3.0", "v4.0"},
						"OPS-1":  {"v3.0", "v4.0"},
						"OPS-2":  {"v1.1", "v4.0"},
						"PROJ-3": {"v4.0"},
					} {
						if got := e.tags(t, key); !slices.Equal(got, want) {
							t.Errorf("reset %v: %s tags = %v, want %v", reset, key, got, want)
						}
					}
				}
			})

			t.Run("pull requests", func(t *testing.T) {
				e := newEnv(t, b)
				e.h.push(t, "main", "initial")
				now := time.Now().UTC().Truncate(time.Second)
				e.h.pulls = []fb.PullRequest{
					{ID: "1", Number: 1, Title: "Fix the parser", SourceBranch: "proj-3-parser", TargetBranch: "main", State: fb.PullMerged, UpdatedAt: now, WebURL: "https://git.example/pr/1", Author: "bob"},
					{ID: "2", Number: 2, Title: "PROJ-3 docs", SourceBranch: "docs", TargetBranch: "main", State: fb.PullOpen, Draft: true, UpdatedAt: now, WebURL: "javascript:alert(1)"},
					{ID: "3", Number: 3, Title: "Unrelated", Description: "mentions OPS-9", SourceBranch: "x", TargetBranch: "main", State: fb.PullDeclined, UpdatedAt: now},
				}
				e.run(t, false)
				prs, err := e.st.IssuePullRequests(t.Context(), "PROJ-3")
				if err != nil || len(prs) != 2 {
					t.Fatalf("PROJ-3 pull requests = %+v, %v", prs, err)
				}
				byID := map[string]fb.IssuePullRequest{}
				for _, p := range prs {
					byID[p.ID] = p
				}
				if p := byID["1"]; p.State != fb.PullMerged || p.Author != "bob" {
					t.Errorf("merged pull request = %+v", p)
				}
				if p := byID["2"]; p.State != fb.PullOpen || !p.Draft || p.WebURL != "" {
					t.Errorf("draft pull request = %+v (a javascript: address must not be kept)", p)
				}
				if prs, _ := e.st.IssuePullRequests(t.Context(), "OPS-9"); len(prs) != 1 {
					t.Errorf("OPS-9 pull requests = %+v", prs)
				}
				// The title no longer mentions the key: the link goes.
				e.h.pulls[1].Title = "docs"
				e.run(t, false)
				if prs, _ := e.st.IssuePullRequests(t.Context(), "PROJ-3"); len(prs) != 1 {
					t.Errorf("after the title changed PROJ-3 has %d pull requests, want 1", len(prs))
				}
			})

			t.Run("a rejected credential fails the run and keeps the links", func(t *testing.T) {
				e := newEnv(t, b)
				c := e.h.push(t, "main", "PROJ-5 work")
				e.run(t, false)
				e.in.Credential.Token = "revoked"
				must(t, e.st.UpdateIntegration(t.Context(), &e.in))
				_, err := e.x.Run(t.Context(), e.repo.ID, false)
				if fb.ErrorCode(err) != fb.ETokenRejected {
					t.Fatalf("Run with a revoked token = %v, want token_rejected", err)
				}
				if st := e.state(t); st.State != fb.IndexFailed || st.ErrorCode != fb.ETokenRejected || st.ErrorMessage == "" {
					t.Errorf("state = %+v", st)
				}
				if strings.Contains(fb.ErrorMessage(err), "revoked") {
					t.Errorf("the error quotes the credential: %v", err)
				}
				if got := shas(e.commits(t, "PROJ-5")); !slices.Equal(got, []string{c}) {
					t.Errorf("links lost: %v", got)
				}
			})

			t.Run("host down", func(t *testing.T) {
				e := newEnv(t, b)
				e.h.push(t, "main", "PROJ-5 work")
				e.h.setDown(true)
				_, err := e.x.Run(t.Context(), e.repo.ID, false)
				if fb.ErrorCode(err) != fb.EProviderUnavailable {
					t.Fatalf("Run with the host down = %v, want provider_unavailable", err)
				}
				e.h.setDown(false)
				if res := e.run(t, false); res.Linked != 1 {
					t.Errorf("the next run linked %d", res.Linked)
				}
			})

			t.Run("odd messages and an empty repository", func(t *testing.T) {
				e := newEnv(t, b)
				if res := e.run(t, false); res.Commits != 0 {
					t.Fatalf("an empty repository read %d commits", res.Commits)
				}
				if st := e.state(t); st.State != fb.IndexIndexed {
					t.Fatalf("empty repository state = %+v", st)
				}
				big := "PROJ-8 big\n\n" + strings.Repeat("x", 1<<20)
				e.h.push(t, "main", big)
				e.h.push(t, "main", "PROJ-9 with \x00 a NUL and \xff bytes")
				e.h.push(t, "PROJ-10-ünïcödé", "PROJ-10 unicode branch")
				e.run(t, false)
				cs := e.commits(t, "PROJ-8")
				if len(cs) != 1 || len(cs[0].Message) > 65<<10 || !strings.HasPrefix(cs[0].Message, "PROJ-8 big\n\nxxx") ||
					!strings.HasSuffix(cs[0].Message, "longer than 64 KiB]") {
					t.Errorf("a 1 MB message is not cut at 64 KiB with a note")
				}
				cs = e.commits(t, "PROJ-9")
				if len(cs) != 1 || strings.ContainsRune(cs[0].Message, 0) {
					t.Errorf("PROJ-9 = %+v", cs)
				}
				if bs, _ := e.st.IssueBranches(t.Context(), "PROJ-10"); len(bs) != 1 || bs[0].Name != "PROJ-10-ünïcödé" {
					t.Errorf("unicode branch = %+v", bs)
				}
			})

			t.Run("refs whose names cannot be stored", func(t *testing.T) {
				e := newEnv(t, b)
				base := e.h.push(t, "main", "initial")
				odd, err := e.h.git.CommitOn(base, []byte("PROJ-11 on odd branches"), fakegit.Author{})
				must(t, err)
				long := "refs/heads/PROJ-11"
				for range 6 {
					long += "/" + strings.Repeat("x", 200)
				}
				for _, ref := range []string{"refs/heads/PROJ-11-caf\xe9", long} {
					must(t, e.h.git.UpdateRef(ref, odd, ""))
				}
				if res := e.run(t, false); res.Linked != 1 {
					t.Fatalf("linked %d commits, want the one on the odd branches", res.Linked)
				}
				if res := e.run(t, false); res.Commits != 0 {
					t.Errorf("the next run read %d commits again, want 0", res.Commits)
				}
				if bs, _ := e.st.IssueBranches(t.Context(), "PROJ-11"); len(bs) != 0 {
					t.Errorf("unusable branch names were linked: %d", len(bs))
				}
			})

			t.Run("reset reads everything again", func(t *testing.T) {
				e := newEnv(t, b)
				e.h.push(t, "main", "PROJ-1 one")
				e.h.push(t, "main", "NEW-1 before its project existed")
				e.run(t, false)
				if len(e.commits(t, "NEW-1")) != 0 {
					t.Fatal("a key of an unknown project was linked")
				}
				e.x.Tracker = projects{"PROJ", "NEW"}
				if res := e.run(t, false); res.Commits != 0 {
					t.Fatalf("without reset the run read %d commits", res.Commits)
				}
				if res := e.run(t, true); res.Commits != 2 {
					t.Fatalf("reset run read %d commits, want 2", res.Commits)
				}
				if len(e.commits(t, "NEW-1")) != 1 {
					t.Error("reset did not find the new project's key in old history")
				}
			})

			t.Run("one run per repository", func(t *testing.T) {
				e := newEnv(t, b)
				e.h.push(t, "main", "PROJ-1 one")
				ok, err := e.st.ClaimIndex(t.Context(), e.repo.ID, "another instance", time.Now().Add(time.Minute))
				if err != nil || !ok {
					t.Fatalf("ClaimIndex = %v, %v", ok, err)
				}
				if _, err := e.x.Run(t.Context(), e.repo.ID, false); !errors.Is(err, index.ErrBusy) {
					t.Fatalf("Run while another holds the repository = %v, want ErrBusy", err)
				}
				must(t, e.st.ReleaseIndex(t.Context(), e.repo.ID, "another instance"))
				e.run(t, false)
			})

			t.Run("a removed repository is no error", func(t *testing.T) {
				e := newEnv(t, b)
				must(t, e.st.ReplaceRepositories(t.Context(), e.in.ID, nil, time.Now()))
				if _, err := e.x.Run(t.Context(), e.repo.ID, false); err != nil {
					t.Fatalf("Run of a removed repository = %v", err)
				}
			})
		})
	}
}

func (e *env) tags(t *testing.T, key string) []string {
	t.Helper()
	tags, err := e.st.IssueTags(t.Context(), fb.IssueDataQuery{IssueKey: key})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tg := range tags {
		out = append(out, tg.Name)
	}
	slices.Sort(out)
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
