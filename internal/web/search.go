package web

import (
	"net/http"
	"net/url"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// issuesPerPage is how many issues the search page shows at a time.
const issuesPerPage = 50

// searchData is the issue search page: the form as filled in, the
// repositories to choose from, and the issues found.
type searchData struct {
	Query        url.Values
	Repositories []app.RepositoryView
	Searched     bool
	Issues       []app.IssueResult
	Next         string
	// Markdown and CSV download the whole search from the API.
	Markdown, CSV string
}

// searchFields are the form's fields: the API's filters.
var searchFields = []string{"repositoryId", "range", "branch", "author", "since", "until", "pullRequestState"}

// searchIssues draws the issue search (release notes): the form, and once
// submitted a page of issues with links to download them all.
func (s *Server) searchIssues(w http.ResponseWriter, r *http.Request, u fb.User) error {
	in := r.URL.Query()
	d := searchData{Query: url.Values{}}
	for _, f := range searchFields {
		if v := in.Get(f); v != "" {
			d.Query.Set(f, v)
			d.Searched = true
		}
	}
	if in.Has("search") {
		d.Searched = true
	}
	repos, _, err := s.App.Repositories(r.Context(), u, "", "", fb.Page{Limit: 1000})
	if err != nil {
		return err
	}
	d.Repositories = repos
	v := view{Title: "Issues by git data", User: &u, Active: "search", Data: &d}
	if !d.Searched {
		s.render(w, r, http.StatusOK, "search", v)
		return nil
	}
	q, err := app.ParseIssueSearch(d.Query.Get)
	if err == nil {
		d.Issues, d.Next, err = s.App.SearchIssues(r.Context(), u, q, fb.Page{Limit: issuesPerPage, Cursor: in.Get("cursor")})
	}
	if err != nil {
		d.Searched = false
		v.Error = s.errorText(r, err)
		s.render(w, r, statusOf(err), "search", v)
		return nil
	}
	if d.Next != "" {
		next := cloneValues(d.Query)
		next.Set("cursor", d.Next)
		next.Set("search", "")
		d.Next = "/search/issues?" + next.Encode()
	}
	for _, f := range []struct {
		to     *string
		format string
	}{{&d.Markdown, app.ExportMarkdown}, {&d.CSV, app.ExportCSV}} {
		x := cloneValues(d.Query)
		x.Set("format", f.format)
		*f.to = "/api/v1/search/issues?" + x.Encode()
	}
	s.render(w, r, http.StatusOK, "search", v)
	return nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
