package jira

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	fb "github.com/forgebridge/forgebridge"
)

// DeleteRemoteLink removes the issue's remote link with globalID: DELETE
// /rest/api/2/issue/{key}/remotelink?globalId=… (204). Jira answers 404 when
// the issue or the link does not exist; the link is gone either way, so that
// is success too.
func (t *Tracker) DeleteRemoteLink(ctx context.Context, issueKey, globalID string) error {
	if globalID == "" || len(globalID) > 255 {
		return fb.Errorf(fb.EInvalid, "A remote link needs a global id of 1 to 255 characters.")
	}
	path := "/rest/api/2/issue/" + url.PathEscape(issueKey) + "/remotelink"
	err := t.call(ctx, request{method: http.MethodDelete, path: path, query: url.Values{"globalId": {globalID}},
		token: t.token.Token, whose: service}, nil)
	switch statusOf(err) {
	case 0:
		return describe(err, "removing a remote link")
	case http.StatusNotFound:
		return nil
	case http.StatusForbidden:
		return &fb.Error{Code: fb.EForbidden, Err: err, Message: fmt.Sprintf(
			"Jira refused to remove a link from issue %s: forgebridge's service account needs the Link Issues permission on its project.", issueKey)}
	default:
		return describe(err, "removing a remote link")
	}
}
