package jobs

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
)

// env is a real application over a store of one backend, the fake GitHub
// and a scripted tracker linker.
type env struct {
	st     *store.Store
	gh     *fakegithub.Server
	svc    *app.Service
	linker *scriptedLinker
	logs   *syncBuffer
	in     fb.Integration // a GitHub integration with service token "svc"
}

func newEnv(t *testing.T, b storetest.Backend) *env {
	t.Helper()
	st := b.Open(t, nil)
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddToken("svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main")
	e := &env{st: st, gh: gh, linker: &scriptedLinker{script: map[string][]error{}, calls: map[string][]app.IssueLink{}},
		logs: &syncBuffer{}}
	e.svc = &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: drivers.New, Linker: e.linker,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil))}
	e.in = e.addIntegration(t, "GH")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *env) addIntegration(t *testing.T, name string) fb.Integration {
	t.Helper()
	kind, base := fb.KindGitHub, e.gh.URL()
	in, err := e.svc.CreateIntegration(context.Background(), fb.User{Key: "admin", Name: "admin", Admin: true},
		app.IntegrationInput{Name: &name, Kind: &kind, BaseURL: &base, Credential: &fb.Credential{Token: "svc"}})
	if err != nil {
		t.Fatalf("creating integration %s: %v", name, err)
	}
	return in
}

// fastRetry retries a failed job at once, where River would wait seconds to weeks.
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(10 * time.Millisecond) }

// open opens a queue on the env's database with quick retries and polling,
// stopped when the test ends.
func (e *env) open(t *testing.T, cfg Config) *Queue {
	t.Helper()
	cfg.DB, cfg.Dialect, cfg.Pool, cfg.App = e.st.DB(), e.st.Dialect(), e.st.Pool(), e.svc
	cfg.Logger = e.svc.Logger
	cfg.retryPolicy, cfg.pollInterval = fastRetry{}, 50*time.Millisecond
	q, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
	return q
}

// start opens and starts a queue with no periodic work.
func (e *env) start(t *testing.T) *Queue {
	t.Helper()
	q := e.open(t, Config{Rediscover: -1, Revalidate: -1, Reindex: -1})
	if err := q.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return q
}

// driver reads River's tables in assertions; over database/sql on both.
func (e *env) driver() riverdriver.Driver[*sql.Tx] {
	if e.st.Dialect() == store.SQLite {
		return riversqlite.New(e.st.DB())
	}
	return riverdatabasesql.New(e.st.DB())
}

// scriptedLinker fails each issue's first calls with the errors scripted for
// it, then succeeds; an issue scripted with a nil error blocks until the
// call's context ends.
type scriptedLinker struct {
	mu       sync.Mutex
	script   map[string][]error
	calls    map[string][]app.IssueLink
	blocked  chan struct{} // receives when a call starts blocking
	released chan error    // if set, receives the context's error when a blocked call ends
}

func (l *scriptedLinker) set(issue string, errs ...error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.script[issue] = errs
}

func (l *scriptedLinker) LinkIssue(ctx context.Context, issue string, link app.IssueLink) error {
	l.mu.Lock()
	l.calls[issue] = append(l.calls[issue], link)
	var err error
	if s := l.script[issue]; len(s) > 0 {
		err, l.script[issue] = s[0], s[1:]
		if err == nil { // block
			l.mu.Unlock()
			l.blocked <- struct{}{}
			<-ctx.Done()
			if l.released != nil {
				l.released <- ctx.Err()
			}
			return ctx.Err()
		}
	}
	l.mu.Unlock()
	return err
}

// UnlinkIssue follows the script of "unlink ISSUE" and records the call
// under that name.
func (l *scriptedLinker) UnlinkIssue(ctx context.Context, issue, globalID string) error {
	return l.LinkIssue(ctx, "unlink "+issue, app.IssueLink{GlobalID: globalID})
}

func (l *scriptedLinker) callsOf(issue string) []app.IssueLink {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]app.IssueLink(nil), l.calls[issue]...)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// finalStates are the states a job stays in.
var finalStates = []rivertype.JobState{rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded}

