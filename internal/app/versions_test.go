package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

const (
	svcToken  = "ghp_service"
	slowToken = "ghp_slow"
	newToken  = "ghp_new"
)

// gate holds a provider's Validate for the slow token, or for an
// integration whose API path is slowPath, until released: a credential
// check that takes as long as the test wants.
type gate struct {
	reached chan struct{} // a held Validate has begun
	release chan struct{} // closed: held calls go on
	mu      sync.Mutex
	held    int // how many calls with slowPath to hold
}

const slowPath = "/user/repos"

func newGate() *gate { return &gate{reached: make(chan struct{}, 4), release: make(chan struct{})} }

func (g *gate) factory(in fb.Integration, o provider.Options) (provider.Provider, error) {
	p, err := drivers.New(in, o)
	if err != nil {
		return nil, err
	}
	return gated{Provider: p, g: g, apiPath: in.APIPath}, nil
}

type gated struct {
	provider.Provider
	g       *gate
	apiPath string
}

func (p gated) Unwrap() provider.Provider { return p.Provider }

func (p gated) Validate(ctx context.Context, c fb.Credential) (fb.TokenInfo, error) {
	p.g.mu.Lock()
	hold := c.Token == slowToken || (p.apiPath == slowPath && p.g.held > 0)
	if p.apiPath == slowPath && p.g.held > 0 {
		p.g.held--
	}
	p.g.mu.Unlock()
	if hold {
		p.g.reached <- struct{}{}
		<-p.g.release
	}
	return p.Provider.Validate(ctx, c)
}

type versionsEnv struct {
	svc   *app.Service
	gate  *gate
	admin fb.User
	in    fb.Integration
}

