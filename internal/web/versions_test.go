package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

var versionField = regexp.MustCompile(`<input type="hidden" name="version" value="([^"]*)">`)

// formVersion returns the version a page's form carries.
func formVersion(t *testing.T, what string, r response) string {
	t.Helper()
	m := versionField.FindStringSubmatch(r.body())
	if m == nil || m[1] == "" {
		t.Fatalf("%s: no version in the form\n%s", what, r.body())
	}
	return m[1]
}

// TestStaleFormsAreRefused: an admin form submitted after someone else
// changed what it shows is refused with a clear message, and changes
// nothing; the form keeps what was typed.
func TestStaleFormsAreRefused(t *testing.T) {
	e := newEnv(t)
	in := e.addIntegration(false)
	root := fb.User{Name: "admin", Admin: true}
	ctx := context.Background()
	admin := e.signedIn("admin")
	const stale = "Someone changed this integration since you opened this page, so nothing was saved."

	// Two admins open the edit form; one requires user tokens, then the
	// other saves a rename from the form opened before.
	edit := admin.get("/admin/integrations/" + in.ID)
	mustStatus(t, "edit form", edit, http.StatusOK)
	opened := formVersion(t, "edit form", edit)
	if _, err := e.app.UpdateIntegration(ctx, root, in.ID, app.IntegrationInput{RequireUserPAT: new(true)}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"version": {opened}, "name": {"Renamed"}, "baseUrl": {e.gh.URL()}, "projectScope": {"all"},
		"createBranch": {"true"}, "createPullRequest": {"true"}}
	r := admin.post("/admin/integrations/"+in.ID, form)
	mustStatus(t, "stale integration form", r, http.StatusPreconditionFailed)
	mustContain(t, "stale integration form", r.body(), stale, "Reload the page", `value="Renamed"`,
		`name="version" value="`+opened+`"`)
	got, _ := e.app.Integration(ctx, root, in.ID)
	if got.Name != in.Name || !got.Settings.RequireUserPAT {
		t.Fatalf("the stale form changed the integration: name %q, requireUserPat %v", got.Name, got.Settings.RequireUserPAT)
	}

	// Reloaded, the form carries the new version and saves.
	fresh := formVersion(t, "reloaded form", admin.get("/admin/integrations/"+in.ID))
	form.Set("version", fresh)
	form.Set("requireUserPat", "true")
	mustStatus(t, "current integration form", admin.post("/admin/integrations/"+in.ID, form), http.StatusSeeOther)
	if got, _ := e.app.Integration(ctx, root, in.ID); got.Name != "Renamed" || !got.Settings.RequireUserPAT {
		t.Fatalf("after the current form: %+v", got)
	}

	// A delete from a list drawn before a change is refused too.
	list := admin.get("/admin/integrations")
	listed := formVersion(t, "integration list", list)
	if _, err := e.app.UpdateIntegration(ctx, root, in.ID, app.IntegrationInput{CreateBranch: new(false)}); err != nil {
		t.Fatal(err)
	}
	del := admin.post("/admin/integrations/"+in.ID+"/delete", url.Values{"version": {listed}})
	mustStatus(t, "stale delete", del, http.StatusSeeOther)
	mustContain(t, "after the stale delete", admin.follow(del).body(), "Someone changed Renamed since you opened this page", "It was not deleted")
	if _, err := e.app.Integration(ctx, root, in.ID); err != nil {
		t.Fatalf("the stale delete removed it: %v", err)
	}

	// The settings form likewise.
	page := admin.get("/admin/settings")
	openedSettings := formVersion(t, "settings form", page)
	if _, err := e.app.UpdateSettings(ctx, root, app.SettingsInput{RequireUserPATEverywhere: new(true)}); err != nil {
		t.Fatal(err)
	}
	r = admin.post("/admin/settings", url.Values{"version": {openedSettings}, "branchNameTemplate": {"x/${issuekey}"},
		"branchNameMaxLength": {"100"}})
	mustStatus(t, "stale settings form", r, http.StatusPreconditionFailed)
	mustContain(t, "stale settings form", r.body(), "Someone changed the settings since you opened this page, so nothing was saved.",
		`value="x/${issuekey}"`)
	st, _ := e.app.Settings(ctx, root)
	if !st.RequireUserPATEverywhere || st.BranchNameTemplate != fb.DefaultBranchNameTemplate {
		t.Fatalf("the stale settings form changed them: %+v", st)
	}

	// The audit page shows what the changes changed.
	audit := admin.get("/admin/audit")
	mustContain(t, "audit", audit.body(), `<code>settings.requireUserPat</code>: <code>false</code> → <code>true</code>`,
		`<code>requireUserPatEverywhere</code>: <code>false</code> → <code>true</code>`,
		`<code>name</code>: <code>&#34;Acme GitHub&#34;</code> → <code>&#34;Renamed&#34;</code>`)
}

// TestFormsWithoutVersionAreRefused: an admin form posted without the
// version it was drawn from is not taken as an unconditional overwrite.
func TestFormsWithoutVersionAreRefused(t *testing.T) {
	e := newEnv(t)
	in := e.addIntegration(false)
	root := fb.User{Name: "admin", Admin: true}
	ctx := context.Background()
	admin := e.signedIn("admin")
	const reload = "This form was sent without the version of the page it came from, so nothing was saved."
	r := admin.post("/admin/integrations/"+in.ID, url.Values{"name": {"Renamed"}, "baseUrl": {e.gh.URL()}, "projectScope": {"all"}})
	mustStatus(t, "integration form without a version", r, http.StatusBadRequest)
	mustContain(t, "integration form without a version", r.body(), reload, "Reload the page")
	if got, _ := e.app.Integration(ctx, root, in.ID); got.Name != in.Name {
		t.Fatalf("the form without a version renamed the integration to %q", got.Name)
	}
	r = admin.post("/admin/settings", url.Values{"branchNameTemplate": {"x/${issuekey}"}, "branchNameMaxLength": {"100"}})
	mustStatus(t, "settings form without a version", r, http.StatusBadRequest)
	mustContain(t, "settings form without a version", r.body(), reload)
	if st, _ := e.app.Settings(ctx, root); st.BranchNameTemplate != fb.DefaultBranchNameTemplate {
		t.Fatalf("the form without a version changed the settings: %+v", st)
	}
	r = admin.post("/admin/integrations/"+in.ID+"/delete", url.Values{"version": {" "}})
	mustStatus(t, "delete without a version", r, http.StatusBadRequest)
	if _, err := e.app.Integration(ctx, root, in.ID); err != nil {
		t.Fatalf("the delete without a version removed it: %v", err)
	}
}
