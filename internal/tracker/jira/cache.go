package jira

import (
	"sync"
	"time"
)

// maxEntries bounds a cache; expired entries are swept when it is reached.
const maxEntries = 10000

// ttlCache keeps answers of Jira for a fixed time. A negative TTL disables it.
type ttlCache[K comparable, V any] struct {
	ttl time.Duration

	mu sync.Mutex
	m  map[K]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v       V
	expires time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, m: map[K]cacheEntry[V]{}}
}

// get returns the value for k if it has not expired at now.
func (c *ttlCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// put keeps v for k until now plus the TTL.
func (c *ttlCache[K, V]) put(k K, v V, now time.Time) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxEntries {
		for key, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= maxEntries {
			clear(c.m)
		}
	}
	c.m[k] = cacheEntry[V]{v: v, expires: now.Add(c.ttl)}
}

// decisionKey names one permission decision: a user's permission on a
// project or on one issue, never confused with each other.
type decisionKey struct {
	userKey, userName string
	scope             scope
	perm              string
}
