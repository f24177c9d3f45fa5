package github

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	gh "github.com/google/go-github/v84/github"
)

// defaultRetryAfter is the wait suggested for a rate limit GitHub gives no
// time for (GitHub's advice for secondary limits: at least a minute).
const defaultRetryAfter = 60

// mapError translates an error of go-github into forgebridge's vocabulary.
// write says whether the request was a write (ref or pull request creation),
// where GitHub's 403 and 404 mean the token may not write.
func mapError(err error, write bool) error {
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		retry := defaultRetryAfter
		if !rl.Rate.Reset.IsZero() {
			retry = ceilSeconds(time.Until(rl.Rate.Reset.Time))
		}
		return rateLimited(retry, err)
	}
	var abuse *gh.AbuseRateLimitError
	if errors.As(err, &abuse) {
		retry := defaultRetryAfter
		if abuse.RetryAfter != nil {
			retry = ceilSeconds(*abuse.RetryAfter)
		}
		return rateLimited(retry, err)
	}
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		// Network failure, timeout, or an answer that is not GitHub's JSON.
		return provider.Unavailable("GitHub", err)
	}
	h, code, msg := er.Response.Header, er.Response.StatusCode, er.Message
	switch {
	case code == http.StatusUnauthorized:
		return &fb.Error{Code: fb.ETokenRejected, Err: err,
			Message: "GitHub rejected the token: it is wrong, expired or revoked. Create a new token on GitHub and save it in forgebridge."}
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		if sso := h.Get("X-GitHub-SSO"); sso != "" {
			m := "The organisation enforces SAML single sign-on and your token is not authorised for it. On GitHub, open Settings › Developer settings › Personal access tokens and choose Configure SSO › Authorize for the organisation"
			if u := ssoURL(sso); u != "" {
				m += ", or open " + u
			}
			return &fb.Error{Code: fb.EProviderDenied, Message: m + ".", Err: err}
		}
		if retry, ok := retryAfter(h.Get("Retry-After")); ok {
			return rateLimited(retry, err)
		}
		if code == http.StatusTooManyRequests || strings.Contains(strings.ToLower(msg), "rate limit") {
			return rateLimited(defaultRetryAfter, err)
		}
		if accepted := h.Get("X-Accepted-GitHub-Permissions"); accepted != "" {
			sets := permissionSets(accepted)
			return &fb.Error{Code: fb.EProviderDenied, Err: err, MissingScopes: sets[0],
				Message: fmt.Sprintf("Your fine-grained token lacks a permission this needs: give it the permission %s for this repository on GitHub.",
					strings.Join(describeSets(sets), ", or "))}
		}
		if write && classic(h) {
			return scopeDenied(h, err)
		}
		m := "GitHub refused the request"
		if msg != "" {
			m += ": " + short(msg)
		}
		return &fb.Error{Code: fb.EProviderDenied, Message: m + ".", Err: err}
	case code == http.StatusNotFound:
		if write && classic(h) {
			return scopeDenied(h, err)
		}
		if lacksRepoScope(h) {
			return repoScopeMissing(err)
		}
		if write {
			return &fb.Error{Code: fb.EProviderDenied, Err: err,
				Message: "GitHub did not let your token write to this repository: it cannot see the repository or lacks the Contents and Pull requests write permissions."}
		}
		return &fb.Error{Code: fb.EProviderDenied, Err: err,
			Message: "GitHub did not find the repository or branch for your token: it does not exist or the token has no access to it."}
	case code == http.StatusConflict:
		if strings.Contains(msg, "Git Repository is empty") {
			return &fb.Error{Code: fb.EProviderRejected, Err: err,
				Message: "The repository is empty: push a first commit before creating branches or pull requests."}
		}
		return rejected(er, err)
	case code >= 500:
		return provider.Unavailable("GitHub", err)
	default:
		return rejected(er, err)
	}
}

// rejected is EProviderRejected with GitHub's own explanation, kept short.
func rejected(er *gh.ErrorResponse, err error) error {
	parts := []string{}
	if er.Message != "" {
		parts = append(parts, er.Message)
	}
	for _, e := range er.Errors {
		switch {
		case e.Message != "":
			parts = append(parts, e.Message)
		case e.Field != "":
			parts = append(parts, fmt.Sprintf("%s is %s", e.Field, strings.ReplaceAll(e.Code, "_", " ")))
		}
	}
	m := "GitHub refused the request"
	if len(parts) > 0 {
		m += ": " + short(strings.Join(parts, "; "))
	}
	return &fb.Error{Code: fb.EProviderRejected, Message: m + ".", Err: err}
}

