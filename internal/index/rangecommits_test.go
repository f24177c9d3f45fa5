package index

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
)

func TestRangeCommits(t *testing.T) {
	ctx := context.Background()
	git, err := gitmirror.Find(ctx)
	if err != nil {
		t.Skip(err)
	}
	x := &Indexer{Git: git, Dir: t.TempDir()}
	dir := gittest.Synth(t, x.MirrorDir("r1"), 4100) // tags v1.1 (2000, annotated), v1.2 (4000)
	revList := func(args ...string) []string {
		out := strings.Fields(gittest.Git(t, "", append([]string{"--git-dir=" + dir, "rev-list"}, args...)...))
		slices.Sort(out)
		return out
	}
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

	for _, tc := range []struct{ from, to string }{
		{"v1.1", "v1.2"}, {"v1.2", "main"}, {"refs/tags/v1.1", "refs/heads/main"}, {"main", "v1.1"},
	} {
		got, err := x.RangeCommits(ctx, "r1", tc.from, tc.to, 10_000)
		if err != nil {
			t.Fatalf("%s..%s: %v", tc.from, tc.to, err)
		}
		if want := revList(tc.to, "^"+tc.from); !slices.Equal(sorted(got), want) {
			t.Errorf("%s..%s: %d commits, git says %d", tc.from, tc.to, len(got), len(want))
		}
	}
	if got, _ := x.RangeCommits(ctx, "r1", "v1.1", "v1.2", 10_000); len(got) != 2000-4 { // v1.1..v1.2 less four branch commits
		t.Errorf("v1.1..v1.2 has %d commits", len(got))
	}

	// A moved tag is a new range, not the remembered one.
	gittest.Git(t, "", "--git-dir="+dir, "tag", "-f", "v1.1", "v1.2~10")
	if got, _ := x.RangeCommits(ctx, "r1", "v1.1", "v1.2", 10_000); len(got) != 10 {
		t.Errorf("after moving v1.1: %d commits, want 10", len(got))
	}

	for _, bad := range []struct{ repo, from, to, says string }{
		{"r1", "v1.1", "v9", `no tag or branch "v9"`},
		{"r1", "--all", "main", `no tag or branch "--all"`},
		{"r1", "HEAD~3", "main", `no tag or branch "HEAD~3"`},
		{"r1", "v1.1^{tree}", "main", "no tag or branch"},
		{"r1", "", "main", "not a tag or branch name"},
		{"r1", "v1.1", "main", "more than 100 commits"},
		{"r2", "v1.1", "main", "not been mirrored"},
	} {
		limit := 10_000
		if strings.Contains(bad.says, "more than") {
			limit = 100
		}
		_, err := x.RangeCommits(ctx, bad.repo, bad.from, bad.to, limit)
		if fb.ErrorCode(err) != fb.EInvalid || !strings.Contains(fb.ErrorMessage(err), bad.says) {
			t.Errorf("%s %s..%s: %v, want invalid_request saying %q", bad.repo, bad.from, bad.to, err, bad.says)
		}
	}
}

func TestRangeCache(t *testing.T) {
	var c rangeCache
	shas := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint(i)
		}
		return out
	}
	k := func(i int) rangeKey { return rangeKey{"r", fmt.Sprint(i), "to"} }
	c.put(k(1), shas(rangeCacheCommits/2))
	c.put(k(2), shas(rangeCacheCommits/4))
	if _, ok := c.get(k(1)); !ok { // k(1) is now the most recently used
		t.Fatal("k1 missing")
	}
	c.put(k(3), shas(rangeCacheCommits/2)) // evicts k(2), the least recently used
	for i, want := range map[int]bool{1: true, 2: false, 3: true} {
		if _, ok := c.get(k(i)); ok != want {
			t.Errorf("k%d cached: %v, want %v", i, ok, want)
		}
	}
	c.put(k(4), shas(rangeCacheCommits+1)) // too large to keep
	if _, ok := c.get(k(4)); ok || c.commits > rangeCacheCommits {
		t.Errorf("an oversized range is kept, or the bound is passed: %d", c.commits)
	}
}
