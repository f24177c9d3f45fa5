// Package store keeps forgebridge's state in SQLite or PostgreSQL. One
// implementation over database/sql serves both: the queries are written once
// with ? placeholders and the migrations once, with three column types filled
// in per database.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is the store's connection pool, for a job queue kept in the same database.
func (s *Store) DB() *sql.DB { return s.db }

// Dialects, as Dialect reports them.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// sqliteBusyTimeout is how long, in milliseconds, an SQLite connection waits
// for another connection's write to finish before giving up.
const sqliteBusyTimeout = 5000

// Store is forgebridge's state in one database. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect string
	cipher  fb.Cipher
	pool    *pgxpool.Pool // PostgreSQL only: see Pool
	stmts   *stmtCache    // SQLite only
	// writer is held by this process's SQLite write transaction: SQLite
	// takes one writer at a time, and its busy handler makes the others
	// sleep 1, 2, 5, 10… ms and poll, which under concurrent actions cost
	// more than the writes. Waiting here wakes the next at once. Other
	// processes (and the job queue's own transactions) still meet the busy
	// timeout. nil for PostgreSQL, which locks rows, not the database.
	writer  chan struct{}
	records *recordGroup // SQLite only
	reads   *readCache   // SQLite only: readcache.go
	// wdb is SQLite's write connection: inTx runs there, with a page cache
	// large enough for a batch of indexed commits, while the pool's readers
	// keep small ones (see sqliteDSN). nil for PostgreSQL.
	wdb    *sql.DB
	wstmts *stmtCache
	// pdb is SQLite's pool for the lookups by key every request makes (its
	// API token, and what the read cache misses), without the memory map:
	// SQLite drops a reader's whole map whenever another connection has
	// committed, and mapping it again cost such a lookup more than reading
	// its few pages (pointConn). nil for PostgreSQL.
	pdb    *sql.DB
	pstmts *stmtCache
}

var _ fb.Store = (*Store)(nil)

// Open connects to the database named by dsn and brings its schema up to
// date. A dsn starting with postgres:// or postgresql:// is a PostgreSQL
// connection URL; anything else is an SQLite file path or file: URI, created
// when missing. Secrets are sealed with cipher.
func Open(ctx context.Context, dsn string, cipher fb.Cipher) (_ *Store, err error) {
	// The dsn may hold a password: it never goes into an error.
	defer wrap(&err, "Open")
	if cipher == nil {
		return nil, errors.New("a cipher is required")
	}
	s := &Store{cipher: cipher}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s.dialect = Postgres
		if s.pool, err = newPool(dsn); err != nil {
			return nil, err
		}
		s.db, err = sql.Open("pgx", dsn)
	} else {
		s.dialect = SQLite
		s.db, err = sql.Open("sqlite", sqliteDSN(dsn, sqliteReadCache, sqliteMap))
		if err == nil {
			s.wdb, err = sql.Open("sqlite", sqliteDSN(dsn, sqliteWriteCache, sqliteMap))
		}
		if err == nil {
			s.pdb, err = sql.Open("sqlite", sqliteDSN(dsn, sqliteReadCache, 0)+"&_pragma=query_only(1)")
		}
		s.stmts, s.wstmts, s.pstmts = newStmtCache(s.db), newStmtCache(s.wdb), newStmtCache(s.pdb)
		s.writer = make(chan struct{}, 1)
		s.records = &recordGroup{}
		s.reads = &readCache{}
	}
	if err != nil {
		if s.pool != nil {
			s.pool.Close()
		}
		for _, db := range []*sql.DB{s.db, s.wdb, s.pdb} {
			if db != nil {
				db.Close()
			}
		}
		return nil, err
	}
	if s.wdb != nil {
		// One connection, kept open: its page cache is the writer's.
		s.wdb.SetMaxOpenConns(1)
		s.wdb.SetMaxIdleConns(1)
		s.wdb.SetConnMaxIdleTime(0)
		s.pdb.SetMaxOpenConns(pointConns)
		s.pdb.SetMaxIdleConns(pointConns)
		s.pdb.SetConnMaxIdleTime(5 * time.Minute)
	}
	// database/sql keeps only 2 idle connections by default: under
	// concurrent requests every other one is opened and closed again, which
	// for PostgreSQL means a new server process each time. Keep a pool.
	s.db.SetMaxOpenConns(maxConns)
	s.db.SetMaxIdleConns(maxConns)
	s.db.SetConnMaxIdleTime(5 * time.Minute)
	if err := s.db.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connecting to the %s database: %w", s.dialect, err)
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.checkReadEpoch(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// poolConns bounds the connections of Pool: River keeps one to LISTEN on,
// and its leader election, fetches and completions take others briefly.
const poolConns = 8

// newPool makes the pgx pool of Pool; it connects on first use.
func newPool(dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the DSN, which may hold a password.
		return nil, errors.New("the PostgreSQL connection URL cannot be parsed")
	}
	cfg.MaxConns = poolConns
	return pgxpool.NewWithConfig(context.Background(), cfg)
}

