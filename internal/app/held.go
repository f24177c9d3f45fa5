package app

import (
	"context"
	"sync"
	"time"
)

// Records held in memory: when the database is down, neither the store nor
// the job queue (kept in the same database) takes the record of something
// the host has already done. The record is then held here and written as
// soon as the database answers again, so a database outage loses nothing
// as long as the process lives; a shutdown tries once more and logs what
// is left, whole, for an operator.

// maxHeld bounds the records held; past it a record is logged at ERROR at
// once (an outage that long has bigger consequences than memory).
const maxHeld = 10000

// Waits between attempts to write the held records.
const (
	heldFirstWait = 100 * time.Millisecond
	heldMaxWait   = 5 * time.Second
)

type heldRecords struct {
	mu      sync.Mutex
	recs    []ActionRecord
	writing bool // a goroutine is writing them
}

// hold keeps r until the store takes it; false when too many are held.
func (s *Service) hold(r ActionRecord) bool {
	h := &s.held
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.recs) >= maxHeld {
		return false
	}
	h.recs = append(h.recs, r)
	if !h.writing {
		h.writing = true
		go s.writeHeld()
	}
	return true
}

// HeldRecords is how many action records wait in memory for the database.
func (s *Service) HeldRecords() int {
	s.held.mu.Lock()
	defer s.held.mu.Unlock()
	return len(s.held.recs)
}

// writeHeld writes the held records, waiting longer after each failure,
// until none is left.
func (s *Service) writeHeld() {
	wait := heldFirstWait
	for {
		time.Sleep(wait)
		if s.flushHeld(context.Background()) {
			return
		}
		wait = min(2*wait, heldMaxWait)
	}
}

// flushHeld tries to write every held record, in order; it reports whether
// none is left, and then the writing goroutine ends.
func (s *Service) flushHeld(ctx context.Context) bool {
	h := &s.held
	for {
		h.mu.Lock()
		if len(h.recs) == 0 {
			h.writing = false
			h.mu.Unlock()
			return true
		}
		r := h.recs[0]
		h.mu.Unlock()
		wctx, cancel := context.WithTimeout(ctx, recordTimeout)
		err := s.StoreRecord(wctx, r)
		cancel()
		if err != nil {
			return false
		}
		s.log().Info("action recorded late", "action", r.Entry.Action, "actionId", r.Entry.ActionID, "issue", r.Entry.Issue)
		h.mu.Lock()
		h.recs = h.recs[1:]
		h.mu.Unlock()
	}
}

// FlushHeld writes the held records once more (at shutdown) and logs each
// one the store still refuses at ERROR, whole, for an operator to recover.
func (s *Service) FlushHeld(ctx context.Context) {
	if s.flushHeld(ctx) {
		return
	}
	s.held.mu.Lock()
	defer s.held.mu.Unlock()
	for _, r := range s.held.recs {
		s.log().Error("action not recorded before the process stopped: recover it from this record", "record", r)
	}
}
