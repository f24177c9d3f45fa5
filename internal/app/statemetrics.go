package app

import (
	"context"
	"log/slog"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/prometheus/client_golang/prometheus"
)

// ExpiringWithin is the period of forgebridge_tokens_expiring.
const ExpiringWithin = 7 * 24 * time.Hour

// stateReadTimeout bounds the database reads of one scrape: a database that
// does not answer must not hold the scraper (which then reports the rest).
const stateReadTimeout = 5 * time.Second

// StateStore is what the state metrics read of the store.
type StateStore interface {
	ExpiringTokens(ctx context.Context, now, until time.Time) ([]fb.TokenCount, error)
	RepositoryIndexes(ctx context.Context) ([]fb.RepositoryIndex, error)
}

// StateJobs is what the state metrics read of the job queue.
type StateJobs interface {
	JobCounts(ctx context.Context) ([]fb.JobCount, error)
	IndexWaiting(ctx context.Context) (map[string]time.Time, error)
}

// StateCollector reports, at each scrape, what the database holds: the job
// queue by kind and state, tokens about to expire and how far indexing lags.
// Every instance reads the same rows, so these are not to be summed across
// instances (take max or any one).
type StateCollector struct {
	Store  StateStore
	Jobs   StateJobs // nil: no job metrics
	Now    func() time.Time
	Logger *slog.Logger
}

var (
	descJobs = prometheus.NewDesc("forgebridge_jobs",
		"Jobs in the queue by kind and River state (available, scheduled, running, retryable, discarded, …).", []string{"kind", "state"}, nil)
	descExpiring = prometheus.NewDesc("forgebridge_tokens_expiring",
		"Saved tokens expiring within 7 days: user_token (by integration kind; valid or unverified ones) and api_token (sign-in sessions aside).",
		[]string{"type", "kind"}, nil)
	descIndexState = prometheus.NewDesc("forgebridge_index_repositories",
		"Repositories by indexing state.", []string{"state"}, nil)
	// Per repository by id alone: /metrics needs no authentication, and a
	// repository's name may be private (GET /api/v1/repositories/{id}
	// names it to those who may see it).
	descIndexAge = prometheus.NewDesc("forgebridge_index_age_seconds",
		"Seconds since the last completed index run of each repository ended (absent until one completes).", []string{"repository_id"}, nil)
	descIndexWaiting = prometheus.NewDesc("forgebridge_index_waiting_seconds",
		"Seconds the oldest waiting index run of each repository has waited (absent when none waits).", []string{"repository_id"}, nil)
	descStateUp = prometheus.NewDesc("forgebridge_state_read_ok",
		"1 when the last scrape could read the state metrics from the database, 0 when a read failed (those metrics are then missing).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descExpiring, descIndexState, descIndexAge, descIndexWaiting, descStateUp} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A failed read leaves its metrics
// out and sets forgebridge_state_read_ok to 0 rather than failing the
// scrape, so the process metrics still come during a database outage.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), stateReadTimeout)
	defer cancel()
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	ok := 1.0
	fail := func(what string, err error) {
		ok = 0
		if c.Logger != nil {
			c.Logger.Warn("metrics: cannot read "+what, "err", err)
		}
	}
	var waiting map[string]time.Time
	if c.Jobs != nil {
		if counts, err := c.Jobs.JobCounts(ctx); err != nil {
			fail("the job counts", err)
		} else {
			for _, jc := range counts {
				ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(jc.Count), jc.Kind, jc.State)
			}
		}
		var err error
		if waiting, err = c.Jobs.IndexWaiting(ctx); err != nil {
			fail("the waiting index runs", err)
		}
	}
	if counts, err := c.Store.ExpiringTokens(ctx, now, now.Add(ExpiringWithin)); err != nil {
		fail("the expiring tokens", err)
	} else {
		for _, tc := range counts {
			ch <- prometheus.MustNewConstMetric(descExpiring, prometheus.GaugeValue, float64(tc.Count), tc.Type, tc.Kind)
		}
	}
	if repos, err := c.Store.RepositoryIndexes(ctx); err != nil {
		fail("the index states", err)
	} else {
		states := map[fb.IndexStateName]int{fb.IndexPending: 0, fb.IndexQueued: 0, fb.IndexIndexing: 0, fb.IndexIndexed: 0, fb.IndexFailed: 0}
		for _, r := range repos {
			states[r.State]++
			if r.IndexedAt != nil {
				ch <- prometheus.MustNewConstMetric(descIndexAge, prometheus.GaugeValue, max(0, now.Sub(*r.IndexedAt).Seconds()), r.RepositoryID)
			}
			if t, ok := waiting[r.RepositoryID]; ok {
				ch <- prometheus.MustNewConstMetric(descIndexWaiting, prometheus.GaugeValue, max(0, now.Sub(t).Seconds()), r.RepositoryID)
			}
		}
		for s, n := range states {
			ch <- prometheus.MustNewConstMetric(descIndexState, prometheus.GaugeValue, float64(n), string(s))
		}
	}
	ch <- prometheus.MustNewConstMetric(descStateUp, prometheus.GaugeValue, ok)
}
