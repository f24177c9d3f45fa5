package jobs

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

const benchToken = "bench-token"

// benchRemote is a provider whose one repository is a bare repository
// served over smart HTTP.
type benchRemote struct{ url string }

var errBench = fb.Errorf(fb.ENotSupported, "not in this benchmark")

func (benchRemote) Validate(context.Context, fb.Credential) (fb.TokenInfo, error) {
	return fb.TokenInfo{}, errBench
}
func (benchRemote) Repositories(context.Context, fb.Credential) ([]fb.Repository, error) {
	return nil, errBench
}
func (benchRemote) Branches(context.Context, fb.Credential, fb.Repository) ([]fb.Branch, error) {
	return nil, errBench
}
func (benchRemote) CreateBranch(context.Context, fb.Credential, fb.Repository, string, string) (fb.Branch, error) {
	return fb.Branch{}, errBench
}
func (benchRemote) CreatePullRequest(context.Context, fb.Credential, fb.Repository, fb.NewPullRequest) (fb.PullRequest, error) {
	return fb.PullRequest{}, errBench
}
func (r benchRemote) GitRemote(_ context.Context, cred fb.Credential, _ fb.Repository) (provider.GitRemote, error) {
	return provider.GitRemote{URL: r.url,
		Header: "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+cred.Token))}, nil
}

// BenchmarkIndexSmartCommits measures a first index (a reset run) of the
// bare repository FORGEBRIDGE_BENCH_REPO (e.g. made by synth-history; by
// default a synthetic history of 20000 commits without commands) with the
// integration's smart commits off and on. With them on, the run also
// parses every linked commit for commands and queues a job per command and
// issue (the queue is not started: the jobs' own work comes after the run).
// It reports the CPU of the process and its git children per run, the time
// spent handing commands to the queue, and the jobs queued.
func BenchmarkIndexSmartCommits(b *testing.B) {
	dir := os.Getenv("FORGEBRIDGE_BENCH_REPO")
	if dir == "" {
		dir = gittest.Synth(b, filepath.Join(b.TempDir(), "synth.git"), 20000)
	}
	srv := httptest.NewServer(gittest.Handler(filepath.Dir(dir), benchToken))
	defer srv.Close()
	url := srv.URL + "/" + filepath.Base(dir)
	git, err := gitmirror.Find(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("smartCommits=%v", on), func(b *testing.B) {
			ctx := context.Background()
			st := storetest.OpenSQLite(b, nil)
			svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Logger: slog.New(slog.DiscardHandler)}
			in := fb.Integration{Name: "synth", Kind: fb.KindGitHub, Credential: fb.Credential{Token: benchToken},
				Settings: fb.IntegrationSettings{SmartCommits: on}}
			repos := []fb.Repository{{ExternalID: "1", Name: "synth", FullName: "acme/synth", DefaultBranch: "main"}}
			if err := st.CreateIntegrationWithRepositories(ctx, &in, repos, time.Now()); err != nil {
				b.Fatal(err)
			}
			x := &index.Indexer{Store: st, Tracker: projectKeys{"PROJ", "OPS"}, Git: git, Dir: b.TempDir(),
				Providers: func(fb.Integration, provider.Options) (provider.Provider, error) { return benchRemote{url}, nil }}
			// Opening the queue gives the indexer its SmartCommits.
			if _, err := Open(ctx, Config{DB: st.DB(), Dialect: st.Dialect(), App: svc, Indexer: x, Logger: svc.Logger,
				Rediscover: -1, Revalidate: -1, Reindex: -1}); err != nil {
				b.Fatal(err)
			}
			// The time handing commands over takes (parsed, checked against the
			// claims, queued), on the writer's goroutine.
			var handing time.Duration
			if hand := x.SmartCommits; hand != nil {
				x.SmartCommits = func(ctx context.Context, sb index.SmartCommitBatch) error {
					start := time.Now()
					defer func() { handing += time.Since(start) }()
					return hand(ctx, sb)
				}
			}
			cpu := treeCPU()
			for b.Loop() {
				res, err := x.Run(ctx, repos[0].ID, true)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(res.Commits), "commits")
			}
			b.ReportMetric((treeCPU()-cpu).Seconds()/float64(b.N), "CPU-s/op")
			b.ReportMetric(handing.Seconds()/float64(b.N), "handing-s/op")
			var queued int
			if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = ?`, kindSmartCommit).Scan(&queued); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(queued)/float64(b.N), "jobs/op")
		})
	}
}

// treeCPU is the user and system time of this process and of its ended
// children (git, the git server's http-backend).
func treeCPU() time.Duration {
	var self, children syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children) != nil {
		return 0
	}
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
}
