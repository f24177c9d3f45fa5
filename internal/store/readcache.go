package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// The rows an action reads on every request besides its API token (the
// person, the settings, the repository with its integration, the issue,
// the person's permissions on its project and their saved token) change
// rarely, and reading each costs more than the rest of the request's own
// work. On SQLite the store
// keeps them in memory, valid for one read epoch: a counter the database
// raises, by triggers, with every write to their tables, whoever writes
// (another process on the same file, such as the command line, too;
// migration 00020). A request reads the epoch once, in the same statement
// as its API token (APITokenForRequest), and its later reads are
// answered from the cache of that epoch, or read and kept there. Since the
// epoch is read before the rows, a row kept under it is never older than
// it, so a change is seen by every request that starts after it commits,
// as without the cache. A write of this process moves the cache on to the
// epoch it committed, so a request reads its own writes. Reads without an
// epoch (background jobs, the command line, PostgreSQL) go to the database
// as before.
//
// PostgreSQL keeps no cache: its instances are several, and one epoch row
// raised by every writer would serialise their transactions.

// The cache's bounds. Past either, entries are evicted one at a time (any
// one: the map's order), so that a flood of distinct lookups costs the hot
// rows no more than a miss each. Integrations are the large rows (a CA
// bundle may be 512 KiB), counted by what they hold.
const (
	readCacheMax   = 4096
	readCacheBytes = 16 << 20
	readEntryBytes = 256 // what an entry is counted for besides sizedEntry's
)

// epochMaxAge is how long a request's epoch answers from the cache: work
// that outlives its request (a context kept with context.WithoutCancel)
// then reads the database again rather than rows of a long-gone epoch.
const epochMaxAge = 5 * time.Second

type readCache struct {
	mu    sync.Mutex
	epoch int64
	rows  map[string]readEntry
	bytes int
}

type readEntry struct {
	v    any
	size int
}

// sizedEntry is a cached value that says how many bytes it holds.
type sizedEntry interface{ cacheSize() int }

type epochKey struct{}

type epochValue struct {
	n  int64
	at time.Time
}

// withEpoch returns ctx carrying the read epoch a request read.
func withEpoch(ctx context.Context, epoch int64) context.Context {
	return context.WithValue(ctx, epochKey{}, epochValue{n: epoch, at: time.Now()})
}

// reset empties the cache for epoch; c.mu is held.
func (c *readCache) reset(epoch int64) {
	c.epoch, c.rows, c.bytes = epoch, map[string]readEntry{}, 0
}

// cached answers read from the cache of the request's read epoch, reading
// and keeping it on a miss. Errors are never kept. clone copies what a
// caller could change in place (nil: a value without slices or maps).
//
// A request with another epoch than the cache's starts it again at its
// own: a newer epoch means a change, an older one a request that began
// before it (or a database restored under the process), and whatever it
// keeps it reads after its epoch, so it is never older than that epoch.
func cached[T any](s *Store, ctx context.Context, key string, clone func(T) T, read func() (T, error)) (T, error) {
	ev, ok := ctx.Value(epochKey{}).(epochValue)
	c := s.reads
	if !ok || c == nil || time.Since(ev.at) > epochMaxAge {
		return read()
	}
	c.mu.Lock()
	if ev.n != c.epoch {
		c.reset(ev.n)
	} else if e, hit := c.rows[key]; hit {
		c.mu.Unlock()
		return copyOf(e.v.(T), clone), nil
	}
	c.mu.Unlock()
	v, err := read()
	if err != nil {
		return v, err
	}
	size := readEntryBytes + len(key)
	if sz, ok := any(v).(sizedEntry); ok {
		size += sz.cacheSize()
	}
	c.mu.Lock()
	if ev.n == c.epoch && size <= readCacheBytes/4 { // another epoch's cache is not this request's to fill
		for k, e := range c.rows {
			if len(c.rows) < readCacheMax && c.bytes+size <= readCacheBytes {
				break
			}
			delete(c.rows, k)
			c.bytes -= e.size
		}
		if old, had := c.rows[key]; had {
			c.bytes -= old.size
		}
		c.rows[key] = readEntry{v: copyOf(v, clone), size: size}
		c.bytes += size
	}
	c.mu.Unlock()
	return v, nil
}

