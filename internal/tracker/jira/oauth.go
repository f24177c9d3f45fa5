package jira

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	fb "github.com/forgebridge/forgebridge"
	"golang.org/x/oauth2"
)

// "Sign in with Jira" uses the OAuth 2.0 provider of Jira Data Center 8.22
// and later: the authorization code grant with PKCE (S256), for an incoming
// application link whose client id and secret forgebridge is configured with.

const (
	authorizePath = "/rest/oauth2/latest/authorize"
	tokenPath     = "/rest/oauth2/latest/token"
	// oauthScope is the least of Jira's scopes (READ, WRITE, ADMIN,
	// SYSTEM_ADMIN): viewing one's own profile is all sign-in needs.
	oauthScope = "READ"
	// signInRefused is what a person reads when Jira turns the code down.
	signInRefused = "Jira refused the sign-in; try again."
)

// OAuthConfig is forgebridge's incoming application link in Jira
// (Administration › Applications › Application links), for "Sign in with
// Jira". Its redirect URL must be forgebridge's callback, exactly.
type OAuthConfig struct {
	ClientID     string
	ClientSecret string // never appears in an error or a log
}

// String and GoString leave the secret out, so printing the configuration
// cannot leak it.
func (c OAuthConfig) String() string   { return "jira.OAuthConfig{ClientID: " + c.ClientID + "}" }
func (c OAuthConfig) GoString() string { return c.String() }

// newOAuth checks the OAuth configuration; nil stays nil (not configured).
func newOAuth(c *OAuthConfig) (*OAuthConfig, error) {
	if c == nil {
		return nil, nil
	}
	out := OAuthConfig{ClientID: strings.TrimSpace(c.ClientID), ClientSecret: strings.TrimSpace(c.ClientSecret)}
	if out.ClientID == "" || out.ClientSecret == "" {
		return nil, fb.Errorf(fb.EInvalid, "Sign in with Jira needs both the client id and the client secret of forgebridge's incoming application link in Jira.")
	}
	return &out, nil
}

// OAuthConfigured reports whether "Sign in with Jira" is configured.
func (t *Tracker) OAuthConfigured() bool { return t.oauth != nil }

// oauthConfig is the x/oauth2 client for one redirect URI. Jira's
// documentation passes the client credentials as request parameters, so they
// are sent in the form rather than with HTTP Basic authentication.
func (t *Tracker) oauthConfig(redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     t.oauth.ClientID,
		ClientSecret: t.oauth.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   t.base + authorizePath,
			TokenURL:  t.base + tokenPath,
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: redirectURI,
		Scopes:      []string{t.scope()},
	}
}

// AuthorizeURL returns the address to send the browser to: Jira's
// authorization page for forgebridge's client, with the scope READ. state is
// an opaque anti-CSRF value (the scope is WRITE when grants are kept for
// smart commits); codeChallenge is BASE64URL(SHA256(verifier))
// without padding (oauth2.S256ChallengeFromVerifier); redirectURI is
// forgebridge's callback and must equal the link's redirect URL. Empty when
// OAuth is not configured.
func (t *Tracker) AuthorizeURL(state, codeChallenge, redirectURI string) string {
	if t.oauth == nil {
		return ""
	}
	return t.oauthConfig(redirectURI).AuthCodeURL(state,
		oauth2.SetAuthURLParam("code_challenge", codeChallenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256"))
}

// ExchangeCode trades the authorization code Jira sent to the callback for an
// access token of the person who signed in, to be used as a Bearer token
// (UserForToken tells whose it is). codeVerifier is the verifier whose
// challenge went into AuthorizeURL, and redirectURI the same callback.
// A code Jira refuses (unknown, expired, used, or a wrong verifier or
// redirect URI) is EUnauthenticated; Jira unreachable, failing or refusing
// forgebridge's client credentials is ETrackerUnavailable. The code is not
// retried: Jira accepts it once.
func (t *Tracker) ExchangeCode(ctx context.Context, code, codeVerifier, redirectURI string) (string, error) {
	g, err := t.ExchangeGrant(ctx, code, codeVerifier, redirectURI)
	return g.AccessToken, err
}

// exchangeError maps a failed token request to an *fb.Error. The cause kept
// for logs names Jira's error code and description, scrubbed of the
// request's secrets in case Jira echoes one.
func (t *Tracker) exchangeError(err error, code, verifier string) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		var ue *url.Error
		if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return &fb.Error{Code: fb.ETrackerUnavailable, Message: unavailableMessage,
				Err: errors.New("jira: requesting an OAuth token: " + scrub(err.Error(), t.oauth.ClientSecret, code, verifier))}
		}
		// A 2xx that is not a token: a sign-in page or proxy answered.
		return &fb.Error{Code: fb.ETrackerUnavailable,
			Message: "Jira's token endpoint did not answer with a token; is a proxy or sign-in page in front of Jira? Try again shortly.",
			Err:     errors.New("jira: requesting an OAuth token: " + scrub(err.Error(), t.oauth.ClientSecret, code, verifier))}
	}
	status := re.Response.StatusCode
	cause := fmt.Errorf("jira: token endpoint answered HTTP %d, error %q: %s", status, re.ErrorCode,
		truncate(scrub(re.ErrorDescription, t.oauth.ClientSecret, code, verifier), 200))
	switch {
	case status == http.StatusTooManyRequests || status >= 500:
		e := fb.AsError(unavailable(status, re.Response.Header))
		e.Err = cause
		return e
	case re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client" || status == http.StatusUnauthorized:
		// Not the person's fault: forgebridge's configuration.
		return &fb.Error{Code: fb.ETrackerUnavailable, Err: cause,
			Message: "Jira refused forgebridge's OAuth client: the client id or secret does not match forgebridge's incoming application link in Jira; an administrator must correct them."}
	default:
		// invalid_grant above all: an unknown, expired or used code, or a
		// verifier or redirect URI that does not match. Signing in again helps.
		return &fb.Error{Code: fb.EUnauthenticated, Message: signInRefused, Err: cause}
	}
}

// scrub replaces each non-empty secret in s.
func scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// truncate shortens s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
