package store_test

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// testIndex runs the IndexStore cases on one store, each with repositories of its own.
func testIndex(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"States", testIndexStates},
		{"Lease", testIndexLease},
		{"ConcurrentClaims", testIndexConcurrentClaims},
		{"Commits", testIndexCommits},
		{"CommitsPaging", testIndexCommitsPaging},
		{"Tips", testIndexTips},
		{"BranchLinks", testIndexBranchLinks},
		{"TagLinks", testIndexTagLinks},
		{"PullRequests", testIndexPullRequests},
		{"ClosedPullRequests", testIndexClosedPullRequests},
		{"Reset", testIndexReset},
		{"RepositoryRemoval", testIndexRepositoryRemoval},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s) })
	}
}

// indexed creates an integration with n repositories and returns it and their ids.
func indexed(t *testing.T, s *store.Store, n int) (fb.Integration, []string) {
	t.Helper()
	in := fb.Integration{Name: t.Name(), Kind: fb.KindGitHub}
	var repos []fb.Repository
	for i := range n {
		repos = append(repos, fb.Repository{ExternalID: fmt.Sprint(i), FullName: fmt.Sprintf("o/r%d", i)})
	}
	must(t, s.CreateIntegrationWithRepositories(t.Context(), &in, repos, at(0)))
	var ids []string
	for _, r := range repos {
		ids = append(ids, r.ID)
	}
	return in, ids
}

func testIndexStates(t *testing.T, s *store.Store) {
	ctx := t.Context()
	_, repos := indexed(t, s, 2)
	indexedAt, retry := at(10), at(70)
	st := fb.IndexState{RepositoryID: repos[0], State: fb.IndexFailed, IndexedAt: &indexedAt, Commits: 1234,
		ErrorCode: fb.ERateLimited, ErrorMessage: "try later", RetryAt: &retry, UpdatedAt: at(11)}
	must(t, s.PutIndexState(ctx, st))
	got, err := s.IndexStates(ctx, []string{repos[0], repos[1], "unknown"})
	must(t, err)
	deepEqual(t, "IndexStates", got, map[string]fb.IndexState{
		repos[0]:  st,
		repos[1]:  {RepositoryID: repos[1], State: fb.IndexPending},
		"unknown": {RepositoryID: "unknown", State: fb.IndexPending},
	})

	// Replaced whole; a zero UpdatedAt is now.
	before := time.Now().Add(-time.Second)
	must(t, s.PutIndexState(ctx, fb.IndexState{RepositoryID: repos[0], State: fb.IndexIndexing, Commits: 5}))
	got, err = s.IndexStates(ctx, []string{repos[0]})
	must(t, err)
	if g := got[repos[0]]; g.State != fb.IndexIndexing || g.Commits != 5 || g.IndexedAt != nil || g.RetryAt != nil ||
		g.ErrorCode != "" || g.UpdatedAt.Before(before) {
		t.Errorf("state after a second put: %+v", g)
	}
	got, err = s.IndexStates(ctx, nil)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("IndexStates(nil) = %v", got)
	}
	wantCode(t, s.PutIndexState(ctx, fb.IndexState{RepositoryID: "unknown", State: fb.IndexQueued}), fb.ENotFound)
}

func testIndexLease(t *testing.T, s *store.Store) {
	ctx := t.Context()
	_, repos := indexed(t, s, 1)
	repo := repos[0]
	later := time.Now().Add(time.Hour)
	claim := func(owner string, until time.Time, want bool) {
		t.Helper()
		got, err := s.ClaimIndex(ctx, repo, owner, until)
		must(t, err)
		if got != want {
			t.Fatalf("ClaimIndex(%s) = %v, want %v", owner, got, want)
		}
	}
	claim("a", later, true)
	claim("b", later, false)
	claim("a", later.Add(time.Hour), true)  // extended
	must(t, s.ReleaseIndex(ctx, repo, "b")) // not b's: nothing changes
	claim("b", later, false)
	must(t, s.ReleaseIndex(ctx, repo, "a"))
	claim("b", later, true)

	// A lease that ended is anyone's.
	claim("b", time.Now().Add(-time.Second), true)
	claim("a", later, true)
	claim("b", later, false)

	// The claim made the state row; claiming changes no state.
	states, err := s.IndexStates(ctx, []string{repo})
	must(t, err)
	if states[repo].State != fb.IndexPending {
		t.Errorf("state after claims: %+v", states[repo])
	}
	must(t, s.PutIndexState(ctx, fb.IndexState{RepositoryID: repo, State: fb.IndexIndexing}))
	claim("a", later, true)
	states, err = s.IndexStates(ctx, []string{repo})
	must(t, err)
	if states[repo].State != fb.IndexIndexing {
		t.Errorf("state after a claim: %+v", states[repo])
	}
	// Putting the state leaves the lease alone.
	claim("b", later, false)

	_, err = s.ClaimIndex(ctx, "unknown", "a", later)
	wantCode(t, err, fb.ENotFound)
	_, err = s.ClaimIndex(ctx, repo, "", later)
	wantCode(t, err, fb.EInvalid)
}

