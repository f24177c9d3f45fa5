package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	gh "github.com/google/go-github/v84/github"
)

// BenchmarkCreateBranchAPI is one create-branch request through the HTTP
// API: authentication, permission checks, the credential rule with a saved
// (decrypted) user token, the two GitHub calls against the in-process fake,
// the issue record and the audit entry.
func BenchmarkCreateBranchAPI(b *testing.B) {
	e := benchEnv(b)
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
	e := benchEnv(b)
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
	e := benchEnv(b)
	c, err := gh.NewClient(e.gh.Client()).WithAuthToken(aliceToken).WithEnterpriseURLs(e.ghURL+"/", e.ghURL+"/")
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

// BenchmarkCreateBranchSideBySide measures the API and go-github directly in
// the same run, interleaved, so a busy machine slows both alike. Each
// iteration is one round: 200 sequential requests each way (medians), then
// 32 concurrent clients sending 20 requests each, each way (throughput). The
// reported metrics are the medians over rounds: added-p50-ns is the API's
// median less the direct median, ratio-32 the API's throughput over direct.
// Both sides use a client that keeps 64 idle connections, so neither pays
// for reconnecting. Run with -benchtime 5x or more.
//
// A third side, the floor, is the least any HTTP service in front of the
// two calls costs: a bare net/http handler that reads the same JSON body,
// makes the same two go-github calls and answers 201 with JSON, with no
// authentication, no database and no middleware. Its floor-added-p50-ns and
// floor-ratio-32 bound what forgebridge can reach on this machine.
func BenchmarkCreateBranchSideBySide(b *testing.B) {
	e := benchEnv(b)
	apiClient := keepAliveClient(e.srv.Client())
	c, err := gh.NewClient(keepAliveClient(e.gh.Client())).WithAuthToken(aliceToken).WithEnterpriseURLs(e.ghURL+"/", e.ghURL+"/")
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	api := func() error {
		body := fmt.Sprintf(`{"repositoryId":%q,"name":"PROJ-1-s%d"}`, e.repoID, n.Add(1))
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/issues/PROJ-1/branches", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+e.alice)
		req.Header.Set("Content-Type", "application/json")
		resp, err := apiClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("create: %d %s", resp.StatusCode, raw)
		}
		return nil
	}
	ctx := context.Background()
	direct := func() error {
		ref, _, err := c.Git.GetRef(ctx, "acme", "app", "heads/main")
		if err != nil {
			return err
		}
		_, _, err = c.Git.CreateRef(ctx, "acme", "app", gh.CreateRef{Ref: fmt.Sprintf("refs/heads/PROJ-1-d%d", n.Add(1)), SHA: ref.Object.GetSHA()})
		return err
	}
	floorSrv := httptest.NewServer(floorHandler(c))
	b.Cleanup(floorSrv.Close)
	floorClient := keepAliveClient(floorSrv.Client())
	floor := func() error {
		body := fmt.Sprintf(`{"repositoryId":%q,"name":"PROJ-1-f%d"}`, e.repoID, n.Add(1))
		resp, err := floorClient.Post(floorSrv.URL+"/", "application/json", bytes.NewBufferString(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("floor: %d %s", resp.StatusCode, raw)
		}
		return nil
	}
	var apiP50, directP50, added, apiRPS, directRPS, ratio, floorAdded, floorRatio []float64
	for b.Loop() {
		a, err := sequentialMedian(api, 200)
		if err != nil {
			b.Fatal(err)
		}
		d, err := sequentialMedian(direct, 200)
		if err != nil {
			b.Fatal(err)
		}
		ar, err := concurrentRate(api, 32, 20)
		if err != nil {
			b.Fatal(err)
		}
		dr, err := concurrentRate(direct, 32, 20)
		if err != nil {
			b.Fatal(err)
		}
		f, err := sequentialMedian(floor, 200)
		if err != nil {
			b.Fatal(err)
		}
		fr, err := concurrentRate(floor, 32, 20)
		if err != nil {
			b.Fatal(err)
		}
		floorAdded, floorRatio = append(floorAdded, f-d), append(floorRatio, fr/dr)
		apiP50, directP50, added = append(apiP50, a), append(directP50, d), append(added, a-d)
		apiRPS, directRPS, ratio = append(apiRPS, ar), append(directRPS, dr), append(ratio, ar/dr)
	}
	b.ReportMetric(median(apiP50), "api-p50-ns")
	b.ReportMetric(median(directP50), "direct-p50-ns")
	b.ReportMetric(median(added), "added-p50-ns")
	b.ReportMetric(median(apiRPS), "api-32-req/s")
	b.ReportMetric(median(directRPS), "direct-32-req/s")
	b.ReportMetric(median(ratio), "ratio-32")
	b.ReportMetric(median(floorAdded), "floor-added-p50-ns")
	b.ReportMetric(median(floorRatio), "floor-ratio-32")
}

// floorHandler is the floor of BenchmarkCreateBranchSideBySide: the request
// body decoded, the two calls made with c, the branch answered as JSON.
func floorHandler(c *gh.Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ RepositoryID, Name string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ref, _, err := c.Git.GetRef(r.Context(), "acme", "app", "heads/main")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		made, _, err := c.Git.CreateRef(r.Context(), "acme", "app", gh.CreateRef{Ref: "refs/heads/" + in.Name, SHA: ref.Object.GetSHA()})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]string{"name": in.Name, "sha": made.Object.GetSHA(), "repositoryId": in.RepositoryID})
	})
}

// keepAliveClient copies c with a transport that keeps enough idle
// connections for 32 clients.
func keepAliveClient(c *http.Client) *http.Client {
	t := c.Transport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 64, 64
	return &http.Client{Transport: t}
}

func sequentialMedian(f func() error, n int) (float64, error) {
	took := make([]float64, 0, n)
	for range n {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		took = append(took, float64(time.Since(start).Nanoseconds()))
	}
	return median(took), nil
}

// concurrentRate runs f from clients goroutines, each calling it each times,
// and answers the calls per second.
func concurrentRate(f func() error, clients, each int) (float64, error) {
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for range each {
				if err := f(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(clients*each) / took.Seconds(), nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// benchEnv is the test environment with the integration's GitHub calls going
// to fastRefs in front of the fake, and alice's token saved.
func benchEnv(b *testing.B) *env {
	e := newEnvFront(b, func(gh *fakegithub.Server) string {
		sha, _ := gh.Repo("acme/app").Branch("main")
		return newFastRefs(b, gh, sha, serviceToken, aliceToken).URL
	})
	if r := e.do("PUT", "/api/v1/me/tokens/"+e.integrationID, e.alice, fmt.Sprintf(`{"token":%q}`, aliceToken),
		"Content-Type", "application/json"); r.status != http.StatusOK {
		b.Fatalf("save token: %d %s", r.status, r.body)
	}
	return e
}
