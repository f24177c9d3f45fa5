package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	fb "github.com/forgebridge/forgebridge"
)

// noSettingsVersion is the version of the settings before their first
// write: forgebridge.DefaultSettings, no row yet.
const noSettingsVersion = "0"

const settingsColumns = `require_user_pat_everywhere, branch_name_template, branch_name_max_length, version`

// Settings returns the global settings, forgebridge.DefaultSettings (at
// version "0") until they are first updated.
func (s *Store) Settings(ctx context.Context) (_ fb.Settings, err error) {
	defer wrap(&err, "Settings")
	return cached(s, ctx, "settings", nil, func() (fb.Settings, error) { return s.pointConn().settings(ctx, false) })
}

// settings reads the settings; with lock, on PostgreSQL, it locks their row
// until the transaction ends (SQLite's write transactions hold the database).
func (c conn) settings(ctx context.Context, lock bool) (fb.Settings, error) {
	query := `SELECT ` + settingsColumns + ` FROM settings WHERE id = 1`
	if lock {
		query += c.forUpdate()
	}
	var st fb.Settings
	var version int64
	err := c.queryRow(ctx, query).Scan(&st.RequireUserPATEverywhere, &st.BranchNameTemplate, &st.BranchNameMaxLength, &version)
	if errors.Is(err, sql.ErrNoRows) {
		st = fb.DefaultSettings
		st.Version = noSettingsVersion
		return st, nil
	}
	if err != nil {
		return fb.Settings{}, err
	}
	st.Version = strconv.FormatInt(version, 10)
	return st, nil
}

// UpdateSettings replaces the global settings, whatever their version.
func (s *Store) UpdateSettings(ctx context.Context, st fb.Settings) (err error) {
	defer wrap(&err, "UpdateSettings")
	_, err = s.ChangeSettings(ctx, "", func(cur *fb.Settings) (*fb.AuditEntry, error) {
		*cur = st
		return nil, nil
	})
	return err
}

// ChangeSettings reads the settings in a transaction, lets change modify
// them and writes them at the next version with the audit entry change
// returns: all or nothing. Concurrent changes take turns, each merging
// into what the one before wrote: no write is lost.
func (s *Store) ChangeSettings(ctx context.Context, ifVersion string, change func(*fb.Settings) (*fb.AuditEntry, error)) (_ fb.Settings, err error) {
	defer wrap(&err, "ChangeSettings")
	var out fb.Settings
	err = s.inTx(ctx, func(c conn) error {
		// The row exists from the first change on, so that there is one to
		// lock: concurrent first changes wait here for each other.
		if _, err := c.exec(ctx, `INSERT INTO settings (id, `+settingsColumns+`) VALUES (1, ?, ?, ?, 0)
			ON CONFLICT (id) DO NOTHING`,
			fb.DefaultSettings.RequireUserPATEverywhere, fb.DefaultSettings.BranchNameTemplate, fb.DefaultSettings.BranchNameMaxLength); err != nil {
			return err
		}
		cur, err := c.settings(ctx, true)
		if err != nil {
			return err
		}
		if ifVersion != "" && ifVersion != cur.Version {
			return versionMismatch("The settings")
		}
		next := cur
		e, err := change(&next)
		if err != nil {
			return err
		}
		var version int64
		err = c.queryRow(ctx, `UPDATE settings SET require_user_pat_everywhere = ?, branch_name_template = ?,
				branch_name_max_length = ?, version = version + 1
			WHERE id = 1 RETURNING version`,
			next.RequireUserPATEverywhere, next.BranchNameTemplate, next.BranchNameMaxLength).Scan(&version)
		if err != nil {
			return err
		}
		next.Version = strconv.FormatInt(version, 10)
		if e != nil {
			if err := c.addAudit(ctx, e); err != nil {
				return err
			}
		}
		out = next
		return nil
	})
	if err != nil {
		return fb.Settings{}, err
	}
	return out, nil
}

// versionMismatch is the answer to a change made against a version that is
// no longer current. what names the object, as a sentence's subject.
func versionMismatch(what string) error {
	return fb.Errorf(fb.EVersionMismatch,
		"%s changed since this version was read; nothing was changed. Read it again and repeat the change if it still applies.", what)
}

// forUpdate locks the rows a SELECT reads until the transaction ends, on
// PostgreSQL; SQLite's write transactions (BEGIN IMMEDIATE) hold the whole
// database already and have no such clause.
func (c conn) forUpdate() string {
	if c.postgres {
		return " FOR UPDATE"
	}
	return ""
}
