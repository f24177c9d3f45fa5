package app_test

import (
	"context"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// BenchmarkReleaseIssues lists the issues of a release range of 10,000
// commits (v1.5..v1.10 of a 30,000-commit synthetic history: about 2,200
// PROJ issues, every commit of it indexed), the issue's target being 200 ms:
// the first page, and every issue (the export), on each store, with and
// without a commit-graph in the mirror; cold walks the range with git each
// time, warm finds it in the indexer's range cache (paging, downloading).
func BenchmarkReleaseIssues(b *testing.B) {
	ctx := context.Background()
	q := app.IssueSearch{Range: "v1.5..v1.10"}
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			e := newSearchEnv(b, backend.Open(b, storetest.NewCipher()), 30_000)
			q.RepositoryID = e.repo.ID
			all, _, err := e.svc.ExportIssues(ctx, e.alice, q)
			if err != nil || len(all) < 2000 {
				b.Fatalf("the release has %d issues (%v), want over 2,000", len(all), err)
			}
			for _, graph := range []bool{false, true} {
				name := "no-commit-graph"
				if graph {
					gittest.Git(b, "", "--git-dir="+e.mirror, "commit-graph", "write", "--reachable")
					name = "commit-graph"
				}
				for _, cold := range []bool{true, false} {
					temp := "/warm"
					if cold {
						temp = "/cold"
					}
					b.Run(name+temp+"/page", func(b *testing.B) {
						for b.Loop() {
							if cold {
								e.svc.Index.Range = (&index.Indexer{Git: e.indexer.Git, Dir: e.indexer.Dir}).RangeCommits
							}
							if _, _, err := e.svc.SearchIssues(ctx, e.alice, q, fb.Page{Limit: 100}); err != nil {
								b.Fatal(err)
							}
						}
					})
					b.Run(name+temp+"/all", func(b *testing.B) {
						for b.Loop() {
							if cold {
								e.svc.Index.Range = (&index.Indexer{Git: e.indexer.Git, Dir: e.indexer.Dir}).RangeCommits
							}
							if _, _, err := e.svc.ExportIssues(ctx, e.alice, q); err != nil {
								b.Fatal(err)
							}
						}
					})
				}
			}
		})
	}
}
