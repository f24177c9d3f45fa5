package codecommit

import (
	"context"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// TestDeleteBranchDefault: CodeCommit refuses to delete the default branch.
func TestDeleteBranchDefault(t *testing.T) {
	w := newWorld(t)
	d, _ := provider.Capability[provider.BranchDeleter](w.p)
	repo := w.repo(t, "app")
	err := d.DeleteBranch(context.Background(), good, repo, "main")
	if fb.ErrorCode(err) != fb.EProviderDenied {
		t.Fatalf("DeleteBranch(main) = %v, want %s", err, fb.EProviderDenied)
	}
	branches, err := w.p.Branches(context.Background(), good, repo)
	if err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, b := range branches {
		kept = kept || b.Name == "main"
	}
	if !kept {
		t.Error("the default branch was deleted")
	}
}
