package gitlab

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	gl "gitlab.com/gitlab-org/api/client-go"
)

// op is the provider call an error answered, for messages people can act on.
type op int

const (
	opValidate op = iota
	opListRepositories
	opListBranches
	opCreateBranch
	opCreatePullRequest
	opListPullRequests
	opDeleteBranch
)

func (o op) String() string {
	return [...]string{"check the token", "list the repositories", "list the branches",
		"create the branch", "open the merge request", "list the merge requests", "delete the branch"}[o]
}

// defaultRetryAfter is the wait suggested when a 429 carries no hint: GitLab
// throttles per minute.
const defaultRetryAfter = 60

// apiError is the body of a GitLab error answer: {"message": string | list |
// {field: [reasons]}} from the API, or {"error", "error_description",
// "scope"} from authentication and parameter validation.
type apiError struct {
	Message          json.RawMessage `json:"message"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
	Scope            string          `json:"scope"`
}

// reason flattens the body into one sentence.
func (a apiError) reason() string {
	var s string
	if json.Unmarshal(a.Message, &s) == nil && s != "" {
		return s
	}
	var list []string
	if json.Unmarshal(a.Message, &list) == nil && len(list) > 0 {
		return strings.Join(list, "; ")
	}
	var fields map[string][]string
	if json.Unmarshal(a.Message, &fields) == nil && len(fields) > 0 {
		parts := make([]string, 0, len(fields))
		for k, v := range fields {
			parts = append(parts, strings.ReplaceAll(k, "_", " ")+" "+strings.Join(v, ", "))
		}
		sort.Strings(parts)
		return strings.Join(parts, "; ")
	}
	if a.ErrorDescription != "" {
		return a.ErrorDescription
	}
	return a.Error
}

func statusOf(resp *gl.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}

// mapError turns a failed call into forgebridge's error vocabulary. base is
// the base branch of a create-branch call. The token is scrubbed from every
// text GitLab sent back.
func (d *driver) mapError(cred fb.Credential, o op, base string, resp *gl.Response, err error) *fb.Error {
	status := statusOf(resp)
	if status == 0 {
		e, _ := provider.Unavailable("GitLab", err).(*fb.Error)
		return e
	}
	var body apiError
	var er *gl.ErrorResponse
	if errors.As(err, &er) {
		_ = json.Unmarshal(er.Body, &body)
	}
	reason := scrub(body.reason(), cred.Token)
	cause := fmt.Errorf("gitlab: %s %s: HTTP %d %s", resp.Request.Method, resp.Request.URL.EscapedPath(), status, reason)
	e := &fb.Error{Err: cause}
	switch {
	case status == http.StatusUnauthorized:
		e.Code = fb.ETokenRejected
		switch desc := strings.ToLower(body.ErrorDescription); {
		case strings.Contains(desc, "expired"):
			e.Message = "GitLab says the token has expired. Create a new personal access token."
		case strings.Contains(desc, "revoked"):
			e.Message = "GitLab says the token was revoked. Create a new personal access token."
		default:
			e.Message = "GitLab did not accept the token."
		}
	case status == http.StatusForbidden && body.Error == "insufficient_scope":
		e.Code = fb.EProviderDenied
		e.MissingScopes = []string{requiredScope}
		e.Message = fmt.Sprintf("The token lacks the %q scope GitLab requires to %s.", requiredScope, o)
	case status == http.StatusForbidden && o == opListPullRequests:
		e.Code = fb.EProviderDenied
		e.Message = "GitLab does not let this token read the project's merge requests (its role, or merge requests are turned off for the project)."
	case status == http.StatusForbidden:
		e.Code = fb.EProviderDenied
		e.Message = fmt.Sprintf("GitLab does not allow this token to %s (its role, a protected branch or an archived project).", o)
	case status == http.StatusNotFound:
		e.Code = fb.EProviderDenied
		e.Message = "GitLab says the project does not exist or this token cannot see it."
		switch o {
		case opListRepositories:
			e.Message = "GitLab says the repository list path does not exist or this token cannot see it."
		case opValidate:
			e.Code = fb.EProviderRejected
			e.Message = "The server does not answer like GitLab (no /api/v4/user). Check the integration's address."
		}
	case status == http.StatusTooManyRequests:
		e.Code = fb.ERateLimited
		e.RetryAfter = retryAfter(resp.Header, time.Now())
		e.Message = fmt.Sprintf("GitLab is rate limiting these requests. Try again in %d seconds.", e.RetryAfter)
	case status >= 500:
		e, _ = provider.Unavailable("GitLab", cause).(*fb.Error)
	case status == http.StatusConflict && o == opCreatePullRequest:
		e.Code = fb.EAlreadyExists
		e.Message = "An open merge request between these branches already exists: " + reason
	case status == http.StatusBadRequest && o == opCreateBranch && reason == "Branch already exists":
		e.Code = fb.EAlreadyExists
		e.Message = "The branch already exists."
	case status == http.StatusBadRequest && o == opCreateBranch && strings.HasPrefix(reason, "Invalid reference name"):
		e.Code = fb.EProviderRejected
		e.Message = fmt.Sprintf("The base branch %q does not exist.", base)
	case status == http.StatusBadRequest && o == opCreateBranch && reason == "Branch name is invalid":
		e.Code = fb.EProviderRejected
		e.Message = "GitLab does not accept this branch name (git's rules for ref names)."
	case status == http.StatusUnprocessableEntity && o == opCreatePullRequest:
		e.Code = fb.EProviderRejected
		e.Message = "GitLab refused to open the merge request: " + reason
	case status >= 400:
		e.Code = fb.EProviderRejected
		e.Message = fmt.Sprintf("GitLab refused to %s: %s", o, reason)
		if reason == "" {
			e.Message = fmt.Sprintf("GitLab refused to %s (HTTP %d).", o, status)
		}
	default:
		// A 2xx whose body could not be read.
		e.Code = fb.EProviderUnavailable
		e.Message = fmt.Sprintf("GitLab's answer when asked to %s could not be read.", o)
		// The client's error quotes the body, which may echo the token.
		e.Err = fmt.Errorf("gitlab: HTTP %d: %s", status, scrub(err.Error(), cred.Token))
	}
	return e
}

// retryAfter reads GitLab's hint: Retry-After (seconds or a date), else
// RateLimit-Reset (unix time), else RateLimit-ResetTime (a date).
func retryAfter(h http.Header, now time.Time) int {
	secs := 0
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			secs = n
		} else if t, err := http.ParseTime(v); err == nil {
			secs = int(t.Sub(now).Seconds() + 0.999)
		}
	}
	if secs <= 0 {
		if n, err := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64); err == nil {
			secs = int(n - now.Unix())
		} else if t, err := http.ParseTime(h.Get("RateLimit-ResetTime")); err == nil {
			secs = int(t.Sub(now).Seconds() + 0.999)
		}
	}
	if secs <= 0 {
		if h.Get("Retry-After") == "" && h.Get("RateLimit-Reset") == "" && h.Get("RateLimit-ResetTime") == "" {
			return defaultRetryAfter
		}
		return 1
	}
	return secs
}

// scrub removes the token from s in every form it could be quoted in.
func scrub(s, token string) string {
	return provider.Redact(s, token)
}
