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
