package codecommit

import (
	"context"

	fb "github.com/forgebridge/forgebridge"
)

// CanRead is CheckAccess as a yes or no: AccessDenied (IAM, KMS) or a
// repository that no longer exists is no; a key AWS does not accept, a
// throttle or an outage is an error.
func (d *driver) CanRead(ctx context.Context, cred fb.Credential, repo fb.Repository) (bool, error) {
	switch err := d.CheckAccess(ctx, cred, repo); fb.ErrorCode(err) {
	case "":
		return true, nil
	case fb.EProviderDenied, fb.ENotFound:
		return false, nil
	default:
		return false, err
	}
}