// newVersionsEnv is a service over st, a fake GitHub that knows three
// service tokens, and one integration made with the first.
func newVersionsEnv(t *testing.T, st fb.Store) *versionsEnv {
	t.Helper()
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddToken(svcToken, fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo"}})
	gh.AddToken(slowToken, fakegithub.Token{Login: "slow-bot", Scopes: []string{"repo"}})
	gh.AddToken(newToken, fakegithub.Token{Login: "new-bot", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main")
	g := newGate()
	svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: g.factory}
	admin, _, err := svc.AddUser(t.Context(), fb.User{Name: "admin", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"PROJ", "OPS"} { // integrations may serve only projects the tracker has
		if _, err := svc.CreateProject(t.Context(), admin, fb.Project{Key: p}); err != nil {
			t.Fatal(err)
		}
	}
	kind, base := fb.KindGitHub, gh.URL()
	in, err := svc.CreateIntegration(t.Context(), admin, app.IntegrationInput{Name: new("Acme"), Kind: &kind, BaseURL: &base,
		Credential: &fb.Credential{Token: svcToken}})
	if err != nil {
		t.Fatal(err)
	}
	return &versionsEnv{svc: svc, gate: g, admin: admin, in: in}
}

// slowly starts fn, which the gate holds in a Validate, and returns once it is
// held; wait lets it go on and returns its error.
func (e *versionsEnv) slowly(t *testing.T, fn func() error) (wait func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case <-e.gate.reached:
	case err := <-done:
		t.Fatalf("the slow change ended without reaching the provider: %v", err)
	}
	return func() error {
		close(e.gate.release)
		return <-done
	}
}

// changesOf returns the changes of the audit entries of action, oldest
// first, as JSON.
func changesOf(t *testing.T, st fb.Store, action string) []string {
	t.Helper()
	es, _, err := st.Audit(t.Context(), fb.AuditQuery{Action: action, Page: fb.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		b, _ := json.Marshal(es[i].Changes)
		out = append(out, string(b))
	}
	return out
}

func wantChanges(t *testing.T, st fb.Store, action string, want ...string) {
	t.Helper()
	got := changesOf(t, st, action)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s changes:\n got %s\nwant %s", action, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// TestSlowCredentialChangeKeepsRequireUserPAT: a PATCH of the service
// credential, held in the provider's check, never undoes a PATCH of
// requireUserPat (or of the global requireUserPatEverywhere) made meanwhile.
func TestSlowCredentialChangeKeepsRequireUserPAT(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t, nil)
			e := newVersionsEnv(t, st)
			ctx := t.Context()
			wait := e.slowly(t, func() error {
				_, err := e.svc.UpdateIntegration(ctx, e.admin, e.in.ID, app.IntegrationInput{Credential: &fb.Credential{Token: slowToken}})
				return err
			})
			// Meanwhile, one admin requires user tokens on the integration, another everywhere.
			if _, err := e.svc.UpdateIntegration(ctx, e.admin, e.in.ID, app.IntegrationInput{RequireUserPAT: new(true)}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.UpdateSettings(ctx, e.admin, app.SettingsInput{RequireUserPATEverywhere: new(true)}); err != nil {
				t.Fatal(err)
			}
			if err := wait(); err != nil {
				t.Fatal(err)
			}
			got, err := st.Integration(ctx, e.in.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Settings.RequireUserPAT || got.Credential.Token != slowToken || got.CredentialLogin != "slow-bot" || got.Version != "3" {
				t.Fatalf("after both changes: requireUserPat %v, credential %v (login %s), version %s",
					got.Settings.RequireUserPAT, got.Credential.Token == slowToken, got.CredentialLogin, got.Version)
			}
			settings, err := st.Settings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !settings.RequireUserPATEverywhere {
				t.Fatal("requireUserPatEverywhere was undone")
			}
			// Each audit entry names its own change only.
			wantChanges(t, st, fb.AuditIntegrationUpdate,
				`{"settings.requireUserPat":[false,true]}`,
				`{"credential":["replaced","replaced"]}`)
			wantChanges(t, st, fb.AuditSettingsUpdate, `{"requireUserPatEverywhere":[false,true]}`)
		})
	}
}

// TestStaleIfMatchAfterSlowCheck: a PATCH made against a version is refused
// when the integration changed while the provider checked its credential,
// and changes nothing.
func TestStaleIfMatchAfterSlowCheck(t *testing.T) {
	st := storetest.OpenSQLite(t, nil)
	e := newVersionsEnv(t, st)
	ctx := t.Context()
	wait := e.slowly(t, func() error {
		_, err := e.svc.UpdateIntegration(ctx, e.admin, e.in.ID, app.IntegrationInput{Credential: &fb.Credential{Token: slowToken},
			IfVersion: e.in.Version})
		return err
	})
	if _, err := e.svc.UpdateIntegration(ctx, e.admin, e.in.ID, app.IntegrationInput{RequireUserPAT: new(true), IfVersion: e.in.Version}); err != nil {
		t.Fatal(err)
	}
	if err := wait(); fb.ErrorCode(err) != fb.EVersionMismatch {
		t.Fatalf("the stale change: %v, want version_mismatch", err)
	}
	got, _ := st.Integration(ctx, e.in.ID)
	if got.Credential.Token != svcToken || got.CredentialLogin != "acme-bot" || !got.Settings.RequireUserPAT || got.Version != "2" {
		t.Fatalf("after the refused change: %+v", got)
	}
	// Refused before the provider is asked when the version is already old.
	_, err := e.svc.UpdateIntegration(ctx, e.admin, e.in.ID, app.IntegrationInput{Credential: &fb.Credential{Token: slowToken},
		IfVersion: e.in.Version})
	if fb.ErrorCode(err) != fb.EVersionMismatch {
		t.Fatalf("a change against an old version: %v", err)
	}
	if e := fb.AsError(err); e.IntegrationID != got.ID {
		t.Errorf("integrationId %q", e.IntegrationID)
	}
	_, err = e.svc.UpdateSettings(ctx, e.admin, app.SettingsInput{RequireUserPATEverywhere: new(true), IfVersion: "1"})
	if fb.ErrorCode(err) != fb.EVersionMismatch {
		t.Fatalf("a settings change against a version not yet written: %v", err)
	}
	if err := e.svc.DeleteIntegration(ctx, e.admin, e.in.ID, e.in.Version); fb.ErrorCode(err) != fb.EVersionMismatch {
		t.Fatalf("a delete against an old version: %v", err)
	}
	if _, err := st.Integration(ctx, e.in.ID); err != nil {
		t.Fatalf("the stale delete removed it: %v", err)
	}
	// Failures are audited with nothing changed.
	es, _, _ := st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 3}})
	for _, a := range es {
		if a.Outcome != fb.AuditOutcomeFailure || a.Code != string(fb.EVersionMismatch) || a.Changes != nil {
			t.Errorf("audit entry of a refused change: %+v", a)
		}
	}
}

