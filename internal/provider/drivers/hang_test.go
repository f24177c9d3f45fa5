package drivers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
)

// TestHangingProviderIsBounded: a provider that accepts the connection and
// never answers costs each operation of every driver no more than the
// client's timeout, even for a caller whose context has no deadline, and
// the caller gets provider_unavailable. The drivers build their own HTTP
// client here (no test client), as in production; only the timeout is
// shortened from provider.Timeout.
func TestHangingProviderIsBounded(t *testing.T) {
	var requests atomic.Int64
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.Copy(io.Discard, r.Body) // so the server notices the client going away
		select {                    // answers nothing until the client gives up
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer hang.Close()
	defer close(stop)

	const timeout = 300 * time.Millisecond
	cases := []fb.Integration{
		{Kind: fb.KindGitHub, BaseURL: hang.URL},
		{Kind: fb.KindGitHubEnterprise, BaseURL: hang.URL},
		{Kind: fb.KindGitLab, BaseURL: hang.URL},
		{Kind: fb.KindGitLabSelfManaged, BaseURL: hang.URL},
		{Kind: fb.KindAzureDevOps, BaseURL: hang.URL + "/acme"},
		{Kind: fb.KindVSTS, BaseURL: hang.URL + "/acme"},
		{Kind: fb.KindTFS, BaseURL: hang.URL + "/tfs/DefaultCollection", ServerVersion: "2019"},
		{Kind: fb.KindCodeCommit, BaseURL: hang.URL, Region: "eu-west-1"},
	}
	cred := fb.Credential{Token: "tok", AccessKeyID: "AKIAHANG000000000001", SecretAccessKey: "secret"}
	repo := fb.Repository{ID: "r1", ExternalID: "42", Name: "app", FullName: "acme/app", DefaultBranch: "main"}
	for _, in := range cases {
		t.Run(string(in.Kind), func(t *testing.T) {
			in.ID, in.Name = "i1", "hang"
			p, err := drivers.New(in, provider.Options{Timeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			ops := map[string]func(ctx context.Context) error{
				"validate": func(ctx context.Context) error { _, err := p.Validate(ctx, cred); return err },
				"repositories": func(ctx context.Context) error {
					_, err := p.Repositories(ctx, cred)
					return err
				},
				"branches": func(ctx context.Context) error { _, err := p.Branches(ctx, cred, repo); return err },
				"create_branch": func(ctx context.Context) error {
					_, err := p.CreateBranch(ctx, cred, repo, "PROJ-1-x", "main")
					return err
				},
				"create_pull_request": func(ctx context.Context) error {
					_, err := p.CreatePullRequest(ctx, cred, repo, fb.NewPullRequest{SourceBranch: "PROJ-1-x", TargetBranch: "main", Title: "PROJ-1"})
					return err
				},
			}
			if l, ok := p.(provider.PullRequestLister); ok {
				ops["pull_requests"] = func(ctx context.Context) error {
					return l.PullRequests(ctx, cred, repo, time.Time{}, func(fb.PullRequest) error { return nil })
				}
			}
			for name, op := range ops {
				before := requests.Load()
				done := make(chan error, 1)
				go func() { done <- op(context.Background()) }()
				select {
				case err := <-done:
					if fb.ErrorCode(err) != fb.EProviderUnavailable {
						t.Errorf("%s: %v (code %q), want provider_unavailable", name, err, fb.ErrorCode(err))
					}
				case <-time.After(time.Minute): // a guard against a hang, not a timing assertion
					t.Fatalf("%s did not return: the hanging provider is not bounded", name)
				}
				if requests.Load() == before {
					t.Errorf("%s never reached the provider: the bound was not tested", name)
				}
			}
		})
	}
}
