package github

import (
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

// TestDeleteBranchRefused: GitHub's 422s for the default branch and a
// protected one are refusals that leave the branch; the call is DELETE
// git/refs/heads/NAME with the name's slashes kept.
func TestDeleteBranchRefused(t *testing.T) {
	f, repo := newFake(t)
	d := newDriver(t, integration(fb.KindGitHub, f), f)
	r := fb.Repository{FullName: "acme/app", DefaultBranch: "main"}
	repo.AddBranch("PROJ-1/keep")
	repo.Protect("PROJ-1/keep")
	repo.AddBranch("PROJ-2/go")
	for _, tt := range []struct {
		name string
		want fb.Code
		kept bool
	}{
		{"main", fb.EProviderDenied, true},
		{"PROJ-1/keep", fb.EProviderDenied, true},
		{"PROJ-2/go", "", false},
		{"PROJ-3/never", fb.ENotFound, false},
	} {
		err := d.DeleteBranch(ctx, cred(goodToken), r, tt.name)
		if fb.ErrorCode(err) != tt.want || tt.want == "" && err != nil {
			t.Errorf("DeleteBranch(%s) = %v, want code %q", tt.name, err, tt.want)
		}
		if _, ok := repo.Branch(tt.name); ok != tt.kept {
			t.Errorf("%s exists %v after the delete, want %v", tt.name, ok, tt.kept)
		}
	}
	var deletes []string
	for _, c := range f.Calls() {
		if c.Method == "DELETE" {
			deletes = append(deletes, c.Path)
		}
	}
	if len(deletes) != 4 || deletes[2] != "/repos/acme/app/git/refs/heads/PROJ-2/go" {
		t.Errorf("DELETE calls %q, want git/refs/heads/… for each", deletes)
	}
}
