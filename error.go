package forgebridge

import (
	"errors"
	"fmt"
)

// Code is a stable machine code of an error (API.md's table).
type Code string

const (
	EInvalid             Code = "invalid_request"
	EUnauthenticated     Code = "unauthenticated"
	EForbidden           Code = "forbidden"
	EFeatureDisabled     Code = "feature_disabled"
	ENotFound            Code = "not_found"
	EAlreadyExists       Code = "already_exists"
	EVersionMismatch     Code = "version_mismatch" // an If-Match version that is no longer current
	ETokenRejected       Code = "token_rejected"
	EProviderDenied      Code = "provider_denied"
	EProviderRejected    Code = "provider_rejected"
	ETokenNotPersonal    Code = "token_not_personal"
	EPATRequired         Code = "pat_required"
	EPATInvalid          Code = "pat_invalid"
	ERateLimited         Code = "rate_limited"
	EProviderUnavailable Code = "provider_unavailable"
	ETrackerUnavailable  Code = "tracker_unavailable"
	ENotSupported        Code = "not_supported"
	// EGrantRequired: acting as a person in the tracker needs their own
	// grant ("Sign in with Jira"), which they have not given (smart commits).
	EGrantRequired Code = "grant_required"
	// EUnavailable: forgebridge's own database could not be reached (an
	// outage or restart); nothing was changed and the request may be
	// retried (503 with Retry-After).
	EUnavailable Code = "service_unavailable"
	EInternal    Code = "internal"
)

// Existing names the object that an EAlreadyExists error collided with: a
// branch (Name, WebURL) or a pull request (ID, Number, WebURL).
type Existing struct {
	Name   string `json:"name,omitempty"`
	ID     string `json:"id,omitempty"`
	Number int    `json:"number,omitempty"`
	WebURL string `json:"webUrl,omitempty"`
}

// Error is the one error type the product speaks. Message is written for a
// person and must never contain a secret; Err is the cause, for logs, and
// must not contain one either.
type Error struct {
	Code          Code
	Message       string
	IntegrationID string
	RetryAfter    int // whole seconds, for ERateLimited
	MissingScopes []string
	Existing      *Existing
	Err           error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other error and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the person-readable message of err. Errors that are
// not an *Error are internal and get a generic message: their text may carry
// details that are not for people (or, by mistake, a secret).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// AsError returns the first *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