// TestConnectionChangedDuringCheck: when another change of the connection
// (here the credential) lands while a change of the API path is checked
// with the provider, what was checked is not what would be saved: the
// change is tried again on the new state, and both are kept.
func TestConnectionChangedDuringCheck(t *testing.T) {
	st := storetest.OpenSQLite(t, nil)
	e := newVersionsEnv(t, st)
	ctx := t.Context()
	e.gate.held = 1
	wait := e.slowly(t, func() error {
		_, err := e.svc.UpdateIntegration(ctx, e.admin, e.in.ID, app.IntegrationInput{APIPath: new(slowPath)})
		return err
	})
	if _, err := e.svc.UpdateIntegration(ctx, e.admin, e.in.ID, app.IntegrationInput{Credential: &fb.Credential{Token: newToken}}); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Integration(ctx, e.in.ID)
	if got.APIPath != slowPath || got.Credential.Token != newToken || got.CredentialLogin != "new-bot" || got.RepositoryCount != 1 {
		t.Fatalf("after both changes: %+v", got)
	}
	wantChanges(t, st, fb.AuditIntegrationUpdate, `{"credential":["replaced","replaced"]}`, `{"apiPath":["","/user/repos"]}`)
}

// TestConcurrentSettingsChanges: changes of different settings made at
// once are all kept, and the audit log tells them in a consistent order.
func TestConcurrentSettingsChanges(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t, nil)
			svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}}
			admin, _, err := svc.AddUser(t.Context(), fb.User{Name: "admin", Admin: true})
			if err != nil {
				t.Fatal(err)
			}
			const n = 6
			var wg sync.WaitGroup
			errs := make(chan error, n+1)
			wg.Go(func() {
				_, err := svc.UpdateSettings(t.Context(), admin, app.SettingsInput{RequireUserPATEverywhere: new(true)})
				errs <- err
			})
			for k := range n {
				wg.Go(func() {
					_, err := svc.UpdateSettings(t.Context(), admin, app.SettingsInput{BranchNameMaxLength: new(100 + k)})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			got, _ := st.Settings(t.Context())
			if !got.RequireUserPATEverywhere || got.Version != "7" {
				t.Fatalf("after %d concurrent changes: %+v", n+1, got)
			}
			// Each entry's "before" is what the entry before left.
			es, _, _ := st.Audit(t.Context(), fb.AuditQuery{Action: fb.AuditSettingsUpdate, Page: fb.Page{Limit: 100}})
			length := float64(fb.DefaultBranchNameMaxLength)
			for i := len(es) - 1; i >= 0; i-- {
				if c, ok := es[i].Changes["branchNameMaxLength"]; ok {
					if c[0] != length {
						t.Fatalf("entry %d says the length was %v, but it was %v", es[i].ID, c[0], length)
					}
					length = c[1].(float64)
				}
			}
			if length != float64(got.BranchNameMaxLength) {
				t.Fatalf("the audit log ends at length %v, the settings have %d", length, got.BranchNameMaxLength)
			}
		})
	}
}

