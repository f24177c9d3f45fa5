package app

import (
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// Source says where the credential for an action came from.
type Source string

const (
	SourceOneOff  Source = "one-off" // typed into the dialog for this action
	SourceSaved   Source = "saved"   // the person's saved token for the integration
	SourceService Source = "service" // the integration's service credential
)

// CredentialRequest is everything the credential rule looks at.
type CredentialRequest struct {
	Integration fb.Integration
	// RequireEverywhere is the global "require user tokens everywhere" setting.
	RequireEverywhere bool
	// OneOff is a credential typed in for this one action (zero if none).
	OneOff fb.Credential
	// Saved is the person's saved token for the integration, nil if none.
	Saved *fb.UserToken
	// Now decides whether the saved token has expired.
	Now time.Time
}

// CredentialChoice is the credential to act with and whose it is.
type CredentialChoice struct {
	Source     Source
	Credential fb.Credential
	// Login is the provider login of the credential where already known: the
	// saved token's or the service account's. A one-off token's is learnt when
	// it is validated.
	Login string
	// Token is the saved token used (SourceSaved), so a rejection marks
	// exactly that token invalid and not one saved since.
	Token *fb.UserToken
}

// Actor returns the audit actor of the choice.
func (c CredentialChoice) Actor() fb.Actor {
	if c.Source == SourceService {
		return fb.Actor{Type: fb.ActorIntegration, Login: c.Login}
	}
	return fb.Actor{Type: fb.ActorUser, Login: c.Login}
}

// RequiresUserToken reports whether the integration, or the global setting,
// demands that people act with their own token.
func RequiresUserToken(in fb.Integration, everywhere bool) bool {
	return everywhere || in.Settings.RequireUserPAT
}

// ChooseCredential is the credential rule (DESIGN.md §2): a one-off token
// first, then the person's saved token (refused if known invalid or past its
// expiry, or if it is the service account's, never silently replaced by the
// service account), then pat_required where user tokens are required, else
// the service credential. It calls nothing. A blank one-off token is none.
func ChooseCredential(r CredentialRequest) (CredentialChoice, error) {
	in := r.Integration
	switch {
	case !BlankCredential(r.OneOff):
		return CredentialChoice{Source: SourceOneOff, Credential: r.OneOff}, nil
	case r.Saved != nil && r.Saved.StatusAt(r.Now) == fb.TokenExpired:
		return CredentialChoice{}, &fb.Error{Code: fb.EPATInvalid, IntegrationID: in.ID,
			Message: "Your personal access token for " + in.Name + " expired on " + r.Saved.ExpiresAt.UTC().Format("2 January 2006") + ". " +
				"Replace it under My tokens, or type a new one into this dialog, and try again."}
	case r.Saved != nil && r.Saved.Status == fb.TokenInvalid:
		return CredentialChoice{}, &fb.Error{Code: fb.EPATInvalid, IntegrationID: in.ID,
			Message: "Your personal access token for " + in.Name + " is no longer valid (rejected, expired or revoked). " +
				"Replace it under My tokens, or type a new one into this dialog, and try again."}
	case r.Saved != nil && r.Saved.ProviderUserID != "" && r.Saved.ProviderUserID == in.CredentialUserID:
		// Saved before forgebridge knew the service account's id.
		return CredentialChoice{}, notPersonal(in, true)
	case r.Saved != nil:
		return CredentialChoice{Source: SourceSaved, Credential: r.Saved.Credential, Login: r.Saved.Login, Token: r.Saved}, nil
	case RequiresUserToken(in, r.RequireEverywhere):
		return CredentialChoice{}, &fb.Error{Code: fb.EPATRequired, IntegrationID: in.ID,
			Message: in.Name + " requires your own personal access token for this action. " +
				"Set it up under My tokens, or type one into this dialog (tick \"remember\" to save it)."}
	default:
		return CredentialChoice{Source: SourceService, Credential: in.Credential, Login: in.CredentialLogin}, nil
	}
}

// notPersonal refuses a token offered as a person's own that is the
// integration's service account's (service) or another person's: acting
// with it would put someone else's name on the action.
func notPersonal(in fb.Integration, service bool) error {
	whose := "another person already saved a token of that account"
	if service {
		whose = "it belongs to the integration's service account"
	}
	return &fb.Error{Code: fb.ETokenNotPersonal, IntegrationID: in.ID,
		Message: "This token cannot be used as your own for " + in.Name + ": " + whose + ". " +
			"Use a personal access token of your own account on " + in.Name + "."}
}

// BlankCredential reports whether a credential typed in holds only spaces:
// it counts as none and changes nothing saved.
func BlankCredential(c fb.Credential) bool {
	return strings.TrimSpace(c.Token) == "" && strings.TrimSpace(c.AccessKeyID) == "" && strings.TrimSpace(c.SecretAccessKey) == ""
}
