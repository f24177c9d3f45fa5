package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

const (
	// callTimeout bounds one call to Jira, retries included.
	callTimeout = 15 * time.Second
	// maxBody caps how much of an answer is read; Jira's answers here are small.
	maxBody = 4 << 20
	// unavailableMessage is what a person reads when Jira cannot answer.
	unavailableMessage = "Jira could not be reached or failed; try again shortly."
)

// defaultRetryWaits are the pauses before retrying an idempotent read after a
// network error or a 502/503/504: short, so an outage is answered within a
// second or two.
var defaultRetryWaits = []time.Duration{150 * time.Millisecond, 450 * time.Millisecond}

// whose says which credential a request carries; it decides how a rejection
// is reported.
type whose int

const (
	// service is the service account's token: a rejection is a configuration
	// fault, not the person's, so it is reported as Jira being unavailable.
	service whose = iota
	// startup is the service account's token checked at start-up: a
	// rejection is EUnauthenticated.
	startup
	// person is a person's own personal access token.
	person
)

// request is one call to Jira's REST API.
type request struct {
	method string
	path   string // below BaseURL, e.g. /rest/api/2/myself
	query  url.Values
	body   any
	token  string
	whose  whose
}

// statusError is a Jira answer that the generic mapping leaves to the caller
// (400, 403, 404 and other 4xx), with Jira's errorMessages for the message.
type statusError struct {
	status   int
	messages []string
	whose    whose // the credential of the request, for describe's wording
}

func (e *statusError) Error() string {
	if len(e.messages) == 0 {
		return fmt.Sprintf("Jira answered HTTP %d", e.status)
	}
	return fmt.Sprintf("Jira answered HTTP %d: %s", e.status, strings.Join(e.messages, "; "))
}

// statusOf returns the HTTP status of a statusError, 0 for any other error.
func statusOf(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	return 0
}

// call sends the request and decodes a 2xx JSON answer into out (when not
// nil). Transport failures, 429 and 5xx become ETrackerUnavailable, a
// rejected credential EUnauthenticated (or, for the service account,
// ETrackerUnavailable naming the fault); other 4xx are a *statusError.
func (t *Tracker) call(ctx context.Context, r request, out any) (err error) {
	caller := ctx
	var lastStatus int // of the last answer, for the metrics' outcome
	if t.onCall != nil {
		start := time.Now()
		defer func() { t.onCall(opOf(r.path), outcomeOf(caller, lastStatus, err), time.Since(start)) }()
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()

	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("jira: encoding the request: %w", err)
		}
	}
	u := t.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	idempotent := r.method == http.MethodGet
	for attempt := 0; ; attempt++ {
		status, header, body, err := t.roundTrip(ctx, r, u, payload)
		lastStatus = status
		retry := idempotent && attempt < len(t.retryWaits) && ctx.Err() == nil &&
			((err != nil && !errors.Is(err, errForeignRedirect)) || (isTransient(status) && header.Get("Retry-After") == ""))
		if !retry {
			result := error(nil)
			if err != nil {
				result = &fb.Error{Code: fb.ETrackerUnavailable, Message: unavailableMessage, Err: err}
			} else {
				result = interpret(r, status, header, body, out)
			}
			if caller.Err() == nil && r.whose != person { // a caller giving up says nothing of Jira
				t.observe(status, result) // Ready's word on Jira, for free
			}
			return result
		}
		select {
		case <-time.After(t.retryWaits[attempt]):
		case <-ctx.Done():
			return &fb.Error{Code: fb.ETrackerUnavailable, Message: unavailableMessage, Err: ctx.Err()}
		}
	}
}

