// Package jobs runs forgebridge's background work — remote link retries,
// late action records, repository rediscovery and user token re-validation —
// as River jobs kept in the store's own database, so that several instances
// share one queue.
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// Defaults of the periodic work.
const (
	DefaultRediscover = time.Hour
	DefaultRevalidate = 24 * time.Hour
)

// Workers per instance. SQLite has one writer at a time, so more workers
// would mostly wait on each other's writes.
const (
	sqliteWorkers   = 2
	postgresWorkers = 8
)

// migrationLockKey is the PostgreSQL advisory lock held while River's
// migrations run ("fbriver" in ASCII), distinct from goose's.
const migrationLockKey = 0x6662726976657200

// Config is what Open needs.
type Config struct {
	DB      *sql.DB
	Dialect string // "sqlite" or "postgres"
	App     *app.Service
	Logger  *slog.Logger
	// Rediscover is the period of repository rediscovery for every
	// integration; 0 means DefaultRediscover and a negative period turns it off.
	Rediscover time.Duration
	// Revalidate is the period of user token re-validation for every
	// integration; 0 means DefaultRevalidate and a negative period turns it off.
	Revalidate time.Duration
	// Reindex is the period of index runs of every repository; 0 means
	// DefaultReindex and a negative period turns it off.
	Reindex time.Duration
	// Indexer runs index passes; nil turns indexing off on this instance
	// (git missing): its index jobs are left to instances that have one.
	Indexer *index.Indexer

	// Test knobs: River's retry schedule and how often a poll-only client
	// looks for jobs. Zero values keep River's defaults.
	retryPolicy  river.ClientRetryPolicy
	pollInterval time.Duration
}

// Queue is forgebridge's job queue. It implements app.Queue.
type Queue struct {
	client     *river.Client[*sql.Tx]
	db         *sql.DB
	postgres   bool
	app        *app.Service
	indexer    *index.Indexer
	log        *slog.Logger
	rediscover time.Duration
	revalidate time.Duration
	reindex    time.Duration

	stopSweep  context.CancelFunc // ends sweepMirrors; nil when not started
	sweepEnded chan struct{}
}

var _ app.Queue = (*Queue)(nil)

// Open brings River's tables in the database up to date and builds the
// queue with its workers and periodic jobs. Nothing runs until Start.
func Open(ctx context.Context, cfg Config) (*Queue, error) {
	if cfg.DB == nil || cfg.App == nil {
		return nil, fb.Errorf(fb.EInvalid, "jobs: a database and an application are required")
	}
	var driver riverdriver.Driver[*sql.Tx]
	workers := postgresWorkers
	switch cfg.Dialect {
	case "sqlite":
		driver, workers = riversqlite.New(cfg.DB), sqliteWorkers
	case "postgres":
		// Over database/sql River cannot LISTEN, so it polls for new jobs.
		driver = riverdatabasesql.New(cfg.DB)
	default:
		return nil, fb.Errorf(fb.EInvalid, "jobs: unknown database dialect %q; want sqlite or postgres", cfg.Dialect)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "jobs")
	q := &Queue{app: cfg.App, log: log, db: cfg.DB, postgres: cfg.Dialect == "postgres", indexer: cfg.Indexer,
		rediscover: period(cfg.Rediscover, DefaultRediscover),
		revalidate: period(cfg.Revalidate, DefaultRevalidate),
		reindex:    period(cfg.Reindex, DefaultReindex)}

	if err := migrate(ctx, cfg.DB, cfg.Dialect, driver, log); err != nil {
		return nil, err
	}

	w := river.NewWorkers()
	river.AddWorker(w, &remoteLinkWorker{q: q})
	river.AddWorker(w, &discoverWorker{q: q})
	river.AddWorker(w, &revalidateWorker{q: q})
	river.AddWorker(w, &scheduleWorker{q: q})
	river.AddWorker(w, &indexWorker{q: q})
	river.AddWorker(w, &recordWorker{q: q})

	// Index runs have a queue of their own, worked only by instances that
	// have git: one without it leaves them to the others.
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}}
	if cfg.Indexer != nil {
		queues[indexQueue] = river.QueueConfig{MaxWorkers: workers}
	}
	rc := &river.Config{
		// River reports every poll and every failed attempt at INFO; its
		// warnings and errors are what an operator needs from it.
		Logger:       slog.New(atLeast{log.Handler(), slog.LevelWarn}),
		Workers:      w,
		Queues:       queues,
		PeriodicJobs: q.periodicJobs(),
		RetryPolicy:  cfg.retryPolicy,
	}
	// Neither driver here listens for new jobs, so they are polled for: a
	// quarter second keeps a webhook's push well within a second of the
	// issue, at one small query per poll.
	rc.FetchCooldown, rc.FetchPollInterval = 100*time.Millisecond, 250*time.Millisecond
	if cfg.pollInterval > 0 {
		rc.FetchCooldown, rc.FetchPollInterval = cfg.pollInterval/2, cfg.pollInterval
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: building the River client: %w", err)
	}
	q.client = client
	return q, nil
}

