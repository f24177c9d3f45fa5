package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: missing %q", what, w)
		}
	}
	if t.Failed() {
		t.Logf("%s body:\n%s", what, body)
		t.FailNow()
	}
}

func mustNotContain(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Fatalf("%s: contains %q", what, w)
		}
	}
}

func mustStatus(t *testing.T, what string, r response, status int) {
	t.Helper()
	if r.Code != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.Code, status, r.body())
	}
}

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser()

	page := b.get("/login?next=/tokens")
	mustStatus(t, "sign-in page", page, http.StatusOK)
	mustContain(t, "sign-in page", page.body(), `name="password"`, `value="/tokens"`, "Sign in to forgebridge")

	bad := b.post("/login", url.Values{"name": {"alice"}, "password": {"wrong-password"}})
	mustStatus(t, "wrong password", bad, http.StatusUnauthorized)
	mustContain(t, "wrong password", bad.body(), "The user name or password is wrong.", `value="alice"`)
	mustNotContain(t, "wrong password", bad.body(), "wrong-password")
	if len(b.cookies) != 0 {
		t.Fatalf("a failed sign-in set cookies: %v", b.cookies)
	}

	ok := b.post("/login", url.Values{"name": {"alice"}, "password": {passwords["alice"]}, "next": {"/tokens"}})
	mustStatus(t, "sign in", ok, http.StatusSeeOther)
	if loc := ok.Header().Get("Location"); loc != "/tokens" {
		t.Fatalf("sign in redirected to %q, want /tokens", loc)
	}
	c := b.cookies[sessionCookie]
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure without TLS, Path=/", c)
	}
	if strings.Contains(c.Value, "alice") {
		t.Fatal("the session cookie shows the user name in clear")
	}
	if c.MaxAge < int((sessionTTL-time.Minute).Seconds()) || c.MaxAge > int(sessionTTL.Seconds()) {
		t.Fatalf("session cookie lives %ds, want about %s", c.MaxAge, sessionTTL)
	}
	mustContain(t, "page after sign in", b.get("/tokens").body(), "My tokens", "Alice")

	// Signed in already: the sign-in page sends people on.
	mustStatus(t, "sign-in page when signed in", b.get("/login"), http.StatusSeeOther)

	out := b.post("/logout", nil)
	mustStatus(t, "sign out", out, http.StatusSeeOther)
	if _, still := b.cookies[sessionCookie]; still {
		t.Fatal("sign out left the session cookie")
	}
	r := b.get("/tokens")
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login?next=%2Ftokens" {
		t.Fatalf("after sign out: %d %q", r.Code, r.Header().Get("Location"))
	}
}

func TestSecureCookieAndOpenRedirect(t *testing.T) {
	e := newEnv(t)
	e.web.Secure = true
	b := e.browser()
	r := b.post("/login", url.Values{"name": {"bob"}, "password": {passwords["bob"]}, "next": {"//evil.example/x"}})
	mustStatus(t, "sign in", r, http.StatusSeeOther)
	if loc := r.Header().Get("Location"); loc != "/" {
		t.Fatalf("next=//evil.example redirected to %q, want /", loc)
	}
	if c := b.cookies[sessionCookie]; c == nil || !c.Secure {
		t.Fatalf("cookie %+v is not Secure with Secure set", c)
	}
}

func TestSessionCookieIsChecked(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("alice")
	good := b.cookies[sessionCookie].Value
	for name, value := range map[string]string{
		"tampered": good[:len(good)-4] + "AAAA",
		"garbage":  "not-a-session",
		// A real session of admin's, sealed with a key this server does not have.
		"other key": e.sealSession(&Server{Cipher: newTestCipher()}, "admin", time.Now().Add(time.Hour)),
		"expired":   e.sealSession(e.web, "alice", time.Now().Add(-time.Second)),
		"unknown token": func() string {
			rec := newRecorder()
			e.web.writeSession(rec, session{Token: "fbt_0123456789abcdef0123456789abcdef", Expires: time.Now().Add(time.Hour).Unix()})
			return rec.Result().Cookies()[0].Value
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			forged := e.browser()
			forged.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: value}
			r := forged.get("/repositories")
			if r.Code != http.StatusSeeOther || !strings.HasPrefix(r.Header().Get("Location"), "/login") {
				t.Fatalf("status %d to %q, want a redirect to /login", r.Code, r.Header().Get("Location"))
			}
		})
	}
}

func TestDeactivatedPersonIsSignedOut(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("alice")
	mustStatus(t, "before", b.get("/repositories"), http.StatusOK)
	e.tracker.deactivate("alice")
	r := b.get("/repositories")
	if r.Code != http.StatusSeeOther || !strings.HasPrefix(r.Header().Get("Location"), "/login") {
		t.Fatalf("deactivated person: %d %q", r.Code, r.Header().Get("Location"))
	}
	if _, still := b.cookies[sessionCookie]; still {
		t.Fatal("the session cookie of a deactivated person was kept")
	}
	// The API does not act for them either.
	if r := b.get("/api/v1/me"); r.Code != http.StatusUnauthorized {
		t.Fatalf("API for a deactivated person: %d", r.Code)
	}
	bad := e.browser().post("/login", url.Values{"name": {"alice"}, "password": {passwords["alice"]}})
	mustStatus(t, "deactivated sign in", bad, http.StatusUnauthorized)
	// The right password of a deactivated account says no more than a wrong one.
	mustContain(t, "deactivated sign in", bad.body(), "The user name or password is wrong.")
	mustNotContain(t, "deactivated sign in", bad.body(), "deactivated")
}

