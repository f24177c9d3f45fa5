package app_test

import (
	"fmt"
	"testing"

	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// BenchmarkBranchActions measures one delete (host call, records off every
// issue, the Jira link removed, audit) and one branch with its pull request
// in one step (GitHub: base commit, empty commit, ref, pull request, both
// recorded and linked), against the local fakes on SQLite.
func BenchmarkBranchActions(b *testing.B) {
	e := newDeleteEnv(b, storetest.OpenSQLite(b, nil), false, false)
	n := 0 // names stay new across the runs of each sub-benchmark
	b.Run("delete", func(b *testing.B) {
		for range b.N {
			n++
			name := fmt.Sprintf("PROJ-1-bench-%d", n)
			e.repo.AddBranch(name)
			if err := e.svc.DeleteBranch(e.ctx, e.admin, "PROJ-1", app.DeleteBranchInput{RepositoryID: e.repoID, Name: name}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one step", func(b *testing.B) {
		for range b.N {
			n++
			out, err := e.svc.CreateBranch(e.ctx, e.admin, "PROJ-1", app.CreateBranchInput{RepositoryID: e.repoID,
				Name: fmt.Sprintf("PROJ-1-both-%d", n), PullRequest: &app.PullRequestOptions{Draft: true}})
			if err != nil || out.PullRequest == nil {
				b.Fatalf("%v %+v", err, out.PullRequestError)
			}
		}
	})
}
