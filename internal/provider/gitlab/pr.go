package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	gl "gitlab.com/gitlab-org/api/client-go"
)

var _ provider.PullRequestLister = (*driver)(nil)

// mergeRequest is the part of GitLab's merge request entity the driver reads.
type mergeRequest struct {
	ID           int64     `json:"id"`
	IID          int       `json:"iid"`
	Title        string    `json:"title"`
	Description  string    `json:"description"`
	State        string    `json:"state"`
	Draft        bool      `json:"draft"`
	SourceBranch string    `json:"source_branch"`
	TargetBranch string    `json:"target_branch"`
	WebURL       string    `json:"web_url"`
	UpdatedAt    time.Time `json:"updated_at"`
	// work_in_progress is what GitLab before 13.x calls a draft.
	WorkInProgress bool `json:"work_in_progress"`
	Author         struct {
		Username string `json:"username"`
	} `json:"author"`
}

// pullState reads GitLab's merge request state; locked is an open merge
// request being merged.
func pullState(s string) (fb.PullState, bool) {
	switch s {
	case "opened", "locked":
		return fb.PullOpen, true
	case "merged":
		return fb.PullMerged, true
	case "closed":
		return fb.PullDeclined, true
	}
	return "", false
}

// gitlabTime is how GitLab writes times (ISO 8601, milliseconds, UTC).
const gitlabTime = "2006-01-02T15:04:05.000Z07:00"

// errListDone ends a listing early; it never leaves PullRequests.
var errListDone = errors.New("gitlab: listing done")

// PullRequests lists the project's merge requests, most recently updated
// first, one request per page of 100. Newest first is what keeps an offset
// listing complete while merge requests change: one updated meanwhile moves
// to the first page (it is seen by the next listing, since it is then newer
// than since) and only pushes the rest down, repeating one rather than
// skipping one. With since, GitLab filters (updated_after) and the listing
// stops at the first older merge request.
func (d *driver) PullRequests(ctx context.Context, cred fb.Credential, repo fb.Repository, since time.Time,
	fn func(fb.PullRequest) error) error {
	pid, err := projectID(repo)
	if err != nil {
		return err
	}
	query := url.Values{"state": {"all"}, "order_by": {"updated_at"}, "sort": {"desc"}}
	since = since.Truncate(time.Millisecond) // as precise as GitLab's times in its answers
	if !since.IsZero() {
		query.Set("updated_after", since.UTC().Format(gitlabTime))
	}
	seen := map[int64]bool{}
	path := "projects/" + gl.PathEscape(pid) + "/merge_requests"
	err = d.eachPage(ctx, cred, opListPullRequests, path, query, func(page []byte) error {
		var mrs []mergeRequest
		if err := json.Unmarshal(page, &mrs); err != nil {
			return &fb.Error{Code: fb.EProviderUnavailable, Message: "GitLab's merge request list is not a list of merge requests.", Err: err}
		}
		for _, mr := range mrs {
			if !since.IsZero() && mr.UpdatedAt.Before(since) {
				return errListDone
			}
			if seen[mr.ID] {
				continue
			}
			seen[mr.ID] = true
			pr, err := d.pullRequest(repo, mr)
			if err != nil {
				return err
			}
			if err := fn(pr); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errListDone) {
		return nil
	}
	return err
}

func (d *driver) pullRequest(repo fb.Repository, mr mergeRequest) (fb.PullRequest, error) {
	state, ok := pullState(mr.State)
	if !ok || mr.ID == 0 || mr.IID == 0 {
		return fb.PullRequest{}, fb.Errorf(fb.EProviderUnavailable,
			"GitLab's merge request list has an entry forgebridge cannot read (state %q).", mr.State)
	}
	web := safeWebURL(mr.WebURL)
	if web == "" && safeWebURL(repo.WebURL) != "" {
		web = repo.WebURL + "/-/merge_requests/" + strconv.Itoa(mr.IID)
	}
	return fb.PullRequest{
		ID: strconv.FormatInt(mr.ID, 10), Number: mr.IID, Title: mr.Title, WebURL: web,
		SourceBranch: mr.SourceBranch, TargetBranch: mr.TargetBranch,
		Description: mr.Description, State: state,
		Draft:  state == fb.PullOpen && (mr.Draft || mr.WorkInProgress),
		Author: mr.Author.Username, UpdatedAt: mr.UpdatedAt,
	}, nil
}

// safeWebURL keeps a web address GitLab sent only if it is http(s): it is
// shown as a link, where a javascript: or data: address would run in the
// reader's browser.
func safeWebURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return raw
}
