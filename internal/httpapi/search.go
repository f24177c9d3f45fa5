package httpapi

import (
	"mime"
	"net/http"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// searchIssues answers GET /api/v1/search/issues: a page of JSON, or every
// issue as CSV or Markdown (format=csv|markdown, or an Accept of text/csv
// or text/markdown).
func (s *Server) searchIssues(w http.ResponseWriter, r *http.Request, u fb.User) error {
	q, err := app.ParseIssueSearch(r.URL.Query().Get)
	if err != nil {
		return err
	}
	format, err := exportFormat(r)
	if err != nil {
		return err
	}
	if format != "" {
		issues, title, err := s.App.ExportIssues(r.Context(), u, q)
		if err != nil {
			return err
		}
		return writeExport(w, format, title, issues, s.App.IssueURL)
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	issues, next, err := s.App.SearchIssues(r.Context(), u, q, p)
	if err != nil {
		return err
	}
	if issues == nil {
		issues = []app.IssueResult{}
	}
	writeJSON(w, http.StatusOK, paged{Values: issues, Next: nextURL(r, next, p)})
	return nil
}

// exportFormat is the export asked for: the format parameter, else the
// Accept header's first export type; "" for JSON.
func exportFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case app.ExportCSV, app.ExportMarkdown:
		return f, nil
	case "", "json":
		if f == "json" {
			return "", nil
		}
	default:
		return "", fb.Errorf(fb.EInvalid, "format must be json, csv or markdown.")
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return app.ExportCSV, nil
		case "text/markdown":
			return app.ExportMarkdown, nil
		case "application/json":
			return "", nil
		}
	}
	return "", nil
}

// writeExport writes issues as a download in format.
func writeExport(w http.ResponseWriter, format, title string, issues []app.IssueResult, issueURL func(string) string) error {
	w.Header().Set("Cache-Control", "no-store")
	if format == app.ExportCSV {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="issues.csv"`)
		return app.WriteIssuesCSV(w, issues)
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="release-notes.md"`)
	return app.WriteIssuesMarkdown(w, title, issues, issueURL)
}
