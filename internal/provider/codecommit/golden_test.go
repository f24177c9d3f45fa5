package codecommit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
)

// The golden tests answer the driver with AWS's own documented example
// payloads (testdata/*.json and the STS XML, after the CodeCommit and STS API
// references and the AWS CLI examples) and compare what the driver makes of
// them with testdata/<case>.golden. After a deliberate change:
//
//	go test ./internal/provider/codecommit -run TestGolden -update
//
// then read the rewritten golden files before committing them.
var update = flag.Bool("update", false, "rewrite the golden files")

// goldenKey is the example access key of the AWS documentation.
var goldenKey = fb.Credential{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}

const goldenRegion = "us-east-2"

// goldenRepo is MyDemoRepo as the driver's Repositories describes it.
var goldenRepo = fb.Repository{ExternalID: "f7579e13-b83e-4027-aaef-650c0EXAMPLE", Name: "MyDemoRepo",
	FullName: "MyDemoRepo", DefaultBranch: "main",
	WebURL: "https://us-east-2.console.aws.amazon.com/codesuite/codecommit/repositories/MyDemoRepo/browse?region=us-east-2"}

// goldenCall is one request the driver must make and AWS's answer to it.
type goldenCall struct {
	service string         // "codecommit" (JSON 1.1) or "sts" (query protocol)
	op      string         // the X-Amz-Target operation or the STS Action
	input   map[string]any // fields the request must carry
	fixture string         // testdata file answered as the body; "" answers an empty body
}

