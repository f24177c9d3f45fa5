package jira

import (
	"context"
	"net/http"
	"sync"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// ReadyInterval is how long Ready's answer stands: readiness probes ask Jira
// at most this often, however many come.
const ReadyInterval = 30 * time.Second

// readyTimeout bounds the one call a probe makes, whoever waits for it.
const readyTimeout = 5 * time.Second

// probe is the last word on whether Jira answers: from Ready's own call, or
// from any other call to Jira, which tells as much for free.
type probe struct {
	mu       sync.Mutex
	at       time.Time     // when it was learnt; zero: never
	err      error         // nil: Jira answered
	inflight chan struct{} // closed when the call under way ends; nil: none
}

// observe records what a call with the service token showed: Jira is down
// for forgebridge when it does not answer, fails (5xx), or rejects the
// service token, or a proxy answers in its place (all ETrackerUnavailable);
// any other answer, a refusal of one request included, is Jira up. A 429 is
// neither: Jira is up but busy, and says nothing new. Calls with a person's
// token tell nothing of the service account's.
func (t *Tracker) observe(status int, err error) {
	if status == http.StatusTooManyRequests {
		return
	}
	var down error
	if fb.ErrorCode(err) == fb.ETrackerUnavailable && statusOf(err) == 0 {
		down = err
	}
	t.probe.mu.Lock()
	defer t.probe.mu.Unlock()
	t.probe.at, t.probe.err = t.now(), down
}

// Ready reports whether Jira answers, for readiness probes: the last word
// when it is younger than ReadyInterval, else the answer of one call to
// Jira's server information, shared by every probe that comes meanwhile.
// A caller whose context ends first gets its error; the call goes on for
// the others.
func (t *Tracker) Ready(ctx context.Context) error {
	t.probe.mu.Lock()
	if !t.probe.at.IsZero() && t.now().Sub(t.probe.at) < ReadyInterval {
		err := t.probe.err
		t.probe.mu.Unlock()
		return err
	}
	done := t.probe.inflight
	if done == nil {
		done = make(chan struct{})
		t.probe.inflight = done
		go t.ping(done)
	}
	t.probe.mu.Unlock()
	select {
	case <-done:
		t.probe.mu.Lock()
		defer t.probe.mu.Unlock()
		return t.probe.err
	case <-ctx.Done():
		return &fb.Error{Code: fb.ETrackerUnavailable, Message: unavailableMessage, Err: ctx.Err()}
	}
}

// ping asks Jira once (call records the answer through observe) and lets
// the waiting probes read it.
func (t *Tracker) ping(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	err := t.Ping(ctx)
	t.probe.mu.Lock()
	defer t.probe.mu.Unlock()
	// Jira answering with a refusal (a 401 for a token revoked since the
	// start) leaves it unusable all the same.
	t.probe.at, t.probe.err, t.probe.inflight = t.now(), err, nil
	close(done)
}
