package gitmirror

import (
	"bufio"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteCommitGraph checks that WriteCommitGraph after a fetch leaves
// the mirror's commit-graph holding every commit it has: after the first (a
// clone), and after later ones as new layers.
func TestWriteCommitGraph(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	r := h.repo(t, "acme/app")
	commit(t, r, "main", "PROJ-1 first\n")
	commit(t, r, "main", "PROJ-2 second\n")
	commit(t, r, "feature", "OPS-1 feature root\n")

	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "mirrors", "1"))
	for i, want := range []int{3, 6, 6} {
		if i == 1 {
			commit(t, r, "main", "PROJ-3 third\n")
			commit(t, r, "feature", "OPS-2 more\n")
			commit(t, r, "new", "PROJ-4 new branch\n")
		}
		if err := m.Fetch(context.Background(), h.remote("acme/app")); err != nil {
			t.Fatalf("Fetch %d: %v", i+1, err)
		}
		if err := m.WriteCommitGraph(context.Background()); err != nil {
			t.Fatalf("WriteCommitGraph after fetch %d: %v", i+1, err)
		}
		if got := graphCommits(t, m.Dir); got != want {
			t.Errorf("after fetch %d the commit-graph holds %d commits, want %d", i+1, got, want)
		}
	}
}

// graphCommits counts the commits in the layers of the split commit-graph
// of the repository at dir (git's commitgraph format: each layer's OID
// fanout chunk ends with its number of commits).
func graphCommits(t *testing.T, dir string) int {
	t.Helper()
	info := filepath.Join(dir, "objects", "info", "commit-graphs")
	chain, err := os.Open(filepath.Join(info, "commit-graph-chain"))
	if err != nil {
		t.Fatalf("no commit-graph chain: %v", err)
	}
	defer chain.Close()
	total := 0
	sc := bufio.NewScanner(chain)
	for sc.Scan() {
		b, err := os.ReadFile(filepath.Join(info, "graph-"+sc.Text()+".graph"))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 8 || string(b[:4]) != "CGPH" {
			t.Fatalf("graph-%s is not a commit-graph", sc.Text())
		}
		chunks := int(b[6])
		found := false
		for c := range chunks {
			entry := b[8+12*c:]
			if string(entry[:4]) == "OIDF" {
				off := binary.BigEndian.Uint64(entry[4:12])
				total += int(binary.BigEndian.Uint32(b[off+255*4:]))
				found = true
			}
		}
		if !found {
			t.Fatalf("graph-%s has no fanout", sc.Text())
		}
	}
	return total
}
