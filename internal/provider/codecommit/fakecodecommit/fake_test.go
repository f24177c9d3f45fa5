package fakecodecommit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

const (
	region = "eu-west-1"
	akid   = "AKIAFAKEGOOD"
	secret = "good-secret"
	arn    = "arn:aws:iam::123456789012:user/alice"
)

func newFake(t *testing.T) *Server {
	t.Helper()
	s := New(region)
	t.Cleanup(s.Close)
	s.AddKey(akid, secret, Key{ARN: arn})
	s.AddKey("AKIAREADONLY", "ro-secret", Key{ARN: "arn:aws:iam::123456789012:user/bob", ReadOnly: true})
	s.AddKey("AKIAEXPIRED", "old-secret", Key{ARN: "arn:aws:iam::123456789012:user/carol", Expired: true})
	return s
}

// clients are the real SDK clients pointed at the fake, with retries off so
// each call is one request.
func clients(s *Server, id, sec, signingRegion string) (*codecommit.Client, *sts.Client) {
	creds := credentials.NewStaticCredentialsProvider(id, sec, "")
	cc := codecommit.New(codecommit.Options{Region: signingRegion, BaseEndpoint: aws.String(s.URL()),
		Credentials: creds, Retryer: aws.NopRetryer{}})
	st := sts.New(sts.Options{Region: signingRegion, BaseEndpoint: aws.String(s.URL()),
		Credentials: creds, Retryer: aws.NopRetryer{}})
	return cc, st
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestAuthentication(t *testing.T) {
	s := newFake(t)
	ctx := context.Background()
	tests := []struct {
		name, id, secret, region string
		wantSTS, wantCC          string
	}{
		{"good key", akid, secret, region, "", ""},
		{"wrong secret", akid, "not-the-secret", region, "SignatureDoesNotMatch", "InvalidSignatureException"},
		{"unknown key", "AKIAUNKNOWN", "x", region, "InvalidClientTokenId", "UnrecognizedClientException"},
		{"expired key", "AKIAEXPIRED", "old-secret", region, "ExpiredToken", "ExpiredTokenException"},
		{"other region", akid, secret, "us-east-1", "SignatureDoesNotMatch", "InvalidSignatureException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc, st := clients(s, tc.id, tc.secret, tc.region)
			out, err := st.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if got := apiCode(err); got != tc.wantSTS || (tc.wantSTS == "" && err != nil) {
				t.Errorf("GetCallerIdentity: %v, want code %q", err, tc.wantSTS)
			}
			if err == nil && (aws.ToString(out.Arn) != arn || aws.ToString(out.Account) != Account) {
				t.Errorf("GetCallerIdentity = %s %s, want %s %s", aws.ToString(out.Arn), aws.ToString(out.Account), arn, Account)
			}
			_, err = cc.ListRepositories(ctx, &codecommit.ListRepositoriesInput{})
			if got := apiCode(err); got != tc.wantCC || (tc.wantCC == "" && err != nil) {
				t.Errorf("ListRepositories: %v, want code %q", err, tc.wantCC)
			}
		})
	}
}

