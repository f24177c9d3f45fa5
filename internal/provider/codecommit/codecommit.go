// Package codecommit is the AWS CodeCommit driver: it lists repositories,
// branches and pull requests, creates branches and opens pull requests with
// an IAM access key, signing every call with SigV4 through aws-sdk-go-v2; it
// gives git the SigV4-derived password of CodeCommit's git host, and reads
// CodeCommit's EventBridge events as webhooks.
package codecommit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithymw "github.com/aws/smithy-go/middleware"
	"github.com/jmespath/go-jmespath"
	"golang.org/x/sync/errgroup"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

const serviceName = "AWS CodeCommit"

// Limits that bound how many calls one action costs.
const (
	// batchGetLimit is how many names BatchGetRepositories takes a call.
	batchGetLimit = 25
	// maxBranchSHAs is how many branches Branches looks up the head commit
	// of: ListBranches gives names only, and each head costs a GetBranch.
	// Further branches are listed with an empty SHA (names are what the
	// base-branch picker needs).
	maxBranchSHAs = 100
	// maxOpenPullRequestsScanned is how many of the newest open pull requests
	// CreatePullRequest inspects for one with the same branches: CodeCommit
	// has no "already exists" error and each inspection costs a GetPullRequest.
	maxOpenPullRequestsScanned = 50
	// lookupConcurrency is how many GetBranch or GetPullRequest calls run at once.
	lookupConcurrency = 4
)

// regionPattern is the shape of an AWS region name: us-east-1, us-gov-west-1, ap-southeast-4.
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// driver talks to CodeCommit (and STS, for Validate) in one region.
//
// SDK clients are built per call, for the call's credential, and dropped
// after it: the SDK's SigV4 signer caches the derived signing key by access
// key id, region and day, not by secret, so a client shared between callers
// would sign a request bearing a known access key id and a wrong secret with
// the right key, and AWS would accept it.
type driver struct {
	region  string
	gitBase string // where git reaches the repositories: scheme://host[:port][/path]
	ccOpts  codecommit.Options
	stsOpts sts.Options
	filter  *jmespath.JMESPath
	// readRetryer retries reads briefly on network errors and 502/503/504.
	readRetryer aws.Retryer
}

// New builds the CodeCommit provider of an integration. It matches provider.Factory.
func New(in fb.Integration, opts provider.Options) (provider.Provider, error) {
	if !regionPattern.MatchString(in.Region) {
		return nil, fb.Errorf(fb.EInvalid, "The AWS region %q is not a region name such as us-east-1.", in.Region)
	}
	if in.APIPath != "" {
		return nil, fb.Errorf(fb.EInvalid,
			"CodeCommit integrations take no API path: repositories are listed with ListRepositories. Clear the API path, or use a repository filter to narrow them.")
	}
	filter, err := provider.CompileFilter(in.RepositoryFilter)
	if err != nil {
		return nil, err
	}

	// Without a base URL the regional endpoints are used; with one, it stands
	// for both services. Either way the HTTP client refuses every other host.
	ccEndpoint := "https://codecommit." + in.Region + "." + dnsSuffix(in.Region)
	stsEndpoint := "https://sts." + in.Region + "." + dnsSuffix(in.Region)
	gitBase := "https://git-codecommit." + in.Region + "." + dnsSuffix(in.Region)
	if in.BaseURL != "" {
		if _, err := provider.HostOf(in.BaseURL); err != nil {
			return nil, err
		}
		ccEndpoint = strings.TrimRight(in.BaseURL, "/")
		stsEndpoint = ccEndpoint
		gitBase = ccEndpoint // API.md: with a base URL, git goes there too
	}
	hosts := make([]string, 0, 2)
	for _, e := range []string{ccEndpoint, stsEndpoint} {
		h, err := provider.HostOf(e)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
	}
	httpClient, err := provider.NewHTTPClient(in, opts, hosts...)
	if err != nil {
		return nil, err
	}

	var apiOptions []func(*smithymw.Stack) error
	if opts.UserAgent != "" {
		apiOptions = append(apiOptions, awsmiddleware.AddUserAgentKey(opts.UserAgent))
	}
	// The SDK's default retryer makes 3 attempts and, on throttling, sleeps
	// before trying again. forgebridge tells the caller when to retry rather
	// than holding a request to wait out a limit, and never repeats a write:
	// the clients do not retry at all, and reads opt into readRetryer per call.
	d := &driver{
		region:  in.Region,
		gitBase: gitBase,
		ccOpts: codecommit.Options{Region: in.Region, BaseEndpoint: aws.String(ccEndpoint),
			HTTPClient: httpClient, Retryer: aws.NopRetryer{}, APIOptions: apiOptions},
		stsOpts: sts.Options{Region: in.Region, BaseEndpoint: aws.String(stsEndpoint),
			HTTPClient: httpClient, Retryer: aws.NopRetryer{}, APIOptions: apiOptions},
		filter:      filter,
		readRetryer: newReadRetryer(),
	}
	return d, nil
}

