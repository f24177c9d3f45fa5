package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"golang.org/x/oauth2"
)

// A person's grant from "Sign in with Jira" is kept (sealed, by the store)
// so that smart commits act in Jira as them: their access token, renewed
// with the refresh token when it expires. Jira Data Center rotates the
// refresh token at each refresh, so only one refresh of a grant may be in
// flight anywhere: the store's UpdateJiraGrant serialises them across
// instances, and a refresher that finds the grant already renewed uses it.

// GrantStore keeps people's grants; *store.Store is one.
type GrantStore interface {
	PutJiraGrant(ctx context.Context, g *fb.JiraGrant) error
	JiraGrant(ctx context.Context, userKey string) (fb.JiraGrant, error)
	DeleteJiraGrant(ctx context.Context, userKey string) error
	// UpdateJiraGrant runs change on the grant with other updaters of it
	// kept out; change returns what to store, nil to delete it.
	UpdateJiraGrant(ctx context.Context, userKey string, change func(fb.JiraGrant) (*fb.JiraGrant, error)) (fb.JiraGrant, error)
}

// writeScope is the scope asked for when grants are kept: WRITE (which
// includes READ) lets forgebridge comment, log work and transition issues
// as the person, capped by what their account may do.
const writeScope = "WRITE"

// refreshBefore renews an access token this long before Jira says it
// expires, so a call does not meet it expiring on the way.
const refreshBefore = time.Minute

// scope is what sign-in asks Jira for: READ to sign in only; WRITE when
// grants are kept for smart commits.
func (t *Tracker) scope() string {
	if t.grants != nil {
		return writeScope
	}
	return oauthScope
}

// KeepsGrants reports whether people's grants are kept, for smart commits.
func (t *Tracker) KeepsGrants() bool { return t.grants != nil && t.oauth != nil }

