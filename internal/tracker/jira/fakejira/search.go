package fakejira

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// keyInQuery is the one JQL form the fake understands: key in (K1, "K2", …).
// Anything else is refused, as Jira refuses JQL it cannot parse.
var keyInQuery = regexp.MustCompile(`^\s*key\s+in\s*\(([^()]*)\)\s*$`)

// serveSearch is POST /rest/api/2/search for `key in (…)`: the issues among
// the keys the caller may browse (their project's Browse Projects and their
// security level). With validateQuery (the default) a key that names no
// issue the caller can see is a 400, as in Jira, which answers alike for a
// missing and a hidden issue; with validateQuery false it is a warning.
func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request, caller *User) {
	var body struct {
		JQL           string   `json:"jql"`
		StartAt       int      `json:"startAt"`
		MaxResults    *int     `json:"maxResults"`
		Fields        []string `json:"fields"`
		ValidateQuery *bool    `json:"validateQuery"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "Unrecognized token: the request body is not JSON.")
		return
	}
	m := keyInQuery.FindStringSubmatch(body.JQL)
	if m == nil {
		writeError(w, http.StatusBadRequest, "Error in the JQL Query: the fake understands only key in (…).")
		return
	}
	max := 50
	if body.MaxResults != nil {
		max = min(*body.MaxResults, 1000)
	}
	validate := body.ValidateQuery == nil || *body.ValidateQuery
	var found []*issue
	var warnings []string
	for _, k := range strings.Split(m[1], ",") {
		k = strings.ToUpper(strings.Trim(strings.TrimSpace(k), `"`))
		if k == "" {
			continue
		}
		is := s.issues[k]
		if is == nil || !s.hasOnIssue(caller, is, "BROWSE_PROJECTS") {
			msg := "An issue with key '" + k + "' does not exist for field 'key'."
			if validate {
				writeError(w, http.StatusBadRequest, msg)
				return
			}
			warnings = append(warnings, msg)
			continue
		}
		found = append(found, is)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].ID > found[j].ID }) // Jira's default order: newest first
	page := []map[string]any{}
	for i := body.StartAt; i < len(found) && len(page) < max; i++ {
		is := found[i]
		id := strconv.Itoa(is.ID)
		page = append(page, map[string]any{"id": id, "key": is.Key, "self": s.srv.URL + "/rest/api/2/issue/" + id, "fields": map[string]any{}})
	}
	out := map[string]any{"expand": "names,schema", "startAt": body.StartAt, "maxResults": max, "total": len(found), "issues": page}
	if len(warnings) > 0 {
		out["warningMessages"] = warnings
	}
	writeJSON(w, http.StatusOK, out)
}
