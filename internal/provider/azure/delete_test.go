package azure_test

import (
	"context"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// TestDeleteBranchLocked: a ref update Azure answers "locked" leaves the branch.
func TestDeleteBranchLocked(t *testing.T) {
	w := newWorld(t)
	p := newProvider(t, fb.Integration{ID: "int-1", Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	d, _ := provider.Capability[provider.BranchDeleter](p)
	repo := apiRepo(t, p)
	w.api.Lock("feature/login")
	err := d.DeleteBranch(context.Background(), cred(goodPAT), repo, "feature/login")
	if fb.ErrorCode(err) != fb.EProviderDenied {
		t.Fatalf("DeleteBranch(locked) = %v, want %s", err, fb.EProviderDenied)
	}
	branches, err := p.Branches(context.Background(), cred(goodPAT), repo)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range branches {
		found = found || b.Name == "feature/login"
	}
	if !found {
		t.Error("the locked branch was deleted")
	}
}