// signed builds a CodeCommit request signed with the good key at signedAt.
func signed(t *testing.T, s *Server, body string, signedAt time.Time) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "CodeCommit_20150413.ListRepositories")
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "codecommit", region, signedAt)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestSignatureCoversBodyHeadersAndTime(t *testing.T) {
	s := newFake(t)
	tests := []struct {
		name   string
		change func(*http.Request)
		signed time.Time
		want   int
	}{
		{"as signed", func(*http.Request) {}, time.Now(), http.StatusOK},
		{"body changed", func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"sortBy":"lastModifiedDate"}`))
			r.ContentLength = int64(len(`{"sortBy":"lastModifiedDate"}`))
		}, time.Now(), http.StatusBadRequest},
		{"signed header changed", func(r *http.Request) {
			r.Header.Set("X-Amz-Target", "CodeCommit_20150413.ListBranches")
		}, time.Now(), http.StatusBadRequest},
		{"signed 20 minutes ago", func(*http.Request) {}, time.Now().Add(-20 * time.Minute), http.StatusBadRequest},
		{"no authorization", func(r *http.Request) { r.Header.Del("Authorization") }, time.Now(), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := signed(t, s, `{}`, tc.signed)
			tc.change(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode, tc.want, resp.Header.Get("x-amzn-ErrorType"))
			}
		})
	}
}

func TestPagingAndBatchGet(t *testing.T) {
	s := newFake(t)
	for _, n := range []string{"c", "a", "b", "e", "d"} {
		s.AddRepo(n, "main")
	}
	cc, _ := clients(s, akid, secret, region)
	ctx := context.Background()
	var names []string
	pages := 0
	for p := codecommit.NewListRepositoriesPaginator(cc, &codecommit.ListRepositoriesInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Repositories {
			names = append(names, aws.ToString(r.RepositoryName))
		}
	}
	if strings.Join(names, ",") != "a,b,c,d,e" || pages != 3 {
		t.Errorf("listed %v over %d pages, want a..e over 3", names, pages)
	}
	out, err := cc.BatchGetRepositories(ctx, &codecommit.BatchGetRepositoriesInput{RepositoryNames: []string{"a", "zz"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Repositories) != 1 || aws.ToString(out.Repositories[0].DefaultBranch) != "main" ||
		aws.ToString(out.Repositories[0].Arn) != "arn:aws:codecommit:eu-west-1:123456789012:a" ||
		len(out.RepositoriesNotFound) != 1 || out.RepositoriesNotFound[0] != "zz" {
		t.Errorf("BatchGetRepositories = %+v", out)
	}
	_, err = cc.BatchGetRepositories(ctx, &codecommit.BatchGetRepositoriesInput{RepositoryNames: make([]string, 26)})
	if got := apiCode(err); got != "MaximumRepositoryNamesExceededException" {
		t.Errorf("26 names: %v", err)
	}
}

func TestBranchesAndPermissions(t *testing.T) {
	s := newFake(t)
	r := s.AddRepo("app", "main")
	feature := r.AddBranch("feature")
	cc, _ := clients(s, akid, secret, region)
	ro, _ := clients(s, "AKIAREADONLY", "ro-secret", region)
	ctx := context.Background()
	create := func(c *codecommit.Client, name, commit string) error {
		_, err := c.CreateBranch(ctx, &codecommit.CreateBranchInput{RepositoryName: aws.String("app"),
			BranchName: aws.String(name), CommitId: aws.String(commit)})
		return err
	}
	tests := []struct {
		name   string
		client *codecommit.Client
		branch string
		commit string
		want   string
	}{
		{"new branch", cc, "PROJ-1", feature, ""},
		{"again", cc, "PROJ-1", feature, "BranchNameExistsException"},
		{"invalid name", cc, "bad..name", feature, "InvalidBranchNameException"},
		{"unknown commit", cc, "PROJ-2", strings.Repeat("0", 40), "CommitDoesNotExistException"},
		{"read-only key", ro, "PROJ-3", feature, "AccessDeniedException"},
	}
	for _, tc := range tests {
		if got := apiCode(create(tc.client, tc.branch, tc.commit)); got != tc.want {
			t.Errorf("%s: code %q, want %q", tc.name, got, tc.want)
		}
	}
	out, err := cc.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String("app"), BranchName: aws.String("PROJ-1")})
	if err != nil || aws.ToString(out.Branch.CommitId) != feature {
		t.Errorf("GetBranch(PROJ-1) = %v, %v; want commit %s", out, err, feature)
	}
	_, err = cc.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String("app"), BranchName: aws.String("nope")})
	if apiCode(err) != "BranchDoesNotExistException" {
		t.Errorf("GetBranch(nope): %v", err)
	}
	_, err = cc.ListBranches(ctx, &codecommit.ListBranchesInput{RepositoryName: aws.String("gone")})
	if apiCode(err) != "RepositoryDoesNotExistException" {
		t.Errorf("ListBranches(gone): %v", err)
	}
}

func TestPullRequestTokens(t *testing.T) {
	s := newFake(t)
	r := s.AddRepo("app", "main")
	r.AddBranch("feature")
	cc, _ := clients(s, akid, secret, region)
	ctx := context.Background()
	create := func(title, token string) (*codecommit.CreatePullRequestOutput, error) {
		return cc.CreatePullRequest(ctx, &codecommit.CreatePullRequestInput{Title: aws.String(title),
			Targets:            []cctypes.Target{{RepositoryName: aws.String("app"), SourceReference: aws.String("feature"), DestinationReference: aws.String("main")}},
			ClientRequestToken: aws.String(token)})
	}
	first, err := create("PROJ-1 work", "tok-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := create("PROJ-1 work", "tok-1")
	if err != nil || aws.ToString(again.PullRequest.PullRequestId) != aws.ToString(first.PullRequest.PullRequestId) {
		t.Errorf("same token: %v, %v; want pull request %s again", again, err, aws.ToString(first.PullRequest.PullRequestId))
	}
	if _, err := create("Another title", "tok-1"); apiCode(err) != "IdempotencyParameterMismatchException" {
		t.Errorf("same token, other title: %v", err)
	}
	second, err := create("PROJ-1 work", "tok-2")
	if err != nil || aws.ToString(second.PullRequest.PullRequestId) == aws.ToString(first.PullRequest.PullRequestId) {
		t.Errorf("new token: %v, %v; want a new pull request", second, err)
	}
	tg := first.PullRequest.PullRequestTargets[0]
	if aws.ToString(tg.SourceReference) != "refs/heads/feature" || aws.ToString(tg.DestinationReference) != "refs/heads/main" ||
		first.PullRequest.PullRequestStatus != cctypes.PullRequestStatusEnumOpen {
		t.Errorf("pull request target %+v status %s", tg, first.PullRequest.PullRequestStatus)
	}
	s.SetPullRequestStatus(aws.ToString(first.PullRequest.PullRequestId), "CLOSED")
	list, err := cc.ListPullRequests(ctx, &codecommit.ListPullRequestsInput{RepositoryName: aws.String("app"),
		PullRequestStatus: cctypes.PullRequestStatusEnumOpen})
	if err != nil || len(list.PullRequestIds) != 1 || list.PullRequestIds[0] != aws.ToString(second.PullRequest.PullRequestId) {
		t.Errorf("open pull requests = %v, %v; want only %s", list, err, aws.ToString(second.PullRequest.PullRequestId))
	}
}

func TestRateLimitFailureAndCalls(t *testing.T) {
	s := newFake(t)
	cc, st := clients(s, akid, secret, region)
	ctx := context.Background()
	s.SetRateLimited(true)
	if _, err := cc.ListRepositories(ctx, &codecommit.ListRepositoriesInput{}); apiCode(err) != "ThrottlingException" {
		t.Errorf("rate limited ListRepositories: %v", err)
	}
	if _, err := st.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "Throttling" {
		t.Errorf("rate limited GetCallerIdentity: %v", err)
	}
	s.SetRateLimited(false)
	s.SetFailing(true)
	if _, err := cc.ListRepositories(ctx, &codecommit.ListRepositoriesInput{}); apiCode(err) != "InternalFailure" {
		t.Errorf("failing ListRepositories: %v", err)
	}
	if _, err := st.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiCode(err) != "ServiceUnavailable" {
		t.Errorf("failing GetCallerIdentity: %v", err)
	}
	calls := s.Calls()
	want := []string{"codecommit.ListRepositories", "sts.GetCallerIdentity", "codecommit.ListRepositories", "sts.GetCallerIdentity"}
	if len(calls) != len(want) {
		t.Fatalf("%d calls, want %d", len(calls), len(want))
	}
	for i, c := range calls {
		if c.Service+"."+c.Operation != want[i] || c.AccessKeyID != akid {
			t.Errorf("call %d = %s.%s by %s, want %s by %s", i, c.Service, c.Operation, c.AccessKeyID, want[i], akid)
		}
	}
}
