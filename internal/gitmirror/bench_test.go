package gitmirror

import (
	"context"
	"net/http/httptest"
	"os"
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
		for b.Loop() {
			if lines := gittest.CloneAndLog(b, remote.URL, remote.Header); lines < n {
				b.Fatalf("git log printed %d lines for %d commits", lines, n)
			}
		}
	})
}
