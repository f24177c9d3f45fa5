package forgebridge

import (
	"context"
	"time"
)

// HostPermission is what a git host answered when asked, with a person's own
// saved token, whether that token may read a repository: remembered so
// that listings do not ask the host each time (API.md "Enforce git-host
// permissions").
type HostPermission struct {
	RepositoryID string
	Readable     bool
	// TokenUpdatedAt is the UpdatedAt of the saved token that was asked
	// with: a token saved again (replaced) is a new question.
	TokenUpdatedAt time.Time
	CheckedAt      time.Time
}

// HostPermissionStore remembers host permission answers per person and
// repository.
type HostPermissionStore interface {
	// HostPermissions returns the person's remembered answers for the
	// repositories, by repository id (those never asked are absent).
	HostPermissions(ctx context.Context, userKey string, repositoryIDs []string) (map[string]HostPermission, error)
	// PutHostPermission records an answer, replacing the one before.
	PutHostPermission(ctx context.Context, userKey string, p HostPermission) error
	// ForgetHostPermissions drops the person's answers for an integration's
	// repositories, when their token for it changes or goes.
	ForgetHostPermissions(ctx context.Context, userKey, integrationID string) error
}
