package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// BenchmarkRecordAction is what one action's record costs on SQLite by
// itself: the issue's record of a new branch and its audit entry, one
// commit (docs/performance.md, "The read cache, lookups without the memory
// map, and the floor").
func BenchmarkRecordAction(b *testing.B) {
	s := storetest.OpenSQLite(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		e := fb.AuditEntry{Time: time.Now(), User: "alice", Action: fb.AuditBranchCreate, IntegrationID: "i1", RepositoryID: "r1", Issue: "PROJ-1",
			Target: fmt.Sprintf("PROJ-1-b%d", i), Outcome: "success", ActionID: fmt.Sprintf("act-%d", i)}
		br := &fb.IssueBranch{IssueKey: "PROJ-1", RepositoryID: "r1", Name: e.Target, SHA: "abc", WebURL: "https://x", CreatedAt: time.Now()}
		if err := s.RecordAction(ctx, &e, br, nil); err != nil {
			b.Fatal(err)
		}
	}
}
