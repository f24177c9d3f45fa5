package codecommit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codecommit/types"

	fb "github.com/forgebridge/forgebridge"
)

// CreateBranch reads the head of base (GetBranch) and creates name there
// (CreateBranch): two calls. CodeCommit creates branches atomically, so of
// two concurrent creates one gets BranchNameExistsException.
func (d *driver) CreateBranch(ctx context.Context, cred fb.Credential, repo fb.Repository, name, base string) (fb.Branch, error) {
	if err := checkCredential(cred); err != nil {
		return fb.Branch{}, err
	}
	if base == "" {
		base = repo.DefaultBranch
	}
	if base == "" {
		return fb.Branch{}, fb.Errorf(fb.EProviderRejected,
			"The repository %s is empty: it has no branch to start from until a first commit is pushed.", repo.Name)
	}
	cc := d.client(cred)
	head, err := d.branchHead(ctx, cc, cred, repo.Name, base)
	if err != nil {
		if e := fb.AsError(err); e != nil && e.Code == fb.EProviderRejected {
			e.Message = fmt.Sprintf("The base branch %s does not exist in the repository %s.", base, repo.Name)
		}
		return fb.Branch{}, err
	}
	branch := fb.Branch{Name: name, SHA: head, WebURL: d.branchURL(repo.Name, name)}
	_, err = cc.CreateBranch(ctx, &codecommit.CreateBranchInput{RepositoryName: aws.String(repo.Name),
		BranchName: aws.String(name), CommitId: aws.String(head)})
	if err != nil {
		err = mapError(err, cred, "codecommit:CreateBranch", repo.Name)
		if e := fb.AsError(err); e != nil && e.Code == fb.EAlreadyExists {
			e.Message = fmt.Sprintf("The branch %s already exists in the repository %s.", name, repo.Name)
			e.Existing = &fb.Existing{Name: name, WebURL: branch.WebURL}
		}
		return fb.Branch{}, err
	}
	return branch, nil
}

// maxTokenHops bounds how many closed pull requests CreatePullRequest steps
// over in its chain of client request tokens before it uses a random one.
const maxTokenHops = 5

// CreatePullRequest opens a pull request. CodeCommit has no "already exists"
// error, so the newest open pull requests are inspected first (ListPullRequests
// and a GetPullRequest each, up to maxOpenPullRequestsScanned) for one with the
// same branches. CodeCommit has no draft pull requests: Draft is ignored.
//
// The client request token is derived from the repository, branches, title
// and description, so two identical requests racing past the inspection get
// the same pull request rather than two. AWS keeps answering a token with
// the pull request it first created, even once that is closed; when the
// answer is a closed pull request the next token is derived from it, so a
// person may open the same pull request again after closing it.
func (d *driver) CreatePullRequest(ctx context.Context, cred fb.Credential, repo fb.Repository, in fb.NewPullRequest) (fb.PullRequest, error) {
	if err := checkCredential(cred); err != nil {
		return fb.PullRequest{}, err
	}
	if in.TargetBranch == "" {
		in.TargetBranch = repo.DefaultBranch
	}
	cc := d.client(cred)
	existing, err := d.findOpenPullRequest(ctx, cc, cred, repo.Name, in.SourceBranch, in.TargetBranch)
	if err != nil {
		return fb.PullRequest{}, err
	}
	if existing != nil {
		// A key that may not create pull requests must be told so, not that
		// one exists. AWS checks IAM first, and a create bearing the existing
		// pull request's own token cannot make another: the answer is that
		// pull request or IdempotencyParameterMismatchException.
		if tok := aws.ToString(existing.ClientRequestToken); tok != "" {
			_, err := cc.CreatePullRequest(ctx, createInput(repo.Name, in, tok))
			if err != nil && apiErrorCode(err) != "IdempotencyParameterMismatchException" {
				return fb.PullRequest{}, mapError(err, cred, "codecommit:CreatePullRequest", repo.Name)
			}
		}
		pr := d.pullRequest(existing)
		return fb.PullRequest{}, &fb.Error{Code: fb.EAlreadyExists,
			Message: fmt.Sprintf("A pull request from %s into %s is already open in the repository %s: #%s.",
				in.SourceBranch, in.TargetBranch, repo.Name, pr.ID),
			Existing: &fb.Existing{ID: pr.ID, Number: pr.Number, WebURL: pr.WebURL}}
	}

	token := requestToken(repo.Name, in.SourceBranch, in.TargetBranch, in.Title, in.Description)
	for hop := 0; ; hop++ {
		if hop == maxTokenHops {
			token = randomToken()
		}
		out, err := cc.CreatePullRequest(ctx, createInput(repo.Name, in, token))
		if err != nil {
			return fb.PullRequest{}, mapError(err, cred, "codecommit:CreatePullRequest", repo.Name)
		}
		if out.PullRequest == nil {
			return fb.PullRequest{}, fb.Errorf(fb.EProviderUnavailable, "AWS CodeCommit answered CreatePullRequest without the pull request.")
		}
		if out.PullRequest.PullRequestStatus == types.PullRequestStatusEnumOpen || hop == maxTokenHops {
			return d.pullRequest(out.PullRequest), nil
		}
		token = requestToken(token, aws.ToString(out.PullRequest.PullRequestId))
	}
}

