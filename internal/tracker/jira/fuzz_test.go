package jira

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

// FuzzAnswers feeds the tracker arbitrary answers from Jira on every call:
// it must not panic, must answer with a *forgebridge.Error of a code the
// product knows (or succeed), and must never put a token into an error,
// even when Jira echoes the request back.
func FuzzAnswers(f *testing.F) {
	f.Add(200, "application/json", "", "", []byte(`{"name":"alice","key":"alice","active":true}`))
	f.Add(200, "application/json", "", "", []byte(`{"users":[{"name":"alice","key":"alice"}],"total":1}`))
	f.Add(200, "application/json", "", "", []byte(`[{"name":"alice","key":"alice"}]`))
	f.Add(200, "application/json", "", "AUTHENTICATED_FAILED", []byte(`{}`))
	f.Add(401, "application/json", "", "AUTHENTICATION_DENIED", []byte(`{"errorMessages":["You are not authenticated."],"errors":{}}`))
	f.Add(403, "text/html", "", "", []byte(`<html>forbidden</html>`))
	f.Add(404, "application/json", "", "", []byte(`{"errorMessages":["Issue Does Not Exist"],"errors":{}}`))
	f.Add(429, "application/json", "12", "", []byte(`{}`))
	f.Add(503, "text/plain", "x", "", []byte("down"))
	f.Add(201, "application/json", "", "", []byte(`{"id":10000,"self":"http://x"}`))
	const service, person = "svc_secret_token_0123456789abcdefghij", "person_secret_token_0123456789abcdefg"
	f.Fuzz(func(t *testing.T, status int, contentType, retryAfter, loginReason string, body []byte) {
		if status < 200 || status > 599 { // 1xx are not final answers: the client would wait for one
			return
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			if loginReason != "" {
				w.Header().Set("X-Seraph-LoginReason", loginReason)
			}
			w.WriteHeader(status)
			w.Write(body)
			w.Write([]byte(r.Header.Get("Authorization")))
		}))
		defer srv.Close()
		tr, err := New(Config{BaseURL: srv.URL, ServiceToken: service, CacheTTL: -1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		u := fb.User{Key: "alice", Name: "alice", Active: true}
		check := func(op string, err error) {
			if err == nil {
				return
			}
			var e *fb.Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: %T %v is not a *forgebridge.Error", op, err, err)
			}
			switch e.Code {
			case fb.EUnauthenticated, fb.ETrackerUnavailable, fb.ENotFound, fb.EForbidden, fb.EInvalid:
			default:
				t.Fatalf("%s: unexpected code %q (%v)", op, e.Code, err)
			}
			for _, s := range []string{service, person} {
				if strings.Contains(e.Message, s) || strings.Contains(err.Error(), s) {
					t.Fatalf("%s: the error carries a token: %v", op, err)
				}
			}
		}
		_, err = tr.Check(ctx)
		check("Check", err)
		_, err = tr.UserForToken(ctx, person)
		check("UserForToken", err)
		_, err = tr.User(ctx, "alice")
		check("User", err)
		_, err = tr.Issue(ctx, "PROJ-1")
		check("Issue", err)
		_, err = tr.Permissions(ctx, u, "PROJ")
		check("Permissions", err)
		_, err = tr.IssuePermissions(ctx, u, fb.Issue{Key: "PROJ-1", Project: "PROJ"})
		check("IssuePermissions", err)
		_, err = tr.BrowsableProjects(ctx, u)
		check("BrowsableProjects", err)
		check("AddRemoteLink", tr.AddRemoteLink(ctx, "PROJ-1", RemoteLink{GlobalID: "g", URL: "https://x/b", Title: "b"}))
	})
}
