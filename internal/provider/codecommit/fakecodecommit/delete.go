package fakecodecommit

import (
	"errors"
	"net/http"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// deleteBranch answers DeleteBranch: {"deletedBranch": {branchName,
// commitId}}; for a branch the repository does not have, an answer with no
// deletedBranch, as CodeCommit gives; DefaultBranchCannotBeDeletedException
// for the default branch. Callers hold s.mu.
func (s *Server) deleteBranch(in input) (any, *apiError) {
	r, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	switch {
	case in.BranchName == "":
		return nil, errorf(http.StatusBadRequest, "BranchNameRequiredException", "A branch name is required.")
	case !validRefName(in.BranchName):
		return nil, errorf(http.StatusBadRequest, "InvalidBranchNameException", "The specified reference name is not valid.")
	}
	sha, ok := r.branchLocked(in.BranchName)
	if !ok {
		return map[string]any{}, nil
	}
	if in.BranchName == r.defaultBranchLocked() {
		return nil, errorf(http.StatusBadRequest, "DefaultBranchCannotBeDeletedException",
			"The default branch of a repository cannot be deleted. Set another branch as the default first.")
	}
	switch err := r.gitLocked().UpdateRef("refs/heads/"+in.BranchName, "", sha); {
	case errors.Is(err, fakegit.ErrStale):
		return map[string]any{}, nil
	case err != nil:
		return nil, errorf(http.StatusInternalServerError, "InternalFailure", "%v", err)
	}
	return map[string]any{"deletedBranch": map[string]string{"branchName": in.BranchName, "commitId": sha}}, nil
}
