package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// program is one forgebridge process run in the test through run().
type program struct {
	t      *testing.T
	env    map[string]string
	base   string
	stderr *syncBuffer
	stop   context.CancelFunc
	done   chan error
}

func (p *program) getenv(k string) string { return p.env[k] }

// cli runs one administrative command and returns its standard output.
func (p *program) cli(stdin string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, p.getenv, strings.NewReader(stdin), &out, &errOut)
	if err != nil {
		return out.String(), fmt.Errorf("%v: %s", err, errOut.String())
	}
	return out.String(), nil
}

// serve starts `forgebridge serve` on a port the system picks, learns the
// address from its "forgebridge serving" log line, and waits until /healthz
// answers.
func (p *program) serve(args ...string) {
	t := p.t
	ctx, cancel := context.WithCancel(context.Background())
	p.stop, p.done, p.stderr = cancel, make(chan error, 1), &syncBuffer{}
	go func() {
		p.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), p.getenv, strings.NewReader(""), io.Discard, p.stderr)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for p.base = ""; ; time.Sleep(20 * time.Millisecond) {
		if p.base == "" {
			p.base = servingAddr(p.stderr.String())
		}
		if p.base != "" {
			if resp, err := http.Get(p.base + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("serve exited: %v\n%s", err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not become healthy:\n%s", p.stderr.String())
		}
	}
}

// servingAddr finds the base URL in the JSON log line "forgebridge serving".
func servingAddr(log string) string {
	for _, line := range strings.Split(log, "\n") {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "forgebridge serving" && rec.Addr != "" {
			return "http://" + rec.Addr
		}
	}
	return ""
}

// shutdown stops the server as SIGTERM would and waits for it.
func (p *program) shutdown() {
	p.t.Helper()
	p.stop()
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("serve returned %v", err)
		}
	case <-time.After(6 * time.Second):
		p.t.Fatal("serve did not stop within 6s of the signal")
	}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	list   []any
	raw    string
}

