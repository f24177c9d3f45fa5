// Package ratelimit holds forgebridge's in-memory limits: failed sign-ins
// counted per key in a fixed window, a token bucket per person for reads that
// call a provider, and the client address they count by. Each server instance
// counts on its own; the limits are per instance.
package ratelimit

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxKeys bounds the memory of a limiter: past it, expired entries are swept
// and, if none expired, the oldest-started one goes.
const maxKeys = 100_000

// Failures counts failed attempts per key: after Max failures within Window
// of the first, the key is blocked until that window ends. An attempt is
// reserved before it is checked (Reserve) and counts as a failure until it
// is refunded, so attempts running at once cannot get past Max between
// the check and the count.
type Failures struct {
	Max    int
	Window time.Duration

	mu   sync.Mutex
	keys map[string]*window
}

type window struct {
	start time.Time
	count int // failures and attempts in flight
}

// Blocked reports whether key has used up its attempts, and for how long
// it stays blocked (whole seconds, at least one).
func (f *Failures) Blocked(key string, now time.Time) (retryAfter int, blocked bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.keys[key]
	if !ok || !now.Before(w.start.Add(f.Window)) || w.count < f.Max {
		return 0, false
	}
	return f.retryAfter(w, now), true
}

func (f *Failures) retryAfter(w *window, now time.Time) int {
	return max(1, int(math.Ceil(w.start.Add(f.Window).Sub(now).Seconds())))
}

// Fail counts one failed attempt of key.
func (f *Failures) Fail(key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.current(key, now).count++
}

// current is key's window at now, a new one when there is none or it ended.
func (f *Failures) current(key string, now time.Time) *window {
	if f.keys == nil {
		f.keys = map[string]*window{}
	}
	w, ok := f.keys[key]
	if !ok || !now.Before(w.start.Add(f.Window)) {
		if !ok && len(f.keys) >= maxKeys {
			f.sweep(now)
		}
		w = &window{start: now}
		f.keys[key] = w
	}
	return w
}

// Reservation is one attempt taken by Reserve: it counts as a failure
// unless refunded.
type Reservation struct {
	f *Failures
	w *window
}

// Reserve takes one attempt of key, counted as a failure at once: once
// failures and attempts in flight reach Max it is refused, with how long
// until the window ends. Refund the reservation when the attempt did not fail.
func (f *Failures) Reserve(key string, now time.Time) (r Reservation, retryAfter int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.current(key, now)
	if w.count >= f.Max {
		return Reservation{}, f.retryAfter(w, now), false
	}
	w.count++
	return Reservation{f: f, w: w}, 0, true
}

// Refund gives back a reserved attempt that did not fail. It is a no-op on
// the zero Reservation and once the window it was taken in has been replaced.
func (r Reservation) Refund() {
	if r.f == nil {
		return
	}
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if r.w.count > 0 {
		r.w.count--
	}
}

// sweep drops expired windows; when none has expired, the oldest goes, so
// memory stays bounded under a flood of distinct keys.
func (f *Failures) sweep(now time.Time) {
	var oldest string
	for k, w := range f.keys {
		if !now.Before(w.start.Add(f.Window)) {
			delete(f.keys, k)
		} else if oldest == "" || w.start.Before(f.keys[oldest].start) {
			oldest = k
		}
	}
	if len(f.keys) >= maxKeys {
		delete(f.keys, oldest)
	}
}

// Buckets is a token bucket per key: Burst requests at once, refilled at
// Rate per second.
type Buckets struct {
	Rate  rate.Limit
	Burst int

	mu   sync.Mutex
	keys map[string]*rate.Limiter
}

// Allow takes one token of key's bucket; when there is none it says how
// many whole seconds (at least one) until there is.
func (b *Buckets) Allow(key string, now time.Time) (retryAfter int, ok bool) {
	b.mu.Lock()
	if b.keys == nil {
		b.keys = map[string]*rate.Limiter{}
	}
	l, found := b.keys[key]
	if !found {
		if len(b.keys) >= maxKeys {
			b.sweep(now)
		}
		l = rate.NewLimiter(b.Rate, b.Burst)
		b.keys[key] = l
	}
	b.mu.Unlock()
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return max(1, int(math.Ceil(d.Seconds()))), false
	}
	return 0, true
}

// sweep drops the buckets that are full again: forgetting them changes nothing.
func (b *Buckets) sweep(now time.Time) {
	for k, l := range b.keys {
		if l.TokensAt(now) >= float64(b.Burst) {
			delete(b.keys, k)
		}
	}
}

// ParsePrefixes reads a comma-separated list of CIDRs or single addresses.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ClientAddress is the address a request comes from: the connection's own,
// unless that is a trusted proxy, in which case X-Forwarded-For is read
// from the right, skipping trusted proxies, to the first address that is
// not one. Nobody else's X-Forwarded-For counts: anyone can send one.
func ClientAddress(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(addr, trusted) {
		return host
	}
	hops := forwarded(r.Header.Values("X-Forwarded-For"))
	client := addr
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // garbage from beyond the last trusted proxy: the proxy is the client we know
		}
		client = a.Unmap()
		if !isTrusted(client, trusted) {
			break
		}
	}
	return client.String()
}

// AddressKey is what per-address limits count a client address by: an IPv6
// address by its /64, since one host commonly holds a whole /64 and could
// otherwise take a fresh address for every attempt; an IPv4 address (also
// written IPv4-mapped) by itself. Anything else counts as given.
func AddressKey(client string) string {
	a, err := netip.ParseAddr(client)
	if err != nil {
		return client
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

func forwarded(values []string) []string {
	var hops []string
	for _, v := range values {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	return hops
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
