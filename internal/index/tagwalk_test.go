package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestTagWalk checks the one-walk tags' graph against the definition on
// random histories with merges: a tag's keys are those of the commits it
// contains that none of its parents in the graph contains, and its parents
// are the tags below it with no other tag between.
func TestTagWalk(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		n := 2 + rng.IntN(40)
		sha := func(i int) string { return fmt.Sprintf("%040x", i) }
		num := func(s string) int {
			v, _ := strconv.ParseInt(s, 16, 64)
			return int(v)
		}
		parents := make([][]int, n) // parents of i are older commits
		for i := 1; i < n; i++ {
			parents[i] = []int{rng.IntN(i)}
			if i > 2 && rng.IntN(4) == 0 {
				if p := rng.IntN(i); p != parents[i][0] {
					parents[i] = append(parents[i], p)
				}
			}
		}
		refs := map[string]string{}
		tagged := map[int]bool{}
		for i := range n {
			if rng.IntN(3) == 0 {
				refs[fmt.Sprintf("refs/tags/t%d", i)] = sha(i)
				tagged[i] = true
			}
		}
		refs["refs/heads/main"] = sha(n - 1)
		// reach[i]: the commits i contains, itself included.
		reach := make([]map[int]bool, n)
		for i := range n {
			reach[i] = map[int]bool{i: true}
			for _, p := range parents[i] {
				for c := range reach[p] {
					reach[i][c] = true
				}
			}
		}
		key := func(i int) string { return fmt.Sprintf("K-%d", i) }
		w := newTagWalk(refs)
		for i := n - 1; i >= 0; i-- { // every child before its parents
			var ps []string
			for _, p := range parents[i] {
				ps = append(ps, sha(p))
			}
			w.visit(sha(i), ps, []string{key(i)})
		}
		got, err := w.result()
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range got {
			ti := num(tc.SHA)
			// Parents: tags below ti with no tag strictly between.
			var wantParents []string
			for u := range tagged {
				if u == ti || !reach[ti][u] {
					continue
				}
				between := false
				for v := range tagged {
					if v != ti && v != u && reach[ti][v] && reach[v][u] {
						between = true
					}
				}
				if !between {
					wantParents = append(wantParents, sha(u))
				}
			}
			slices.Sort(wantParents)
			var wantKeys []string
			for c := range reach[ti] {
				own := true
				for _, p := range wantParents {
					if reach[num(p)][c] {
						own = false
					}
				}
				if own {
					wantKeys = append(wantKeys, key(c))
				}
			}
			slices.Sort(wantKeys)
			if !slices.Equal(tc.Parents, wantParents) || !slices.Equal(tc.Keys, wantKeys) {
				t.Fatalf("seed %d, tag on %d: parents %v keys %v, want %v %v (history %v)", seed, ti, tc.Parents, tc.Keys, wantParents, wantKeys, parents)
			}
		}
		if len(got) != len(tagged) {
			t.Fatalf("seed %d: %d tagged commits, want %d", seed, len(got), len(tagged))
		}
	}
}