// waitJob waits for the only job of kind whose args satisfy match to reach
// one of states, and returns it.
func waitJob(t *testing.T, q *Queue, kind string, match func(json.RawMessage) bool, states ...rivertype.JobState) *rivertype.JobRow {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	var last *rivertype.JobRow
	for time.Now().Before(deadline) {
		res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(kind).First(100))
		if err != nil {
			t.Fatalf("listing %s jobs: %v", kind, err)
		}
		var found []*rivertype.JobRow
		for _, j := range res.Jobs {
			if match == nil || match(j.EncodedArgs) {
				found = append(found, j)
			}
		}
		if len(found) > 1 {
			t.Fatalf("%d %s jobs match, want 1", len(found), kind)
		}
		if len(found) == 1 {
			last = found[0]
			for _, s := range states {
				if last.State == s {
					return last
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if last == nil {
		t.Fatalf("no %s job appeared", kind)
	}
	t.Fatalf("%s job %d still %s after %d attempts (errors %v), want one of %v", kind, last.ID, last.State, last.Attempt, last.Errors, states)
	return nil
}

func argsWith(key, value string) func(json.RawMessage) bool {
	return func(raw json.RawMessage) bool {
		var m map[string]any
		return json.Unmarshal(raw, &m) == nil && m[key] == value
	}
}

func linkArgsFor(issue string) func(json.RawMessage) bool { return argsWith("issueKey", issue) }

func TestRemoteLink(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			q := e.start(t)
			ctx := context.Background()
			link := app.IssueLink{GlobalID: "forgebridge:r1:branch:FB-1-x", URL: "https://example.test/b", Title: "Branch FB-1-x",
				Summary: "github", IconURL: "https://example.test/favicon.ico", IconTitle: "GitHub"}
			cases := []struct {
				name        string
				issue       string
				errs        []error
				maxAttempts int // 0: queued by RetryLink with River's default
				wantState   rivertype.JobState
				wantCalls   int
				wantLog     string
				wantLink    string // the link's recorded state afterwards ("": none recorded)
			}{
				{name: "retried until written", issue: "FB-1",
					errs:      []error{errors.New("connection reset"), fb.Errorf(fb.ETrackerUnavailable, "Jira is down")},
					wantState: rivertype.JobStateCompleted, wantCalls: 3, wantLink: fb.TrackerLinkLinked},
				{name: "issue gone is cancelled", issue: "FB-2",
					errs:      []error{fb.Errorf(fb.ENotFound, "issue FB-2 not found")},
					wantState: rivertype.JobStateCancelled, wantCalls: 1, wantLink: fb.TrackerLinkFailed},
				{name: "no permission to link is cancelled", issue: "FB-5",
					errs:      []error{fb.Errorf(fb.EForbidden, "the service account may not link issues")},
					wantState: rivertype.JobStateCancelled, wantCalls: 1, wantLink: fb.TrackerLinkFailed},
				{name: "rate limit is waited out", issue: "FB-3",
					errs:      []error{&fb.Error{Code: fb.ERateLimited, Message: "slow down", RetryAfter: 1}},
					wantState: rivertype.JobStateCompleted, wantCalls: 2},
				{name: "gives up after its attempts", issue: "FB-4", maxAttempts: 2,
					errs:      []error{errors.New("boom"), errors.New("boom"), errors.New("boom")},
					wantState: rivertype.JobStateDiscarded, wantCalls: 2, wantLog: "gave up writing a link", wantLink: fb.TrackerLinkFailed},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e.linker.set(c.issue, c.errs...)
					if c.maxAttempts == 0 {
						if err := q.RetryLink(ctx, c.issue, link); err != nil {
							t.Fatalf("RetryLink: %v", err)
						}
					} else if _, err := q.client.Insert(ctx, newRemoteLinkArgs(c.issue, link), &river.InsertOpts{MaxAttempts: c.maxAttempts}); err != nil {
						t.Fatal(err)
					}
					job := waitJob(t, q, kindRemoteLink, linkArgsFor(c.issue), finalStates...)
					if job.State != c.wantState {
						t.Errorf("job state %s, want %s (errors %v)", job.State, c.wantState, job.Errors)
					}
					calls := e.linker.callsOf(c.issue)
					if len(calls) != c.wantCalls {
						t.Errorf("%d LinkIssue calls, want %d", len(calls), c.wantCalls)
					}
					for _, got := range calls {
						if got != link {
							t.Errorf("LinkIssue got %+v, want %+v", got, link)
						}
					}
					if c.wantLog != "" && !strings.Contains(e.logs.String(), c.wantLog) {
						t.Errorf("log lacks %q:\n%s", c.wantLog, e.logs.String())
					}
					if c.wantLink != "" {
						links, err := e.svc.Store.TrackerLinks(ctx, c.issue)
						if err != nil || len(links) != 1 || links[0].Status != c.wantLink {
							t.Errorf("recorded link state %+v %v, want %s", links, err, c.wantLink)
						}
					}
				})
			}
		})
	}
}

