package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestActionIDIdempotent checks that an action written again under its
// action id (a retry from the job queue) leaves one audit entry and one
// issue record, also when the writes race, while entries without an id
// repeat as before.
func TestActionIDIdempotent(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t, nil)
			ctx := context.Background()
			when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			entry := func(issue, id string) fb.AuditEntry {
				return fb.AuditEntry{Time: when, User: "alice", Action: fb.AuditBranchCreate, Issue: issue, ActionID: id,
					Target: issue + "-x", Outcome: fb.AuditOutcomeSuccess}
			}
			branch := func(issue string) *fb.IssueBranch {
				return &fb.IssueBranch{IssueKey: issue, RepositoryID: "r1", Name: issue + "-x", SHA: "abc",
					WebURL: "https://x/b", CreatedAt: when}
			}
			count := func(issue string) int {
				t.Helper()
				entries, _, err := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 100}, User: "alice"})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, e := range entries {
					if e.Issue == issue {
						n++
					}
				}
				return n
			}

			first, again := entry("PROJ-1", "act-1"), entry("PROJ-1", "act-1")
			again.Time = when.Add(time.Hour) // a retry an hour later
			if err := s.RecordAction(ctx, &first, branch("PROJ-1"), nil); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordAction(ctx, &again, branch("PROJ-1"), nil); err != nil {
				t.Fatalf("recording the same action again: %v", err)
			}
			if again.ID != first.ID || !again.Time.Equal(first.Time) {
				t.Errorf("the second write got entry %d at %s, want the first's %d at %s", again.ID, again.Time, first.ID, first.Time)
			}
			if n := count("PROJ-1"); n != 1 {
				t.Errorf("%d audit entries for one action written twice, want 1", n)
			}
			if bs, err := s.IssueBranches(ctx, "PROJ-1"); err != nil || len(bs) != 1 {
				t.Errorf("issue branches %+v %v, want one", bs, err)
			}

			// AddAudit honours the id too.
			for range 2 {
				e := entry("PROJ-2", "act-2")
				if err := s.AddAudit(ctx, &e); err != nil {
					t.Fatal(err)
				}
			}
			if n := count("PROJ-2"); n != 1 {
				t.Errorf("%d audit entries from AddAudit twice with one action id, want 1", n)
			}

			// Without an id every write is an entry.
			for range 2 {
				e := entry("PROJ-3", "")
				if err := s.AddAudit(ctx, &e); err != nil {
					t.Fatal(err)
				}
			}
			if n := count("PROJ-3"); n != 2 {
				t.Errorf("%d audit entries from two writes without an action id, want 2", n)
			}

			// Racing writes of one action: some may fail (and would be
			// retried), but never two entries.
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					e := entry("PROJ-4", "act-4")
					_ = s.RecordAction(ctx, &e, branch("PROJ-4"), nil)
				})
			}
			wg.Wait()
			e := entry("PROJ-4", "act-4")
			if err := s.RecordAction(ctx, &e, branch("PROJ-4"), nil); err != nil {
				t.Fatalf("the retry after racing writes: %v", err)
			}
			if n := count("PROJ-4"); n != 1 {
				t.Errorf("%d audit entries after racing writes of one action, want 1", n)
			}
		})
	}
}
