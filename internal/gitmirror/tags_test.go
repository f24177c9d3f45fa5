package gitmirror

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// TestRevList walks b ^a and refuses what is not a revision.
func TestRevList(t *testing.T) {
	g, err := Find(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r, err := fakegit.New(filepath.Join(t.TempDir(), "r.git"), "main")
	if err != nil {
		t.Fatal(err)
	}
	commit := func(branch, msg string) string {
		sha, err := r.Commit(branch, []byte(msg), fakegit.Author{})
		if err != nil {
			t.Fatal(err)
		}
		return sha
	}
	commit("main", "root")
	a := commit("main", "a")
	between := commit("main", "between")
	b := commit("main", "b")
	side, err := r.CommitOn(a, []byte("side"), fakegit.Author{})
	if err != nil {
		t.Fatal(err)
	}
	for ref, sha := range map[string]string{"refs/tags/a": a, "refs/tags/b": b, "refs/tags/side": side, "refs/heads/side": side} {
		if err := r.UpdateRef(ref, sha, ""); err != nil {
			t.Fatal(err)
		}
	}
	var walked []string
	if err := g.Mirror(r.Dir).RevList(context.Background(), []string{b}, []string{a}, func(sha string) error {
		walked = append(walked, sha)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(walked, []string{b, between}) {
		t.Errorf("RevList(b ^a) = %v, want b and the commit between", walked)
	}
	if err := g.Mirror(r.Dir).RevList(context.Background(), []string{"--all"}, nil, func(string) error { return nil }); err == nil {
		t.Error("RevList(--all) did not fail")
	}
}
