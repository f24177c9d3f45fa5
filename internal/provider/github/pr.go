package github

import (
	"context"
	"net/url"
	"strconv"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	gh "github.com/google/go-github/v84/github"
)

var _ provider.PullRequestLister = (*Driver)(nil)

// PullRequests lists the repository's pull requests in every state, most
// recently updated first, page by page, and stops after a page whose pull
// requests were all last updated before since (when since is set): the
// pages after it can only hold older ones.
func (d *Driver) PullRequests(ctx context.Context, cred fb.Credential, repo fb.Repository, since time.Time, fn func(fb.PullRequest) error) error {
	fnErr, err := d.pullRequests(ctx, cred, repo, since, fn)
	if fnErr != nil {
		return fnErr // the caller's own, as it made it
	}
	return err
}

// pullRequests is PullRequests with fn's error apart from the driver's,
// which alone are scrubbed of the token.
func (d *Driver) pullRequests(ctx context.Context, cred fb.Credential, repo fb.Repository, since time.Time, fn func(fb.PullRequest) error) (fnErr, err error) {
	defer scrub(&err, cred.Token)
	ctx, err = call(ctx, cred)
	if err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	// The direction is explicit: GitHub's default for sort=updated is ascending.
	opts := &gh.PullRequestListOptions{State: "all", Sort: "updated", Direction: "desc",
		ListOptions: gh.ListOptions{PerPage: 100}}
	for pages := 0; ; pages++ {
		if pages == maxPages {
			return nil, fb.Errorf(fb.EProviderUnavailable, "GitHub kept answering the pull request list with further pages; try again later.")
		}
		list, resp, err := d.client.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, mapError(err, false)
		}
		older := 0
		for _, p := range list {
			pr := pullRequest(p)
			if !since.IsZero() && pr.UpdatedAt.Before(since) {
				older++
			}
			if err := fn(pr); err != nil {
				return err, nil
			}
		}
		if resp.NextPage == 0 || len(list) == 0 || !since.IsZero() && older == len(list) {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

// pullRequest translates one of GitHub's pull requests. A closed pull
// request was merged when it has merged_at; a draft counts as one only
// while open, as forgebridge shows it.
func pullRequest(p *gh.PullRequest) fb.PullRequest {
	state := fb.PullOpen
	if p.GetState() != "open" {
		state = fb.PullDeclined
		if p.MergedAt != nil {
			state = fb.PullMerged
		}
	}
	return fb.PullRequest{
		ID: strconv.FormatInt(p.GetID(), 10), Number: p.GetNumber(), Title: p.GetTitle(),
		WebURL:       webURL(p.GetHTMLURL()),
		SourceBranch: p.GetHead().GetRef(), TargetBranch: p.GetBase().GetRef(),
		Description: p.GetBody(), State: state, Draft: state == fb.PullOpen && p.GetDraft(),
		Author: p.GetUser().GetLogin(), UpdatedAt: p.GetUpdatedAt().UTC(),
	}
}

// webURL keeps a web address from GitHub only if it is http(s), the rule
// forgebridge applies to every address it shows: a pull request list goes
// to the index as it is, and a javascript: or data: address would run in a
// reader's browser.
func webURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return raw
}
