package providertest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// knownCodes are the codes a driver may answer with (provider.go).
var knownCodes = map[fb.Code]bool{fb.ETokenRejected: true, fb.EProviderDenied: true, fb.EProviderRejected: true,
	fb.EAlreadyExists: true, fb.ERateLimited: true, fb.EProviderUnavailable: true, fb.ENotSupported: true,
	fb.ENotFound: true, fb.EInvalid: true}

// FuzzAnswers feeds a driver arbitrary answers from its service — any
// status, content type, Retry-After and body — on every call it makes. The
// driver must not panic, must answer with a *forgebridge.Error of a known
// code (or succeed), and must never put the credential into an error, in
// any form (provider.SecretForms: as is, inside a JSON string, URL-encoded,
// base64). The service's answers are untrusted input: this is the fuzz test
// of every parser of them.
//
// The service echoes what it was sent, the worst case for leaks: the
// Authorization header after the body, and in the body each placeholder
// ({{secret}}, {{secret.json}}, {{secret.url}}, {{secret.b64}}, {{auth}},
// {{auth.json}}) replaced by the credential or the header in that form.
//
// newProvider builds the driver with its service at baseURL; cred is a
// credential whose parts are long enough to be found if they leak.
func FuzzAnswers(f *testing.F, newProvider func(baseURL string) (provider.Provider, error), cred fb.Credential) {
	f.Add(200, "application/json", "", []byte(`{}`))
	f.Add(200, "application/json", "", []byte(`[]`))
	f.Add(201, "application/json", "", []byte(`{"id":1,"name":"x","ref":"refs/heads/x","object":{"sha":"abc"}}`))
	f.Add(203, "text/html", "", []byte(`<html>sign in</html>`))
	f.Add(401, "application/json", "", []byte(`{"message":"Bad credentials"}`))
	f.Add(403, "application/json", "30", []byte(`{"message":"secondary rate limit"}`))
	f.Add(404, "application/json", "", []byte(`{"message":"Not Found"}`))
	f.Add(409, "application/json", "", []byte(`{"message":["Another open merge request already exists for this source branch: !7"]}`))
	f.Add(422, "application/json", "", []byte(`{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for a:b."}]}`))
	f.Add(429, "application/json", "abc", []byte(`{"error":"too many"}`))
	f.Add(400, "application/x-amz-json-1.1", "", []byte(`{"__type":"BranchNameExistsException","message":"exists"}`))
	f.Add(400, "application/x-amz-json-1.1", "", []byte(`{"__type":"ThrottlingException"}`))
	f.Add(500, "text/plain", "", []byte("boom"))
	f.Add(200, "application/json", "", []byte(`{"value":[{"id":"1","name":"r","project":{"name":"p"},"webUrl":"http://x"}],"count":1}`))
	f.Add(200, "application/json", "", []byte(`{"authenticatedUser":{"id":"00000000-0000-0000-0000-000000000000"}}`))
	f.Add(200, "text/xml", "", []byte(`<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::1:user/x</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>`))
	// Services that quote the credential back, in the forms a leak takes.
	f.Add(401, "application/json", "", []byte(`{"message":"Bad credentials: {{secret.json}}"}`))
	f.Add(422, "application/json", "", []byte(`{"message":"Validation Failed","errors":[{"message":"token {{secret.json}} may not","code":"custom"}]}`))
	f.Add(400, "application/json", "", []byte(`{"message":"bad header {{auth.json}}","error":"{{secret.b64}}"}`))
	f.Add(404, "text/html", "", []byte(`<a href="/login?token={{secret.url}}">{{auth}}</a>`))
	f.Add(500, "application/json", "", []byte(`{"$id":"1","message":"TF400813: {{auth.json}} {{secret.url}}","typeKey":"UnauthorizedRequestException"}`))
	f.Add(400, "application/x-amz-json-1.1", "", []byte(`{"__type":"ValidationException","message":"key {{secret.json}} / {{secret.b64}}"}`))
	f.Add(200, "application/json", "", []byte(`{"login":"{{secret.json}}","id":1,"name":"{{auth.json}}","value":[{"id":"{{secret.b64}}","name":"r"}]}`))

	secrets := []string{cred.Token, cred.AccessKeyID, cred.SecretAccessKey}
	joined := strings.Join(slices.DeleteFunc(slices.Clone(secrets), func(s string) bool { return s == "" }), " ")
	f.Fuzz(func(t *testing.T, status int, contentType, retryAfter string, body []byte) {
		if status < 200 || status > 599 { // 1xx are not final answers: the client would wait for one
			return
		}
		// A service that echoes what it was sent is the worst case for leaks.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			auth := r.Header.Get("Authorization") + r.Header.Get("Private-Token")
			w.Header().Set("X-Echo", r.Header.Get("Authorization"))
			w.WriteHeader(status)
			w.Write(quoteBack(body, joined, auth))
			w.Write([]byte(auth))
		}))
		defer srv.Close()
		p, err := newProvider(srv.URL)
		if err != nil {
			t.Fatalf("building the driver: %v", err)
		}
		ctx := context.Background()
		repo := fb.Repository{ID: "r1", IntegrationID: "i1", ExternalID: "1", Name: "app", FullName: "acme/app",
			DefaultBranch: "main", WebURL: srv.URL + "/acme/app", CanCreateBranch: true, CanCreatePullRequest: true}
		check := func(op string, err error) {
			if err == nil {
				return
			}
			var e *fb.Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: %T %v is not a *forgebridge.Error", op, err, err)
			}
			if !knownCodes[e.Code] {
				t.Fatalf("%s: unexpected code %q (%v)", op, e.Code, err)
			}
			if e.Message == "" {
				t.Fatalf("%s: %s without a message", op, e.Code)
			}
			if e.Code == fb.ERateLimited && e.RetryAfter < 1 {
				t.Fatalf("%s: rate_limited with retryAfter %d", op, e.RetryAfter)
			}
			if provider.Leaks(e.Message, secrets...) || provider.Leaks(err.Error(), secrets...) {
				t.Fatalf("%s: the error carries a secret: %v", op, err)
			}
		}
		_, err = p.Validate(ctx, cred)
		check("Validate", err)
		_, err = p.Repositories(ctx, cred)
		check("Repositories", err)
		_, err = p.Branches(ctx, cred, repo)
		check("Branches", err)
		_, err = p.CreateBranch(ctx, cred, repo, "PROJ-1-x", "")
		check("CreateBranch", err)
		_, err = p.CreatePullRequest(ctx, cred, repo, fb.NewPullRequest{SourceBranch: "PROJ-1-x", TargetBranch: "main", Title: "t"})
		check("CreatePullRequest", err)
	})
}

// quoteBack fills the body's placeholders with the secret and the
// Authorization header the driver sent, each in the form it names.
func quoteBack(body []byte, secret, auth string) []byte {
	jsonString := func(s string) string {
		b, _ := json.Marshal(s)
		return strings.Trim(string(b), `"`)
	}
	return []byte(strings.NewReplacer(
		"{{secret}}", secret,
		"{{secret.json}}", jsonString(secret),
		"{{secret.url}}", url.QueryEscape(secret),
		"{{secret.b64}}", base64.StdEncoding.EncodeToString([]byte(secret)),
		"{{auth}}", auth,
		"{{auth.json}}", jsonString(auth),
	).Replace(string(body)))
}
