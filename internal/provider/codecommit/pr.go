package codecommit

import (
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codecommit/types"
	"golang.org/x/sync/errgroup"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// listPageSize is how many ids a ListPullRequests page asks for. The model
// documents no maximum; 100 is the common AWS page limit, and the fake's.
const listPageSize = 100

// clockMargin widens since against the skew between this server's clock
// and AWS's lastActivityDate.
const clockMargin = 5 * time.Minute

// PullRequests lists the repository's open pull requests, then its closed
// ones (ListPullRequests with each status, every page), and reads each one
// (GetPullRequest, a few at once; fn is called one at a time, page by page).
//
// ListPullRequests returns bare ids, and botocore's model documents no order
// for them (nor does GetPullRequest come in batches), so the listing cannot
// stop early. What since saves is passing closed pull requests that cannot
// have changed: CodeCommit closes a pull request for good (a status only
// goes from OPEN to CLOSED, and a closed one's title and description cannot
// be edited), so a closed one whose last activity is before since was
// already passed closed by an earlier run and is skipped. Indexing uses
// PullRequestsSkipping instead, which does not even read those.
func (d *driver) PullRequests(ctx context.Context, cred fb.Credential, repo fb.Repository, since time.Time, fn func(fb.PullRequest) error) error {
	return d.pullRequests(ctx, cred, repo, nil, func(pr fb.PullRequest) error {
		if pr.State != fb.PullOpen && !since.IsZero() && pr.UpdatedAt.Before(since.Add(-clockMargin)) {
			return nil
		}
		return fn(pr)
	})
}

// PullRequestsSkipping lists as PullRequests does, but reads only the closed
// pull requests whose ids are not in closed: the ids of a status are one
// ListPullRequests call a hundred, the reads one GetPullRequest each.
func (d *driver) PullRequestsSkipping(ctx context.Context, cred fb.Credential, repo fb.Repository, closed []string, fn func(fb.PullRequest) error) error {
	return d.pullRequests(ctx, cred, repo, closed, fn)
}

func (d *driver) pullRequests(ctx context.Context, cred fb.Credential, repo fb.Repository, closed []string, fn func(fb.PullRequest) error) error {
	if err := checkCredential(cred); err != nil {
		return err
	}
	cc := d.client(cred)
	for _, status := range []types.PullRequestStatusEnum{types.PullRequestStatusEnumOpen, types.PullRequestStatusEnumClosed} {
		p := codecommit.NewListPullRequestsPaginator(cc, &codecommit.ListPullRequestsInput{RepositoryName: aws.String(repo.Name),
			PullRequestStatus: status, MaxResults: aws.Int32(listPageSize)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx, d.read)
			if err != nil {
				return mapError(err, cred, "codecommit:ListPullRequests", repo.Name)
			}
			ids := page.PullRequestIds
			if status == types.PullRequestStatusEnumClosed && len(closed) > 0 {
				ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool {
					_, known := slices.BinarySearch(closed, id)
					return known
				})
			}
			prs, err := d.getPullRequests(ctx, cc, cred, repo.Name, ids)
			if err != nil {
				return err
			}
			for _, pr := range prs {
				if pr == nil {
					continue
				}
				if err := fn(d.listedPullRequest(pr)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// getPullRequests reads the pull requests ids names, in that order; one
// that no longer exists is nil.
func (d *driver) getPullRequests(ctx context.Context, cc *codecommit.Client, cred fb.Credential, repoName string, ids []string) ([]*types.PullRequest, error) {
	prs := make([]*types.PullRequest, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lookupConcurrency)
	for i, id := range ids {
		g.Go(func() error {
			out, err := cc.GetPullRequest(gctx, &codecommit.GetPullRequestInput{PullRequestId: aws.String(id)}, d.read)
			if apiErrorCode(err) == "PullRequestDoesNotExistException" {
				return nil
			}
			if err != nil {
				return mapError(err, cred, "codecommit:GetPullRequest", repoName)
			}
			prs[i] = out.PullRequest
			return nil
		})
	}
	return prs, g.Wait()
}

// listedPullRequest is pullRequest with what indexing needs: the state (a
// closed pull request is merged when its target says so, else declined),
// description, author's ARN and last activity. CodeCommit has no drafts.
func (d *driver) listedPullRequest(pr *types.PullRequest) fb.PullRequest {
	out := d.pullRequest(pr)
	out.Description = aws.ToString(pr.Description)
	out.Author = aws.ToString(pr.AuthorArn)
	out.UpdatedAt = aws.ToTime(pr.LastActivityDate)
	switch {
	case pr.PullRequestStatus == types.PullRequestStatusEnumOpen:
		out.State = fb.PullOpen
	case len(pr.PullRequestTargets) > 0 && pr.PullRequestTargets[0].MergeMetadata != nil &&
		pr.PullRequestTargets[0].MergeMetadata.IsMerged:
		out.State = fb.PullMerged
	default:
		out.State = fb.PullDeclined
	}
	return out
}

var (
	_ provider.PullRequestLister        = (*driver)(nil)
	_ provider.ClosedPullRequestSkipper = (*driver)(nil)
)