// Pool is a pgx connection pool on the same PostgreSQL database, apart from
// DB's, for a job queue that listens for PostgreSQL notifications (which
// database/sql cannot). It is nil with SQLite. Close closes it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// pointConns bounds SQLite's connections for lookups by key (Store.pdb):
// every request makes one, so as many as the readers.
const pointConns = maxConns

// maxConns bounds the connections to the database; requests beyond it wait
// for one (PostgreSQL's default limit is 100 for all clients).
const maxConns = 16

// SQLite page caches, in KiB (cache_size takes a negative number for KiB).
// Each connection has its own, filled as the database grows past it, and
// they count in the process's RSS: with 32 MiB on every pooled connection a
// first index of a million commits passed the 256 MiB target. The write
// connection keeps 32 MiB: a batch of indexed commits dirties index pages
// all over, which a small cache spills to disk before the transaction ends.
// Readers keep SQLite's default of 2 MiB: an issue page reads a few dozen
// pages through the memory map (BenchmarkIssueCommits in docs/performance.md).
const (
	sqliteWriteCache = 32 << 10
	sqliteReadCache  = 2 << 10
)

// sqliteMap is how much of the file the readers and the writer map: an
// issue's commits are on pages all over, and reading them through the map
// rather than a system call per page halves the time of
// BenchmarkIssueCommits and its 99th percentile. It is 64 MiB, not the
// whole file: its pages count in the process's RSS, which then grew with
// the database (206 MiB of 394 at a million commits); pages past it are
// read with a system call each. The pool for lookups by key maps nothing
// (Store.pdb).
const sqliteMap = 64 << 20

// sqliteDSN adds the connection settings forgebridge relies on to an SQLite
// path or URI: WAL so readers do not block the writer, enforced foreign keys
// (the cascades), a busy timeout so concurrent writers wait for each other
// instead of failing with SQLITE_BUSY, immediate transactions so a
// transaction takes the write lock when it begins rather than failing when it
// first writes after another connection wrote, and a page cache of cacheKiB.
// Reads through a memory map of up to mapBytes of the file rather than a
// system call per page (see sqliteMap).
func sqliteDSN(path string, cacheKiB, mapBytes int) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "_busy_timeout=" + strconv.Itoa(sqliteBusyTimeout) +
		"&_pragma=cache_size(-" + strconv.Itoa(cacheKiB) + ")&_pragma=mmap_size(" + strconv.Itoa(mapBytes) + ")&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

// Dialect reports the database: SQLite or Postgres.
func (s *Store) Dialect() string { return s.dialect }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer wrap(&err, "Ping")
	return s.db.PingContext(ctx)
}