// TestAuditChangesOfIntegrations: what each admin change of an integration
// or the settings records, and that no secret is among it.
func TestAuditChangesOfIntegrations(t *testing.T) {
	st := storetest.OpenSQLite(t, nil)
	e := newVersionsEnv(t, st)
	ctx := t.Context()
	patch := func(in app.IntegrationInput) {
		t.Helper()
		if _, err := e.svc.UpdateIntegration(ctx, e.admin, e.in.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	patch(app.IntegrationInput{Name: new("Acme GitHub"), Projects: &[]string{"proj", "ops"},
		CreatePullRequest: new(false), WebhookSecret: new("whsec-not-shown")})
	// A form that sends every field as it is changes nothing.
	cur, _ := st.Integration(ctx, e.in.ID)
	patch(app.IntegrationInput{Name: &cur.Name, BaseURL: &cur.BaseURL, Projects: &cur.Projects, CreateBranch: new(true),
		CreatePullRequest: new(false), RequireUserPAT: new(false), Credential: &fb.Credential{}})
	// A refused change records nothing as changed.
	if _, err := e.svc.UpdateIntegration(ctx, e.admin, e.in.ID, app.IntegrationInput{Name: new(" ")}); fb.ErrorCode(err) != fb.EInvalid {
		t.Fatalf("empty name: %v", err)
	}
	if _, err := e.svc.UpdateSettings(ctx, e.admin, app.SettingsInput{BranchNameTemplate: new("feature/${issuekey}"),
		BranchNameMaxLength: new(250)}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteIntegration(ctx, e.admin, e.in.ID, ""); err != nil {
		t.Fatal(err)
	}
	base := e.in.BaseURL
	wantChanges(t, st, fb.AuditIntegrationCreate, `{"baseUrl":[null,"`+base+`"],"credential":["replaced","replaced"],`+
		`"kind":[null,"github"],"name":[null,"Acme"],"settings.createBranch":[null,true],"settings.createPullRequest":[null,true],"settings.diffViewing":[null,true]}`)
	wantChanges(t, st, fb.AuditIntegrationUpdate,
		`{"name":["Acme","Acme GitHub"],"projects":[[],["PROJ","OPS"]],"settings.createPullRequest":[true,false],"webhookSecret":["replaced","replaced"]}`,
		`{}`,
		`null`)
	wantChanges(t, st, fb.AuditSettingsUpdate, `{"branchNameTemplate":["${issuekey}-${summary}","feature/${issuekey}"]}`)
	wantChanges(t, st, fb.AuditIntegrationDelete, `{"baseUrl":["`+base+`",null],"credential":["replaced","replaced"],`+
		`"kind":["github",null],"name":["Acme GitHub",null],"projects":[["PROJ","OPS"],null],"settings.createBranch":[true,null],"settings.diffViewing":[true,null]}`)
	es, _, _ := st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 100}})
	all, _ := json.Marshal(es)
	for _, secret := range []string{svcToken, "whsec-not-shown"} {
		if strings.Contains(string(all), secret) {
			t.Fatalf("the audit log holds the secret %q", secret)
		}
	}
}

// TestMoveDropsTokensWithItsAuditEntries: a change of address removes the
// people's tokens, and the audit log names each, written with the change.
func TestMoveDropsTokensWithItsAuditEntries(t *testing.T) {
	st := storetest.OpenSQLite(t, nil)
	e := newVersionsEnv(t, st)
	ctx := t.Context()
	if _, _, err := e.svc.AddUser(ctx, fb.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	tok := fb.UserToken{UserKey: "alice", IntegrationID: e.in.ID, Credential: fb.Credential{Token: "ghp_alice"}, Status: fb.TokenValid}
	if err := st.PutUserToken(ctx, &tok); err != nil {
		t.Fatal(err)
	}
	// TLS settings are part of the address: the fake answers alike either way.
	if _, err := e.svc.UpdateIntegration(ctx, e.admin, e.in.ID, app.IntegrationInput{InsecureSkipTLSVerify: new(true),
		Credential: &fb.Credential{Token: svcToken}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UserToken(ctx, "alice", e.in.ID); fb.ErrorCode(err) != fb.ENotFound {
		t.Fatalf("alice's token after the move: %v", err)
	}
	es, _, _ := st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 2}})
	if len(es) != 2 || es[0].Action != fb.AuditTokenDelete || es[0].User != "alice" || es[0].IntegrationID != e.in.ID ||
		es[1].Action != fb.AuditIntegrationUpdate {
		t.Fatalf("audit after the move: %+v", es)
	}
	raw, _ := json.Marshal(es[1].Changes)
	if string(raw) != `{"insecureSkipTlsVerify":[false,true]}` {
		t.Fatalf("changes of the move: %s", raw)
	}
}