// mustBeSignedOut checks that b's next page sends it to sign in and drops
// the dead session's cookie.
func mustBeSignedOut(t *testing.T, what string, b *browser) {
	t.Helper()
	if r := b.get("/repositories"); r.Code != http.StatusSeeOther || !strings.HasPrefix(r.Header().Get("Location"), "/login") {
		t.Fatalf("%s: page answered %d to %q, want a redirect to /login", what, r.Code, r.Header().Get("Location"))
	}
	if _, still := b.cookies[sessionCookie]; still {
		t.Fatalf("%s: the dead session's cookie was kept", what)
	}
}

func TestSignOutEndsCopiesOfTheSession(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("alice")
	copied := *b.cookies[sessionCookie]
	mustStatus(t, "sign out", b.post("/logout", nil), http.StatusSeeOther)

	thief := e.browser()
	thief.cookies[sessionCookie] = &copied
	mustBeSignedOut(t, "the copied cookie after sign out", thief)
	thief.cookies[sessionCookie] = &copied
	if r := thief.get("/api/v1/me"); r.Code != http.StatusUnauthorized {
		t.Fatalf("the API with the copied cookie after sign out: %d %s", r.Code, r.body())
	}
}

func TestSignOutWhenTheSessionCannotBeEnded(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("alice")
	if err := e.app.Store.Close(); err != nil { // every store call fails from now on
		t.Fatal(err)
	}
	r := b.post("/logout", nil)
	mustStatus(t, "sign out", r, http.StatusInternalServerError)
	mustContain(t, "sign out", r.body(), "You are signed out in this browser, but forgebridge could not end the session")
	if _, still := b.cookies[sessionCookie]; still {
		t.Fatal("a failed sign-out kept the session cookie in this browser")
	}
}

func TestNewPasswordEndsSessions(t *testing.T) {
	e := newEnv(t)
	alice, otherAlice, bob := e.signedIn("alice"), e.signedIn("alice"), e.signedIn("bob")
	if err := e.app.SetPassword(context.Background(), "alice", "a-new-password-for-alice"); err != nil {
		t.Fatal(err)
	}
	mustBeSignedOut(t, "alice after her new password", alice)
	mustBeSignedOut(t, "alice's other browser after her new password", otherAlice)
	mustStatus(t, "bob after alice's new password", bob.get("/repositories"), http.StatusOK)
	again := e.browser().post("/login", url.Values{"name": {"alice"}, "password": {"a-new-password-for-alice"}})
	mustStatus(t, "sign in with the new password", again, http.StatusSeeOther)
}

func TestSessionThatCannotBeChecked(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    error
		status  int
		code    fb.Code
		message string
	}{
		{"tracker down", fb.Errorf(fb.ETrackerUnavailable, "Jira cannot be reached; try again in a moment."),
			http.StatusBadGateway, fb.ETrackerUnavailable, "Jira cannot be reached; try again in a moment."},
		{"internal failure", errors.New("disk on fire at /var/lib/x"),
			http.StatusInternalServerError, fb.EInternal, "An administrator can find the details in the log under the request id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.signedIn("alice")
			e.tracker.failLookups(tc.fail)

			// The API says what went wrong, not that the person is signed out.
			r := b.get("/api/v1/me")
			mustStatus(t, "API", r, tc.status)
			var body struct {
				Error struct {
					Code    fb.Code
					Message string
				}
			}
			if err := json.Unmarshal(r.Body.Bytes(), &body); err != nil || r.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("API answer is not the API's JSON error (%v): %s", err, r.body())
			}
			if body.Error.Code != tc.code || !strings.Contains(body.Error.Message, tc.message) {
				t.Fatalf("API error %+v, want %s %q", body.Error, tc.code, tc.message)
			}
			p := b.get("/repositories")
			mustStatus(t, "page", p, tc.status)
			mustContain(t, "page", p.body(), tc.message)

			// The session outlives the outage.
			if b.cookies[sessionCookie] == nil {
				t.Fatal("the session cookie was dropped while it could not be checked")
			}
			e.tracker.failLookups(nil)
			mustStatus(t, "API after the outage", b.get("/api/v1/me"), http.StatusOK)
		})
	}
}

func TestSessionWhileFakeJiraIsDown(t *testing.T) {
	e, fj := withRealJira(t, false, "")
	b := e.browser()
	mustStatus(t, "sign in", b.post("/login/jira-token", url.Values{"token": {jiraAlicePAT}}), http.StatusSeeOther)
	fj.SetDown(true)
	r := b.get("/api/v1/me")
	mustStatus(t, "API with Jira down", r, http.StatusBadGateway)
	mustContain(t, "API with Jira down", r.body(), `"code":"tracker_unavailable"`)
	fj.SetDown(false)
	mustStatus(t, "API with Jira back", b.get("/api/v1/me"), http.StatusOK)
}

func TestSignedOutIsSentToSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/", "/repositories", "/tokens", "/tokens/x", "/browse/PROJ-1", "/admin/integrations",
		"/admin/integrations/new", "/admin/settings", "/admin/audit?user=alice", "/no/such/page"} {
		r := b.get(path)
		want := "/login?next=" + url.QueryEscape(path)
		if path == "/" {
			want = "/login"
		}
		if r.Code != http.StatusSeeOther || r.Header().Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 303 to %q", path, r.Code, r.Header().Get("Location"), want)
		}
	}
	for _, path := range []string{"/tokens/x", "/tokens/x/delete", "/browse/PROJ-1/branches", "/browse/PROJ-1/pull-requests",
		"/admin/integrations", "/admin/integrations/x", "/admin/integrations/x/sync", "/admin/integrations/x/delete", "/admin/settings"} {
		r := b.post(path, url.Values{"token": {"x"}})
		if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login" {
			t.Errorf("POST %s: %d to %q, want 303 to /login", path, r.Code, r.Header().Get("Location"))
		}
	}
}

