package httpapi

import (
	"net/http"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

type fileChangeJSON struct {
	Path      string `json:"path"`
	OldPath   string `json:"oldPath"`
	Status    string `json:"status"`
	Additions int    `json:"additions"`
	Deletions int    `json:"deletions"`
	Binary    bool   `json:"binary"`
	Patch     string `json:"patch"`
	Truncated bool   `json:"truncated"`
}

type commitDiffJSON struct {
	SHA          string           `json:"sha"`
	RepositoryID string           `json:"repositoryId"`
	Message      string           `json:"message"`
	Author       commitAuthorJSON `json:"author"`
	AuthoredAt   time.Time        `json:"authoredAt"`
	WebURL       string           `json:"webUrl"`
	Parents      []string         `json:"parents"`
	Issues       []string         `json:"issues"`
	Files        []fileChangeJSON `json:"files"`
	Truncated    bool             `json:"truncated"`
}

func toCommitDiff(v app.CommitDiffView) commitDiffJSON {
	out := commitDiffJSON{SHA: v.SHA, RepositoryID: v.Repository.ID, Message: v.Message,
		Author: commitAuthorJSON{Name: v.AuthorName, Email: v.AuthorEmail}, AuthoredAt: v.AuthoredAt.UTC(), WebURL: v.WebURL,
		Parents: v.Parents, Issues: v.Issues, Files: make([]fileChangeJSON, 0, len(v.Files)), Truncated: v.Truncated}
	if out.Parents == nil {
		out.Parents = []string{}
	}
	if out.Issues == nil {
		out.Issues = []string{}
	}
	if v.User != nil {
		out.Author.User = &userJSON{Name: v.User.Name, DisplayName: v.User.DisplayName}
	}
	for _, f := range v.Files {
		out.Files = append(out.Files, fileChangeJSON{Path: f.Path, OldPath: f.OldPath, Status: f.Status, Additions: f.Additions,
			Deletions: f.Deletions, Binary: f.Binary, Patch: f.Patch, Truncated: f.Truncated})
	}
	return out
}

// getCommit answers a commit's changed files and diff (API.md "A commit's diff").
func (s *Server) getCommit(w http.ResponseWriter, r *http.Request, u fb.User) error {
	v, err := s.App.CommitDiff(r.Context(), u, r.PathValue("id"), r.PathValue("sha"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toCommitDiff(v))
	return nil
}