// testIndexConcurrentClaims has many claimers, as instances sharing the
// database would, claim at once: exactly one wins, whether the state row
// exists yet or holds an expired lease.
func testIndexConcurrentClaims(t *testing.T, s *store.Store) {
	ctx := t.Context()
	_, repos := indexed(t, s, 2)
	must(t, s.PutIndexState(ctx, fb.IndexState{RepositoryID: repos[1], State: fb.IndexIndexed}))
	ok, err := s.ClaimIndex(ctx, repos[1], "gone", time.Now().Add(-time.Minute))
	must(t, err)
	if !ok {
		t.Fatal("the first claim failed")
	}
	for _, repo := range repos {
		const claimers = 12
		var wg sync.WaitGroup
		won := make(chan string, claimers)
		errs := make(chan error, claimers)
		for i := range claimers {
			wg.Go(func() {
				owner := fmt.Sprintf("instance-%d", i)
				ok, err := s.ClaimIndex(ctx, repo, owner, time.Now().Add(time.Hour))
				if err != nil {
					errs <- err
				} else if ok {
					won <- owner
				}
			})
		}
		wg.Wait()
		close(won)
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		var winners []string
		for w := range won {
			winners = append(winners, w)
		}
		if len(winners) != 1 {
			t.Errorf("winners: %v, want exactly one", winners)
		}
	}
}

func commit(repo, sha string, authored time.Time, keys ...string) fb.Commit {
	return fb.Commit{RepositoryID: repo, SHA: sha, Message: sha + " mentions " + fmt.Sprint(keys) + "\n\nbody",
		AuthorName: "Ann", AuthorEmail: "ann@example.com", AuthoredAt: authored, Keys: keys}
}

func testIndexCommits(t *testing.T, s *store.Store) {
	ctx := t.Context()
	_, repos := indexed(t, s, 1)
	repo := repos[0]
	c1 := commit(repo, "c1", at(1), "CM-1")
	c2 := commit(repo, "c2", at(2), "CM-2", "CM-1")
	odd := commit(repo, "c3", at(3), "CM-1")
	odd.Message, odd.AuthorName = "nul\x00and \xff invalid", "A\x00n"
	keyless := commit(repo, "c4", at(4))
	repeated := c2
	repeated.Keys = []string{"CM-1", "CM-1"}
	batch := []fb.Commit{c1, c2, odd, keyless, repeated}
	must(t, s.AddCommits(ctx, repo, batch))
	must(t, s.AddCommits(ctx, repo, batch)) // a run again adds nothing twice
	must(t, s.AddCommits(ctx, repo, nil))

	got, count, next, err := s.IssueCommits(ctx, fb.IssueDataQuery{IssueKey: "CM-1"})
	must(t, err)
	c2.Keys = []string{"CM-1", "CM-2"} // sorted
	odd.Message, odd.AuthorName = "nul\uFFFDand \uFFFD invalid", "A\uFFFDn"
	deepEqual(t, "IssueCommits(CM-1)", got, []fb.Commit{odd, c2, c1})
	if count != 3 || next != "" {
		t.Errorf("count %d, next %q; want 3 and none", count, next)
	}
	got, count, _, err = s.IssueCommits(ctx, fb.IssueDataQuery{IssueKey: "CM-2"})
	must(t, err)
	deepEqual(t, "IssueCommits(CM-2)", got, []fb.Commit{c2})
	if count != 1 {
		t.Errorf("count %d, want 1", count)
	}
	got, count, _, err = s.IssueCommits(ctx, fb.IssueDataQuery{IssueKey: "CM-9"})
	must(t, err)
	if len(got) != 0 || count != 0 {
		t.Errorf("an issue without commits: %v, %d", got, count)
	}
	wantCode(t, s.AddCommits(ctx, "unknown", batch), fb.ENotFound)
}

