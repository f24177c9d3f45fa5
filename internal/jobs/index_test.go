package jobs

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

func (e *env) repositoryID(t *testing.T) string {
	t.Helper()
	repos, err := e.st.IntegrationRepositories(context.Background(), e.in.ID)
	if err != nil || len(repos) == 0 {
		t.Fatalf("repositories: %v, %v", repos, err)
	}
	return repos[0].ID
}

func indexJobs(t *testing.T, q *Queue) []*rivertype.JobRow {
	t.Helper()
	res, err := q.client.JobList(context.Background(), river.NewJobListParams().Kinds(kindIndex).First(100))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

func TestIndexRequestsMerge(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.svc.Index = app.Indexing{Store: e.st}
			q := e.open(t, Config{Rediscover: -1, Revalidate: -1, Reindex: -1}) // not started: jobs wait
			ctx := context.Background()
			id := e.repositoryID(t)

			for _, by := range []app.IndexPriority{app.IndexBySchedule, app.IndexBySchedule, app.IndexByWebhook} {
				if err := q.Index(ctx, []string{id}, by, false); err != nil {
					t.Fatal(err)
				}
			}
			jobs := indexJobs(t, q)
			if len(jobs) != 1 {
				t.Fatalf("%d index jobs after three requests, want 1", len(jobs))
			}
			if jobs[0].Priority != int(app.IndexByWebhook) {
				t.Errorf("merged job has priority %d, want the webhook's %d", jobs[0].Priority, app.IndexByWebhook)
			}
			if err := q.Index(ctx, []string{id}, app.IndexByAdmin, false); err != nil {
				t.Fatal(err)
			}
			if jobs := indexJobs(t, q); len(jobs) != 1 || jobs[0].Priority != int(app.IndexByAdmin) {
				t.Errorf("after an admin's request: %d jobs, priority %d", len(jobs), jobs[0].Priority)
			}
			// A lower priority never lowers the waiting one.
			if err := q.Index(ctx, []string{id}, app.IndexBySchedule, false); err != nil {
				t.Fatal(err)
			}
			if jobs := indexJobs(t, q); jobs[0].Priority != int(app.IndexByAdmin) {
				t.Errorf("a scheduled request lowered the priority to %d", jobs[0].Priority)
			}
			// A reset is another request.
			if err := q.Index(ctx, []string{id}, app.IndexByAdmin, true); err != nil {
				t.Fatal(err)
			}
			if jobs := indexJobs(t, q); len(jobs) != 2 {
				t.Errorf("%d jobs with a reset requested, want 2", len(jobs))
			}
			states, err := e.st.IndexStates(ctx, []string{id})
			if err != nil || states[id].State != fb.IndexQueued {
				t.Errorf("state = %+v, %v; want queued", states[id], err)
			}

			// While a run is going, requests queue one run after it.
			var base *rivertype.JobRow
			for _, j := range indexJobs(t, q) {
				if !strings.Contains(string(j.EncodedArgs), "reset") {
					base = j
				}
			}
			if _, err := e.st.DB().ExecContext(ctx, q.rebind("UPDATE river_job SET state = 'running' WHERE id = ?"), base.ID); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := q.Index(ctx, []string{id}, app.IndexByWebhook, false); err != nil {
					t.Fatal(err)
				}
			}
			after := 0
			for _, j := range indexJobs(t, q) {
				if argsWithNumber("after", base.ID)(j.EncodedArgs) {
					after++
				}
			}
			if n := len(indexJobs(t, q)); after != 1 || n != 3 {
				t.Errorf("requests during a run: %d follow-up runs of %d jobs, want 1 of 3", after, n)
			}
		})
	}
}

func argsWithNumber(key string, want int64) func(json.RawMessage) bool {
	return func(raw json.RawMessage) bool {
		var m map[string]any
		return json.Unmarshal(raw, &m) == nil && m[key] == float64(want)
	}
}

