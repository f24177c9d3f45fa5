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
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
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
	// Pool is a pgx pool on the same PostgreSQL database, required with
	// it: River's PostgreSQL driver works on pgx, and LISTENs on one of its
	// connections to learn of new jobs at once instead of polling. It stays
	// the caller's to close, after Stop.
	Pool   *pgxpool.Pool
	App    *app.Service
	Logger *slog.Logger
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

	// Test knobs: River's retry schedule and how often the client polls
	// for jobs (on PostgreSQL only a fallback to notifications). Zero
	// values keep the defaults.
	retryPolicy  river.ClientRetryPolicy
	pollInterval time.Duration
}

// riverClient is what the queue uses of a River client, whichever the
// driver's transaction type (*sql.Tx for SQLite, pgx.Tx for PostgreSQL).
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	QueueGet(ctx context.Context, name string) (*rivertype.Queue, error)
	Stopped() <-chan struct{}
}

var (
	_ riverClient = (*river.Client[*sql.Tx])(nil)
	_ riverClient = (*river.Client[pgx.Tx])(nil)
)

// Queue is forgebridge's job queue. It implements app.Queue.
type Queue struct {
	client     riverClient
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
	workers := postgresWorkers
	switch cfg.Dialect {
	case "sqlite":
		workers = sqliteWorkers
	case "postgres":
		if cfg.Pool == nil {
			return nil, fb.Errorf(fb.EInvalid, "jobs: PostgreSQL needs a pgx pool")
		}
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

	w := river.NewWorkers()
	river.AddWorker(w, &remoteLinkWorker{q: q})
	river.AddWorker(w, &unlinkWorker{q: q})
	river.AddWorker(w, &discoverWorker{q: q})
	river.AddWorker(w, &revalidateWorker{q: q})
	river.AddWorker(w, &scheduleWorker{q: q})
	river.AddWorker(w, &indexWorker{q: q})
	river.AddWorker(w, &recordWorker{q: q})
	river.AddWorker(w, &smartCommitWorker{q: q})
	if cfg.Indexer != nil {
		cfg.Indexer.SmartCommits = q.queueSmartCommits
	}

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
	if cfg.pollInterval > 0 {
		// The cooldown also spaces fetches on notifications: a long poll
		// interval must not slow those.
		rc.FetchCooldown, rc.FetchPollInterval = min(cfg.pollInterval/2, 100*time.Millisecond), cfg.pollInterval
	}

	var err error
	if q.postgres {
		// River LISTENs on a connection of the pool and every instance's
		// insert NOTIFYs: a job is fetched at once by whichever instance is
		// free, and polling (River's default second) is only the fallback.
		q.client, err = newClient(ctx, riverpgxv5.New(cfg.Pool), cfg.DB, true, rc, log)
	} else {
		// SQLite cannot notify: new jobs are polled for, every quarter
		// second, which keeps a webhook's push well within a second of the
		// issue at one small query per poll.
		if cfg.pollInterval == 0 {
			rc.FetchCooldown, rc.FetchPollInterval = 100*time.Millisecond, 250*time.Millisecond
		}
		q.client, err = newClient(ctx, riversqlite.New(cfg.DB), cfg.DB, false, rc, log)
	}
	if err != nil {
		return nil, err
	}
	return q, nil
}

// newClient applies River's migrations with driver and builds its client.
func newClient[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], db *sql.DB, postgres bool,
	rc *river.Config, log *slog.Logger) (riverClient, error) {
	if err := migrate(ctx, db, postgres, driver, log); err != nil {
		return nil, err
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: building the River client: %w", err)
	}
	return client, nil
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
func migrate[TTx any](ctx context.Context, db *sql.DB, postgres bool, driver riverdriver.Driver[TTx], log *slog.Logger) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("jobs: applying River's migrations: %w", err)
		}
	}()
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return err
	}
	if postgres {
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

var _ app.UnlinkQueue = (*Queue)(nil)

// RetryUnlink queues the removal of a link from an issue, retried with
// River's backoff until it succeeds or its attempts run out.
func (q *Queue) RetryUnlink(ctx context.Context, issueKey, globalID string) error {
	if _, err := q.client.Insert(ctx, unlinkArgs{IssueKey: issueKey, GlobalID: globalID}, nil); err != nil {
		return fmt.Errorf("jobs: queueing the removal of link %s from issue %s: %w", globalID, issueKey, err)
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
