package jobs

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/riverqueue/river/rivertype"
)

// TestPostgresJobsAreNotified runs two queues on one PostgreSQL database,
// as two instances, that poll for jobs only once an hour, and queues jobs
// one after the other through a third that works none (an instance whose
// queue has not started): they are still worked, because every insert
// notifies the listening instances. Over a polling driver they would wait
// for the hour.
func TestPostgresJobsAreNotified(t *testing.T) {
	e := newEnv(t, storetest.Backend{Name: "postgres", Open: storetest.OpenPostgres})
	var qs [3]*Queue
	for i := range qs {
		poll := time.Hour
		if i == 2 {
			// River's inserting client sends at most one notification per
			// queue per fetch cooldown (half of this, here a millisecond);
			// the jobs here are queued one at a time, further apart.
			poll = 2 * time.Millisecond
		}
		q, err := Open(context.Background(), Config{DB: e.st.DB(), Dialect: e.st.Dialect(), Pool: e.st.Pool(),
			App: e.svc, Logger: e.svc.Logger, Rediscover: -1, Revalidate: -1, Reindex: -1,
			retryPolicy: fastRetry{}, pollInterval: poll})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			q.Stop(ctx)
		})
		qs[i] = q
		if i == 2 {
			break
		}
		if err := q.Start(context.Background()); err != nil {
			t.Fatalf("Start: %v", err)
		}
	}
	for i := range 4 {
		issue := fmt.Sprintf("FB-N%d", i)
		link := app.IssueLink{GlobalID: "g" + issue, URL: "https://example.com/" + issue, Title: issue}
		if err := qs[2].RetryLink(context.Background(), issue, link); err != nil {
			t.Fatal(err)
		}
		job := waitJob(t, qs[0], kindRemoteLink, linkArgsFor(issue), finalStates...)
		if job.State != rivertype.JobStateCompleted {
			t.Fatalf("job for %s %s, want completed (errors %v)", issue, job.State, job.Errors)
		}
	}
}
