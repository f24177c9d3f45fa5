package main

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
)

// TestProgramTwoInstances runs two `serve`s on one PostgreSQL database with
// one keyset, each with a data directory of its own as on two hosts, and
// drives them together: what one starts the other finishes, concurrent
// creates of one name over both have one winner, and the background work
// runs once.
func TestProgramTwoInstances(t *testing.T) {
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("ghp_svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
	repo := gh.AddRepo("acme/app", "main")

	dsn := storetest.NewPostgresDatabase(t)
	shared := map[string]string{"FORGEBRIDGE_DATABASE": dsn,
		"FORGEBRIDGE_KEYSET": filepath.Join(t.TempDir(), "keyset.json"),
		// Rediscovery every second on both: the schedule each instance
		// has must still run once per period over the two.
		"FORGEBRIDGE_REDISCOVER": "1s", "FORGEBRIDGE_REINDEX": "-1s"}
	a, b := newProgram(t, shared), newProgram(t, shared)
	if _, err := a.cli("", "users", "add", "admin", "--admin", "--create"); err != nil {
		t.Fatal(err)
	}
	// A new password revokes the person's API tokens: one is issued after.
	if _, err := a.cli("a long enough password\n", "users", "passwd", "admin"); err != nil {
		t.Fatal(err)
	}
	admin, err := a.cli("", "tokens", "issue", "admin")
	if err != nil {
		t.Fatal(err)
	}
	admin = strings.TrimSpace(admin)
	a.serve()
	b.serve()
	stopped := false
	defer func() {
		if !stopped {
			a.shutdown()
			b.shutdown()
		}
	}()

	t.Run("API token made on A works on B", func(t *testing.T) {
		a, b := a.inTest(t), b.inTest(t)
		carol := a.must(a.call("POST", "/api/v1/directory/users", admin, map[string]any{"name": "carol"}), 201, "carol").str("apiToken")
		if me := b.must(b.call("GET", "/api/v1/me", carol, nil), 200, "me on B"); me.str("name") != "carol" {
			t.Fatalf("B answered %s", me.raw)
		}
	})

	t.Run("web session from A works on B and ends on both", func(t *testing.T) {
		a, b := a.inTest(t), b.inTest(t)
		cookie := webSignIn(t, a, "admin", "a long enough password")
		if got := cookieCall(t, b, "GET", "/api/v1/me", cookie); got != http.StatusOK {
			t.Fatalf("B answered %d to A's session", got)
		}
		if got := cookieCall(t, b, "POST", "/logout", cookie); got != http.StatusSeeOther {
			t.Fatalf("sign-out on B answered %d", got)
		}
		if got := cookieCall(t, a, "GET", "/api/v1/me", cookie); got != http.StatusUnauthorized {
			t.Fatalf("A answered %d to a session signed out on B, want 401", got)
		}
	})

	a.must(a.call("POST", "/api/v1/directory/projects", admin, map[string]any{"key": "PROJ"}), 201, "project")
	a.must(a.call("PUT", "/api/v1/directory/projects/PROJ/permissions/admin", admin,
		map[string]any{"permissions": []string{"BROWSE_PROJECTS", "VIEW_DEV_TOOLS"}}), 200, "permissions")
	for _, key := range []string{"PROJ-1", "PROJ-2"} {
		b.must(b.call("POST", "/api/v1/directory/issues", admin, map[string]any{"key": key, "summary": "Work"}), 201, "issue")
	}
	const secret = "whsec-two-instances"
	before := repoListings(gh)
	in := a.must(a.call("POST", "/api/v1/integrations", admin, map[string]any{"name": "GH", "kind": "github",
		"baseUrl": gh.URL(), "credential": map[string]any{"token": "ghp_svc"}, "webhookSecret": secret,
		"projects": []string{"PROJ"}}), 201, "integration")
	id := in.str("id")
	var repoID string
	for _, v := range b.must(b.call("GET", "/api/v1/repositories", admin, nil), 200, "repositories on B").list_("values") {
		if r := v.(map[string]any); r["integrationId"] == id {
			repoID = r["id"].(string)
		}
	}
	if repoID == "" {
		t.Fatal("B does not list the repository of the integration made on A")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	t.Run("webhook delivered to B indexes once", func(t *testing.T) {
		a, b := a.inTest(t), b.inTest(t)
		b.waitFor("the first index", func() bool {
			return b.must(b.call("GET", "/api/v1/repositories/"+repoID, admin, nil), 200, "repository").str("index", "state") == "indexed"
		})
		// River marks a job completed a moment after it returns.
		b.waitFor("the first index run to finish", func() bool { return !indexWaiting(t, db, repoID) })
		before := indexRuns(t, db, repoID)
		sha, err := repo.Push("main", "PROJ-2 pushed straight to the host")
		if err != nil {
			t.Fatal(err)
		}
		h, body := gh.PushDelivery(repo, "refs/heads/main", strings.Repeat("0", 40), sha, secret)
		if got := b.deliver(id, h, body); got != http.StatusNoContent {
			t.Fatalf("B answered the delivery with %d, want 204", got)
		}
		a.waitFor("the pushed commit on PROJ-2, read on A", func() bool {
			is := a.must(a.call("GET", "/api/v1/issues/PROJ-2", admin, nil), 200, "issue")
			return slices.Contains(inRepo(is.list_("commits", "values"), "sha", repoID), sha)
		})
		b.waitFor("the index run to finish", func() bool { return !indexWaiting(t, db, repoID) })
		after := indexRuns(t, db, repoID)
		if len(after)-len(before) != 1 {
			t.Fatalf("the delivery made %d index runs (attempts %v before, %v after), want 1", len(after)-len(before), before, after)
		}
		if got := after[len(after)-1]; got != 1 {
			t.Fatalf("the delivery's index run was attempted %d times, want once", got)
		}
	})

	t.Run("concurrent creates of one name over both: one succeeds", func(t *testing.T) {
		for _, c := range []struct {
			what, path string
			body       map[string]any
		}{
			{"user", "/api/v1/directory/users", map[string]any{"name": "dora"}},
			{"project", "/api/v1/directory/projects", map[string]any{"key": "RACE"}},
			{"issue", "/api/v1/directory/issues", map[string]any{"key": "PROJ-9", "summary": "Race"}},
			{"branch", "/api/v1/issues/PROJ-1/branches", map[string]any{"repositoryId": repoID, "name": "PROJ-1-race"}},
		} {
			t.Run(c.what, func(t *testing.T) {
				statuses := raceCreates(t, []*program{a.inTest(t), b.inTest(t)}, 8, c.path, admin, c.body)
				if statuses[201] != 1 || statuses[409] != 7 {
					t.Fatalf("statuses %v, want one 201 and seven 409", statuses)
				}
			})
		}
	})

	t.Run("periodic rediscovery runs once per period, and on when one instance stops", func(t *testing.T) {
		a, b := a.inTest(t), b.inTest(t)
		const from = 0 // every job
		done := func() int { return len(jobAttempts(t, db, "discover", from, true)) }
		a.waitFor("three rediscoveries", func() bool { return done() >= 3 })
		// With A gone, B keeps the schedule, leading if it did not.
		a.shutdown()
		n := done()
		b.waitFor("two rediscoveries after A stopped", func() bool { return done() >= n+2 })
		b.shutdown()
		stopped = true
		// Stopped: no run is going any more. Every run listed the
		// repositories once, and no job ran twice.
		runs := 0
		for _, n := range jobAttempts(t, db, "discover", from, false) {
			runs += n
		}
		// The integration's creation listed them once itself.
		if got := repoListings(gh) - before - 1; got != runs {
			t.Errorf("the fake saw %d repository listings from %d discover runs", got, runs)
		}
		for _, kind := range []string{"discover", "schedule"} {
			for _, n := range jobAttempts(t, db, kind, from, true) {
				if n != 1 {
					t.Errorf("a completed %s job ran %d times", kind, n)
				}
			}
		}
		// One schedule and one rediscovery of the integration per period:
		// each period's jobs are unique, whichever instance leads.
		var jobs, periods int
		if err := db.QueryRow(`SELECT count(*), count(DISTINCT unique_key) FROM river_job WHERE kind = 'discover' AND id > $1`, from).
			Scan(&jobs, &periods); err != nil {
			t.Fatal(err)
		}
		if jobs != periods {
			t.Errorf("%d discover jobs in %d periods", jobs, periods)
		}
	})
}

// repoListings counts the fake's repository listings.
func repoListings(gh *fakegithub.Server) int {
	n := 0
	for _, c := range gh.Calls() {
		if c.Method == "GET" && c.Path == "/user/repos" {
			n++
		}
	}
	return n
}

// inTest is the program with its checks failing t, a subtest.
func (p *program) inTest(t *testing.T) *program {
	c := *p
	c.t = t
	return &c
}

// webSignIn signs in on the web UI and returns the session cookie.
func webSignIn(t *testing.T, p *program, name, password string) *http.Cookie {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(p.base+"/login", url.Values{"name": {name}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "forgebridge_session" && ck.Value != "" {
			return ck
		}
	}
	t.Fatalf("sign-in answered %d without a session cookie", resp.StatusCode)
	return nil
}

// cookieCall sends a request with the session cookie, as a browser on the
// same site would, and returns the status.
func cookieCall(t *testing.T, p *program, method, path string, ck *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(method, p.base+path, nil)
	req.AddCookie(ck)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// raceCreates sends n identical POSTs at once, alternately to each program, and
// counts the statuses.
func raceCreates(t *testing.T, ps []*program, n int, path, token string, body any) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			a := ps[i%len(ps)].call("POST", path, token, body)
			if a.status == 409 && a.errCode() != "already_exists" {
				t.Errorf("409 with code %q: %s", a.errCode(), a.raw)
			}
			mu.Lock()
			statuses[a.status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return statuses
}

// indexRuns returns the attempts of each finished index job of a
// repository, oldest first.
func indexRuns(t *testing.T, db *sql.DB, repositoryID string) []int {
	t.Helper()
	rows, err := db.Query(`SELECT attempt FROM river_job WHERE kind = 'index' AND args->>'repositoryId' = $1
		AND state = 'completed' ORDER BY id`, repositoryID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// indexWaiting reports whether an index job of the repository is yet to finish.
func indexWaiting(t *testing.T, db *sql.DB, repositoryID string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'index' AND args->>'repositoryId' = $1
		AND state NOT IN ('completed', 'cancelled', 'discarded')`, repositoryID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// jobAttempts returns the attempts of the jobs of kind after id: of the
// completed ones, or of all that were attempted.
func jobAttempts(t *testing.T, db *sql.DB, kind string, after int64, completed bool) []int {
	t.Helper()
	q := `SELECT attempt, coalesce(array_length(attempted_by, 1), 0) FROM river_job WHERE kind = $1 AND id > $2 AND attempt > 0`
	if completed {
		q += ` AND state = 'completed'`
	}
	rows, err := db.QueryContext(context.Background(), q, kind, after)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var attempt, by int
		if err := rows.Scan(&attempt, &by); err != nil {
			t.Fatal(err)
		}
		if by != attempt {
			t.Errorf("a %s job attempted %d times by %d clients", kind, attempt, by)
		}
		out = append(out, attempt)
	}
	return out
}

// TestProgramTwoInstancesJiraSignIn starts signing in with Jira on one
// instance and lands Jira's callback on the other, as a load balancer may:
// the OAuth state travels in a cookie sealed with the shared keyset, not in
// either instance's memory. The session made there works on the first.
func TestProgramTwoInstancesJiraSignIn(t *testing.T) {
	jr := fakejira.New()
	defer jr.Close()
	jr.AddUser(fakejira.User{Name: "svc", DisplayName: "Service", Active: true, Groups: []string{"jira-administrators"}, Token: "jira-svc-token"})
	jr.AddUser(fakejira.User{Name: "alice", DisplayName: "Alice", Active: true, Token: "jira-alice-token"})
	jr.AddOAuthClient("fb-client", "fb-secret", "") // the redirect URL is known once serving
	jr.SetOAuthUser("alice")

	shared := map[string]string{"FORGEBRIDGE_DATABASE": storetest.NewPostgresDatabase(t),
		"FORGEBRIDGE_KEYSET": filepath.Join(t.TempDir(), "keyset.json"), "FORGEBRIDGE_REINDEX": "-1s",
		"FORGEBRIDGE_JIRA_TOKEN":           "jira-svc-token",
		"FORGEBRIDGE_JIRA_OAUTH_CLIENT_ID": "fb-client", "FORGEBRIDGE_JIRA_OAUTH_CLIENT_SECRET": "fb-secret"}
	a, b := newProgram(t, shared), newProgram(t, shared)
	a.serve("--tracker", "jira", "--jira-url", jr.URL())
	defer a.shutdown()
	b.serve("--tracker", "jira", "--jira-url", jr.URL())
	defer b.shutdown()
	jr.AddOAuthClient("fb-client", "fb-secret", a.base+"/login/jira/callback")

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	cookie := func(resp *http.Response, name string) *http.Cookie {
		t.Helper()
		for _, c := range resp.Cookies() {
			if c.Name == name && c.Value != "" {
				return c
			}
		}
		t.Fatalf("%s answered %d without a %s cookie", resp.Request.URL.Path, resp.StatusCode, name)
		return nil
	}

	start := get(a.base + "/login/jira")
	state := cookie(start, "forgebridge_oauth")
	authorized := get(start.Header.Get("Location"))
	callback, err := url.Parse(authorized.Header.Get("Location"))
	if err != nil || callback.Path != "/login/jira/callback" || callback.Query().Get("code") == "" {
		t.Fatalf("Jira's authorization answered %d to %q", authorized.StatusCode, authorized.Header.Get("Location"))
	}
	// The callback reaches B.
	landed := get(b.base+callback.RequestURI(), state)
	if landed.StatusCode != http.StatusSeeOther || !strings.HasPrefix(landed.Header.Get("Location"), "/") {
		t.Fatalf("B answered the callback with %d to %q", landed.StatusCode, landed.Header.Get("Location"))
	}
	session := cookie(landed, "forgebridge_session")
	if got := cookieCall(t, a, "GET", "/api/v1/me", session); got != http.StatusOK {
		t.Fatalf("A answered %d to the session B made", got)
	}
}