// dnsSuffix is the domain of the AWS partition a region belongs to.
func dnsSuffix(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// readRetryWaits are the pauses before the second and third attempt of a
// read, as short as provider.NewHTTPClient's, so an outage is answered in seconds.
var readRetryWaits = []time.Duration{200 * time.Millisecond, 800 * time.Millisecond}

// newReadRetryer retries a read after a network error or a 502/503/504
// without a Retry-After hint. Throttling is never retried (the caller is
// told to wait instead), and no retry quota is shared between calls, so one
// person's failures cannot stop another's retries.
func newReadRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = len(readRetryWaits) + 1
		o.RateLimiter = ratelimit.None
		o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
			return readRetryWaits[min(max(attempt-1, 0), len(readRetryWaits)-1)], nil
		})
		o.Retryables = []retry.IsErrorRetryable{retry.NoRetryCanceledError{}, retry.IsErrorRetryableFunc(transient)}
	})
}

func transient(err error) aws.Ternary {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		if re.Response == nil || re.Response.Header.Get("Retry-After") != "" {
			return aws.FalseTernary
		}
		switch re.HTTPStatusCode() {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return aws.TrueTernary
		}
		return aws.FalseTernary
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err)
}

// client is a CodeCommit client for one call with cred (see driver).
func (d *driver) client(cred fb.Credential) *codecommit.Client {
	o := d.ccOpts
	o.Credentials = staticCredentials(cred)
	return codecommit.New(o)
}

// read makes a call retry as reads do; writes keep the client's no-retry policy.
func (d *driver) read(o *codecommit.Options) { o.Retryer = d.readRetryer }

func staticCredentials(cred fb.Credential) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(cred.AccessKeyID, cred.SecretAccessKey, "")
}

func checkCredential(cred fb.Credential) error {
	if cred.AccessKeyID == "" || cred.SecretAccessKey == "" {
		return fb.Errorf(fb.ETokenRejected, "An AWS access key id and its secret access key are both required.")
	}
	return nil
}

var _ provider.AccessChecker = (*driver)(nil)

// Validate asks STS who the key belongs to: the login is the ARN, the user
// id IAM's unique id (AIDA…, or AROA…:session for a role). STS answers for
// any valid key, whatever its policy: CheckAccess proves CodeCommit access
// on one repository, without listing the whole account.
func (d *driver) Validate(ctx context.Context, cred fb.Credential) (fb.TokenInfo, error) {
	if err := checkCredential(cred); err != nil {
		return fb.TokenInfo{}, err
	}
	so := d.stsOpts
	so.Credentials, so.Retryer = staticCredentials(cred), d.readRetryer
	out, err := sts.New(so).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fb.TokenInfo{}, mapError(err, cred, "sts:GetCallerIdentity", "")
	}
	return fb.TokenInfo{Login: aws.ToString(out.Arn), UserID: aws.ToString(out.UserId)}, nil
}