func testIndexCommitsPaging(t *testing.T, s *store.Store) {
	ctx := t.Context()
	a, reposA := indexed(t, s, 2)
	b, reposB := indexed(t, s, 1)
	// 30 commits over three repositories, authored in threes at the same
	// time, so that pages cut through ties; the same shas in each repository
	// (forks), one more key on some.
	var all []fb.Commit
	for i := range 30 {
		repo := []string{reposA[0], reposA[1], reposB[0]}[i%3]
		cm := commit(repo, fmt.Sprintf("%02d", i/3), at(i/3), "PG-1")
		if i%4 == 0 {
			cm.Keys = append(cm.Keys, "PG-2")
		}
		all = append(all, cm)
	}
	for _, repo := range []string{reposA[0], reposA[1], reposB[0]} {
		var mine []fb.Commit
		for _, cm := range all {
			if cm.RepositoryID == repo {
				mine = append(mine, cm)
			}
		}
		must(t, s.AddCommits(ctx, repo, mine))
	}
	newestFirst := slices.Clone(all)
	slices.SortFunc(newestFirst, func(x, y fb.Commit) int {
		return cmp.Or(y.AuthoredAt.Compare(x.AuthoredAt), cmp.Compare(x.RepositoryID, y.RepositoryID), cmp.Compare(x.SHA, y.SHA))
	})
	in := func(repos ...string) []fb.Commit {
		var out []fb.Commit
		for _, cm := range newestFirst {
			if slices.Contains(repos, cm.RepositoryID) {
				out = append(out, cm)
			}
		}
		return out
	}

	for _, tc := range []struct {
		name         string
		integrations []string
		limit        int
		want         []fb.Commit
		hidden       []string
	}{
		{"a hidden repository", nil, 3, in(reposA[1], reposB[0]), []string{reposA[0]}},
		{"hidden in one integration", []string{a.ID}, 4, in(reposA[1]), []string{reposA[0], reposB[0]}},
		{"every repository hidden", nil, 4, nil, []string{reposA[0], reposA[1], reposB[0]}},
		{"every integration", nil, 7, newestFirst, nil},
		{"both integrations", []string{a.ID, b.ID}, 4, newestFirst, nil},
		{"one integration", []string{a.ID}, 5, in(reposA...), nil},
		{"page of one", []string{b.ID}, 1, in(reposB...), nil},
		{"one page", nil, 1000, newestFirst, nil},
		{"unknown integration", []string{"nope"}, 10, nil, nil},
		{"no integration", []string{}, 10, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []fb.Commit
			q := fb.IssueDataQuery{IssueKey: "PG-1", IntegrationIDs: tc.integrations, Page: fb.Page{Limit: tc.limit}, HiddenRepositoryIDs: tc.hidden}
			for pages := 0; ; pages++ {
				page, count, next, err := s.IssueCommits(ctx, q)
				must(t, err)
				if count != len(tc.want) {
					t.Fatalf("count %d, want %d", count, len(tc.want))
				}
				if len(page) > tc.limit || (next != "" && len(page) != tc.limit) {
					t.Fatalf("a page of %d with limit %d (next %q)", len(page), tc.limit, next)
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				if pages > len(tc.want) {
					t.Fatal("the pages do not end")
				}
				q.Cursor = next
			}
			deepEqual(t, "every page", got, tc.want)
		})
	}
	_, _, _, err := s.IssueCommits(ctx, fb.IssueDataQuery{IssueKey: "PG-1", Page: fb.Page{Cursor: "!!"}})
	wantCode(t, err, fb.EInvalid)
}

func testIndexTips(t *testing.T, s *store.Store) {
	ctx := t.Context()
	_, repos := indexed(t, s, 2)
	repo := repos[0]
	tips, since, err := s.IndexTips(ctx, repo)
	must(t, err)
	if len(tips) != 0 || since != nil {
		t.Errorf("tips before any run: %v, %v", tips, since)
	}
	for i, want := range []map[string]string{
		{"refs/heads/main": "a1", "refs/heads/TIP-1-x": "b1", "refs/tags/v1": "a1"},
		{"refs/heads/main": "a2", "refs/tags/v1": "a1", "refs/tags/v2": "a2"}, // moved, gone, added
		{},
	} {
		since := at(100 + i)
		run := fb.IndexRun{RepositoryID: repo, StartedAt: at(i), Tips: want, PullsSince: &since,
			State: fb.IndexState{State: fb.IndexIndexed, IndexedAt: &since, Commits: int64(10 * i), UpdatedAt: since}}
		must(t, s.FinishIndex(ctx, run))
		tips, gotSince, err := s.IndexTips(ctx, repo)
		must(t, err)
		deepEqual(t, fmt.Sprintf("tips after run %d", i), tips, want)
		deepEqual(t, "PullsSince", gotSince, &since)
		states, err := s.IndexStates(ctx, []string{repo})
		must(t, err)
		run.State.RepositoryID = repo
		deepEqual(t, "state", states[repo], run.State)
	}
	tips, _, err = s.IndexTips(ctx, repos[1])
	must(t, err)
	if len(tips) != 0 {
		t.Errorf("another repository's tips: %v", tips)
	}
	wantCode(t, s.FinishIndex(ctx, fb.IndexRun{RepositoryID: "unknown", State: fb.IndexState{State: fb.IndexIndexed}}), fb.ENotFound)
}