func (a answer) errCode() string {
	e, _ := a.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (a answer) str(path ...string) string {
	var v any = a.body
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

var clientOnce = sync.OnceValue(func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64 // the load test's clients keep their connections
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
})

func (p *program) client() *http.Client { return clientOnce() }

// call sends one API request with an API token.
func (p *program) call(method, path, token string, body any) answer {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client().Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 && raw[0] == '[' {
		_ = json.Unmarshal(raw, &a.list)
	} else if len(raw) > 0 {
		_ = json.Unmarshal(raw, &a.body)
	}
	return a
}

// must checks the status of an answer.
func (p *program) must(a answer, status int, what string) answer {
	p.t.Helper()
	if a.status != status {
		p.t.Fatalf("%s: status %d, want %d: %s", what, a.status, status, a.raw)
	}
	return a
}

func (p *program) mustErr(a answer, status int, code, what string) answer {
	p.t.Helper()
	p.must(a, status, what)
	if a.errCode() != code {
		p.t.Fatalf("%s: code %q, want %q: %s", what, a.errCode(), code, a.raw)
	}
	if a.str("error", "message") == "" {
		p.t.Fatalf("%s: error without a message: %s", what, a.raw)
	}
	return a
}

func newProgram(t *testing.T, extraEnv map[string]string) *program {
	dir := t.TempDir()
	// The periodic jobs (rediscovery, token checks) would call the fake
	// providers at moments of their own, and the tests count those calls.
	env := map[string]string{"FORGEBRIDGE_DATA": filepath.Join(dir, "data"),
		"FORGEBRIDGE_REDISCOVER": "-1s", "FORGEBRIDGE_REVALIDATE": "-1s"}
	for k, v := range extraEnv {
		env[k] = v
	}
	return &program{t: t, env: env}
}

func TestProgramGitHubScenario(t *testing.T) {
	gh := fakegithub.New()
	defer gh.Close()
	expiry := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	gh.AddToken("ghp_service0000000000000000000000000001", fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo", "read:org"}})
	gh.AddToken("ghp_alice00000000000000000000000000000001", fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}, ExpiresAt: &expiry})
	gh.AddToken("ghp_alice00000000000000000000000000000002", fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
	for i := range 130 {
		gh.AddRepo(fmt.Sprintf("acme/svc-%03d", i), "main")
	}
	repo := gh.AddRepo("acme/app", "main")
	repo.AddBranch("PROJ-1-existing-work")

	p := newProgram(t, nil)
	admin, err := p.cli("", "users", "add", "admin", "--admin", "--display-name", "The Admin", "--create")
	if err != nil {
		t.Fatal(err)
	}
	admin = strings.TrimSpace(admin)
	if !strings.HasPrefix(admin, "fbt_") || strings.Contains(admin, "\n") {
		t.Fatalf("users add printed %q, want one fbt_ token", admin)
	}
	p.serve()
	defer func() {
		if p.stop != nil {
			p.stop()
		}
	}()

	// The admin sets up the directory.
	p.must(p.call("POST", "/api/v1/directory/projects", admin, map[string]any{"key": "PROJ", "name": "Project"}), 201, "create project")
	alice := p.must(p.call("POST", "/api/v1/directory/users", admin, map[string]any{"name": "alice", "displayName": "Alice"}), 201, "create alice").str("apiToken")
	// A user added with the CLI while the server runs.
	bob, err := p.cli("", "users", "add", "--display-name", "Bob", "bob")
	if err != nil {
		t.Fatal(err)
	}
	bob = strings.TrimSpace(bob)
	p.must(p.call("PUT", "/api/v1/directory/projects/PROJ/permissions/alice", admin,
		map[string]any{"permissions": []string{"BROWSE_PROJECTS", "VIEW_DEV_TOOLS"}}), 200, "alice's permissions")
	p.must(p.call("PUT", "/api/v1/directory/projects/PROJ/permissions/bob", admin,
		map[string]any{"permissions": []string{"BROWSE_PROJECTS"}}), 200, "bob's permissions")
	p.must(p.call("POST", "/api/v1/directory/issues", admin, map[string]any{"key": "PROJ-1", "summary": "Fix the login page!", "type": "Bug"}), 201, "create issue")
	p.mustErr(p.call("POST", "/api/v1/directory/projects", alice, map[string]any{"key": "NOPE"}), 403, "forbidden", "non-admin creates a project")

	// A service credential GitHub rejects saves nothing.
	p.mustErr(p.call("POST", "/api/v1/integrations", admin, map[string]any{"name": "Bad", "kind": "github", "baseUrl": gh.URL(),
		"credential": map[string]any{"token": "ghp_wrong"}}), 422, "token_rejected", "integration with a bad credential")
	p.mustErr(p.call("POST", "/api/v1/integrations", admin, map[string]any{"name": "X", "kind": "github-enterprise",
		"credential": map[string]any{"token": "t"}}), 400, "invalid_request", "enterprise without baseUrl")

	in := p.must(p.call("POST", "/api/v1/integrations", admin, map[string]any{"name": "Acme GitHub", "kind": "github",
		"baseUrl": gh.URL(), "credential": map[string]any{"token": "ghp_service0000000000000000000000000001"},
		"settings": map[string]any{"requireUserPat": true}}), 201, "create integration")
	integrationID := in.str("id")
	if n := in.body["repositoryCount"]; n != float64(131) {
		t.Fatalf("repositoryCount = %v, want 131 (every page discovered)", n)
	}
	if in.str("credential", "login") != "acme-bot" || strings.Contains(in.raw, "ghp_service") {
		t.Fatalf("integration answer: %s", in.raw)
	}

	// Alice finds the repository; her token is not configured yet.
	repos := p.must(p.call("GET", "/api/v1/repositories?q=acme/app", alice, nil), 200, "repositories")
	values, _ := repos.body["values"].([]any)
	if len(values) != 1 {
		t.Fatalf("repositories?q=acme/app: %s", repos.raw)
	}
	r0 := values[0].(map[string]any)
	repoID := r0["id"].(string)
	if r0["requireUserPat"] != true || r0["userToken"].(map[string]any)["configured"] != false || r0["defaultBranch"] != "main" {
		t.Fatalf("repository entry: %v", r0)
	}
	page1 := p.must(p.call("GET", "/api/v1/repositories?limit=100", alice, nil), 200, "first page")
	next, _ := page1.body["next"].(string)
	if next == "" || len(page1.body["values"].([]any)) != 100 {
		t.Fatalf("first page: next %q, %d values", next, len(page1.body["values"].([]any)))
	}
	page2 := p.must(p.call("GET", next, alice, nil), 200, "second page")
	if _, more := page2.body["next"]; more || len(page2.body["values"].([]any)) != 31 {
		t.Fatalf("second page: %d values, next %v", len(page2.body["values"].([]any)), page2.body["next"])
	}

	// pat_required: nothing is sent to GitHub.
	before := actionCalls(gh)
	a := p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID}), 428, "pat_required", "branch without a token")
	if a.str("error", "integrationId") != integrationID || actionCalls(gh) != before {
		t.Fatalf("pat_required answer %s; GitHub calls %d → %d", a.raw, before, actionCalls(gh))
	}
	// Bob lacks View Development Tools.
	p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", bob, map[string]any{"repositoryId": repoID}), 403, "forbidden", "bob creates a branch")
	p.mustErr(p.call("POST", "/api/v1/issues/PROJ-404/branches", alice, map[string]any{"repositoryId": repoID}), 404, "not_found", "unknown issue")
	if actionCalls(gh) != before {
		t.Fatal("refused actions called GitHub")
	}

	// Saving a token GitHub rejects saves nothing; a good one is validated and saved.
	p.mustErr(p.call("PUT", "/api/v1/me/tokens/"+integrationID, alice, map[string]any{"token": "ghp_bogus"}), 422, "token_rejected", "save a bad token")
	tokens := p.must(p.call("GET", "/api/v1/me/tokens", alice, nil), 200, "my tokens")
	if len(tokens.list) != 1 || tokens.list[0].(map[string]any)["configured"] != false {
		t.Fatalf("after a rejected save: %s", tokens.raw)
	}
	saved := p.must(p.call("PUT", "/api/v1/me/tokens/"+integrationID, alice, map[string]any{"token": "ghp_alice00000000000000000000000000000001"}), 200, "save token")
	if saved.body["configured"] != true || saved.str("status") != "valid" || saved.str("login") != "alice-gh" ||
		saved.str("expiresAt") != "2027-03-01T00:00:00Z" || fmt.Sprint(saved.body["scopes"]) != "[repo]" || saved.body["required"] != true {
		t.Fatalf("saved token entry: %s", saved.raw)
	}

	// Alice creates a branch with her own token.
	b := p.must(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID}), 201, "create branch")
	if b.str("name") != "PROJ-1-fix-the-login-page" || b.str("actor", "type") != "user" || b.str("actor", "login") != "alice-gh" || b.str("sha") == "" {
		t.Fatalf("created branch: %s", b.raw)
	}
	if tok := lastCall(gh, "POST", "/repos/acme/app/git/refs").Token; tok != "ghp_alice00000000000000000000000000000001" {
		t.Fatalf("the ref was created with token %q, want alice's", tok)
	}
	a = p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID}), 409, "already_exists", "same branch again")
	if a.str("error", "existing", "name") != "PROJ-1-fix-the-login-page" {
		t.Fatalf("already_exists without the branch: %s", a.raw)
	}

	// And a pull request from the first branch that names the issue.
	pr := p.must(p.call("POST", "/api/v1/issues/PROJ-1/pull-requests", alice, map[string]any{"repositoryId": repoID, "draft": true}), 201, "create pull request")
	if pr.str("sourceBranch") != "PROJ-1-existing-work" || pr.str("targetBranch") != "main" || pr.str("title") != "PROJ-1 Fix the login page!" ||
		pr.str("actor", "login") != "alice-gh" || pr.str("webUrl") == "" {
		t.Fatalf("created pull request: %s", pr.raw)
	}
	pulls := repo.PullRequests()
	if len(pulls) != 1 || pulls[0].Author != "alice-gh" || !strings.Contains(pulls[0].Body, "/browse/PROJ-1") {
		t.Fatalf("pull requests on GitHub: %+v", pulls)
	}
	// The created branch and pull request are on the issue at once; indexing,
	// running meanwhile, may add the branch PROJ-1-existing-work as well.
	issue := p.must(p.call("GET", "/api/v1/issues/PROJ-1", alice, nil), 200, "issue")
	var branches []string
	for _, b := range issue.body["branches"].([]any) {
		branches = append(branches, b.(map[string]any)["name"].(string))
	}
	if !slices.Contains(branches, "PROJ-1-fix-the-login-page") || len(issue.body["pullRequests"].([]any)) != 1 ||
		issue.str("branchNameSuggestion") != "PROJ-1-fix-the-login-page" {
		t.Fatalf("issue answer: %s", issue.raw)
	}

	// GitHub revokes alice's token: the action fails with token_rejected, the
	// token turns invalid, and the next action is refused without a call.
	gh.AddToken("ghp_alice00000000000000000000000000000001", fakegithub.Token{Login: "alice-gh", Expired: true})
	p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID, "name": "PROJ-1-second"}), 422, "token_rejected", "revoked token")
	before = actionCalls(gh)
	p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID, "name": "PROJ-1-second"}), 428, "pat_invalid", "invalid token")
	if actionCalls(gh) != before {
		t.Fatal("pat_invalid called GitHub")
	}
	repos = p.must(p.call("GET", "/api/v1/repositories?q=acme/app", alice, nil), 200, "repositories")
	if st := repos.body["values"].([]any)[0].(map[string]any)["userToken"].(map[string]any)["status"]; st != "invalid" {
		t.Fatalf("repository list shows token status %v, want invalid", st)
	}

	// A one-off token works without being saved, then is remembered.
	b = p.must(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID, "name": "PROJ-1-one-off",
		"token": "ghp_alice00000000000000000000000000000002"}), 201, "one-off token")
	if b.str("actor", "login") != "alice-gh" || b.str("actor", "type") != "user" {
		t.Fatalf("one-off actor: %s", b.raw)
	}
	p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID, "name": "PROJ-1-x"}), 428, "pat_invalid", "one-off not saved")
	p.must(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID, "name": "PROJ-1-remembered",
		"token": "ghp_alice00000000000000000000000000000002", "rememberToken": true}), 201, "remembered token")
	p.must(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID, "name": "PROJ-1-with-saved"}), 201, "replaced token used")

	// Without the requirement, a person with no token acts as the service account.
	p.must(p.call("PUT", "/api/v1/me/tokens/"+integrationID, alice, map[string]any{"token": ""}), 200, "remove token")
	p.must(p.call("PATCH", "/api/v1/integrations/"+integrationID, admin, map[string]any{"settings": map[string]any{"requireUserPat": false}}), 200, "relax integration")
	b = p.must(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID, "name": "PROJ-1-by-bot"}), 201, "service account")
	if b.str("actor", "type") != "integration" || b.str("actor", "login") != "acme-bot" {
		t.Fatalf("service actor: %s", b.raw)
	}
	p.must(p.call("PATCH", "/api/v1/settings", admin, map[string]any{"requireUserPatEverywhere": true}), 200, "require everywhere")
	p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID, "name": "PROJ-1-z"}), 428, "pat_required", "required everywhere")
	p.must(p.call("PATCH", "/api/v1/settings", admin, map[string]any{"requireUserPatEverywhere": false}), 200, "relax everywhere")

	// GitHub's rate limit is passed on at once with a retry hint.
	gh.SetRateLimited(true)
	start := time.Now()
	a = p.mustErr(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID, "name": "PROJ-1-limited"}), 429, "rate_limited", "rate limited")
	if a.header.Get("Retry-After") == "" || a.body["error"].(map[string]any)["retryAfter"] == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("rate limited answer after %v: %v %s", time.Since(start), a.header, a.raw)
	}
	gh.SetRateLimited(false)

	// The audit log names the actor of every action; only admins read it.
	p.mustErr(p.call("GET", "/api/v1/audit", alice, nil), 403, "forbidden", "audit as alice")
	audit := p.must(p.call("GET", "/api/v1/audit?limit=1000&action=branch.create", admin, nil), 200, "audit")
	var users, bots, failures int
	for _, v := range audit.body["values"].([]any) {
		e := v.(map[string]any)
		actor, _ := e["actor"].(map[string]any)
		switch {
		case e["outcome"] == "failure":
			failures++
		case actor["type"] == "user":
			users++
		case actor["type"] == "integration":
			bots++
		}
	}
	if users != 4 || bots != 1 || failures < 5 {
		t.Fatalf("audit of branch.create: %d by users, %d by the service account, %d failures: %s", users, bots, failures, audit.raw)
	}
	if p.must(p.call("GET", "/metrics", "", nil), 200, "metrics"); !strings.Contains(p.call("GET", "/metrics", "", nil).raw, "forgebridge_actions_total") {
		t.Fatal("metrics lack forgebridge_actions_total")
	}
	p.must(p.call("GET", "/readyz", "", nil), 200, "readyz")
	if login := p.must(p.call("GET", "/login", "", nil), 200, "sign-in page"); !strings.Contains(login.raw, "<form") {
		t.Fatalf("the sign-in page has no form: %.200s", login.raw)
	}
	p.must(p.call("GET", "/api/v1/openapi.json", "", nil), 200, "openapi")

	t.Logf("the scenario made %d calls to the fake GitHub", gh.CallCount())
	p.shutdown()
	p.stop = nil

	// No token in clear in the database or the logs.
	db, err := os.ReadFile(filepath.Join(p.env["FORGEBRIDGE_DATA"], "forgebridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(p.env["FORGEBRIDGE_DATA"], "forgebridge.db-wal"))
	for _, secret := range []string{"ghp_service0000000000000000000000000001", "ghp_alice00000000000000000000000000000002", alice[4:]} {
		if bytes.Contains(db, []byte(secret)) || bytes.Contains(wal, []byte(secret)) || strings.Contains(p.stderr.String(), secret) {
			t.Errorf("a secret appears in the database or the log")
		}
	}

	// A missing keyset file makes no new keyset for a database in use.
	var out bytes.Buffer
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--keyset", filepath.Join(t.TempDir(), "other.json")},
		p.getenv, strings.NewReader(""), io.Discard, &out)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("serve with a missing keyset: %v", err)
	}

	// Keys rotate and the server starts again with every credential readable.
	if out, err := p.cli("", "keys", "rotate"); err != nil || !strings.Contains(out, "new primary key") {
		t.Fatalf("keys rotate: %q %v", out, err)
	}
	p.serve()
	p.must(p.call("GET", "/api/v1/me/tokens", alice, nil), 200, "tokens after rotation")
	p.must(p.call("POST", "/api/v1/integrations/"+integrationID+"/sync", admin, nil), 200, "sync with the re-encrypted credential")
	p.shutdown()
	p.stop = nil
}

