package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	fb "github.com/forgebridge/forgebridge"
)

type gitPullRequest struct {
	PullRequestID int    `json:"pullRequestId"`
	Status        string `json:"status"`
	Title         string `json:"title"`
	Description   string `json:"description"`
	SourceRefName string `json:"sourceRefName"`
	TargetRefName string `json:"targetRefName"`
	IsDraft       bool   `json:"isDraft"` // absent before api-version 5.1
	CreatedBy     struct {
		UniqueName string `json:"uniqueName"`
	} `json:"createdBy"`
	CreationDate azDate `json:"creationDate"`
	ClosedDate   azDate `json:"closedDate"`
}

// azDate is a date as Azure writes them: ISO 8601 with up to seven digits
// of fractions, in UTC; null or year 1 for none.
type azDate struct{ time.Time }

func (d *azDate) UnmarshalJSON(b []byte) error {
	var s string
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// .NET leaves the zone out of some dates; they are UTC.
		t, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
	}
	if err != nil {
		return fmt.Errorf("azure: date %q: %w", s, err)
	}
	if t.Year() > 1 {
		d.Time = t.UTC()
	}
	return nil
}

// pullStates maps Azure's pull request status; searchCriteria.status=all
// lists no other.
var pullStates = map[string]fb.PullState{
	"active":    fb.PullOpen,
	"completed": fb.PullMerged,
	"abandoned": fb.PullDeclined,
}

func (p *Provider) toPullRequest(repo fb.Repository, pr gitPullRequest) fb.PullRequest {
	id := strconv.Itoa(pr.PullRequestID)
	state := pullStates[pr.Status]
	// Azure keeps no update time on a pull request: its closing is the last
	// change a listing can see, else its creation.
	updated := pr.CreationDate.Time
	if !pr.ClosedDate.IsZero() {
		updated = pr.ClosedDate.Time
	}
	return fb.PullRequest{
		ID:     id,
		Number: pr.PullRequestID,
		Title:  pr.Title,
		// The API's url is the REST address; people need the web page.
		WebURL:       repo.WebURL + "/pullrequest/" + id,
		SourceBranch: strings.TrimPrefix(pr.SourceRefName, "refs/heads/"),
		TargetBranch: strings.TrimPrefix(pr.TargetRefName, "refs/heads/"),
		Description:  pr.Description,
		State:        state,
		// A completed pull request was published first; an abandoned draft is not a draft to show.
		Draft:     pr.IsDraft && state == fb.PullOpen,
		Author:    pr.CreatedBy.UniqueName,
		UpdatedAt: updated,
	}
}

// CreatePullRequest opens a pull request with one call. A draft is asked
// for only where the api-version knows drafts (5.1, Azure DevOps Server
// 2019 Update 1, and later); older servers open a normal pull request.
func (p *Provider) CreatePullRequest(ctx context.Context, cred fb.Credential, repo fb.Repository, pr fb.NewPullRequest) (fb.PullRequest, error) {
	// Azure compares ref names without case. Refused here because no public
	// record shows which error the service gives equal refs.
	if strings.EqualFold(pr.SourceBranch, pr.TargetBranch) {
		return fb.PullRequest{}, &fb.Error{Code: fb.EProviderRejected, IntegrationID: p.integrationID,
			Message: "A pull request needs two different branches; both are " + pr.SourceBranch + "."}
	}
	source, target := "refs/heads/"+pr.SourceBranch, "refs/heads/"+pr.TargetBranch
	body := func(version string) any {
		m := map[string]any{"sourceRefName": source, "targetRefName": target,
			"title": pr.Title, "description": pr.Description}
		if v, ok := parseAPIVersion(version); pr.Draft && ok && v.atLeast(draftAPIVersion) {
			m["isDraft"] = true
		}
		return m
	}
	resp, err := p.do(ctx, cred, request{method: http.MethodPost, url: p.repoURL(repo) + "/pullrequests", versioned: true,
		body: body, what: "open pull requests in " + repo.FullName, write: true})
	if err != nil {
		if resp != nil && resp.status == http.StatusConflict && resp.apiErr != nil &&
			(resp.apiErr.code() == "TF401179" || resp.apiErr.TypeKey == "GitPullRequestExistsException") {
			return fb.PullRequest{}, p.existingPullRequest(ctx, cred, repo, source, target)
		}
		return fb.PullRequest{}, err
	}
	var created gitPullRequest
	if err := p.decode(resp, &created); err != nil {
		return fb.PullRequest{}, err
	}
	return p.toPullRequest(repo, created), nil
}

// existingPullRequest is the EAlreadyExists of a pull request that is already
// open between the branches, naming it when Azure lists it.
func (p *Provider) existingPullRequest(ctx context.Context, cred fb.Credential, repo fb.Repository, source, target string) error {
	e := &fb.Error{Code: fb.EAlreadyExists, IntegrationID: p.integrationID,
		Message: "An active pull request from " + strings.TrimPrefix(source, "refs/heads/") + " into " +
			strings.TrimPrefix(target, "refs/heads/") + " already exists in " + repo.FullName + " (TF401179)."}
	q := url.Values{"searchCriteria.sourceRefName": {source}, "searchCriteria.targetRefName": {target},
		"searchCriteria.status": {"active"}}
	resp, err := p.do(ctx, cred, request{method: http.MethodGet, url: p.repoURL(repo) + "/pullrequests", query: q,
		versioned: true, what: "list the pull requests of " + repo.FullName})
	if err != nil {
		return e // the conflict is the answer; naming the pull request is a courtesy
	}
	var list struct {
		Value []gitPullRequest `json:"value"`
	}
	if p.decode(resp, &list) == nil && len(list.Value) > 0 {
		found := p.toPullRequest(repo, list.Value[0])
		e.Existing = &fb.Existing{ID: found.ID, Number: found.Number, WebURL: found.WebURL}
	}
	return e
}

