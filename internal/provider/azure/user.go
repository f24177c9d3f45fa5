package azure

import (
	"context"
	"net/http"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

// anonymousDescriptors start the descriptors of the identities Azure DevOps
// and TFS use for requests it did not authenticate.
var anonymousDescriptors = []string{"System:PublicAccess", "Microsoft.TeamFoundation.Anonymous",
	"Microsoft.TeamFoundation.UnauthenticatedIdentity"}

// Validate asks connectionData who the token belongs to. Azure tells neither
// the scopes nor the expiry of a PAT here.
func (p *Provider) Validate(ctx context.Context, cred fb.Credential) (fb.TokenInfo, error) {
	resp, err := p.do(ctx, cred, request{method: http.MethodGet, url: p.base + "/_apis/connectionData",
		what: "read who the token belongs to"})
	if err != nil {
		return fb.TokenInfo{}, err
	}
	var cd struct {
		AuthenticatedUser *struct {
			ID                  string `json:"id"`
			Descriptor          string `json:"descriptor"`
			ProviderDisplayName string `json:"providerDisplayName"`
			Properties          struct {
				Account struct {
					Value string `json:"$value"`
				} `json:"Account"`
			} `json:"properties"`
		} `json:"authenticatedUser"`
	}
	if err := p.decode(resp, &cd); err != nil {
		return fb.TokenInfo{}, err
	}
	u := cd.AuthenticatedUser
	anonymous := u == nil || u.ID == "" || strings.Trim(u.ID, "0-") == ""
	for _, d := range anonymousDescriptors {
		anonymous = anonymous || (u != nil && strings.HasPrefix(u.Descriptor, d))
	}
	if anonymous {
		return fb.TokenInfo{}, &fb.Error{Code: fb.ETokenRejected, IntegrationID: p.integrationID,
			Message: "Azure DevOps treated the request as anonymous: the personal access token was not accepted."}
	}
	login := u.Properties.Account.Value
	if login == "" {
		login = u.ProviderDisplayName
	}
	return fb.TokenInfo{Login: login, UserID: strings.ToLower(u.ID)}, nil
}