// Close closes the database. It waits for connections taken from Pool to
// be given back.
func (s *Store) Close() error {
	if s.pool != nil {
		s.pool.Close()
	}
	s.stmts.close()
	if s.wdb != nil {
		s.wstmts.close()
		s.wdb.Close()
	}
	if s.pdb != nil {
		s.pstmts.close()
		s.pdb.Close()
	}
	return s.db.Close()
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs queries written with ? placeholders on the store's database or
// one of its transactions.
type conn struct {
	q        querier
	postgres bool
	stmts    *stmtCache // nil: every query is prepared anew (PostgreSQL's pgx caches them itself)
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.cached(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.q.ExecContext(ctx, c.rebind(query), args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.cached(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.q.QueryContext(ctx, c.rebind(query), args...)
}

func (c conn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.cached(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, c.rebind(query), args...)
}

// cached returns the prepared statement of query for this connection or
// transaction, or nil to run it unprepared.
func (c conn) cached(ctx context.Context, query string) *sql.Stmt {
	st := c.stmts.get(query)
	if st == nil {
		return nil
	}
	if tx, ok := c.q.(*sql.Tx); ok {
		return tx.StmtContext(ctx, st) // reuses the statement when prepared on the transaction's connection
	}
	return st
}

func (c conn) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.q.PrepareContext(ctx, c.rebind(query))
}

func (c conn) rebind(query string) string {
	if !c.postgres {
		return query
	}
	return rebind(query)
}

// rebind numbers the ? placeholders of query for PostgreSQL ($1, $2, …),
// leaving question marks inside string literals alone.
func rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	quoted := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// placeholders returns n comma-separated ? placeholders.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// conn returns the store's database outside any transaction.
func (s *Store) conn() conn { return conn{q: s.db, postgres: s.dialect == Postgres, stmts: s.stmts} }

// pointConn is conn for a lookup by key of a few pages, which requests make
// again and again: on SQLite on the pool without the memory map (pdb).
func (s *Store) pointConn() conn {
	if s.pdb == nil {
		return s.conn()
	}
	return conn{q: s.pdb, stmts: s.pstmts}
}

// execWrite runs one writing statement. On SQLite it is a transaction of
// its own, which takes its turn behind the store's writer (inTx) rather
// than meeting SQLITE_BUSY, and polling, while another connection writes;
// its wait is bounded like the busy handler's was, also for callers whose
// context has no deadline (work that outlives its request). PostgreSQL
// locks rows: the statement runs as it is.
func (s *Store) execWrite(ctx context.Context, query string, args ...any) (res sql.Result, err error) {
	if s.writer == nil {
		return s.conn().exec(ctx, query, args...)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sqliteBusyTimeout*time.Millisecond)
		defer cancel()
	}
	err = s.inTx(ctx, func(c conn) error {
		res, err = c.exec(ctx, query, args...)
		return err
	})
	return res, err
}

// inTx runs fn in a transaction, committed when fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(c conn) error) error {
	if s.writer != nil {
		select {
		case s.writer <- struct{}{}:
			defer func() { <-s.writer }()
		case <-ctx.Done():
			return fmt.Errorf("beginning a transaction: %w", context.Cause(ctx))
		}
	}
	db, stmts := s.db, s.stmts
	if s.wdb != nil {
		db, stmts = s.wdb, s.wstmts
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	c := conn{q: tx, postgres: s.dialect == Postgres, stmts: stmts}
	if err := fn(c); err != nil {
		return err
	}
	epoch := s.reads.epochIn(ctx, c)
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	s.reads.advance(epoch)
	return nil
}

// wrap adds what a method was doing to the error it returns, keeping the
// chain so that forgebridge.ErrorCode still finds a *forgebridge.Error in it.
// The format and args must not carry a secret.
func wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("store.%s: %w", fmt.Sprintf(format, args...), *errp)
		*errp = unavailable(*errp) // unavailable.go
	}
}

// isUniqueViolation reports whether err is a duplicate primary or unique key.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// isForeignKeyViolation reports whether err is a reference to a missing row.
func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

func integrationNotFound(id string) error {
	e := fb.Errorf(fb.ENotFound, "integration %s not found", id)
	e.IntegrationID = id
	return e
}

// newID returns a random identifier for an integration or repository.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand.Read's contract since Go 1.24)
	return hex.EncodeToString(b)
}

// now is the current time as the store keeps it: UTC, whole microseconds.
func now() time.Time { return fromMicros(time.Now().UnixMicro()) }

// Times are stored as microseconds since the Unix epoch, which both databases
// keep exactly in a BIGINT; finer precision is dropped.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

// normalizeTime returns t as the store will read it back, or now when t is zero.
func normalizeTime(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return fromMicros(micros(t))
}