// readEpochTables are the tables whose every write must raise the read
// epoch: those the cached reads come from (migration 00020 has a trigger
// for each insert, update and delete of each).
var readEpochTables = []string{"settings", "integrations", "repositories", "projects", "issues", "permissions", "users", "user_tokens"}

// checkReadEpoch turns the read cache off unless every trigger that raises
// the epoch is there: a later migration that rebuilds one of the tables
// drops its triggers with it, and the cache must then not serve a row
// that changed.
func (s *Store) checkReadEpoch(ctx context.Context) error {
	if s.reads == nil {
		return nil
	}
	rows, err := s.conn().query(ctx, `SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'read\_epoch\_%' ESCAPE '\'`)
	if err != nil {
		return err
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var table, name string
		if err := rows.Scan(&table, &name); err != nil {
			return err
		}
		have[table+" "+name] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range readEpochTables {
		for _, ev := range []string{"insert", "update", "delete"} {
			if !have[t+" read_epoch_"+t+"_"+ev] {
				s.reads = nil
				return nil
			}
		}
	}
	return nil
}

// ReadCacheOn reports whether the store answers repeated reads from its
// read cache (SQLite with every trigger of the read epoch in place).
func (s *Store) ReadCacheOn() bool { return s.reads != nil }

// epochIn reads the read epoch in a write transaction about to commit (-1
// when there is no cache or no epoch yet, before migration 00020).
func (c *readCache) epochIn(ctx context.Context, tx conn) int64 {
	if c == nil {
		return -1
	}
	var n int64
	if tx.queryRow(ctx, `SELECT n FROM read_epoch WHERE id = 1`).Scan(&n) != nil {
		return -1
	}
	return n
}

// advance moves the cache to the epoch a write of this process committed,
// so that the request that wrote, whose own epoch is older, reads what it
// wrote from the database rather than what the cache kept before.
func (c *readCache) advance(epoch int64) {
	if c == nil || epoch < 0 {
		return
	}
	c.mu.Lock()
	if epoch > c.epoch {
		c.reset(epoch)
	}
	c.mu.Unlock()
}

func copyOf[T any](v T, clone func(T) T) T {
	if clone == nil {
		return v
	}
	return clone(v)
}

// APITokenForRequest is APIToken for a request: it also returns the
// context for the request's later reads, which on SQLite carries the read
// epoch, read in the same statement as the token, so that the read cache
// may answer them. Not found is ENotFound, as for APIToken.
func (s *Store) APITokenForRequest(ctx context.Context, hash string) (_ fb.APIToken, _ context.Context, err error) {
	defer wrap(&err, "APITokenForRequest")
	if s.reads == nil {
		t, err := s.APIToken(ctx, hash)
		return t, ctx, err
	}
	var epoch int64
	t, err := scanAPIToken(suffixScan{row: s.pointConn().queryRow(ctx, `SELECT `+apiTokenColumns+`, (SELECT n FROM read_epoch WHERE id = 1)
		FROM api_tokens WHERE hash = ?`, hash), rest: []any{&epoch}})
	if errors.Is(err, sql.ErrNoRows) {
		return fb.APIToken{}, ctx, apiTokenNotFound()
	}
	if err != nil {
		return fb.APIToken{}, ctx, err
	}
	return t, withEpoch(ctx, epoch), nil
}

// suffixScan scans a row's last columns into rest and the others where its
// caller asks.
type suffixScan struct {
	row  interface{ Scan(...any) error }
	rest []any
}

func (p suffixScan) Scan(dest ...any) error { return p.row.Scan(append(dest, p.rest...)...) }

// repositoryWithIntegration is what RepositoryWithIntegration keeps: the
// integration without its credential, which stays sealed.
type repositoryWithIntegration struct {
	repo       fb.Repository
	integ      fb.Integration
	credential []byte
}

func (r repositoryWithIntegration) clone() repositoryWithIntegration {
	r.integ.Projects = slices.Clone(r.integ.Projects)
	r.integ.DiscoveredAt = clonePtr(r.integ.DiscoveredAt)
	r.credential = slices.Clone(r.credential)
	return r
}

func (r repositoryWithIntegration) cacheSize() int {
	n := len(r.credential) + len(r.integ.CABundle) + len(r.integ.ProxyURL) + len(r.integ.RepositoryFilter) + len(r.integ.APIPath)
	for _, p := range r.integ.Projects {
		n += len(p) + 16
	}
	return n
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