func testIndexBranchLinks(t *testing.T, s *store.Store) {
	ctx := t.Context()
	_, repos := indexed(t, s, 2)
	repo := repos[0]
	branch := func(key, name, sha string, created time.Time) fb.IssueBranch {
		return fb.IssueBranch{IssueKey: key, RepositoryID: repo, Name: name, SHA: sha, WebURL: "https://x/" + name, CreatedAt: created}
	}
	linked := func(name, sha string, keys ...string) fb.LinkedRef {
		return fb.LinkedRef{GitRef: fb.GitRef{Name: name, SHA: sha}, WebURL: "https://x/" + name, Keys: keys}
	}
	// Created from forgebridge before the run: one still there under a name
	// without the key, one deleted since.
	kept := branch("BR-1", "fix-login", "s0", at(0))
	deleted := branch("BR-1", "gone", "s0", at(0))
	other := branch("BR-1", "BR-1-other-repo", "s0", at(0))
	other.RepositoryID = repos[1]
	for _, b := range []fb.IssueBranch{kept, deleted, other} {
		must(t, s.AddIssueBranch(ctx, b))
	}
	// Created during the run, so the run cannot have seen it.
	during := branch("BR-1", "new-during-run", "s9", time.Now().Add(time.Hour))
	must(t, s.AddIssueBranch(ctx, during))

	started := time.Now()
	tips := map[string]string{"refs/heads/fix-login": "s1", "refs/heads/BR-1-a": "s2", "refs/heads/br-2-b": "s3"}
	must(t, s.FinishIndex(ctx, fb.IndexRun{RepositoryID: repo, StartedAt: started, Tips: tips,
		Branches: []fb.LinkedRef{linked("BR-1-a", "s2", "BR-1", "BR-3"), linked("br-2-b", "s3", "BR-2")},
		State:    fb.IndexState{State: fb.IndexIndexed}}))

	names := func(key string) map[string]string {
		t.Helper()
		bs, err := s.IssueBranches(ctx, key)
		must(t, err)
		out := map[string]string{}
		for _, b := range bs {
			out[b.RepositoryID+" "+b.Name] = b.SHA
		}
		return out
	}
	deepEqual(t, "BR-1 after the first run", names("BR-1"), map[string]string{
		repo + " fix-login":      "s1", // moved to its tip
		repo + " new-during-run": "s9", repo + " BR-1-a": "s2", repos[1] + " BR-1-other-repo": "s0",
	})
	deepEqual(t, "BR-2", names("BR-2"), map[string]string{repo + " br-2-b": "s3"})
	deepEqual(t, "BR-3", names("BR-3"), map[string]string{repo + " BR-1-a": "s2"})

	// The next run: BR-1-a moved and no longer mentions BR-3, br-2-b is
	// deleted, the branch created during the last run is not there.
	tips = map[string]string{"refs/heads/fix-login": "s1", "refs/heads/BR-1-a": "s4"}
	must(t, s.FinishIndex(ctx, fb.IndexRun{RepositoryID: repo, StartedAt: time.Now().Add(2 * time.Hour), Tips: tips,
		Branches: []fb.LinkedRef{linked("BR-1-a", "s4", "BR-1")}, State: fb.IndexState{State: fb.IndexIndexed}}))
	deepEqual(t, "BR-1 after the second run", names("BR-1"), map[string]string{
		repo + " fix-login": "s1", repo + " BR-1-a": "s4", repos[1] + " BR-1-other-repo": "s0",
	})
	deepEqual(t, "BR-2 after the second run", names("BR-2"), map[string]string{})
	deepEqual(t, "BR-3 after the second run", names("BR-3"), map[string]string{})
	bs, err := s.IssueBranches(ctx, "BR-1")
	must(t, err)
	for _, b := range bs {
		if b.Name == "fix-login" && !b.CreatedAt.Equal(kept.CreatedAt) {
			t.Errorf("a created branch lost its creation time: %v", b.CreatedAt)
		}
	}

	// A branch deleted from forgebridge while a run was under way: the run
	// read it from the mirror before the host lost it, and must not bring it
	// back. A run that began after the deletion (the branch made again on
	// the host) links it as usual.
	runStarted := time.Now()
	tips["refs/heads/BR-1-deleted"] = "s5"
	must(t, s.AddIssueBranch(ctx, branch("BR-1", "BR-1-deleted", "s5", runStarted.Add(-time.Minute))))
	_, err = s.ForgetBranch(ctx, repo, "BR-1-deleted", "", &fb.AuditEntry{Time: runStarted.Add(time.Second), User: "alice",
		Action: fb.AuditBranchDelete, RepositoryID: repo, Issue: "BR-1", Target: "BR-1-deleted", Outcome: fb.AuditOutcomeSuccess})
	must(t, err)
	run := fb.IndexRun{RepositoryID: repo, StartedAt: runStarted, Tips: tips,
		Branches: []fb.LinkedRef{linked("BR-1-a", "s4", "BR-1"), linked("BR-1-deleted", "s5", "BR-1")},
		State:    fb.IndexState{State: fb.IndexIndexed}}
	must(t, s.FinishIndex(ctx, run))
	if _, ok := names("BR-1")[repo+" BR-1-deleted"]; ok {
		t.Error("a run that began before the deletion brought the deleted branch back")
	}
	run.StartedAt = runStarted.Add(time.Minute)
	must(t, s.FinishIndex(ctx, run))
	if _, ok := names("BR-1")[repo+" BR-1-deleted"]; !ok {
		t.Error("a run that began after the deletion did not link the branch made again")
	}
}

