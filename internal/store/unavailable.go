package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	fb "github.com/forgebridge/forgebridge"
	"github.com/jackc/pgx/v5/pgconn"
)

// unavailableMessage is what a person reads while the database is down.
const unavailableMessage = "forgebridge's database cannot be reached right now; nothing was changed. Try again shortly."

// unavailableRetryAfter is the Retry-After of an answer during an outage:
// the connection pools reconnect on the next request, so soon is right.
const unavailableRetryAfter = 2

// unavailable turns an error of the database being unreachable — refused
// or dropped connections, a server shutting down or starting, a connection
// attempt timing out — into EUnavailable, so that the request gets a clear
// 503 instead of an internal error. Other errors, and errors that already
// carry a code, are returned as they are.
func unavailable(err error) error {
	if err == nil || fb.AsError(err) != nil || !isUnavailable(err) {
		return err
	}
	return &fb.Error{Code: fb.EUnavailable, Message: unavailableMessage, RetryAfter: unavailableRetryAfter, Err: err}
}

func isUnavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller went away: not the database's fault
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exceptions; 57P01–57P03: the server is
		// shutting down, crashed or not yet accepting connections.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		pgconn.Timeout(err) || strings.Contains(err.Error(), "conn closed")
}
