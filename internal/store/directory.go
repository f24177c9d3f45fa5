package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// CreateUser adds a person to the local tracker's directory.
func (s *Store) CreateUser(ctx context.Context, u fb.User) (err error) {
	defer wrap(&err, "CreateUser(%q)", u.Key)
	_, err = s.conn().exec(ctx, `INSERT INTO users (user_key, name, display_name, admin, active, password_hash, email)
		VALUES (?, ?, ?, ?, ?, '', ?)`, u.Key, u.Name, u.DisplayName, u.Admin, u.Active, u.Email)
	if isUniqueViolation(err) {
		return fb.Errorf(fb.EAlreadyExists, "a user with key %q or name %q already exists", u.Key, u.Name)
	}
	return err
}

// User returns the person with the key.
func (s *Store) User(ctx context.Context, key string) (_ fb.User, err error) {
	defer wrap(&err, "User(%q)", key)
	var u fb.User
	err = s.conn().queryRow(ctx, `SELECT user_key, name, display_name, admin, active, email FROM users WHERE user_key = ?`, key).
		Scan(&u.Key, &u.Name, &u.DisplayName, &u.Admin, &u.Active, &u.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return fb.User{}, userNotFound(key)
	}
	return u, err
}

// SetPasswordHash stores the hash of the person's password.
func (s *Store) SetPasswordHash(ctx context.Context, userKey, hash string) (err error) {
	defer wrap(&err, "SetPasswordHash(%q)", userKey)
	res, err := s.conn().exec(ctx, `UPDATE users SET password_hash = ? WHERE user_key = ?`, hash, userKey)
	return expectOne(res, err, userNotFound(userKey))
}

// PasswordHash returns the hash of the person's password, "" when none is set.
func (s *Store) PasswordHash(ctx context.Context, userKey string) (_ string, err error) {
	defer wrap(&err, "PasswordHash(%q)", userKey)
	var hash string
	err = s.conn().queryRow(ctx, `SELECT password_hash FROM users WHERE user_key = ?`, userKey).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", userNotFound(userKey)
	}
	return hash, err
}

func userNotFound(key string) error { return fb.Errorf(fb.ENotFound, "user %s not found", key) }

func projectNotFound(key string) error { return fb.Errorf(fb.ENotFound, "project %s not found", key) }

// CreateProject adds a project to the local tracker.
func (s *Store) CreateProject(ctx context.Context, p fb.Project) (err error) {
	defer wrap(&err, "CreateProject(%q)", p.Key)
	_, err = s.conn().exec(ctx, `INSERT INTO projects (project_key, name) VALUES (?, ?)`, p.Key, p.Name)
	if isUniqueViolation(err) {
		return fb.Errorf(fb.EAlreadyExists, "project %s already exists", p.Key)
	}
	return err
}

// Project returns the project with the key.
func (s *Store) Project(ctx context.Context, key string) (_ fb.Project, err error) {
	defer wrap(&err, "Project(%q)", key)
	var p fb.Project
	err = s.conn().queryRow(ctx, `SELECT project_key, name FROM projects WHERE project_key = ?`, key).Scan(&p.Key, &p.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return fb.Project{}, projectNotFound(key)
	}
	return p, err
}