func testIndexTagLinks(t *testing.T, s *store.Store) {
	ctx := t.Context()
	a, reposA := indexed(t, s, 1)
	_, reposB := indexed(t, s, 1)
	repo := reposA[0]
	node := func(sha string, parents []string, keys ...string) fb.TaggedCommit {
		return fb.TaggedCommit{SHA: sha, Keys: keys, Parents: parents}
	}
	// v1 (t1) adds TG-1; v2 (t2) sits on v1 and adds TG-2.
	must(t, s.FinishIndex(ctx, fb.IndexRun{RepositoryID: repo, StartedAt: time.Now(),
		Tips: map[string]string{"refs/tags/v1": "t1", "refs/tags/v2": "t2", "refs/heads/main": "t2"},
		Tags: []fb.TaggedCommit{node("t1", nil, "TG-1"), node("t2", []string{"t1"}, "TG-2")}, State: fb.IndexState{State: fb.IndexIndexed}}))
	must(t, s.FinishIndex(ctx, fb.IndexRun{RepositoryID: reposB[0], StartedAt: time.Now(),
		Tips: map[string]string{"refs/tags/v1": "u1"},
		Tags: []fb.TaggedCommit{node("u1", nil, "TG-1")}, State: fb.IndexState{State: fb.IndexIndexed}}))

	tags := func(key string, integrations []string) []fb.IssueTag {
		t.Helper()
		got, err := s.IssueTags(ctx, fb.IssueDataQuery{IssueKey: key, IntegrationIDs: integrations})
		must(t, err)
		return got
	}
	wantA := []fb.IssueTag{{IssueKey: "TG-1", RepositoryID: repo, Name: "v1", SHA: "t1"}, {IssueKey: "TG-1", RepositoryID: repo, Name: "v2", SHA: "t2"}}
	wantB := []fb.IssueTag{{IssueKey: "TG-1", RepositoryID: reposB[0], Name: "v1", SHA: "u1"}}
	both := append(slices.Clone(wantA), wantB...)
	slices.SortFunc(both, func(x, y fb.IssueTag) int {
		return cmp.Or(cmp.Compare(x.RepositoryID, y.RepositoryID), cmp.Compare(x.Name, y.Name))
	})
	deepEqual(t, "IssueTags(TG-1)", tags("TG-1", nil), both)
	deepEqual(t, "IssueTags(TG-1) of one integration", tags("TG-1", []string{a.ID}), wantA)
	deepEqual(t, "IssueTags(TG-1) of no integration", tags("TG-1", []string{}), []fb.IssueTag(nil))
	deepEqual(t, "IssueTags(TG-2)", tags("TG-2", nil), []fb.IssueTag{{IssueKey: "TG-2", RepositoryID: repo, Name: "v2", SHA: "t2"}})

	// v1 is deleted: v2 still contains TG-1's work, through v1's commit.
	must(t, s.FinishIndex(ctx, fb.IndexRun{RepositoryID: repo, StartedAt: time.Now(),
		Tips: map[string]string{"refs/tags/v2": "t2", "refs/heads/main": "t2"}, State: fb.IndexState{State: fb.IndexIndexed}}))
	deepEqual(t, "IssueTags(TG-1) without v1", tags("TG-1", []string{a.ID}), []fb.IssueTag{{IssueKey: "TG-1", RepositoryID: repo, Name: "v2", SHA: "t2"}})

	// v2 moves to t3, which adds TG-3 on nothing tagged; v3 (t4) sits on it.
	must(t, s.FinishIndex(ctx, fb.IndexRun{RepositoryID: repo, StartedAt: time.Now(),
		Tips: map[string]string{"refs/tags/v2": "t3", "refs/tags/v3": "t4", "refs/heads/main": "t4"},
		Tags: []fb.TaggedCommit{node("t3", nil, "TG-3"), node("t4", []string{"t3"}, "TG-4")}, State: fb.IndexState{State: fb.IndexIndexed}}))
	deepEqual(t, "IssueTags(TG-1) after", tags("TG-1", []string{a.ID}), []fb.IssueTag(nil))
	deepEqual(t, "IssueTags(TG-2) after", tags("TG-2", nil), []fb.IssueTag(nil))
	deepEqual(t, "IssueTags(TG-3) after", tags("TG-3", nil), []fb.IssueTag{
		{IssueKey: "TG-3", RepositoryID: repo, Name: "v2", SHA: "t3"}, {IssueKey: "TG-3", RepositoryID: repo, Name: "v3", SHA: "t4"}})
	deepEqual(t, "IssueTags(TG-4) after", tags("TG-4", nil), []fb.IssueTag{{IssueKey: "TG-4", RepositoryID: repo, Name: "v3", SHA: "t4"}})
	deepEqual(t, "IssueTags(TG-3) of an unknown integration", tags("TG-3", []string{"nope"}), []fb.IssueTag(nil))
}