func TestAdminPagesRefuseOthers(t *testing.T) {
	e := newEnv(t)
	in := e.addIntegration(false)
	b := e.signedIn("alice")
	nav := b.get("/repositories").body()
	mustNotContain(t, "alice's navigation", nav, "/admin/integrations", "/admin/audit")
	for _, path := range []string{"/admin/integrations", "/admin/integrations/new", "/admin/integrations/" + in.ID,
		"/admin/settings", "/admin/audit"} {
		r := b.get(path)
		mustStatus(t, "GET "+path, r, http.StatusForbidden)
		mustContain(t, "GET "+path, r.body(), "Only forgebridge administrators may do this.")
	}
	for _, path := range []string{"/admin/integrations", "/admin/integrations/" + in.ID, "/admin/integrations/" + in.ID + "/sync",
		"/admin/integrations/" + in.ID + "/delete", "/admin/settings"} {
		r := b.post(path, url.Values{"name": {"Hijacked"}, "kind": {"github"}, "branchNameTemplate": {"x"}, "branchNameMaxLength": {"20"}})
		mustStatus(t, "POST "+path, r, http.StatusForbidden)
	}
	if got, _ := e.app.Integration(context.Background(), fb.User{Admin: true}, in.ID); got.Name != "Acme GitHub" {
		t.Fatalf("a non-admin changed the integration: %+v", got)
	}
}

func TestCrossOriginRequestsAreRefused(t *testing.T) {
	e := newEnv(t)
	in := e.addIntegration(true)
	admin := e.signedIn("admin")
	for _, tc := range []struct {
		name, method, path, body, contentType string
	}{
		{"settings form", "POST", "/admin/settings", "requireUserPatEverywhere=true&branchNameTemplate=x&branchNameMaxLength=20", "application/x-www-form-urlencoded"},
		{"delete integration", "POST", "/admin/integrations/" + in.ID + "/delete", "", "application/x-www-form-urlencoded"},
		{"save token", "POST", "/tokens/" + in.ID, "token=" + aliceToken, "application/x-www-form-urlencoded"},
		{"sign out", "POST", "/logout", "", "application/x-www-form-urlencoded"},
		{"sign in", "POST", "/login", "name=admin&password=" + passwords["admin"], "application/x-www-form-urlencoded"},
		{"API with the session", "PUT", "/api/v1/me/tokens/" + in.ID, `{"token":"` + aliceToken + `"}`, "application/json"},
		{"API create", "POST", "/api/v1/issues/PROJ-1/branches", `{"repositoryId":"x"}`, "application/json"},
	} {
		for _, hdr := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
			t.Run(tc.name, func(t *testing.T) {
				req := newRequest(tc.method, tc.path, tc.body)
				req.Header.Set("Content-Type", tc.contentType)
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				if r := admin.do(req); r.Code != http.StatusForbidden {
					t.Fatalf("%s %s with %v: status %d, want 403", tc.method, tc.path, hdr, r.Code)
				}
			})
		}
	}
	st, _ := e.app.Settings(context.Background(), fb.User{Admin: true})
	if st.RequireUserPATEverywhere {
		t.Fatal("a cross-site form changed the settings")
	}
	if _, err := e.app.Integration(context.Background(), fb.User{Admin: true}, in.ID); err != nil {
		t.Fatalf("a cross-site form deleted the integration: %v", err)
	}
	// The same form from the site itself works.
	r := admin.post("/admin/settings", url.Values{"requireUserPatEverywhere": {"true"}, "branchNameTemplate": {"${issuekey}"},
		"branchNameMaxLength": {"60"}, "version": {formVersion(t, "settings", admin.get("/admin/settings"))}})
	mustStatus(t, "same-origin settings", r, http.StatusSeeOther)
}