// TestTagWalkNewTagsOnly checks a later run's walk: from the new tags alone,
// with the earlier tags marked, stopping when done says so. Each new tag's
// parents and own keys must follow the definition (a tag contains a commit
// iff the commit is an ancestor of the tag) on random histories with merges,
// new tags both above earlier ones and on old work.
func TestTagWalkNewTagsOnly(t *testing.T) {
	sha := func(i int) string { return fmt.Sprintf("%040x", i) }
	num := func(s string) int {
		v, _ := strconv.ParseInt(s, 16, 64)
		return int(v)
	}
	key := func(i int) string { return fmt.Sprintf("K-%d", i) }
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 2))
		n := 2 + rng.IntN(60)
		parents := make([][]int, n)
		for i := 1; i < n; i++ {
			parents[i] = []int{rng.IntN(i)}
			if i > 2 && rng.IntN(4) == 0 {
				if p := rng.IntN(i); p != parents[i][0] {
					parents[i] = append(parents[i], p)
				}
			}
		}
		reach := make([]map[int]bool, n)
		for i := range n {
			reach[i] = map[int]bool{i: true}
			for _, p := range parents[i] {
				for c := range reach[p] {
					reach[i][c] = true
				}
			}
		}
		refs := map[string]string{"refs/heads/main": sha(n - 1)}
		tagged, fresh := map[int]bool{}, map[int]bool{}
		var freshSHAs []string
		for i := range n {
			switch rng.IntN(4) {
			case 0: // an earlier run's tag
				refs[fmt.Sprintf("refs/tags/old%d", i)] = sha(i)
				tagged[i] = true
			case 1: // new since then
				refs[fmt.Sprintf("refs/tags/new%d", i)] = sha(i)
				tagged[i], fresh[i] = true, true
				freshSHAs = append(freshSHAs, sha(i))
			}
		}
		w := newTagWalk(refs)
		w.only(freshSHAs)
		// The walk: every commit some new tag contains, children first.
		for i := n - 1; i >= 0 && !w.done(); i-- {
			inFresh := false
			for f := range fresh {
				inFresh = inFresh || reach[f][i]
			}
			if !inFresh {
				continue
			}
			var ps []string
			for _, p := range parents[i] {
				ps = append(ps, sha(p))
			}
			w.visit(sha(i), ps, []string{key(i)})
		}
		if len(fresh) > 0 && !w.done() {
			t.Fatalf("seed %d: the walk read everything and is not done", seed)
		}
		got, err := w.result()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(fresh) {
			t.Fatalf("seed %d: %d tagged commits in the result, want the %d new ones", seed, len(got), len(fresh))
		}
		for _, tc := range got {
			ti := num(tc.SHA)
			if !fresh[ti] {
				t.Fatalf("seed %d: an earlier tag %d in the result", seed, ti)
			}
			var wantParents []string
			for u := range tagged {
				if u == ti || !reach[ti][u] {
					continue
				}
				between := false
				for v := range tagged {
					if v != ti && v != u && reach[ti][v] && reach[v][u] {
						between = true
					}
				}
				if !between {
					wantParents = append(wantParents, sha(u))
				}
			}
			slices.Sort(wantParents)
			var wantKeys []string
			for c := range reach[ti] {
				own := true
				for _, p := range wantParents {
					if reach[num(p)][c] {
						own = false
					}
				}
				if own {
					wantKeys = append(wantKeys, key(c))
				}
			}
			slices.Sort(wantKeys)
			if !slices.Equal(tc.Parents, wantParents) || !slices.Equal(tc.Keys, wantKeys) {
				t.Fatalf("seed %d, new tag on %d: parents %v keys %v, want %v %v (history %v, tags %v, new %v)",
					seed, ti, tc.Parents, tc.Keys, wantParents, wantKeys, parents, tagged, fresh)
			}
		}
	}
}

// TestTagWalkStopsAtEarlierTags checks that a new release on a line of
// history reads only the commits since the last tag, not the whole history.
func TestTagWalkStopsAtEarlierTags(t *testing.T) {
	sha := func(i int) string { return fmt.Sprintf("%040x", i) }
	const n, last = 1000, 990
	refs := map[string]string{"refs/tags/v1": sha(500), "refs/tags/v2": sha(last), "refs/tags/v3": sha(n - 1)}
	w := newTagWalk(refs)
	w.only([]string{sha(n - 1)})
	visited := 0
	for i := n - 1; i >= 0 && !w.done(); i-- {
		var ps []string
		if i > 0 {
			ps = []string{sha(i - 1)}
		}
		w.visit(sha(i), ps, []string{fmt.Sprintf("K-%d", i)})
		visited++
	}
	if visited != n-last {
		t.Errorf("the walk read %d commits, want the %d from v3 down to v2", visited, n-last)
	}
	got, _ := w.result()
	if len(got) != 1 || !slices.Equal(got[0].Parents, []string{sha(last)}) || len(got[0].Keys) != n-1-last {
		t.Errorf("v3 = %+v, want parent v2 and the %d keys above it", got, n-1-last)
	}
}