// TestRemoteUnlink runs the removal of a deleted branch's link from an
// issue: retried until the tracker takes it, given up after its attempts.
func TestRemoteUnlink(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			q := e.start(t)
			ctx := context.Background()
			const gid = "forgebridge:r1:branch:FB-1-x"
			cases := []struct {
				name        string
				issue       string
				errs        []error
				maxAttempts int // 0: queued by RetryUnlink with River's default
				wantState   rivertype.JobState
				wantCalls   int
				wantLog     string
			}{
				{name: "retried until removed", issue: "FB-11",
					errs:      []error{errors.New("connection reset"), fb.Errorf(fb.ETrackerUnavailable, "Jira is down")},
					wantState: rivertype.JobStateCompleted, wantCalls: 3},
				{name: "gives up after its attempts", issue: "FB-12", maxAttempts: 2,
					errs:      []error{errors.New("boom"), errors.New("boom"), errors.New("boom")},
					wantState: rivertype.JobStateDiscarded, wantCalls: 2, wantLog: "gave up removing a link"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e.linker.set("unlink "+c.issue, c.errs...)
					if c.maxAttempts == 0 {
						if err := q.RetryUnlink(ctx, c.issue, gid); err != nil {
							t.Fatalf("RetryUnlink: %v", err)
						}
					} else if _, err := q.client.Insert(ctx, unlinkArgs{IssueKey: c.issue, GlobalID: gid}, &river.InsertOpts{MaxAttempts: c.maxAttempts}); err != nil {
						t.Fatal(err)
					}
					job := waitJob(t, q, kindUnlink, linkArgsFor(c.issue), finalStates...)
					if job.State != c.wantState {
						t.Errorf("job state %s, want %s (errors %v)", job.State, c.wantState, job.Errors)
					}
					calls := e.linker.callsOf("unlink " + c.issue)
					if len(calls) != c.wantCalls {
						t.Errorf("%d UnlinkIssue calls, want %d", len(calls), c.wantCalls)
					}
					for _, got := range calls {
						if got.GlobalID != gid {
							t.Errorf("UnlinkIssue of %q, want %q", got.GlobalID, gid)
						}
					}
					if c.wantLog != "" && !strings.Contains(e.logs.String(), c.wantLog) {
						t.Errorf("log lacks %q:\n%s", c.wantLog, e.logs.String())
					}
				})
			}
		})
	}
}

// TestRetryLinkInserts checks the stored job (its arguments and River's
// default 25 attempts) and that a link queued twice before it is written is
// queued once, but queued again once written.
func TestRetryLinkInserts(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			q := e.open(t, Config{Rediscover: -1, Revalidate: -1, Reindex: -1})
			ctx := context.Background()
			l := app.IssueLink{GlobalID: "forgebridge:r1:pr:7", URL: "https://example.test/pr/7", Title: "Pull request #7: x", Resolved: true}
			for range 2 {
				if err := q.RetryLink(ctx, "FB-9", l); err != nil {
					t.Fatalf("RetryLink: %v", err)
				}
			}
			rivertest.RequireManyInserted(ctx, t, e.driver(), []rivertest.ExpectedJob{{
				Args: &remoteLinkArgs{IssueKey: "FB-9", Link: linkArgs{GlobalID: l.GlobalID, URL: l.URL, Title: l.Title, Resolved: true}},
				Opts: &rivertest.RequireInsertedOpts{MaxAttempts: river.MaxAttemptsDefault, Priority: priorityLink,
					State: rivertype.JobStateAvailable},
			}})

			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			waitJob(t, q, kindRemoteLink, linkArgsFor("FB-9"), rivertype.JobStateCompleted)
			if err := q.RetryLink(ctx, "FB-9", l); err != nil {
				t.Fatalf("RetryLink after the link was written: %v", err)
			}
			res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(kindRemoteLink))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Jobs) != 2 {
				t.Errorf("%d remote_link jobs after a written link failed again, want 2", len(res.Jobs))
			}
		})
	}
}

