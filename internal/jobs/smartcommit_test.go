package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// waitJobsDone waits until n jobs of kind exist and all have finished
// (completed, cancelled or discarded), and returns them.
func waitJobsDone(t *testing.T, q *Queue, kind string, n int) []*rivertype.JobRow {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var jobs []*rivertype.JobRow
	for time.Now().Before(deadline) {
		res, err := q.client.JobList(context.Background(), river.NewJobListParams().Kinds(kind).First(1000))
		if err != nil {
			t.Fatal(err)
		}
		jobs = res.Jobs
		done := 0
		for _, j := range jobs {
			switch j.State {
			case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
				done++
			}
		}
		if len(jobs) == n && done == n {
			return jobs
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%d %s jobs, not all done, want %d done: %+v", len(jobs), kind, n, jobs)
	return nil
}

// TestSmartCommits: a pushed commit's commands act on each issue before
// them as the tracker user with the author's email, once however many
// branches and reindexes see the commit; commands without such a user are
// skipped, those the tracker refuses fail, and every outcome is audited.
func TestSmartCommits(t *testing.T) {
	git, err := gitmirror.Find(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			e.svc.Index = app.Indexing{Store: e.st}
			admin := fb.User{Key: "admin", Name: "admin", Admin: true, Active: true}
			for _, u := range []fb.User{{Name: "bob", Email: "Bob@Example.com"}, {Name: "twin1", Email: "twin@example.com"},
				{Name: "twin2", Email: "twin@example.com"}, {Name: "eve", Email: "eve@example.com"}} {
				if _, _, err := e.svc.AddUser(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.svc.CreateProject(ctx, admin, fb.Project{Key: "PROJ", Name: "P"}); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"bob", "twin1", "twin2"} {
				if _, err := e.svc.SetPermissions(ctx, admin, "PROJ", k, []string{fb.PermBrowseProjects}); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range []string{"PROJ-7", "PROJ-8"} {
				if _, err := e.svc.CreateIssue(ctx, admin, fb.Issue{Key: k, Summary: k, Type: "Task"}); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := e.st.ChangeIntegration(ctx, e.in.ID, "", func(in *fb.Integration) (fb.IntegrationWrite, error) {
				in.Settings.SmartCommits = true
				return fb.IntegrationWrite{}, nil
			}); err != nil {
				t.Fatal(err)
			}

			g := e.gh.Repo("acme/app").Git()
			authored := time.Date(2026, 4, 5, 6, 7, 8, 0, time.UTC)
			commit := func(email, msg string) string {
				t.Helper()
				sha, err := g.Commit("main", []byte(msg+"\n"), fakegit.Author{Name: "Someone", Email: email, When: authored})
				if err != nil {
					t.Fatal(err)
				}
				return sha
			}
			c1 := commit("bob@example.com", "PROJ-7 PROJ-8 #time 2h Fixed the parser #comment Ready for review #start-progress")
			// The same commit on a second branch acts once.
			if err := g.UpdateRef("refs/heads/PROJ-7-work", c1, ""); err != nil {
				t.Fatal(err)
			}
			c2 := commit("twin@example.com", "PROJ-7 #comment from a shared email")
			c3 := commit("stranger@example.com", "PROJ-7 #comment from no one known")
			c4 := commit("eve@example.com", "PROJ-8 #comment eve may not browse PROJ")
			c5 := commit("BOB@example.com", "PROJ-7 #reopen not offered from In Progress")
			commit("bob@example.com", "PROJ-7 no commands here")

			x := &index.Indexer{Store: e.st, Tracker: projectKeys{"PROJ"}, Providers: drivers.New, Git: git, Dir: t.TempDir()}
			q := e.open(t, Config{Rediscover: -1, Revalidate: -1, Reindex: -1, Indexer: x})
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			id := e.repositoryID(t)
			if err := q.Index(ctx, []string{id}, app.IndexByAdmin, false); err != nil {
				t.Fatal(err)
			}
			waitJob(t, q, kindIndex, argsWith("repositoryId", id), rivertype.JobStateCompleted)
			const commands = 3*2 + 4
			waitJobsDone(t, q, kindSmartCommit, commands)

			// A reset reads every commit again: no command is queued twice.
			if err := q.Index(ctx, []string{id}, app.IndexByAdmin, true); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for n := 0; n < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(kindIndex).States(rivertype.JobStateCompleted).First(10))
				if err != nil {
					t.Fatal(err)
				}
				n = len(res.Jobs)
			}
			// A job for a command another job has claimed changes nothing.
			dup := smartCommitArgs{IntegrationID: e.in.ID, RepositoryID: id, SHA: c1, AuthorEmail: "bob@example.com",
				IssueKey: "PROJ-7", CommandKind: "comment", Name: "comment", Text: "Ready for review"}
			jobs := waitJobsDone(t, q, kindSmartCommit, commands)
			for _, j := range jobs {
				if argsWith("sha", c1)(j.EncodedArgs) && argsWith("issueKey", "PROJ-7")(j.EncodedArgs) && argsWith("commandKind", "comment")(j.EncodedArgs) {
					dup.CommandID = fmt.Sprint(decode(t, j.EncodedArgs)["commandId"])
				}
			}
			if _, err := q.client.Insert(ctx, dup, nil); err != nil {
				t.Fatal(err)
			}
			waitJobsDone(t, q, kindSmartCommit, commands+1)

			for _, k := range []string{"PROJ-7", "PROJ-8"} {
				a, err := e.st.IssueActivity(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				if a.Status != "In Progress" {
					t.Errorf("%s status %q, want In Progress", k, a.Status)
				}
				if len(a.Comments) != 1 || a.Comments[0].Author != "bob" || a.Comments[0].Body != "Ready for review" {
					t.Errorf("%s comments %+v, want bob's one", k, a.Comments)
				}
				if len(a.Worklog) != 1 || a.Worklog[0].Author != "bob" || a.Worklog[0].TimeSpentSeconds != 7200 ||
					a.Worklog[0].Comment != "Fixed the parser" || !a.Worklog[0].Started.Equal(authored) {
					t.Errorf("%s worklog %+v", k, a.Worklog)
				}
			}

			entries, _, err := e.st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 100}, Action: fb.AuditSmartCommit})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, en := range entries {
				got = append(got, fmt.Sprintf("%s %s %s %s %s", en.Target[:7], en.Issue, en.User, en.Outcome, en.Code))
				if en.IntegrationID != e.in.ID || en.RepositoryID != id {
					t.Errorf("entry %+v: want the integration and repository", en)
				}
			}
			sort.Strings(got)
			var want []string
			for range 3 {
				want = append(want, c1[:7]+" PROJ-7 bob success ", c1[:7]+" PROJ-8 bob success ")
			}
			want = append(want, c2[:7]+" PROJ-7  skipped author_unknown", c3[:7]+" PROJ-7  skipped author_unknown",
				c4[:7]+" PROJ-8 eve failure forbidden", c5[:7]+" PROJ-7 bob failure invalid_request")
			sort.Strings(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("audit:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
