package codecommit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
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
	tests := []struct {
		name  string // testdata/<name>.golden holds the expected result
		calls []goldenCall
		run   func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error)
	}{
		{
			// STS says who the key is; listing repositories proves it may use CodeCommit.
			name: "get_caller_identity.xml",
			calls: []goldenCall{
				{service: "sts", op: "GetCallerIdentity", fixture: "get_caller_identity.xml"},
				listRepos,
			},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Validate(ctx, cred)
			},
		},
		{
			// MyEmptyRepo has no default branch: nothing to branch from yet.
			name: "batch_get_repositories.json",
			calls: []goldenCall{
				listRepos,
				{service: "codecommit", op: "BatchGetRepositories",
					input:   map[string]any{"repositoryNames": []any{"MyDemoRepo", "MyOtherDemoRepo", "MyEmptyRepo"}},
					fixture: "batch_get_repositories.json"},
			},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Repositories(ctx, cred)
			},
		},
		{
			// ListBranches gives names only; each head comes from GetBranch.
			// The default branch is listed first.
			name: "list_branches.json",
			calls: []goldenCall{
				{service: "codecommit", op: "ListBranches", input: demoRepo, fixture: "list_branches.json"},
				{service: "codecommit", op: "GetBranch", input: map[string]any{"repositoryName": "MyDemoRepo", "branchName": "main"},
					fixture: "get_branch_main.json"},
				{service: "codecommit", op: "GetBranch", input: map[string]any{"repositoryName": "MyDemoRepo", "branchName": "MyNewBranch"},
					fixture: "get_branch_MyNewBranch.json"},
			},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.Branches(ctx, cred, goldenRepo)
			},
		},
		{
			// CreateBranch answers 200 with an empty body.
			name: "create_branch",
			calls: []goldenCall{
				{service: "codecommit", op: "GetBranch", input: map[string]any{"repositoryName": "MyDemoRepo", "branchName": "main"},
					fixture: "get_branch_main.json"},
				{service: "codecommit", op: "CreateBranch", input: map[string]any{"repositoryName": "MyDemoRepo",
					"branchName": "jane-branch", "commitId": "5d036259EXAMPLE"}},
			},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreateBranch(ctx, cred, goldenRepo, "jane-branch", "")
			},
		},
		{
			// No open pull request has the same branches, so one is created.
			name: "create_pull_request.json",
			calls: []goldenCall{
				{service: "codecommit", op: "ListPullRequests", input: map[string]any{"repositoryName": "MyDemoRepo",
					"pullRequestStatus": "OPEN"}, fixture: "list_pull_requests.json"},
				{service: "codecommit", op: "CreatePullRequest", input: map[string]any{
					"title":       "Pronunciation difficulty analyzer",
					"description": "A code review of the new feature I just added to the service.",
					"targets": []any{map[string]any{"repositoryName": "MyDemoRepo",
						"sourceReference": "jane-branch", "destinationReference": "main"}},
				}, fixture: "create_pull_request.json"},
			},
			run: func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error) {
				return p.CreatePullRequest(ctx, cred, goldenRepo, fb.NewPullRequest{SourceBranch: "jane-branch",
					Title:       "Pronunciation difficulty analyzer",
					Description: "A code review of the new feature I just added to the service."})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newGoldenServer(t, tt.calls)
			p, err := New(fb.Integration{ID: "int-golden", Kind: fb.KindCodeCommit, Region: goldenRegion, BaseURL: srv.URL},
				provider.Options{})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			got, err := tt.run(context.Background(), p, goldenKey)
			if err != nil {
				t.Fatalf("driver error: %v", err)
			}
			srv.checkAllServed(t)
			checkGolden(t, tt.name, got)
		})
	}
}

// goldenServer plays CodeCommit and STS on one endpoint: it checks what AWS
// checks (the SigV4 signature, its credential scope, the operation and its
// input) and answers each expected call once with its fixture.
type goldenServer struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	calls  []goldenCall
	served []bool
}

func newGoldenServer(t *testing.T, calls []goldenCall) *goldenServer {
	s := &goldenServer{t: t, calls: calls, served: make([]bool, len(calls))}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *goldenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(code, msg string) {
		s.t.Errorf("%s %s: %s: %s", r.Method, r.URL, code, msg)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail("SerializationException", "unreadable body")
		return
	}
	// CodeCommit speaks JSON 1.1 (the operation in X-Amz-Target); STS the
	// query protocol (the operation in the form's Action).
	service, op := "sts", ""
	input := map[string]any{}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		var ok bool
		service = "codecommit"
		if op, ok = strings.CutPrefix(target, "CodeCommit_20150413."); !ok {
			fail("UnknownOperationException", "unknown target "+target)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			fail("SerializationException", "content type "+ct)
			return
		}
		if err := json.Unmarshal(body, &input); err != nil {
			fail("SerializationException", "the body is not JSON")
			return
		}
	} else {
		form, err := url.ParseQuery(string(body))
		if err != nil || r.Method != http.MethodPost || form.Get("Version") != "2011-06-15" {
			fail("InvalidAction", "not an STS 2011-06-15 query request")
			return
		}
		op = form.Get("Action")
	}
	if err := goldenVerifySigV4(r, body, service); err != nil {
		fail("InvalidSignatureException", err.Error())
		return
	}
	s.mu.Lock()
	i := -1
	for j, c := range s.calls {
		if !s.served[j] && c.service == service && c.op == op && goldenHas(input, c.input) {
			i = j
			s.served[j] = true
			break
		}
	}
	s.mu.Unlock()
	if i < 0 {
		fail("InvalidRequestException", fmt.Sprintf("no such call expected: %s %s %s", service, op, goldenJSON(input)))
		return
	}
	c := s.calls[i]
	var payload []byte
	if c.fixture != "" {
		if payload, err = os.ReadFile(filepath.Join("testdata", c.fixture)); err != nil {
			fail("InternalFailure", err.Error())
			return
		}
	}
	if service == "sts" {
		w.Header().Set("Content-Type", "text/xml")
	} else {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	}
	w.Write(payload)
}

// goldenHas reports whether input carries every field of want.
func goldenHas(input, want map[string]any) bool {
	for k, v := range want {
		if !reflect.DeepEqual(input[k], v) {
			return false
		}
	}
	return true
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

// checkAllServed fails the test for every expected call the driver did not make.
func (s *goldenServer) checkAllServed(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.calls {
		if !s.served[i] {
			t.Errorf("the driver never called %s:%s %s", c.service, c.op, goldenJSON(c.input))
		}
	}
}

func goldenJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkGolden compares got, as indented JSON, with testdata/<name>.golden,
// or rewrites that file under -update.
func checkGolden(t *testing.T, name string, got any) {
	t.Helper()
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	out = append(out, '\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (run with -update to create it): %v", path, err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("result differs from %s\ngot:\n%s\nwant:\n%s", path, out, want)
	}
}
