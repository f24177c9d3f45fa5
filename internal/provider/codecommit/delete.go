package codecommit

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

var _ provider.BranchDeleter = (*driver)(nil)

// DeleteBranch deletes a branch with DeleteBranch. CodeCommit answers a
// branch it does not have without deletedBranch rather than an error, and
// refuses the default branch (DefaultBranchCannotBeDeletedException).
func (d *driver) DeleteBranch(ctx context.Context, cred fb.Credential, repo fb.Repository, name string) error {
	if err := checkCredential(cred); err != nil {
		return err
	}
	if name == "" {
		return fb.Errorf(fb.EInvalid, "The branch needs a name.")
	}
	out, err := d.client(cred).DeleteBranch(ctx, &codecommit.DeleteBranchInput{RepositoryName: aws.String(repo.Name),
		BranchName: aws.String(name)})
	if err != nil {
		code := apiErrorCode(err)
		err = mapError(err, cred, "codecommit:DeleteBranch", repo.Name)
		if e := fb.AsError(err); e != nil && code == "DefaultBranchCannotBeDeletedException" {
			e.Code = fb.EProviderDenied
			e.Message = fmt.Sprintf("AWS CodeCommit does not delete %s: it is the default branch of the repository %s.", name, repo.Name)
		}
		return err
	}
	if out.DeletedBranch == nil {
		return fb.Errorf(fb.ENotFound, "AWS CodeCommit has no branch %s in the repository %s.", name, repo.Name)
	}
	return nil
}
