package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	fb "github.com/forgebridge/forgebridge"
)

// statusOf is the one table from error codes to HTTP statuses (API.md).
var statusOf = map[fb.Code]int{
	fb.EInvalid:             http.StatusBadRequest,
	fb.EUnauthenticated:     http.StatusUnauthorized,
	fb.EForbidden:           http.StatusForbidden,
	fb.EFeatureDisabled:     http.StatusForbidden,
	fb.ENotFound:            http.StatusNotFound,
	fb.EAlreadyExists:       http.StatusConflict,
	fb.EVersionMismatch:     http.StatusPreconditionFailed,
	fb.ETokenRejected:       http.StatusUnprocessableEntity,
	fb.EProviderDenied:      http.StatusUnprocessableEntity,
	fb.EProviderRejected:    http.StatusUnprocessableEntity,
	fb.ETokenNotPersonal:    http.StatusUnprocessableEntity,
	fb.EPATRequired:         http.StatusPreconditionRequired,
	fb.EPATInvalid:          http.StatusPreconditionRequired,
	fb.ERateLimited:         http.StatusTooManyRequests,
	fb.EProviderUnavailable: http.StatusBadGateway,
	fb.ETrackerUnavailable:  http.StatusBadGateway,
	fb.ENotSupported:        http.StatusNotImplemented,
	fb.EGrantRequired:       http.StatusPreconditionRequired,
	fb.EUnavailable:         http.StatusServiceUnavailable,
	fb.EInternal:            http.StatusInternalServerError,
}

type errorBody struct {
	Error errorJSON `json:"error"`
}

type errorJSON struct {
	Code          fb.Code      `json:"code"`
	Message       string       `json:"message"`
	IntegrationID string       `json:"integrationId,omitempty"`
	RetryAfter    int          `json:"retryAfter,omitempty"`
	MissingScopes []string     `json:"missingScopes,omitempty"`
	Existing      *fb.Existing `json:"existing,omitempty"`
	RequestID     string       `json:"requestId,omitempty"`
}

// internalMessage is all a client is told of a fault of forgebridge itself.
const internalMessage = "forgebridge could not answer this request because of an internal error. " +
	"An administrator can find the details in the log under the request id."

// WriteError answers with the error's status and the API's error body
// (API.md, "Errors"), for the web UI's share of /api/ too.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	writeError(w, r, log, err)
}

// writeError answers with the error's status and body. Internal errors are
// logged with their cause under the request id and answered with a generic
// message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *fb.Error
	if !errors.As(err, &e) {
		e = &fb.Error{Code: fb.EInternal, Err: err}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		status = http.StatusRequestEntityTooLarge
	}
	id := RequestID(r.Context())
	if status >= 500 {
		if log == nil {
			log = slog.Default()
		}
		log.Error("request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", err)
	}
	body := errorJSON{Code: e.Code, Message: e.Message, IntegrationID: e.IntegrationID,
		MissingScopes: e.MissingScopes, Existing: e.Existing, RequestID: id}
	if e.Code == fb.EInternal || status == http.StatusInternalServerError {
		body.Message = internalMessage
	}
	if e.Code == fb.EUnavailable {
		body.RetryAfter = max(e.RetryAfter, 1)
		w.Header().Set("Retry-After", strconv.Itoa(body.RetryAfter))
	}
	if e.Code == fb.ERateLimited {
		body.RetryAfter = max(e.RetryAfter, 1)
		w.Header().Set("Retry-After", strconv.Itoa(body.RetryAfter))
	}
	writeJSON(w, status, errorBody{Error: body})
}

// tooLarge is the error of a body over its limit: 413.
func tooLarge(what string, limit int64) error {
	return &fb.Error{Code: fb.EInvalid, Message: fmt.Sprintf("%s is larger than %s.", what, size(limit)),
		Err: &http.MaxBytesError{Limit: limit}}
}

func size(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n%1_000_000 == 0:
		return fmt.Sprintf("%d MB", n/1_000_000)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