func createInput(repoName string, in fb.NewPullRequest, token string) *codecommit.CreatePullRequestInput {
	return &codecommit.CreatePullRequestInput{
		Title:       aws.String(in.Title),
		Description: optional(in.Description),
		Targets: []types.Target{{RepositoryName: aws.String(repoName),
			SourceReference: aws.String(in.SourceBranch), DestinationReference: aws.String(in.TargetBranch)}},
		ClientRequestToken: aws.String(token),
	}
}

// findOpenPullRequest returns the newest open pull request from source into
// target among the newest maxOpenPullRequestsScanned open ones, or nil.
func (d *driver) findOpenPullRequest(ctx context.Context, cc *codecommit.Client, cred fb.Credential, repoName, source, target string) (*types.PullRequest, error) {
	scanned := 0
	p := codecommit.NewListPullRequestsPaginator(cc, &codecommit.ListPullRequestsInput{RepositoryName: aws.String(repoName),
		PullRequestStatus: types.PullRequestStatusEnumOpen, MaxResults: aws.Int32(maxOpenPullRequestsScanned)})
	for p.HasMorePages() && scanned < maxOpenPullRequestsScanned {
		page, err := p.NextPage(ctx, d.read)
		if err != nil {
			return nil, mapError(err, cred, "codecommit:ListPullRequests", repoName)
		}
		ids := page.PullRequestIds[:min(len(page.PullRequestIds), maxOpenPullRequestsScanned-scanned)]
		scanned += len(ids)
		prs, err := d.getPullRequests(ctx, cc, cred, repoName, ids)
		if err != nil {
			return nil, err
		}
		for _, pr := range prs {
			if pr == nil || pr.PullRequestStatus != types.PullRequestStatusEnumOpen {
				continue
			}
			for _, t := range pr.PullRequestTargets {
				if aws.ToString(t.RepositoryName) == repoName && shortRef(aws.ToString(t.SourceReference)) == shortRef(source) &&
					shortRef(aws.ToString(t.DestinationReference)) == shortRef(target) {
					return pr, nil
				}
			}
		}
	}
	return nil, nil
}

// pullRequest converts CodeCommit's pull request (one target) to forgebridge's.
func (d *driver) pullRequest(pr *types.PullRequest) fb.PullRequest {
	id := aws.ToString(pr.PullRequestId)
	number, _ := strconv.Atoi(id)
	out := fb.PullRequest{ID: id, Number: number, Title: aws.ToString(pr.Title)}
	if len(pr.PullRequestTargets) > 0 {
		t := pr.PullRequestTargets[0]
		out.SourceBranch = shortRef(aws.ToString(t.SourceReference))
		out.TargetBranch = shortRef(aws.ToString(t.DestinationReference))
		out.WebURL = d.pullRequestURL(aws.ToString(t.RepositoryName), id)
	}
	return out
}

func shortRef(ref string) string { return strings.TrimPrefix(ref, "refs/heads/") }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// requestToken derives a client request token from its parts, shaped as a UUID.
func requestToken(parts ...string) string {
	h := sha256.New()
	h.Write([]byte("forgebridge codecommit pull request"))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return uuidShape(h.Sum(nil))
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return uuidShape(b)
}

func uuidShape(b []byte) string {
	x := hex.EncodeToString(b[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
