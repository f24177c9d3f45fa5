package azure

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// maxBody bounds what is read of one answer; a page of refs or repositories
// is far smaller.
const maxBody = 32 << 20

// request is one REST call.
type request struct {
	method string
	url    string     // absolute, without api-version; may carry a query
	query  url.Values // added to url's query
	// body builds the JSON body for the api-version the call is sent with; nil: no body.
	body func(version string) any
	// versioned calls carry api-version; connectionData answers without one.
	versioned bool
	what      string // what the call does, for messages: "list the repositories"
	write     bool   // needs write access (the Code (Read & write) scope)
}

// response is an answer the driver reads. apiErr is set for error statuses
// whose body is Azure's exception JSON.
type response struct {
	status  int
	header  http.Header
	body    []byte
	version string // the api-version it was sent with
	apiErr  *azError
}

// azError is the body Azure DevOps gives its exceptions.
type azError struct {
	Message string `json:"message"`
	TypeKey string `json:"typeKey"`
}

// tfCode finds a TF error number ("TF401019") in Azure's messages.
var tfCode = regexp.MustCompile(`\bTF\d{5,6}\b`)

func (e *azError) code() string {
	if e == nil {
		return ""
	}
	return tfCode.FindString(e.Message)
}

// userInMessage is the identity TF400813 names: "The user '…' is not authorized".
var userInMessage = regexp.MustCompile(`The user '([^']*)'`)

// namesUser reports whether a 401 is TF400813 about a real user: the token
// authenticated but its scopes do not reach the resource. A token Azure does
// not know answers 401 without a body, or names the anonymous all-zero user.
func (e *azError) namesUser() bool {
	if e == nil || e.TypeKey != "UnauthorizedRequestException" {
		return false
	}
	m := userInMessage.FindStringSubmatch(e.Message)
	return m != nil && strings.Trim(m[1], "0-") != ""
}

// gitPermission reads the permission of TF401027 ("You need the Git
// 'CreateBranch' permission …").
var gitPermission = regexp.MustCompile(`the Git '([A-Za-z]+)' permission`)

// permission is the Git permission a GitNeedsPermissionException names, or "".
func (e *azError) permission() string {
	if e == nil {
		return ""
	}
	if m := gitPermission.FindStringSubmatch(e.Message); m != nil {
		return m[1]
	}
	return ""
}

// do sends r with cred and maps any failure to a *forgebridge.Error. An
// answer with an error status is returned alongside its error, so callers
// can look at Azure's exception. A TFS that refuses the api-version is asked
// again once with the version it names.
func (p *Provider) do(ctx context.Context, cred fb.Credential, r request) (*response, error) {
	if cred.Token == "" {
		return nil, &fb.Error{Code: fb.ETokenRejected, IntegrationID: p.integrationID,
			Message: "No Azure DevOps personal access token was given."}
	}
	for attempt := 0; ; attempt++ {
		resp, err := p.send(ctx, cred, r)
		if err != nil {
			return nil, err
		}
		if resp.status == http.StatusBadRequest && attempt == 0 && p.lowerVersion(resp.version, resp.apiErr) {
			continue
		}
		if err := p.check(resp, r); err != nil {
			return resp, err
		}
		return resp, nil
	}
}

func (p *Provider) send(ctx context.Context, cred fb.Credential, r request) (*response, error) {
	u, err := url.Parse(r.url)
	if err != nil {
		return nil, &fb.Error{Code: fb.EInvalid, IntegrationID: p.integrationID,
			Message: "The Azure DevOps address is not a valid URL.", Err: err}
	}
	q := u.Query()
	for k, vs := range r.query {
		q[k] = vs
	}
	version := ""
	if r.versioned {
		version = p.currentVersion()
		q.Set("api-version", version)
	}
	u.RawQuery = q.Encode()

	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body(version))
		if err != nil {
			return nil, fmt.Errorf("azure: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("azure: build request: %w", err)
	}
	// A PAT is the password of Basic auth with an empty user name.
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(":"+cred.Token)))
	// Without it an unauthenticated call is redirected to a sign-in page
	// (203 with HTML) instead of answering 401.
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	res, err := p.hc.Do(req)
	if err != nil {
		return nil, provider.Unavailable(serviceName, redactURLError(err))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, provider.Unavailable(serviceName, err)
	}
	resp := &response{status: res.StatusCode, header: res.Header, body: b, version: version}
	if res.StatusCode >= 300 && isJSON(res.Header) {
		var e azError
		if json.Unmarshal(b, &e) == nil && (e.Message != "" || e.TypeKey != "") {
			resp.apiErr = &e
		}
	}
	return resp, nil
}

// redactURLError keeps the cause of a transport failure but not the URL's
// query, which could carry a continuation token; the credential itself
// travels in a header and is never part of an error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

func isJSON(h http.Header) bool {
	return strings.HasPrefix(strings.ToLower(h.Get("Content-Type")), "application/json")
}

