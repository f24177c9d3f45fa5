package codecommit

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// defaultRetryAfter is the wait suggested when AWS throttles without saying
// how long to wait (CodeCommit sends no Retry-After).
const defaultRetryAfter = 5

// mapError translates an SDK error of the call that needed the IAM action
// (for example "codecommit:CreateBranch") on repository repo ("" for none)
// into forgebridge's vocabulary. Messages are written here, not copied from
// AWS, and the cause is scrubbed of the credential.
func mapError(err error, cred fb.Credential, action, repo string) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return scrub(provider.Unavailable(serviceName, err), cred)
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	// "the repository NAME" when the call concerns one.
	theRepo, where := "the repository", ""
	if repo != "" {
		theRepo += " " + repo
		where = " in " + theRepo
	}
	e := &fb.Error{Err: err}
	switch code := ae.ErrorCode(); code {
	case "UnrecognizedClientException", "InvalidClientTokenId":
		e.Code, e.Message = fb.ETokenRejected,
			"AWS does not know this access key id: it was deleted or deactivated, or belongs to another partition. Create a new access key in IAM."
	case "InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignature", "IncompleteSignatureException":
		e.Code, e.Message = fb.ETokenRejected,
			"AWS refused the request signature: the secret access key does not belong to this access key id, or the forgebridge server's clock is more than 15 minutes off."
	case "ExpiredTokenException", "ExpiredToken", "RequestExpired":
		e.Code, e.Message = fb.ETokenRejected, "The AWS credentials have expired. Create a new access key in IAM."
	case "MissingAuthenticationTokenException", "MissingAuthenticationToken":
		e.Code, e.Message = fb.ETokenRejected, "AWS received no credentials with the request."
	case "AccessDeniedException", "AccessDenied":
		e.Code, e.MissingScopes = fb.EProviderDenied, []string{action}
		e.Message = "The access key may not perform " + action + where +
			". Ask an AWS administrator to allow " + action + " in the key's IAM policy."
	case "EncryptionKeyAccessDeniedException":
		e.Code, e.Message = fb.EProviderDenied,
			"The access key may not use the KMS key that encrypts "+theRepo+"; it needs kms:Decrypt and kms:GenerateDataKey on it."
	case "RepositoryDoesNotExistException":
		// IAM is evaluated before the repository is looked up, so a key that
		// may not see a repository gets AccessDenied: this answer means the
		// repository really is gone (deleted or renamed).
		e.Code, e.Message = fb.ENotFound, "T"+theRepo[1:]+" no longer exists in AWS CodeCommit (deleted or renamed). Synchronise the integration to refresh its repositories."
	case "BranchNameExistsException":
		e.Code, e.Message = fb.EAlreadyExists, "The branch already exists"+where+"."
	case "BranchDoesNotExistException", "ReferenceDoesNotExistException", "CommitDoesNotExistException":
		e.Code, e.Message = fb.EProviderRejected, "The branch does not exist"+where+"."
	case "SourceAndDestinationAreSameException":
		e.Code, e.Message = fb.EProviderRejected, "The source and target branches are the same; choose two different branches."
	case "TipsDivergenceExceededException":
		e.Code, e.Message = fb.EProviderRejected,
			"The two branches have diverged too far for AWS CodeCommit to compare them."
	case "InvalidBranchNameException", "InvalidReferenceNameException", "BranchNameIsTagNameException":
		e.Code, e.Message = fb.EProviderRejected, "AWS CodeCommit does not accept this branch name."
	case "TitleRequiredException", "InvalidTitleException":
		e.Code, e.Message = fb.EProviderRejected, "A pull request title of 1 to 150 characters is required."
	case "InvalidDescriptionException":
		e.Code, e.Message = fb.EProviderRejected, "The pull request description is too long for AWS CodeCommit (10,240 characters at most)."
	case "MaximumOpenPullRequestsExceededException":
		e.Code, e.Message = fb.EProviderRejected, "The repository has as many open pull requests as AWS CodeCommit allows; close some first."
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded":
		return rateLimited(err, re, cred)
	default:
		switch {
		case status == http.StatusTooManyRequests:
			return rateLimited(err, re, cred)
		case status >= 500 || code == "ServiceUnavailable" || code == "InternalFailure" || ae.ErrorFault() == smithy.FaultServer:
			return scrub(provider.Unavailable(serviceName, err), cred)
		}
		e.Code, e.Message = fb.EProviderRejected, "AWS CodeCommit refused the request ("+code+")"+where+"."
	}
	return scrub(e, cred)
}

// apiErrorCode is the AWS error code of err, "" for other errors.
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func rateLimited(err error, re *awshttp.ResponseError, cred fb.Credential) error {
	wait := defaultRetryAfter
	if re != nil && re.Response != nil {
		if s, convErr := strconv.Atoi(strings.TrimSpace(re.Response.Header.Get("Retry-After"))); convErr == nil && s > 0 {
			wait = s
		}
	}
	return scrub(&fb.Error{Code: fb.ERateLimited, RetryAfter: wait, Err: err,
		Message: "AWS is throttling requests for this account. Try again in " + strconv.Itoa(wait) + " seconds."}, cred)
}

// scrub guarantees that neither half of the access key appears in the
// error's text: the SDK's errors do not carry them, but an echoing proxy or
// endpoint could.
func scrub(err error, cred fb.Credential) error {
	e := fb.AsError(err)
	if e == nil {
		return err
	}
	e.Message = redact(e.Message, cred)
	if e.Err != nil {
		if s := e.Err.Error(); redact(s, cred) != s {
			e.Err = &redactedError{msg: redact(s, cred)}
		}
	}
	return e
}

// redact removes both halves of the key in every form they could be quoted
// in (as is, JSON-escaped, URL-encoded, base64).
func redact(s string, cred fb.Credential) string {
	return provider.Redact(s, cred.SecretAccessKey, cred.AccessKeyID)
}

// redactedError stands in for a cause whose text held a credential. It
// keeps no link to that cause.
type redactedError struct{ msg string }

func (e *redactedError) Error() string { return e.msg }