// TestConcurrentWork has jobs queued from many goroutines while the
// application writes too: on SQLite all of them share the store's pool and
// one write lock, and must wait for it rather than fail.
func TestConcurrentWork(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			q := e.start(t)
			ctx := context.Background()
			const n = 20
			var wg sync.WaitGroup
			errs := make(chan error, 2*n)
			for i := range n {
				wg.Go(func() {
					issue := fmt.Sprintf("FB-C%d", i)
					e.linker.set(issue, errors.New("flaky"))
					errs <- q.RetryLink(ctx, issue, app.IssueLink{GlobalID: issue, URL: "https://example.test/" + issue})
				})
				wg.Go(func() {
					errs <- e.st.AddAudit(ctx, &fb.AuditEntry{User: "u", Action: "test.write", Issue: fmt.Sprintf("FB-C%d", i)})
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("concurrent write: %v", err)
				}
			}
			for i := range n {
				job := waitJob(t, q, kindRemoteLink, linkArgsFor(fmt.Sprintf("FB-C%d", i)), finalStates...)
				if job.State != rivertype.JobStateCompleted || job.Attempt != 2 {
					t.Errorf("job for FB-C%d %s after %d attempts, want completed after 2 (errors %v)", i, job.State, job.Attempt, job.Errors)
				}
			}
		})
	}
}

// TestOpenConcurrently opens several queues on one fresh PostgreSQL database
// at once, as instances starting together do: River's migrations run once.
func TestOpenConcurrently(t *testing.T) {
	st := storetest.OpenPostgres(t, nil)
	svc := &app.Service{Store: st}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			_, err := Open(context.Background(), Config{DB: st.DB(), Dialect: st.Dialect(), Pool: st.Pool(), App: svc, Logger: slog.New(slog.DiscardHandler)})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Open: %v", err)
		}
	}
}

func TestRevalidateJob(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			e.gh.AddToken("alice-t", fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
			e.gh.AddToken("bob-t", fakegithub.Token{Login: "bob-gh", Scopes: []string{"repo"}})
			for _, u := range []string{"alice", "bob"} {
				// Only the tokens of active users of the tracker are checked.
				if _, _, err := e.svc.AddUser(ctx, fb.User{Name: u}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.svc.SaveToken(ctx, fb.User{Key: u, Name: u}, e.in.ID, fb.Credential{Token: u + "-t"}); err != nil {
					t.Fatal(err)
				}
			}
			e.gh.AddToken("bob-t", fakegithub.Token{Login: "bob-gh", Expired: true}) // revoked on GitHub
			q := e.start(t)
			if _, err := q.client.Insert(ctx, revalidateArgs{IntegrationID: e.in.ID}, nil); err != nil {
				t.Fatal(err)
			}
			job := waitJob(t, q, kindRevalidate, nil, finalStates...)
			if job.State != rivertype.JobStateCompleted {
				t.Fatalf("revalidate job %s: %v", job.State, job.Errors)
			}
			for user, want := range map[string]fb.TokenStatus{"alice": fb.TokenValid, "bob": fb.TokenInvalid} {
				tok, err := e.st.UserToken(ctx, user, e.in.ID)
				if err != nil || tok.Status != want {
					t.Errorf("%s's token status %s (%v), want %s", user, tok.Status, err, want)
				}
			}
		})
	}
}

