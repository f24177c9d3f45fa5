package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	gh "github.com/google/go-github/v84/github"
)

// BenchmarkCreateBranchAPI is one create-branch request through the HTTP
// API: authentication, permission checks, the credential rule with a saved
// (decrypted) user token, the two GitHub calls against the in-process fake,
// the issue record and the audit entry.
func BenchmarkCreateBranchAPI(b *testing.B) {
	e := newEnv(b)
	if r := e.do("PUT", "/api/v1/me/tokens/"+e.integrationID, e.alice, fmt.Sprintf(`{"token":%q}`, aliceToken),
		"Content-Type", "application/json"); r.status != http.StatusOK {
		b.Fatalf("save token: %d %s", r.status, r.body)
	}
	b.ReportAllocs()
	i := 0
	var took []time.Duration
	for b.Loop() {
		i++
		start := time.Now()
		r := e.do("POST", "/api/v1/issues/PROJ-1/branches", e.alice, fmt.Sprintf(`{"repositoryId":%q,"name":"PROJ-1-b%d"}`, e.repoID, i),
			"Content-Type", "application/json")
		if r.status != http.StatusCreated {
			b.Fatalf("create: %d %s", r.status, r.body)
		}
		took = append(took, time.Since(start))
	}
	reportMedian(b, took)
}

// reportMedian adds the median duration of the iterations to the results,
// since the overhead target is stated as a median.
func reportMedian(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
}

// BenchmarkCreateBranchAPIParallel is the same request from many clients at once.
func BenchmarkCreateBranchAPIParallel(b *testing.B) {
	e := newEnv(b)
	if r := e.do("PUT", "/api/v1/me/tokens/"+e.integrationID, e.alice, fmt.Sprintf(`{"token":%q}`, aliceToken),
		"Content-Type", "application/json"); r.status != http.StatusOK {
		b.Fatalf("save token: %d %s", r.status, r.body)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := e.do("POST", "/api/v1/issues/PROJ-1/branches", e.alice,
				fmt.Sprintf(`{"repositoryId":%q,"name":"PROJ-1-p%d"}`, e.repoID, n.Add(1)), "Content-Type", "application/json")
			if r.status != http.StatusCreated {
				b.Errorf("create: %d %s", r.status, r.body)
				return
			}
		}
	})
}

// BenchmarkCreateBranchDirect makes the same two GitHub calls with go-github
// straight against the fake: the baseline the API's overhead is measured from.
func BenchmarkCreateBranchDirect(b *testing.B) {
	e := newEnv(b)
	c, err := gh.NewClient(e.gh.Client()).WithAuthToken(aliceToken).WithEnterpriseURLs(e.gh.URL()+"/", e.gh.URL()+"/")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	var took []time.Duration
	for b.Loop() {
		i++
		start := time.Now()
		ref, _, err := c.Git.GetRef(ctx, "acme", "app", "heads/main")
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Git.CreateRef(ctx, "acme", "app", gh.CreateRef{Ref: fmt.Sprintf("refs/heads/PROJ-1-d%d", i), SHA: ref.Object.GetSHA()}); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	reportMedian(b, took)
}
