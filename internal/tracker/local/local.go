// Package local is the built-in tracker: a directory of users, projects,
// per-project permissions and issues kept in forgebridge's own database, for
// evaluation, demos and tests.
package local

import (
	"context"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// Tracker answers from the store's directory.
type Tracker struct {
	Store fb.Store
	Now   func() time.Time // nil: time.Now
}

var _ fb.Tracker = (*Tracker)(nil)

// LocalDirectory says that the people are the store's users: their API
// tokens are issued only while their row is there and active.
func (t *Tracker) LocalDirectory() bool { return true }

// User returns the local user with that key.
func (t *Tracker) User(ctx context.Context, key string) (fb.User, error) {
	return t.Store.User(ctx, key)
}

// Issue returns the issue with that key.
func (t *Tracker) Issue(ctx context.Context, key string) (fb.Issue, error) {
	is, err := t.Store.Issue(ctx, strings.ToUpper(key))
	if fb.ErrorCode(err) == fb.ENotFound {
		return fb.Issue{}, fb.Errorf(fb.ENotFound, "Issue %s does not exist.", key)
	}
	return is, err
}

// Permissions returns the permissions the user was granted on the project.
// Administrators get none implicitly: like everyone, they are granted them.
func (t *Tracker) Permissions(ctx context.Context, u fb.User, projectKey string) (map[string]bool, error) {
	perms, err := t.Store.Permissions(ctx, projectKey, u.Key)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(perms))
	for _, p := range perms {
		out[p] = true
	}
	return out, nil
}

// IssuePermissions are the project's: the local tracker has no issue security.
func (t *Tracker) IssuePermissions(ctx context.Context, u fb.User, issue fb.Issue) (map[string]bool, error) {
	return t.Permissions(ctx, u, issue.Project)
}

// IssuePermissionsAreProjects says that an issue needs no check of its own.
func (t *Tracker) IssuePermissionsAreProjects() bool { return true }

// BrowsableProjects returns the projects on which the user holds Browse.
func (t *Tracker) BrowsableProjects(ctx context.Context, u fb.User) ([]string, error) {
	projects, err := t.Store.Projects(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range projects {
		perms, err := t.Permissions(ctx, u, p.Key)
		if err != nil {
			return nil, err
		}
		if perms[fb.PermBrowseProjects] {
			out = append(out, p.Key)
		}
	}
	return out, nil
}

// ProjectKeys returns the key of every project of the directory.
func (t *Tracker) ProjectKeys(ctx context.Context) ([]string, error) {
	projects, err := t.Store.Projects(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(projects))
	for i, p := range projects {
		keys[i] = p.Key
	}
	return keys, nil
}

// UsersByEmail says who wrote commits: the directory's active users with
// those emails.
func (t *Tracker) UsersByEmail(ctx context.Context, emails []string) (map[string]fb.User, error) {
	return t.Store.UsersByEmail(ctx, emails)
}
