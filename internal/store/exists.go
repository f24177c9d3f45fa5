package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"strings"
)

// Exists reports whether dsn names a forgebridge database already: for
// SQLite, whether the file exists; for PostgreSQL, whether the database
// has forgebridge's tables. The administrative commands use it to refuse a
// mistyped location instead of making a second, empty installation.
func Exists(ctx context.Context, dsn string) (bool, error) {
	if !isPostgres(dsn) {
		_, err := os.Stat(SQLitePath(dsn))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var found bool
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('settings') IS NOT NULL`).Scan(&found); err != nil {
		return false, errors.New("cannot reach the PostgreSQL database: " + redactError(err, dsn))
	}
	return found, nil
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// SQLitePath is the file an SQLite dsn (a path or a file: URI) names.
func SQLitePath(dsn string) string {
	p := strings.TrimPrefix(dsn, "file:")
	p, _, _ = strings.Cut(p, "?")
	return p
}

// DisplayDSN is a dsn as it may be shown: a PostgreSQL URL without its password.
func DisplayDSN(dsn string) string {
	if !isPostgres(dsn) {
		return SQLitePath(dsn)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "the configured PostgreSQL database"
	}
	return u.Redacted()
}

// redactError keeps a password in the dsn out of an error's text.
func redactError(err error, dsn string) string {
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}