func TestGolden(t *testing.T) {
	listRepos := goldenCall{service: "codecommit", op: "ListRepositories", fixture: "list_repositories.json"}
	demoRepo := map[string]any{"repositoryName": "MyDemoRepo"}
	tests := []providertest.GoldenCase[goldenCall]{
		{
			// STS says who the key is (its UserId decides whose it is), and
			// nothing account-wide is listed.
			Name: "get_caller_identity.xml",
			Calls: []goldenCall{
				{service: "sts", op: "GetCallerIdentity", fixture: "get_caller_identity.xml"},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Validate(ctx, cred)
			},
		},
		{
			// One repository the key must reach proves it may use CodeCommit.
			Name: "get_repository.json",
			Calls: []goldenCall{
				{service: "codecommit", op: "GetRepository", input: demoRepo, fixture: "get_repository.json"},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				ac, ok := provider.Capability[provider.AccessChecker](p)
				if !ok {
					return nil, fb.Errorf(fb.ENotSupported, "no AccessChecker")
				}
				return "reached", ac.CheckAccess(ctx, cred, goldenRepo)
			},
		},
		{
			// MyEmptyRepo has no default branch: nothing to branch from yet.
			Name: "batch_get_repositories.json",
			Calls: []goldenCall{
				listRepos,
				{service: "codecommit", op: "BatchGetRepositories",
					input:   map[string]any{"repositoryNames": []any{"MyDemoRepo", "MyOtherDemoRepo", "MyEmptyRepo"}},
					fixture: "batch_get_repositories.json"},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Repositories(ctx, cred)
			},
		},
		{
			// ListBranches gives names only; each head comes from GetBranch.
			// The default branch is listed first.
			Name: "list_branches.json",
			Calls: []goldenCall{
				{service: "codecommit", op: "ListBranches", input: demoRepo, fixture: "list_branches.json"},
				{service: "codecommit", op: "GetBranch", input: map[string]any{"repositoryName": "MyDemoRepo", "branchName": "main"},
					fixture: "get_branch_main.json"},
				{service: "codecommit", op: "GetBranch", input: map[string]any{"repositoryName": "MyDemoRepo", "branchName": "MyNewBranch"},
					fixture: "get_branch_MyNewBranch.json"},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Branches(ctx, cred, goldenRepo)
			},
		},
		{
			// CreateBranch answers 200 with an empty body.
			Name: "create_branch",
			Calls: []goldenCall{
				{service: "codecommit", op: "GetBranch", input: map[string]any{"repositoryName": "MyDemoRepo", "branchName": "main"},
					fixture: "get_branch_main.json"},
				{service: "codecommit", op: "CreateBranch", input: map[string]any{"repositoryName": "MyDemoRepo",
					"branchName": "jane-branch", "commitId": "5d036259EXAMPLE"}},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreateBranch(ctx, cred, goldenRepo, "jane-branch", "")
			},
		},
		{
			// No open pull request has the same branches, so one is created.
			Name: "create_pull_request.json",
			Calls: []goldenCall{
				{service: "codecommit", op: "ListPullRequests", input: map[string]any{"repositoryName": "MyDemoRepo",
					"pullRequestStatus": "OPEN"}, fixture: "list_pull_requests.json"},
				{service: "codecommit", op: "CreatePullRequest", input: map[string]any{
					"title":       "Pronunciation difficulty analyzer",
					"description": "A code review of the new feature I just added to the service.",
					"targets": []any{map[string]any{"repositoryName": "MyDemoRepo",
						"sourceReference": "jane-branch", "destinationReference": "main"}},
				}, fixture: "create_pull_request.json"},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreatePullRequest(ctx, cred, goldenRepo, fb.NewPullRequest{SourceBranch: "jane-branch",
					Title:       "Pronunciation difficulty analyzer",
					Description: "A code review of the new feature I just added to the service."})
			},
		},
		{
			// Open pull requests, then closed ones over two pages; each read
			// with GetPullRequest: 27 is open, 42 closed unmerged, 47 merged.
			Name: "list_pull_requests_closed.json",
			Calls: []goldenCall{
				{service: "codecommit", op: "ListPullRequests", input: map[string]any{"repositoryName": "MyDemoRepo",
					"pullRequestStatus": "OPEN", "maxResults": float64(100)}, fixture: "list_pull_requests_open.json"},
				{service: "codecommit", op: "GetPullRequest", input: map[string]any{"pullRequestId": "27"},
					fixture: "get_pull_request_27.json"},
				{service: "codecommit", op: "ListPullRequests", input: map[string]any{"repositoryName": "MyDemoRepo",
					"pullRequestStatus": "CLOSED", "maxResults": float64(100)}, fixture: "list_pull_requests_closed.json"},
				{service: "codecommit", op: "GetPullRequest", input: map[string]any{"pullRequestId": "42"},
					fixture: "get_pull_request_42.json"},
				{service: "codecommit", op: "ListPullRequests", input: map[string]any{"repositoryName": "MyDemoRepo",
					"pullRequestStatus": "CLOSED", "nextToken": "EXAMPLE2kpR1yBRjZPtbtOgi"}, fixture: "list_pull_requests_closed_2.json"},
				{service: "codecommit", op: "GetPullRequest", input: map[string]any{"pullRequestId": "47"},
					fixture: "get_pull_request_47.json"},
			},
			Run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				var got []listedPR
				err := p.(provider.PullRequestLister).PullRequests(ctx, cred, goldenRepo, time.Time{}, func(pr fb.PullRequest) error {
					got = append(got, listedPR{pr, pr.Description, pr.Author, pr.UpdatedAt})
					return nil
				})
				return got, err
			},
		},
	}
	open := func(url string) (provider.Provider, error) {
		return New(fb.Integration{ID: "int-golden", Kind: fb.KindCodeCommit, Region: goldenRegion, BaseURL: url},
			provider.Options{})
	}
	providertest.RunGolden(t, goldenService{}, open, goldenKey, tests, *update)
}

