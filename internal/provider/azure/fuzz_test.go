package azure

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
)

func FuzzAnswers(f *testing.F) {
	providertest.FuzzAnswers(f, func(baseURL string) (provider.Provider, error) {
		return New(fb.Integration{ID: "i1", Name: "fuzz", Kind: fb.KindAzureDevOps, BaseURL: baseURL}, provider.Options{})
	}, fb.Credential{Token: "tok_secret_0123456789abcdefghijklmnopqrstuv"})
}

// FuzzIndexingAnswers feeds the pull request listing and GitRemote any
// answer: no panic, a *forgebridge.Error of a known code or success, no
// credential in an error, and a clone URL only on the integration's host.
func FuzzIndexingAnswers(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"value":[{"pullRequestId":1,"status":"active","creationDate":"2016-11-01T16:30:31.6655471Z","closedDate":"0001-01-01T00:00:00"}],"count":1}`))
	f.Add(200, "application/json", []byte(`{"value":[{"pullRequestId":2,"status":"completed","closedDate":"2016-11-01T16:30:02Z","description":"`+strings.Repeat("x", 400)+`"}]}`))
	f.Add(200, "application/json", []byte(`{"value":[{"pullRequestId":3,"creationDate":"yesterday"}]}`))
	f.Add(200, "application/json", []byte(`{"remoteUrl":"https://org@dev.azure.com/org/p/_git/r"}`))
	f.Add(200, "application/json", []byte(`{"remoteUrl":"http://127.0.0.1:1/x"}`))
	f.Add(401, "application/json", []byte(`{"message":"TF400813: The user 'a1b2c3' is not authorized to access this resource.","typeKey":"UnauthorizedRequestException"}`))
	f.Add(203, "text/html", []byte(`<html>sign in</html>`))
	const token = "tok_secret_0123456789abcdefghijklmnopqrstuv"
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		if status < 200 || status > 599 {
			return
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(status)
			w.Write(body)
		}))
		defer srv.Close()
		p, err := New(fb.Integration{ID: "i1", Kind: fb.KindAzureDevOps, BaseURL: srv.URL + "/org"}, provider.Options{})
		if err != nil {
			t.Fatal(err)
		}
		repo := fb.Repository{ExternalID: "r1", FullName: "p/r", WebURL: srv.URL + "/org/p/_git/r"}
		check := func(op string, err error) {
			var e *fb.Error
			if err == nil {
				return
			}
			if !errors.As(err, &e) || e.Message == "" || strings.Contains(err.Error()+e.Message, token) {
				t.Fatalf("%s: %v", op, err)
			}
		}
		pulls := 0
		err = p.(provider.PullRequestLister).PullRequests(context.Background(), fb.Credential{Token: token}, repo, time.Time{},
			func(pr fb.PullRequest) error {
				if pr.State == "" || pr.ID == "" {
					t.Fatalf("pull request without a state or id: %+v", pr)
				}
				if pulls++; pulls > 10000 {
					return errors.New("endless listing")
				}
				return nil
			})
		check("PullRequests", err)
		remote, err := p.(provider.Mirrorer).GitRemote(context.Background(), fb.Credential{Token: token}, repo)
		check("GitRemote", err)
		if err == nil && !strings.HasPrefix(remote.URL, srv.URL+"/") && remote.URL != srv.URL {
			t.Fatalf("clone URL %s is off the integration's host", remote.URL)
		}
	})
}
