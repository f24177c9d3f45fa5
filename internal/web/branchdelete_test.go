package web

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// TestBrowserDeleteBranch walks through deleting a branch from the issue in
// a real Chromium, with scripts on and off: the panel offers Delete only for
// the issue's own branches, the confirmation page asks for setup where the
// integration requires people's tokens, comes back from the token page, and
// the deleted branch leaves the host and the issue at once.
func TestBrowserDeleteBranch(t *testing.T) {
	chromium(t)
	for _, scripts := range []bool{true, false} {
		name := "with JavaScript"
		if !scripts {
			name = "without JavaScript"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.addIntegration(true)
			ctx := context.Background()
			alice := fb.User{Key: "alice", Name: "alice", Active: true}
			// Two branches on the issue: one made from it, one not mentioning it
			// (created from the issue under another name).
			for _, b := range []string{"PROJ-1-to-delete", "hotfix-elsewhere"} {
				if _, err := e.app.CreateBranch(ctx, alice, "PROJ-1", app.CreateBranchInput{RepositoryID: e.repoID("acme/app"), Name: b,
					Token: app.OneOffToken{Credential: fb.Credential{Token: aliceToken}}}); err != nil {
					t.Fatal(err)
				}
			}
			srv := httptest.NewServer(e.handler)
			t.Cleanup(srv.Close)
			p := newPage(t, srv.URL)
			p.signIn("alice")
			if !scripts {
				p.run("switch scripts off", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
					return err
				}))
			}
			p.open("/browse/PROJ-1", `[data-branches-list] [data-branch="PROJ-1-to-delete"]`)
			offered := eval[[]string](p, `[...document.querySelectorAll('[data-branches-list] a[data-delete-branch]')].map(a => a.dataset.deleteBranch)`)
			if len(offered) != 1 || offered[0] != "PROJ-1-to-delete" {
				t.Fatalf("Delete offered for %q, want only PROJ-1-to-delete", offered)
			}
			p.screenshot("issue-delete-branch")

			p.run("Delete", chromedp.Click(chromedp.CSS(`a[data-delete-branch="PROJ-1-to-delete"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-confirm-delete]`)))
			mustHave(t, "confirmation", p.text("main"), "Delete branch PROJ-1-to-delete?", "acme/app", "Setup required")
			p.run("confirm without a token", chromedp.Click(chromedp.CSS(`[data-confirm-delete]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-error]`)))
			mustHave(t, "refused", p.text(`[data-error]`), "requires your own personal access token")
			if _, ok := e.repo.Branch("PROJ-1-to-delete"); !ok {
				t.Fatal("the branch was deleted without a token")
			}

			p.run("set up the token", chromedp.Click(chromedp.CSS(`[data-setup-link]`)),
				chromedp.WaitVisible(chromedp.CSS("#token")),
				chromedp.SendKeys(chromedp.CSS("#token"), aliceToken),
				chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-confirm-delete]`)))
			if eval[bool](p, `!!document.querySelector('[data-setup]')`) {
				t.Fatal("setup is still asked for once the token is saved")
			}
			p.screenshot("delete-branch-confirm")
			// The confirmation page has a flash of its own (the token saved):
			// wait for the issue page the deletion leads back to.
			p.run("confirm", chromedp.Click(chromedp.CSS(`[data-confirm-delete]`)),
				chromedp.WaitVisible(chromedp.CSS(".dev-panel")), chromedp.WaitVisible(chromedp.CSS(".flash")))
			mustHave(t, "deleted", p.text(".flash"), "Branch PROJ-1-to-delete deleted in acme/app")
			if n := eval[int](p, `document.querySelectorAll('[data-branches-list] [data-branch="PROJ-1-to-delete"]').length`); n != 0 {
				t.Fatal("the issue still lists the deleted branch")
			}
			if _, ok := e.repo.Branch("PROJ-1-to-delete"); ok {
				t.Fatal("the branch is still on GitHub")
			}
			if _, ok := e.repo.Branch("hotfix-elsewhere"); !ok {
				t.Fatal("the other branch went too")
			}

			// Asked for by hand, the default branch is refused and stays.
			p.open("/browse/PROJ-1/branches/delete?repositoryId="+e.repoID("acme/app")+"&name=main", `[data-confirm-delete]`)
			p.run("confirm deleting main", chromedp.Click(chromedp.CSS(`[data-confirm-delete]`)), chromedp.WaitVisible(chromedp.CSS(`[data-error]`)))
			mustHave(t, "default branch", p.text(`[data-error]`), "default branch")
			if _, ok := e.repo.Branch("main"); !ok {
				t.Fatal("main was deleted")
			}
			p.run("cancel", chromedp.Click(chromedp.CSS(`[data-cancel]`)), chromedp.WaitVisible(chromedp.CSS(".dev-panel")))
		})
	}
}
