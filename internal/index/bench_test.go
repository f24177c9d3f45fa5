package index_test

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// synthRemote is a driver whose repository is a synthetic history served
// over smart HTTP.
type synthRemote struct {
	driver
	url string
}

func (d synthRemote) GitRemote(_ context.Context, cred fb.Credential, _ fb.Repository) (provider.GitRemote, error) {
	return provider.GitRemote{URL: d.url,
		Header: "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+cred.Token))}, nil
}

func benchCommits(b *testing.B) int {
	n := 20000
	if s := os.Getenv("FORGEBRIDGE_BENCH_COMMITS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("FORGEBRIDGE_BENCH_COMMITS=%q is not a number of commits", s)
		}
	}
	return n
}

// benchBackend is SQLite, or PostgreSQL with FORGEBRIDGE_BENCH_DB=postgres.
func benchBackend() storetest.Backend {
	for _, b := range storetest.Backends() {
		if b.Name == os.Getenv("FORGEBRIDGE_BENCH_DB") {
			return b
		}
	}
	return storetest.Backends()[0]
}

// BenchmarkFirstIndex measures a first index of a synthetic history
// (FORGEBRIDGE_BENCH_COMMITS commits, default 20000) served over smart HTTP:
// fetch, read every commit, link keys into the store, branches, tags and
// state, against what git alone needs to bring the same history over and
// read it (git clone --mirror, then git log --all). It reports the peak
// RSS of the process.
func BenchmarkFirstIndex(b *testing.B) {
	root, n := benchHistory(b)
	srv := httptest.NewServer(gittest.Handler(root, goodToken))
	defer srv.Close()
	url := srv.URL + "/synth.git"

	b.Run("forgebridge", func(b *testing.B) {
		git, err := gitmirror.Find(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		st := benchBackend().Open(b, nil)
		in := fb.Integration{Name: "synth", Kind: fb.KindGitHub, Credential: fb.Credential{Token: goodToken}}
		repos := []fb.Repository{{ExternalID: "1", Name: "synth", FullName: "acme/synth", DefaultBranch: "main", WebURL: "https://git.example/acme/synth"}}
		if err := st.CreateIntegrationWithRepositories(context.Background(), &in, repos, time.Now()); err != nil {
			b.Fatal(err)
		}
		x := &index.Indexer{Store: st, Tracker: projects{"PROJ", "OPS"}, Git: git, Dir: b.TempDir(),
			Providers: func(fb.Integration, provider.Options) (provider.Provider, error) {
				return synthRemote{driver: driver{&host{}}, url: url}, nil
			}}
		cpu := treeCPU()
		heap := sampleHeap()
		for b.Loop() {
			res, err := x.Run(context.Background(), repos[0].ID, true)
			if err != nil {
				b.Fatal(err)
			}
			if res.Commits != int64(n) {
				b.Fatalf("read %d commits, want %d", res.Commits, n)
			}
			for part, d := range res.Took {
				b.ReportMetric(d.Seconds(), part+"-s")
			}
		}
		b.ReportMetric((treeCPU()-cpu).Seconds()/float64(b.N), "CPU-s/op")
		b.ReportMetric(float64(heap())/(1<<20), "peak-Go-heap-MiB")
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
		}
	})

	b.Run("git-clone-and-log", func(b *testing.B) {
		cpu := treeCPU()
		for b.Loop() {
			gittest.CloneAndLog(b, url, gittest.BasicHeader("x", goodToken))
		}
		b.ReportMetric((treeCPU()-cpu).Seconds()/float64(b.N), "CPU-s/op")
	})
}

// benchHistory returns a directory holding synth.git and its number of
// commits: a history of FORGEBRIDGE_BENCH_COMMITS commits made with
// gittest.Synth, or, with FORGEBRIDGE_BENCH_REPO, a bare repository made
// beforehand (e.g. by synth-history, since a million commits take minutes
// to make).
func benchHistory(b *testing.B) (string, int) {
	root := b.TempDir()
	if repo := os.Getenv("FORGEBRIDGE_BENCH_REPO"); repo != "" {
		abs, err := filepath.Abs(repo)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(root, "synth.git")); err != nil {
			b.Fatal(err)
		}
		out, err := exec.Command("git", "--git-dir="+abs, "rev-list", "--all", "--count").Output()
		if err != nil {
			b.Fatalf("counting the commits of %s: %v", abs, err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			b.Fatal(err)
		}
		return root, n
	}
	n := benchCommits(b)
	gittest.Synth(b, filepath.Join(root, "synth.git"), n)
	return root, n
}

