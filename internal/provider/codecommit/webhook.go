package codecommit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"net/http"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// SecretHeader is the header an EventBridge API destination sends the
// webhook secret in: its connection uses API-key authorization with this
// header name and the secret as the value.
const SecretHeader = "X-Forgebridge-Webhook-Secret"

// EventBridge detail types of the CodeCommit events forgebridge acts on.
const (
	repositoryStateChange  = "CodeCommit Repository State Change"
	pullRequestStateChange = "CodeCommit Pull Request State Change"
)

// The detail events that change what indexing reads: refs (branches and
// tags) and pull requests' existence, source commits and states. Comments,
// approvals and unreferenced merge commits change none of it.
var (
	refEvents         = map[string]bool{"referenceCreated": true, "referenceUpdated": true, "referenceDeleted": true}
	pullRequestEvents = map[string]bool{"pullRequestCreated": true, "pullRequestSourceBranchUpdated": true,
		"pullRequestStatusChanged": true, "pullRequestMergeStatusUpdated": true}
)

// ParseWebhook reads an EventBridge event about CodeCommit delivered by an
// API destination. It matches provider.WebhookParser.
func ParseWebhook(h http.Header, body []byte, secret string) (provider.Hook, error) {
	// Digests have one length whatever the secrets', so the comparison
	// tells nothing of the secret's length either.
	got, want := sha256.Sum256([]byte(h.Get(SecretHeader))), sha256.Sum256([]byte(secret))
	if secret == "" || h.Get(SecretHeader) == "" || !hmac.Equal(got[:], want[:]) {
		return provider.Hook{}, fb.Errorf(fb.EUnauthenticated,
			"The delivery's %s header is missing or is not the integration's webhook secret.", SecretHeader)
	}
	var ev struct {
		Version    string          `json:"version"`
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return provider.Hook{}, notAnEvent()
	}
	if ev.Version == "" || ev.ID == "" || ev.DetailType == "" || ev.Source == "" || !isObject(ev.Detail) {
		return provider.Hook{}, notAnEvent()
	}
	var detail map[string]json.RawMessage
	if err := json.Unmarshal(ev.Detail, &detail); err != nil {
		return provider.Hook{}, notAnEvent()
	}
	var event string
	json.Unmarshal(detail["event"], &event) // events without a string "event" are not acted on
	hook := provider.Hook{Event: ev.DetailType}
	if event != "" {
		hook.Event = event
	}
	if ev.Source != "aws.codecommit" {
		return hook, nil
	}
	switch {
	case ev.DetailType == repositoryStateChange && refEvents[event]:
		var repo struct {
			RepositoryName string `json:"repositoryName"`
			RepositoryID   string `json:"repositoryId"`
		}
		if json.Unmarshal(ev.Detail, &repo) != nil || repo.RepositoryID == "" && repo.RepositoryName == "" {
			return provider.Hook{}, notAnEvent()
		}
		hook.Repositories = []provider.HookRepository{{ExternalID: repo.RepositoryID, FullName: repo.RepositoryName}}
	case ev.DetailType == pullRequestStateChange && pullRequestEvents[event]:
		// These events name repositories but carry no repository id.
		var pr struct {
			RepositoryNames []string `json:"repositoryNames"`
		}
		if json.Unmarshal(ev.Detail, &pr) != nil {
			return provider.Hook{}, notAnEvent()
		}
		seen := map[string]bool{}
		for _, name := range pr.RepositoryNames {
			if name != "" && !seen[name] {
				seen[name] = true
				hook.Repositories = append(hook.Repositories, provider.HookRepository{FullName: name})
			}
		}
		if len(hook.Repositories) == 0 {
			return provider.Hook{}, notAnEvent()
		}
	}
	return hook, nil
}

// ParseWebhook must stay a provider.WebhookParser.
var _ provider.WebhookParser = ParseWebhook

func isObject(raw json.RawMessage) bool {
	return bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("{"))
}

func notAnEvent() error {
	return fb.Errorf(fb.EInvalid, "The delivery is not an EventBridge event about AWS CodeCommit.")
}
