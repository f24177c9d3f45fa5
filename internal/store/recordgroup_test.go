package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestRecordActionConcurrent records many actions at once (on SQLite they
// share transactions) and checks that each caller gets its own entry id and
// time, and every entry and branch is stored exactly once, also when the
// same action is among them twice.
func TestRecordActionConcurrent(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t, nil)
			ctx := context.Background()
			when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			const n = 40
			entries := make([]fb.AuditEntry, n+1)
			errs := make([]error, n+1)
			var wg sync.WaitGroup
			for i := range entries {
				id := i
				if i == n {
					id = 0 // the first action, written twice
				}
				entries[i] = fb.AuditEntry{Time: when, User: "carol", Action: fb.AuditBranchCreate, Issue: "PROJ-7",
					ActionID: fmt.Sprintf("group-%d", id), Target: fmt.Sprintf("b%d", id), Outcome: fb.AuditOutcomeSuccess}
				br := &fb.IssueBranch{IssueKey: "PROJ-7", RepositoryID: "r1", Name: fmt.Sprintf("b%d", id), SHA: "abc",
					WebURL: "https://x/b", CreatedAt: when}
				wg.Go(func() { errs[i] = s.RecordAction(ctx, &entries[i], br, nil) })
			}
			wg.Wait()
			ids := map[int64]bool{}
			for i, err := range errs {
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if i < n {
					if entries[i].ID == 0 || ids[entries[i].ID] {
						t.Errorf("record %d got entry id %d, want a new one", i, entries[i].ID)
					}
					ids[entries[i].ID] = true
				}
			}
			if entries[n].ID != entries[0].ID {
				t.Errorf("the action written twice got entries %d and %d, want one", entries[0].ID, entries[n].ID)
			}
			got, _, err := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 100}, User: "carol"})
			if err != nil || len(got) != n {
				t.Errorf("audit: %d entries, %v; want %d", len(got), err, n)
			}
			if bs, err := s.IssueBranches(ctx, "PROJ-7"); err != nil || len(bs) != n {
				t.Errorf("branches: %d, %v; want %d", len(bs), err, n)
			}
		})
	}
}
