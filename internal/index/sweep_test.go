package index_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestSweepMirrors: the mirrors, and unfinished clones, of repositories
// that no longer exist are deleted; those of existing repositories, and
// whatever else is in the directory, stay.
func TestSweepMirrors(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	e.run(t, false) // a real mirror of the existing repository
	dir := filepath.Join(e.x.Dir, "mirrors")
	gone := "0123456789abcdef0123456789abcdef"
	for _, name := range []string{gone + ".git", gone + ".git.clone-123", e.repo.ID + ".git.clone-9", "notes.txt", "other"} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	n, err := e.x.SweepMirrors(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("SweepMirrors = %d, %v; want 2 deleted", n, err)
	}
	for name, want := range map[string]bool{
		gone + ".git": false, gone + ".git.clone-123": false,
		e.repo.ID + ".git": true, e.repo.ID + ".git.clone-9": true, "notes.txt": true, "other": true,
	} {
		_, err := os.Stat(filepath.Join(dir, name))
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", name, got, want)
		}
	}
	// Once the repository is removed, its mirror goes at the next sweep.
	must(t, e.st.DeleteIntegration(t.Context(), e.in.ID))
	if n, err := e.x.SweepMirrors(t.Context()); err != nil || n != 2 {
		t.Errorf("after removing the repository: %d deleted, %v; want its mirror and clone (2)", n, err)
	}
	// No mirrors directory yet: nothing to do.
	e.x.Dir = t.TempDir()
	if n, err := e.x.SweepMirrors(t.Context()); err != nil || n != 0 {
		t.Errorf("without mirrors: %d, %v", n, err)
	}
}

// TestRunOfRemovedRepository: a run whose repository is removed while it
// goes (its job cancelled) leaves no mirror behind.
func TestRunOfRemovedRepository(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	e.h.push(t, "main", "PROJ-1 first")
	e.run(t, false)
	must(t, e.st.DeleteIntegration(t.Context(), e.in.ID))
	if _, err := e.x.Run(t.Context(), e.repo.ID, false); err != nil {
		t.Fatalf("Run of a removed repository: %v", err)
	}
	if _, err := os.Stat(e.x.MirrorDir(e.repo.ID)); !os.IsNotExist(err) {
		t.Errorf("the mirror of a removed repository is still there: %v", err)
	}
}

// failingWrites is a store whose commit writes fail after the first few.
type failingWrites struct {
	index.Store
	left int
}

func (f *failingWrites) AddCommits(ctx context.Context, repositoryID string, commits []fb.Commit) error {
	if f.left == 0 {
		return fb.Errorf(fb.EInternal, "disk full")
	}
	f.left--
	return f.Store.AddCommits(ctx, repositoryID, commits)
}

// TestWriteFailure: commits are written while git is read; a write that
// fails fails the run, which records no tips, so the next run reads the
// same commits again and completes.
func TestWriteFailure(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	for i := range 3 {
		e.h.push(t, "main", fmt.Sprintf("PROJ-%d work", i+1))
	}
	st := &failingWrites{Store: e.st}
	e.x.Store = st
	if _, err := e.x.Run(t.Context(), e.repo.ID, false); fb.ErrorCode(err) != fb.EInternal {
		t.Fatalf("Run with failing writes: %v, want the write's error", err)
	}
	if s := e.state(t); s.State != fb.IndexFailed {
		t.Errorf("state after a failed write: %+v", s)
	}
	st.left = -1 // writes work again
	if res := e.run(t, false); res.Commits != 3 {
		t.Errorf("the next run read %d commits, want all 3 again", res.Commits)
	}
	if got := len(e.commits(t, "PROJ-2")); got != 1 {
		t.Errorf("PROJ-2 has %d commits, want 1", got)
	}
}