// CheckAccess reads the repository's metadata (GetRepository) with cred.
func (d *driver) CheckAccess(ctx context.Context, cred fb.Credential, repo fb.Repository) error {
	if err := checkCredential(cred); err != nil {
		return err
	}
	_, err := d.client(cred).GetRepository(ctx, &codecommit.GetRepositoryInput{RepositoryName: aws.String(repo.Name)}, d.read)
	if err != nil {
		return mapError(err, cred, "codecommit:GetRepository", repo.Name)
	}
	return nil
}

// repositoryJSON is one repository as CodeCommit's RepositoryMetadata names
// its fields, for the integration's JMESPath filter. Dates are epoch seconds,
// as on the wire.
type repositoryJSON struct {
	AccountID             string   `json:"accountId,omitempty"`
	RepositoryID          string   `json:"repositoryId"`
	RepositoryName        string   `json:"repositoryName"`
	RepositoryDescription string   `json:"repositoryDescription,omitempty"`
	DefaultBranch         string   `json:"defaultBranch,omitempty"`
	LastModifiedDate      *float64 `json:"lastModifiedDate,omitempty"`
	CreationDate          *float64 `json:"creationDate,omitempty"`
	CloneURLHTTP          string   `json:"cloneUrlHttp,omitempty"`
	CloneURLSSH           string   `json:"cloneUrlSsh,omitempty"`
	Arn                   string   `json:"Arn,omitempty"`
	KmsKeyID              string   `json:"kmsKeyId,omitempty"`
}

func epoch(t *time.Time) *float64 {
	if t == nil {
		return nil
	}
	v := float64(t.UnixMilli()) / 1000
	return &v
}

// Repositories lists every repository name (ListRepositories, all pages),
// reads their metadata 25 at a time (BatchGetRepositories), and applies the
// filter to the whole list. Repositories deleted in between are left out.
func (d *driver) Repositories(ctx context.Context, cred fb.Credential) ([]fb.Repository, error) {
	if err := checkCredential(cred); err != nil {
		return nil, err
	}
	cc := d.client(cred)
	var names []string
	p := codecommit.NewListRepositoriesPaginator(cc, &codecommit.ListRepositoriesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx, d.read)
		if err != nil {
			return nil, mapError(err, cred, "codecommit:ListRepositories", "")
		}
		for _, r := range out.Repositories {
			names = append(names, aws.ToString(r.RepositoryName))
		}
	}

	metas := make([]repositoryJSON, 0, len(names))
	for start := 0; start < len(names); start += batchGetLimit {
		batch := names[start:min(start+batchGetLimit, len(names))]
		out, err := cc.BatchGetRepositories(ctx, &codecommit.BatchGetRepositoriesInput{RepositoryNames: batch}, d.read)
		if err != nil {
			return nil, mapError(err, cred, "codecommit:BatchGetRepositories", "")
		}
		for _, m := range out.Repositories {
			metas = append(metas, repositoryJSON{
				AccountID: aws.ToString(m.AccountId), RepositoryID: aws.ToString(m.RepositoryId),
				RepositoryName: aws.ToString(m.RepositoryName), RepositoryDescription: aws.ToString(m.RepositoryDescription),
				DefaultBranch: aws.ToString(m.DefaultBranch), LastModifiedDate: epoch(m.LastModifiedDate),
				CreationDate: epoch(m.CreationDate), CloneURLHTTP: aws.ToString(m.CloneUrlHttp),
				CloneURLSSH: aws.ToString(m.CloneUrlSsh), Arn: aws.ToString(m.Arn), KmsKeyID: aws.ToString(m.KmsKeyId),
			})
		}
	}

	if d.filter != nil {
		raw, err := json.Marshal(metas)
		if err != nil {
			return nil, err
		}
		kept, err := provider.FilterPage(d.filter, raw)
		if err != nil {
			return nil, err
		}
		metas = nil
		if err := json.Unmarshal(kept, &metas); err != nil {
			return nil, fb.Errorf(fb.EInvalid,
				"The repository filter must keep whole repository objects (for example [?starts_with(repositoryName, 'team-')]), not project their fields.")
		}
	}

	repos := make([]fb.Repository, 0, len(metas))
	for _, m := range metas {
		if m.RepositoryID == "" || m.RepositoryName == "" {
			return nil, fb.Errorf(fb.EInvalid, "The repository filter must keep whole repository objects, with their repositoryId and repositoryName.")
		}
		// An empty repository has no default branch and no commit to start a
		// branch or a pull request from until someone pushes one.
		hasCommits := m.DefaultBranch != ""
		repos = append(repos, fb.Repository{
			ExternalID: m.RepositoryID, Name: m.RepositoryName, FullName: m.RepositoryName,
			DefaultBranch: m.DefaultBranch, WebURL: d.repoURL(m.RepositoryName) + "/browse?region=" + d.region,
			CanCreateBranch: hasCommits, CanCreatePullRequest: hasCommits,
		})
	}
	return repos, nil
}

