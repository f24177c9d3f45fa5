// Package providertest is the contract every provider driver must keep: one
// suite of scenarios that each driver runs against its own fake service, with
// the same expected forgebridge errors, so that a person cannot tell from
// forgebridge's behaviour which provider is behind a repository.
package providertest

import (
	"context"
	"errors"
	"sync"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// Harness is one driver pointed at a fresh fake service.
type Harness struct {
	Provider provider.Provider

	Good     fb.Credential // valid and may write
	ReadOnly fb.Credential // valid but may not write to Repo
	Unknown  fb.Credential // the provider does not know it
	Expired  fb.Credential // was valid, now expired or revoked

	GoodLogin string // what Validate must report for Good

	// Repositories is how many repositories discovery must find with Good;
	// the fake serves them over more than one page.
	Repositories int
	// RepoFullName is one of them, with a default branch and FeatureBranch,
	// a branch with commits that the default branch lacks.
	RepoFullName  string
	FeatureBranch string

	// RateLimit(true) makes the fake answer every request as rate limited,
	// the way the provider does; RateLimit(false) ends it.
	RateLimit func(on bool)
	// Fail(true) makes the fake answer every request with a server error.
	Fail func(on bool)
}

// Run runs the contract. setup is called once per scenario and must return
// a harness over a new fake, so scenarios do not see each other's changes.
func Run(t *testing.T, setup func(t *testing.T) *Harness) {
	t.Helper()
	ctx := context.Background()

	repoOf := func(t *testing.T, h *Harness) fb.Repository {
		t.Helper()
		repos, err := h.Provider.Repositories(ctx, h.Good)
		if err != nil {
			t.Fatalf("Repositories: %v", err)
		}
		for _, r := range repos {
			if r.FullName == h.RepoFullName {
				return r
			}
		}
		t.Fatalf("repository %q not discovered", h.RepoFullName)
		return fb.Repository{}
	}
	branchSHA := func(t *testing.T, h *Harness, repo fb.Repository, name string) string {
		t.Helper()
		branches, err := h.Provider.Branches(ctx, h.Good, repo)
		if err != nil {
			t.Fatalf("Branches: %v", err)
		}
		for _, b := range branches {
			if b.Name == name {
				if b.SHA == "" {
					t.Fatalf("branch %q has no sha", name)
				}
				return b.SHA
			}
		}
		t.Fatalf("branch %q not listed among %d branches", name, len(branches))
		return ""
	}

	t.Run("validate", func(t *testing.T) {
		h := setup(t)
		info, err := h.Provider.Validate(ctx, h.Good)
		if err != nil {
			t.Fatalf("Validate(good): %v", err)
		}
		if info.Login != h.GoodLogin {
			t.Errorf("login = %q, want %q", info.Login, h.GoodLogin)
		}
		// The stable id decides whose a token is (attribution): never empty,
		// and the same at every validation.
		again, err := h.Provider.Validate(ctx, h.Good)
		if info.UserID == "" || err != nil || again.UserID != info.UserID {
			t.Errorf("user id %q, then %q (%v): want one non-empty id", info.UserID, again.UserID, err)
		}
		for name, cred := range map[string]fb.Credential{"unknown": h.Unknown, "expired": h.Expired} {
			_, err := h.Provider.Validate(ctx, cred)
			wantCode(t, "Validate("+name+")", err, fb.ETokenRejected)
		}
	})

	t.Run("discover repositories over pages", func(t *testing.T) {
		h := setup(t)
		repos, err := h.Provider.Repositories(ctx, h.Good)
		if err != nil {
			t.Fatalf("Repositories: %v", err)
		}
		if len(repos) != h.Repositories {
			t.Fatalf("discovered %d repositories, want %d", len(repos), h.Repositories)
		}
		seen := map[string]bool{}
		for _, r := range repos {
			if r.ExternalID == "" || r.Name == "" || r.FullName == "" || r.DefaultBranch == "" || r.WebURL == "" {
				t.Errorf("incomplete repository %+v", r)
			}
			if seen[r.ExternalID] {
				t.Errorf("repository %s listed twice", r.ExternalID)
			}
			seen[r.ExternalID] = true
		}
		_, err = h.Provider.Repositories(ctx, h.Unknown)
		wantCode(t, "Repositories(unknown)", err, fb.ETokenRejected)
	})

	t.Run("create branch", func(t *testing.T) {
		h := setup(t)
		repo := repoOf(t, h)
		head := branchSHA(t, h, repo, repo.DefaultBranch)
		b, err := h.Provider.CreateBranch(ctx, h.Good, repo, "PROJ-1-new-work", "")
		if err != nil {
			t.Fatalf("CreateBranch: %v", err)
		}
		if b.Name != "PROJ-1-new-work" || b.SHA != head || b.WebURL == "" {
			t.Errorf("created %+v, want name PROJ-1-new-work at %s with a web URL", b, head)
		}
		if got := branchSHA(t, h, repo, "PROJ-1-new-work"); got != head {
			t.Errorf("listed sha %s, want %s", got, head)
		}
		feature := branchSHA(t, h, repo, h.FeatureBranch)
		b, err = h.Provider.CreateBranch(ctx, h.Good, repo, "PROJ-2/from-feature", h.FeatureBranch)
		if err != nil {
			t.Fatalf("CreateBranch from %s: %v", h.FeatureBranch, err)
		}
		if b.SHA != feature {
			t.Errorf("branch from %s at %s, want %s", h.FeatureBranch, b.SHA, feature)
		}
	})

	t.Run("create branch errors", func(t *testing.T) {
		h := setup(t)
		repo := repoOf(t, h)
		if _, err := h.Provider.CreateBranch(ctx, h.Good, repo, "PROJ-3", ""); err != nil {
			t.Fatalf("CreateBranch: %v", err)
		}
		_, err := h.Provider.CreateBranch(ctx, h.Good, repo, "PROJ-3", "")
		if e := wantCode(t, "CreateBranch(again)", err, fb.EAlreadyExists); e != nil {
			if e.Existing == nil || e.Existing.Name != "PROJ-3" {
				t.Errorf("existing = %+v, want the branch PROJ-3", e.Existing)
			}
		}
		_, err = h.Provider.CreateBranch(ctx, h.Good, repo, "PROJ-4", "no-such-base")
		wantCode(t, "CreateBranch(unknown base)", err, fb.EProviderRejected)
		_, err = h.Provider.CreateBranch(ctx, h.ReadOnly, repo, "PROJ-5", "")
		wantCode(t, "CreateBranch(read-only)", err, fb.EProviderDenied)
		_, err = h.Provider.CreateBranch(ctx, h.Unknown, repo, "PROJ-6", "")
		wantCode(t, "CreateBranch(unknown token)", err, fb.ETokenRejected)
		_, err = h.Provider.CreateBranch(ctx, h.Expired, repo, "PROJ-7", "")
		wantCode(t, "CreateBranch(expired token)", err, fb.ETokenRejected)
	})

	t.Run("delete branch", func(t *testing.T) {
		h := setup(t)
		d, ok := provider.Capability[provider.BranchDeleter](h.Provider)
		if !ok {
			t.Fatal("the driver cannot delete branches")
		}
		repo := repoOf(t, h)
		for _, name := range []string{"PROJ-9-done", "PROJ-9/nested"} {
			if _, err := h.Provider.CreateBranch(ctx, h.Good, repo, name, ""); err != nil {
				t.Fatalf("CreateBranch: %v", err)
			}
			err := d.DeleteBranch(ctx, h.ReadOnly, repo, name)
			wantCode(t, "DeleteBranch(read-only)", err, fb.EProviderDenied)
			err = d.DeleteBranch(ctx, h.Unknown, repo, name)
			wantCode(t, "DeleteBranch(unknown token)", err, fb.ETokenRejected)
			if err := d.DeleteBranch(ctx, h.Good, repo, name); err != nil {
				t.Fatalf("DeleteBranch(%s): %v", name, err)
			}
			branches, err := h.Provider.Branches(ctx, h.Good, repo)
			if err != nil {
				t.Fatalf("Branches: %v", err)
			}
			for _, b := range branches {
				if b.Name == name {
					t.Errorf("%s is still listed after its deletion", name)
				}
			}
			err = d.DeleteBranch(ctx, h.Good, repo, name)
			wantCode(t, "DeleteBranch(again)", err, fb.ENotFound)
		}
		// The other branches stay.
		branchSHA(t, h, repo, h.FeatureBranch)
		branchSHA(t, h, repo, repo.DefaultBranch)
	})

	t.Run("concurrent create of one branch", func(t *testing.T) {
		h := setup(t)
		repo := repoOf(t, h)
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = h.Provider.CreateBranch(ctx, h.Good, repo, "PROJ-8-race", "")
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if fb.ErrorCode(err) != fb.EAlreadyExists {
				t.Errorf("concurrent create: %v, want success or %s", err, fb.EAlreadyExists)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d concurrent creates succeeded, want exactly 1", ok, n)
		}
	})

	t.Run("create pull request", func(t *testing.T) {
		h := setup(t)
		repo := repoOf(t, h)
		in := fb.NewPullRequest{SourceBranch: h.FeatureBranch, TargetBranch: repo.DefaultBranch,
			Title: "PROJ-9 Make it work", Description: "Details", Draft: true}
		pr, err := h.Provider.CreatePullRequest(ctx, h.Good, repo, in)
		if err != nil {
			t.Fatalf("CreatePullRequest: %v", err)
		}
		if pr.ID == "" || pr.WebURL == "" || pr.Title != in.Title ||
			pr.SourceBranch != in.SourceBranch || pr.TargetBranch != in.TargetBranch {
			t.Errorf("created %+v, want id, web URL, title and branches of %+v", pr, in)
		}
		_, err = h.Provider.CreatePullRequest(ctx, h.Good, repo, in)
		if e := wantCode(t, "CreatePullRequest(again)", err, fb.EAlreadyExists); e != nil {
			if e.Existing == nil || e.Existing.WebURL != pr.WebURL {
				t.Errorf("existing = %+v, want the pull request at %s", e.Existing, pr.WebURL)
			}
		}
		_, err = h.Provider.CreatePullRequest(ctx, h.ReadOnly, repo,
			fb.NewPullRequest{SourceBranch: h.FeatureBranch, TargetBranch: repo.DefaultBranch, Title: "x"})
		wantCode(t, "CreatePullRequest(read-only)", err, fb.EProviderDenied)
		_, err = h.Provider.CreatePullRequest(ctx, h.Good, repo,
			fb.NewPullRequest{SourceBranch: repo.DefaultBranch, TargetBranch: repo.DefaultBranch, Title: "x"})
		wantCode(t, "CreatePullRequest(same branch)", err, fb.EProviderRejected)
		_, err = h.Provider.CreatePullRequest(ctx, h.Good, repo,
			fb.NewPullRequest{SourceBranch: "no-such-branch", TargetBranch: repo.DefaultBranch, Title: "x"})
		wantCode(t, "CreatePullRequest(unknown source)", err, fb.EProviderRejected)
	})

	t.Run("rate limited", func(t *testing.T) {
		h := setup(t)
		repo := repoOf(t, h)
		h.RateLimit(true)
		_, err := h.Provider.Validate(ctx, h.Good)
		if e := wantCode(t, "Validate(rate limited)", err, fb.ERateLimited); e != nil && e.RetryAfter < 1 {
			t.Errorf("retryAfter = %d, want at least 1", e.RetryAfter)
		}
		_, err = h.Provider.CreateBranch(ctx, h.Good, repo, "PROJ-10", "")
		wantCode(t, "CreateBranch(rate limited)", err, fb.ERateLimited)
		h.RateLimit(false)
		if _, err := h.Provider.Validate(ctx, h.Good); err != nil {
			t.Errorf("Validate after the limit: %v", err)
		}
	})

	t.Run("provider failing", func(t *testing.T) {
		h := setup(t)
		repo := repoOf(t, h)
		h.Fail(true)
		_, err := h.Provider.Repositories(ctx, h.Good)
		wantCode(t, "Repositories(failing)", err, fb.EProviderUnavailable)
		_, err = h.Provider.CreateBranch(ctx, h.Good, repo, "PROJ-11", "")
		wantCode(t, "CreateBranch(failing)", err, fb.EProviderUnavailable)
	})
}

// wantCode reports an error unless err is a *forgebridge.Error with code want,
// and returns it when it is. It also checks the message is set.
func wantCode(t *testing.T, what string, err error, want fb.Code) *fb.Error {
	t.Helper()
	var e *fb.Error
	if !errors.As(err, &e) || e.Code != want {
		t.Errorf("%s: got %v, want code %s", what, err, want)
		return nil
	}
	if e.Message == "" {
		t.Errorf("%s: error %s has no message for people", what, e.Code)
	}
	return e
}