func TestDiscoverJob(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			e.gh.AddRepo("acme/new", "main")
			q := e.start(t)
			if _, err := q.client.Insert(ctx, discoverArgs{IntegrationID: e.in.ID}, nil); err != nil {
				t.Fatal(err)
			}
			job := waitJob(t, q, kindDiscover, nil, finalStates...)
			if job.State != rivertype.JobStateCompleted {
				t.Fatalf("discover job %s: %v", job.State, job.Errors)
			}
			repos, _, err := e.st.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 10}, IntegrationIDs: []string{e.in.ID}})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range repos {
				names = append(names, r.FullName)
			}
			if strings.Join(names, ",") != "acme/app,acme/new" {
				t.Errorf("repositories after discovery: %v, want acme/app and acme/new", names)
			}
		})
	}
}

// TestDeletedIntegration checks that a job for an integration deleted since
// it was queued is cancelled after one try, not retried.
func TestDeletedIntegration(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			gone := e.addIntegration(t, "Gone")
			if err := e.st.DeleteIntegration(ctx, gone.ID); err != nil {
				t.Fatal(err)
			}
			q := e.start(t)
			for _, args := range []river.JobArgs{discoverArgs{IntegrationID: gone.ID}, revalidateArgs{IntegrationID: gone.ID}} {
				t.Run(args.Kind(), func(t *testing.T) {
					if _, err := q.client.Insert(ctx, args, nil); err != nil {
						t.Fatal(err)
					}
					job := waitJob(t, q, args.Kind(), nil, finalStates...)
					if job.State != rivertype.JobStateCancelled || job.Attempt != 1 {
						t.Errorf("job %s after %d attempts, want cancelled after 1", job.State, job.Attempt)
					}
				})
			}
		})
	}
}

// TestRateLimitedJobSnoozes checks that a rate-limited discovery waits the
// provider's Retry-After instead of using up an attempt.
func TestRateLimitedJobSnoozes(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			e.gh.SetRateLimited(true)
			q := e.start(t)
			before := time.Now()
			if _, err := q.client.Insert(ctx, discoverArgs{IntegrationID: e.in.ID}, nil); err != nil {
				t.Fatal(err)
			}
			job := waitJob(t, q, kindDiscover, nil, rivertype.JobStateScheduled)
			if wait := job.ScheduledAt.Sub(before); wait < 30*time.Second {
				t.Errorf("snoozed for %s, want the provider's retry-after (about a minute)", wait)
			}
			if len(job.Errors) != 0 {
				t.Errorf("a snooze recorded errors: %v", job.Errors)
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			second := e.addIntegration(t, "GH 2")
			// Rediscovery on, re-validation off.
			q := e.open(t, Config{Revalidate: -1, Reindex: -1})
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			// The leader runs the schedule on start; it queues one discovery per integration.
			waitJob(t, q, kindSchedule, argsWith("task", kindDiscover), rivertype.JobStateCompleted)
			for _, in := range []fb.Integration{e.in, second} {
				waitJob(t, q, kindDiscover, argsWith("integrationId", in.ID), rivertype.JobStateCompleted)
			}
			// Another run in the same period (another instance, a new leader) adds nothing.
			if n, err := q.enqueueAll(ctx, kindDiscover); err != nil || n != 0 {
				t.Errorf("second schedule in the period inserted %d jobs (%v), want 0", n, err)
			}
			for kind, want := range map[string]int{kindDiscover: 2, kindSchedule: 1, kindRevalidate: 0} {
				res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(kind))
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Jobs) != want {
					t.Errorf("%d %s jobs, want %d", len(res.Jobs), kind, want)
				}
			}
		})
	}
}

