package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/store"
)

// indexed gives the env's host some history for PROJ-1 (commits on two
// branches, a tag, a merged pull request), connects it, and indexes every
// repository once, as the queue would.
func (e *env) indexed() fb.Integration {
	e.t.Helper()
	ctx := context.Background()
	var last string
	for _, msg := range []string{"PROJ-1 Fix the login redirect", "Unrelated work on UTF-8", "PROJ-1 Add a test for the login page"} {
		sha, err := e.repo.Push("main", msg)
		if err != nil {
			e.t.Fatal(err)
		}
		last = sha
	}
	if err := e.repo.Tag("v1.0", last); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.repo.Push("PROJ-1-existing-work", "PROJ-1 Remember the return address"); err != nil {
		e.t.Fatal(err)
	}
	n, err := e.repo.OpenPull("PROJ-1-existing-work", "main", "PROJ-1 Keep the return address", "", false)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.repo.SetPullState(n, "merged"); err != nil {
		e.t.Fatal(err)
	}
	st := e.app.Store.(*store.Store)
	e.app.Index = app.Indexing{Store: st, Secrets: st, Webhooks: drivers.Webhook}
	in := e.addIntegration(false)
	git, err := gitmirror.Find(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.indexer = &index.Indexer{Store: st, Tracker: e.app.Tracker, Providers: drivers.New, Git: git, Dir: e.t.TempDir()}
	e.app.Index.Mirror = e.indexer.Mirror
	e.reindex(in)
	return in
}

// reindex runs an index pass of every repository of the integration.
func (e *env) reindex(in fb.Integration) {
	e.t.Helper()
	ctx := context.Background()
	repos, err := e.app.Store.IntegrationRepositories(ctx, in.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range repos {
		if _, err := e.indexer.Run(ctx, r.ID, false); err != nil {
			e.t.Fatalf("indexing %s: %v", r.FullName, err)
		}
	}
}

func TestBrowserDevelopmentPanel(t *testing.T) {
	chromium(t)
	e := newEnv(t)
	in := e.indexed()
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	p := newPage(t, srv.URL)

	p.signIn("alice")
	p.open("/browse/PROJ-1", "[data-commits-list]")
	if n := eval[int](p, `document.querySelectorAll('[data-commits-list] li').length`); n != 4 {
		t.Fatalf("the panel lists %d commits, want 4", n)
	}
	mustHave(t, "commits", p.text("[data-commits-list]"), "PROJ-1 Fix the login redirect", "PROJ-1 Remember the return address")
	if strings.Contains(p.text("[data-commits-list]"), "UTF-8") {
		t.Error("a commit without the key is on the panel")
	}
	if href := eval[string](p, `document.querySelector('[data-commits-list] a').href`); !strings.HasPrefix(href, e.gh.URL()+"/acme/app/commit/") {
		t.Errorf("commit link %q, want the host's commit page", href)
	}
	mustHave(t, "branches", p.text("[data-branches-list]"), "PROJ-1-existing-work")
	if state := eval[string](p, `document.querySelector('[data-pull-requests-list] [data-state]').dataset.state`); state != "merged" {
		t.Errorf("pull request state badge %q, want merged", state)
	}
	mustHave(t, "tags", p.text("[data-tags-list]"), "v1.0")
	p.screenshot("issue-development-panel")

	p.open("/repositories", "main table")
	mustHave(t, "repository browser", p.text(`tr[data-repository="acme/app"]`), "Indexed · ")
	p.signOut()

	// The admin sees the webhook, makes a secret (shown once) and reindexes.
	p.signIn("admin")
	p.open("/admin/integrations/"+in.ID, "[data-git-data]")
	if url := eval[string](p, `document.querySelector('[data-webhook-url]').value`); !strings.HasSuffix(url, "/api/v1/webhooks/"+in.ID) {
		t.Errorf("webhook URL %q", url)
	}
	p.run("generate a secret", chromedp.Click(chromedp.CSS(`[data-generate-secret]`)), chromedp.WaitVisible(chromedp.CSS(`[data-new-secret]`)))
	secret := eval[string](p, `document.querySelector('[data-new-secret] input').value`)
	if len(secret) < 32 {
		t.Fatalf("new secret %q", secret)
	}
	p.run("scroll to the git data", chromedp.ScrollIntoView(chromedp.CSS(`[data-git-data]`)))
	p.screenshot("integration-git-data")
	got, err := e.app.Index.Secrets.WebhookSecret(context.Background(), in.ID)
	if err != nil || got != secret {
		t.Fatalf("the shown secret is not the stored one: %v", err)
	}
	p.open("/admin/integrations/"+in.ID, "[data-git-data]")
	if strings.Contains(p.text("main"), secret) {
		t.Fatal("the secret is shown again")
	}
	mustHave(t, "secret state", p.text("[data-secret-state]"), "A webhook secret is set")
}

func TestIssueCommitsPage(t *testing.T) {
	e := newEnv(t)
	in := e.indexed()
	alice := e.signedIn("alice")
	res := alice.get("/browse/PROJ-1/commits")
	if res.Code != http.StatusOK {
		t.Fatalf("commits page: %d", res.Code)
	}
	mustHave(t, "commits page", res.body(), "4 commits mention PROJ-1", "PROJ-1 Add a test for the login page")
	// Without View Development Tools there is nothing to see.
	bob := e.signedIn("bob")
	if res := bob.get("/browse/PROJ-1/commits"); res.Code != http.StatusForbidden {
		t.Errorf("bob's commits page: %d, want 403", res.Code)
	}
	// Reindexing and secrets are for administrators, and forms must come from the site.
	admin := e.signedIn("admin")
	req := httptest.NewRequest(http.MethodPost, "/admin/integrations/"+in.ID+"/webhook-secret", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := admin.do(req); res.Code != http.StatusForbidden {
		t.Errorf("a cross-site secret request answered %d, want 403", res.Code)
	}
	if res := alice.post("/admin/integrations/"+in.ID+"/webhook-secret", nil); res.Code != http.StatusForbidden {
		t.Errorf("alice's secret request answered %d, want 403", res.Code)
	}
	if res := alice.post("/admin/integrations/"+in.ID+"/reindex", nil); res.Code != http.StatusForbidden {
		t.Errorf("alice's reindex answered %d, want 403", res.Code)
	}
	// This env runs no job queue: the page says so rather than pretending.
	res = admin.post("/admin/integrations/"+in.ID+"/reindex", url.Values{"reset": {"false"}})
	if res.Code != http.StatusNotImplemented {
		t.Fatalf("admin's reindex without a queue: %d", res.Code)
	}
	mustHave(t, "reindex without a queue", res.body(), "Indexing is not running on this instance")
}
