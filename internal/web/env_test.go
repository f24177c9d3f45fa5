package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/httpapi"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

// Credentials of the fake GitHub.
const (
	serviceToken = "ghp_service0000000000000000000000000001"
	aliceToken   = "ghp_alice00000000000000000000000000000001"
	soonToken    = "ghp_alice00000000000000000000000000000002" // expires within days
)

// Passwords of the test people.
var passwords = map[string]string{"admin": "admin-password", "alice": "alice-password", "bob": "bob-password"}

// deactivating is the local tracker with people who can be deactivated,
// and whose user and issue lookups can be made to fail.
type deactivating struct {
	*local.Tracker
	mu        sync.Mutex
	inactive  map[string]bool
	fail      error
	failIssue error
}

func (d *deactivating) Issue(ctx context.Context, key string) (fb.Issue, error) {
	d.mu.Lock()
	err := d.failIssue
	d.mu.Unlock()
	if err != nil {
		return fb.Issue{}, err
	}
	return d.Tracker.Issue(ctx, key)
}

// failIssues makes every issue lookup answer err (nil: work again).
func (d *deactivating) failIssues(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failIssue = err
}

func (d *deactivating) User(ctx context.Context, key string) (fb.User, error) {
	u, err := d.Tracker.User(ctx, key)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return fb.User{}, d.fail
	}
	if d.inactive[key] {
		u.Active = false
	}
	return u, err
}

// failLookups makes every user lookup answer err.
func (d *deactivating) failLookups(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail = err
}

func (d *deactivating) deactivate(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inactive[key] = true
}

// env is a forgebridge with the web UI over a real app, SQLite store, the
// local tracker and the fake GitHub, with a directory of three people: admin
// (administrator), alice (may use development tools on PROJ) and bob (may
// only browse PROJ), and the issue PROJ-1.
type env struct {
	t       *testing.T
	gh      *fakegithub.Server
	repo    *fakegithub.Repo
	app     *app.Service
	tracker *deactivating
	web     *Server
	handler http.Handler
	indexer *index.Indexer // set by indexed
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddToken(serviceToken, fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo", "read:org"}})
	gh.AddToken(aliceToken, fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
	soon := time.Now().Add(3 * 24 * time.Hour).UTC().Truncate(time.Second)
	gh.AddToken(soonToken, fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}, ExpiresAt: &soon})
	repo := gh.AddRepo("acme/app", "main")
	repo.AddBranch("PROJ-1-existing-work")
	gh.AddRepo("acme/docs", "trunk")

	st := storetest.OpenSQLite(t, storetest.NewCipher())
	log := slog.New(slog.DiscardHandler)
	tr := &deactivating{Tracker: &local.Tracker{Store: st}, inactive: map[string]bool{}}
	svc := &app.Service{Store: st, Tracker: tr, Providers: drivers.New, Logger: log}
	for _, u := range []fb.User{{Name: "admin", DisplayName: "Ada Admin", Admin: true}, {Name: "alice", DisplayName: "Alice"},
		{Name: "bob", DisplayName: "Bob"}} {
		if _, _, err := svc.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		// A fast hash: argon2id at full strength makes every sign-in slow under -race.
		if err := st.SetPasswordHash(ctx, u.Name, testHash(t, passwords[u.Name])); err != nil {
			t.Fatal(err)
		}
	}
	admin := fb.User{Key: "admin", Name: "admin", Admin: true, Active: true}
	if _, err := svc.CreateProject(ctx, admin, fb.Project{Key: "PROJ", Name: "Project"}); err != nil {
		t.Fatal(err)
	}
	for user, perms := range map[string][]string{"alice": {fb.PermBrowseProjects, fb.PermViewDevTools}, "bob": {fb.PermBrowseProjects}} {
		if _, err := svc.SetPermissions(ctx, admin, "PROJ", user, perms); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.CreateIssue(ctx, admin, fb.Issue{Key: "PROJ-1", Summary: "Fix the login page!", Type: "Bug"}); err != nil {
		t.Fatal(err)
	}
	api := (&httpapi.Server{App: svc, Logger: log}).Handler()
	w := &Server{App: svc, Logger: log, Cipher: storetest.NewCipher()}
	return &env{t: t, gh: gh, repo: repo, app: svc, tracker: tr, web: w, handler: w.Handler(api)}
}

var hashes sync.Map // password → hash, computed once per test binary

func testHash(t *testing.T, password string) string {
	if h, ok := hashes.Load(password); ok {
		return h.(string)
	}
	h, err := app.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	hashes.Store(password, h)
	return h
}

// addIntegration connects the fake GitHub as an administrator would.
func (e *env) addIntegration(requireUserPAT bool) fb.Integration {
	e.t.Helper()
	name, kind, base := "Acme GitHub", fb.KindGitHub, e.gh.URL()
	in, err := e.app.CreateIntegration(context.Background(), fb.User{Name: "admin", Admin: true}, app.IntegrationInput{
		Name: &name, Kind: &kind, BaseURL: &base, Credential: &fb.Credential{Token: serviceToken}, RequireUserPAT: &requireUserPAT})
	if err != nil {
		e.t.Fatal(err)
	}
	return in
}

// browser is one person's cookie jar against the handler.
type browser struct {
	e       *env
	cookies map[string]*http.Cookie
}

func (e *env) browser() *browser { return &browser{e: e, cookies: map[string]*http.Cookie{}} }

// signedIn returns a browser in which name has signed in.
func (e *env) signedIn(name string) *browser {
	e.t.Helper()
	b := e.browser()
	res := b.post("/login", url.Values{"name": {name}, "password": {passwords[name]}})
	if res.Code != http.StatusSeeOther {
		e.t.Fatalf("sign in as %s: status %d: %s", name, res.Code, res.Body.String())
	}
	return b
}

// sealSession is a session cookie's value sealed by w for a real session
// of the local user name, with the given cookie expiry.
func (e *env) sealSession(w *Server, name string, expires time.Time) string {
	e.t.Helper()
	token, err := e.app.IssueAPIToken(context.Background(), fb.User{Key: name, Name: name}, sessionTTL)
	if err != nil {
		e.t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	w.writeSession(rec, session{Token: token, Expires: expires.Unix()})
	return rec.Result().Cookies()[0].Value
}

type response struct {
	*httptest.ResponseRecorder
}

func (r response) body() string { return r.Body.String() }

func (b *browser) do(req *http.Request) response {
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.e.handler.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return response{rec}
}

func (b *browser) get(path string) response {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) response {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// follow reads the page a redirect points at.
func (b *browser) follow(r response) response {
	b.e.t.Helper()
	if r.Code != http.StatusSeeOther {
		b.e.t.Fatalf("want a redirect, got %d: %s", r.Code, r.body())
	}
	return b.get(r.Header().Get("Location"))
}

func newRequest(method, path, body string) *http.Request {
	return httptest.NewRequest(method, path, strings.NewReader(body))
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func newTestCipher() fb.Cipher { return storetest.NewCipher() }
