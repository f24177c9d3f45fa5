package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/store"
)

// released gives the env's host two releases: v1.0 with PROJ-1's work,
// v1.1 with PROJ-2's and PROJ-3's (and PROJ-1 again), then PROJ-4 on main
// after v1.1; connects it, indexes it, and turns the issue search on.
func (e *env) released() string {
	e.t.Helper()
	ctx := context.Background()
	admin := fb.User{Key: "admin", Name: "admin", Admin: true, Active: true}
	for _, is := range []fb.Issue{{Key: "PROJ-2", Summary: "Two"}, {Key: "PROJ-3", Summary: "Three"}, {Key: "PROJ-4", Summary: "Four"}} {
		if _, err := e.app.CreateIssue(ctx, admin, is); err != nil {
			e.t.Fatal(err)
		}
	}
	push := func(msg string) string {
		sha, err := e.repo.Push("main", msg)
		if err != nil {
			e.t.Fatal(err)
		}
		return sha
	}
	if err := e.repo.Tag("v1.0", push("PROJ-1 Fix the login redirect")); err != nil {
		e.t.Fatal(err)
	}
	push("PROJ-2 Add the export")
	push("PROJ-3 PROJ-1 Polish the login page")
	if err := e.repo.Tag("v1.1", push("PROJ-2 Document the export")); err != nil {
		e.t.Fatal(err)
	}
	push("PROJ-4 Next release's work")
	st := e.app.Store.(*store.Store)
	git, err := gitmirror.Find(ctx)
	if err != nil {
		e.t.Skip(err)
	}
	x := &index.Indexer{Store: st, Tracker: e.app.Tracker, Providers: drivers.New, Git: git, Dir: e.t.TempDir()}
	e.app.Index = app.Indexing{Store: st, Secrets: st, Webhooks: drivers.Webhook, Search: st, Range: x.RangeCommits}
	in := e.addIntegration(false)
	repos, err := st.IntegrationRepositories(ctx, in.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	id := ""
	for _, r := range repos {
		if _, err := x.Run(ctx, r.ID, false); err != nil {
			e.t.Fatalf("indexing %s: %v", r.FullName, err)
		}
		if r.FullName == "acme/app" {
			id = r.ID
		}
	}
	return id
}

// TestBrowserReleaseNotes walks the release-notes flow: pick a repository
// and a range, see the release's issues, download them as Markdown.
func TestBrowserReleaseNotes(t *testing.T) {
	chromium(t)
	e := newEnv(t)
	repoID := e.released()
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	p := newPage(t, srv.URL)

	p.signIn("alice")
	p.open("/repositories", "nav")
	p.run("follow the navigation", chromedp.Click(chromedp.CSS(`nav a[href="/search/issues"]`)),
		chromedp.WaitVisible(chromedp.CSS("[data-search-form]")))
	if eval[bool](p, `!!document.querySelector('[data-issues]')`) {
		t.Fatal("the form alone lists issues")
	}
	p.setRepo("#s-repo", repoID)
	p.run("search v1.0..v1.1",
		chromedp.SendKeys(chromedp.CSS("#s-range"), "v1.0..v1.1"),
		chromedp.Click(chromedp.CSS(`[data-search-form] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("[data-issues]")))
	keys := eval[[]string](p, `[...document.querySelectorAll('[data-issues] tbody tr')].map(r => r.dataset.issue)`)
	slices.Sort(keys) // the order is by time, and the fake's pushes may share a second
	if got := strings.Join(keys, " "); got != "PROJ-1 PROJ-2 PROJ-3" {
		t.Errorf("v1.0..v1.1 lists %q, want PROJ-1, PROJ-2 and PROJ-3", got)
	}
	mustHave(t, "PROJ-2's row", p.text(`[data-issue="PROJ-2"]`), "PROJ-2", "2")
	if v := eval[string](p, `document.querySelector('#s-range').value`); v != "v1.0..v1.1" {
		t.Errorf("the form forgot the range: %q", v)
	}
	p.screenshot("release-notes")

	// The Markdown download, as the browser saves it.
	dir := t.TempDir()
	yes := true
	if _, err := chromedp.CallBrowser(p.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: &yes}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	done := make(chan cdpbrowser.EventDownloadProgress, 1)
	go func() {
		for ev, err := range chromedp.BrowserEvents(ctx, cdpbrowser.DownloadProgress) {
			if err != nil {
				return
			}
			if ev.State != cdpbrowser.DownloadProgressStateInProgress {
				done <- ev
				return
			}
		}
	}()
	p.run("download Markdown", chromedp.Click(chromedp.CSS(`[data-download="markdown"]`)))
	var ev cdpbrowser.EventDownloadProgress
	select {
	case ev = <-done:
	case <-ctx.Done():
		t.Fatal("the Markdown download did not finish")
	}
	if ev.State != cdpbrowser.DownloadProgressStateCompleted {
		t.Fatalf("download %s", ev.State)
	}
	md, err := os.ReadFile(filepath.Join(dir, "release-notes.md"))
	if err != nil {
		t.Fatal(err)
	}
	mustHave(t, "release notes", string(md), "# Issues v1.0..v1.1 in acme/app", "PROJ-1", "PROJ-2: 2 commits", "PROJ-3: 1 commit")
	if strings.Contains(string(md), "PROJ-4") {
		t.Errorf("the release notes hold the next release's PROJ-4:\n%s", md)
	}

	// An unknown tag is said plainly, with the form kept.
	p.clear("#s-range")
	p.run("search v1.0..v9",
		chromedp.SendKeys(chromedp.CSS("#s-range"), "v1.0..v9"),
		chromedp.Click(chromedp.CSS(`[data-search-form] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("[data-error]")))
	mustHave(t, "the error", p.text("[data-error]"), `no tag or branch "v9"`)

	// bob may browse PROJ but not see its development tools: no issues.
	p.signOut()
	p.signIn("bob")
	p.open("/search/issues?search=", "[data-no-issues]")
}

// TestSearchPageSignedOut: a signed-out visitor is sent to sign in, and
// comes back to the search.
func TestSearchPageSignedOut(t *testing.T) {
	e := newEnv(t)
	e.released()
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(srv.URL + "/search/issues?range=v1.0..v1.1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
		t.Errorf("signed out: %d %q", resp.StatusCode, loc)
	}
	if u, _ := url.Parse(resp.Header.Get("Location")); u.Query().Get("next") != "/search/issues?range=v1.0..v1.1" {
		t.Errorf("next is %q", u.Query().Get("next"))
	}
}
