package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// chromium finds the browser binary; the test skips without one, except in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not installed, and CI=true: install the chromium package")
	}
	t.Skip("chromium not installed: browser tests skipped")
	return ""
}

// page drives one headless Chromium tab against the web UI and fails the
// test on any uncaught JavaScript exception.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu     sync.Mutex
	thrown []string
}

func newPage(t *testing.T, base string) *page {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first run starts the browser, which lives as long as ctx.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	p := &page{t: t, ctx: ctx, base: base}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.thrown = append(p.thrown, (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.thrown {
			t.Errorf("JavaScript exception: %s", e)
		}
	})
	return p
}

// stepTimeout bounds each step, so a missing element fails fast.
const stepTimeout = 20 * time.Second

// run performs actions, failing the test with what was being done.
func (p *page) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *page) open(path string, waitFor string) {
	p.t.Helper()
	p.run("open "+path, chromedp.Navigate(p.base+path), chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// screenshot saves the viewport to docs/screenshots/NAME.png when
// UPDATE_SCREENSHOTS=1, so ordinary runs leave the files alone.
func (p *page) screenshot(name string) {
	p.t.Helper()
	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		return
	}
	p.run("settle before "+name, chromedp.Sleep(150*time.Millisecond))
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// clear empties an input as a person selecting its text and deleting it would.
func (p *page) clear(sel string) {
	p.t.Helper()
	if !eval[bool](p, fmt.Sprintf(`(el => { el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true})); return true })(document.querySelector(%q))`, sel)) {
		p.t.Fatalf("could not clear %s", sel)
	}
}

func (p *page) signIn(name string) {
	p.t.Helper()
	p.open("/login", "#name")
	p.run("sign in as "+name,
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SendKeys(chromedp.CSS("#password"), passwords[name]),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)))
}

func (p *page) signOut() {
	p.t.Helper()
	p.run("sign out", chromedp.Click(chromedp.CSS(`form.signout button`)), chromedp.WaitVisible(chromedp.CSS("#name")))
}

// mustHave checks visible text, whose case the style sheet may change.
func mustHave(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(strings.ToLower(got), strings.ToLower(w)) {
			t.Fatalf("%s: %q does not contain %q", what, got, w)
		}
	}
}