// indexedSynth makes a synthetic history of benchCommits commits on a git
// server, indexes it once, and returns the indexer, its repository and the
// host's side of the repository, for benchmarks of the runs that follow.
func indexedSynth(b *testing.B) (*index.Indexer, []fb.Repository, *fakegit.Repo) {
	n := benchCommits(b)
	root := b.TempDir()
	dir := gittest.Synth(b, filepath.Join(root, "synth.git"), n)
	srv := httptest.NewServer(gittest.Handler(root, goodToken))
	b.Cleanup(srv.Close)
	git, err := gitmirror.Find(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	st := benchBackend().Open(b, nil)
	in := fb.Integration{Name: "synth", Kind: fb.KindGitHub, Credential: fb.Credential{Token: goodToken}}
	repos := []fb.Repository{{ExternalID: "1", Name: "synth", FullName: "acme/synth", DefaultBranch: "main"}}
	if err := st.CreateIntegrationWithRepositories(context.Background(), &in, repos, time.Now()); err != nil {
		b.Fatal(err)
	}
	x := &index.Indexer{Store: st, Tracker: projects{"PROJ", "OPS"}, Git: git, Dir: b.TempDir(),
		Providers: func(fb.Integration, provider.Options) (provider.Provider, error) {
			return synthRemote{driver: driver{&host{}}, url: srv.URL + "/synth.git"}, nil
		}}
	if _, err := x.Run(context.Background(), repos[0].ID, false); err != nil {
		b.Fatal(err)
	}
	return x, repos, hostRepo(b, dir)
}

// BenchmarkIncremental measures one run after one new commit was pushed to
// a repository already indexed: what a webhook costs forgebridge.
func BenchmarkIncremental(b *testing.B) {
	x, repos, host := indexedSynth(b)
	i := 0
	cpu := cpuTime()
	for b.Loop() {
		b.StopTimer()
		i++
		if _, err := host.Commit("main", []byte("PROJ-1 change "+strconv.Itoa(i)), gitAuthor); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := x.Run(context.Background(), repos[0].ID, false)
		if err != nil {
			b.Fatal(err)
		}
		if res.Commits != 1 {
			b.Fatalf("read %d commits, want 1", res.Commits)
		}
	}
	// forgebridge's own time, git's processes aside (the pushes included:
	// they are git processes too).
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "own-CPU-ms/op")
}

// cpuTime is the user and system time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var gitAuthor = fakegit.Author{Name: "Bench", Email: "bench@example.com"}

// hostRepo opens a bare repository to push to as the host.
func hostRepo(b *testing.B, dir string) *fakegit.Repo { return &fakegit.Repo{Dir: dir} }

// treeCPU is the user and system time of this process and of its children
// that have ended (git, and the git server's http-backend): on a machine
// shared with other work it compares the two sides better than wall time.
func treeCPU() time.Duration {
	var self, children syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children) != nil {
		return 0
	}
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
}

// sampleHeap samples the Go heap in use every 200 ms until the returned
// function is called, which answers the largest sample: RSS also counts
// SQLite's page caches and its memory-mapped database file, which grow with
// the database rather than with what the indexer holds.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}

// BenchmarkNewTag measures a later run after one new commit and a new tag
// on it were pushed to a repository already indexed: the tags' part of a
// release on top of a long history.
func BenchmarkNewTag(b *testing.B) {
	x, repos, host := indexedSynth(b)
	i := 0
	cpu := cpuTime()
	for b.Loop() {
		b.StopTimer()
		i++
		sha, err := host.Commit("main", []byte("PROJ-1 release "+strconv.Itoa(i)), gitAuthor)
		if err == nil {
			err = host.UpdateRef("refs/tags/bench-"+strconv.Itoa(i), sha, "")
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := x.Run(context.Background(), repos[0].ID, false)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.Took["tags"].Seconds()*1000, "tags-ms")
	}
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "own-CPU-ms/op")
}
