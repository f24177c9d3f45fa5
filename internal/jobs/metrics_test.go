package jobs

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// gauge returns the value of the gauge name with exactly the label values
// given ("k=v"), and whether it is there.
func gauge(t testing.TB, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
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
			if v, found := gauge(t, reg, "forgebridge_index_waiting_seconds", "repository_id="+id); !found || v < 3590 || v > 3700 {
				t.Fatalf("index waiting = %v (%v), want about an hour", v, found)
			}
			// /metrics needs no authentication: a repository's name, which
			// may be private, is in no label (its id is).
			fams, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fams {
				for _, m := range f.Metric {
					for _, l := range m.Label {
						if strings.Contains(l.GetValue(), "acme/app") {
							t.Errorf("%s{%s=%q}: the repository's name is exposed without authentication", f.GetName(), l.GetName(), l.GetValue())
						}
					}
				}
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

// BenchmarkStateMetrics times one scrape of the state metrics with 1,000
// repositories, each indexed once and 100 with an index run waiting, on
// each database.
//
//	go test ./internal/jobs -run '^$' -bench StateMetrics -benchtime 20x
func BenchmarkStateMetrics(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			st := be.Open(b, nil)
			ctx := context.Background()
			repos := make([]fb.Repository, 1000)
			for i := range repos {
				repos[i] = fb.Repository{ExternalID: fmt.Sprint(i), Name: fmt.Sprint("r", i), FullName: fmt.Sprint("acme/r", i), DefaultBranch: "main"}
			}
			in := fb.Integration{Name: "GH", Kind: fb.KindGitHub}
			if err := st.CreateIntegrationWithRepositories(ctx, &in, repos, time.Now()); err != nil {
				b.Fatal(err)
			}
			stored, err := st.IntegrationRepositories(ctx, in.ID)
			if err != nil {
				b.Fatal(err)
			}
			at := time.Now().Add(-time.Minute)
			var waiting []string
			for i, r := range stored {
				if err := st.PutIndexState(ctx, fb.IndexState{RepositoryID: r.ID, State: fb.IndexIndexed, IndexedAt: &at}); err != nil {
					b.Fatal(err)
				}
				if i%10 == 0 {
					waiting = append(waiting, r.ID)
				}
			}
			svc := &app.Service{Store: st, Index: app.Indexing{Store: st}}
			q, err := Open(ctx, Config{DB: st.DB(), Dialect: st.Dialect(), Pool: st.Pool(), App: svc, Rediscover: -1, Revalidate: -1, Reindex: -1})
			if err != nil {
				b.Fatal(err)
			}
			if err := q.Index(ctx, waiting, app.IndexBySchedule, false); err != nil {
				b.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(&app.StateCollector{Store: st, Jobs: q})
			for b.Loop() {
				fams, err := reg.Gather()
				if err != nil || len(fams) < 4 {
					b.Fatalf("gather: %d families, %v", len(fams), err)
				}
			}
			if v, _ := gauge(b, reg, "forgebridge_index_repositories", "state=indexed"); v != 900 {
				b.Fatalf("indexed repositories = %v, want 900 (100 queued)", v)
			}
		})
	}
}