func TestBrowserScenario(t *testing.T) {
	chromium(t)
	e := newEnv(t)
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	p := newPage(t, srv.URL)

	// The admin adds an integration that requires people's own tokens, through the form.
	p.signIn("admin")
	p.open("/admin/integrations", "main h1")
	p.run("open the add form", chromedp.Click(chromedp.CSS(`a[href="/admin/integrations/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-integration-form]`)))
	regionShown := eval[bool](p, `!document.querySelector('#region').closest('[data-kinds]').hidden`)
	if regionShown {
		t.Fatal("the AWS region field is shown for GitHub")
	}
	p.run("fill the add form",
		chromedp.SendKeys(chromedp.CSS("#name"), "Acme GitHub"),
		chromedp.SendKeys(chromedp.CSS("#baseUrl"), e.gh.URL()),
		chromedp.SendKeys(chromedp.CSS("#token"), serviceToken),
		chromedp.Click(chromedp.CSS(`input[name="requireUserPat"]`)))
	p.screenshot("integration-form")
	p.run("add", chromedp.Click(chromedp.CSS(`[data-integration-form] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	mustHave(t, "after add", p.text(".flash"), "Acme GitHub is added: 2 repositories discovered")
	mustHave(t, "integration list", p.text("main table"), "Acme GitHub", "127.0.0.1", "Required")
	p.screenshot("integrations")
	p.signOut()

	// Alice opens the issue: setup is required.
	p.signIn("alice")
	p.open("/browse/PROJ-1", ".dev-panel")
	p.screenshot("issue")
	p.run("open Create branch", chromedp.Click(chromedp.CSS(`[data-open-dialog="branch-dialog"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-setup]`)),
		chromedp.WaitReady(chromedp.CSS(`#b-base option[value="PROJ-1-existing-work"]`)))
	mustHave(t, "setup notice", p.text(`#branch-dialog [data-setup]`), "Setup required", "Acme GitHub requires your own personal access token")
	p.clear("#b-name")
	p.run("type a branch name", chromedp.SendKeys(chromedp.CSS("#b-name"), "PROJ-1-from-the-browser"))
	p.screenshot("create-branch-setup-required")

	// The link opens the token dialog; once saved, Alice is back with her input.
	p.run("set up the token", chromedp.Click(chromedp.CSS(`#branch-dialog [data-setup-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`#td-token`)))
	mustHave(t, "token dialog", p.text("#token-dialog"), "Acme GitHub", "the repo scope")
	help := eval[string](p, `document.querySelector('#token-dialog [data-field="help"]').href`)
	if help != e.gh.URL()+"/settings/tokens" {
		t.Fatalf("token creation link %q", help)
	}
	p.run("save a wrong token", chromedp.SendKeys(chromedp.CSS("#td-token"), "ghp_wrong"),
		chromedp.Click(chromedp.CSS(`#token-dialog button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#token-dialog [data-error]`)))
	mustHave(t, "wrong token", p.text(`#token-dialog [data-error]`), "rejected the personal access token you typed")
	p.clear("#td-token")
	p.run("save the token", chromedp.SendKeys(chromedp.CSS("#td-token"), aliceToken),
		chromedp.Click(chromedp.CSS(`#token-dialog button[type="submit"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#token-dialog`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#branch-dialog [data-setup]`)))
	kept := eval[string](p, `document.querySelector('#b-name').value`)
	stillOpen := eval[bool](p, `document.querySelector('#branch-dialog').open`)
	if kept != "PROJ-1-from-the-browser" || !stillOpen {
		t.Fatalf("back in the dialog: open %v, name %q", stillOpen, kept)
	}

	// Create: success shows the link and who performed it.
	p.run("create the branch", chromedp.Click(chromedp.CSS(`#branch-dialog [data-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-success]`)))
	mustHave(t, "branch created", p.text(`#branch-dialog [data-success]`), "PROJ-1-from-the-browser", "acme/app", "alice-gh", "your personal access token")
	if _, ok := e.repo.Branch("PROJ-1-from-the-browser"); !ok {
		t.Fatal("the branch is not on GitHub")
	}
	p.run("close", chromedp.Click(chromedp.CSS(`#branch-dialog [data-close]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-branches-list] a`)))
	mustHave(t, "development panel", p.text(".dev-panel"), "PROJ-1-from-the-browser", "1 branch")

	// A pull request from the branch named after the issue, to the default branch.
	p.run("open Create pull request", chromedp.Click(chromedp.CSS(`[data-open-dialog="pr-dialog"]`)),
		chromedp.WaitReady(chromedp.CSS(`#p-source option[value="PROJ-1-existing-work"]`)))
	source := eval[string](p, `document.querySelector('#p-source').value`)
	target := eval[string](p, `document.querySelector('#p-target').value`)
	title := eval[string](p, `document.querySelector('#p-title').value`)
	if source != "PROJ-1-existing-work" || target != "main" || title != "PROJ-1 Fix the login page!" {
		t.Fatalf("pull request dialog: source %q, target %q, title %q", source, target, title)
	}
	p.run("create the pull request", chromedp.SendKeys(chromedp.CSS("#p-desc"), "Fixes the login page."),
		chromedp.Click(chromedp.CSS(`#pr-dialog [data-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pr-dialog [data-success]`)))
	mustHave(t, "pull request created", p.text(`#pr-dialog [data-success]`), "#1 PROJ-1 Fix the login page!", "alice-gh")
	p.screenshot("create-pull-request-success")
	if prs := e.repo.PullRequests(); len(prs) != 1 || prs[0].Author != "alice-gh" {
		t.Fatalf("pull requests on GitHub: %+v", prs)
	}
	p.run("close", chromedp.Click(chromedp.CSS(`#pr-dialog [data-close]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-pull-requests-list] a`)))

	// The checkmark in the repository browser.
	p.open("/repositories", "main table")
	p.run("checkmark", chromedp.WaitVisible(chromedp.CSS(`tr[data-repository="acme/app"] .check`)))
	p.screenshot("repository-browser")
	p.open("/tokens", "table.tokens")
	mustHave(t, "my tokens", p.text("table.tokens"), "alice-gh", "repo", "Required")
	p.screenshot("my-tokens")

	// GitHub revokes the token: the next create marks it invalid and asks for a new one.
	e.gh.AddToken(aliceToken, fakegithub.Token{Login: "alice-gh", Expired: true})
	p.open("/browse/PROJ-1", ".dev-panel")
	p.run("open Create branch", chromedp.Click(chromedp.CSS(`[data-open-dialog="branch-dialog"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog select[data-repo]`)))
	setupHidden := eval[bool](p, `document.querySelector('#branch-dialog [data-setup]').hidden`)
	if !setupHidden {
		t.Fatal("setup is asked for while the saved token is still thought valid")
	}
	p.run("create with the revoked token", chromedp.SetValue(chromedp.CSS("#b-name"), "PROJ-1-after-revocation"),
		chromedp.Click(chromedp.CSS(`#branch-dialog [data-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-error]`)),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-setup]`)))
	mustHave(t, "revoked", p.text(`#branch-dialog [data-error]`), "rejected your saved personal access token")
	kept = eval[string](p, `document.querySelector('#b-name').value`)
	if kept != "PROJ-1-after-revocation" {
		t.Fatalf("the branch name typed was lost: %q", kept)
	}
	p.run("Escape closes the dialog", chromedp.KeyEvent("\x1b"), chromedp.WaitNotVisible(chromedp.CSS("#branch-dialog")))
	p.open("/repositories", "main table")
	checks := eval[int](p, `document.querySelectorAll('tr[data-repository="acme/app"] .check').length`)
	mustHave(t, "repository browser after revocation", p.text(`tr[data-repository="acme/app"] .access`), "Invalid")
	if checks != 0 {
		t.Fatal("the checkmark is still shown for a revoked token")
	}

	// A narrow window: nothing runs off the side, not even a summary of one
	// 300-character word, and the dialog fits.
	if _, err := e.app.CreateIssue(context.Background(), fb.User{Key: "admin", Name: "admin", Admin: true, Active: true},
		fb.Issue{Key: "PROJ-2", Summary: strings.Repeat("Unbroken", 300/len("Unbroken")+1)[:300], Type: "Task"}); err != nil {
		t.Fatal(err)
	}
	p.run("narrow window", chromedp.EmulateViewport(390, 800))
	for _, path := range []string{"/browse/PROJ-1", "/browse/PROJ-2", "/repositories", "/tokens"} {
		p.open(path, "main h1")
		if w := eval[int](p, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("%s is %dpx wide in a 390px window", path, w)
		}
	}
	p.open("/browse/PROJ-1", ".dev-panel")
	p.run("open Create pull request", chromedp.Click(chromedp.CSS(`[data-open-dialog="pr-dialog"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pr-dialog [data-submit]`)))
	if right := eval[float64](p, `document.querySelector('#pr-dialog').getBoundingClientRect().right`); right > 390 {
		t.Errorf("the dialog reaches %.0fpx in a 390px window", right)
	}
	p.run("close and widen", chromedp.KeyEvent("\x1b"), chromedp.WaitNotVisible(chromedp.CSS("#pr-dialog")),
		chromedp.EmulateViewport(1280, 800))
	p.signOut()

	p.signIn("admin")
	p.open("/admin/audit", "table.audit")
	mustHave(t, "audit", p.text("table.audit"), "token.invalidated", "pullrequest.create", "branch.create", "integration.create")
	p.screenshot("audit")
}

// oauthSwitch turns the OAuth client of a JiraSignIn off while the server runs.
type oauthSwitch struct {
	JiraSignIn
	off atomic.Bool
}

func (s *oauthSwitch) OAuthConfigured() bool { return !s.off.Load() && s.JiraSignIn.OAuthConfigured() }

// TestBrowserSignInWithJira signs in through the fake Jira's OAuth 2.0
// provider, served from another host than forgebridge (127.0.0.1 against
// localhost) as a real Jira is, then with a Jira personal access token where
// no OAuth client is set.
func TestBrowserSignInWithJira(t *testing.T) {
	chromium(t)
	e, fj := withRealJira(t, true, "")
	jiraOAuth := &oauthSwitch{JiraSignIn: e.web.Jira}
	e.web.Jira = jiraOAuth
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	fj.AddOAuthClient(jiraClientID, jiraClientSecret, base+"/login/jira/callback")
	p := newPage(t, base)

	p.open("/repositories", "[data-jira-signin]")
	p.screenshot("sign-in")
	p.run("sign in with Jira", chromedp.Click(chromedp.CSS("[data-jira-signin]")), chromedp.WaitVisible(chromedp.CSS("form.signout")))
	mustHave(t, "signed in", p.text(".who"), "Alice Liddell")
	if path := eval[string](p, `location.pathname`); path != "/repositories" {
		t.Fatalf("after signing in with Jira the browser is at %s, want /repositories", path)
	}
	if c := eval[string](p, `document.cookie`); c != "" {
		t.Fatalf("scripts can read cookies: %q", c)
	}
	p.signOut()

	// Without an OAuth client: the personal access token form.
	jiraOAuth.off.Store(true)
	p.open("/login", "#jira-token")
	if n := eval[int](p, `document.querySelectorAll('[data-jira-signin]').length`); n != 0 {
		t.Fatal("Sign in with Jira is offered without an OAuth client")
	}
	p.run("sign in with a Jira token", chromedp.SendKeys(chromedp.CSS("#jira-token"), jiraAlicePAT),
		chromedp.Click(chromedp.CSS(`form[action="/login/jira-token"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("form.signout")))
	mustHave(t, "signed in with a token", p.text(".who"), "Alice Liddell")
	if html := eval[string](p, `document.documentElement.outerHTML`); strings.Contains(html, jiraAlicePAT) {
		t.Fatal("the page after signing in shows the Jira token")
	}
}

// setRepo chooses a repository in a dialog's list as a person would.
func (p *page) setRepo(sel, repositoryID string) {
	p.t.Helper()
	if !eval[bool](p, fmt.Sprintf(`(s => { s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); return s.value === %q })(document.querySelector(%q))`,
		repositoryID, repositoryID, sel)) {
		p.t.Fatalf("could not choose %s in %s", repositoryID, sel)
	}
}

// TestBrowserDialogLinksAndBranchLists checks the dialogs' script: a branch
// list that failed to load is loaded again, a list cut short says so, and an
// address that is not http(s) never becomes a link.
func TestBrowserDialogLinksAndBranchLists(t *testing.T) {
	chromium(t)
	e := newEnv(t)
	e.addIntegration(false)
	docs := e.gh.Repo("acme/docs")
	for i := range maxDialogBranches {
		docs.AddBranch(fmt.Sprintf("topic-%04d", i)) // with trunk, one more than is listed
	}
	appID, docsID := e.repoID("acme/app"), e.repoID("acme/docs")
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	p := newPage(t, srv.URL)
	p.signIn("alice")
	p.open("/browse/PROJ-1", ".dev-panel")

	// GitHub is down when the dialog opens; once it is back, opening the dialog again loads the branches.
	e.gh.SetFailing(true)
	p.run("open Create branch while GitHub is down", chromedp.Click(chromedp.CSS(`[data-open-dialog="branch-dialog"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-error]`)))
	p.run("close", chromedp.KeyEvent("\x1b"), chromedp.WaitNotVisible(chromedp.CSS("#branch-dialog")))
	e.gh.SetFailing(false)
	p.run("open Create branch again", chromedp.Click(chromedp.CSS(`[data-open-dialog="branch-dialog"]`)),
		chromedp.WaitReady(chromedp.CSS(`#b-base option[value="PROJ-1-existing-work"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#branch-dialog [data-error]`)))

	// More branches than the list holds.
	if !eval[bool](p, `document.querySelector('#branch-dialog [data-branches-cut]').hidden`) {
		t.Fatal("a whole branch list says it is cut")
	}
	p.setRepo("#b-repo", docsID)
	p.run("docs' branches", chromedp.WaitReady(chromedp.CSS(`#b-base option[value="topic-0000"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-branches-cut]`)))
	mustHave(t, "cut list", p.text(`#branch-dialog [data-branches-cut]`), "Showing the first 1000 branches")
	if n := eval[int](p, `document.querySelector('#b-base').options.length`); n != maxDialogBranches+1 {
		t.Fatalf("%d options, want the default and %d branches", n, maxDialogBranches)
	}
	p.setRepo("#b-repo", appID)
	p.run("app's branches", chromedp.WaitReady(chromedp.CSS(`#b-base option[value="PROJ-1-existing-work"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#branch-dialog [data-branches-cut]`)))

	// A real conflict links to what exists.
	p.run("create a branch that exists", chromedp.SetValue(chromedp.CSS("#b-name"), "PROJ-1-existing-work"),
		chromedp.Click(chromedp.CSS(`#branch-dialog [data-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-error] a`)))
	if href := eval[string](p, `document.querySelector('#branch-dialog [data-error] a').href`); !strings.HasPrefix(href, e.gh.URL()+"/") {
		t.Fatalf("the existing branch's link is %q", href)
	}

	// Answers whose addresses are not http(s): forgebridge no longer passes
	// such an address on, so the API's answers are stood in for here.
	eval[bool](p, `(real => { window.fetch = (path, opts) => window.fakeAnswer && opts.method === 'POST'
		? Promise.resolve(new Response(JSON.stringify(window.fakeAnswer.body), {status: window.fakeAnswer.status, headers: {'Content-Type': 'application/json'}}))
		: real(path, opts); return true })(window.fetch)`)
	eval[bool](p, `window.fakeAnswer = {status: 409, body: {error: {code: 'already_exists', message: 'The branch exists.',
		existing: {name: 'PROJ-1-x', webUrl: 'javascript:alert(document.domain)'}}}}; true`)
	p.run("a conflict with a javascript: address", chromedp.Click(chromedp.CSS(`#branch-dialog [data-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-error]`)))
	mustHave(t, "conflict", p.text(`#branch-dialog [data-error]`), "The branch exists.")
	if n := eval[int](p, `document.querySelectorAll('#branch-dialog [data-error] a').length`); n != 0 {
		t.Fatal("a javascript: address became a link in the error")
	}
	eval[bool](p, `window.fakeAnswer = {status: 201, body: {name: 'PROJ-1-x', repositoryId: 'r', webUrl: 'javascript:alert(document.domain)',
		actor: {type: 'integration', login: 'acme-bot'}}}; true`)
	p.run("a created branch with a javascript: address", chromedp.Click(chromedp.CSS(`#branch-dialog [data-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-success]`)))
	mustHave(t, "created", p.text(`#branch-dialog [data-success]`), "Branch PROJ-1-x created in acme/app")
	if n := eval[int](p, `document.querySelectorAll('#branch-dialog [data-success] a').length`); n != 0 {
		t.Fatal("a javascript: address became a link in the success message")
	}
}

// TestBrowserWithoutJavaScript drives the dialogs as a browser without
// scripts does: Load branches after choosing another repository, Enter
// creating rather than reloading, and the token page returning to the
// dialog with what was typed.
func TestBrowserWithoutJavaScript(t *testing.T) {
	chromium(t)
	e := newEnv(t)
	e.addIntegration(true)
	docsID := e.repoID("acme/docs")
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	p := newPage(t, srv.URL)
	p.signIn("alice")
	p.run("switch scripts off", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))

	p.open("/browse/PROJ-1?dialog=branch", `#branch-dialog button[value="reload"]`)
	p.run("choose docs and type a name", chromedp.SetValue(chromedp.CSS("#b-repo"), docsID),
		chromedp.SetValue(chromedp.CSS("#b-name"), "PROJ-1-no-script"),
		chromedp.Click(chromedp.CSS(`#branch-dialog button[value="reload"]`)),
		chromedp.WaitReady(chromedp.CSS(`#b-base option[value="trunk"]`)))
	if name := eval[string](p, `document.querySelector('#b-name').value`); name != "PROJ-1-no-script" {
		t.Fatalf("Load branches lost the name typed: %q", name)
	}

	// Enter in the name field creates: refused for want of a token.
	p.run("press Enter", chromedp.SendKeys(chromedp.CSS("#b-name"), "\r"),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog [data-error]`)))
	mustHave(t, "create without a token", p.text(`#branch-dialog [data-error]`), "requires your own personal access token")

	p.run("set up the token", chromedp.Click(chromedp.CSS(`#branch-dialog [data-setup-link]`)),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), aliceToken),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#branch-dialog[open] #b-name`)))
	back := eval[[]string](p, `[document.querySelector('#b-repo').value, document.querySelector('#b-name').value]`)
	if back[0] != docsID || back[1] != "PROJ-1-no-script" {
		t.Fatalf("back from the token page: repository %q, name %q", back[0], back[1])
	}
	p.run("create", chromedp.Click(chromedp.CSS(`#branch-dialog [data-submit]`)), chromedp.WaitVisible(chromedp.CSS("[data-branches-list] a")))
	mustHave(t, "created", p.text(".flash"), "Branch created in acme/docs by alice-gh")
}
