package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

const repositoryColumns = `id, integration_id, external_id, name, full_name, default_branch, web_url,
	can_create_branch, can_create_pull_request`

// ReplaceRepositories makes repos the integration's repositories: a
// repository already known by ExternalID keeps its id, new ones get one,
// ones no longer listed are removed with what was indexed and linked of
// them, and the integration records the count and discovery time at. It
// sets the ID of each element of repos.
func (s *Store) ReplaceRepositories(ctx context.Context, integrationID string, repos []fb.Repository, at time.Time) (err error) {
	defer wrap(&err, "ReplaceRepositories(%q)", integrationID)
	return s.inTx(ctx, func(c conn) error { return c.replaceRepositories(ctx, integrationID, nil, repos, at) })
}

// ReplaceDiscoveredRepositories is ReplaceRepositories for a discovery made
// with the integration as it was (in): if the integration was changed since
// (another address or credential), the discovery is stale and nothing is
// written: it answers ENotFound.
func (s *Store) ReplaceDiscoveredRepositories(ctx context.Context, in fb.Integration, repos []fb.Repository, at time.Time) (err error) {
	defer wrap(&err, "ReplaceDiscoveredRepositories(%q)", in.ID)
	version := in.UpdatedAt
	return s.inTx(ctx, func(c conn) error { return c.replaceRepositories(ctx, in.ID, &version, repos, at) })
}

