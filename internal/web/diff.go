package web

import (
	"net/http"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// patchLine is one line of a patch with how it is drawn.
type patchLine struct {
	Class string // "add", "del", "hunk" or "" (context)
	Text  string
}

// patchLines splits a patch into lines for the diff page; the classes, not
// colours alone, carry the meaning (each line keeps its +/- sign).
func patchLines(patch string) []patchLine {
	var out []patchLine
	for line := range strings.Lines(patch) {
		line = strings.TrimSuffix(line, "\n")
		l := patchLine{Text: line}
		switch {
		case strings.HasPrefix(line, "@@"):
			l.Class = "hunk"
		case strings.HasPrefix(line, "+"):
			l.Class = "add"
		case strings.HasPrefix(line, "-"):
			l.Class = "del"
		}
		out = append(out, l)
	}
	return out
}

type diffData struct {
	app.CommitDiffView
	Subject, Body string
	Additions     int
	Deletions     int
}

// commitDiff shows a commit's changed files and diff, without JavaScript.
func (s *Server) commitDiff(w http.ResponseWriter, r *http.Request, u fb.User) error {
	v, err := s.App.CommitDiff(r.Context(), u, r.PathValue("id"), r.PathValue("sha"))
	if err != nil {
		return err
	}
	d := diffData{CommitDiffView: v}
	subject, body, _ := strings.Cut(v.Message, "\n")
	d.Subject, d.Body = subject, strings.TrimSpace(body)
	for _, f := range v.Files {
		d.Additions += f.Additions
		d.Deletions += f.Deletions
	}
	s.render(w, r, http.StatusOK, "diff", view{Title: shortSHA(v.SHA) + " " + subject, User: &u, Data: d})
	return nil
}