func lastCall(gh *fakegithub.Server, method, path string) fakegithub.Call {
	calls := gh.Calls()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Method == method && calls[i].Path == path {
			return calls[i]
		}
	}
	return fakegithub.Call{}
}

func TestCLIUsage(t *testing.T) {
	p := newProgram(t, nil)
	if _, err := p.cli("", "users", "add", "carol", "--create"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		stdin   string
		wantErr string
	}{
		{[]string{"nope"}, "", "usage"},
		{[]string{"users", "add"}, "", "exactly one NAME"},
		{[]string{"users", "add", "a", "b"}, "", "exactly one NAME"},
		{[]string{"users", "add", "bad name!"}, "", "name must be"},
		{[]string{"users", "passwd", "ghost"}, "longenough\n", "not found"},
		{[]string{"tokens", "issue", "ghost"}, "", "not found"},
		{[]string{"serve", "--tracker", "jira"}, "", "needs --jira-url"},
		{[]string{"serve", "--revalidate", "often"}, "", "invalid value"},
		{[]string{"serve", "--tracker", "jira", "--jira-url", "http://127.0.0.1:1"}, "", "FORGEBRIDGE_JIRA_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := p.cli(tt.stdin, tt.args...)
			if err == nil || !strings.Contains(message(err)+err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := p.cli("short\n", "users", "passwd", "carol"); err == nil {
		t.Fatal("a short password was accepted")
	}
	if _, err := p.cli("a long enough password\n", "users", "passwd", "carol"); err != nil {
		t.Fatal(err)
	}
	tok, err := p.cli("", "tokens", "issue", "carol")
	if err != nil || !strings.HasPrefix(tok, "fbt_") {
		t.Fatalf("tokens issue: %q %v", tok, err)
	}
}

// actionCalls counts the fake GitHub's calls other than indexing's (git
// fetches and pull request listings), which the queue makes in the
// background whenever a repository changes.
func actionCalls(gh *fakegithub.Server) int {
	n := 0
	for _, c := range gh.Calls() {
		if strings.Contains(c.Path, ".git/") || c.Method == "GET" && strings.HasSuffix(c.Path, "/pulls") && strings.Contains(c.Query, "state=all") {
			continue
		}
		n++
	}
	return n
}
