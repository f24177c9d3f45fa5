package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

// signInEnv is a service with alice and bob, both with passwords, and carol
// without one, on a clock the test moves.
func signInEnv(t *testing.T) (*app.Service, *time.Time) {
	t.Helper()
	ctx := context.Background()
	st := storetest.OpenSQLite(t, nil)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Now: func() time.Time { return now }}
	for _, name := range []string{"alice", "bob", "carol"} {
		if _, _, err := svc.AddUser(ctx, fb.User{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"alice", "bob"} {
		if err := svc.SetPassword(ctx, name, name+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	return svc, &now
}

func failures(t *testing.T, svc *app.Service, user string) int {
	t.Helper()
	es, _, err := svc.Store.Audit(context.Background(), fb.AuditQuery{Page: fb.Page{Limit: 1000}, Action: fb.AuditSignInFailure})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.User == user && e.Outcome == fb.AuditOutcomeFailure {
			n++
		}
	}
	return n
}

func TestSignInLimitPerName(t *testing.T) {
	ctx := context.Background()
	svc, now := signInEnv(t)
	for i := range app.SignInFailsPerName {
		// From a new address each time: the name's own limit applies.
		addr := "198.51.100." + string(rune('1'+i))
		if _, err := svc.SignIn(ctx, "alice", "wrong-password", addr); fb.ErrorCode(err) != fb.EUnauthenticated {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	_, err := svc.SignIn(ctx, "alice", "alice-password", "203.0.113.1")
	if e := fb.AsError(err); e == nil || e.Code != fb.ERateLimited || e.RetryAfter != 300 {
		t.Fatalf("the right password after %d failures: %v, want rate_limited with retry 300", app.SignInFailsPerName, err)
	}
	if _, err := svc.SignIn(ctx, "ALICE", "alice-password", "203.0.113.1"); fb.ErrorCode(err) != fb.ERateLimited {
		t.Fatalf("the name in other case escapes the limit: %v", err)
	}
	if _, err := svc.SignIn(ctx, "bob", "bob-password", "203.0.113.1"); err != nil {
		t.Fatalf("another name is held back: %v", err)
	}
	if got := failures(t, svc, "alice"); got != app.SignInFailsPerName {
		t.Fatalf("%d signin.failure entries for alice, want %d", got, app.SignInFailsPerName)
	}
	*now = now.Add(app.SignInWindow)
	if _, err := svc.SignIn(ctx, "alice", "alice-password", "203.0.113.1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestSignInLimitPerAddress(t *testing.T) {
	ctx := context.Background()
	svc, now := signInEnv(t)
	const addr = "198.51.100.7"
	for i := range app.SignInFailsPerAddr {
		// Unknown names, names without a password and wrong passwords all count.
		name := []string{"nobody", "carol", "bob"}[i%3] + strings.Repeat("x", i/3)
		if _, err := svc.SignIn(ctx, name, "guess-"+name, addr); fb.ErrorCode(err) != fb.EUnauthenticated {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		*now = now.Add(time.Second)
	}
	_, err := svc.SignIn(ctx, "alice", "alice-password", addr)
	if e := fb.AsError(err); e == nil || e.Code != fb.ERateLimited || e.RetryAfter < 1 || e.RetryAfter > 300 {
		t.Fatalf("from the address after %d failures: %v", app.SignInFailsPerAddr, err)
	}
	if _, err := svc.SignIn(ctx, "alice", "alice-password", "198.51.100.8"); err != nil {
		t.Fatalf("another address is held back: %v", err)
	}
	if failures(t, svc, "nobody") == 0 {
		t.Fatal("a failure for an unknown name is not audited under the name tried")
	}
	*now = now.Add(app.SignInWindow)
	if _, err := svc.SignIn(ctx, "alice", "alice-password", addr); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestGuardSignInWithoutAName(t *testing.T) {
	ctx := context.Background()
	svc, _ := signInEnv(t)
	reject := func(context.Context) (fb.User, error) {
		return fb.User{}, fb.Errorf(fb.EUnauthenticated, "Jira did not accept that token.")
	}
	for range app.SignInFailsPerAddr {
		if _, err := svc.GuardSignIn(ctx, "", "192.0.2.1", reject); fb.ErrorCode(err) != fb.EUnauthenticated {
			t.Fatal(err)
		}
	}
	accept := func(context.Context) (fb.User, error) { return fb.User{Name: "alice", Active: true}, nil }
	if _, err := svc.GuardSignIn(ctx, "", "192.0.2.1", accept); fb.ErrorCode(err) != fb.ERateLimited {
		t.Fatalf("a good token from a blocked address: %v", err)
	}
	// Jira being down is not a failed sign-in.
	down := func(context.Context) (fb.User, error) { return fb.User{}, fb.Errorf(fb.ETrackerUnavailable, "down") }
	for range app.SignInFailsPerAddr + 1 {
		if _, err := svc.GuardSignIn(ctx, "", "192.0.2.2", down); fb.ErrorCode(err) != fb.ETrackerUnavailable {
			t.Fatal(err)
		}
	}
}

func TestSignInBounds(t *testing.T) {
	ctx := context.Background()
	svc, _ := signInEnv(t)
	for _, tc := range []struct{ name, password, field string }{
		{strings.Repeat("a", app.MaxNameChars+1), "x", "name"},
		{"alice", strings.Repeat("p", app.MaxPasswordBytes+1), "password"},
	} {
		_, err := svc.SignIn(ctx, tc.name, tc.password, "192.0.2.9")
		if fb.ErrorCode(err) != fb.EInvalid || !strings.HasPrefix(fb.ErrorMessage(err), tc.field+" ") {
			t.Errorf("%s over its bound: %v", tc.field, err)
		}
	}
	if err := svc.SetPassword(ctx, "alice", strings.Repeat("p", app.MaxPasswordBytes+1)); fb.ErrorCode(err) != fb.EInvalid {
		t.Errorf("a password over its bound is set: %v", err)
	}
}

func TestPasswordChecksAreBounded(t *testing.T) {
	svc, _ := signInEnv(t)
	release := app.HoldPasswordSlots(svc, time.Millisecond)
	_, err := svc.SignIn(context.Background(), "alice", "alice-password", "192.0.2.3")
	if e := fb.AsError(err); e == nil || e.Code != fb.ERateLimited || e.RetryAfter < 1 {
		t.Fatalf("with every slot taken: %v, want rate_limited with a retry", err)
	}
	release()
	if _, err := svc.SignIn(context.Background(), "alice", "alice-password", "192.0.2.3"); err != nil {
		t.Fatalf("with slots free again: %v", err)
	}
}

// branchEnv is alice, allowed on PROJ, and a GitHub integration over acme/app.
func branchEnv(t *testing.T) (*app.Service, *fakegithub.Server, fb.User, string, *time.Time) {
	t.Helper()
	ctx := context.Background()
	st := storetest.OpenSQLite(t, storetest.NewCipher())
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddToken("ghp_service", fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main").AddBranch("PROJ-1-work")
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: drivers.New, Now: func() time.Time { return now }}
	root, _, err := svc.AddUser(ctx, fb.User{Name: "admin", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	alice, _, err := svc.AddUser(ctx, fb.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateProject(ctx, root, fb.Project{Key: "PROJ"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetPermissions(ctx, root, "PROJ", "alice", []string{fb.PermBrowseProjects, fb.PermViewDevTools}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateIssue(ctx, root, fb.Issue{Key: "PROJ-1", Summary: "Fix it"}); err != nil {
		t.Fatal(err)
	}
	kind, base, name, projects := fb.KindGitHub, gh.URL(), "Acme", []string{"PROJ"}
	if _, err := svc.CreateIntegration(ctx, root, app.IntegrationInput{Name: &name, Kind: &kind, BaseURL: &base,
		Credential: &fb.Credential{Token: "ghp_service"}, Projects: &projects}); err != nil {
		t.Fatal(err)
	}
	repos, _, err := st.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 10}})
	if err != nil || len(repos) != 1 {
		t.Fatalf("repositories: %v %v", repos, err)
	}
	return svc, gh, alice, repos[0].ID, &now
}

func branchReads(gh *fakegithub.Server) int {
	n := 0
	for _, c := range gh.Calls() {
		if c.Method == "GET" && strings.HasSuffix(c.Path, "/branches") {
			n++
		}
	}
	return n
}

func TestBranchListsAreCached(t *testing.T) {
	ctx := context.Background()
	svc, gh, alice, repoID, now := branchEnv(t)
	list := func() []fb.Branch {
		t.Helper()
		bs, _, err := svc.Branches(ctx, alice, repoID, "", fb.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return bs
	}
	list()
	reads := branchReads(gh)
	if reads == 0 {
		t.Fatal("the first list did not ask GitHub")
	}
	list()
	if got := branchReads(gh); got != reads {
		t.Fatalf("a second list within the cache's life asked GitHub again (%d reads, want %d)", got, reads)
	}
	*now = now.Add(time.Minute)
	list()
	if got := branchReads(gh); got == reads {
		t.Fatal("an expired list was not read again")
	}
	// A list read with one credential is not served for another.
	reads = branchReads(gh)
	list()
	gh.AddToken("ghp_service2", fakegithub.Token{Login: "acme-bot2", Scopes: []string{"repo"}})
	in := integrationOf(t, svc)
	if _, err := svc.UpdateIntegration(ctx, fb.User{Name: "admin", Admin: true}, in.ID,
		app.IntegrationInput{Credential: &fb.Credential{Token: "ghp_service2"}}); err != nil {
		t.Fatal(err)
	}
	list()
	if got := branchReads(gh); got == reads {
		t.Fatal("a list read with the old credential was served for the new one")
	}
	// A branch created here is listed at once.
	if _, err := svc.CreateBranch(ctx, alice, "PROJ-1", app.CreateBranchInput{RepositoryID: repoID, Name: "PROJ-1-new"}); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range list() {
		found = found || b.Name == "PROJ-1-new"
	}
	if !found {
		t.Fatal("the branch just created is not in the list")
	}
}

func TestProviderReadsArePerPersonLimited(t *testing.T) {
	ctx := context.Background()
	svc, _, alice, repoID, now := branchEnv(t)
	app.SetReadLimit(svc, 0.01, 1)
	if _, _, err := svc.Branches(ctx, alice, repoID, "", fb.Page{Limit: 100}); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Minute) // past the cache: this one asks GitHub
	_, _, err := svc.Branches(ctx, alice, repoID, "", fb.Page{Limit: 100})
	if e := fb.AsError(err); e == nil || e.Code != fb.ERateLimited || e.RetryAfter < 1 {
		t.Fatalf("past the read limit: %v, want rate_limited with a retry", err)
	}
}

func integrationOf(t *testing.T, svc *app.Service) fb.Integration {
	t.Helper()
	ins, err := svc.Store.Integrations(context.Background())
	if err != nil || len(ins) != 1 {
		t.Fatalf("integrations: %v %v", ins, err)
	}
	return ins[0]
}

// Sign-ins running at once for one name get no more password checks than
// the limit: each is reserved before it is checked.
func TestConcurrentSignInsStopAtTheNameLimit(t *testing.T) {
	ctx := context.Background()
	svc, _ := signInEnv(t)
	const tries = 60
	var checks, refused atomic.Int32
	release := make(chan struct{})
	settled := make(chan struct{}, tries)
	wrong := func(context.Context) (fb.User, error) {
		checks.Add(1)
		settled <- struct{}{}
		<-release // every check is in flight until all attempts have started
		return fb.User{}, fb.Errorf(fb.EUnauthenticated, "The user name or password is wrong.")
	}
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			addr := fmt.Sprintf("198.51.100.%d", i+1) // the name's limit, not the address's
			_, err := svc.GuardSignIn(ctx, "alice", addr, wrong)
			if fb.ErrorCode(err) == fb.ERateLimited {
				refused.Add(1)
				settled <- struct{}{}
			}
		})
	}
	for range tries {
		<-settled
	}
	close(release)
	wg.Wait()
	if n := checks.Load(); n > app.SignInFailsPerName {
		t.Fatalf("%d password checks for one name at once, at most %d", n, app.SignInFailsPerName)
	}
	if n := refused.Load(); n != tries-checks.Load() {
		t.Fatalf("%d refused, %d checked, of %d", n, checks.Load(), tries)
	}
}

// TestSignInLimitPerIPv6Network: addresses of one /64 count together, so a
// host cannot take a fresh address for every guess.
func TestSignInLimitPerIPv6Network(t *testing.T) {
	ctx := context.Background()
	svc, _ := signInEnv(t)
	reject := func(context.Context) (fb.User, error) {
		return fb.User{}, fb.Errorf(fb.EUnauthenticated, "Jira did not accept that token.")
	}
	for i := range app.SignInFailsPerAddr {
		if _, err := svc.GuardSignIn(ctx, "", fmt.Sprintf("2001:db8:1:2::%x", i+1), reject); fb.ErrorCode(err) != fb.EUnauthenticated {
			t.Fatal(err)
		}
	}
	accept := func(context.Context) (fb.User, error) { return fb.User{Name: "alice", Active: true}, nil }
	if _, err := svc.GuardSignIn(ctx, "", "2001:db8:1:2:ffff::9", accept); fb.ErrorCode(err) != fb.ERateLimited {
		t.Fatalf("another address of the same /64: %v, want rate_limited", err)
	}
	if _, err := svc.GuardSignIn(ctx, "", "2001:db8:1:3::1", accept); err != nil {
		t.Fatalf("another /64 is held back: %v", err)
	}
}

// TestDeactivatedSignInSaysNothingMore: the right password of a deactivated
// account gets the same answer as a wrong one; the audit log says why.
func TestDeactivatedSignInSaysNothingMore(t *testing.T) {
	ctx := context.Background()
	svc, _ := signInEnv(t)
	if _, err := svc.UpdateUser(ctx, app.CLI, "alice", fb.UserPatch{Active: new(false)}); err != nil {
		t.Fatal(err)
	}
	_, right := svc.SignIn(ctx, "alice", "alice-password", "198.51.100.1")
	_, wrong := svc.SignIn(ctx, "alice", "wrong-password", "198.51.100.1")
	if fb.ErrorCode(right) != fb.EUnauthenticated || fb.ErrorMessage(right) != fb.ErrorMessage(wrong) {
		t.Fatalf("right password: %q, wrong password: %q; want the same answer", fb.ErrorMessage(right), fb.ErrorMessage(wrong))
	}
	es, _, err := svc.Store.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: fb.AuditSignInFailure})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[1].Target != "account deactivated, from 198.51.100.1" || es[0].Target != "from 198.51.100.1" {
		t.Fatalf("audit entries: %+v", es)
	}
}
