package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

// CreateUser adds a person to the local tracker's directory.
func (s *Store) CreateUser(ctx context.Context, u fb.User, audit *fb.AuditEntry) (err error) {
	defer wrap(&err, "CreateUser(%q)", u.Key)
	return s.inTx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO users (user_key, name, display_name, admin, active, password_hash, email)
			VALUES (?, ?, ?, ?, ?, '', ?)`, u.Key, u.Name, u.DisplayName, u.Admin, u.Active, u.Email)
		if isUniqueViolation(err) {
			return fb.Errorf(fb.EAlreadyExists, "a user with key %q or name %q already exists", u.Key, u.Name)
		}
		if err != nil {
			return err
		}
		return c.addAuditIf(ctx, audit)
	})
}

const userColumns = `user_key, name, display_name, admin, active, email`

func scanUser(row interface{ Scan(...any) error }) (fb.User, error) {
	var u fb.User
	err := row.Scan(&u.Key, &u.Name, &u.DisplayName, &u.Admin, &u.Active, &u.Email)
	return u, err
}

// User returns the person with the key.
func (s *Store) User(ctx context.Context, key string) (_ fb.User, err error) {
	defer wrap(&err, "User(%q)", key)
	return cached(s, ctx, "user\x00"+key, nil, func() (fb.User, error) {
		u, err := scanUser(s.pointConn().queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE user_key = ?`, key))
		if errors.Is(err, sql.ErrNoRows) {
			return fb.User{}, userNotFound(key)
		}
		return u, err
	})
}

// UpdateUser applies the patch in one transaction with its audit entry.
// Deactivating removes the user's API tokens (sessions included), so a
// reactivated user starts with none.
func (s *Store) UpdateUser(ctx context.Context, key string, p fb.UserPatch, audit *fb.AuditEntry) (_ fb.User, err error) {
	defer wrap(&err, "UpdateUser(%q)", key)
	var u fb.User
	err = s.inTx(ctx, func(c conn) error {
		before, admins, err := c.lockUser(ctx, key)
		if err != nil {
			return err
		}
		u = before
		if p.DisplayName != nil {
			u.DisplayName = *p.DisplayName
		}
		if p.Email != nil {
			u.Email = *p.Email
		}
		if p.Admin != nil {
			u.Admin = *p.Admin
		}
		if p.Active != nil {
			u.Active = *p.Active
		}
		if err := keepAnAdmin(before, u.Admin && u.Active, admins); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE users SET display_name = ?, email = ?, admin = ?, active = ? WHERE user_key = ?`,
			u.DisplayName, u.Email, u.Admin, u.Active, key); err != nil {
			return err
		}
		if before.Active && !u.Active {
			if _, err := c.exec(ctx, `DELETE FROM api_tokens WHERE user_key = ?`, key); err != nil {
				return err
			}
			if _, err := c.exec(ctx, `DELETE FROM enrolments WHERE user_key = ?`, key); err != nil {
				return err
			}
		}
		if audit != nil {
			audit.Changes = userChanges(before, u)
		}
		return c.addAuditIf(ctx, audit)
	})
	return u, err
}

// userChanges is what an update changed, before and after, for the audit log.
func userChanges(before, after fb.User) fb.Changes {
	ch := fb.Changes{}
	add := func(field string, b, a any) {
		if b != a {
			ch[field] = [2]any{b, a}
		}
	}
	add("admin", before.Admin, after.Admin)
	add("active", before.Active, after.Active)
	add("displayName", before.DisplayName, after.DisplayName)
	add("email", before.Email, after.Email)
	if len(ch) == 0 {
		return nil
	}
	return ch
}

// DeleteUser removes the user and everything that acts for them: API
// tokens, enrolments, saved provider tokens and (by cascade) permissions.
func (s *Store) DeleteUser(ctx context.Context, key string, audit *fb.AuditEntry) (err error) {
	defer wrap(&err, "DeleteUser(%q)", key)
	return s.inTx(ctx, func(c conn) error {
		before, admins, err := c.lockUser(ctx, key)
		if err != nil {
			return err
		}
		if err := keepAnAdmin(before, false, admins); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM api_tokens WHERE user_key = ?`, `DELETE FROM user_tokens WHERE user_key = ?`,
			`DELETE FROM enrolments WHERE user_key = ?`, `DELETE FROM users WHERE user_key = ?`} {
			if _, err := c.exec(ctx, q, key); err != nil {
				return err
			}
		}
		return c.addAuditIf(ctx, audit)
	})
}