// roundTrip performs one attempt and reads the (capped) body.
func (t *Tracker) roundTrip(ctx context.Context, r request, u string, payload []byte) (int, http.Header, []byte, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("jira: building the request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("jira: reading the answer to %s %s: %w", r.method, r.path, err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// opOf names the operation of a path for metrics: the path without the
// issue key or other values, so the label stays a handful of names.
func opOf(path string) string {
	p := strings.TrimPrefix(path, "/rest/api/2/")
	switch {
	case strings.HasPrefix(p, "issue/") && strings.HasSuffix(p, "/remotelink"):
		return "remotelink"
	case strings.HasPrefix(p, "issue/"):
		return "issue"
	case p == "myself", p == "serverInfo", p == "user", p == "project", p == "mypermissions":
		return p
	case p == "user/permission/search":
		return "permission_search"
	case p == "user/search":
		return "user_search"
	}
	return "other"
}

// outcomeOf sums up a call's result for metrics: ok; rejected (a token
// Jira did not accept); client_error (another 4xx, such as an issue that
// does not exist); canceled (the caller gave up first); unavailable
// (Jira could not be reached, timed out, limited the rate or failed).
func outcomeOf(ctx context.Context, status int, err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(ctx.Err(), context.Canceled):
		return "canceled"
	case statusOf(err) != 0:
		return "client_error"
	case status == http.StatusUnauthorized || fb.ErrorCode(err) == fb.EUnauthenticated:
		return "rejected" // also a 200 that X-Seraph-LoginReason says failed
	}
	return "unavailable"
}

func isTransient(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// interpret maps one answer of Jira to out or an error.
func interpret(r request, status int, header http.Header, body []byte, out any) error {
	// Jira lets a request whose credential failed go on anonymously, so a
	// failed login can come with a 200: the header is what tells.
	reason := header.Get("X-Seraph-LoginReason")
	if status == http.StatusUnauthorized || reason == "AUTHENTICATED_FAILED" || reason == "AUTHENTICATION_DENIED" {
		return rejected(r.whose, reason)
	}
	switch {
	case status >= 200 && status < 300:
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			return &fb.Error{Code: fb.ETrackerUnavailable,
				Message: "Jira's answer was not the JSON expected; is a proxy or sign-in page in front of Jira? Try again shortly.",
				Err:     fmt.Errorf("jira: decoding the answer to %s %s: %w", r.method, r.path, err)}
		}
		return nil
	case status == http.StatusTooManyRequests || status >= 500:
		return unavailable(status, header)
	default:
		return &statusError{status: status, messages: errorMessages(body), whose: r.whose}
	}
}

// rejected reports a credential Jira did not accept.
func rejected(w whose, reason string) error {
	switch w {
	case service, startup:
		msg := "Jira rejected the service token: it is unknown, expired or revoked, or the service account is deactivated; an administrator must replace FORGEBRIDGE_JIRA_TOKEN."
		if reason == "AUTHENTICATION_DENIED" {
			msg = "Jira refused to authenticate the service account because it requires a CAPTCHA after failed logins; a Jira administrator must reset the account's failed login count."
		}
		code := fb.ETrackerUnavailable
		if w == startup {
			code = fb.EUnauthenticated
		}
		return &fb.Error{Code: code, Message: msg, Err: fmt.Errorf("jira: HTTP 401, X-Seraph-LoginReason %q", reason)}
	}
	msg := "Jira did not accept your token: it is unknown, expired or revoked, or your account is deactivated."
	if reason == "AUTHENTICATION_DENIED" {
		msg = "Jira refused to authenticate this account because it requires a CAPTCHA after failed logins; sign in to Jira in a browser once, or ask a Jira administrator to reset the failed login count."
	}
	return &fb.Error{Code: fb.EUnauthenticated, Message: msg}
}

// unavailable reports a 429 or 5xx, with Jira's Retry-After hint when it gave one.
func unavailable(status int, header http.Header) error {
	e := &fb.Error{Code: fb.ETrackerUnavailable, Message: unavailableMessage, Err: fmt.Errorf("jira: HTTP %d", status)}
	if secs := retryAfter(header.Get("Retry-After")); secs > 0 {
		e.RetryAfter = secs
		what := "is unavailable"
		if status == http.StatusTooManyRequests {
			what = "is limiting the rate of requests"
		}
		e.Message = fmt.Sprintf("Jira %s; try again in %d seconds.", what, secs)
	}
	return e
}

// retryAfter parses a Retry-After header (seconds or an HTTP date) into whole
// seconds, at least 1; 0 when there is none.
func retryAfter(v string) int {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return max(n, 1)
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(int(time.Until(at).Seconds()+0.999), 1)
	}
	return 0
}

// errorMessages extracts Jira's {"errorMessages":[…],"errors":{field:msg}}.
func errorMessages(body []byte) []string {
	var e struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return nil
	}
	out := e.ErrorMessages
	for _, field := range slices.Sorted(maps.Keys(e.Errors)) {
		out = append(out, field+": "+e.Errors[field])
	}
	return out
}
