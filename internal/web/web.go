// Package web serves forgebridge's server-rendered web UI: sign-in, the
// administration pages, the repository browser, the person's own tokens and
// the issue page with its Create branch and Create pull request dialogs, all
// over the use cases of package app.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/httpapi"
	"github.com/forgebridge/forgebridge/internal/ratelimit"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server is the web UI. Its fields are its dependencies.
type Server struct {
	App    *app.Service
	Logger *slog.Logger
	// Cipher encrypts and authenticates the session cookie.
	Cipher fb.Cipher
	// Secure marks cookies Secure (the UI is served over TLS).
	Secure bool
	// Jira, when set, offers signing in with Jira; nil with the local tracker.
	Jira JiraSignIn
	// PublicURL is the address people reach forgebridge at (for the OAuth
	// redirect URI), e.g. "https://fb.example.com"; when empty it is derived
	// from the request.
	PublicURL string
	// RequestTimeout is each request's deadline (httpapi.DefaultRequestTimeout when zero).
	RequestTimeout time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client address that sign-in limits count by.
	TrustedProxies []netip.Prefix

	pages map[string]*template.Template
}

// Handler serves the pages, the static assets under /static/, and passes
// /api/ (and the health and metrics endpoints) to api. A browser request to
// /api/ that carries no Authorization header acts for the signed-in person.
func (s *Server) Handler(api http.Handler) http.Handler {
	s.pages = parsePages()
	static, _ := fs.Sub(staticFS, "static") // the directory is embedded: Sub cannot fail
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.Handle("/api/", s.apiForBrowser(api))
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		mux.Handle("GET "+p, api)
	}

	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /login/jira", s.loginWithJira)
	mux.HandleFunc("GET "+callbackPath, s.jiraCallback)
	mux.HandleFunc("POST /login/jira-token", s.loginWithJiraToken)
	mux.Handle("GET /{$}", s.page(func(w http.ResponseWriter, r *http.Request, u fb.User) error {
		http.Redirect(w, r, "/repositories", http.StatusSeeOther)
		return nil
	}))

	mux.Handle("GET /repositories", s.page(s.repositories))
	mux.Handle("GET /tokens", s.page(s.tokens))
	mux.Handle("GET /tokens/{id}", s.page(s.tokenForm))
	mux.Handle("POST /tokens/{id}", s.page(s.saveToken))
	mux.Handle("POST /tokens/{id}/delete", s.page(s.deleteToken))

	mux.Handle("GET /api-tokens", s.page(s.apiTokens))
	mux.Handle("POST /api-tokens", s.page(s.createAPIToken))
	mux.Handle("POST /api-tokens/{id}/revoke", s.page(s.revokeAPIToken))
	mux.HandleFunc("GET /enrol/{secret}", s.enrolPage)
	mux.HandleFunc("POST /enrol/{secret}", s.enrol)
	mux.Handle("GET /browse", s.page(s.gotoIssue))
	mux.Handle("GET /browse/{key}", s.page(s.issue))
	mux.Handle("GET /browse/{key}/commits", s.page(s.issueCommits))
	mux.Handle("GET /search/issues", s.page(s.searchIssues))
	mux.Handle("GET /repositories/{id}/commits/{sha}", s.page(s.commitDiff))
	mux.Handle("POST /browse/{key}/branches", s.page(s.createBranch))
	mux.Handle("GET /browse/{key}/branches/delete", s.page(s.deleteBranchPage))
	mux.Handle("POST /browse/{key}/branches/delete", s.page(s.deleteBranch))
	mux.Handle("POST /browse/{key}/pull-requests", s.page(s.createPullRequest))

	mux.Handle("GET /admin/integrations", s.page(s.integrations))
	mux.Handle("GET /admin/integrations/new", s.page(s.newIntegration))
	mux.Handle("POST /admin/integrations", s.page(s.createIntegration))
	mux.Handle("GET /admin/integrations/{id}", s.page(s.editIntegration))
	mux.Handle("POST /admin/integrations/{id}", s.page(s.updateIntegration))
	mux.Handle("POST /admin/integrations/{id}/sync", s.page(s.syncIntegration))
	mux.Handle("POST /admin/integrations/{id}/delete", s.page(s.deleteIntegration))
	mux.Handle("POST /admin/integrations/{id}/webhook-secret", s.page(s.newWebhookSecret))
	mux.Handle("POST /admin/integrations/{id}/reindex", s.page(s.reindexIntegration))
	mux.Handle("POST /admin/repositories/{id}/reindex", s.page(s.reindexRepository))
	mux.Handle("GET /admin/settings", s.page(s.settings))
	mux.Handle("POST /admin/settings", s.page(s.updateSettings))
	mux.Handle("GET /admin/audit", s.page(s.audit))

	mux.Handle("/", s.page(func(w http.ResponseWriter, r *http.Request, u fb.User) error {
		return fb.Errorf(fb.ENotFound, "There is no page at %s.", r.URL.Path)
	}))
	// Every state-changing request, forms and API calls alike, must come
	// from this origin: the browser's Sec-Fetch-Site or Origin tells.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossSite))
	return httpapi.WithRequestID(httpapi.WithDeadline(cop.Handler(mux), s.RequestTimeout))
}

