package app

import (
	"time"

	"github.com/forgebridge/forgebridge/internal/ratelimit"
	"golang.org/x/time/rate"
)

// SetReadLimit replaces the per-person limit of provider reads; call it
// before the service is used.
func SetReadLimit(s *Service, perSecond float64, burst int) {
	s.guard.reads = &ratelimit.Buckets{Rate: rate.Limit(perSecond), Burst: burst}
}

// HoldPasswordSlots takes every password-check slot and sets how long a
// check waits for one; the function returned gives them back.
func HoldPasswordSlots(s *Service, wait time.Duration) (release func()) {
	s.guard.wait = wait
	g := s.guards()
	for range cap(g.checks) {
		g.checks <- struct{}{}
	}
	return func() {
		for range cap(g.checks) {
			<-g.checks
		}
	}
}

var (
	Truncate   = truncate
	BoundAudit = boundAudit
)

// DevelopmentTitle is developmentTitle, for tests.
var DevelopmentTitle = developmentTitle