// ExchangeGrant is ExchangeCode returning the whole grant: the access
// token, the refresh token, the access token's expiry and the scope.
func (t *Tracker) ExchangeGrant(ctx context.Context, code, codeVerifier, redirectURI string) (fb.JiraGrant, error) {
	if t.oauth == nil {
		return fb.JiraGrant{}, fb.Errorf(fb.ENotSupported, "Sign in with Jira is not configured; sign in with a Jira personal access token.")
	}
	if code == "" || codeVerifier == "" {
		return fb.JiraGrant{}, fb.Errorf(fb.EUnauthenticated, signInRefused)
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	// The Tracker's client keeps the code and the secret on Jira's host.
	ctx = context.WithValue(ctx, oauth2.HTTPClient, t.client)
	tok, err := t.oauthConfig(redirectURI).Exchange(ctx, code, oauth2.VerifierOption(codeVerifier))
	if err != nil {
		return fb.JiraGrant{}, t.exchangeError(err, code, codeVerifier)
	}
	if tok.Type() != "Bearer" {
		return fb.JiraGrant{}, &fb.Error{Code: fb.ETrackerUnavailable, Message: "Jira's token endpoint answered with a token that is not a Bearer token; is a proxy in front of Jira?",
			Err: fmt.Errorf("jira: token type %q", tok.TokenType)}
	}
	g := fb.JiraGrant{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, ExpiresAt: tok.Expiry, RedirectURI: redirectURI}
	if s, ok := tok.Extra("scope").(string); ok {
		g.Scope = s
	}
	if g.ExpiresAt.IsZero() {
		g.ExpiresAt = t.now().Add(time.Hour) // Jira's default lifetime, when it does not say
	}
	return g, nil
}

// SaveGrant keeps the grant of the person with that Jira user key, replacing
// any they gave before. Without a grant store, or a grant without a refresh
// token, nothing is kept.
func (t *Tracker) SaveGrant(ctx context.Context, userKey string, g fb.JiraGrant) error {
	if t.grants == nil || g.RefreshToken == "" {
		return nil
	}
	g.UserKey = userKey
	if err := t.grants.PutJiraGrant(ctx, &g); err != nil {
		return err
	}
	t.noGrant.remove(userKey) // asked as them from now on (projects.go)
	return nil
}

// DropGrant forgets the person's grant (sign-out); having none is fine.
func (t *Tracker) DropGrant(ctx context.Context, userKey string) error {
	if t.grants == nil {
		return nil
	}
	return t.grants.DeleteJiraGrant(ctx, userKey)
}

// grantRequired is the answer when forgebridge cannot act as the person.
func grantRequired(as fb.User, why string) error {
	name := as.Name
	if name == "" {
		name = as.Key
	}
	return fb.Errorf(fb.EGrantRequired, "%s %s; they must sign in to forgebridge with Jira for smart commits to act as them.", name, why)
}

// grantToken returns a current access token of the person's grant,
// refreshing it when it has expired (or, with stale, when Jira refused
// that one). With write the grant must let forgebridge change issues;
// reading their own projects and permissions needs no more than READ.
// EGrantRequired when there is no grant or Jira no longer honours it.
func (t *Tracker) grantToken(ctx context.Context, as fb.User, stale string, write bool) (string, error) {
	if t.grants == nil || t.oauth == nil {
		return "", grantRequired(as, "has no Jira grant (Sign in with Jira is not set up)")
	}
	g, err := t.grants.JiraGrant(ctx, as.Key)
	if fb.ErrorCode(err) == fb.ENotFound {
		return "", grantRequired(as, "has not given forgebridge a Jira grant")
	}
	if err != nil {
		return "", err
	}
	if write && !allowsWrite(g.Scope) {
		return "", grantRequired(as, "gave forgebridge a Jira grant that only lets it read")
	}
	if g.AccessToken != stale && t.now().Before(g.ExpiresAt.Add(-refreshBefore)) {
		return g.AccessToken, nil
	}
	var dropped error
	g, err = t.grants.UpdateJiraGrant(ctx, as.Key, func(g fb.JiraGrant) (*fb.JiraGrant, error) {
		if g.AccessToken != stale && t.now().Before(g.ExpiresAt.Add(-refreshBefore)) {
			return &g, nil // renewed meanwhile, here or by another instance
		}
		// Not the caller's context: once Jira has rotated the refresh token,
		// its answer must be read and stored even if the caller gave up.
		next, err := t.refresh(context.WithoutCancel(ctx), g)
		if fb.ErrorCode(err) == fb.EGrantRequired {
			dropped = err
			return nil, nil // Jira no longer honours it: forget it
		}
		if err != nil {
			return nil, err
		}
		return &next, nil
	})
	switch {
	case dropped != nil && err == nil && g.AccessToken != "":
		// Replaced by a new sign-in while the old one was refused: kept.
	case dropped != nil:
		return "", grantRequired(as, "gave forgebridge a Jira grant that Jira no longer accepts (revoked or expired)")
	case fb.ErrorCode(err) == fb.ENotFound:
		return "", grantRequired(as, "has not given forgebridge a Jira grant")
	case err != nil:
		return "", err
	}
	return g.AccessToken, nil
}

// allowsWrite reports whether a grant's scope lets forgebridge change issues.
func allowsWrite(scope string) bool {
	for s := range strings.FieldsSeq(scope) {
		if s == "WRITE" || s == "ADMIN" || s == "SYSTEM_ADMIN" {
			return true
		}
	}
	return false
}

// tokenAnswer is RFC 6749 §5.1's answer, or §5.2's error.
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// refresh trades the grant's refresh token for new tokens (refresh_token
// grant), with the client's id and secret and the grant's redirect URI as
// Jira Data Center's documentation sends them. An answer that the grant is
// gone (invalid_grant) is EGrantRequired: the caller forgets it. A refused
// client (invalid_client, or 401) keeps the grant.
// Not retried: a refresh token is good for one use.
func (t *Tracker) refresh(ctx context.Context, g fb.JiraGrant) (fb.JiraGrant, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {g.RefreshToken},
		"client_id":     {t.oauth.ClientID},
		"client_secret": {t.oauth.ClientSecret},
		"redirect_uri":  {g.RedirectURI},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+tokenPath, strings.NewReader(form.Encode()))
	if err != nil {
		return fb.JiraGrant{}, fmt.Errorf("jira: building the refresh request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return fb.JiraGrant{}, &fb.Error{Code: fb.ETrackerUnavailable, Message: unavailableMessage,
			Err: errors.New("jira: refreshing a grant: " + scrub(err.Error(), t.oauth.ClientSecret, g.RefreshToken))}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var a tokenAnswer
	jsonErr := json.Unmarshal(body, &a)
	cause := fmt.Errorf("jira: token endpoint answered a refresh with HTTP %d, error %q: %s", resp.StatusCode, a.Error,
		truncate(scrub(a.ErrorDescription, t.oauth.ClientSecret, g.RefreshToken), 200))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		e := fb.AsError(unavailable(resp.StatusCode, resp.Header))
		e.Err = cause
		return fb.JiraGrant{}, e
	case a.Error == "invalid_client" || a.Error == "unauthorized_client" ||
		resp.StatusCode == http.StatusUnauthorized && a.Error != "invalid_grant":
		// forgebridge's client, not the person's grant: an administrator
		// who rotates the secret must not cost everyone their grant.
		return fb.JiraGrant{}, &fb.Error{Code: fb.ETrackerUnavailable, Err: cause,
			Message: "Jira refused forgebridge's OAuth client: the client id or secret does not match forgebridge's incoming application link in Jira; an administrator must correct them."}
	case a.Error == "invalid_grant":
		return fb.JiraGrant{}, &fb.Error{Code: fb.EGrantRequired, Message: "Jira no longer accepts the grant.", Err: cause}
	case resp.StatusCode != http.StatusOK || jsonErr != nil || a.AccessToken == "" || !strings.EqualFold(a.TokenType, "bearer"):
		return fb.JiraGrant{}, &fb.Error{Code: fb.ETrackerUnavailable,
			Message: "Jira's token endpoint did not renew the grant; is a proxy in front of Jira? Try again shortly.", Err: cause}
	}
	next := g
	next.AccessToken = a.AccessToken
	if a.RefreshToken != "" {
		next.RefreshToken = a.RefreshToken
	}
	if a.Scope != "" {
		next.Scope = a.Scope
	}
	lifetime := time.Duration(a.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = time.Hour
	}
	next.ExpiresAt = t.now().Add(lifetime)
	return next, nil
}
