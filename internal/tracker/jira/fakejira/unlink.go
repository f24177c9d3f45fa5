package fakejira

import (
	"net/http"
	"slices"
)

// serveDeleteRemoteLink answers DELETE …/remotelink?globalId=X as Jira DC
// does: 204 once removed; 404 for an unknown issue or link; 403 without the
// Link Issues permission; 400 without a globalId (Jira deletes by id or by
// global id, never all).
func (s *Server) serveDeleteRemoteLink(w http.ResponseWriter, r *http.Request, caller *User, key string) {
	is := s.visibleIssue(w, caller, key)
	if is == nil {
		return
	}
	if !s.has(caller, is.Project, "LINK_ISSUES") {
		writeError(w, http.StatusForbidden, "You do not have permission to link issues in this project.")
		return
	}
	gid := r.URL.Query().Get("globalId")
	if gid == "" {
		writeError(w, http.StatusBadRequest, "The global ID of the remote link must be given.")
		return
	}
	links := s.links[key]
	i := slices.IndexFunc(links, func(l *RemoteLinkRecord) bool { return l.GlobalID == gid })
	if i < 0 {
		writeError(w, http.StatusNotFound, "No remote link with the given global ID exists.")
		return
	}
	s.links[key] = slices.Delete(links, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}
