package httpapi

import (
	"encoding/json"
	"errors"
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
}

// writeError answers with the error's status and body. Internal errors are
// logged with their cause and answered with a generic message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *fb.Error
	if !errors.As(err, &e) {
		e = &fb.Error{Code: fb.EInternal, Message: fb.ErrorMessage(err), Err: err}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", err)
	}
	body := errorJSON{Code: e.Code, Message: e.Message, IntegrationID: e.IntegrationID,
		MissingScopes: e.MissingScopes, Existing: e.Existing}
	if e.Code == fb.ERateLimited {
		body.RetryAfter = max(e.RetryAfter, 1)
		w.Header().Set("Retry-After", strconv.Itoa(body.RetryAfter))
	}
	writeJSON(w, status, errorBody{Error: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