func (c conn) replaceRepositories(ctx context.Context, integrationID string, ifUpdatedAt *time.Time, repos []fb.Repository, at time.Time) error {
	{
		known, err := c.existingRepositories(ctx, integrationID, ifUpdatedAt)
		if err != nil {
			return err
		}
		insert, err := c.prepare(ctx, `INSERT INTO repositories (`+repositoryColumns+`, sort_name)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insert.Close()
		update, err := c.prepare(ctx, `UPDATE repositories SET name = ?, full_name = ?,
			sort_name = ?, default_branch = ?, web_url = ?, can_create_branch = ?, can_create_pull_request = ?
			WHERE id = ?`)
		if err != nil {
			return err
		}
		defer update.Close()

		listed := make(map[string]string, len(repos)) // external id → id
		for i := range repos {
			r := &repos[i]
			r.IntegrationID = integrationID
			if id, ok := listed[r.ExternalID]; ok {
				r.ID = id // listed twice: the last listing wins
			} else if id, ok := known[r.ExternalID]; ok {
				r.ID = id
			} else {
				r.ID = newID()
				if _, err := insert.ExecContext(ctx, r.ID, integrationID, r.ExternalID, r.Name, r.FullName, r.DefaultBranch,
					r.WebURL, r.CanCreateBranch, r.CanCreatePullRequest, sortName(r.FullName)); err != nil {
					return fmt.Errorf("adding repository %s: %w", r.FullName, err)
				}
				known[r.ExternalID] = r.ID
				listed[r.ExternalID] = r.ID
				continue
			}
			listed[r.ExternalID] = r.ID
			if _, err := update.ExecContext(ctx, r.Name, r.FullName, sortName(r.FullName), r.DefaultBranch, r.WebURL,
				r.CanCreateBranch, r.CanCreatePullRequest, r.ID); err != nil {
				return fmt.Errorf("updating repository %s: %w", r.FullName, err)
			}
		}
		for ext, id := range known {
			if _, ok := listed[ext]; ok {
				continue
			}
			if err := c.deleteRepositories(ctx, `id = ?`, []string{id}, id); err != nil {
				return fmt.Errorf("removing repository %s: %w", id, err)
			}
		}
		_, err = c.exec(ctx, `UPDATE integrations SET repository_count = ?, discovered_at = ? WHERE id = ?`,
			len(listed), micros(at), integrationID)
		return err
	}
}

// deleteRepositories deletes the repositories where cond holds, ids being
// theirs. The index tables keyed by repository go by cascade; the rest goes
// here, after the repositories: on PostgreSQL a writer that locked one of
// them (lockRepository) has committed by then and its rows are seen.
// Branch and pull request links have no foreign key, so that an action's
// record never fails for a repository removed meanwhile; they go too
// (API.md: a repository removed from its integration leaves the issue).
func (c conn) deleteRepositories(ctx context.Context, cond string, ids []string, args ...any) error {
	if _, err := c.exec(ctx, `DELETE FROM repositories WHERE `+cond, args...); err != nil {
		return err
	}
	for chunk := range slices.Chunk(ids, inList) {
		for _, table := range unreferencedByRepository {
			if _, err := c.exec(ctx, `DELETE FROM `+table+` WHERE repository_id IN (`+placeholders(len(chunk))+`)`,
				anys(chunk)...); err != nil {
				return err
			}
		}
	}
	return nil
}

// existingRepositories locks the integration's row (PostgreSQL: concurrent
// replacements of one integration take turns; SQLite's transactions already
// do) and returns its repositories' ids by external id.
func (c conn) existingRepositories(ctx context.Context, integrationID string, ifUpdatedAt *time.Time) (map[string]string, error) {
	query, args := `UPDATE integrations SET repository_count = repository_count WHERE id = ?`, []any{integrationID}
	if ifUpdatedAt != nil {
		query, args = query+` AND updated_at = ?`, append(args, micros(*ifUpdatedAt))
	}
	res, err := c.exec(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, err
	} else if n == 0 && ifUpdatedAt != nil {
		return nil, fb.Errorf(fb.ENotFound, "integration %s was changed or removed during discovery; this discovery is discarded", integrationID)
	} else if n == 0 {
		return nil, integrationNotFound(integrationID)
	}
	rows, err := c.query(ctx, `SELECT external_id, id FROM repositories WHERE integration_id = ?`, integrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	known := map[string]string{}
	for rows.Next() {
		var ext, id string
		if err := rows.Scan(&ext, &id); err != nil {
			return nil, err
		}
		known[ext] = id
	}
	return known, rows.Err()
}

// sortName is the key repositories are listed and searched by. Lower-casing
// in Go rather than SQL gives the same key on both databases (SQLite's lower
// only knows ASCII).
func sortName(fullName string) string { return strings.ToLower(fullName) }

// Repository returns the repository with forgebridge id id.
func (s *Store) Repository(ctx context.Context, id string) (_ fb.Repository, err error) {
	defer wrap(&err, "Repository(%q)", id)
	r, err := scanRepository(s.conn().queryRow(ctx, `SELECT `+repositoryColumns+` FROM repositories WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return fb.Repository{}, fb.Errorf(fb.ENotFound, "repository %s not found", id)
	}
	return r, err
}

// repositoryCursor is the sort key of the last repository of a page.
type repositoryCursor [2]string // sort name, id

// Repositories lists the repositories q selects, in order of lower-cased full
// name then id; next is "" on the last page.
func (s *Store) Repositories(ctx context.Context, q fb.RepositoryQuery) (_ []fb.Repository, next string, err error) {
	defer wrap(&err, "Repositories")
	if q.IntegrationIDs != nil && len(q.IntegrationIDs) == 0 {
		return nil, "", nil
	}
	var where []string
	var args []any
	if len(q.IntegrationIDs) > 0 {
		where = append(where, "integration_id IN ("+placeholders(len(q.IntegrationIDs))+")")
		for _, id := range q.IntegrationIDs {
			args = append(args, id)
		}
	}
	if q.Text != "" {
		where = append(where, `sort_name LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(sortName(q.Text))+"%")
	}
	if q.Cursor != "" {
		var after repositoryCursor
		if err := decodeCursor(q.Cursor, &after); err != nil {
			return nil, "", err
		}
		where = append(where, "(sort_name > ? OR (sort_name = ? AND id > ?))")
		args = append(args, after[0], after[0], after[1])
	}
	query := `SELECT ` + repositoryColumns + `, sort_name FROM repositories`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := pageLimit(q.Page)
	query += " ORDER BY sort_name, id LIMIT ?"
	args = append(args, limit+1) // one more tells whether there is a next page

	rows, err := s.conn().query(ctx, query, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var repos []fb.Repository
	var last repositoryCursor
	for rows.Next() {
		if len(repos) == limit {
			next = encodeCursor(last)
			break
		}
		var r fb.Repository
		if err := rows.Scan(&r.ID, &r.IntegrationID, &r.ExternalID, &r.Name, &r.FullName, &r.DefaultBranch, &r.WebURL,
			&r.CanCreateBranch, &r.CanCreatePullRequest, &last[0]); err != nil {
			return nil, "", err
		}
		last[1] = r.ID
		repos = append(repos, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	return repos, next, nil
}

func scanRepository(row interface{ Scan(...any) error }) (fb.Repository, error) {
	var r fb.Repository
	err := row.Scan(repositoryDest(&r)...)
	return r, err
}

// repositoryDest is where the repositoryColumns are scanned to.
func repositoryDest(r *fb.Repository) []any {
	return []any{&r.ID, &r.IntegrationID, &r.ExternalID, &r.Name, &r.FullName, &r.DefaultBranch, &r.WebURL,
		&r.CanCreateBranch, &r.CanCreatePullRequest}
}

// repositoryWithIntegrationQuery selects a repository's columns and then
// its integration's.
var repositoryWithIntegrationQuery = `SELECT ` + qualify("r", repositoryColumns) + `, ` + qualify("i", integrationColumns) +
	` FROM repositories r JOIN integrations i ON i.id = r.integration_id WHERE r.id = ?`

// RepositoryWithIntegration returns the repository and its integration,
// credential decrypted, read together.
func (s *Store) RepositoryWithIntegration(ctx context.Context, id string) (fb.Repository, fb.Integration, error) {
	// The cache keeps the credential sealed: it is opened for each use.
	ri, err := cached(s, ctx, "repository\x00"+id, repositoryWithIntegration.clone, func() (repositoryWithIntegration, error) {
		return s.repositoryWithIntegration(ctx, id, true)
	})
	if err != nil {
		return fb.Repository{}, fb.Integration{}, err
	}
	in, err := s.openIntegration(ri.integ, ri.credential)
	if err != nil {
		return fb.Repository{}, fb.Integration{}, err
	}
	return ri.repo, in, nil
}

func (s *Store) repositoryWithIntegration(ctx context.Context, id string, again bool) (repositoryWithIntegration, error) {
	var ri repositoryWithIntegration
	in, cred, err := scanIntegrationRow(prefixScan{row: s.pointConn().queryRow(ctx, repositoryWithIntegrationQuery, id), dest: repositoryDest(&ri.repo)})
	if errors.Is(err, sql.ErrNoRows) {
		// Read them apart for the same not-found errors as Repository's and
		// Integration's; if both are there now, they were made meanwhile.
		var r fb.Repository
		if r, err = s.Repository(ctx, id); err == nil {
			_, err = s.Integration(ctx, r.IntegrationID)
		}
		if err == nil && again {
			return s.repositoryWithIntegration(ctx, id, false)
		}
		if err == nil {
			err = fb.Errorf(fb.ENotFound, "repository %s not found", id)
		}
		return repositoryWithIntegration{}, err
	}
	if err != nil {
		wrap(&err, "RepositoryWithIntegration(%q)", id)
		return repositoryWithIntegration{}, err
	}
	ri.integ, ri.credential = in, cred
	return ri, nil
}

// prefixScan scans a row's first columns into dest and the rest where its
// caller asks.
type prefixScan struct {
	row  interface{ Scan(...any) error }
	dest []any
}

func (p prefixScan) Scan(rest ...any) error { return p.row.Scan(append(p.dest, rest...)...) }

// qualify prefixes each of a list of columns with a table alias.
func qualify(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// escapeLike makes s match itself literally in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