// listedPR shows the fields of a listed pull request that its JSON leaves out.
type listedPR struct {
	fb.PullRequest
	Description string    `json:"description"`
	Author      string    `json:"author"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// goldenService plays CodeCommit and STS on one endpoint: it checks what AWS
// checks (the SigV4 signature, its credential scope, the operation and its
// input) and answers with the call's fixture.
type goldenService struct{}

func (goldenService) Serve(r *http.Request, body []byte,
	take providertest.Take[goldenCall]) (providertest.Reply, *providertest.Fault) {
	refuse := func(code, msg string) (providertest.Reply, *providertest.Fault) {
		return providertest.Reply{}, &providertest.Fault{Status: http.StatusBadRequest, Code: code, Message: msg}
	}
	// CodeCommit speaks JSON 1.1 (the operation in X-Amz-Target); STS the
	// query protocol (the operation in the form's Action).
	service, op := "sts", ""
	input := map[string]any{}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		var ok bool
		service = "codecommit"
		if op, ok = strings.CutPrefix(target, "CodeCommit_20150413."); !ok {
			return refuse("UnknownOperationException", "unknown target "+target)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			return refuse("SerializationException", "content type "+ct)
		}
		if err := json.Unmarshal(body, &input); err != nil {
			return refuse("SerializationException", "the body is not JSON")
		}
	} else {
		form, err := url.ParseQuery(string(body))
		if err != nil || r.Method != http.MethodPost || form.Get("Version") != "2011-06-15" {
			return refuse("InvalidAction", "not an STS 2011-06-15 query request")
		}
		op = form.Get("Action")
	}
	if err := goldenVerifySigV4(r, body, service); err != nil {
		return refuse("InvalidSignatureException", err.Error())
	}
	c, ok := take(func(c goldenCall) bool {
		return c.service == service && c.op == op && providertest.FieldsDiff(input, c.input) == ""
	})
	if !ok {
		return refuse("InvalidRequestException", fmt.Sprintf("no such call expected: %s %s %s", service, op,
			providertest.JSON(input)))
	}
	reply := providertest.Reply{ContentType: "application/x-amz-json-1.1", Fixture: c.fixture}
	if service == "sts" {
		reply.ContentType = "text/xml"
	}
	return reply, nil
}

// Refuse answers as AWS's JSON protocols do; the harness's own faults (a
// missing fixture) carry no code.
func (goldenService) Refuse(w http.ResponseWriter, f *providertest.Fault) {
	code := f.Code
	if code == "" {
		code = "InternalFailure"
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(f.Status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": f.Message})
}

func (goldenService) Name(c goldenCall) string {
	return c.service + ":" + c.op + " " + providertest.JSON(c.input)
}

// goldenVerifySigV4 checks the request's Signature Version 4 as AWS does: the
// credential scope names goldenKey, the region and the service, and the
// signature over the signed headers and the body is the one goldenKey makes.
func goldenVerifySigV4(r *http.Request, body []byte, service string) error {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok {
		return errors.New("missing authentication token")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != goldenKey.AccessKeyID || scope[2] != goldenRegion || scope[3] != service ||
		scope[4] != "aws4_request" {
		return fmt.Errorf("credential scope %q does not name the key, %s and %s", fields["Credential"], goldenRegion, service)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if !strings.HasPrefix(amzDate, scope[1]) {
		return fmt.Errorf("X-Amz-Date %q is not of the scope's day %s", amzDate, scope[1])
	}
	var headers strings.Builder
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		v := strings.Join(r.Header.Values(h), ",")
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		}
		headers.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	payload := sha256.Sum256(body)
	canonical := strings.Join([]string{r.Method, path, strings.ReplaceAll(r.URL.Query().Encode(), "+", "%20"),
		headers.String(), fields["SignedHeaders"], hex.EncodeToString(payload[:])}, "\n")
	digest := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(digest[:])
	key := []byte("AWS4" + goldenKey.SecretAccessKey)
	for _, part := range scope[1:] {
		key = goldenHMAC(key, part)
	}
	if want := hex.EncodeToString(goldenHMAC(key, toSign)); !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return errors.New("the request signature we calculated does not match the signature provided")
	}
	return nil
}

func goldenHMAC(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