func TestIndexRuns(t *testing.T) {
	git, err := gitmirror.Find(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.svc.Index = app.Indexing{Store: e.st}
			repo := e.gh.Repo("acme/app")
			sha, err := repo.Push("main", "PROJ-1 pushed to the host")
			if err != nil {
				t.Fatal(err)
			}
			x := &index.Indexer{Store: e.st, Tracker: projectKeys{"PROJ"}, Providers: drivers.New, Git: git, Dir: t.TempDir()}
			// A mirror of a repository removed while the instance was down.
			stale := x.MirrorDir("0123456789abcdef0123456789abcdef")
			if err := os.MkdirAll(stale, 0o700); err != nil {
				t.Fatal(err)
			}
			q := e.open(t, Config{Rediscover: -1, Revalidate: -1, Reindex: -1, Indexer: x})
			if err := q.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			id := e.repositoryID(t)
			if err := q.Index(context.Background(), []string{id}, app.IndexByAdmin, false); err != nil {
				t.Fatal(err)
			}
			waitJob(t, q, kindIndex, argsWith("repositoryId", id), rivertype.JobStateCompleted)
			commits, n, _, err := e.st.IssueCommits(context.Background(), fb.IssueDataQuery{Page: fb.Page{Limit: 10}, IssueKey: "PROJ-1"})
			if err != nil || n != 1 || commits[0].SHA != sha {
				t.Fatalf("PROJ-1 commits = %+v (%d), %v", commits, n, err)
			}
			states, _ := e.st.IndexStates(context.Background(), []string{id})
			if states[id].State != fb.IndexIndexed {
				t.Errorf("state = %+v", states[id])
			}
			// Starting swept it; Stop waits for the sweep.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := q.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(stale); !os.IsNotExist(err) {
				t.Errorf("the removed repository's mirror is still there after start-up: %v", err)
			}
		})
	}
}

// projectKeys is a tracker that knows only project keys.
type projectKeys []string

func (p projectKeys) ProjectKeys(context.Context) ([]string, error) { return p, nil }
func (projectKeys) User(context.Context, string) (fb.User, error)   { return fb.User{}, errNo }
func (projectKeys) Issue(context.Context, string) (fb.Issue, error) { return fb.Issue{}, errNo }
func (projectKeys) Permissions(context.Context, fb.User, string) (map[string]bool, error) {
	return nil, errNo
}
func (projectKeys) IssuePermissions(context.Context, fb.User, fb.Issue) (map[string]bool, error) {
	return nil, errNo
}
func (projectKeys) BrowsableProjects(context.Context, fb.User) ([]string, error) { return nil, errNo }

var errNo = fb.Errorf(fb.ENotSupported, "not in this test")

// TestRemovingCancelsIndexRuns: deleting an integration cancels the index
// runs of its repositories (a waiting one is cancelled, a running one is
// told to stop) and deletes their mirrors; another integration's runs and
// mirrors stay.
func TestRemovingCancelsIndexRuns(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			x := &index.Indexer{Store: e.st, Dir: t.TempDir()}
			q := e.open(t, Config{Rediscover: -1, Revalidate: -1, Reindex: -1}) // not started: jobs wait
			e.svc.Queue = q
			e.svc.Index = app.Indexing{Store: e.st, RemoveMirror: x.RemoveMirror}
			gone := e.repositoryID(t)
			other := e.addIntegration(t, "Other")
			repos, err := e.st.IntegrationRepositories(ctx, other.ID)
			if err != nil || len(repos) == 0 {
				t.Fatal(repos, err)
			}
			kept := repos[0].ID
			for _, id := range []string{gone, kept} {
				if err := os.MkdirAll(x.MirrorDir(id), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Index(ctx, []string{gone, kept}, app.IndexBySchedule, false); err != nil {
				t.Fatal(err)
			}
			// One run of the removed repository is going, one waits after it.
			running := indexJobs(t, q)[0]
			if !argsWith("repositoryId", gone)(running.EncodedArgs) {
				running = indexJobs(t, q)[1]
			}
			if _, err := e.st.DB().ExecContext(ctx, q.rebind("UPDATE river_job SET state = 'running' WHERE id = ?"), running.ID); err != nil {
				t.Fatal(err)
			}
			if err := q.Index(ctx, []string{gone}, app.IndexByWebhook, false); err != nil {
				t.Fatal(err)
			}

			if err := e.svc.DeleteIntegration(ctx, fb.User{Name: "admin", Admin: true}, e.in.ID, ""); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, j := range indexJobs(t, q) {
				switch {
				case argsWith("repositoryId", kept)(j.EncodedArgs):
					if j.State != rivertype.JobStateAvailable {
						t.Errorf("the other integration's run is %s, want available", j.State)
					}
				case j.ID == running.ID:
					// River cancels a running job through the instance running it.
					if !strings.Contains(string(j.Metadata), "cancel_attempted_at") {
						t.Errorf("the running run was not told to stop: metadata %s", j.Metadata)
					}
				default:
					n++
					if j.State != rivertype.JobStateCancelled {
						t.Errorf("a waiting run of the removed repository is %s, want cancelled", j.State)
					}
				}
			}
			if n != 1 {
				t.Errorf("%d waiting runs of the removed repository, want 1", n)
			}
			if _, err := os.Stat(x.MirrorDir(gone)); !os.IsNotExist(err) {
				t.Errorf("the removed repository's mirror: %v, want it deleted", err)
			}
			if _, err := os.Stat(x.MirrorDir(kept)); err != nil {
				t.Errorf("the other repository's mirror: %v", err)
			}
		})
	}
}
