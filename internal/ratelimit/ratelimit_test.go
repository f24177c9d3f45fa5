package ratelimit

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestFailuresBlockUntilTheWindowEnds(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &Failures{Max: 5, Window: 5 * time.Minute}
	for i := range 5 {
		if _, blocked := f.Blocked("alice", t0); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		f.Fail("alice", t0.Add(time.Duration(i)*time.Second))
	}
	retry, blocked := f.Blocked("alice", t0.Add(time.Minute))
	if !blocked || retry != 240 {
		t.Fatalf("after 5 failures: blocked %v retry %d, want true 240", blocked, retry)
	}
	if _, blocked := f.Blocked("bob", t0.Add(time.Minute)); blocked {
		t.Fatal("another key is blocked")
	}
	if _, blocked := f.Blocked("alice", t0.Add(5*time.Minute)); blocked {
		t.Fatal("still blocked once the window passed")
	}
	f.Fail("alice", t0.Add(5*time.Minute))
	if _, blocked := f.Blocked("alice", t0.Add(5*time.Minute)); blocked {
		t.Fatal("a failure after the window starts a new count")
	}
}

func TestFailuresMemoryIsBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &Failures{Max: 1, Window: time.Minute}
	for i := range maxKeys + 10 {
		f.Fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String(), t0)
	}
	if len(f.keys) > maxKeys {
		t.Fatalf("%d keys kept, at most %d", len(f.keys), maxKeys)
	}
}

func TestBuckets(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := &Buckets{Rate: 0.5, Burst: 2}
	for i := range 2 {
		if _, ok := b.Allow("alice", t0); !ok {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	retry, ok := b.Allow("alice", t0)
	if ok || retry != 2 {
		t.Fatalf("past the burst: ok %v retry %d, want false 2", ok, retry)
	}
	if _, ok := b.Allow("bob", t0); !ok {
		t.Fatal("another person is refused")
	}
	if _, ok := b.Allow("alice", t0.Add(2*time.Second)); !ok {
		t.Fatal("refused after the bucket refilled")
	}
}

func TestClientAddress(t *testing.T) {
	trusted, err := ParsePrefixes("10.0.0.0/8, 192.168.1.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, remote, xff, want string
	}{
		{"direct", "203.0.113.7:5000", "", "203.0.113.7"},
		{"untrusted peer's header is ignored", "203.0.113.7:5000", "1.2.3.4", "203.0.113.7"},
		{"trusted proxy", "10.1.2.3:443", "198.51.100.9", "198.51.100.9"},
		{"chain of trusted proxies", "10.1.2.3:443", "198.51.100.9, 192.168.1.1", "198.51.100.9"},
		{"spoofed left part is not believed", "10.1.2.3:443", "1.1.1.1, 198.51.100.9", "198.51.100.9"},
		{"garbage beyond the proxy", "10.1.2.3:443", "not-an-ip", "10.1.2.3"},
		{"trusted proxy without header", "10.1.2.3:443", "", "10.1.2.3"},
		{"ipv6", "[2001:db8::1]:443", "", "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := ClientAddress(r, trusted); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := ParsePrefixes("10.0.0.0/99"); err == nil {
		t.Fatal("a bad CIDR is accepted")
	}
}

func TestReserveCountsAttemptsInFlight(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &Failures{Max: 2, Window: time.Minute}
	a, _, ok1 := f.Reserve("alice", t0)
	_, _, ok2 := f.Reserve("alice", t0)
	if !ok1 || !ok2 {
		t.Fatal("attempts within the limit refused")
	}
	if _, retry, ok := f.Reserve("alice", t0); ok || retry != 60 {
		t.Fatalf("a third attempt in flight: ok %v retry %d, want false 60", ok, retry)
	}
	a.Refund() // it succeeded
	if _, _, ok := f.Reserve("alice", t0); !ok {
		t.Fatal("a refunded attempt still counts")
	}
	Reservation{}.Refund() // the zero reservation is a no-op
}

func TestAddressKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
	} {
		if got := AddressKey(tc.in); got != tc.want {
			t.Errorf("AddressKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