// pullsPageSize is the $top of a pull request page. Azure pages pull
// requests with $top and $skip only, answers at most 1000 a page however
// many are asked for (101 when $top is not given), and so a shorter page is
// the last.
var pullsPageSize = 1000

// listedDescription is how much of a description the listing gives: the
// first 400 characters (UTF-16 code units, .NET's); the pull request read
// alone has all of it.
const listedDescription = 400

// closedSlack widens since for closed pull requests: since comes from
// forgebridge's clock or an earlier listing, and an on-premises server's
// clock may be off.
const closedSlack = time.Hour

// PullRequests lists the repository's pull requests, in every state.
//
// Azure's listing has no update time and no documented order, so since
// cannot stop a listing early. Without since every pull request is listed
// (status all). With it: every active one, since their title, description
// or draft state change without any date moving; then only the completed
// and abandoned ones closed after since, less closedSlack
// (searchCriteria.queryTimeRangeType=closed and minTime, api-version 7.1
// and later; an older server ignores both and lists them all, which the
// same test on closedDate here filters). Closing moves closedDate, and a
// reactivated one is active again. A listed description that may have been
// cut is read whole from the pull request itself, since keys are looked
// for in it.
func (p *Provider) PullRequests(ctx context.Context, cred fb.Credential, repo fb.Repository, since time.Time, fn func(fb.PullRequest) error) error {
	if since.IsZero() {
		return p.listPulls(ctx, cred, repo, url.Values{"searchCriteria.status": {"all"}}, since, fn)
	}
	if err := p.listPulls(ctx, cred, repo, url.Values{"searchCriteria.status": {"active"}}, since, fn); err != nil {
		return err
	}
	minTime := since.Add(-closedSlack).UTC().Format(time.RFC3339)
	for _, status := range []string{"completed", "abandoned"} {
		q := url.Values{"searchCriteria.status": {status}, "searchCriteria.queryTimeRangeType": {"closed"},
			"searchCriteria.minTime": {minTime}}
		if err := p.listPulls(ctx, cred, repo, q, since, fn); err != nil {
			return err
		}
	}
	return nil
}

// listPulls passes every pull request of one listing (query, every page),
// but closed ones that closed before since less closedSlack.
func (p *Provider) listPulls(ctx context.Context, cred fb.Credential, repo fb.Repository, query url.Values, since time.Time, fn func(fb.PullRequest) error) error {
	seen := map[int]bool{}
	skip := 0
	for range maxPages {
		q := url.Values{"$top": {strconv.Itoa(pullsPageSize)}, "$skip": {strconv.Itoa(skip)}}
		for k, v := range query {
			q[k] = v
		}
		resp, err := p.do(ctx, cred, request{method: http.MethodGet, url: p.repoURL(repo) + "/pullrequests", query: q,
			versioned: true, what: "list the pull requests of " + repo.FullName})
		if err != nil {
			return err
		}
		var page struct {
			Value []gitPullRequest `json:"value"`
		}
		if err := p.decode(resp, &page); err != nil {
			return err
		}
		fresh := 0
		for _, listed := range page.Value {
			// A pull request opened while paging shifts the rest by one:
			// the next page starts with one already seen.
			if seen[listed.PullRequestID] {
				continue
			}
			seen[listed.PullRequestID] = true
			fresh++
			pr := p.toPullRequest(repo, listed)
			if pr.State == "" {
				continue
			}
			if !since.IsZero() && pr.State != fb.PullOpen && pr.UpdatedAt.Before(since.Add(-closedSlack)) {
				continue
			}
			if len(utf16.Encode([]rune(listed.Description))) >= listedDescription {
				whole, err := p.pullRequest(ctx, cred, repo, listed.PullRequestID)
				if err != nil {
					return err
				}
				pr.Description = whole.Description
			}
			if err := fn(pr); err != nil {
				return err
			}
		}
		if len(page.Value) < pullsPageSize {
			return nil
		}
		if fresh == 0 { // a full page of nothing new: the server repeats itself
			return p.pagingError()
		}
		skip += len(page.Value)
	}
	return p.pagingError()
}

// pullRequest reads one pull request, whose description is whole.
func (p *Provider) pullRequest(ctx context.Context, cred fb.Credential, repo fb.Repository, id int) (gitPullRequest, error) {
	var pr gitPullRequest
	resp, err := p.do(ctx, cred, request{method: http.MethodGet, url: p.repoURL(repo) + "/pullrequests/" + strconv.Itoa(id),
		versioned: true, what: "read the pull requests of " + repo.FullName})
	if err != nil {
		return pr, err
	}
	return pr, p.decode(resp, &pr)
}
