package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// JiraSignIn is what the web UI needs of the Jira tracker to sign people in.
type JiraSignIn interface {
	// UserForToken checks a Jira personal access token (or an OAuth access
	// token) with /rest/api/2/myself and returns its user. A personal access
	// token is not kept; an OAuth access token stays in the sealed session,
	// for the tracker to ask about the person as them.
	UserForToken(ctx context.Context, token string) (fb.User, error)
	// OAuthConfigured reports whether an OAuth 2.0 client is configured.
	OAuthConfigured() bool
	// AuthorizeURL is Jira's authorization page for this sign-in, with the
	// state and the S256 PKCE code challenge.
	AuthorizeURL(state, codeChallenge, redirectURI string) string
	// ExchangeCode trades an authorization code and its PKCE verifier for an
	// access token.
	ExchangeCode(ctx context.Context, code, codeVerifier, redirectURI string) (accessToken string, err error)
}

// JiraGrants is the optional part of JiraSignIn that keeps the person's
// OAuth grant from "Sign in with Jira", sealed, so that smart commits act in
// Jira as them; signing out drops it.
type JiraGrants interface {
	// KeepsGrants reports whether grants are kept (Sign in with Jira set up
	// with a grant store).
	KeepsGrants() bool
	// ExchangeGrant is ExchangeCode answering the whole grant.
	ExchangeGrant(ctx context.Context, code, codeVerifier, redirectURI string) (fb.JiraGrant, error)
	// SaveGrant keeps the grant of the user with that key; DropGrant forgets it.
	SaveGrant(ctx context.Context, userKey string, g fb.JiraGrant) error
	DropGrant(ctx context.Context, userKey string) error
}

// grants returns the Jira sign-in's grant keeper, when it keeps grants.
func (s *Server) grants() (JiraGrants, bool) {
	g, ok := s.Jira.(JiraGrants)
	if !ok || !g.KeepsGrants() {
		return nil, false
	}
	return g, true
}

const (
	oauthCookie = "forgebridge_oauth"
	// oauthCookiePath keeps the cookie to the start and the callback.
	oauthCookiePath = "/login/jira"
	oauthStateTTL   = 10 * time.Minute
	callbackPath    = "/login/jira/callback"
)

// oauthStateAD binds the state cookie's ciphertext to its purpose, so a
// session cookie cannot pass for it, nor it for a session.
var oauthStateAD = []byte("forgebridge/oauth-state/v1")

// oauthState is what the sealed cookie holds between the redirect to Jira
// and Jira's redirect back.
type oauthState struct {
	State       string `json:"s"`
	Verifier    string `json:"v"` // the PKCE code verifier
	RedirectURI string `json:"r"` // sent again with the code, exactly as authorised
	Next        string `json:"n,omitempty"`
	Expires     int64  `json:"e"` // Unix seconds
}

// randomString is n random bytes, base64url without padding: characters
// RFC 7636 allows in a code verifier.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// newPKCE returns a code verifier (43 characters) and its S256 challenge.
func newPKCE() (verifier, challenge string) {
	verifier = randomString(32)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// redirectURI is where Jira sends people back to. Without PublicURL it is
// derived from the request; forwarded headers are not trusted, so behind a
// reverse proxy PublicURL must be set (Jira refuses a URI it does not know).
func (s *Server) redirectURI(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/") + callbackPath
	}
	scheme := "http"
	if r.TLS != nil || s.Secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host + callbackPath
}

func (s *Server) oauthEnabled() bool { return s.Jira != nil && s.Jira.OAuthConfigured() }

// loginWithJira starts the OAuth 2.0 authorization code flow with PKCE.
func (s *Server) loginWithJira(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	if !s.oauthEnabled() {
		s.render(w, r, http.StatusNotFound, "login", s.loginView("", "", "Signing in with Jira is not set up on this forgebridge."))
		return
	}
	verifier, challenge := newPKCE()
	st := oauthState{State: randomString(32), Verifier: verifier, RedirectURI: s.redirectURI(r),
		Next: localPath(r.URL.Query().Get("next")), Expires: time.Now().Add(oauthStateTTL).Unix()}
	if err := s.writeOAuthState(w, st); err != nil {
		s.render(w, r, http.StatusInternalServerError, "login", s.loginView(st.Next, "", s.errorText(r, err)))
		return
	}
	http.Redirect(w, r, s.Jira.AuthorizeURL(st.State, challenge, st.RedirectURI), http.StatusSeeOther)
}

// oauthErrorCode matches the error codes of RFC 6749 §4.1.2.1, the only
// part of Jira's error answer shown, since anyone can craft that URL.
var oauthErrorCode = regexp.MustCompile(`^[a-z_]{1,40}$`)