func testIndexPullRequests(t *testing.T, s *store.Store) {
	ctx := t.Context()
	_, repos := indexed(t, s, 1)
	repo := repos[0]
	// Created from forgebridge for PR-9 under a title without the key.
	created := fb.IssuePullRequest{IssueKey: "PR-9", RepositoryID: repo, CreatedAt: at(0), PullRequest: fb.PullRequest{
		ID: "100", Number: 1, Title: "Fix the login", WebURL: "https://x/pr/1", SourceBranch: "fix", TargetBranch: "main"}}
	must(t, s.AddIssuePullRequest(ctx, created))

	listed := fb.PullRequest{ID: "100", Number: 1, Title: "Fix the login (PR-1)", WebURL: "https://x/pr/1", SourceBranch: "fix",
		TargetBranch: "main", Description: "not kept", State: fb.PullOpen, Draft: true, Author: "ann", UpdatedAt: at(5)}
	other := fb.PullRequest{ID: "200", Number: 2, Title: "PR-1 PR-2", WebURL: "https://x/pr/2", SourceBranch: "PR-2-x",
		TargetBranch: "main", State: fb.PullDeclined, Author: "bob", UpdatedAt: at(6)}
	must(t, s.PutPullRequests(ctx, repo, []fb.IndexedPullRequest{{PullRequest: listed, Keys: []string{"PR-1"}},
		{PullRequest: other, Keys: []string{"PR-1", "PR-2", "PR-1"}}}))

	prs := func(key string) map[string]fb.PullRequest {
		t.Helper()
		got, err := s.IssuePullRequests(ctx, key)
		must(t, err)
		out := map[string]fb.PullRequest{}
		for _, pr := range got {
			if pr.RepositoryID != repo || pr.IssueKey != key {
				t.Fatalf("IssuePullRequests(%s) gave %+v", key, pr)
			}
			out[pr.ID] = pr.PullRequest
		}
		return out
	}
	listed.Description = ""                                                     // not kept
	deepEqual(t, "PR-9", prs("PR-9"), map[string]fb.PullRequest{"100": listed}) // kept, brought up to date
	deepEqual(t, "PR-1", prs("PR-1"), map[string]fb.PullRequest{"100": listed, "200": other})
	deepEqual(t, "PR-2", prs("PR-2"), map[string]fb.PullRequest{"200": other})
	if got, err := s.IssuePullRequests(ctx, "PR-9"); err != nil || !got[0].CreatedAt.Equal(at(0)) {
		t.Errorf("the created link's record time changed: %+v %v", got, err)
	}

	// Titles edited: 100 mentions PR-3 instead, 200 no key at all; merged.
	listed.Title, listed.State, listed.Draft, listed.UpdatedAt = "Fix (PR-3)", fb.PullMerged, false, at(9)
	other.Title, other.SourceBranch = "Nothing", "x"
	must(t, s.PutPullRequests(ctx, repo, []fb.IndexedPullRequest{{PullRequest: listed, Keys: []string{"PR-3"}},
		{PullRequest: other}}))
	deepEqual(t, "PR-9 after", prs("PR-9"), map[string]fb.PullRequest{"100": listed})
	deepEqual(t, "PR-3 after", prs("PR-3"), map[string]fb.PullRequest{"100": listed})
	deepEqual(t, "PR-1 after", prs("PR-1"), map[string]fb.PullRequest{})
	deepEqual(t, "PR-2 after", prs("PR-2"), map[string]fb.PullRequest{})

	must(t, s.PutPullRequests(ctx, repo, nil))
	wantCode(t, s.PutPullRequests(ctx, "unknown", []fb.IndexedPullRequest{{PullRequest: other, Keys: []string{"PR-1"}}}), fb.ENotFound)
}