// scopeDenied is a classic token's refusal to write; GitHub answers 403 or
// hides the repository with 404.
func scopeDenied(h http.Header, err error) error {
	e := &fb.Error{Code: fb.EProviderDenied, Err: err,
		Message: "Your token cannot write to this repository (it needs the scope repo, or public_repo for public repositories, and write access to the repository)."}
	if !slices.Contains(scopes(h), "repo") {
		e.MissingScopes = []string{"repo"}
	}
	return e
}

// lacksRepoScope reports whether a 404 is GitHub hiding a private
// repository from a classic token without the repo scope: the answer names
// repo in X-Accepted-OAuth-Scopes and the token's own scopes lack it.
func lacksRepoScope(h http.Header) bool {
	if !classic(h) || slices.Contains(scopes(h), "repo") {
		return false
	}
	accepted := strings.Split(h.Get("X-Accepted-OAuth-Scopes"), ",")
	return slices.ContainsFunc(accepted, func(s string) bool { return strings.TrimSpace(s) == "repo" })
}

// repoScopeMissing is the answer to a read GitHub hid for lack of the repo scope.
func repoScopeMissing(err error) error {
	return &fb.Error{Code: fb.EProviderDenied, Err: err, MissingScopes: []string{"repo"},
		Message: "GitHub did not show the repository to your token: a classic token needs the scope repo for a private repository. Add it to the token on GitHub, or create one with it."}
}

// classic reports whether an answer was to a classic token: GitHub lists the
// scopes of classic tokens (even none) and sends no such header for others.
func classic(h http.Header) bool { return len(h.Values("X-OAuth-Scopes")) > 0 }

func rateLimited(retry int, err error) error {
	return &fb.Error{Code: fb.ERateLimited, RetryAfter: retry, Err: err,
		Message: fmt.Sprintf("GitHub's rate limit for this token is used up; try again in %s.", wait(retry))}
}

func wait(seconds int) string {
	if seconds < 120 {
		return fmt.Sprintf("%d seconds", seconds)
	}
	return fmt.Sprintf("%d minutes", (seconds+59)/60)
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) (int, bool) {
	if v = strings.TrimSpace(v); v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		return max(n, 1), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return ceilSeconds(time.Until(t)), true
	}
	return 0, false
}

func ceilSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// ssoURL returns the url=… of an X-GitHub-SSO header ("required; url=https://…").
func ssoURL(h string) string {
	for _, p := range strings.Split(h, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "url="); ok {
			return v
		}
	}
	return ""
}

// permissionSets splits X-Accepted-GitHub-Permissions: alternatives are
// separated by ";", the permissions of one alternative by ",".
func permissionSets(h string) [][]string {
	var sets [][]string
	for _, alt := range strings.Split(h, ";") {
		var set []string
		for _, p := range strings.Split(alt, ",") {
			if p = strings.TrimSpace(p); p != "" {
				set = append(set, p)
			}
		}
		if len(set) > 0 {
			sets = append(sets, set)
		}
	}
	if len(sets) == 0 {
		sets = [][]string{nil}
	}
	return sets
}

// describeSets names each alternative the way GitHub's token settings page
// does, with the header's own spelling: "Contents: write (contents=write)".
func describeSets(sets [][]string) []string {
	out := make([]string, 0, len(sets))
	for _, set := range sets {
		names := make([]string, 0, len(set))
		for _, p := range set {
			name, level, ok := strings.Cut(p, "=")
			if !ok || name == "" {
				names = append(names, p)
				continue
			}
			name = strings.ReplaceAll(name, "_", " ")
			names = append(names, fmt.Sprintf("%s%s: %s (%s)", strings.ToUpper(name[:1]), name[1:], level, p))
		}
		out = append(out, strings.Join(names, " and "))
	}
	return out
}

// status is the HTTP status of a GitHub error answer, or 0.
func status(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// message is GitHub's message of an error answer.
func message(err error) string {
	var er *gh.ErrorResponse
	if errors.As(err, &er) {
		return er.Message
	}
	return ""
}

// short keeps GitHub's text to one line of reasonable length.
func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimRight(s, ".")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// scrub makes sure no error leaving the driver carries the token, whatever
// GitHub or the network stack put in it.
func scrub(err *error, token string) {
	if *err == nil || len(token) < 4 {
		return
	}
	e := fb.AsError(*err)
	if e == nil {
		e = &fb.Error{Code: fb.EInternal, Message: "An internal error occurred.", Err: *err}
	}
	e.Message = provider.Redact(e.Message, token)
	if e.Err != nil && provider.Leaks(e.Err.Error(), token) {
		e.Err = errors.New(provider.Redact(e.Err.Error(), token))
	}
	*err = e
}