func TestIntegrationForms(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin")

	empty := admin.get("/admin/integrations")
	mustStatus(t, "empty list", empty, http.StatusOK)
	mustContain(t, "empty list", empty.body(), "No integration yet", `href="/admin/integrations/new"`)

	form := admin.get("/admin/integrations/new")
	mustStatus(t, "add form", form, http.StatusOK)
	mustContain(t, "add form", form.body(), "Require User PAT", "Create branch", "Create pull request", "Custom API path",
		"JMESPath filter", "AWS region", "Access key ID", "Secret access key", "All projects", "Chosen projects",
		`<option value="codecommit"`)

	base := url.Values{"name": {"Acme GitHub"}, "kind": {"github"}, "baseUrl": {e.gh.URL()}, "projectScope": {"all"},
		"createBranch": {"true"}, "createPullRequest": {"true"}, "requireUserPat": {"true"}}
	with := func(v url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = append([]string(nil), vs...)
		}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}

	// Refusals keep what was typed, never the credential.
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		msg    string
	}{
		{"rejected credential", with(base, "token", "ghp_wrong_but_secret"), http.StatusUnprocessableEntity, "rejected the integration&#39;s service credential"},
		{"no credential", base, http.StatusBadRequest, "credential: token is required."},
		{"chosen without projects", with(base, "token", serviceToken, "projectScope", "chosen", "projects", " "), http.StatusBadRequest, "Name at least one project key"},
		{"bad filter", with(base, "token", serviceToken, "repositoryFilter", "[?"), http.StatusBadRequest, "repositoryFilter"},
		{"codecommit without region", url.Values{"name": {"CC"}, "kind": {"codecommit"}, "accessKeyId": {"AKIAEXAMPLE"}, "secretAccessKey": {"sekrit"}}, http.StatusBadRequest, "region is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := admin.post("/admin/integrations", tc.form)
			mustStatus(t, tc.name, r, tc.status)
			mustContain(t, tc.name, r.body(), tc.msg, `value="`+tc.form.Get("name")+`"`)
			mustNotContain(t, tc.name, r.body(), "ghp_wrong_but_secret", "sekrit", serviceToken)
		})
	}

	added := admin.post("/admin/integrations", with(base, "token", serviceToken, "apiPath", "/user/repos"))
	mustStatus(t, "add", added, http.StatusSeeOther)
	list := admin.follow(added)
	mustContain(t, "list after add", list.body(), "Acme GitHub is added: 2 repositories discovered, as acme-bot.",
		"GitHub", "127.0.0.1", `<td class="num">2</td>`, `data-require-user-pat="true"`, "as acme-bot")
	ins, _ := e.app.Integrations(context.Background(), fb.User{Admin: true})
	if len(ins) != 1 || !ins[0].Settings.RequireUserPAT || ins[0].APIPath != "/user/repos" {
		t.Fatalf("integrations after the form: %+v", ins)
	}
	id := ins[0].ID
	// The flash is shown once.
	mustNotContain(t, "list again", admin.get("/admin/integrations").body(), "is added")

	edit := admin.get("/admin/integrations/" + id)
	mustStatus(t, "edit form", edit, http.StatusOK)
	mustContain(t, "edit form", edit.body(), `value="Acme GitHub"`, "Leave empty to keep the saved token",
		`name="requireUserPat" value="true" checked`, `value="/user/repos"`, "Update", "acme-bot")
	mustNotContain(t, "edit form", edit.body(), serviceToken)

	// An empty credential keeps the saved one; switches can be turned off.
	// Project keys must be the tracker's.
	if _, err := e.app.CreateProject(context.Background(), fb.User{Admin: true}, fb.Project{Key: "OPS", Name: "Operations"}); err != nil {
		t.Fatal(err)
	}
	upd := admin.post("/admin/integrations/"+id, url.Values{"name": {"Acme"}, "baseUrl": {e.gh.URL()}, "projectScope": {"chosen"},
		"projects": {"proj, ops"}, "createBranch": {"true"}, "apiPath": {"/user/repos"}, "version": {formVersion(t, "edit form", edit)}})
	mustStatus(t, "update", upd, http.StatusSeeOther)
	mustContain(t, "list after update", admin.follow(upd).body(), "Acme is updated.", "Optional")
	got, _ := e.app.Integration(context.Background(), fb.User{Admin: true}, id)
	if got.Credential.Token != serviceToken || got.Settings.RequireUserPAT || got.Settings.CreatePullRequest ||
		!got.Settings.CreateBranch || strings.Join(got.Projects, ",") != "PROJ,OPS" || got.Kind != fb.KindGitHub {
		t.Fatalf("after update: %+v %+v", got.Settings, got.Projects)
	}
	// A refused update shows the message and keeps the form.
	bad := admin.post("/admin/integrations/"+id, url.Values{"name": {""}, "projectScope": {"all"},
		"version": {formVersion(t, "edit form", admin.get("/admin/integrations/"+id))}})
	mustStatus(t, "bad update", bad, http.StatusBadRequest)
	mustContain(t, "bad update", bad.body(), "name is required.", "Edit")

	e.gh.AddRepo("acme/new", "main")
	sync := admin.post("/admin/integrations/"+id+"/sync", nil)
	mustStatus(t, "sync", sync, http.StatusSeeOther)
	mustContain(t, "after sync", admin.follow(sync).body(), "Acme: 3 repositories discovered.")

	mustStatus(t, "unknown integration", admin.get("/admin/integrations/nope"), http.StatusNotFound)
	del := admin.post("/admin/integrations/"+id+"/delete", url.Values{"version": {formVersion(t, "list", admin.get("/admin/integrations"))}})
	mustStatus(t, "delete", del, http.StatusSeeOther)
	mustContain(t, "after delete", admin.follow(del).body(), "Acme is deleted", "No integration yet")
}

func TestSettingsForm(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin")
	page := admin.get("/admin/settings")
	mustStatus(t, "settings", page, http.StatusOK)
	mustContain(t, "settings", page.body(), "Require user tokens everywhere", `value="${issuekey}-${summary}"`, `value="250"`)

	for _, tc := range []struct {
		name, length, msg string
	}{
		{"not a number", "long", "must be a whole number"},
		{"too short", "5", "between 16 and 1000"},
	} {
		r := admin.post("/admin/settings", url.Values{"branchNameTemplate": {"${issuekey}"}, "branchNameMaxLength": {tc.length},
			"version": {formVersion(t, "settings", page)}})
		mustStatus(t, tc.name, r, http.StatusBadRequest)
		mustContain(t, tc.name, r.body(), tc.msg, `value="`+tc.length+`"`)
	}
	ok := admin.post("/admin/settings", url.Values{"requireUserPatEverywhere": {"true"}, "branchNameTemplate": {"feature/${issuekey}"},
		"branchNameMaxLength": {"80"}, "version": {formVersion(t, "settings", page)}})
	mustContain(t, "after save", admin.follow(ok).body(), "The settings are saved.", `name="requireUserPatEverywhere" value="true" checked`,
		`value="feature/${issuekey}"`, `value="80"`)
	// The integration list says the requirement is global.
	e.addIntegration(false)
	mustContain(t, "list", admin.get("/admin/integrations").body(), "Required (global)")
}

