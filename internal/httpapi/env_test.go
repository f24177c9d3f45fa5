package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
	"github.com/prometheus/client_golang/prometheus"
)

// env is the API over a real store, the local tracker and a fake GitHub,
// with an admin, a developer (alice) and a watcher (bob, Browse only), the
// project PROJ with issue PROJ-1, and one integration over acme/app.
type env struct {
	t             testing.TB
	srv           *httptest.Server
	gh            *fakegithub.Server
	ghURL         string // the integration's base URL
	svc           *app.Service
	admin, alice  string
	bob           string
	integrationID string
	repoID        string
}

const (
	serviceToken = "ghp_service000000000000000000000000000000"
	aliceToken   = "ghp_alice0000000000000000000000000000000"
)

func newEnv(t testing.TB) *env { return newEnvFront(t, nil) }

// newEnvFront is newEnv with the integration's base URL in front of the fake
// GitHub, when front is not nil, at the address front answers.
func newEnvFront(t testing.TB, front func(*fakegithub.Server) string) *env {
	t.Helper()
	ctx := context.Background()
	st := storetest.OpenSQLite(t, storetest.NewCipher())
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddToken(serviceToken, fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo"}})
	gh.AddToken(aliceToken, fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main").AddBranch("PROJ-1-work")

	reg := prometheus.NewRegistry()
	svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: drivers.New, Metrics: app.NewMetrics(reg)}
	api := &Server{App: svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Gatherer: reg, Registerer: reg, Ready: st.Ping}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)

	e := &env{t: t, srv: srv, gh: gh, svc: svc}
	var err error
	var root fb.User
	if root, e.admin, err = svc.AddUser(ctx, fb.User{Name: "admin", Admin: true}); err != nil {
		t.Fatal(err)
	}
	if _, e.alice, err = svc.AddUser(ctx, fb.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, e.bob, err = svc.AddUser(ctx, fb.User{Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(svc.CreateProject(ctx, root, fb.Project{Key: "PROJ"}))
	must(svc.CreateProject(ctx, root, fb.Project{Key: "OTHER"}))
	must(svc.SetPermissions(ctx, root, "PROJ", "alice", []string{fb.PermBrowseProjects, fb.PermViewDevTools}))
	must(svc.SetPermissions(ctx, root, "OTHER", "alice", []string{fb.PermBrowseProjects, fb.PermViewDevTools}))
	must(svc.SetPermissions(ctx, root, "PROJ", "bob", []string{fb.PermBrowseProjects}))
	must(svc.CreateIssue(ctx, root, fb.Issue{Key: "PROJ-1", Summary: "Fix the login page"}))
	must(svc.CreateIssue(ctx, root, fb.Issue{Key: "OTHER-1", Summary: "Elsewhere"}))
	token, base := serviceToken, gh.URL()
	if front != nil {
		base = front(gh)
	}
	e.ghURL = base
	kind := fb.KindGitHub
	projects := []string{"PROJ"}
	in, err := svc.CreateIntegration(ctx, root, app.IntegrationInput{Name: ptr("Acme"), Kind: &kind, BaseURL: &base,
		Credential: &fb.Credential{Token: token}, Projects: &projects})
	if err != nil {
		t.Fatal(err)
	}
	e.integrationID = in.ID
	repos, _, err := st.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 10}})
	if err != nil || len(repos) != 1 {
		t.Fatalf("repositories: %v %v", repos, err)
	}
	e.repoID = repos[0].ID
	return e
}

func ptr[T any](v T) *T { return &v }

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) code() string {
	var b struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

// do sends a request; body is sent as is when it is a string, else as JSON.
func (e *env) do(method, path, token string, body any, header ...string) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}