// period returns d, def when d is zero, and 0 (off) when d is negative.
func period(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// migrate applies River's own migrations. River's tables are River's schema,
// versioned by River's releases and applied by its rivermigrate tool, which
// knows each database's variant; goose keeps applying forgebridge's schema.
// Mixing River's SQL into forgebridge's goose files would mean copying it by
// hand at every River upgrade.
func migrate(ctx context.Context, db *sql.DB, dialect string, driver riverdriver.Driver[*sql.Tx], log *slog.Logger) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("jobs: applying River's migrations: %w", err)
		}
	}()
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return err
	}
	if dialect == "postgres" {
		// rivermigrate takes no lock of its own: without one, instances
		// starting together would race to create the same tables.
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLockKey)); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLockKey))
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// Start starts working jobs and, on the instance elected leader, the
// periodic schedules. The queue runs until Stop: cancelling ctx does not
// stop it, so that a shutdown signal's context cannot cut jobs short before
// Stop has let them finish.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: starting: %w", err)
	}
	if q.indexer != nil && q.stopSweep == nil {
		sweep, stop := context.WithCancel(context.WithoutCancel(ctx))
		q.stopSweep, q.sweepEnded = stop, make(chan struct{})
		go func() {
			defer close(q.sweepEnded)
			q.sweepMirrors(sweep)
		}()
	}
	return nil
}

// Stop stops fetching jobs and waits for those in progress to finish. When
// ctx ends first, the jobs still running have their contexts cancelled (River
// retries them later) and Stop returns ctx's error without waiting further.
func (q *Queue) Stop(ctx context.Context) error {
	if q.stopSweep != nil {
		q.stopSweep()
		<-q.sweepEnded
		q.stopSweep = nil
	}
	err := q.client.Stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		// Cancels the running jobs' contexts; with ctx already done it
		// does not wait for them.
		q.client.StopAndCancel(ctx)
	}
	return fmt.Errorf("jobs: stopping: %w", err)
}

// RetryLink queues an issue link to be written to the tracker later, retried
// with River's backoff until it succeeds or its attempts run out.
func (q *Queue) RetryLink(ctx context.Context, issueKey string, l app.IssueLink) error {
	if _, err := q.client.Insert(ctx, newRemoteLinkArgs(issueKey, l), nil); err != nil {
		return fmt.Errorf("jobs: queueing the link to %s on issue %s: %w", l.URL, issueKey, err)
	}
	return nil
}

// rebind numbers the ? placeholders of a query without string literals
// holding question marks for PostgreSQL ($1, $2, …).
func (q *Queue) rebind(query string) string {
	if !q.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// atLeast passes on only the records of level min or above.
type atLeast struct {
	slog.Handler
	min slog.Level
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h atLeast) WithAttrs(as []slog.Attr) slog.Handler {
	return atLeast{h.Handler.WithAttrs(as), h.min}
}
func (h atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h.Handler.WithGroup(name), h.min}
}