func TestRepositoryBrowserAndTokens(t *testing.T) {
	e := newEnv(t)
	in := e.addIntegration(true)
	alice := e.signedIn("alice")

	repos := alice.get("/repositories")
	mustStatus(t, "repositories", repos, http.StatusOK)
	mustContain(t, "repositories", repos.body(), "Acme GitHub", "acme/app", "acme/docs", "Personal access token required",
		`data-token-state="none"`, `data-token-dialog="`+in.ID+`"`, `href="/tokens/`+in.ID+`?return=/repositories"`, "Not set")
	mustNotContain(t, "repositories", repos.body(), `class="check"`)
	filtered := alice.get("/repositories?q=docs").body()
	mustContain(t, "search", filtered, "acme/docs")
	mustNotContain(t, "search", filtered, "acme/app")
	// Bob may browse PROJ too, so he sees its repositories.
	mustContain(t, "bob's repositories", e.signedIn("bob").get("/repositories").body(), "acme/app")

	tokens := alice.get("/tokens")
	mustStatus(t, "tokens", tokens, http.StatusOK)
	mustContain(t, "tokens", tokens.body(), "Acme GitHub", "Required", "Not configured", in.ID,
		`href="`+e.gh.URL()+`/settings/tokens"`, "the repo scope", ">Set<")

	form := alice.get("/tokens/" + in.ID + "?return=/repositories")
	mustStatus(t, "token form", form, http.StatusOK)
	mustContain(t, "token form", form.body(), `name="token"`, `value="/repositories"`, "the repo scope")

	for _, tc := range []struct {
		name   string
		token  string
		status int
		msg    string
	}{
		{"empty", "", http.StatusBadRequest, "Paste the token"},
		{"rejected", "ghp_bogus_secret", http.StatusUnprocessableEntity, "rejected the personal access token you typed"},
	} {
		r := alice.post("/tokens/"+in.ID, url.Values{"token": {tc.token}, "return": {"/repositories"}})
		mustStatus(t, tc.name, r, tc.status)
		mustContain(t, tc.name, r.body(), tc.msg, `value="/repositories"`)
		mustNotContain(t, tc.name, r.body(), "ghp_bogus_secret")
	}
	mustStatus(t, "unknown integration", alice.post("/tokens/nope", url.Values{"token": {aliceToken}}), http.StatusNotFound)

	saved := alice.post("/tokens/"+in.ID, url.Values{"token": {aliceToken}, "return": {"/repositories"}})
	mustStatus(t, "save", saved, http.StatusSeeOther)
	if loc := saved.Header().Get("Location"); loc != "/repositories" {
		t.Fatalf("save returned to %q", loc)
	}
	after := alice.follow(saved)
	mustContain(t, "repositories with a token", after.body(), "Your token for Acme GitHub is saved; GitHub says it belongs to alice-gh.",
		`data-token-state="valid"`, `class="check" role="img" aria-label="Valid"`, "✓")
	mustNotContain(t, "repositories with a token", after.body(), aliceToken)

	// A token that expires within 7 days is flagged.
	mustStatus(t, "replace", alice.post("/tokens/"+in.ID, url.Values{"token": {soonToken}}), http.StatusSeeOther)
	tokens = alice.get("/tokens")
	mustContain(t, "tokens with a token", tokens.body(), "alice-gh", "repo", `class="warn"`, "⚠", ">Replace<", "Remove")
	mustNotContain(t, "tokens with a token", tokens.body(), soonToken)

	removed := alice.post("/tokens/"+in.ID+"/delete", nil)
	mustContain(t, "after remove", alice.follow(removed).body(), "Your token for Acme GitHub is removed.", "Not configured")
}

func TestTokenStateAndHelp(t *testing.T) {
	past, soon, later := time.Now().Add(-time.Hour), time.Now().Add(48*time.Hour), time.Now().Add(30*24*time.Hour)
	for _, tc := range []struct {
		name   string
		token  *fb.UserToken
		state  string
		usable bool
		check  bool
		warn   bool
	}{
		{"none", nil, "none", false, false, false},
		{"valid", &fb.UserToken{Status: fb.TokenValid, ExpiresAt: &later}, "valid", true, true, false},
		{"valid, expiring soon", &fb.UserToken{Status: fb.TokenValid, ExpiresAt: &soon}, "valid", true, true, true},
		{"expired", &fb.UserToken{Status: fb.TokenValid, ExpiresAt: &past}, "expired", false, false, true},
		{"invalid", &fb.UserToken{Status: fb.TokenInvalid}, "invalid", false, false, false},
		{"expired by the service's clock", &fb.UserToken{Status: fb.TokenExpired, ExpiresAt: &later}, "expired", false, false, false},
		// Usable, but not known to be valid: no checkmark.
		{"unverified", &fb.UserToken{Status: fb.TokenUnverified}, "unverified", true, false, false},
	} {
		v := tokenState(tc.token)
		if v.State != tc.state || v.Usable != tc.usable || v.Check != tc.check || v.Warn != tc.warn || v.Configured != (tc.token != nil) {
			t.Errorf("%s: %+v", tc.name, v)
		}
	}
	for _, tc := range []struct {
		name        string
		in          fb.Integration
		url, scopes string
	}{
		{"github", fb.Integration{Kind: fb.KindGitHub}, "https://github.com/settings/tokens", "repo"},
		{"github enterprise api", fb.Integration{Kind: fb.KindGitHubEnterprise, BaseURL: "https://ghe.example.com/api/v3"}, "https://ghe.example.com/settings/tokens", "repo"},
		{"github enterprise no base", fb.Integration{Kind: fb.KindGitHubEnterprise}, "", "repo"},
		{"gitlab", fb.Integration{Kind: fb.KindGitLab}, "https://gitlab.com/-/user_settings/personal_access_tokens", "api"},
		{"gitlab self-managed", fb.Integration{Kind: fb.KindGitLabSelfManaged, BaseURL: "https://git.example.com"}, "https://git.example.com/-/user_settings/personal_access_tokens", "api"},
		{"gitlab self-managed api", fb.Integration{Kind: fb.KindGitLabSelfManaged, BaseURL: "https://git.example.com/gitlab/api/v4/"}, "https://git.example.com/gitlab/-/user_settings/personal_access_tokens", "api"},
		{"gitlab self-managed no base", fb.Integration{Kind: fb.KindGitLabSelfManaged}, "", "api"},
		{"azure", fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: "https://dev.azure.com/acme"}, "https://dev.azure.com/acme/_usersSettings/tokens", "Code (Read & write)"},
		{"azure no base", fb.Integration{Kind: fb.KindAzureDevOps}, "", "Code (Read & write)"},
		{"vsts", fb.Integration{Kind: fb.KindVSTS, BaseURL: "https://acme.visualstudio.com/"}, "https://acme.visualstudio.com/_usersSettings/tokens", "Code"},
		{"tfs 2017", fb.Integration{Kind: fb.KindTFS, BaseURL: "https://tfs.example.com/tfs/DefaultCollection", ServerVersion: "2017"}, "https://tfs.example.com/tfs/DefaultCollection/_details/security/tokens", "Code"},
		{"tfs 2018", fb.Integration{Kind: fb.KindTFS, BaseURL: "https://tfs.example.com/tfs/DefaultCollection", ServerVersion: "2018"}, "https://tfs.example.com/tfs/DefaultCollection/_details/security/tokens", "Code"},
		{"tfs 2019", fb.Integration{Kind: fb.KindTFS, BaseURL: "https://tfs.example.com/tfs/DefaultCollection", ServerVersion: "2019"}, "https://tfs.example.com/tfs/DefaultCollection/_usersSettings/tokens", "Code"},
		{"tfs learnt version", fb.Integration{Kind: fb.KindTFS, BaseURL: "https://tfs.example.com/tfs/DefaultCollection"}, "https://tfs.example.com/tfs/DefaultCollection/_usersSettings/tokens", "Code"},
		{"tfs no base", fb.Integration{Kind: fb.KindTFS, ServerVersion: "2018"}, "", "Code"},
		{"codecommit", fb.Integration{Kind: fb.KindCodeCommit, Region: "eu-west-1"}, "https://console.aws.amazon.com/iam/home#/security_credentials", "codecommit:CreateBranch"},
	} {
		h := tokenHelp(tc.in)
		if h.URL != tc.url || !strings.Contains(h.Scopes, tc.scopes) {
			t.Errorf("%s: %+v, want URL %q", tc.name, h, tc.url)
		}
	}
}