func TestStop(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			t.Run("idle", func(t *testing.T) {
				q := e.start(t)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // hang guard only
				defer cancel()
				if err := q.Stop(ctx); err != nil {
					t.Errorf("Stop: %v", err)
				}
			})
			t.Run("job running past the deadline", func(t *testing.T) {
				q := e.start(t)
				e.linker.blocked = make(chan struct{}, 1)
				e.linker.released = make(chan error, 1)
				e.linker.set("FB-STOP", nil) // blocks until cancelled
				if err := q.RetryLink(context.Background(), "FB-STOP", app.IssueLink{GlobalID: "g", URL: "u"}); err != nil {
					t.Fatal(err)
				}
				// Hang guard only: the job never ends on its own, so a Stop that
				// waited for it would never return.
				guard, cancelGuard := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancelGuard()
				select {
				case <-e.linker.blocked:
				case <-guard.Done():
					t.Fatalf("the link job never ran: %v", guard.Err())
				}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				stopped := make(chan error, 1)
				go func() { stopped <- q.Stop(ctx) }()
				select {
				case err := <-stopped:
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Stop = %v, want the deadline's error", err)
					}
				case <-guard.Done():
					t.Fatalf("Stop waited for the running job past its deadline: %v", guard.Err())
				}
				// Stop gave up on the job by cancelling its context.
				select {
				case err := <-e.linker.released:
					if !errors.Is(err, context.Canceled) {
						t.Errorf("the running job's context ended with %v, want it cancelled", err)
					}
				case <-guard.Done():
					t.Fatalf("the running job's context was never cancelled: %v", guard.Err())
				}
			})
		})
	}
}

func TestOutcome(t *testing.T) {
	plain := errors.New("connection reset")
	cases := []struct {
		name   string
		err    error
		cancel bool
		snooze time.Duration
		same   bool // returned as is, for River's backoff
	}{
		{name: "success", err: nil, same: true},
		{name: "plain error", err: plain, same: true},
		{name: "provider down", err: fb.Errorf(fb.EProviderUnavailable, "down"), same: true},
		{name: "not found", err: fb.Errorf(fb.ENotFound, "integration x not found"), cancel: true},
		{name: "wrapped not found", err: errors.Join(errors.New("store"), fb.Errorf(fb.ENotFound, "gone")), cancel: true},
		{name: "rate limited", err: &fb.Error{Code: fb.ERateLimited, RetryAfter: 42}, snooze: 42 * time.Second},
		{name: "rate limited without a time", err: fb.Errorf(fb.ERateLimited, "slow down"), snooze: defaultSnooze},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := outcome(c.err)
			var ce *river.JobCancelError
			var se *river.JobSnoozeError
			switch {
			case c.same:
				if got != c.err {
					t.Errorf("outcome = %v, want %v", got, c.err)
				}
			case c.cancel:
				if !errors.As(got, &ce) || !errors.Is(got, c.err) {
					t.Errorf("outcome = %v, want a cancel wrapping %v", got, c.err)
				}
			default:
				if !errors.As(got, &se) || se.Duration != c.snooze {
					t.Errorf("outcome = %v, want a snooze of %s", got, c.snooze)
				}
			}
		})
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	st := storetest.OpenSQLite(t, nil)
	svc := &app.Service{Store: st}
	for _, cfg := range []Config{
		{Dialect: "sqlite", App: svc},
		{DB: st.DB(), Dialect: "sqlite"},
		{DB: st.DB(), Dialect: "mysql", App: svc},
		{DB: st.DB(), Dialect: "postgres", App: svc}, // no pgx pool
	} {
		if _, err := Open(context.Background(), cfg); fb.ErrorCode(err) != fb.EInvalid {
			t.Errorf("Open(%+v) = %v, want %s", cfg, err, fb.EInvalid)
		}
	}
}

func TestPeriods(t *testing.T) {
	cases := []struct {
		rediscover, revalidate         time.Duration
		wantRediscover, wantRevalidate time.Duration
		wantPeriodic                   int
	}{
		{0, 0, time.Hour, 24 * time.Hour, 2},
		{time.Minute, -1, time.Minute, 0, 1},
		{-1, -1, 0, 0, 0},
	}
	for _, c := range cases {
		q := &Queue{rediscover: period(c.rediscover, DefaultRediscover), revalidate: period(c.revalidate, DefaultRevalidate)}
		if q.rediscover != c.wantRediscover || q.revalidate != c.wantRevalidate {
			t.Errorf("periods %s/%s became %s/%s, want %s/%s", c.rediscover, c.revalidate,
				q.rediscover, q.revalidate, c.wantRediscover, c.wantRevalidate)
		}
		if got := len(q.periodicJobs()); got != c.wantPeriodic {
			t.Errorf("periods %s/%s: %d periodic jobs, want %d", c.rediscover, c.revalidate, got, c.wantPeriodic)
		}
	}
}
