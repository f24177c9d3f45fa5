package provider

import (
	"context"

	fb "github.com/forgebridge/forgebridge"
)

// RepositoryReader is a driver that can ask the host whether a credential
// may read one repository, with that credential: how host permissions are
// enforced for a person's own token. CanRead answers false when the host
// hides or refuses the repository to the credential (404, 403), and an
// error when it cannot tell: fb.ETokenRejected for a credential the host
// does not accept, fb.ERateLimited, fb.EProviderUnavailable.
type RepositoryReader interface {
	CanRead(ctx context.Context, cred fb.Credential, repo fb.Repository) (bool, error)
}