func TestIssuePageAndCreateForms(t *testing.T) {
	e := newEnv(t)
	in := e.addIntegration(true)
	alice := e.signedIn("alice")

	page := alice.get("/browse/proj-1")
	mustStatus(t, "issue", page, http.StatusOK)
	mustContain(t, "issue", page.body(), "PROJ-1", "Fix the login page!", "Development", ">Create branch<", ">Create pull request<",
		`id="branch-dialog"`, `id="pr-dialog"`, `value="PROJ-1-fix-the-login-page"`, `value="PROJ-1 Fix the login page!"`,
		`data-setup-required="true"`, "0 branches", "0 pull requests")
	if regexp.MustCompile(`<dialog id="branch-dialog"[^>]* open`).MatchString(page.body()) {
		t.Fatal("the dialog is drawn open without being asked for")
	}

	// Bob may browse but not use development tools.
	bob := e.signedIn("bob").get("/browse/PROJ-1")
	mustStatus(t, "bob's issue", bob, http.StatusOK)
	mustContain(t, "bob's issue", bob.body(), "Fix the login page!", "View Development Tools")
	mustNotContain(t, "bob's issue", bob.body(), ">Create branch<", "branch-dialog")
	r := e.signedIn("bob").post("/browse/PROJ-1/branches", url.Values{"repositoryId": {"x"}})
	mustStatus(t, "bob creates", r, http.StatusForbidden)

	mustStatus(t, "unknown issue", alice.get("/browse/PROJ-404"), http.StatusNotFound)
	gotoIssue := alice.get("/browse?key=proj-1")
	if gotoIssue.Code != http.StatusSeeOther || gotoIssue.Header().Get("Location") != "/browse/PROJ-1" {
		t.Fatalf("go to issue: %d %q", gotoIssue.Code, gotoIssue.Header().Get("Location"))
	}

	// Without JavaScript: the dialog drawn open, with setup required.
	repos, _, _ := e.app.Repositories(context.Background(), fb.User{Key: "alice", Name: "alice"}, "", "acme/app", fb.Page{Limit: 1})
	repoID := repos[0].ID
	open := alice.get("/browse/PROJ-1?dialog=branch&repositoryId=" + repoID)
	mustContain(t, "open dialog", open.body(), `data-issue="PROJ-1" open`, `class="setup" data-setup>`, "Acme GitHub requires your own personal access token",
		`href="/tokens/`+in.ID+`?return=%2fbrowse%2fPROJ-1%3fdialog%3dbranch%26name%3dPROJ-1-fix-the-login-page%26repositoryId%3d`+repoID+`"`,
		`<option value="PROJ-1-existing-work"`, `<option value="main"`, `data-branches-cut hidden`)

	// Creating without a token: refused, nothing typed lost, setup asked for.
	calls := e.gh.CallCount()
	refused := alice.post("/browse/PROJ-1/branches", url.Values{"repositoryId": {repoID}, "baseBranch": {"main"}, "name": {"PROJ-1-my-name"}})
	mustStatus(t, "create without token", refused, http.StatusPreconditionRequired)
	mustContain(t, "create without token", refused.body(), "requires your own personal access token for this action",
		`value="PROJ-1-my-name"`, `<option value="main" selected>`, `data-setup>`)
	if e.gh.CallCount() != calls { // the redrawn dialog's branch list comes from the cache
		t.Fatalf("GitHub was called %d times for a refused create", e.gh.CallCount()-calls)
	}

	// A one-off token typed in and remembered.
	created := alice.post("/browse/PROJ-1/branches", url.Values{"repositoryId": {repoID}, "name": {"PROJ-1-my-name"},
		"token": {aliceToken}, "rememberToken": {"true"}})
	mustStatus(t, "create branch", created, http.StatusSeeOther)
	issue := alice.follow(created).body()
	mustContain(t, "after create", issue, "Branch created in acme/app by alice-gh with your personal access token.",
		">PROJ-1-my-name</a>", "1 branch<", "/acme/app/tree/PROJ-1-my-name")
	mustNotContain(t, "after create", issue, aliceToken)
	if _, ok := e.repo.Branch("PROJ-1-my-name"); !ok {
		t.Fatal("the branch is not on GitHub")
	}
	if toks, _ := e.app.MyTokens(context.Background(), fb.User{Key: "alice"}); toks[0].Token == nil {
		t.Fatal("remember did not save the token")
	}

	// The pull request form: the source branch is picked from the issue key.
	prOpen := alice.get("/browse/PROJ-1?dialog=pull-request")
	mustContain(t, "open PR dialog", prOpen.body(), `<option value="PROJ-1-existing-work" selected>`, `<option value="main" selected>`)
	mustNotContain(t, "open PR dialog", prOpen.body(), `data-setup>`)
	failed := alice.post("/browse/PROJ-1/pull-requests", url.Values{"repositoryId": {repoID}, "sourceBranch": {"main"},
		"targetBranch": {"main"}, "title": {"My title"}, "description": {"Keep this text"}, "draft": {"true"}})
	if failed.Code < 400 {
		t.Fatalf("a pull request from main to main: %d", failed.Code)
	}
	mustContain(t, "failed PR", failed.body(), `data-error>`, `value="My title"`, "Keep this text", `name="draft" value="true" checked`)
	pr := alice.post("/browse/PROJ-1/pull-requests", url.Values{"repositoryId": {repoID}, "sourceBranch": {"PROJ-1-existing-work"},
		"targetBranch": {"main"}, "title": {"PROJ-1 Fix the login page!"}})
	mustStatus(t, "create PR", pr, http.StatusSeeOther)
	mustContain(t, "after PR", alice.follow(pr).body(), "Pull request #1 opened in acme/app by alice-gh with your personal access token.",
		"#1 PROJ-1 Fix the login page!", "1 pull request<")

	// Revoked on GitHub: the next create marks the token invalid and asks for a new one.
	e.gh.AddToken(aliceToken, fakegithub.Token{Login: "alice-gh", Expired: true})
	revoked := alice.post("/browse/PROJ-1/branches", url.Values{"repositoryId": {repoID}, "name": {"PROJ-1-again"}})
	mustStatus(t, "create with a revoked token", revoked, http.StatusUnprocessableEntity)
	mustContain(t, "create with a revoked token", revoked.body(), "rejected your saved personal access token", `data-setup>`, `value="PROJ-1-again"`)
	mustContain(t, "repositories after revocation", alice.get("/repositories").body(), `data-token-state="invalid"`, "Invalid")
}