// check maps an answer to forgebridge's errors; nil for a usable success.
func (p *Provider) check(resp *response, r request) error {
	e := &fb.Error{IntegrationID: p.integrationID}
	if resp.apiErr != nil {
		e.Err = fmt.Errorf("azure devops: HTTP %d %s: %s", resp.status, resp.apiErr.TypeKey, resp.apiErr.Message)
	} else {
		e.Err = fmt.Errorf("azure devops: HTTP %d", resp.status)
	}
	scope := "vso.code"
	scopeName := "Code (Read)"
	if r.write {
		scope, scopeName = "vso.code_write", "Code (Read & write)"
	}
	code := resp.apiErr.code()
	withCode := func(msg string) string {
		if code != "" {
			return msg + " (" + code + ")."
		}
		return msg + "."
	}

	switch s := resp.status; {
	case s == http.StatusNonAuthoritativeInfo || (s >= 200 && s < 300 && !isJSON(resp.header)):
		// Azure's answer to a credential it does not accept when it would
		// rather sign a browser in: a sign-in page instead of data.
		e.Code = fb.ETokenRejected
		e.Message = "Azure DevOps answered with a sign-in page instead of data: the personal access token was not accepted. Check that it is valid and not expired."
	case s >= 200 && s < 300:
		return nil
	case s == http.StatusUnauthorized && resp.apiErr.namesUser():
		// The token authenticated (TF400813 names its user) but its scopes
		// do not cover the call.
		e.Code = fb.EProviderDenied
		e.MissingScopes = []string{scope}
		e.Message = withCode(fmt.Sprintf("The personal access token may not %s: it needs the %s scope. Create a token with that scope and save it again", r.what, scopeName))
	case s == http.StatusUnauthorized:
		e.Code = fb.ETokenRejected
		e.Message = "Azure DevOps did not accept the personal access token: it is unknown, expired or revoked. Create a new token and save it again."
	case s == http.StatusTooManyRequests || resp.header.Get("Retry-After") != "":
		e.Code = fb.ERateLimited
		e.RetryAfter = retryAfter(resp.header)
		e.Message = fmt.Sprintf("Azure DevOps is throttling requests made with this token. Try again in %d seconds.", e.RetryAfter)
	case s == http.StatusForbidden && resp.apiErr.permission() != "":
		e.Code = fb.EProviderDenied
		e.Message = withCode(fmt.Sprintf("The token's user may not %s: an administrator must grant it the Git %q permission on the repository",
			r.what, resp.apiErr.permission()))
	case s == http.StatusForbidden:
		e.Code = fb.EProviderDenied
		e.Message = withCode(fmt.Sprintf("Azure DevOps does not let the token's user %s: it needs the matching permission on the project or repository", r.what))
	case s == http.StatusNotFound && resp.apiErr != nil:
		e.Code = fb.EProviderDenied
		e.Message = withCode(fmt.Sprintf("Could not %s: Azure DevOps says the project or repository does not exist or the token cannot see it", r.what))
	case s == http.StatusNotFound:
		e.Code = fb.EProviderRejected
		e.Message = "Azure DevOps has no REST API at this address: check the organisation or collection URL of the integration."
	case s >= 500:
		return provider.Unavailable(serviceName, e.Err)
	case resp.apiErr != nil && resp.apiErr.TypeKey == "VssVersionOutOfRangeException":
		e.Code = fb.EProviderRejected
		e.Message = fmt.Sprintf("The server does not accept REST api-version %s. Set the integration's server version to the Azure DevOps Server or TFS release it runs.", resp.version)
		if p.kind != fb.KindTFS {
			e.Message = fmt.Sprintf("The server does not accept REST api-version %s, which Azure DevOps Services speaks: if it is an Azure DevOps Server or TFS, make the integration of kind tfs.", resp.version)
		}
	case code == "TF401398":
		e.Code = fb.EProviderRejected
		e.Message = withCode("Azure DevOps cannot open the pull request: its source or target branch does not exist")
	default:
		e.Code = fb.EProviderRejected
		e.Message = withCode("Azure DevOps refused to " + r.what)
	}
	return e
}

// retryAfter is the wait Azure asks for: Retry-After (seconds or a date),
// else X-RateLimit-Reset (epoch seconds), else a minute.
func retryAfter(h http.Header) int {
	now := time.Now()
	if v := h.Get("Retry-After"); v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return max(n, 1)
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(int(t.Sub(now).Seconds()+0.999), 1)
		}
	}
	if v := h.Get("X-RateLimit-Reset"); v != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > now.Unix() {
			return int(n - now.Unix())
		}
	}
	return 60
}

// decode reads a successful JSON answer.
func (p *Provider) decode(resp *response, v any) error {
	if err := json.Unmarshal(resp.body, v); err != nil {
		return &fb.Error{Code: fb.EProviderUnavailable, IntegrationID: p.integrationID,
			Message: "Azure DevOps answered with something that is not the expected JSON. Try again later.", Err: err}
	}
	return nil
}
