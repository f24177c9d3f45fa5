package fakejira

import (
	"fmt"
	"net/http"
)

// permissionNames are the display names Jira gives the permissions the fake knows.
var permissionNames = map[string]string{
	"BROWSE_PROJECTS": "Browse Projects", "VIEW_DEV_TOOLS": "View Development Tools", "LINK_ISSUES": "Link Issues",
	"ADMINISTER_PROJECTS": "Administer Projects", "CREATE_ISSUES": "Create Issues", "EDIT_ISSUES": "Edit Issues",
	"ASSIGNABLE_USER": "Assignable User", "VIEW_READONLY_WORKFLOW": "View Read-Only Workflow",
}

// serveMyPermissions is GET /rest/api/2/mypermissions: every permission and
// whether the caller holds it, in the project given by projectKey; without
// one, whether they hold it in any project. A project that does not exist or
// that the caller may not browse is 404 alike, as in Jira.
func (s *Server) serveMyPermissions(w http.ResponseWriter, r *http.Request, caller *User) {
	key := r.URL.Query().Get("projectKey")
	if key != "" && (s.projects[key] == nil || !s.has(caller, key, "BROWSE_PROJECTS")) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("No project could be found with key '%s'.", key))
		return
	}
	perms := map[string]any{}
	for perm, name := range permissionNames {
		have := false
		if key != "" {
			have = s.has(caller, key, perm)
		} else {
			for p := range s.projects {
				have = have || s.has(caller, p, perm)
			}
		}
		perms[perm] = map[string]any{"id": fmt.Sprint(10 + len(perm)), "key": perm, "name": name, "type": "PROJECT",
			"description": "Ability to " + name + ".", "havePermission": have}
	}
	writeJSON(w, http.StatusOK, map[string]any{"permissions": perms})
}