func TestBrowserCallsTheAPIWithItsSession(t *testing.T) {
	e := newEnv(t)
	in := e.addIntegration(true)
	alice := e.signedIn("alice")

	me := alice.get("/api/v1/me")
	mustStatus(t, "me", me, http.StatusOK)
	var who struct{ Name string }
	if err := json.Unmarshal(me.Body.Bytes(), &who); err != nil || who.Name != "alice" {
		t.Fatalf("me: %s", me.body())
	}
	put := newRequest("PUT", "/api/v1/me/tokens/"+in.ID, `{"token":"`+aliceToken+`"}`)
	put.Header.Set("Content-Type", "application/json")
	put.Header.Set("Sec-Fetch-Site", "same-origin")
	mustStatus(t, "save token through the API", alice.do(put), http.StatusOK)

	// An Authorization header is the API's business, whatever the cookie says.
	bearer := newRequest("GET", "/api/v1/me", "")
	bearer.Header.Set("Authorization", "Bearer fbt_unknown")
	if r := alice.do(bearer); r.Code != http.StatusUnauthorized {
		t.Fatalf("a bad bearer token with a session cookie: %d", r.Code)
	}
	if r := e.browser().get("/api/v1/me"); r.Code != http.StatusUnauthorized {
		t.Fatalf("the API without a session: %d", r.Code)
	}
	if r := e.browser().get("/healthz"); r.Code != http.StatusOK {
		t.Fatalf("healthz through the web handler: %d", r.Code)
	}
}

func TestAuditPage(t *testing.T) {
	e := newEnv(t)
	in := e.addIntegration(false)
	alice := e.signedIn("alice")
	mustStatus(t, "bad token", alice.post("/tokens/"+in.ID, url.Values{"token": {"ghp_bad"}}), http.StatusUnprocessableEntity)
	mustStatus(t, "token", alice.post("/tokens/"+in.ID, url.Values{"token": {aliceToken}}), http.StatusSeeOther)

	admin := e.signedIn("admin")
	page := admin.get("/admin/audit")
	mustStatus(t, "audit", page, http.StatusOK)
	body := page.body()
	mustContain(t, "audit", body, "integration.create", "token.save", "token_rejected", "service account acme-bot", "user alice-gh")
	if strings.Index(body, "token.save") > strings.Index(body, "integration.create") {
		t.Fatal("the audit log is not newest first")
	}
	filtered := admin.get("/admin/audit?user=alice&action=token.save").body()
	mustContain(t, "filtered", filtered, "token.save", `<option selected>token.save</option>`, `value="alice"`)
	mustNotContain(t, "filtered", filtered, "<code>integration.create</code>")
	mustContain(t, "no match", admin.get("/admin/audit?user=nobody").body(), "No entries match the filter.")
}

func TestStaticAssetsAndHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for path, ctype := range map[string]string{"/static/app.css": "text/css", "/static/app.js": "text/javascript"} {
		r := b.get(path)
		mustStatus(t, path, r, http.StatusOK)
		if !strings.HasPrefix(r.Header().Get("Content-Type"), ctype) {
			t.Errorf("%s: Content-Type %q", path, r.Header().Get("Content-Type"))
		}
	}
	r := b.get("/login")
	if csp := r.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	if xfo := r.Header().Get("X-Frame-Options"); xfo != "DENY" {
		t.Fatalf("X-Frame-Options %q, want DENY", xfo)
	}
	mustStatus(t, "unknown page", e.signedIn("alice").get("/nowhere"), http.StatusNotFound)
}

// TestIssuePageShowsTrackerLinkState checks that a branch whose link on the
// Jira issue is still being retried, or was given up on, says so.
func TestIssuePageShowsTrackerLinkState(t *testing.T) {
	e := newEnv(t)
	e.addIntegration(false)
	ctx := context.Background()
	repos, _, err := e.app.Store.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 10}})
	if err != nil || len(repos) == 0 {
		t.Fatalf("repositories: %v %v", repos, err)
	}
	for _, b := range []struct{ name, status string }{{"PROJ-1-a", fb.TrackerLinkPending}, {"PROJ-1-b", fb.TrackerLinkFailed}, {"PROJ-1-c", fb.TrackerLinkLinked}} {
		u := "https://example.test/tree/" + b.name
		if err := e.app.Store.AddIssueBranch(ctx, fb.IssueBranch{IssueKey: "PROJ-1", RepositoryID: repos[0].ID, Name: b.name, WebURL: u, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := e.app.Store.PutTrackerLink(ctx, fb.TrackerLink{GlobalID: b.name, IssueKey: "PROJ-1", URL: u, Status: b.status, UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	page := e.signedIn("alice").get("/browse/PROJ-1")
	mustStatus(t, "issue", page, http.StatusOK)
	body := page.body()
	if strings.Count(body, "Not yet linked in Jira") != 1 || strings.Count(body, "Not linked in Jira<") != 1 {
		t.Fatalf("the issue page does not show each link's state once:\n%s", body)
	}
}

// TestAPITokensPage: a person lists their tokens and sessions, creates one
// (shown once), revokes it (401 at once), and revoking this browser's own
// session signs it out. Forms from another site are refused.
func TestAPITokensPage(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("alice")
	r := b.get("/api-tokens")
	mustStatus(t, "page", r, http.StatusOK)
	mustContain(t, "page", r.body(), "web session")
	mustContain(t, "page", r.body(), "this browser")

	r = b.post("/api-tokens", url.Values{"name": {"laptop"}, "expiresInDays": {"0"}})
	mustStatus(t, "create", r, http.StatusOK)
	m := regexp.MustCompile(`<code data-token>(fbt_[0-9a-f]+)</code>`).FindStringSubmatch(r.body())
	if m == nil {
		t.Fatalf("the new token is not shown: %s", r.body())
	}
	token := m[1]
	api := func() int {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := api(); got != http.StatusOK {
		t.Fatalf("the new token: %d", got)
	}
	if strings.Contains(b.get("/api-tokens").body(), token) {
		t.Error("the token is shown again")
	}
	mustStatus(t, "bad days", b.post("/api-tokens", url.Values{"name": {"x"}, "expiresInDays": {"-3"}}), http.StatusBadRequest)

	list, err := e.app.MyAPITokens(context.Background(), fb.User{Key: "alice", Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	var laptop, session string
	for _, tok := range list {
		switch tok.Name {
		case "laptop":
			laptop = tok.ID
		case fb.SessionTokenName:
			session = tok.ID
		}
	}
	// Cross-site forms are refused, as every other form.
	req := httptest.NewRequest(http.MethodPost, "/api-tokens/"+laptop+"/revoke", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	mustStatus(t, "cross-site revoke", b.do(req), http.StatusForbidden)
	if got := api(); got != http.StatusOK {
		t.Fatalf("a cross-site form revoked the token: %d", got)
	}

	r = b.post("/api-tokens/"+laptop+"/revoke", nil)
	mustStatus(t, "revoke", r, http.StatusSeeOther)
	if got := api(); got != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", got)
	}
	mustStatus(t, "bob revokes alice's session", e.signedIn("bob").post("/api-tokens/"+session+"/revoke", nil), http.StatusNotFound)
	r = b.post("/api-tokens/"+session+"/revoke", nil)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/login" {
		t.Errorf("revoking this browser's session: %d → %s", r.Code, r.Header().Get("Location"))
	}
	mustBeSignedOut(t, "after revoking this session", b)
}

// TestEnrolmentLink: a one-time link lets a person set their password and
// signs them in; it works once.
func TestEnrolmentLink(t *testing.T) {
	e := newEnv(t)
	en, err := e.app.Enrol(context.Background(), fb.User{Name: "admin", Admin: true, Active: true}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	path := "/enrol/" + en.Secret
	mustStatus(t, "link", b.get(path), http.StatusOK)
	mustStatus(t, "passwords differ", b.post(path, url.Values{"password": {"one-long-password"}, "confirm": {"another-password"}}), http.StatusBadRequest)
	r := b.post(path, url.Values{"password": {"bobs-own-password"}, "confirm": {"bobs-own-password"}})
	mustStatus(t, "set", r, http.StatusSeeOther)
	mustStatus(t, "signed in", b.get("/repositories"), http.StatusOK)
	mustStatus(t, "used twice", e.browser().get(path), http.StatusNotFound)
	mustStatus(t, "sign in with it", e.browser().post("/login", url.Values{"name": {"bob"}, "password": {"bobs-own-password"}}), http.StatusSeeOther)
}