// crossSite refuses a cross-site request: in the API's format under /api/,
// else with the error page.
func (s *Server) crossSite(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		httpapi.WriteError(w, r, s.log(), httpapi.CrossSiteError())
		return
	}
	setPageHeaders(w)
	s.renderError(w, r, nil, fb.Errorf(fb.EForbidden, "This form was sent from another site, so it was refused. "+
		"Open the page on forgebridge itself and send it again."))
}

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// apiForBrowser lets the dialogs' JavaScript call the REST API with the
// session cookie. Requests with an Authorization header are the API's own.
func (s *Server) apiForBrowser(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			api.ServeHTTP(w, r)
			return
		}
		r, u, sess, err := s.sessionUser(w, r)
		if fb.ErrorCode(err) == fb.EUnauthenticated {
			// No usable session: the API answers 401 in its own format.
			api.ServeHTTP(w, r)
			return
		}
		if err != nil {
			// Who this is could not be checked (Jira down, say): that is
			// the answer, not a 401 that would send the page to sign in.
			s.writeAPIError(w, r, err)
			return
		}
		api.ServeHTTP(w, r.WithContext(httpapi.WithUser(s.asPerson(r.Context(), u, sess), u)))
	})
}

// asPerson lets the tracker ask about the person as them, with the Jira
// token of their session if they signed in through Jira.
func (s *Server) asPerson(ctx context.Context, u fb.User, sess session) context.Context {
	return fb.WithTrackerToken(ctx, u.Key, sess.JiraToken)
}

// pageFunc handles a page for a signed-in person; an error it returns is
// shown as the error page.
type pageFunc func(w http.ResponseWriter, r *http.Request, u fb.User) error

type sessionKey struct{}

// page wraps a handler that needs a signed-in, active person.
func (s *Server) page(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w)
		r, u, sess, err := s.sessionUser(w, r)
		if err != nil {
			if fb.ErrorCode(err) != fb.EUnauthenticated {
				s.renderError(w, r, nil, err)
				return
			}
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet || next == "/" {
				next = ""
			}
			target := "/login"
			if next != "" {
				target += "?next=" + url.QueryEscape(next)
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		r = r.WithContext(context.WithValue(s.asPerson(r.Context(), u, sess), sessionKey{}, &sess))
		if err := h(w, r, u); err != nil {
			s.renderError(w, r, &u, err)
		}
	})
}

// sessionUser reads the session cookie and checks its token again on every
// request, so a revoked session, or a deactivated or removed account, is
// signed out at once.
//
// It returns r with the context the request's work runs in (see
// app.Service.Authenticated).
func (s *Server) sessionUser(w http.ResponseWriter, r *http.Request) (*http.Request, fb.User, session, error) {
	signedOut := fb.Errorf(fb.EUnauthenticated, "Sign in to continue.")
	sess, ok := s.readSession(r)
	if !ok {
		return r, fb.User{}, session{}, signedOut
	}
	ctx, u, err := s.App.Authenticated(r.Context(), sess.Token)
	if fb.ErrorCode(err) == fb.EUnauthenticated {
		s.clearSession(w)
		return r, fb.User{}, session{}, signedOut
	}
	if err != nil {
		return r, fb.User{}, session{}, err
	}
	return r.WithContext(ctx), u, sess, nil
}