// testIndexClosedPullRequests checks the ids of closed pull requests kept
// for CodeCommit's listing: recorded with the pull request whatever its
// keys, forgotten when it shows open again, by a reset and with the
// repository, and per repository.
func testIndexClosedPullRequests(t *testing.T, s *store.Store) {
	ctx := t.Context()
	_, mine := indexed(t, s, 1)
	other, theirs := indexed(t, s, 1)
	repos := []string{mine[0], theirs[0]}
	closed := func(repo string) []string {
		t.Helper()
		ids, err := s.ClosedPullRequests(ctx, repo)
		must(t, err)
		return ids
	}
	pr := func(id string, state fb.PullState, keys ...string) fb.IndexedPullRequest {
		return fb.IndexedPullRequest{PullRequest: fb.PullRequest{ID: id, Title: "t", State: state}, Keys: keys}
	}
	deepEqual(t, "none yet", closed(repos[0]), []string(nil))
	must(t, s.PutPullRequests(ctx, repos[0], []fb.IndexedPullRequest{pr("1", fb.PullOpen, "CL-1"), pr("2", fb.PullMerged),
		pr("10", fb.PullDeclined, "CL-1"), pr("3", fb.PullOpen), pr("4", "")}))
	must(t, s.PutPullRequests(ctx, repos[1], []fb.IndexedPullRequest{pr("1", fb.PullMerged)}))
	deepEqual(t, "closed", closed(repos[0]), []string{"10", "2"})
	// Passed again (an overlap of two listings), then closed, then reopened.
	must(t, s.PutPullRequests(ctx, repos[0], []fb.IndexedPullRequest{pr("2", fb.PullMerged), pr("1", fb.PullDeclined)}))
	deepEqual(t, "1 closed too", closed(repos[0]), []string{"1", "10", "2"})
	must(t, s.PutPullRequests(ctx, repos[0], []fb.IndexedPullRequest{pr("10", fb.PullOpen, "CL-1")}))
	deepEqual(t, "10 reopened", closed(repos[0]), []string{"1", "2"})
	deepEqual(t, "the other repository's", closed(repos[1]), []string{"1"})

	must(t, s.ResetIndex(ctx, repos[0]))
	deepEqual(t, "after a reset", closed(repos[0]), []string(nil))
	deepEqual(t, "the other repository's after the reset", closed(repos[1]), []string{"1"})
	must(t, s.DeleteIntegration(ctx, other.ID))
	deepEqual(t, "after the repository went", closed(repos[1]), []string(nil))
}

func testIndexReset(t *testing.T, s *store.Store) {
	ctx := t.Context()
	_, repos := indexed(t, s, 2)
	fill := func(repo string) {
		must(t, s.AddCommits(ctx, repo, []fb.Commit{commit(repo, "r1", at(1), "RS-1")}))
		since := at(5)
		must(t, s.FinishIndex(ctx, fb.IndexRun{RepositoryID: repo, StartedAt: at(2),
			Tips:       map[string]string{"refs/heads/RS-1-x": "r1", "refs/tags/v1": "r1"},
			Branches:   []fb.LinkedRef{{GitRef: fb.GitRef{Name: "RS-1-x", SHA: "r1"}, Keys: []string{"RS-1"}}},
			Tags:       []fb.TaggedCommit{{SHA: "r1", Keys: []string{"RS-1"}}},
			PullsSince: &since, State: fb.IndexState{State: fb.IndexIndexed, Commits: 1}}))
		must(t, s.PutPullRequests(ctx, repo, []fb.IndexedPullRequest{{PullRequest: fb.PullRequest{ID: "1", Title: "RS-1"}, Keys: []string{"RS-1"}}}))
	}
	fill(repos[0])
	fill(repos[1])
	ok, err := s.ClaimIndex(ctx, repos[0], "runner", time.Now().Add(time.Hour))
	must(t, err)
	if !ok {
		t.Fatal("claim failed")
	}

	must(t, s.ResetIndex(ctx, repos[0]))
	must(t, s.ResetIndex(ctx, "unknown"))

	commits, count, _, err := s.IssueCommits(ctx, fb.IssueDataQuery{IssueKey: "RS-1"})
	must(t, err)
	if count != 1 || len(commits) != 1 || commits[0].RepositoryID != repos[1] {
		t.Errorf("commits after the reset: %d %+v", count, commits)
	}
	tags, err := s.IssueTags(ctx, fb.IssueDataQuery{IssueKey: "RS-1"})
	must(t, err)
	if len(tags) != 1 || tags[0].RepositoryID != repos[1] {
		t.Errorf("tags after the reset: %+v", tags)
	}
	tips, since, err := s.IndexTips(ctx, repos[0])
	must(t, err)
	if len(tips) != 0 || since != nil {
		t.Errorf("tips after the reset: %v %v", tips, since)
	}
	states, err := s.IndexStates(ctx, repos)
	must(t, err)
	if st := states[repos[0]]; st.State != fb.IndexPending || st.Commits != 0 {
		t.Errorf("state after the reset: %+v", st)
	}
	if st := states[repos[1]]; st.State != fb.IndexIndexed {
		t.Errorf("the other repository's state: %+v", st)
	}
	// Links stay until the next run replaces them; the lease stays held.
	if bs, err := s.IssueBranches(ctx, "RS-1"); err != nil || len(bs) != 2 {
		t.Errorf("branch links after the reset: %+v %v", bs, err)
	}
	if prs, err := s.IssuePullRequests(ctx, "RS-1"); err != nil || len(prs) != 2 {
		t.Errorf("pull request links after the reset: %+v %v", prs, err)
	}
	if ok, err := s.ClaimIndex(ctx, repos[0], "other", time.Now().Add(time.Hour)); err != nil || ok {
		t.Errorf("another owner took the lease after the reset: %v %v", ok, err)
	}
	// Everything can be written again.
	fill(repos[0])
	if _, count, _, err := s.IssueCommits(ctx, fb.IssueDataQuery{IssueKey: "RS-1"}); err != nil || count != 2 {
		t.Errorf("count after indexing again: %d %v", count, err)
	}
}

