package jira

import (
	"container/list"
	"sync"
	"time"
)

// lru keeps Jira's answers for a fixed time, at most max of them: when full,
// the least recently used answer goes, not the whole cache, so one busy
// person cannot wipe what everyone else's next page needs. A negative TTL
// disables it; a zero TTL keeps entries until they are evicted.
type lru[K comparable, V any] struct {
	ttl time.Duration
	max int

	mu    sync.Mutex
	items map[K]*list.Element // of *lruEntry[K, V]
	order *list.List          // most recently used first
}

type lruEntry[K comparable, V any] struct {
	k       K
	v       V
	expires time.Time // zero: never
}

func newLRU[K comparable, V any](ttl time.Duration, max int) *lru[K, V] {
	return &lru[K, V]{ttl: ttl, max: max, items: map[K]*list.Element{}, order: list.New()}
}

// get returns the value for k if it has not expired at now.
func (c *lru[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*lruEntry[K, V])
	if !e.expires.IsZero() && !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, k)
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.v, true
}

// put keeps v for k until now plus the TTL, evicting the least recently used
// entry when the cache is full.
func (c *lru[K, V]) put(k K, v V, now time.Time) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v, now)
}

func (c *lru[K, V]) putLocked(k K, v V, now time.Time) {
	var expires time.Time
	if c.ttl > 0 {
		expires = now.Add(c.ttl)
	}
	if el, ok := c.items[k]; ok {
		e := el.Value.(*lruEntry[K, V])
		e.v, e.expires = v, expires
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry[K, V]{k: k, v: v, expires: expires})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry[K, V]).k)
	}
}

// remove forgets k.
func (c *lru[K, V]) remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.Remove(el)
		delete(c.items, k)
	}
}

// obtain returns the value for k, first keeping mk's when there is none
// (or it expired).
func (c *lru[K, V]) obtain(k K, now time.Time, mk func() V) V {
	if v, ok := c.get(k, now); ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok { // another caller made it meanwhile
		return el.Value.(*lruEntry[K, V]).v
	}
	v := mk()
	c.putLocked(k, v, now)
	return v
}

// len is how many entries the cache holds, expired ones included.
func (c *lru[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Bounds of the caches: the people whose answers are kept, and per person
// the decisions (two per project on the first listing of 1,000 projects,
// plus issues). A decision takes about 200 bytes.
const (
	maxPeople        = 1000
	maxDecisionsEach = 4096
	maxUsers         = 10000
)

// personKey names whose answers an entry of the per-person caches holds.
type personKey struct{ key, name string }

// personDecisions returns the person's own decision cache.
func (t *Tracker) personDecisions(userKey, userName string) *lru[decisionKey, bool] {
	return t.decisions.obtain(personKey{userKey, userName}, t.now(), func() *lru[decisionKey, bool] {
		return newLRU[decisionKey, bool](t.ttl, maxDecisionsEach)
	})
}
