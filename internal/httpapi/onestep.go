package httpapi

import (
	"encoding/json"
	"net/http"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// pullRequestOptions is the pullRequest of a create-branch body: the pull
// request to open from the new branch in the same request.
type pullRequestOptions struct {
	Title        string `json:"title"`
	Description  string `json:"description"`
	TargetBranch string `json:"targetBranch"`
	Draft        bool   `json:"draft"`
}

func (o *pullRequestOptions) options() *app.PullRequestOptions {
	if o == nil {
		return nil
	}
	return &app.PullRequestOptions{Title: o.Title, Description: o.Description, TargetBranch: o.TargetBranch, Draft: o.Draft}
}

// createdBranchJSON is the 201 of a create-branch request; with a pull
// request asked for, pullRequest (null when it failed) and pullRequestError.
func createdBranchJSON(r *http.Request, b app.CreatedBranch, withPR bool) any {
	type prJSON struct {
		fb.PullRequest
		RepositoryID string    `json:"repositoryId"`
		Actor        actorJSON `json:"actor"`
	}
	out := map[string]any{"name": b.Name, "sha": b.SHA, "webUrl": b.WebURL, "repositoryId": b.RepositoryID, "actor": b.Actor}
	if !withPR {
		return out
	}
	out["pullRequest"] = nil
	if pr := b.PullRequest; pr != nil {
		out["pullRequest"] = prJSON{pr.PullRequest, pr.RepositoryID, pr.Actor}
	}
	if e := b.PullRequestError; e != nil {
		msg := e.Message
		if e.Code == fb.EInternal || msg == "" {
			msg = internalMessage
		}
		ej := errorJSON{Code: e.Code, Message: msg, IntegrationID: e.IntegrationID, RetryAfter: e.RetryAfter,
			MissingScopes: e.MissingScopes, Existing: e.Existing, RequestID: RequestID(r.Context())}
		raw, _ := json.Marshal(ej)
		out["pullRequestError"] = json.RawMessage(raw)
	}
	return out
}