// testIndexRepositoryRemoval removes repositories, by discovery and with
// their integration: everything of theirs goes, links included.
func testIndexRepositoryRemoval(t *testing.T, s *store.Store) {
	ctx := t.Context()
	in, repos := indexed(t, s, 2)
	other, otherRepos := indexed(t, s, 1)
	all := append(slices.Clone(repos), otherRepos...)
	for _, repo := range all {
		must(t, s.AddCommits(ctx, repo, []fb.Commit{commit(repo, "x1", at(1), "RM-1")}))
		must(t, s.FinishIndex(ctx, fb.IndexRun{RepositoryID: repo, StartedAt: at(2),
			Tips:     map[string]string{"refs/heads/RM-1": "x1", "refs/tags/v1": "x1"},
			Branches: []fb.LinkedRef{{GitRef: fb.GitRef{Name: "RM-1", SHA: "x1"}, Keys: []string{"RM-1"}}},
			Tags:     []fb.TaggedCommit{{SHA: "x1", Keys: []string{"RM-1"}}},
			State:    fb.IndexState{State: fb.IndexIndexed, Commits: 1}}))
		must(t, s.PutPullRequests(ctx, repo, []fb.IndexedPullRequest{{PullRequest: fb.PullRequest{ID: "1"}, Keys: []string{"RM-1"}}}))
		must(t, s.AddIssueBranch(ctx, fb.IssueBranch{IssueKey: "RM-2", RepositoryID: repo, Name: "created", CreatedAt: at(3)}))
		must(t, s.AddIssuePullRequest(ctx, fb.IssuePullRequest{IssueKey: "RM-2", RepositoryID: repo, PullRequest: fb.PullRequest{ID: "2"}}))
	}
	left := func(want ...string) {
		t.Helper()
		var got []string
		commits, count, _, err := s.IssueCommits(ctx, fb.IssueDataQuery{IssueKey: "RM-1"})
		must(t, err)
		for _, cm := range commits {
			got = append(got, cm.RepositoryID)
		}
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		deepEqual(t, "repositories with commits", got, want)
		if count != len(want) {
			t.Errorf("count %d, want %d", count, len(want))
		}
		sets := map[string][]string{}
		tags, err := s.IssueTags(ctx, fb.IssueDataQuery{IssueKey: "RM-1"})
		must(t, err)
		for _, x := range tags {
			sets["tags"] = append(sets["tags"], x.RepositoryID)
		}
		for _, key := range []string{"RM-1", "RM-2"} {
			bs, err := s.IssueBranches(ctx, key)
			must(t, err)
			for _, x := range bs {
				sets["branches "+key] = append(sets["branches "+key], x.RepositoryID)
			}
			prs, err := s.IssuePullRequests(ctx, key)
			must(t, err)
			for _, x := range prs {
				sets["pull requests "+key] = append(sets["pull requests "+key], x.RepositoryID)
			}
		}
		for what, ids := range sets {
			slices.Sort(ids)
			deepEqual(t, what, ids, want)
		}
		if len(sets) != 5 && len(want) > 0 {
			t.Errorf("links left: %v", sets)
		}
		for _, repo := range all {
			tips, _, err := s.IndexTips(ctx, repo)
			must(t, err)
			if slices.Contains(want, repo) != (len(tips) == 2) {
				t.Errorf("repository %s has tips %v", repo, tips)
			}
		}
	}
	left(all...)

	// Discovery no longer lists repos[1].
	must(t, s.ReplaceRepositories(ctx, in.ID, []fb.Repository{{ExternalID: "0", FullName: "o/r0"}}, at(4)))
	left(repos[0], otherRepos[0])
	states, err := s.IndexStates(ctx, []string{repos[1]})
	must(t, err)
	if states[repos[1]].State != fb.IndexPending {
		t.Errorf("a removed repository's state: %+v", states[repos[1]])
	}

	must(t, s.DeleteIntegration(ctx, other.ID))
	left(repos[0])
	must(t, s.DeleteIntegration(ctx, in.ID))
	left()
}
