package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/codecommit/fakecodecommit"
)

// TestBrowserOneStep walks through "Also open a draft pull request" in the
// Create branch dialog in a real Chromium, with scripts on and off: the
// branch starts with a commit naming the issue and the draft pull request is
// opened with it; for a CodeCommit repository the option is off and says why.
func TestBrowserOneStep(t *testing.T) {
	chromium(t)
	for _, scripts := range []bool{true, false} {
		name := "with JavaScript"
		if !scripts {
			name = "without JavaScript"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.addIntegration(false)
			cc := fakecodecommit.New("eu-west-1")
			t.Cleanup(cc.Close)
			cc.AddKey("AKIASERVICE000000001", "service-secret", fakecodecommit.Key{ARN: "arn:aws:iam::123456789012:user/bot"})
			cc.AddRepo("ccapp", "main")
			ccName, ccKind, ccBase, region := "Acme CodeCommit", fb.KindCodeCommit, cc.URL(), "eu-west-1"
			if _, err := e.app.CreateIntegration(context.Background(), fb.User{Name: "admin", Admin: true}, app.IntegrationInput{
				Name: &ccName, Kind: &ccKind, BaseURL: &ccBase, Region: &region,
				Credential: &fb.Credential{AccessKeyID: "AKIASERVICE000000001", SecretAccessKey: "service-secret"}}); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(e.handler)
			t.Cleanup(srv.Close)
			p := newPage(t, srv.URL)
			p.signIn("alice")
			appID, ccID := e.repoID("acme/app"), e.repoID("ccapp")
			branch := "PROJ-1-with-a-draft"
			if scripts {
				p.open("/browse/PROJ-1", ".dev-panel")
				p.run("open Create branch", chromedp.Click(chromedp.CSS(`[data-open-dialog="branch-dialog"]`)),
					chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-draft-pr]`)))
				p.run("choose the CodeCommit repository", chromedp.SetValue(chromedp.CSS("#b-repo"), ccID))
				eval[bool](p, `document.querySelector('#b-repo').dispatchEvent(new Event('change')); true`)
				p.run("the reason shows", chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-draft-pr-why]`)))
			} else {
				p.run("switch scripts off", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
					return err
				}))
				p.open("/browse/PROJ-1?dialog=branch&repositoryId="+ccID, `#branch-dialog [data-draft-pr-why]`)
			}
			if !eval[bool](p, `document.querySelector('#branch-dialog [data-draft-pr]').disabled`) {
				t.Fatal("the option is offered for CodeCommit")
			}
			mustHave(t, "CodeCommit", p.text(`#branch-dialog [data-draft-pr-why]`), "AWS CodeCommit has no draft pull requests")
			p.screenshot("create-branch-codecommit-no-drafts")

			if scripts {
				p.run("choose acme/app", chromedp.SetValue(chromedp.CSS("#b-repo"), appID))
				eval[bool](p, `document.querySelector('#b-repo').dispatchEvent(new Event('change')); true`)
				p.run("the reason goes", chromedp.WaitNotVisible(chromedp.CSS(`#branch-dialog [data-draft-pr-why]`)))
			} else {
				p.open("/browse/PROJ-1?dialog=branch&repositoryId="+appID, `#branch-dialog [data-draft-pr]`)
			}
			if eval[bool](p, `document.querySelector('#branch-dialog [data-draft-pr]').disabled`) {
				t.Fatal("the option is off for GitHub")
			}
			p.clear("#b-name")
			p.run("type the name and ask for the pull request", chromedp.SendKeys(chromedp.CSS("#b-name"), branch),
				chromedp.Click(chromedp.CSS(`#branch-dialog [data-draft-pr]`)))
			p.screenshot("create-branch-one-step")
			if scripts {
				p.run("create", chromedp.Click(chromedp.CSS(`#branch-dialog [data-submit]`)),
					chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-success]`)))
				mustHave(t, "created", p.text(`#branch-dialog [data-success]`), branch, "Draft pull request", "#1 PROJ-1 Fix the login page!")
			} else {
				p.run("create", chromedp.Click(chromedp.CSS(`#branch-dialog [data-submit]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
				mustHave(t, "created", p.text(".flash"), "Branch created in acme/app", "Draft pull request #1 opened")
			}
			head, ok := e.repo.Branch(branch)
			if !ok {
				t.Fatal("the branch is not on GitHub")
			}
			if c, _ := e.repo.Git().ReadCommit(head); !strings.HasPrefix(c.Message, "PROJ-1 ") {
				t.Fatalf("the branch's first commit says %q, want the issue key first", c.Message)
			}
			prs := e.repo.PullRequests()
			if len(prs) != 1 || !prs[0].Draft || prs[0].Head != branch || prs[0].Base != "main" {
				t.Fatalf("pull requests on GitHub: %+v", prs)
			}
		})
	}
}
