// Package httpapi serves forgebridge's REST API under /api/v1 (API.md), the
// health, readiness and metrics endpoints, and the OpenAPI document.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the HTTP face of the application.
type Server struct {
	App    *app.Service
	Logger *slog.Logger
	// Ready reports whether the service can serve (database reachable, key loaded).
	Ready func(ctx context.Context) error
	// Keyset opens the database's keyset check value and Jobs checks the job
	// queue, for /readyz (ready.go); nil ones are left out.
	Keyset, Jobs func(ctx context.Context) error
	// Tracker reports whether the tracker (Jira) answers, for /readyz's body
	// ("jira":"ok" or "down"); nil for the local tracker. Its failure does
	// not make the service unready. It must be cheap: probes come often.
	Tracker func(ctx context.Context) error
	// JiraSession checks a Jira personal access token and returns its user;
	// nil unless the tracker is Jira.
	JiraSession func(ctx context.Context, token string) (fb.User, error)
	// Git is /readyz's word on git for indexing: "ok", or what is wrong
	// ("missing: git 2.31 or later is required…"); empty leaves it out.
	Git string
	// PublicURL is the address hosts reach forgebridge at, for webhook URLs.
	PublicURL string
	// Gatherer and Registerer are the Prometheus registry of /metrics.
	Gatherer   prometheus.Gatherer
	Registerer prometheus.Registerer
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client address that sign-in limits count by.
	TrustedProxies []netip.Prefix
	// RequestTimeout is every request's deadline (DefaultRequestTimeout when
	// zero); webhook deliveries get WebhookTimeout.
	RequestTimeout time.Duration

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// maxBody bounds request bodies; no request of this API needs more.
const maxBody = 1 << 20

// Deadlines of requests: provider and tracker calls made for a request use
// its context, so they end with it, or when the client goes away.
const (
	DefaultRequestTimeout = 30 * time.Second
	// WebhookTimeout leaves time to read a 25 MB delivery from a slow host
	// (within the server's 60-second write timeout).
	WebhookTimeout = 50 * time.Second
	// DiscoveryTimeout is the deadline of the requests that discover an
	// integration's repositories while the admin waits (creating one,
	// changing one, which may replace its credential, and syncing it):
	// discovery may take up to 50 seconds. It stays within the server's
	// 60-second write timeout.
	DiscoveryTimeout = 55 * time.Second
)

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "forgebridge_http_requests_total", Help: "HTTP requests by route and status.",
	}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "forgebridge_http_request_seconds", Help: "HTTP request duration by route.", Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	if s.Registerer != nil {
		s.Registerer.MustRegister(s.requests, s.latency)
	}
	mux := http.NewServeMux()
	s.routes(mux)
	// API clients authenticate with bearer tokens, which browsers never send
	// by themselves; the check still refuses cross-site browser requests so
	// that the web UI's cookie session can share these routes safely.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossSite))
	timeout := s.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	return WithRequestID(s.observe(withDeadline(cop.Handler(mux), timeout), mux))
}

// crossSite answers a cross-site request that the browser's headers gave away.
func (s *Server) crossSite(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, s.Logger, CrossSiteError())
}

// CrossSiteError is the refusal of a cross-site browser request.
func CrossSiteError() error {
	return fb.Errorf(fb.EForbidden, "Cross-site requests are refused: send this request from forgebridge's own pages, or without a browser.")
}

// withDeadline gives each request its deadline; webhook deliveries, which
// may be 25 MB, and discovery a longer one.
func withDeadline(next http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := timeout
		if strings.HasPrefix(r.URL.Path, "/api/v1/webhooks/") {
			d = max(d, WebhookTimeout)
		} else if discovers(r) {
			d = max(d, DiscoveryTimeout)
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// discovers reports whether a request may discover an integration's
// repositories before it answers: POST /api/v1/integrations, PATCH
// /api/v1/integrations/{id}, POST …/{id}/sync, and the web forms doing the
// same (POST /admin/integrations, /admin/integrations/{id}, …/{id}/sync).
// The body is not read yet, so every change of an integration counts.
func discovers(r *http.Request) bool {
	rest, api := strings.CutPrefix(r.URL.Path, "/api/v1/integrations")
	if !api {
		var ok bool
		if rest, ok = strings.CutPrefix(r.URL.Path, "/admin/integrations"); !ok {
			return false
		}
	}
	update := http.MethodPost // the web form's
	if api {
		update = http.MethodPatch
	}
	id, action, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case rest == "":
		return r.Method == http.MethodPost
	case !strings.HasPrefix(rest, "/") || id == "":
		return false
	case action == "":
		return r.Method == update
	default:
		return action == "sync" && r.Method == http.MethodPost
	}
}

// WithDeadline gives each request of the web UI its deadline.
func WithDeadline(next http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	return withDeadline(next, timeout)
}

type requestIDKey struct{}

// RequestID is the id of the request being answered ("" outside of one).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithRequestID gives every answer an X-Request-Id: the client's own when it
// is short and plain (so a proxy's id can be followed), else a new one.
// Error bodies and log lines carry it. A request that has one already keeps it.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if RequestID(r.Context()) != "" {
			next.ServeHTTP(w, r)
			return
		}
		id := r.Header.Get("X-Request-Id")
		if !safeRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// safeRequestID accepts 1 to 64 letters, digits and . _ : - : nothing that
