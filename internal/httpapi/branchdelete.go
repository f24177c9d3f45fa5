package httpapi

import (
	"net/http"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// deleteBranch: DELETE /api/v1/issues/{key}/branches {repositoryId, name,
// token, rememberToken} → 204.
func (s *Server) deleteBranch(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in struct {
		RepositoryID string `json:"repositoryId"`
		Name         string `json:"name"`
		credentialInput
		RememberToken bool `json:"rememberToken"`
	}
	if err := decode(r, w, &in); err != nil {
		return err
	}
	err := s.App.DeleteBranch(r.Context(), u, r.PathValue("key"), app.DeleteBranchInput{RepositoryID: in.RepositoryID,
		Name: in.Name, Token: app.OneOffToken{Credential: in.credential(), Remember: in.RememberToken}})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
