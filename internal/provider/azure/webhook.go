package azure

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

var _ provider.WebhookParser = ParseWebhook

// gitEvents are the service hook events about a repository's commits,
// branches or pull requests.
var gitEvents = map[string]bool{
	"git.push":                true,
	"git.pullrequest.created": true,
	"git.pullrequest.updated": true,
	"git.pullrequest.merged":  true,
}

// ParseWebhook reads a delivery of a "Web Hooks" service hook subscription
// of Azure DevOps, VSTS or TFS. The subscription authenticates with HTTP
// basic authentication whose password is the integration's webhook secret;
// the user name is not looked at. A git event names its repository by id
// (as discovery records it) and as "project/name".
func ParseWebhook(h http.Header, body []byte, secret string) (provider.Hook, error) {
	if !authenticated(h, secret) {
		return provider.Hook{}, fb.Errorf(fb.EUnauthenticated,
			"The delivery's basic authentication password is not the integration's webhook secret.")
	}
	var ev struct {
		EventType string          `json:"eventType"`
		Resource  json.RawMessage `json:"resource"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.EventType == "" {
		return provider.Hook{}, invalidHook()
	}
	hook := provider.Hook{Event: ev.EventType}
	if !gitEvents[ev.EventType] {
		return hook, nil
	}
	// Both a push and a pull request carry the repository as resource.repository.
	var res struct {
		Repository *struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Project struct {
				Name string `json:"name"`
			} `json:"project"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(ev.Resource, &res); err != nil || res.Repository == nil {
		return provider.Hook{}, invalidHook()
	}
	r := provider.HookRepository{ExternalID: res.Repository.ID}
	if res.Repository.Name != "" && res.Repository.Project.Name != "" {
		r.FullName = res.Repository.Project.Name + "/" + res.Repository.Name
	}
	if r.ExternalID == "" && r.FullName == "" {
		return provider.Hook{}, invalidHook()
	}
	hook.Repositories = []provider.HookRepository{r}
	return hook, nil
}

func invalidHook() error {
	return fb.Errorf(fb.EInvalid, "The delivery is not an Azure DevOps service hook event.")
}

// authenticated compares the Basic password with the secret in constant
// time, whatever their lengths (both are hashed first). No secret, no match.
func authenticated(h http.Header, secret string) bool {
	_, password, ok := (&http.Request{Header: h}).BasicAuth()
	if !ok || secret == "" {
		return false
	}
	got, want := sha256.Sum256([]byte(password)), sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