// could forge a log line or carry a payload.
func safeRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._:-", c)) {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// observe logs and measures every request by its route pattern. It never
// logs headers or bodies, where credentials travel.
func (s *Server) observe(next http.Handler, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(sw, r)
		_, route := mux.Handler(r)
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		s.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		s.latency.WithLabelValues(route).Observe(d.Seconds())
		s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", RequestID(r.Context())), slog.String("method", r.Method),
			slog.String("route", route), slog.Int("status", sw.status), slog.Duration("duration", d))
	})
}

type ctxKey struct{}

// authed wraps a handler that needs a signed-in person.
func (s *Server) authed(h func(w http.ResponseWriter, r *http.Request, u fb.User) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, u, err := s.authenticate(r)
		if err == nil {
			err = h(w, r.WithContext(ctx), u)
		}
		if err != nil {
			if fb.ErrorCode(err) == fb.EUnauthenticated {
				w.Header().Set("WWW-Authenticate", `Bearer realm="forgebridge"`)
			}
			writeError(w, r, s.Logger, err)
		}
	})
}

// authenticate returns the person and the context their request's work
// runs in (see app.Service.Authenticated).
func (s *Server) authenticate(r *http.Request) (context.Context, fb.User, error) {
	if u, ok := r.Context().Value(ctxKey{}).(fb.User); ok {
		return r.Context(), u, nil // set by the web UI's session
	}
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return r.Context(), fb.User{}, fb.Errorf(fb.EUnauthenticated, "Send an API token as \"Authorization: Bearer fbt_…\".")
	}
	return s.App.Authenticated(r.Context(), strings.TrimSpace(token))
}

// WithUser returns a context in which API handlers act for u (the web UI's session).
func WithUser(ctx context.Context, u fb.User) context.Context {
	return context.WithValue(ctx, ctxKey{}, u)
}

// decode reads a JSON body strictly: unknown fields and trailing data are errors.
func decode(r *http.Request, w http.ResponseWriter, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fb.Errorf(fb.EInvalid, "Send the body as application/json.")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badJSON(err)
	}
	if dec.More() {
		return fb.Errorf(fb.EInvalid, "The body holds more than one JSON value.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return fb.Errorf(fb.EInvalid, "The body holds more than one JSON value.")
	}
	return nil
}

func badJSON(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return fb.Errorf(fb.EInvalid, "The request body is empty; send a JSON object.")
	case errors.As(err, &syn):
		return fb.Errorf(fb.EInvalid, "The body is not valid JSON (at byte %d).", syn.Offset)
	case errors.As(err, &typ):
		return fb.Errorf(fb.EInvalid, "Field %q must be %s.", typ.Field, jsonKind(typ.Type.Kind().String()))
	case errors.As(err, &tooBig):
		return tooLarge("The body", tooBig.Limit)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fb.Errorf(fb.EInvalid, "Unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return fb.Errorf(fb.EInvalid, "The body is not valid JSON.")
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	default:
		return "a number"
	}
}

// maxCursor bounds ?cursor=: the cursors this API makes are far shorter.
const maxCursor = 1000

// page reads ?limit= and ?cursor=.
func page(r *http.Request) (fb.Page, error) {
	p := fb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")}
	if len(p.Cursor) > maxCursor {
		return fb.Page{}, fb.Errorf(fb.EInvalid, "cursor is not valid.")
	}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return fb.Page{}, fb.Errorf(fb.EInvalid, "limit must be a whole number from 1 to 1000.")
		}
		p.Limit = n
	}
	return p, nil
}

// paged is the answer of a paginated list.
type paged struct {
	Values any    `json:"values"`
	Next   string `json:"next,omitempty"`
}

// nextURL is the path and query of the next page: the request's own query
// with the new cursor.
func nextURL(r *http.Request, cursor string, p fb.Page) string {
	if cursor == "" {
		return ""
	}
	q := r.URL.Query()
	q.Set("cursor", cursor)
	q.Set("limit", strconv.Itoa(p.Limit))
	return fmt.Sprintf("%s?%s", r.URL.Path, q.Encode())
}

func (s *Server) metrics() http.Handler {
	return promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{})
}
