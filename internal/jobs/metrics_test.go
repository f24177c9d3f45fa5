package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// gauge returns the value of the gauge name with exactly the label values
// given ("k=v"), and whether it is there.
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.Metric {
			have := map[string]string{}
			for _, l := range m.Label {
				have[l.GetName()] = l.GetValue()
			}
			for _, kv := range labels {
				if k, v, _ := strings.Cut(kv, "="); have[k] != v {
					continue next
				}
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// TestStateMetrics: the job queue's depth and failures and the time an
// index run has waited, as /metrics reports them, follow the jobs' table.
func TestStateMetrics(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.svc.Index = app.Indexing{Store: e.st}
			q := e.open(t, Config{Rediscover: -1, Revalidate: -1, Reindex: -1}) // not started: jobs wait
			ctx := context.Background()
			id := e.repositoryID(t)
			now := time.Now()
			reg := prometheus.NewRegistry()
			reg.MustRegister(&app.StateCollector{Store: e.st, Jobs: q, Now: func() time.Time { return now }})

			if _, found := gauge(t, reg, "forgebridge_index_waiting_seconds", "repository_id="+id); found {
				t.Fatal("an index run waits before any was asked for")
			}
			if err := q.Index(ctx, []string{id}, app.IndexByAdmin, false); err != nil {
				t.Fatal(err)
			}
			if v, _ := gauge(t, reg, "forgebridge_jobs", "kind=index", "state=available"); v != 1 {
				t.Fatalf("available index jobs = %v, want 1", v)
			}
			if v, _ := gauge(t, reg, "forgebridge_index_repositories", "state=queued"); v != 1 {
				t.Fatalf("queued repositories = %v, want 1", v)
			}
			now = time.Now().Add(time.Hour)
			if v, found := gauge(t, reg, "forgebridge_index_waiting_seconds", "repository_id="+id, "repository=acme/app"); !found || v < 3590 || v > 3700 {
				t.Fatalf("index waiting = %v (%v), want about an hour", v, found)
			}

			// A run that failed for good is a failure, and no longer waits.
			if _, err := e.st.DB().ExecContext(ctx, q.rebind(`UPDATE river_job SET state = 'discarded', finalized_at = ? WHERE kind = 'index'`), time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			if v, _ := gauge(t, reg, "forgebridge_jobs", "kind=index", "state=discarded"); v != 1 {
				t.Fatalf("discarded index jobs = %v, want 1", v)
			}
			if _, found := gauge(t, reg, "forgebridge_jobs", "kind=index", "state=available"); found {
				t.Fatal("the discarded job is still counted as available")
			}
			if _, found := gauge(t, reg, "forgebridge_index_waiting_seconds", "repository_id="+id); found {
				t.Fatal("a discarded run still counts as waiting")
			}
			if v, _ := gauge(t, reg, "forgebridge_state_read_ok"); v != 1 {
				t.Fatalf("forgebridge_state_read_ok = %v", v)
			}
		})
	}
}