// Branches lists the branch names (ListBranches, all pages), then the head
// commit of up to maxBranchSHAs of them (GetBranch each, a few at once), the
// default branch first. Branches deleted in between are left out.
func (d *driver) Branches(ctx context.Context, cred fb.Credential, repo fb.Repository) ([]fb.Branch, error) {
	if err := checkCredential(cred); err != nil {
		return nil, err
	}
	cc := d.client(cred)
	var names []string
	p := codecommit.NewListBranchesPaginator(cc, &codecommit.ListBranchesInput{RepositoryName: aws.String(repo.Name)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx, d.read)
		if err != nil {
			return nil, mapError(err, cred, "codecommit:ListBranches", repo.Name)
		}
		names = append(names, out.Branches...)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == repo.DefaultBranch) != (names[j] == repo.DefaultBranch) {
			return names[i] == repo.DefaultBranch
		}
		return names[i] < names[j]
	})

	branches := make([]fb.Branch, len(names))
	gone := make([]bool, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lookupConcurrency)
	for i, name := range names {
		branches[i] = fb.Branch{Name: name, WebURL: d.branchURL(repo.Name, name)}
		if i >= maxBranchSHAs {
			continue
		}
		g.Go(func() error {
			sha, err := d.branchHead(gctx, cc, cred, repo.Name, name)
			if fb.ErrorCode(err) == fb.EProviderRejected {
				gone[i] = true
				return nil
			}
			branches[i].SHA = sha
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	kept := branches[:0]
	for i, b := range branches {
		if !gone[i] {
			kept = append(kept, b)
		}
	}
	return kept, nil
}

// branchHead returns the commit a branch points at; EProviderRejected when
// there is no such branch.
func (d *driver) branchHead(ctx context.Context, cc *codecommit.Client, cred fb.Credential, repoName, branch string) (string, error) {
	out, err := cc.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String(repoName),
		BranchName: aws.String(branch)}, d.read)
	if err != nil {
		return "", mapError(err, cred, "codecommit:GetBranch", repoName)
	}
	if out.Branch == nil || aws.ToString(out.Branch.CommitId) == "" {
		return "", fb.Errorf(fb.EProviderRejected, "The branch %s of %s has no commit.", branch, repoName)
	}
	return aws.ToString(out.Branch.CommitId), nil
}

// Console addresses. China and GovCloud regions have their own console hosts.
func (d *driver) repoURL(name string) string {
	host := "https://" + d.region + ".console.aws.amazon.com"
	switch {
	case strings.HasPrefix(d.region, "cn-"):
		host = "https://" + d.region + ".console.amazonaws.cn"
	case strings.HasPrefix(d.region, "us-gov-"):
		host = "https://console.amazonaws-us-gov.com"
	}
	return host + "/codesuite/codecommit/repositories/" + url.PathEscape(name)
}

func (d *driver) branchURL(repoName, branch string) string {
	return d.repoURL(repoName) + "/browse/refs/heads/" + provider.EscapeRef(branch) + "?region=" + d.region
}

func (d *driver) pullRequestURL(repoName, id string) string {
	return d.repoURL(repoName) + "/pull-requests/" + url.PathEscape(id) + "/details?region=" + d.region
}