// writeAPIError answers an /api/ request with an error in the REST API's
// format: {"error":{"code":…,"message":…}} and the API's status for the code.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.WriteError(w, r, s.log(), err)
}

func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "+
		"form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// statusOf maps error codes to HTTP statuses, as the REST API does.
func statusOf(err error) int {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge
	}
	switch fb.ErrorCode(err) {
	case fb.EInvalid:
		return http.StatusBadRequest
	case fb.EUnauthenticated:
		return http.StatusUnauthorized
	case fb.EForbidden, fb.EFeatureDisabled:
		return http.StatusForbidden
	case fb.ENotFound:
		return http.StatusNotFound
	case fb.EAlreadyExists:
		return http.StatusConflict
	case fb.EVersionMismatch:
		return http.StatusPreconditionFailed
	case fb.ETokenRejected, fb.EProviderDenied, fb.EProviderRejected, fb.ETokenNotPersonal:
		return http.StatusUnprocessableEntity
	case fb.EPATRequired, fb.EPATInvalid:
		return http.StatusPreconditionRequired
	case fb.ERateLimited:
		return http.StatusTooManyRequests
	case fb.EProviderUnavailable, fb.ETrackerUnavailable:
		return http.StatusBadGateway
	case fb.ENotSupported:
		return http.StatusNotImplemented
	case fb.EUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorText is what a person is told of an error; internal causes are
// logged, never shown.
func (s *Server) errorText(r *http.Request, err error) string {
	if fb.AsError(err) == nil || fb.ErrorCode(err) == fb.EInternal {
		id := httpapi.RequestID(r.Context())
		s.log().Error("web request failed", "request_id", id, "method", r.Method, "path", loggedPath(r.URL.Path), "err", err)
		return "Something went wrong inside forgebridge. An administrator can find the details in the log under the request id " + id + "."
	}
	return fb.ErrorMessage(err)
}

// loggedPath is a request path as it may be logged: an enrolment link's
// path holds its secret, which would let anyone reading the log set the
// person's password.
func loggedPath(path string) string {
	if strings.HasPrefix(path, "/enrol/") {
		return "/enrol/[redacted]"
	}
	return path
}

// view is what every page template receives.
type view struct {
	Title  string
	User   *fb.User
	Active string // the navigation entry of the page
	Flash  *flash
	Error  string
	Data   any
}

// render writes a page. It shows and forgets the session's flash message.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	if sess, ok := r.Context().Value(sessionKey{}).(*session); ok && sess.Flash != nil {
		v.Flash, sess.Flash = sess.Flash, nil
		s.writeSession(w, *sess)
	}
	t, ok := s.pages[name]
	if !ok {
		panic("web: no template " + name)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		s.log().Error("template failed", "page", name, "err", err)
		http.Error(w, "The page could not be drawn.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, u *fb.User, err error) {
	title := "Something went wrong"
	switch fb.ErrorCode(err) {
	case fb.ENotFound:
		title = "Not found"
	case fb.EForbidden:
		title = "Not allowed"
	}
	s.render(w, r, statusOf(err), "error", view{Title: title, User: u, Error: s.errorText(r, err)})
}

// redirect answers a successful form with a redirect and a message for the next page.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, to string, f *flash) {
	if sess, ok := r.Context().Value(sessionKey{}).(*session); ok && f != nil {
		sess.Flash = f
		s.writeSession(w, *sess)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// localPath returns p when it is a path on this site, else "".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return ""
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return p
}

// parseForm reads a urlencoded form body, bounded.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &fb.Error{Code: fb.EInvalid, Err: tooBig, Message: fmt.Sprintf("The form is larger than %d MiB.", tooBig.Limit>>20)}
		}
		return fb.Errorf(fb.EInvalid, "The form could not be read.")
	}
	return nil
}

// clientAddress is the address sign-in limits count by.
func (s *Server) clientAddress(r *http.Request) string {
	return ratelimit.ClientAddress(r, s.TrustedProxies)
}

// setRetryAfter tells a client refused by a limit when to come back.
func setRetryAfter(w http.ResponseWriter, err error) {
	if e := fb.AsError(err); e != nil && e.Code == fb.ERateLimited {
		w.Header().Set("Retry-After", strconv.Itoa(max(e.RetryAfter, 1)))
	}
}
