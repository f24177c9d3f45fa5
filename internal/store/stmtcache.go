package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps SQLite's prepared statements. modernc's driver parses and
// compiles every query anew otherwise, which was a fifth of the CPU of a
// create-branch request. database/sql prepares a cached statement once on
// each pooled connection, the first time it runs there, and keeps it.
type stmtCache struct {
	db     *sql.DB
	mu     sync.RWMutex
	m      map[string]*sql.Stmt // nil value: being prepared
	closed bool
	// preparing counts the background prepares: close waits for them, so
	// that none holds a connection past the store's Close (SQLite removes
	// its -wal and -shm files when the last connection closes, and a
	// connection closed later did so under a caller removing the directory).
	preparing sync.WaitGroup
	// stop ends the prepares' waits for a connection when the cache closes,
	// so that Close never waits on a connection someone holds.
	stop context.Context
	halt context.CancelFunc
}

func newStmtCache(db *sql.DB) *stmtCache {
	c := &stmtCache{db: db, m: map[string]*sql.Stmt{}}
	c.stop, c.halt = context.WithCancel(context.Background())
	return c
}

// Queries built with a variable number of placeholders (IN lists, batches)
// would fill the cache with statements used once: only the first
// maxCachedStmts distinct queries, and none longer than maxCachedQuery
// bytes, are kept.
const (
	maxCachedStmts = 256
	maxCachedQuery = 4096
)

// get returns the statement for query, or nil to run it unprepared: when
// the cache is off or full, or the query is new. A new query is prepared in
// the background for its next use: preparing takes a pooled connection, and
// a caller inside a transaction holds one already, so waiting here for
// another could deadlock a full pool.
func (c *stmtCache) get(query string) *sql.Stmt {
	if c == nil || len(query) > maxCachedQuery {
		return nil
	}
	c.mu.RLock()
	st, ok := c.m[query]
	c.mu.RUnlock()
	if ok {
		return st // nil while being prepared
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok || c.closed || len(c.m) >= maxCachedStmts {
		return st
	}
	c.m[query] = nil
	c.preparing.Add(1)
	go c.prepare(query)
	return nil
}

func (c *stmtCache) prepare(query string) {
	defer c.preparing.Done()
	st, err := c.db.PrepareContext(c.stop, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		delete(c.m, query) // tried again next time; running it unprepared reports the error
	case c.closed:
		st.Close()
	default:
		c.m[query] = st
	}
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.halt()
	c.preparing.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		if st != nil {
			st.Close()
		}
		delete(c.m, q)
	}
}
