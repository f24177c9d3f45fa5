package codecommit

import (
	"context"
	"fmt"
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

// Benchmarks run against the fake and report how many CodeCommit calls one
// action costs (calls/op), the number that matters against AWS's rate limits.

func BenchmarkCreateBranch(b *testing.B) {
	w := newWorld(b)
	repo := w.repo(b, "app")
	ctx := context.Background()
	w.fake.ResetCalls()
	b.ResetTimer()
	for i := range b.N {
		if _, err := w.p.CreateBranch(ctx, good, repo, fmt.Sprintf("PROJ-%d", i), ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(w.fake.Calls()))/float64(b.N), "calls/op")
}

func BenchmarkCreatePullRequest(b *testing.B) {
	for _, open := range []int{0, maxOpenPullRequestsScanned} {
		b.Run(fmt.Sprintf("%d open", open), func(b *testing.B) {
			w := newWorld(b)
			w.fake.SetPageSize(100) // AWS pages hold up to the maxResults asked for
			repo := w.repo(b, "app")
			ctx := context.Background()
			for i := range open {
				w.app.AddBranch(fmt.Sprintf("open-%d", i))
				if _, err := w.p.CreatePullRequest(ctx, good, repo, fb.NewPullRequest{SourceBranch: fmt.Sprintf("open-%d", i), Title: "t"}); err != nil {
					b.Fatal(err)
				}
			}
			w.fake.ResetCalls()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				src := fmt.Sprintf("PROJ-%d", i)
				w.app.AddBranch(src)
				b.StartTimer()
				pr, err := w.p.CreatePullRequest(ctx, good, repo, fb.NewPullRequest{SourceBranch: src, Title: src})
				if err != nil {
					b.Fatal(err)
				}
				if open == 0 {
					b.StopTimer()
					w.fake.SetPullRequestStatus(pr.ID, "CLOSED")
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(len(w.fake.Calls()))/float64(b.N), "calls/op")
		})
	}
}
