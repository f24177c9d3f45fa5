package index_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestRunWritesCommitGraph: after each run the mirror has a commit-graph,
// which walks of the mirror (release ranges among them) rely on.
func TestRunWritesCommitGraph(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	e.h.push(t, "main", "PROJ-1 first")
	chain := filepath.Join(e.x.MirrorDir(e.repo.ID), "objects", "info", "commit-graphs", "commit-graph-chain")
	for i := range 2 {
		res := e.run(t, false)
		if _, err := os.Stat(chain); err != nil {
			t.Fatalf("run %d left no commit-graph: %v", i+1, err)
		}
		if _, ok := res.Took["graph"]; !ok {
			t.Errorf("run %d: Took has no graph part: %v", i+1, res.Took)
		}
		e.h.push(t, "main", "PROJ-2 second")
	}
}