// Projects returns every project by key.
func (s *Store) Projects(ctx context.Context) (_ []fb.Project, err error) {
	defer wrap(&err, "Projects")
	rows, err := s.conn().query(ctx, `SELECT project_key, name FROM projects ORDER BY project_key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fb.Project
	for rows.Next() {
		var p fb.Project
		if err := rows.Scan(&p.Key, &p.Name); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// SetPermissions makes perms the permissions the person holds on the project.
func (s *Store) SetPermissions(ctx context.Context, projectKey, userKey string, perms []string) (err error) {
	defer wrap(&err, "SetPermissions(%q, %q)", projectKey, userKey)
	return s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM permissions WHERE project_key = ? AND user_key = ?`, projectKey, userKey); err != nil {
			return err
		}
		perms = slices.Compact(slices.Sorted(slices.Values(perms)))
		for _, p := range perms {
			_, err := c.exec(ctx, `INSERT INTO permissions (project_key, user_key, permission) VALUES (?, ?, ?)`,
				projectKey, userKey, p)
			if isForeignKeyViolation(err) {
				return fb.Errorf(fb.ENotFound, "project %s or user %s not found", projectKey, userKey)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Permissions returns the permissions the person holds on the project, sorted.
func (s *Store) Permissions(ctx context.Context, projectKey, userKey string) (_ []string, err error) {
	defer wrap(&err, "Permissions(%q, %q)", projectKey, userKey)
	rows, err := s.conn().query(ctx, `SELECT permission FROM permissions WHERE project_key = ? AND user_key = ?
		ORDER BY permission`, projectKey, userKey)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// CreateIssue adds an issue to the local tracker; its project must exist.
func (s *Store) CreateIssue(ctx context.Context, is fb.Issue) (err error) {
	defer wrap(&err, "CreateIssue(%q)", is.Key)
	_, err = s.conn().exec(ctx, `INSERT INTO issues (issue_key, summary, issue_type, project_key) VALUES (?, ?, ?, ?)`,
		is.Key, is.Summary, is.Type, is.Project)
	switch {
	case isUniqueViolation(err):
		return fb.Errorf(fb.EAlreadyExists, "issue %s already exists", is.Key)
	case isForeignKeyViolation(err):
		return projectNotFound(is.Project)
	}
	return err
}

// Issue returns the issue with the key.
func (s *Store) Issue(ctx context.Context, key string) (_ fb.Issue, err error) {
	defer wrap(&err, "Issue(%q)", key)
	var is fb.Issue
	err = s.conn().queryRow(ctx, `SELECT issue_key, summary, issue_type, project_key FROM issues WHERE issue_key = ?`, key).
		Scan(&is.Key, &is.Summary, &is.Type, &is.Project)
	if errors.Is(err, sql.ErrNoRows) {
		return fb.Issue{}, fb.Errorf(fb.ENotFound, "issue %s not found", key)
	}
	return is, err
}

// CreateAPIToken stores an API token by its hash.
func (s *Store) CreateAPIToken(ctx context.Context, t fb.APIToken) (err error) {
	defer wrap(&err, "CreateAPIToken(%q)", t.UserKey)
	_, err = s.conn().exec(ctx, `INSERT INTO api_tokens (hash, user_key, user_name, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		t.Hash, t.UserKey, t.UserName, micros(normalizeTime(t.CreatedAt)), nullMicros(t.ExpiresAt))
	if isUniqueViolation(err) {
		return fb.Errorf(fb.EAlreadyExists, "the API token already exists")
	}
	return err
}

// APIToken returns the API token whose hash is hash.
func (s *Store) APIToken(ctx context.Context, hash string) (_ fb.APIToken, err error) {
	defer wrap(&err, "APIToken")
	var t fb.APIToken
	var at int64
	var expires sql.NullInt64
	err = s.conn().queryRow(ctx, `SELECT hash, user_key, user_name, created_at, expires_at FROM api_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.UserKey, &t.UserName, &at, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return fb.APIToken{}, fb.Errorf(fb.ENotFound, "API token not found")
	}
	if err != nil {
		return fb.APIToken{}, err
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(at), timePtr(expires)
	return t, nil
}

// DeleteExpiringAPITokens removes a user's API tokens that have an expiry
// (web sessions, tokens got from Jira), keeping the long-lived ones.
func (s *Store) DeleteExpiringAPITokens(ctx context.Context, userKey string) (n int, err error) {
	defer wrap(&err, "DeleteExpiringAPITokens(%q)", userKey)
	res, err := s.conn().exec(ctx, `DELETE FROM api_tokens WHERE user_key = ? AND expires_at IS NOT NULL`, userKey)
	if err != nil {
		return 0, err
	}
	rows, err := res.RowsAffected()
	return int(rows), err
}

// DeleteExpiredAPITokens removes every API token that expired before now.
func (s *Store) DeleteExpiredAPITokens(ctx context.Context, now time.Time) (n int, err error) {
	defer wrap(&err, "DeleteExpiredAPITokens")
	res, err := s.conn().exec(ctx, `DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at <= ?`, micros(now))
	if err != nil {
		return 0, err
	}
	rows, err := res.RowsAffected()
	return int(rows), err
}

// DeleteAPIToken removes the API token whose hash is hash.
func (s *Store) DeleteAPIToken(ctx context.Context, hash string) (err error) {
	defer wrap(&err, "DeleteAPIToken")
	res, err := s.conn().exec(ctx, `DELETE FROM api_tokens WHERE hash = ?`, hash)
	return expectOne(res, err, fb.Errorf(fb.ENotFound, "API token not found"))
}

// UsersByEmail returns the active users whose email is one of emails
// (case-insensitive), by lower-cased email; an email two users share
// answers neither of them.
func (s *Store) UsersByEmail(ctx context.Context, emails []string) (_ map[string]fb.User, err error) {
	defer wrap(&err, "UsersByEmail")
	out := map[string]fb.User{}
	var args []any
	for _, e := range emails {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			args = append(args, e)
		}
	}
	if len(args) == 0 {
		return out, nil
	}
	rows, err := s.conn().query(ctx, `SELECT user_key, name, display_name, admin, active, email FROM users
		WHERE active AND lower(email) IN (`+placeholders(len(args))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	shared := map[string]bool{}
	for rows.Next() {
		var u fb.User
		if err := rows.Scan(&u.Key, &u.Name, &u.DisplayName, &u.Admin, &u.Active, &u.Email); err != nil {
			return nil, err
		}
		e := strings.ToLower(u.Email)
		if _, dup := out[e]; dup {
			shared[e] = true
		}
		out[e] = u
	}
	for e := range shared {
		delete(out, e)
	}
	return out, rows.Err()
}
