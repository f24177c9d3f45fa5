package jira

import "time"

// decisionKey names one permission decision.
type decisionKey struct {
	userKey, userName, project, perm string
}

// decision is a cached answer and when it stops being trusted.
type decision struct {
	granted bool
	expires time.Time
}

// maxDecisions bounds the cache; expired entries are swept when it is reached.
const maxDecisions = 10000

// cached returns a decision that has not expired.
func (t *Tracker) cached(k decisionKey) (granted, ok bool) {
	if t.ttl < 0 {
		return false, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.cache[k]
	if !ok || !t.now().Before(d.expires) {
		return false, false
	}
	return d.granted, true
}

// remember caches a decision for the TTL.
func (t *Tracker) remember(k decisionKey, granted bool) {
	if t.ttl < 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.cache) >= maxDecisions {
		for key, d := range t.cache {
			if !now.Before(d.expires) {
				delete(t.cache, key)
			}
		}
		if len(t.cache) >= maxDecisions {
			clear(t.cache)
		}
	}
	t.cache[k] = decision{granted: granted, expires: now.Add(t.ttl)}
}