// jiraCallback finishes the flow: Jira sent the person back with a code (or an error).
func (s *Server) jiraCallback(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	st, stOK := s.readOAuthState(r)
	s.clearOAuthState(w) // one use only, whatever happens
	fail := func(err error) {
		s.render(w, r, statusOf(err), "login", s.loginView(st.Next, "", s.errorText(r, err)))
	}
	if !s.oauthEnabled() {
		fail(fb.Errorf(fb.ENotFound, "Signing in with Jira is not set up on this forgebridge."))
		return
	}
	q := r.URL.Query()
	if code := q.Get("error"); code != "" {
		if code == "access_denied" {
			fail(fb.Errorf(fb.EUnauthenticated, "You did not allow forgebridge to use your Jira account, so you are not signed in."))
			return
		}
		if !oauthErrorCode.MatchString(code) {
			code = "unknown error"
		}
		fail(fb.Errorf(fb.EUnauthenticated, "Jira did not sign you in (%s). Try again; if it keeps failing, "+
			"ask your Jira administrator to check forgebridge's OAuth 2.0 application in Jira.", code))
		return
	}
	if !stOK {
		fail(fb.Errorf(fb.EInvalid, "The sign-in with Jira took longer than %d minutes or was started in another browser. Sign in again.",
			int(oauthStateTTL.Minutes())))
		return
	}
	if got := q.Get("state"); subtle.ConstantTimeCompare([]byte(got), []byte(st.State)) != 1 {
		fail(fb.Errorf(fb.EInvalid, "Jira's answer does not belong to the sign-in started in this browser. Sign in again."))
		return
	}
	code := q.Get("code")
	if code == "" {
		fail(fb.Errorf(fb.EInvalid, "Jira's answer carried no authorization code. Sign in again."))
		return
	}
	// With grants kept, the whole grant is kept once the person is known,
	// so that smart commits act as them.
	var grant fb.JiraGrant
	var err error
	keeper, keep := s.grants()
	if keep {
		grant, err = keeper.ExchangeGrant(r.Context(), code, st.Verifier, st.RedirectURI)
	} else {
		grant.AccessToken, err = s.Jira.ExchangeCode(r.Context(), code, st.Verifier, st.RedirectURI)
	}
	if err != nil {
		fail(err)
		return
	}
	token := grant.AccessToken
	// The access token proves who this is, and stays in the sealed session
	// so that Jira is asked about the person's projects as them.
	u, err := s.Jira.UserForToken(r.Context(), token)
	if err == nil && !u.Active {
		err = fb.Errorf(fb.EUnauthenticated, "The Jira account %s is deactivated.", u.Name)
	}
	if err != nil {
		fail(err)
		return
	}
	if keep {
		if err := keeper.SaveGrant(r.Context(), u.Key, grant); err != nil {
			// Signed in all the same; smart commits answer grant_required.
			s.log().Warn("Jira grant not kept at sign-in", "user", u.Name, "err", fb.ErrorMessage(err))
		}
	}
	s.startSession(w, r, u, st.Next, token)
}

// loginWithJiraToken signs a person in with a Jira personal access token,
// where no OAuth client is configured. The token is checked once and dropped:
// it is neither stored, logged, nor written back into the page.
func (s *Server) loginWithJiraToken(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	if s.Jira == nil {
		s.render(w, r, http.StatusNotFound, "login", s.loginView("", "", "Signing in with Jira is not set up on this forgebridge."))
		return
	}
	if err := parseForm(w, r); err != nil {
		s.render(w, r, statusOf(err), "login", s.loginView("", "", s.errorText(r, err)))
		return
	}
	next := localPath(r.PostForm.Get("next"))
	fail := func(err error) {
		setRetryAfter(w, err)
		s.render(w, r, statusOf(err), "login", s.loginView(next, "", s.errorText(r, err)))
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if token == "" {
		fail(fb.Errorf(fb.EInvalid, "Paste your Jira personal access token."))
		return
	}
	if err := app.CheckSecret("token", token); err != nil {
		fail(err)
		return
	}
	u, err := s.App.GuardSignIn(r.Context(), "", s.clientAddress(r), func(ctx context.Context) (fb.User, error) {
		return s.Jira.UserForToken(ctx, token)
	})
	switch {
	case fb.ErrorCode(err) == fb.EUnauthenticated:
		fail(fb.Errorf(fb.EUnauthenticated, "Jira did not accept that token. Check that you copied all of it "+
			"and that it has not expired or been revoked."))
	case err != nil:
		fail(err)
	case !u.Active:
		fail(fb.Errorf(fb.EUnauthenticated, "The Jira account %s is deactivated.", u.Name))
	default:
		s.startSession(w, r, u, next, "")
	}
}

func (s *Server) writeOAuthState(w http.ResponseWriter, st oauthState) error {
	plain, err := json.Marshal(st)
	if err != nil {
		panic(err) // a struct of strings and a number always marshals
	}
	sealed, err := s.Cipher.Encrypt(plain, oauthStateAD)
	if err != nil {
		return &fb.Error{Code: fb.EInternal, Message: "The sign-in with Jira could not be started.", Err: err}
	}
	http.SetCookie(w, &http.Cookie{Name: oauthCookie, Value: base64.RawURLEncoding.EncodeToString(sealed),
		Path: oauthCookiePath, MaxAge: int(oauthStateTTL.Seconds()),
		HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode})
	return nil
}

func (s *Server) readOAuthState(r *http.Request) (oauthState, bool) {
	c, err := r.Cookie(oauthCookie)
	if err != nil {
		return oauthState{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return oauthState{}, false
	}
	plain, err := s.Cipher.Decrypt(raw, oauthStateAD)
	if err != nil {
		return oauthState{}, false
	}
	var st oauthState
	if json.Unmarshal(plain, &st) != nil || st.State == "" || st.Verifier == "" || time.Now().Unix() >= st.Expires {
		return oauthState{}, false
	}
	st.Next = localPath(st.Next)
	return st, true
}

func (s *Server) clearOAuthState(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: oauthCookie, Value: "", Path: oauthCookiePath, MaxAge: -1,
		HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode})
}
