package gitmirror

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

// fetchError turns a failed git fetch into the product's error vocabulary,
// reading git's (English, see env.go) standard error. Neither the message
// nor the cause holds the header or any part of it.
func fetchError(ctx context.Context, r Remote, u *url.URL, runErr error, stderr string) error {
	where := u.String()
	detail := scrub(lastLines(stderr, 4), r)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &fb.Error{Code: fb.EProviderUnavailable, Err: fmt.Errorf("git fetch: %w", ctxErr),
			Message: fmt.Sprintf("Fetching %s with git did not finish in time or was cancelled.", where)}
	}
	cause := fmt.Errorf("git fetch %s: %v: %s", where, runErr, detail)
	e := func(code fb.Code, format string) error {
		return &fb.Error{Code: code, Message: fmt.Sprintf(format, where), Err: cause}
	}
	status := httpStatus(stderr)
	switch {
	case status == 401 || containsAny(stderr, "could not read Username", "could not read Password", "Authentication failed"):
		return e(fb.ETokenRejected, "The git host rejected the integration's credential for %s. Check the service credential.")
	case status == 403:
		return e(fb.EProviderDenied, "The git host denied the integration's credential access to %s.")
	case status == 404 || strings.Contains(stderr, "repository '") && strings.Contains(stderr, "' not found"):
		return e(fb.ENotFound, "The repository %s was not found on the git host, or the integration's credential cannot see it.")
	case status == 429:
		return e(fb.ERateLimited, "The git host is limiting the rate of fetches of %s. Indexing will try again later.")
	case status >= 300 && status < 400:
		return e(fb.EProviderUnavailable, "The git host redirected the fetch of %s elsewhere; forgebridge does not send credentials there. Check the repository's clone URL.")
	case status == 407 || containsAny(stderr, "from proxy", "Proxy CONNECT"):
		return e(fb.EProviderUnavailable, "git could not fetch %s through the integration's proxy. Check the proxy URL.")
	case containsAny(stderr, "SSL certificate problem", "certificate verification failed", "certificate verify failed", "SSL: no alternative certificate subject name"):
		return e(fb.EProviderUnavailable, "git does not trust the TLS certificate of %s. Set the integration's CA bundle.")
	case status >= 500 || containsAny(stderr,
		"Could not resolve", "Failed to connect", "Connection refused", "Connection reset", "Connection timed out",
		"timed out", "RPC failed", "early EOF", "hung up unexpectedly", "transfer closed", "unexpected disconnect",
		"Empty reply from server", "index-pack failed", "bad pack header", "SSL_read", "SSL_connect", "GnuTLS",
		"TLS connection", "Recv failure", "Send failure", "HTTP/2 stream", "unable to access"):
		if r.ProxyURL != "" {
			return e(fb.EProviderUnavailable, "git could not fetch %s: the host or the integration's proxy could not be reached or broke off. Indexing will try again later.")
		}
		return e(fb.EProviderUnavailable, "git could not fetch %s: the host could not be reached or broke off. Indexing will try again later.")
	}
	return fmt.Errorf("gitmirror: %w", cause)
}

// httpStatus finds the HTTP status git reports ("The requested URL returned
// error: 403", "RPC failed; HTTP 500", "Received HTTP code 407 from proxy"),
// or 0.
func httpStatus(stderr string) int {
	for _, marker := range []string{"returned error: ", "RPC failed; HTTP ", "Received HTTP code "} {
		if _, after, ok := strings.Cut(stderr, marker); ok && len(after) >= 3 {
			if n, err := strconv.Atoi(after[:3]); err == nil {
				return n
			}
		}
	}
	return 0
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// scrub removes every form of r's secrets from s: the header line, its
// value, the credential after the scheme, a Basic credential decoded, and a
// proxy password. Git never prints them, but a host's "remote:" messages
// could echo anything.
func scrub(s string, r Remote) string {
	var secrets []string
	if r.Header != "" {
		_, value, _ := strings.Cut(r.Header, ":")
		value = strings.TrimSpace(value)
		secrets = append(secrets, r.Header, value)
		if scheme, cred, ok := strings.Cut(value, " "); ok {
			cred = strings.TrimSpace(cred)
			secrets = append(secrets, cred)
			if strings.EqualFold(scheme, "Basic") {
				if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
					userPass := string(raw)
					secrets = append(secrets, userPass)
					if _, pass, ok := strings.Cut(userPass, ":"); ok {
						secrets = append(secrets, pass)
					}
				}
			}
		}
	}
	if p, err := url.Parse(r.ProxyURL); err == nil && p.User != nil {
		if pass, ok := p.User.Password(); ok {
			secrets = append(secrets, pass, url.QueryEscape(pass))
		}
	}
	// Longest first, so that a secret containing another goes whole.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}
