package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// withChanges indexes PROJ-1's history, then two commits with content on
// main: one adding files, one changing them (a rename with an edit, a
// binary file, an edit), indexed too. It answers the second commit and the
// repository's id.
func (e *env) withChanges() (fb.Integration, string, string) {
	e.t.Helper()
	in := e.indexed()
	if _, err := e.repo.PushFiles("main", "PROJ-1 Add the login form", map[string][]byte{
		"login/form.html": []byte("<form>\n<input name=user>\n</form>\n"),
		"login/old.go":    []byte("package login\n\nfunc Old() {}\n\nfunc Kept() {}\n\nfunc Kept2() {}\n"),
		"logo.png":        []byte("\x89PNG\r\n\x1a\n\x00\x00binary"),
	}); err != nil {
		e.t.Fatal(err)
	}
	sha, err := e.repo.PushFiles("main", "PROJ-1 Rework the login form\n\nThe <script> stays out.", map[string][]byte{
		"login/form.html": []byte("<form>\n<input name=user>\n<input name=password type=password>\n</form>\n"),
		"login/old.go":    nil,
		"login/new.go":    []byte("package login\n\nfunc Old() {}\n\nfunc Kept() {}\n\nfunc Kept2() {}\n\nfunc New() {}\n"),
		"logo.png":        []byte("\x89PNG\r\n\x1a\n\x00\x00changed binary"),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.reindex(in)
	return in, sha, e.repoID("acme/app")
}

func TestCommitDiffPage(t *testing.T) {
	e := newEnv(t)
	in, sha, repoID := e.withChanges()
	path := "/repositories/" + repoID + "/commits/" + sha

	alice := e.signedIn("alice")
	res := alice.get("/browse/PROJ-1")
	if !strings.Contains(res.body(), `href="`+path+`"`) {
		t.Fatalf("the panel does not link the commit's diff %s", path)
	}
	res = alice.get(path)
	if res.Code != http.StatusOK {
		t.Fatalf("diff page: %d %s", res.Code, res.body())
	}
	body := res.body()
	mustHave(t, "diff page", body, "PROJ-1 Rework the login form", "The &lt;script&gt; stays out.", "3 files changed",
		`data-file="login/new.go" data-status="renamed"`, `<span data-old-path>login/old.go</span>`,
		`data-file="logo.png" data-status="modified"`, "Binary file, not shown.",
		`<span class="line add">&#43;&lt;input name=password type=password&gt;</span>`,
		`<span class="line add">&#43;func New() {}</span>`, `href="/browse/PROJ-1"`)
	if strings.Contains(body, "changed binary") || strings.Contains(body, "<script>") {
		t.Error("the page dumps the binary file or unescaped text")
	}

	// Nobody learns of a commit they may not see; a bad id is refused.
	for _, tt := range []struct {
		who, path string
		status    int
	}{
		{"bob", path, http.StatusNotFound},
		{"alice", "/repositories/" + repoID + "/commits/" + sha[:10], http.StatusBadRequest},
		{"alice", "/repositories/" + repoID + "/commits/" + strings.Repeat("a", 40), http.StatusNotFound},
	} {
		if res := e.signedIn(tt.who).get(tt.path); res.Code != tt.status || strings.Contains(res.body(), "password type") {
			t.Errorf("%s %s: %d, want %d", tt.who, tt.path, res.Code, tt.status)
		}
	}

	// Switched off, the panel links no diffs and the page says why.
	off := false
	if _, err := e.app.UpdateIntegration(context.Background(), fb.User{Name: "admin", Admin: true}, in.ID,
		app.IntegrationInput{DiffViewing: &off}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(alice.get("/browse/PROJ-1").body(), "data-diff-link") {
		t.Error("the panel links diffs with diff viewing off")
	}
	res = alice.get(path)
	if res.Code != http.StatusForbidden || !strings.Contains(res.body(), "Diff viewing is switched off") {
		t.Errorf("switched off: %d", res.Code)
	}
}

func TestBrowserCommitDiff(t *testing.T) {
	chromium(t)
	e := newEnv(t)
	_, sha, _ := e.withChanges()
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	p := newPage(t, srv.URL)
	p.signIn("alice")
	p.open("/browse/PROJ-1", "[data-commits-list]")
	p.run("open the diff", chromedp.Click(chromedp.CSS(`[data-commit="`+sha+`"] [data-diff-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-patch]`)))
	mustHave(t, "subject", p.text("[data-subject]"), "PROJ-1 Rework the login form")
	if n := eval[int](p, `document.querySelectorAll('section.file').length`); n != 3 {
		t.Errorf("%d files on the page, want 3", n)
	}
	if got := eval[string](p, `document.querySelector('[data-file="login/new.go"] [data-old-path]').textContent`); got != "login/old.go" {
		t.Errorf("renamed from %q", got)
	}
	mustHave(t, "binary", p.text(`[data-file="logo.png"]`), "Binary file, not shown.")
	// Added lines are marked by more than colour: the + stays.
	if got := eval[string](p, `document.querySelector('[data-file="login/form.html"] .line.add').textContent`); got != "+<input name=password type=password>" {
		t.Errorf("added line %q", got)
	}
	p.screenshot("commit-diff")

	// The page is server-rendered: with scripts off it reads the same.
	p.run("scripts off", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	p.open("/repositories/"+e.repoID("acme/app")+"/commits/"+sha, "[data-patch]")
	mustHave(t, "without JavaScript", p.text(`[data-file="login/new.go"]`), "+func New() {}")
}
