package gitmirror

import (
	"bufio"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
)

// BenchmarkFetchAndLog measures a first index (Fetch, Refs, Log of every
// ref) of a synthetic history served over smart HTTP, against what git
// itself needs for the same: git clone --mirror, then git log --all.
// FORGEBRIDGE_BENCH_COMMITS sets the history's size (default 20000).
func BenchmarkFetchAndLog(b *testing.B) {
	n := 20000
	if s := os.Getenv("FORGEBRIDGE_BENCH_COMMITS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("FORGEBRIDGE_BENCH_COMMITS=%q is not a number of commits", s)
		}
	}
	root := b.TempDir()
	gittest.Synth(b, filepath.Join(root, "synth.git"), n)
	srv := httptest.NewServer(gittest.Handler(root, password))
	defer srv.Close()
	remote := Remote{URL: srv.URL + "/synth.git", Header: gittest.BasicHeader("x", password)}
	g, err := Find(context.Background())
	if err != nil {
		b.Fatal(err)
	}

	b.Run("gitmirror", func(b *testing.B) {
		for b.Loop() {
			m := g.Mirror(filepath.Join(b.TempDir(), "m"))
			if err := m.Fetch(context.Background(), remote); err != nil {
				b.Fatal(err)
			}
			refs, err := m.Refs(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			var include []string
			for _, sha := range refs {
				include = append(include, sha)
			}
			count, size := 0, 0
			if err := m.Log(context.Background(), include, nil, func(c Commit) error {
				count++
				size += len(c.Message)
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			if count != n {
				b.Fatalf("Log listed %d commits, want %d", count, n)
			}
		}
	})

	b.Run("git-clone-and-log", func(b *testing.B) {
		env := append(gittest.Env(), "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0="+remote.Header)
		for b.Loop() {
			dir := filepath.Join(b.TempDir(), "m")
			clone := exec.Command("git", "clone", "--quiet", "--mirror", remote.URL, dir)
			clone.Env = env
			if out, err := clone.CombinedOutput(); err != nil {
				b.Fatalf("clone: %v: %s", err, out)
			}
			log := exec.Command("git", "--git-dir="+dir, "log", "--all", "--format=%H%x00%B")
			log.Env = env
			out, err := log.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := log.Start(); err != nil {
				b.Fatal(err)
			}
			// Read it as a program would, line by line.
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 64<<10), 32<<20)
			lines := 0
			for sc.Scan() {
				lines++
			}
			io.Copy(io.Discard, out)
			if err := log.Wait(); err != nil || lines < n {
				b.Fatalf("git log: %v, %d lines", err, lines)
			}
		}
	})
}