// lockUser reads a user and counts the active administrators, locking
// their rows first, always in key order, then the user's. Two concurrent
// changes that each take away one of the last two admins thus run one
// after the other, and the second sees the first's result (on SQLite every
// write transaction runs alone anyway).
func (c conn) lockUser(ctx context.Context, key string) (fb.User, int, error) {
	lock := ""
	if c.postgres {
		lock = " FOR UPDATE"
	}
	rows, err := c.query(ctx, `SELECT user_key FROM users WHERE admin AND active ORDER BY user_key`+lock)
	if err != nil {
		return fb.User{}, 0, err
	}
	admins := 0
	for rows.Next() {
		admins++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fb.User{}, 0, err
	}
	u, err := scanUser(c.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE user_key = ?`+lock, key))
	if errors.Is(err, sql.ErrNoRows) {
		return fb.User{}, 0, userNotFound(key)
	}
	return u, admins, err
}

// keepAnAdmin refuses a change that leaves no active administrator.
func keepAnAdmin(before fb.User, stillAdmin bool, admins int) error {
	if before.Admin && before.Active && !stillAdmin && admins <= 1 {
		return fb.Errorf(fb.EInvalid, "%s is the last active administrator: make another user an administrator first.", before.Name)
	}
	return nil
}

// addAuditIf writes the audit entry of a change, if there is one.
func (c conn) addAuditIf(ctx context.Context, e *fb.AuditEntry) error {
	if e == nil {
		return nil
	}
	return c.addAudit(ctx, e)
}

// SetPasswordHash stores the hash of the person's password.
func (s *Store) SetPasswordHash(ctx context.Context, userKey, hash string) (err error) {
	defer wrap(&err, "SetPasswordHash(%q)", userKey)
	res, err := s.execWrite(ctx, `UPDATE users SET password_hash = ? WHERE user_key = ?`, hash, userKey)
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
func (s *Store) CreateProject(ctx context.Context, p fb.Project, audit *fb.AuditEntry) (err error) {
	defer wrap(&err, "CreateProject(%q)", p.Key)
	return s.inTx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO projects (project_key, name) VALUES (?, ?)`, p.Key, p.Name)
		if isUniqueViolation(err) {
			return fb.Errorf(fb.EAlreadyExists, "project %s already exists", p.Key)
		}
		if err != nil {
			return err
		}
		return c.addAuditIf(ctx, audit)
	})
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
func (s *Store) SetPermissions(ctx context.Context, projectKey, userKey string, perms []string, audit *fb.AuditEntry) (err error) {
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
		return c.addAuditIf(ctx, audit)
	})
}

// Permissions returns the permissions the person holds on the project, sorted.
func (s *Store) Permissions(ctx context.Context, projectKey, userKey string) (_ []string, err error) {
	defer wrap(&err, "Permissions(%q, %q)", projectKey, userKey)
	return cached(s, ctx, "permissions\x00"+projectKey+"\x00"+userKey, slices.Clone, func() ([]string, error) {
		return s.permissions(ctx, projectKey, userKey)
	})
}

func (s *Store) permissions(ctx context.Context, projectKey, userKey string) ([]string, error) {
	rows, err := s.pointConn().query(ctx, `SELECT permission FROM permissions WHERE project_key = ? AND user_key = ?
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
func (s *Store) CreateIssue(ctx context.Context, is fb.Issue, audit *fb.AuditEntry) (err error) {
	defer wrap(&err, "CreateIssue(%q)", is.Key)
	return s.inTx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO issues (issue_key, summary, issue_type, project_key) VALUES (?, ?, ?, ?)`,
			is.Key, is.Summary, is.Type, is.Project)
		switch {
		case isUniqueViolation(err):
			return fb.Errorf(fb.EAlreadyExists, "issue %s already exists", is.Key)
		case isForeignKeyViolation(err):
			return projectNotFound(is.Project)
		case err != nil:
			return err
		}
		return c.addAuditIf(ctx, audit)
	})
}

// Issue returns the issue with the key.
func (s *Store) Issue(ctx context.Context, key string) (_ fb.Issue, err error) {
	defer wrap(&err, "Issue(%q)", key)
	return cached(s, ctx, "issue\x00"+key, nil, func() (fb.Issue, error) {
		var is fb.Issue
		err := s.pointConn().queryRow(ctx, `SELECT issue_key, summary, issue_type, project_key FROM issues WHERE issue_key = ?`, key).
			Scan(&is.Key, &is.Summary, &is.Type, &is.Project)
		if errors.Is(err, sql.ErrNoRows) {
			return fb.Issue{}, fb.Errorf(fb.ENotFound, "issue %s not found", key)
		}
		return is, err
	})
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
	rows, err := s.conn().query(ctx, `SELECT `+userColumns+` FROM users
		WHERE active AND lower(email) IN (`+placeholders(len(args))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	shared := map[string]bool{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
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
